// Fuzzing AdmissionReview input: parseAdmissionReview on arbitrary JSON,
// bytes, deep nesting and mutated real requests (Connaisseur test vectors);
// image extraction on whatever it accepted. Only SigwardError, bounded time.

import t from 'tap';
import { readdirSync, readFileSync } from 'node:fs';
import { parseAdmissionReview } from '../../lib/admission/review.ts';
import { getImages } from '../../lib/admission/images.ts';
import { SHARED } from '../helpers/fixtures.ts';
import { bounded, fc, flipBit, fuzz, onlySigwardError, SEED } from './helpers.ts';

const DIR = `${SHARED}/admission-requests/`;
const REAL = readdirSync(DIR).filter((f) => f.endsWith('.json')).map((f) => readFileSync(DIR + f, 'utf8'));

function check(input: string | Uint8Array): void {
  const { value, error } = bounded(
    () => onlySigwardError(() => parseAdmissionReview(input), 'parseAdmissionReview'),
    1000,
    'parseAdmissionReview',
  );
  if (error && error.code !== 'ADMISSION_INVALID') throw new Error(`unexpected code ${error.code}: ${error.message}`);
  if (value?.object) {
    bounded(
      () => onlySigwardError(() => getImages(value.object, { kind: value.kind?.kind }), 'getImages'),
      1000,
      'getImages',
    );
  }
}

function mutate(v: unknown, path: number[], replacement: unknown): unknown {
  if (path.length === 0 || v === null || typeof v !== 'object') return replacement;
  const entries = Array.isArray(v)
    ? v.map((x, i) => [String(i), x] as const)
    : Object.entries(v as Record<string, unknown>);
  if (!entries.length) return replacement;
  const [k, child] = entries[path[0]! % entries.length]!;
  const copy: any = Array.isArray(v) ? [...v] : { ...(v as object) };
  const next = mutate(child, path.slice(1), replacement);
  if (next === undefined) {
    if (Array.isArray(copy)) copy.splice(Number(k), 1);
    else delete copy[k];
  } else copy[k] = next;
  return copy;
}

t.comment(`fast-check seed ${SEED}`);

t.test('parseAdmissionReview', async (t) => {
  t.ok(REAL.length >= 20, `${REAL.length} real requests`);
  for (const r of REAL) t.doesNotThrow(() => check(r));
  await fuzz(t, 'arbitrary JSON', fc.jsonValue({ maxDepth: 5 }), (v) => check(JSON.stringify(v) ?? 'null'), 1500);
  await fuzz(t, 'arbitrary bytes', fc.uint8Array({ maxLength: 300 }), (b) => check(b), 1000);
  const replacement = fc.oneof(
    fc.constant(undefined),
    fc.jsonValue({ maxDepth: 3 }),
    fc.constantFrom(
      '',
      0,
      -1,
      1e308,
      [],
      {},
      null,
      true,
      'CREATE',
      'DELETE',
      'UPDATE',
      'Pod',
      'admission.k8s.io/v1',
      '\u0000',
      'a'.repeat(10_000),
    ),
  );
  await fuzz(
    t,
    'mutated real requests',
    fc.tuple(fc.constantFrom(...REAL), fc.array(fc.nat(), { minLength: 1, maxLength: 7 }), replacement),
    ([text, path, r]) => {
      check(JSON.stringify(mutate(JSON.parse(text), path, r)) ?? 'null');
    },
    2500,
  );
  await fuzz(
    t,
    'bit flips in real requests',
    fc.tuple(fc.constantFrom(...REAL), fc.nat()),
    ([text, at]) => check(flipBit(Buffer.from(text), at)),
    1000,
  );
  await fuzz(
    t,
    'deep nesting',
    fc.tuple(fc.integer({ min: 500, max: 200_000 }), fc.constantFrom('[', '{"a":'), fc.nat(5)),
    ([depth, open, where]) => {
      const close = open === '[' ? ']' : '}';
      const deep = open.repeat(depth) + '1' + close.repeat(depth);
      const req = JSON.parse(REAL[0]!);
      const host = ['request', 'object', 'spec', 'metadata', 'oldObject', ''][where]!;
      const text = JSON.stringify(host ? { ...req, [host]: '__DEEP__' } : req).replace('"__DEEP__"', deep);
      check(host ? text : deep);
    },
    60,
  );
});
