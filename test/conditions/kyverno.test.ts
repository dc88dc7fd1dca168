import t from 'tap';
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { compileKyvernoConditions, getKyvernoConditionContext } from '../../lib/conditions/kyverno.ts';
import type { KyvernoConditionBlock } from '../../lib/conditions/kyverno.ts';

const shared = (p: string) => new URL(`../../../shared/testvectors/${p}`, import.meta.url);
const local = (p: string) => new URL(`../../testdata/conditions/${p}`, import.meta.url);
const readJson = (u: URL): any => JSON.parse(readFileSync(u, 'utf8'));

interface Attestation {
  where: string;
  predicateType: string;
  conditions: unknown;
}

/** Every attestation with conditions in a Kyverno policy file. */
function attestationsOf(file: URL): Attestation[] {
  const policy = parseYaml(readFileSync(file, 'utf8'));
  const out: Attestation[] = [];
  for (const rule of policy.spec.rules ?? []) {
    for (const vi of rule.verifyImages ?? []) {
      (vi.attestations ?? []).forEach((a: any, i: number) => {
        if (a.conditions) {
          out.push({
            where: `${policy.metadata.name}/${rule.name}/attestations[${i}]`,
            predicateType: a.predicateType ?? a.type,
            conditions: a.conditions,
          });
        }
      });
    }
  }
  return out;
}

function evaluate(
  conditions: unknown,
  predicate: unknown,
  now = new Date('2024-03-05T00:00:00Z'),
  vars: Record<string, unknown> = {},
) {
  return compileKyvernoConditions(conditions, { where: 'test' }).evaluate(getKyvernoConditionContext(predicate, vars), {
    now,
  });
}

function thrown(fn: () => unknown): any {
  try {
    fn();
  } catch (e) {
    return e;
  }
  throw new Error('expected an error');
}

