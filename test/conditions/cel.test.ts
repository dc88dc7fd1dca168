import t from 'tap';
import { readFileSync } from 'node:fs';
import {
  ATTESTATION_VARIABLES,
  compileCel,
  getAttestationVariables,
  getCelCacheSize,
  resetCelCache,
} from '../../lib/conditions/cel.ts';
import { CelDuration, CelTimestamp, CelTypeValue, CelUint } from '../../lib/conditions/cel-values.ts';
import { isSigwardError } from '../../lib/errors.ts';

const shared = (p: string) => new URL(`../../../shared/testvectors/${p}`, import.meta.url);
const local = (p: string) => new URL(`../../testdata/conditions/${p}`, import.meta.url);
const readJson = (u: URL): any => JSON.parse(readFileSync(u, 'utf8'));

/** The in-toto statement inside a DSSE sigstore bundle. */
function statementOfBundle(name: string): any {
  const b = readJson(shared(`sigstore-bundles/${name}`));
  return JSON.parse(Buffer.from(b.dsseEnvelope.payload, 'base64').toString('utf8'));
}

function statement(predicateType: string, predicate: unknown): any {
  return {
    _type: 'https://in-toto.io/Statement/v1',
    subject: [{
      name: 'registry.example.com/org/app',
      digest: { sha256: '886a77e9b9c993e221d1843e3af5b1fbeea26d8962995e8562174a6aba0c7cc9' },
    }],
    predicateType,
    predicate,
  };
}

const NOW = new Date('2024-03-02T00:00:00Z');

function run(expr: string, st: unknown, extra: Partial<Parameters<typeof getAttestationVariables>[0]> = {}): unknown {
  return compileCel(expr).evaluateBool(getAttestationVariables({ statement: st, now: NOW, ...extra }));
}

function thrown(fn: () => unknown): any {
  try {
    fn();
  } catch (e) {
    return e;
  }
  throw new Error('expected an error');
}

t.test('SLSA v0.2 provenance (sigstore-go dsse bundle)', async (t) => {
  const st = statementOfBundle('dsse.sigstore.json');
  t.equal(st.predicateType, 'https://slsa.dev/provenance/v0.2');
  t.equal(run("predicate.builder.id == 'https://github.com/npm/slsa-provenance@0.0.1'", st), true);
  t.equal(run("statement.predicateType == 'https://slsa.dev/provenance/v0.2'", st), true);
  t.equal(run("predicate.materials.exists(m, m.uri.startsWith('git+https://github.com/github/'))", st), true);
  t.equal(run("predicate.invocation.environment.GITHUB_REF.matches('^refs/(heads|tags)/')", st), true);
  const mutated = structuredClone(st);
  mutated.predicate.builder.id = 'https://evil.example/builder';
  t.equal(run("predicate.builder.id == 'https://github.com/npm/slsa-provenance@0.0.1'", mutated), false);
});

t.test('SLSA v1 provenance (sigstore-js npm provenance)', async (t) => {
  const st = statementOfBundle('sigstore.js@2.0.0-provenance.sigstore.json');
  t.equal(st.predicateType, 'https://slsa.dev/provenance/v1');
  t.equal(run("predicate.runDetails.builder.id == 'https://github.com/actions/runner/github-hosted'", st), true);
  t.equal(
    run(
      "predicate.buildDefinition.externalParameters.workflow.repository == 'https://github.com/sigstore/sigstore-js'",
      st,
    ),
    true,
  );
  t.equal(run("subject.all(s, s.name.startsWith('pkg:npm/sigstore@'))", st), true);
  t.equal(
    run(
      'predicate.buildDefinition.resolvedDependencies.exists(d, has(d.digest.gitCommit) && size(d.digest.gitCommit) == 40)',
      st,
    ),
    true,
  );
  const mutated = structuredClone(st);
  mutated.predicate.runDetails.builder.id = 'https://github.com/actions/runner/self-hosted';
  t.equal(run("predicate.runDetails.builder.id == 'https://github.com/actions/runner/github-hosted'", mutated), false);
});

