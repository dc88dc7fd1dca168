// The rule loader and evaluator: every built-in rule loads and compiles,
// parameters are validated and coerced, messages are rendered, programs are
// compiled once, and a rule only accepts its own predicate types.

import t from 'tap';
import { readdirSync, readFileSync } from 'node:fs';
import {
  compileRule,
  compileRuleSpec,
  evaluateRule,
  formatRuleParam,
  getRule,
  listRules,
  ruleAppliesTo,
  toRule,
  toRuleParamInput,
  toRuleParams,
  verifyRulePredicateType,
} from '../../lib/attest/rules.ts';
import { getAttestationVariables, getCelCacheSize, resetCelCache } from '../../lib/conditions/cel.ts';
import { CelDuration } from '../../lib/conditions/cel-values.ts';
import { isSigwardError } from '../../lib/errors.ts';
import { conditions, evaluate, readJson, statementOf } from './rule-helpers.ts';

const RULES_DIR = new URL('../../rules/', import.meta.url);

/** Required parameters of each rule, so every rule can be compiled. */
const REQUIRED: Record<string, Record<string, string>> = {
  'slsa-provenance-v0.2': { builderIds: 'https://builder.example/*' },
  'slsa-provenance-v1': { builderIds: 'https://builder.example/*' },
};

function code(e: unknown): string | undefined {
  return isSigwardError(e) ? e.code : undefined;
}

t.test('every rule file in rules/ is bundled, loads and compiles', async (t) => {
  const files = readdirSync(RULES_DIR).filter((f) => f.endsWith('.json')).sort();
  const names = listRules().map((r) => r.name);
  t.same(names, [...names].sort(), 'listRules is sorted by name');
  t.same(
    files.map((f) => f.replace(/\.json$/, '')),
    [...names].sort(),
    'one JSON file per rule, named after it, and all of them in rules/index.ts',
  );
  t.ok(names.length >= 7);
  for (const f of files) {
    const data = JSON.parse(readFileSync(new URL(f, RULES_DIR), 'utf8'));
    const spec = toRule(data);
    t.same(getRule(spec.name), spec, `${f}: bundled copy equals the file`);
    const compiled = compileRule(spec.name, REQUIRED[spec.name] ?? {});
    t.equal(compiled.validations.length, spec.validations.length, `${spec.name}: validations compiled`);
    t.equal(compiled.variables.length, spec.variables.length, `${spec.name}: variables compiled`);
    t.ok(spec.description.length > 40, `${spec.name}: described`);
    for (const [p, ps] of Object.entries(spec.params)) t.ok(ps.description.length > 10, `${spec.name}.${p}: described`);
    t.notOk(spec.predicateTypes[0]!.endsWith('*'), `${spec.name}: first predicate type is a full URI`);
  }
});

t.test('rules/README.md documents every rule and every parameter', async (t) => {
  const readme = readFileSync(new URL('README.md', RULES_DIR), 'utf8');
  for (const r of listRules()) {
    t.match(readme, new RegExp(`^## \`${r.name.replace(/\./g, '\\.')}\``, 'm'), `${r.name}: section`);
    t.match(readme, `--rule ${r.name}`, `${r.name}: example`);
    for (const p of Object.keys(r.params)) t.match(readme, `\`${p}\``, `${r.name}.${p}: documented`);
  }
});

