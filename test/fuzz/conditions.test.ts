// Fuzzing Kyverno conditions and JMESPath: compileKyvernoConditions on random
// condition blocks (keys and values with {{ JMESPath }} variables, every
// operator), evaluated over random predicates. Compile errors are
// CONDITION_INVALID; evaluation never throws (a failure is a failed
// condition); JMESPath itself only throws its own error classes; all bounded.

import t from 'tap';
import { compileKyvernoConditions } from '../../lib/conditions/kyverno.ts';
import { KYVERNO_OPERATORS } from '../../lib/conditions/kyverno-operators.ts';
import {
  compileJmespath,
  JmespathCompileError,
  JmespathFunctionError,
  JmespathNotFoundError,
  searchJmespath,
} from '../../lib/conditions/jmespath.ts';
import { bounded, fc, fuzz, onlySigwardError, SEED, tokenSoup } from './helpers.ts';

const KEYS = ['a', 'b', 'list', 'name', 'scanner', 'result', 'items'];
const jmes = fc.oneof(
  fc.constantFrom(...KEYS),
  fc.constantFrom(
    'a.b',
    'list[0]',
    'list[*].name',
    'length(list)',
    'to_string(a)',
    'items[?a > `1`]',
    'keys(@)',
    'time_now_utc()',
    'sum(list)',
    'contains(name, `"x"`)',
    'split(name, `"/"`)',
    '@',
    'list[-1]',
    'a || b',
    '!a',
    'a == b',
    'max(list)',
    'regex_match(`"^a"`, name)',
    'image.registry',
    'element',
    'base64_decode(name)',
    'parse_json(name)',
    'semver_compare(name, `">1.0"`)',
    'divide(a, b)',
    'items[].a | [0]',
    '`{"x": 1}`',
  ),
  tokenSoup([
    'a',
    '.',
    '[',
    ']',
    '*',
    '?',
    '@',
    '`',
    '"',
    '(',
    ')',
    '|',
    '&&',
    '||',
    '!',
    '==',
    ',',
    'length(',
    '{',
    '}',
    ':',
  ], 10),
);
const templ = fc.oneof(
  jmes.map((e) => `{{ ${e} }}`),
  fc.tuple(fc.string({ maxLength: 5 }), jmes, fc.string({ maxLength: 5 })).map(([a, e, b]) => `${a}{{${e}}}${b}`),
  fc.constantFrom('{{', '}}', '{{}}', '\\{{ a }}', '{{ {{ a }} }}', '{{ a }}{{ b }}', '{{ `{{ a }}` }}'),
  fc.string({ maxLength: 10 }),
);
const val = fc.oneof(
  templ,
  fc.jsonValue({ maxDepth: 2 }),
  fc.array(templ, { maxLength: 3 }),
  fc.constantFrom('1h', '2024-01-01T00:00:00Z', '1Gi', '>=1.2.3', 'a*', '?', 10, -1.5, true, null),
);
const condition = fc.record({
  key: val,
  operator: fc.oneof(fc.constantFrom(...KYVERNO_OPERATORS), fc.string({ maxLength: 6 })),
  value: val,
  message: fc.option(fc.string({ maxLength: 10 }), { nil: undefined }),
}, { requiredKeys: ['key', 'operator'] });
const blocks = fc.array(
  fc.record({ any: fc.array(condition, { maxLength: 3 }), all: fc.array(condition, { maxLength: 3 }) }, {
    requiredKeys: [],
  }),
  { maxLength: 3 },
);
const context = fc.dictionary(fc.constantFrom(...KEYS), fc.jsonValue({ maxDepth: 3 }), { maxKeys: 5 }).map((p) => ({
  ...p,
  image: { registry: 'r', path: 'p', tag: 't', digest: 'sha256:x', reference: 'r/p:t' },
}));

t.comment(`fast-check seed ${SEED}`);

t.test('Kyverno conditions', async (t) => {
  let compiled = 0;
  await fuzz(
    t,
    'random condition blocks over random predicates',
    fc.tuple(blocks, fc.array(context, { minLength: 1, maxLength: 3 })),
    ([b, ctxs]) => {
      const { value, error } = bounded(
        () => onlySigwardError(() => compileKyvernoConditions(b, { where: 'fuzz' }), 'compileKyvernoConditions'),
        1000,
        'compile',
      );
      if (error && error.code !== 'CONDITION_INVALID') throw new Error(`unexpected code ${error.code}`);
      if (!value) return;
      compiled++;
      for (const c of ctxs) {
        const r = bounded(() => value.evaluate(c, { now: new Date('2025-01-01T00:00:00Z') }), 1000, 'evaluate');
        if (typeof r.passed !== 'boolean' || !Array.isArray(r.failures)) throw new Error('malformed result');
        if (!r.passed && r.failures.length === 0) throw new Error('failed without a reason');
      }
    },
    1500,
  );
  t.ok(compiled > 200, `${compiled} condition sets compiled and evaluated`);
  await fuzz(t, 'arbitrary JSON as conditions', fc.jsonValue({ maxDepth: 4 }), (v) => {
    const { error } = onlySigwardError(() => compileKyvernoConditions(v), 'compileKyvernoConditions');
    if (error && error.code !== 'CONDITION_INVALID') throw new Error(`unexpected code ${error.code}`);
  }, 1000);
});

t.test('JMESPath', async (t) => {
  const own = (e: unknown) =>
    e instanceof JmespathCompileError || e instanceof JmespathFunctionError || e instanceof JmespathNotFoundError;
  await fuzz(t, 'expressions over random data', fc.tuple(jmes, fc.jsonValue({ maxDepth: 3 })), ([e, data]) => {
    const t0 = performance.now();
    let ast;
    try {
      ast = compileJmespath(e);
    } catch (err) {
      if (own(err)) return;
      throw new Error(`compileJmespath(${JSON.stringify(e)}) threw ${(err as Error)?.stack ?? err}`);
    }
    try {
      searchJmespath(ast, data);
    } catch (err) {
      // runtime errors (the library's own, or Kyverno function errors) become failed conditions in the caller
      if (!(err instanceof Error)) throw new Error(`searchJmespath threw a non-Error: ${String(err)}`);
    }
    if (performance.now() - t0 > 1000) throw new Error(`JMESPath ${JSON.stringify(e)} took over 1000 ms`);
  }, 2000);
});