t.test('CycloneDX components', async (t) => {
  const bom = readJson(local('cyclonedx-sbom.json'));
  const st = statement('https://cyclonedx.org/bom', bom);
  const noBadCommonsText =
    "!predicate.components.exists(c, c.name == 'commons-text' && c.version in ['1.5', '1.6', '1.7', '1.8', '1.9'])";
  t.equal(run(noBadCommonsText, st), true);
  t.equal(
    run("predicate.components.all(c, c.licenses.exists(l, l.license.id in ['Apache-2.0', 'BSD-3-Clause', 'MIT']))", st),
    true,
  );
  t.equal(run("predicate.components.filter(c, c.purl.startsWith('pkg:maven/')).size() == 3", st), true);
  const mutated = structuredClone(bom);
  mutated.components[0].version = '1.8';
  t.equal(run(noBadCommonsText, statement('https://cyclonedx.org/bom', mutated)), false);
  // the empty BOM of the cosign test data
  const empty = readJson(shared('predicates/bom-go-mod.cyclonedx.json'));
  t.equal(
    run(
      "predicate.bomFormat == 'CycloneDX' && size(predicate.components) == 0",
      statement('https://cyclonedx.org/bom', empty),
    ),
    true,
  );
});

t.test('SPDX packages', async (t) => {
  const doc = readJson(local('spdx-sbom.json'));
  const st = statement('https://spdx.dev/Document', doc);
  t.equal(run("predicate.spdxVersion.startsWith('SPDX-2.') && predicate.packages.size() > 3", st), true);
  t.equal(run("predicate.packages.exists(p, p.name == 'busybox' && p.versionInfo.startsWith('1.36'))", st), true);
  t.equal(run("predicate.packages.all(p, !p.licenseConcluded.contains('AGPL'))", st), true);
  const mutated = structuredClone(doc);
  mutated.packages[1].licenseConcluded = 'AGPL-3.0-only';
  t.equal(
    run(
      "predicate.packages.all(p, !p.licenseConcluded.contains('AGPL'))",
      statement('https://spdx.dev/Document', mutated),
    ),
    false,
  );
  const empty = readJson(shared('predicates/bom-go-mod.spdx.json'));
  t.equal(run('predicate.packages.size() == 0', statement('https://spdx.dev/Document', empty)), true);
});

t.test('vulnerability scan severities and age', async (t) => {
  const scan = readJson(local('vuln-scan.json'));
  const st = statement('https://cosign.sigstore.dev/attestation/vuln/v1', scan);
  const noCritical =
    "predicate.scanner.result.Results.all(r, !has(r.Vulnerabilities) || r.Vulnerabilities.all(v, v.Severity != 'CRITICAL'))";
  t.equal(run(noCritical, st), true);
  t.equal(run('predicate.scanner.result.Results.all(r, r.Vulnerabilities.all(v, v.CVSS.nvd.V3Score < 9))', st), true);
  t.equal(
    run(
      "predicate.scanner.result.Results.map(r, r.Vulnerabilities.filter(v, v.Severity == 'HIGH').size()).exists(n, n > 0)",
      st,
    ),
    true,
  );
  const fresh = "now - timestamp(predicate.metadata.scanFinishedOn) < duration('168h')";
  t.equal(run(fresh, st), true);
  t.equal(run(fresh, st, { now: new Date('2024-04-01T00:00:00Z') }), false);
  const mutated = structuredClone(scan);
  mutated.scanner.result.Results[1].Vulnerabilities.push({
    VulnerabilityID: 'CVE-2021-44228',
    PkgName: 'log4j-core',
    Severity: 'CRITICAL',
    CVSS: { nvd: { V3Score: 10 } },
  });
  t.equal(run(noCritical, statement('https://cosign.sigstore.dev/attestation/vuln/v1', mutated)), false);
  // cosign's own vuln predicate (scanner.result is null)
  const cosignVuln = readJson(shared('predicates/vuln-predicate.json'));
  const cst = statement('https://cosign.sigstore.dev/attestation/vuln/v1', cosignVuln);
  t.equal(run('timestamp(predicate.metadata.scanFinishedOn) > timestamp(predicate.metadata.scanStartedOn)', cst), true);
  t.equal(run('predicate.scanner.result == null', cst), true);
});

