// Fuzzing CEL conditions: compileCel on grammar-built and random expressions,
// evaluation over random predicates. Compile errors are CONDITION_INVALID,
// evaluation errors CONDITION_FAILED, nothing else escapes, and every call is
// bounded (regular expressions from policies run against signer-controlled
// strings, so `matches` must not backtrack exponentially).

import t from 'tap';
import { compileCel, getAttestationVariables } from '../../lib/conditions/cel.ts';
import { bounded, fc, fuzz, onlySigwardError, SEED, tokenSoup } from './helpers.ts';

const KEYS = ['a', 'b', 'name', 'list', 'builder', 'id', 'n'];
const str = fc.constantFrom(
  '""',
  '"a"',
  '"ci"',
  '"\\u00e9"',
  '"2024-01-01T00:00:00Z"',
  '"1h"',
  '"^a+$"',
  '"(a+)+$"',
  '"[0-9]{2,}"',
  "'x'",
  'r"\\d"',
  'b"ab"',
);
const lit = fc.oneof(
  fc.integer({ min: -5, max: 5 }).map(String),
  fc.constantFrom(
    '1.5',
    '-0.0',
    '1u',
    '0x10',
    'true',
    'false',
    'null',
    '9223372036854775807',
    '-9223372036854775808',
    '1e308',
    '[]',
    '{}',
    '[1, "a", true]',
    '{"a": 1}',
  ),
  str,
);
const path = fc.tuple(
  fc.constantFrom('predicate', 'statement', 'subject', 'image', 'signer', 'now'),
  fc.array(fc.constantFrom(...KEYS, 'tag', 'identity', 'predicateType'), { maxLength: 3 }),
).map(([v, ks]) => [v, ...ks].join('.'));

const expr: fc.Arbitrary<string> = fc.letrec<{ e: string }>((tie) => ({
  e: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    lit,
    path,
    fc.tuple(
      tie('e'),
      fc.constantFrom('+', '-', '*', '/', '%', '==', '!=', '<', '<=', '>', '>=', '&&', '||', 'in'),
      tie('e'),
    ).map(([a, op, b]) => `(${a} ${op} ${b})`),
    fc.tuple(fc.constantFrom('!', '-'), tie('e')).map(([op, a]) => `${op}${a}`),
    fc.tuple(tie('e'), tie('e'), tie('e')).map(([c, a, b]) => `(${c} ? ${a} : ${b})`),
    fc.tuple(
      fc.constantFrom(
        'size',
        'int',
        'uint',
        'double',
        'string',
        'bytes',
        'bool',
        'timestamp',
        'duration',
        'type',
        'dyn',
      ),
      tie('e'),
    ).map(([f, a]) => `${f}(${a})`),
    fc.tuple(
      tie('e'),
      fc.constantFrom('startsWith', 'endsWith', 'contains', 'matches', 'size', 'getFullYear'),
      tie('e'),
    ).map(([a, m, b]) => `${a}.${m}(${b})`),
    fc.tuple(tie('e'), fc.constantFrom('all', 'exists', 'exists_one', 'map', 'filter'), tie('e')).map(([a, m, b]) =>
      `${a}.${m}(x, ${b})`
    ),
    fc.tuple(tie('e'), tie('e')).map(([a, b]) => `${a}[${b}]`),
    fc.tuple(path).map(([p]) => `has(${p.includes('.') ? p : p + '.a'})`),
  ),
})).e;

const predicate = fc.jsonValue({ maxDepth: 3 }).chain((v) =>
  fc.dictionary(fc.constantFrom(...KEYS), fc.oneof(fc.constant(v), fc.jsonValue({ maxDepth: 2 })), { maxKeys: 4 })
);

const stats = { compiled: 0, evaluated: 0 };
function run(e: string, p: unknown): void {
  const { value: compiled, error } = bounded(
    () => onlySigwardError(() => compileCel(e), `compileCel(${e})`),
    2000,
    `compileCel(${e})`,
  );
  if (error && error.code !== 'CONDITION_INVALID') throw new Error(`compile: unexpected code ${error.code}`);
  if (!compiled) return;
  stats.compiled++;
  const vars = getAttestationVariables({
    statement: {
      _type: 'https://in-toto.io/Statement/v1',
      predicateType: 'x',
      subject: [{ digest: { sha256: 'a' } }],
      predicate: p,
    },
    image: { tag: 'v1' },
    signer: { identity: 'ci' },
    now: new Date('2025-01-01T00:00:00Z'),
  });
  for (const f of [() => compiled.evaluate(vars), () => compiled.evaluateBool(vars)]) {
    const r = bounded(() => onlySigwardError(f, `evaluate(${e})`), 2000, `evaluate(${e})`);
    if (r.error && r.error.code !== 'CONDITION_FAILED') throw new Error(`evaluate: unexpected code ${r.error.code}`);
    if (!r.error) stats.evaluated++;
  }
}

t.comment(`fast-check seed ${SEED}`);

t.test('CEL', async (t) => {
  await fuzz(
    t,
    'grammar-built expressions over random predicates',
    fc.tuple(expr, predicate),
    ([e, p]) => run(e, p),
    1500,
  );
  t.ok(
    stats.compiled > 300 && stats.evaluated > 100,
    `the grammar reaches evaluation (${stats.compiled} compiled, ${stats.evaluated} evaluations without error)`,
  );
  await fuzz(
    t,
    'token soup',
    tokenSoup([
      'predicate',
      '.',
      '(',
      ')',
      '[',
      ']',
      '{',
      '}',
      ',',
      ':',
      '"',
      "'",
      '\\',
      '==',
      '&&',
      '||',
      '!',
      '?',
      'x',
      '.all(',
      '.map(',
      'has(',
      'size(',
      '1',
      '0',
      'in',
      ' ',
      '\n',
      '//',
      'r"',
      'b"',
      '"""',
      'u8',
    ], 20),
    (e) => run(e, { a: 1 }),
    1500,
  );
  await fuzz(
    t,
    'deep nesting',
    fc.tuple(fc.integer({ min: 10, max: 3000 }), fc.constantFrom('(', '[', '!', '-', 'size(')),
    ([n, open]) => {
      const close = { '(': ')', '[': ']', '!': '', '-': '', 'size(': ')' }[open]!;
      run(open.repeat(n) + '1' + close.repeat(n), {});
    },
    40,
  );
  // the regular expression is the policy's, the string the signer's: no catastrophic backtracking
  for (const re of ['^(a+)+$', '(a|aa)*b', '^(a|a?)+$', '(.*a){12}']) {
    t.doesNotThrow(
      () =>
        bounded(
          () =>
            compileCel(`predicate.s.matches("${re}")`).evaluate({
              ...getAttestationVariables({ statement: { predicate: { s: 'a'.repeat(40) + '!' } }, now: new Date() }),
            }),
          2000,
          re,
        ),
      `matches(${re}) on 41 characters is bounded`,
    );
  }
});