t.test('policy library: every attestation conditions block passes a matching predicate and fails a mutated one', async (t) => {
  const dir = 'kyverno-policies/';
  const cases: { file: string; pass: unknown[]; fail: unknown[]; now?: Date }[] = [];

  // scans not older than one week: time_since('', '{{metadata.scanFinishedOn}}', '') <= 168h
  const scan = readJson(local('vuln-scan.json'));
  const oldScan = structuredClone(scan);
  oldScan.metadata.scanFinishedOn = '2024-02-01T00:00:00Z';
  cases.push({ file: 'require-vulnerability-scan.yaml', pass: [scan], fail: [oldScan, { metadata: {} }] });

  // CVE-2022-42889: no commons-text 1.5-1.9 in a CycloneDX SBOM
  const bom = readJson(local('cyclonedx-sbom.json'));
  const vulnerable = structuredClone(bom);
  vulnerable.components[0].version = '1.9';
  cases.push({
    file: 'verify-image-cve-2022-42889.yaml',
    pass: [bom, readJson(shared('predicates/bom-go-mod.cyclonedx.json'))],
    fail: [vulnerable],
  });

  // SLSA provenance from the official generator, tagged vX.Y.Z
  const slsa = readJson(local('slsa-v02-container.json'));
  const otherBuilder = structuredClone(slsa);
  otherBuilder.builder.id =
    'https://github.com/evil/slsa-github-generator/.github/workflows/generator_container_slsa3.yml@refs/tags/v1.9.0';
  const untagged = structuredClone(slsa);
  untagged.builder.id = untagged.builder.id.replace('refs/tags/v1.9.0', 'refs/heads/main');
  const npmProvenance = JSON.parse(
    Buffer.from(readJson(shared('sigstore-bundles/dsse.sigstore.json')).dsseEnvelope.payload, 'base64').toString(),
  ).predicate;
  cases.push({ file: 'verify-image-slsa.yaml', pass: [slsa], fail: [otherBuilder, untagged, npmProvenance] });

  // CycloneDX wrapped by cosign's old predicate ({Data: <bom>})
  cases.push({
    file: 'verify-sbom-cyclonedx.yaml',
    pass: [{ Data: bom, Timestamp: '2024-03-01T10:00:00Z' }],
    fail: [{ Data: { ...bom, bomFormat: 'SPDX' } }, bom],
  });

  // Grype scan in a Tekton TaskRun: impactScore > '8.0' (a raw string, so JMESPath never orders it
  // against a number: the count is always 0) OR the known test image
  const grype = readJson(local('grype-scan.json'));
  const otherImage = structuredClone(grype);
  otherImage.source.target.userInput = 'ghcr.io/evil/image:latest';
  cases.push({
    file: 'verify-tekton-taskrun-vuln-scan.yaml',
    pass: [grype, otherImage],
    fail: [{ source: grype.source }],
  });

  for (const c of cases) {
    const atts = attestationsOf(shared(dir + c.file));
    t.ok(atts.length > 0, `${c.file} has attestation conditions`);
    for (const a of atts) {
      const compiled = compileKyvernoConditions(a.conditions, { where: a.where });
      for (const [i, p] of c.pass.entries()) {
        const r = compiled.evaluate(getKyvernoConditionContext(p), { now: c.now ?? new Date('2024-03-05T00:00:00Z') });
        t.same(r, { passed: true, failures: [] }, `${a.where}: matching predicate #${i} passes`);
      }
      for (const [i, p] of c.fail.entries()) {
        const r = compiled.evaluate(getKyvernoConditionContext(p), { now: c.now ?? new Date('2024-03-05T00:00:00Z') });
        t.equal(r.passed, false, `${a.where}: mutated predicate #${i} fails`);
        t.ok(r.failures.length > 0, 'with a reason');
      }
    }
  }

  // the testvector vuln predicate, scanned the day before
  const [scanAtt] = attestationsOf(shared(dir + 'require-vulnerability-scan.yaml'));
  t.equal(
    evaluate(scanAtt.conditions, readJson(shared('predicates/vuln-predicate.json')), new Date('2022-04-13T00:00:00Z'))
      .passed,
    true,
  );
  t.equal(
    evaluate(scanAtt.conditions, readJson(shared('predicates/vuln-predicate.json')), new Date('2022-05-13T00:00:00Z'))
      .passed,
    false,
  );

  // every policy of the library loads (those without conditions trivially)
  for (
    const f of [
      'verify-flux-images.yaml',
      'verify-image-gcpkms.yaml',
      'verify-image-with-multi-keys.yaml',
      'verify-image.yaml',
      'verify-tekton-pipeline-bundle-signatures.yaml',
      'verify-tekton-taskrun-signatures.yaml',
    ]
  ) {
    t.same(attestationsOf(shared(dir + f)), [], `${f} has no attestation conditions`);
  }
});

t.test('the code-review example of the verify-images guide (deprecated In)', async (t) => {
  const conditions = [
    {
      all: [
        { key: '{{ repo.uri }}', operator: 'Equals', value: 'https://git-repo.com/org/app' },
        { key: '{{ repo.branch }}', operator: 'Equals', value: 'main' },
        { key: '{{ reviewers }}', operator: 'In', value: ['ana@example.com', 'bob@example.com'] },
      ],
    },
  ];
  const review = readJson(local('code-review.json'));
  const compiled = compileKyvernoConditions(conditions, { where: 'attest-code-review/attest/attestations[0]' });
  t.match(compiled.warnings, [/operator In is deprecated, use AllIn or AnyIn/]);
  t.same(compiled.evaluate(getKyvernoConditionContext(review), { now: new Date() }), { passed: true, failures: [] });
  const devBranch = { ...review, repo: { ...review.repo, branch: 'dev' } };
  const r = compiled.evaluate(getKyvernoConditionContext(devBranch), { now: new Date() });
  t.equal(r.passed, false);
  t.match(r.failures[0], /repo\.branch.*Equals "main".*"dev"/);
  t.equal(evaluate(conditions, { ...review, reviewers: ['mallory@example.com'] }).passed, false);
});

