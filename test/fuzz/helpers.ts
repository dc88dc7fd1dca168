// Property-based fuzzing with fast-check: a fixed seed (printed, overridable
// with SIGWARD_FUZZ_SEED), a run budget per property (scaled with
// SIGWARD_FUZZ_SCALE), and the two checks every property shares: only
// SigwardError may escape a parser or verifier, and no single call may take
// long (a hang shows up as a slow call long before tap's timeout).

import fc from 'fast-check';
import type { Test } from 'tap';
import { SigwardError } from '../../lib/errors.ts';

export const SEED = process.env.SIGWARD_FUZZ_SEED ? Number(process.env.SIGWARD_FUZZ_SEED) : 0x5197a4d;
const SCALE = process.env.SIGWARD_FUZZ_SCALE ? Number(process.env.SIGWARD_FUZZ_SCALE) : 1;

/** Runs a property with the suite's seed; failures are reported with the counterexample and the seed. */
export async function fuzz<T>(
  t: Test,
  name: string,
  arb: fc.Arbitrary<T>,
  check: (v: T) => void | Promise<void>,
  numRuns: number,
): Promise<void> {
  const runs = Math.max(1, Math.round(numRuns * SCALE));
  const t0 = Date.now();
  const result = await fc.check(
    fc.asyncProperty(arb, async (v) => {
      await check(v);
    }),
    { seed: SEED, numRuns: runs, endOnFailure: true },
  );
  const ms = Date.now() - t0;
  if (result.failed) {
    t.fail(
      `${name}: ${fc.defaultReportMessage(result)}\nerror: ${
        String((result as { errorInstance?: unknown }).errorInstance)
      }`,
    );
  } else {
    t.pass(`${name}: ${runs} runs in ${ms} ms (seed ${SEED})`);
  }
}

/** Calls fn; returns its value, or the SigwardError it threw. Any other exception fails the property. */
export function onlySigwardError<R>(fn: () => R, what = 'call'): { value?: R; error?: SigwardError } {
  try {
    return { value: fn() };
  } catch (e) {
    if (e instanceof SigwardError) return { error: e };
    throw new Error(`${what} threw a non-SigwardError: ${(e as Error)?.stack ?? String(e)}`);
  }
}

export async function onlySigwardErrorAsync<R>(
  fn: () => Promise<R>,
  what = 'call',
): Promise<{ value?: R; error?: SigwardError }> {
  try {
    return { value: await fn() };
  } catch (e) {
    if (e instanceof SigwardError) return { error: e };
    throw new Error(`${what} threw a non-SigwardError: ${(e as Error)?.stack ?? String(e)}`);
  }
}

/** Runs fn and fails when it took longer than maxMs (a stand-in for "no hang" on synchronous code). */
export function bounded<R>(fn: () => R, maxMs: number, what: string): R {
  const t0 = performance.now();
  const r = fn();
  const ms = performance.now() - t0;
  if (ms > maxMs) throw new Error(`${what} took ${ms.toFixed(0)} ms (bound ${maxMs} ms)`);
  return r;
}

export async function boundedAsync<R>(fn: () => Promise<R>, maxMs: number, what: string): Promise<R> {
  const t0 = performance.now();
  const r = await fn();
  const ms = performance.now() - t0;
  if (ms > maxMs) throw new Error(`${what} took ${ms.toFixed(0)} ms (bound ${maxMs} ms)`);
  return r;
}

/** A copy of `bytes` with one bit flipped at a (fuzzed) position. */
export function flipBit(bytes: Uint8Array, at: number): Uint8Array {
  const out = new Uint8Array(bytes);
  if (out.length === 0) return new Uint8Array([1]);
  const i = at % (out.length * 8);
  out[i >> 3]! ^= 1 << (i & 7);
  return out;
}

/** Flips one bit of the bytes a base64 text encodes, and re-encodes (same alphabet). */
export function flipBase64(text: string, at: number): string {
  const url = /[-_]/.test(text);
  const b = Buffer.from(text, url ? 'base64url' : 'base64');
  return Buffer.from(flipBit(b, at)).toString(url ? 'base64url' : 'base64');
}

/** Arbitrary text that looks a bit like what a parser expects: random, or built from its own vocabulary. */
export function tokenSoup(vocabulary: string[], maxTokens = 12): fc.Arbitrary<string> {
  return fc.oneof(
    fc.string({ maxLength: 60 }),
    fc.string({ unit: 'binary', maxLength: 40 }),
    fc.array(fc.oneof(fc.constantFrom(...vocabulary), fc.string({ maxLength: 4 })), { maxLength: maxTokens }).map((a) =>
      a.join('')
    ),
  );
}

export { fc };
