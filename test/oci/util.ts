// Shared assertions for the oci tests.
import type { Test } from 'tap';
import { SigwardError } from '../../lib/errors.ts';

/** Awaits `p`, expecting a SigwardError with `code` (and a message matching `msg`). */
export async function rejectsCode(t: Test, p: Promise<unknown>, code: string, msg?: RegExp): Promise<SigwardError> {
  try {
    await p;
  } catch (e) {
    t.ok(e instanceof SigwardError, `SigwardError (${(e as Error).name})`);
    t.equal((e as SigwardError).code, code, `code ${code}: ${(e as Error).message}`);
    if (msg) t.match((e as Error).message, msg);
    return e as SigwardError;
  }
  t.fail(`expected ${code}, got success`);
  return new SigwardError('INTERNAL', 'no error');
}

export const enc = (o: unknown): Uint8Array => new TextEncoder().encode(JSON.stringify(o));