t.test('variable substitution', async (t) => {
  const pred = { a: { b: 1, s: 'x', o: { k: 'v' } }, list: ['p', 'q'], n: 0 };
  const ok = (key: unknown, operator: string, value: unknown, p: unknown = pred, vars: Record<string, unknown> = {}) =>
    evaluate([{ all: [{ key, operator, value }] }], p, undefined, vars).passed;
  t.equal(ok('{{ a.b }}', 'Equals', 1), true, 'a lone variable keeps its type (number)');
  t.equal(ok('{{ a.b }}', 'GreaterThan', 0), true);
  t.equal(ok('{{a.o}}', 'Equals', { k: 'v' }), true, 'objects keep their type');
  t.equal(ok('{{ list }}', 'AllIn', ['p', 'q', 'r']), true, 'lists keep their type');
  t.equal(ok('id-{{ a.b }}', 'Equals', 'id-1'), true, 'embedded values are stringified');
  t.equal(ok('{{ a.s }}-{{ a.o }}', 'Equals', 'x-{"k":"v"}'), true, 'embedded objects as JSON');
  t.equal(ok('{{a.s}}{{a.s}}', 'Equals', 'xx'), true, 'adjacent variables');
  t.equal(ok("{{ to_upper('{{ a.s }}') }}", 'Equals', 'X'), true, 'nested variables are substituted innermost first');
  t.equal(
    ok("{{ regex_match('^[0-9]$', '{{ a.b }}') }}", 'Equals', true),
    true,
    'the outer result keeps its type (bool)',
  );
  t.equal(ok('\\{{ a.b }}', 'Equals', '\\{{ a.b }}'), true, 'an escaped variable is literal');
  t.equal(ok('\\{{ a.b }}', 'Equals', '{{ a.b }}'), false, 'an unescaped value is substituted');
  t.equal(ok('{{ a.b }}', 'Equals', '{{ a.b }}'), true, 'the value is substituted too');
  t.equal(ok('{{ a.s }}', 'AnyIn', ['{{ a.s }}', 'y']), true, 'inside lists');
  t.equal(
    ok('{{ image.registry }}', 'Equals', 'ghcr.io', pred, { image: { registry: 'ghcr.io' } }),
    true,
    'variables passed in',
  );
  t.equal(ok('{{ a }}', 'Equals', 'mine', pred, { a: 'mine' }), true, 'variables passed in win over predicate fields');
  t.equal(ok('{{ n }}', 'Equals', 0), true, 'zero is a value, not a missing variable');
  t.equal(ok('{{ time_now_utc() }}', 'Equals', '2024-03-05T00:00:00Z'), true, 'the clock is injected');
  t.equal(ok('plain', 'Equals', 'pl*'), true, 'no variables at all');
});

t.test('any / all blocks', async (t) => {
  const pred = { a: 1, b: 2 };
  const yes = { key: '{{ a }}', operator: 'Equals', value: 1 };
  const no = { key: '{{ b }}', operator: 'Equals', value: 1, message: 'b must be 1' };
  const run = (conditions: KyvernoConditionBlock[]) => evaluate(conditions, pred);
  t.same(run([{ any: [no, yes] }]), { passed: true, failures: [] });
  t.same(run([{ all: [yes, yes] }]), { passed: true, failures: [] });
  t.same(run([{ all: [yes, no] }]), { passed: false, failures: ['b must be 1'] });
  t.same(run([{ any: [no, no] }]), {
    passed: false,
    failures: ['none of the "any" conditions passed: b must be 1; b must be 1'],
  });
  t.same(
    run([{ any: [yes], all: [no] }]),
    { passed: false, failures: ['b must be 1'] },
    'any and all in one block are ANDed',
  );
  t.same(run([{ any: [yes] }, { all: [no] }]), { passed: false, failures: ['b must be 1'] }, 'blocks are ANDed');
  t.same(run([]), { passed: true, failures: [] });
  t.same(run([{}]), { passed: true, failures: [] });
  t.same(compileKyvernoConditions(null).evaluate({}, { now: new Date() }), { passed: true, failures: [] });
});