t.test('unknown rule', async (t) => {
  t.throws(() => getRule('slsa'), {
    code: 'CONDITION_INVALID',
    message: /unknown rule "slsa" \(built-in rules: code-review, /,
  });
  t.throws(() => compileRule('nope'), { code: 'CONDITION_INVALID' });
});

t.test('parameter validation', async (t) => {
  const err = (name: string, params: Record<string, string | string[]>): string => {
    try {
      compileRule(name, params);
    } catch (e) {
      t.equal(code(e), 'CONDITION_INVALID', 'usage error');
      t.equal(isSigwardError(e) && e.outcome, 'usage');
      return (e as Error).message;
    }
    t.fail(`no error for ${name} ${JSON.stringify(params)}`);
    return '';
  };
  t.match(
    err('code-review', { minApprovls: '2' }),
    /rule "code-review": unknown parameter "minApprovls" \(parameters: minApprovals, allowedReviewers, allowSelfReview, branch, repository\)/,
  );
  t.match(err('slsa-provenance-v1', {}), /missing required parameter "builderIds" \(--param builderIds=\.\.\.\)/);
  t.match(err('code-review', { minApprovals: 'two' }), /parameter "minApprovals": "two" is not an integer/);
  t.match(err('code-review', { minApprovals: '99999999999999999999' }), /out of range/);
  t.match(err('code-review', { allowSelfReview: 'yes' }), /"yes" is not true or false/);
  t.match(err('vuln-scan', { maxSeverity: 'SEVERE' }), /"SEVERE" is not one of NONE, LOW, MEDIUM, HIGH, CRITICAL/);
  t.match(err('vuln-scan', { maxAge: '7d' }), /"7d" is not a duration \(Go syntax/);
  t.match(err('vuln-scan', { maxAge: '-1h' }), /negative/);
  t.match(err('code-review', { branch: ['main', 'dev'] }), /given 2 times; a string parameter takes one value/);
  t.match(err('code-review', { constructor: 'x' }), /unknown parameter "constructor"/);
});

t.test('parameter coercion and defaults', async (t) => {
  const p = toRuleParams(getRule('vuln-scan'), {
    maxSeverity: 'critical',
    maxAge: '168h',
    scanners: ['pkg:github/aquasecurity/trivy, pkg:github/anchore/grype', 'pkg:github/anchore/grype', ' '],
  });
  t.equal(p.maxSeverity, 'CRITICAL', 'enum matched case-insensitively, stored as spelled by the rule');
  t.ok(p.maxAge instanceof CelDuration);
  t.equal((p.maxAge as CelDuration).toNanos(), 168n * 3600n * 1_000_000_000n);
  t.same(
    p.scanners,
    ['pkg:github/aquasecurity/trivy', 'pkg:github/anchore/grype'],
    'lists: comma-split, trimmed, deduplicated, repeatable',
  );
  t.same(p.ignoreCVEs, [], 'list default');
  t.equal(p.requireResult, true, 'bool default');
  t.notOk('maxAge' in toRuleParams(getRule('vuln-scan'), {}), 'an optional parameter without default is absent');

  const c = toRuleParams(getRule('code-review'), { minApprovals: ' 2 ', allowSelfReview: 'TRUE' });
  t.equal(c.minApprovals, 2n, 'int is a CEL int (bigint)');
  t.equal(c.allowSelfReview, true);
  t.equal(toRuleParams(getRule('code-review'), {}).minApprovals, 1n, 'int default');

  t.same(toRuleParamInput(['a=1', 'b=x=y', 'a=2']), { a: ['1', '2'], b: ['x=y'] });
  t.throws(() => toRuleParamInput(['novalue']), { code: 'CONDITION_INVALID' });
  t.equal(formatRuleParam(new CelDuration(90n * 60n)), '1h30m0s');
  t.equal(formatRuleParam(['a', 'b']), 'a, b');
  t.equal(formatRuleParam(undefined), '(not set)');
});

t.test('messages are rendered with parameter values', async (t) => {
  const compiled = compileRule('code-review', { minApprovals: '3', branch: 'release' });
  t.match(compiled.validations.map((v) => v.message), [
    'the code-review predicate has no reviewers list',
    /./,
    'code review has fewer than 3 qualifying approval(s)',
    'the code review is not for branch release',
    'the code review is not for repository (not set)',
  ]);
  const r = evaluate(
    'code-review',
    { minApprovals: '3', branch: 'release' },
    statementOf('https://example.com/CodeReview/v1', readJson(conditions('code-review.json'))),
  );
  t.same(r.failures, [
    'code review has fewer than 3 qualifying approval(s): 1 (bob@example.com)',
    'the code review is not for branch release: reviewed branch main',
  ]);
});

t.test('programs are compiled once, at compileRule', async (t) => {
  const compiled = compileRule('vuln-scan', { maxAge: '720h', maxSeverity: 'MEDIUM' });
  const programs = [...compiled.variables.map((v) => v.program), ...compiled.validations.map((v) => v.program)];
  resetCelCache();
  t.equal(getCelCacheSize(), 0);
  const st = statementOf('vuln', readJson(conditions('vuln-scan.json')));
  const vars = getAttestationVariables({ statement: st, now: new Date('2024-03-02T00:00:00Z') });
  const a = evaluateRule(compiled, vars);
  const b = evaluateRule(compiled, vars);
  t.same(a, b, 'same result twice');
  t.equal(a.passed, false);
  t.match(a.failures, [
    /^the scan reports vulnerabilities above MEDIUM: CVE-2024-0727 HIGH libssl3, CVE-2023-44487 HIGH/,
  ]);
  t.equal(getCelCacheSize(), 0, 'evaluation compiles nothing');
  t.same(
    [...compiled.variables.map((v) => v.program), ...compiled.validations.map((v) => v.program)],
    programs,
    'same program objects',
  );
  t.ok(Object.isFrozen(compiled) && Object.isFrozen(compiled.params), 'compiled rule is immutable');
  // compiling again with other parameters reuses the cached programs: values are bound, not pasted in
  const again = compileRule('vuln-scan', { maxAge: '1h', maxSeverity: 'LOW' });
  t.equal(again.validations[0]!.program, compileRule('vuln-scan').validations[0]!.program);
});

t.test('predicate types', async (t) => {
  t.ok(ruleAppliesTo(getRule('sbom-cyclonedx'), 'cyclonedx'), 'cosign shortcut');
  t.ok(ruleAppliesTo(getRule('sbom-cyclonedx'), 'https://cyclonedx.org/bom/v1.5'), 'prefix entry');
  t.ok(ruleAppliesTo(getRule('openvex'), 'https://openvex.dev/ns/v0.2.0'));
  t.ok(ruleAppliesTo(getRule('slsa-provenance-v0.2'), 'slsaprovenance'));
  t.notOk(ruleAppliesTo(getRule('slsa-provenance-v0.2'), 'slsaprovenance1'));
  t.notOk(ruleAppliesTo(getRule('sbom-cyclonedx'), 'https://cyclonedx.org/bomb'));
  t.doesNotThrow(() => verifyRulePredicateType(getRule('vuln-scan'), 'vuln'));
  t.throws(() => verifyRulePredicateType(getRule('sbom-spdx'), 'cyclonedx'), {
    code: 'CONDITION_INVALID',
    message:
      'rule "sbom-spdx" checks predicate type https://spdx.dev/Document, https://spdx.dev/Document/*, not https://cyclonedx.org/bom',
  });
  // an attestation of another type never passes a rule, even if its predicate happens to fit
  const bom = readJson(conditions('cyclonedx-sbom.json'));
  const r = evaluate('sbom-cyclonedx', {}, statementOf('https://example.com/not-a-bom', bom));
  t.equal(r.passed, false);
  t.match(r.failures, [/predicate type https:\/\/example.com\/not-a-bom is not checked by rule "sbom-cyclonedx"/]);
  t.equal(evaluate('sbom-cyclonedx', {}, statementOf('cyclonedx', bom)).passed, true);
  // a statement's own predicateType is a URI: shortcuts are for --type only
  const vars = getAttestationVariables({
    statement: { _type: '', subject: [], predicateType: 'cyclonedx', predicate: bom },
    now: new Date(),
  });
  t.equal(evaluateRule(compileRule('sbom-cyclonedx'), vars).passed, false);
});

t.test('evaluation errors and malformed predicates fail, never throw', async (t) => {
  for (const rule of listRules()) {
    for (
      const predicate of [null, 'a string predicate', 42, [], {}, {
        statements: 'x',
        components: 3,
        buildDefinition: [],
      }]
    ) {
      const r = evaluate(rule.name, REQUIRED[rule.name] ?? {}, statementOf(rule.predicateTypes[0]!, predicate));
      t.equal(r.passed, false, `${rule.name} fails on ${JSON.stringify(predicate)}`);
      t.ok(r.failures.length > 0);
    }
  }
  // a validation whose evaluation fails reports the message and the reason
  const bad = readJson(conditions('vuln-scan.json'));
  bad.metadata.scanFinishedOn = 'yesterday';
  const r = evaluate('vuln-scan', { maxAge: '24h', maxSeverity: 'CRITICAL' }, statementOf('vuln', bad));
  t.equal(r.passed, false);
  t.match(r.failures, [/^the scan is older than 24h0m0s \(.+\)$/]);
});

t.test('rule data validation', async (t) => {
  const base = {
    name: 'x',
    description: 'a test rule',
    predicateTypes: ['https://example.com/x'],
    params: { n: { type: 'int', default: 2, description: 'a number' } },
    validations: [{ expression: ['size(predicate.items)', '>= params.n'], message: 'need {{ n }} items' }],
  };
  const spec = toRule(base);
  t.equal(spec.validations[0]!.expression, 'size(predicate.items)\n>= params.n', 'array of lines');
  const c = compileRuleSpec(spec, {});
  t.equal(c.validations[0]!.message, 'need 2 items');
  const vars = (items: unknown[]) =>
    getAttestationVariables({
      statement: { _type: '', subject: [], predicateType: 'https://example.com/x', predicate: { items } },
      now: new Date(),
    });
  t.same(evaluateRule(c, vars([1, 2])), { rule: 'x', passed: true, failures: [] });
  t.same(evaluateRule(c, vars([1])), { rule: 'x', passed: false, failures: ['need 2 items'] });

  const bad = (patch: Record<string, unknown>, re: RegExp) =>
    t.throws(() => toRule({ ...base, ...patch }), { code: 'CONDITION_INVALID', message: re }, JSON.stringify(patch));
  bad({ name: 'Bad Name' }, /rule name/);
  bad({ extra: 1 }, /unknown field "extra"/);
  bad({ predicateTypes: [] }, /predicateTypes/);
  bad({ predicateTypes: ['https://x/*'] }, /first predicate type must be a full URI/);
  bad({ params: { n: { type: 'number', description: 'x' } } }, /type must be one of/);
  bad({ params: { n: { type: 'int', default: 'two', description: 'x' } } }, /invalid default/);
  bad(
    { params: { n: { type: 'int', default: 1, required: true, description: 'x' } } },
    /required parameter has no default/,
  );
  bad({ params: { n: { type: 'list', enum: ['a'], description: 'x' } } }, /enum is only allowed for string/);
  bad({ params: { 'my-param': { type: 'int', description: 'x' } } }, /not an identifier/);
  bad({ validations: [] }, /validations must be a non-empty array/);
  bad({ validations: [{ expression: 'true', message: 'about {{ m }}' }] }, /message names unknown parameter "m"/);
  bad({ variables: [{ name: 'a', expression: '1' }, { name: 'a', expression: '2' }] }, /defined twice/);
  // a CEL error in rule data is reported with the rule and the place
  t.throws(
    () => compileRuleSpec(toRule({ ...base, validations: [{ expression: 'predicate.items.size( >', message: 'm' }] })),
    {
      code: 'CONDITION_INVALID',
      message: /^rule "x": validations\[0\]: invalid CEL expression/,
    },
  );
  t.throws(() => compileRuleSpec(toRule({ ...base, validations: [{ expression: 'paramz.n > 1', message: 'm' }] })), {
    message: /undeclared reference to 'paramz'/,
  });
  t.throws(
    () =>
      compileRuleSpec(
        toRule({ ...base, variables: [{ name: 'a', expression: 'variables.b' }, { name: 'b', expression: '1' }] }),
      ),
    {
      code: 'CONDITION_INVALID',
      message: 'rule "x": variable "a": unknown variable "b" (variables: none)',
    },
    'a variable reads only earlier variables',
  );
  t.throws(() => compileRuleSpec(toRule({ ...base, validations: [{ expression: 'variables.nope', message: 'm' }] })), {
    message: /validations\[0\]: unknown variable "nope"/,
  });
});

t.test('variables are evaluated once, when read, and their errors stay local', async (t) => {
  const spec = toRule({
    name: 'lazy',
    description: 'variables test rule',
    predicateTypes: ['https://example.com/x'],
    variables: [
      { name: 'items', expression: 'predicate.items' },
      { name: 'count', expression: 'size(variables.items)' },
      { name: 'broken', expression: 'predicate.missing.field' },
    ],
    validations: [
      { expression: 'variables.count >= 2', message: 'need 2 items', detail: "string(variables.count) + ' found'" },
      { expression: 'variables.broken == 1', message: 'broken check' },
      { expression: 'type(predicate) == map', message: 'not a map', detail: 'variables.broken' },
    ],
  });
  const c = compileRuleSpec(spec);
  t.same(c.validations[0]!.usesVariables, ['count']);
  t.same(c.validations[0]!.uses, [], 'reads no top-level binding directly');
  t.same(c.variables[1]!.usesVariables, ['items']);
  t.same(c.variables[0]!.uses, ['predicate']);
  const vars = getAttestationVariables({
    statement: { _type: '', subject: [], predicateType: 'https://example.com/x', predicate: { items: [1] } },
    now: new Date(),
  });
  const r = evaluateRule(c, vars);
  t.equal(r.failures[0], 'need 2 items: 1 found');
  t.match(r.failures[1], /^broken check \(variable "broken" could not be evaluated: .*missing/);
  t.equal(r.failures.length, 2, 'the third validation passes although its detail would fail');
});