t.test('in-toto example predicates (SVR, test result, release)', async (t) => {
  t.equal(run("'SLSA_BUILD_LEVEL_3' in predicate.properties", readJson(shared('intoto-examples/svr-1.json'))), true);
  t.equal(run("'SLSA_BUILD_LEVEL_3' in predicate.properties", readJson(shared('intoto-examples/svr-2.json'))), false);
  t.equal(run("predicate.result == 'PASSED'", readJson(shared('intoto-examples/test-result-1.json'))), true);
  t.equal(run("predicate.purl.startsWith('pkg:npm/')", readJson(shared('intoto-examples/release-1.json'))), true);
  t.equal(
    run(
      "timestamp(predicate.timeCreated) < timestamp('2000-01-01T00:00:00Z')",
      readJson(shared('intoto-examples/svr-1.json')),
    ),
    true,
  );
});

t.test('numbers from JSON are doubles; comparisons work for int-valued and fractional numbers', async (t) => {
  const st = (x: unknown) => statement('x', { x });
  t.equal(run('predicate.x > 3', st(3)), false);
  t.equal(run('predicate.x > 3', st(3.5)), true);
  t.equal(run('predicate.x > 3', st(4)), true);
  t.equal(run('predicate.x >= 3 && predicate.x <= 3', st(3)), true);
  t.equal(run('predicate.x == 3', st(3)), true);
  t.equal(run('predicate.x != 3', st(3.5)), true);
  t.equal(run('predicate.x in [1, 2, 3]', st(3)), true);
  t.equal(run('predicate.x > 2.5', st(3)), true);
  t.equal(run('int(predicate.x) + 1 == 4', st(3)), true);
  t.equal(run('predicate.x + 1.0 == 4.5', st(3.5)), true);
  const e = thrown(() => run('predicate.x + 1 == 4', st(3)));
  t.equal(e.code, 'CONDITION_FAILED');
  t.match(e.message, /no matching overload/);
  // a bigint is an int
  t.equal(compileCel('x + 1 == 4', { variables: ['x'] }).evaluateBool({ x: 3n }), true);
});

t.test('image and signer variables, custom variables', async (t) => {
  const st = statement('x', {});
  const vars = getAttestationVariables({
    statement: st,
    now: NOW,
    image: { registry: 'ghcr.io', repository: 'org/app', digest: 'sha256:abc' },
    signer: {
      identity: 'https://github.com/org/app/.github/workflows/release.yml@refs/tags/v1',
      issuer: 'https://token.actions.githubusercontent.com',
      extensions: { githubWorkflowRepository: 'org/app' },
    },
  });
  t.same(Object.keys(vars).sort(), [...ATTESTATION_VARIABLES].sort());
  t.equal(
    compileCel("image.registry == 'ghcr.io' && image.tag == '' && image.digest.startsWith('sha256:')").evaluateBool(
      vars,
    ),
    true,
  );
  t.equal(
    compileCel(
      "signer.issuer == 'https://token.actions.githubusercontent.com' && signer.extensions.githubWorkflowRepository == 'org/app'",
    ).evaluateBool(vars),
    true,
  );
  t.equal(
    compileCel("signer.identity.matches('^https://github.com/org/.*@refs/tags/v[0-9]+$')").evaluateBool(vars),
    true,
  );
  t.equal(compileCel("now == timestamp('2024-03-02T00:00:00Z')").evaluateBool(vars), true);
  t.equal(
    compileCel('object.kind == "Pod"', { variables: ['object'] }).evaluateBool({ object: { kind: 'Pod' } }),
    true,
  );
});