t.test('evaluation errors are failures with the reason, and never pass', async (t) => {
  const pred = { repo: { uri: 'https://x' } };
  let r = evaluate([{ all: [{ key: '{{ repo.nope }}', operator: 'Equals', value: 'x' }] }], pred);
  t.equal(r.passed, false);
  t.match(
    r.failures[0],
    /test\.conditions\[0\]\.all\[0\]: failed to substitute variables in condition key: failed to resolve repo\.nope: Unknown key "nope" in path/,
  );
  // an error in an "any" block is not rescued by a later condition that holds
  r = evaluate([{
    any: [{ key: '{{ nope }}', operator: 'Equals', value: 'x' }, { key: 'a', operator: 'Equals', value: 'a' }],
  }], pred);
  t.equal(r.passed, false, 'an error is not rescued by a later condition of the "any" block');
  t.equal(r.failures.length, 1);
  t.match(r.failures[0], /Unknown key "nope"/);
  r = evaluate([{
    any: [{ key: 'a', operator: 'Equals', value: 'b' }, { key: '{{ nope }}', operator: 'Equals', value: 'x' }],
  }], pred);
  t.equal(r.passed, false);
  r = evaluate([{ any: [{ key: '{{ nope }}', operator: 'Equals', value: 'x' }] }, {
    all: [{ key: 'a', operator: 'Equals', value: 'a' }],
  }], pred);
  t.equal(r.passed, false);
  r = evaluate([{ all: [{ key: 'x', operator: 'Equals', value: '{{ divide(`1`, `0`) }}' }] }], pred);
  t.match(r.failures[0], /condition value: .*Zero divisor passed/);
  r = evaluate(
    [{ all: [{ key: "{{ time_since('', '{{ repo.uri }}', '') }}", operator: 'LessThan', value: '1h' }] }],
    pred,
  );
  t.match(r.failures[0], /time_since/);
  t.equal(r.passed, false);
});

t.test('compile errors name the location and the expression', async (t) => {
  const bad = (conditions: unknown) =>
    thrown(() => compileKyvernoConditions(conditions, { where: 'pol/rule/attestations[0]' }));
  let e = bad([{ all: [{ key: '{{ a }}', operator: 'Equalz', value: 1 }] }]);
  t.equal(e.code, 'CONDITION_INVALID');
  t.equal(e.outcome, 'usage');
  t.match(
    e.message,
    /invalid condition at pol\/rule\/attestations\[0\]\.conditions\[0\]\.all\[0\]\.operator: unknown operator "Equalz"/,
  );
  e = bad([{ all: [{ key: '{{ a[? }}', operator: 'Equals', value: 1 }] }]);
  t.match(e.message, /conditions\[0\]\.all\[0\]\.key: invalid JMESPath expression "a\[\?"/);
  t.equal(e.detail.expression, 'a[?');
  e = bad([{ any: [{ key: 'x', operator: 'Equals', value: ['{{ to_uper(a) }}'] }] }]);
  t.match(e.message, /conditions\[0\]\.any\[0\]\.value\[0\]: .*unknown function: to_uper\(\)/);
  e = bad([{ all: [{ key: "{{ time_since('', a) }}", operator: 'Equals', value: 1 }] }]);
  t.match(e.message, /expects 3 argument/);
  e = bad([{ key: '{{ a }}', operator: 'Equals', value: 1 }]);
  t.match(e.message, /attestations\[0\]\.conditions\[0\]: unknown field "key"/);
  e = bad({ all: [] });
  t.match(e.message, /must be a list/);
  e = bad([{ all: { key: 'a' } }]);
  t.match(e.message, /"all" must be a list/);
  e = bad([{ all: [{ operator: 'Equals', value: 1 }] }]);
  t.match(e.message, /missing "key"/);
  e = bad([{ all: [{ key: '{{  }}', operator: 'Equals', value: 1 }] }]);
  t.match(e.message, /empty variable/);
  // nested variables are checked where they can be: the inner one now, the outer one when evaluated
  t.ok(
    compileKyvernoConditions([{
      all: [{
        key: "{{ time_since('','{{metadata.scanFinishedOn}}','') }}",
        operator: 'LessThanOrEquals',
        value: '168h',
      }],
    }]),
  );
  e = bad([{ all: [{ key: "{{ time_since('','{{metadata[}}','') }}", operator: 'LessThanOrEquals', value: '168h' }] }]);
  t.match(e.message, /invalid JMESPath expression "metadata\["/);
});

t.test('default failure messages say what was compared', async (t) => {
  const r = evaluate([{
    all: [{ key: '{{ components[?name==`"commons-text"`].version }}', operator: 'AllNotIn', value: ['1.8'] }],
  }], { components: [{ name: 'commons-text', version: '1.8' }] });
  t.equal(r.passed, false);
  t.match(r.failures[0], /AllNotIn \["1\.8"\] is false \(key resolved to \["1\.8"\]\)/);
});
