// Shared pieces of the attack suite: temp files, the sigward CLI with JSON
// output, and the bookkeeping that counts attack cases. Every case is a real
// signed artifact in the real registry, altered as an attacker would, and must
// be denied with the expected reason.

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Test } from 'tap';
import { runSigward } from '../helpers/cli.ts';

export interface Scratch {
  dir: string;
  /** writes a file in the scratch directory and returns its path */
  file(name: string, text: string | Uint8Array): string;
}

export function scratch(t: Test, prefix = 'sigward-attack-'): Scratch {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return {
    dir,
    file(name, text) {
      const p = join(dir, name);
      writeFileSync(p, text);
      return p;
    },
  };
}

export interface JsonRun {
  code: number;
  doc: any;
  stdout: string;
  stderr: string;
  ms: number;
}

/** `sigward <args> -o json`; fails the test run loudly when no JSON came out. */
export async function sigwardJson(
  args: string[],
  opts: { env?: Record<string, string>; timeoutMs?: number } = {},
): Promise<JsonRun> {
  const t0 = Date.now();
  const r = await runSigward([...args, '-o', 'json'], opts);
  const ms = Date.now() - t0;
  let doc: any;
  try {
    doc = JSON.parse(r.stdout);
  } catch {
    throw new Error(`sigward ${args[0]} printed no JSON (exit ${r.code}):\n${r.stdout}\n${r.stderr}`);
  }
  return { code: r.code, doc, stdout: r.stdout, stderr: r.stderr, ms };
}

/** The `images[]` entry of a `sigward verify -o json` document for one reference. */
export function imageEntry(doc: any, ref: string): any {
  const e = doc.images?.find((i: any) => i.image === ref);
  if (!e) throw new Error(`no result for ${ref} in ${JSON.stringify(doc).slice(0, 500)}`);
  return e;
}

export interface Expect {
  /** error code that must be reported */
  code: string;
  /** reason text (message) */
  reason: RegExp;
  /** digest that must be reported as the one verified (never another) */
  digest?: string;
}

/**
 * Counts attack cases. `denied` asserts one verify result was a denial with
 * the expected reason and records the case; `report` prints the count.
 */
export class AttackLog {
  readonly names: string[] = [];
  readonly file: string;
  constructor(file: string) {
    this.file = file;
  }

  record(name: string): void {
    if (this.names.includes(name)) throw new Error(`attack case named twice: ${name}`);
    this.names.push(name);
  }

  /** One image of a `sigward verify -o json` run: denied, with the code and reason. */
  denied(t: Test, name: string, entry: any, e: Expect): void {
    if (process.env.SIGWARD_ATTACK_DEBUG) t.comment(`${name}: ${entry.error?.code}: ${entry.error?.message}`);
    t.equal(entry.verified, false, `${name}: not verified`);
    t.equal(entry.error?.code, e.code, `${name}: code ${e.code}`);
    t.match(entry.error?.message ?? '', e.reason, `${name}: reason`);
    t.equal(entry.error?.outcome, 'deny', `${name}: a denial (not "could not decide")`);
    if (e.digest) t.equal(entry.digest, e.digest, `${name}: reports the digest it looked at`);
    this.record(name);
  }

  report(t: Test): void {
    t.comment(`${this.file}: ${this.names.length} attack cases, all denied: ${this.names.join(', ')}`);
  }
}

/** Re-reads a JSON text and writes it back with different bytes but the same meaning. */
export function reserialise(bytes: Uint8Array, how: 'indent' | 'reorder' | 'escape'): Uint8Array {
  const v = JSON.parse(Buffer.from(bytes).toString('utf8'));
  if (how === 'indent') return Buffer.from(JSON.stringify(v, null, 2));
  if (how === 'reorder') {
    const rev = (o: unknown): unknown =>
      o && typeof o === 'object' && !Array.isArray(o)
        ? Object.fromEntries(Object.entries(o).reverse().map(([k, x]) => [k, rev(x)]))
        : o;
    return Buffer.from(JSON.stringify(rev(v)));
  }
  // "/" written as \u002f: the same JSON string, other bytes
  return Buffer.from(JSON.stringify(v).replaceAll('/', '\\u002f'));
}
