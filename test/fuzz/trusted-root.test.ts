// trusted_root.json parsing under random damage: one to three fields of the
// public-good root replaced by arbitrary JSON, deleted, or renamed. Only
// SigwardError may escape, and whatever is accepted keeps the invariants the
// verifier relies on (every log key has a start of validity and a SHA2_256
// tree, every authority a chain).

import t from 'tap';
import fc from 'fast-check';
import { readFileSync } from 'node:fs';
import { HashAlgorithm } from '@sigstore/protobuf-specs';
import { parseTrustedRoot } from '../../lib/trust/index.ts';
import { SHARED } from '../helpers/fixtures.ts';
import { fuzz, onlySigwardError } from './helpers.ts';

const BASE = JSON.parse(readFileSync(`${SHARED}/trust-roots/public-good-trusted_root.json`, 'utf8'));

/** Every path (list of keys / indexes) into a JSON value. */
function paths(v: unknown, prefix: (string | number)[] = []): (string | number)[][] {
  if (typeof v !== 'object' || v === null) return [prefix];
  const keys: (string | number)[] = Array.isArray(v) ? v.map((_x, i) => i) : Object.keys(v);
  return [prefix, ...keys.flatMap((k) => paths((v as Record<string | number, unknown>)[k], [...prefix, k]))];
}
const ALL_PATHS = paths(BASE).filter((p) => p.length > 0);

type Damage = { path: (string | number)[]; kind: 'replace' | 'delete' | 'rename'; value: unknown };
const damage: fc.Arbitrary<Damage> = fc.record({
  path: fc.constantFrom(...ALL_PATHS),
  kind: fc.constantFrom('replace', 'delete', 'rename') as fc.Arbitrary<Damage['kind']>,
  value: fc.oneof(
    fc.jsonValue({ maxDepth: 2 }),
    fc.constantFrom('', '2021-01-12T11:53:27Z', 'SHA2_256', 'PKIX_ED25519', 'AAAA', null),
  ),
});

function apply(root: unknown, d: Damage): void {
  let parent = root as Record<string | number, unknown>;
  for (const k of d.path.slice(0, -1)) {
    const next = parent?.[k];
    if (typeof next !== 'object' || next === null) return; // an earlier damage removed the way there
    parent = next as Record<string | number, unknown>;
  }
  const last = d.path[d.path.length - 1]!;
  if (d.kind === 'replace') parent[last] = d.value;
  else if (Array.isArray(parent)) parent.splice(Number(last), 1);
  else {
    const v = parent[last];
    delete parent[last];
    if (d.kind === 'rename') parent[`${String(last)}_x`] = v;
  }
}

t.test('damaged trusted roots: only SigwardError, and what is accepted is usable', async (t) => {
  await fuzz(
    t,
    'trusted root damage',
    fc.array(damage, { minLength: 1, maxLength: 3 }),
    (ds) => {
      const root = structuredClone(BASE);
      for (const d of ds) apply(root, d);
      const r = onlySigwardError(() => parseTrustedRoot(JSON.stringify(root), 'fuzzed root'), 'parseTrustedRoot');
      if (r.error) {
        if (r.error.code !== 'TRUST_ROOT_INVALID') {
          throw new Error(`unexpected code ${r.error.code}: ${r.error.message}`);
        }
        return;
      }
      for (const log of [...r.value!.tlogs, ...r.value!.ctlogs]) {
        const start = log.publicKey?.validFor?.start;
        if (!(start instanceof Date) || Number.isNaN(start.getTime())) {
          throw new Error(`accepted a log key without a valid start: ${JSON.stringify(ds)}`);
        }
        if (log.hashAlgorithm !== HashAlgorithm.SHA2_256) {
          throw new Error(`accepted a log with hash ${log.hashAlgorithm}: ${JSON.stringify(ds)}`);
        }
      }
      for (const ca of [...r.value!.certificateAuthorities, ...r.value!.timestampAuthorities]) {
        if (!ca.certChain?.certificates.length) {
          throw new Error(`accepted an authority without a chain: ${JSON.stringify(ds)}`);
        }
        for (const d of [ca.validFor?.start, ca.validFor?.end]) {
          if (d !== undefined && Number.isNaN(d.getTime())) {
            throw new Error(`accepted an invalid time: ${JSON.stringify(ds)}`);
          }
        }
      }
    },
    400,
  );
});