t.test('compile errors carry the expression and the position', async (t) => {
  let e = thrown(() => compileCel('predicate.x >'));
  t.ok(isSigwardError(e));
  t.equal(e.code, 'CONDITION_INVALID');
  t.equal(e.outcome, 'usage');
  t.match(e.message, /invalid CEL expression "predicate\.x >"/);
  t.equal(e.detail.expression, 'predicate.x >');
  t.equal(e.detail.line, 1);
  t.type(e.detail.column, 'number');

  e = thrown(() => compileCel("predicat.builder.id == 'x'"));
  t.equal(e.code, 'CONDITION_INVALID');
  t.match(e.message, /undeclared reference to 'predicat' at line 1, column 1/);

  e = thrown(() => compileCel("predicate.x &&\n  predicate.y.startswith('a')"));
  t.match(e.message, /undeclared reference to function 'startswith' at line 2, column 14/);
  t.match(e.detail.snippet, /\^/);

  e = thrown(() => compileCel('   '));
  t.equal(e.code, 'CONDITION_INVALID');

  // a variable that is not declared for this expression
  e = thrown(() => compileCel('object.kind == "Pod"'));
  t.match(e.message, /undeclared reference to 'object'/);
  // comprehension variables are in scope
  t.ok(compileCel('predicate.items.all(i, i.ok) && predicate.m.exists(k, k == "a")'));
});

t.test('evaluation errors and non-bool results', async (t) => {
  const st = statement('x', { a: 'text' });
  let e = thrown(() => run('predicate.missing == 1', st));
  t.equal(e.code, 'CONDITION_FAILED');
  t.equal(e.outcome, 'deny');
  t.match(e.message, /CEL expression "predicate\.missing == 1" failed/);
  e = thrown(() => run('predicate.a', st));
  t.equal(e.code, 'CONDITION_FAILED');
  t.match(e.message, /expression must evaluate to bool, got string/);
  t.equal(compileCel('predicate.a').evaluate(getAttestationVariables({ statement: st, now: NOW })), 'text');
});

t.test('matches(): Go RE2 regular expressions, linear time', async (t) => {
  const ev = (expr: string, vars: Record<string, unknown>) =>
    compileCel(expr, { variables: Object.keys(vars) }).evaluate(vars);
  const label = 'a'.repeat(30) + '!';
  const started = performance.now();
  t.equal(ev("l.matches('^([a-z0-9]+[-_.]?)+$')", { l: label }), false);
  t.equal(ev("matches(l, '^([a-z0-9]+[-_.]?)+$')", { l: 'a'.repeat(63) + '!' }), false, 'global form');
  t.ok(performance.now() - started < 500, 'catastrophic pattern for a backtracking engine: fast');
  t.equal(ev("l.matches('^a.c$')", { l: 'a\rc' }), true, '. matches \\r as in Go');
  t.equal(ev("l.matches('\\\\Qa.b\\\\E')", { l: 'xa.by' }), true, 'Go syntax \\Q..\\E');
  // a constant pattern Go refuses fails when the expression is compiled (as in cel-go), naming Go's error
  let e = thrown(() => compileCel("'aa'.matches('(a)\\\\1')"));
  t.equal(e.code, 'CONDITION_INVALID');
  t.match(e.message, /invalid regular expression in matches\(\): error parsing regexp: invalid escape sequence/);
  e = thrown(() => compileCel("matches('ab', 'a(?=b)')"));
  t.match(e.message, /invalid or unsupported Perl syntax/);
  // Kubernetes' find / findAll: Go's FindString / FindAllString on the same engine
  const started2 = performance.now();
  t.equal(
    ev("l.find('(a|a)+b|!b')", { l: 'a'.repeat(30) + '!b' }),
    '!b',
    'a catastrophic alternative before the match: fast',
  );
  t.same(ev("l.findAll('(a|a)+b|!b')", { l: ('a'.repeat(30) + '!b').repeat(3) }), ['!b', '!b', '!b']);
  t.ok(performance.now() - started2 < 500, 'find/findAll in linear time');
  t.same(ev("l.findAll('a*')", { l: 'baaac' }), ['', 'aaa', ''], 'Go skips an empty match right after a match');
  t.same(ev("l.findAll('a*', 2)", { l: 'baaac' }), ['', 'aaa']);
  e = thrown(() => compileCel("'x'.find('(?=a)')"));
  t.equal(e.code, 'CONDITION_INVALID', 'find with a constant pattern Go refuses: refused when compiled');
  t.match(e.message, /invalid regular expression in find\(\)/);
  // a pattern that only exists at evaluation is an evaluation error, never a match
  e = thrown(() => compileCel('l.matches(p)', { variables: ['l', 'p'] }).evaluateBool({ l: 'aa', p: '(a)\\1' }));
  t.equal(e.code, 'CONDITION_FAILED');
  t.match(e.message, /error parsing regexp/);
});

t.test('values in and out follow the CEL value model', async (t) => {
  const ev = (expr: string, vars: Record<string, unknown> = {}) =>
    compileCel(expr, { variables: Object.keys(vars) }).evaluate(vars);
  const m = ev("{1: 'a', 'k': [1u, 2.0, b'ab']}") as Map<unknown, unknown>;
  t.ok(m instanceof Map);
  t.equal(m.get(1n), 'a');
  const list = m.get('k') as unknown[];
  t.ok(list[0] instanceof CelUint);
  t.equal((list[0] as CelUint).value, 1n);
  t.equal(list[1], 2);
  t.same(list[2], new Uint8Array([97, 98]));
  const d = ev("duration('1h30m')") as CelDuration;
  t.ok(d instanceof CelDuration);
  t.equal(d.seconds, 5400n);
  const ts = ev("timestamp('2024-01-01T00:00:00.5Z')") as CelTimestamp;
  t.ok(ts instanceof CelTimestamp);
  t.equal(ts.nanos, 500_000_000);
  t.equal(ts.toString(), '2024-01-01T00:00:00.5Z');
  t.same(ev('type(1)'), new CelTypeValue('int'));
  t.equal(ev('t > timestamp("2020-01-01T00:00:00Z")', { t: new Date('2021-01-01T00:00:00Z') }), true);
  t.equal(ev('u == 5u', { u: new CelUint(5n) }), true);
  t.equal(ev('d == duration("2s")', { d: new CelDuration(2n) }), true);
  t.equal(ev('m[1u] == "x"', { m: new Map([[new CelUint(1n), 'x']]) }), true);
  t.equal(ev('has(o.a) && !has(o.b)', { o: { a: 1, b: undefined } }), true);
});

t.test('compile cache: same expression returns the cached program; bounded LRU', async (t) => {
  resetCelCache(3);
  t.teardown(() => resetCelCache());
  const a = compileCel('predicate.a == 1');
  t.equal(compileCel('predicate.a == 1'), a);
  t.not(compileCel('predicate.a == 1', { variables: ['predicate'] }), a, 'keyed by the variable list too');
  compileCel('predicate.b == 1');
  t.equal(compileCel('predicate.a == 1'), a, 'a hit refreshes the entry');
  compileCel('predicate.c == 1');
  compileCel('predicate.d == 1');
  t.equal(getCelCacheSize(), 3);
  t.not(compileCel('predicate.b == 1'), undefined);
  const b1 = compileCel('predicate.x == 1');
  for (const x of ['e', 'f', 'g']) compileCel(`predicate.${x} == 1`);
  t.not(compileCel('predicate.x == 1'), b1, 'the least recently used entry was evicted');
  t.ok(getCelCacheSize() <= 3);
});

t.test('semantics found by comparing engines on generated expressions', async (t) => {
  const ev = (expr: string, vars: Record<string, unknown> = {}) =>
    compileCel(expr, { variables: Object.keys(vars) }).evaluate(vars);
  t.equal(ev('!!-5'), -5n, 'a signed literal after !');
  t.equal(ev('-(-5)'), 5n);
  t.equal(ev('has(m.a)', { m: { a: null } }), true, 'a key present with a null value is present');
  t.equal(ev('timestamp(3) == timestamp("1970-01-01T00:00:03Z")'), true, 'timestamp(int) counts seconds');
  t.equal(thrown(() => ev('double("a")')).code, 'CONDITION_FAILED', 'an unparsable double is an error, not null');
  t.equal(
    thrown(() => ev('has(s.a)', { s: 'text' })).code,
    'CONDITION_FAILED',
    'has() on a string is an error, not false',
  );
});
