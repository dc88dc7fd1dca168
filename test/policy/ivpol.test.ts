// ImageValidatingPolicy (Kyverno) and ImagePolicy (sigward.dev/v1alpha1).

import t from 'tap';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type ImageValidatingPolicy, parsePolicies } from '../../lib/policy/index.ts';
import { brief, errorsOf, indent, noSecrets, TEST_KEY, TESTDATA } from './helpers.ts';

const nativeText = readFileSync(join(TESTDATA, 'native', 'image-policy.yaml'), 'utf8');

function parse(text: string, builtinRules?: string[]) {
  return parsePolicies(text, { file: 'p.yaml', resolveSecret: noSecrets, ...(builtinRules ? { builtinRules } : {}) });
}
const errs = (text: string, builtinRules?: string[]): string[] =>
  errorsOf(parse(text, builtinRules).diagnostics).map(brief);

t.test('native ImagePolicy loads with every section typed', async (t) => {
  const r = parse(nativeText, ['max-critical-vulnerabilities']);
  t.same(errorsOf(r.diagnostics), []);
  const p = r.policies[0] as ImageValidatingPolicy;
  t.equal(p.format, 'sigward');
  t.equal(p.kind, 'ImagePolicy');
  t.same(p.spec.validationActions, ['Deny']);
  t.equal(p.spec.failurePolicy, 'Ignore');
  t.equal(p.spec.timeoutSeconds, 15);
  t.same(p.spec.matchImageReferences, [{ glob: 'ghcr.io/org/*' }, {
    expression: "parseImageReference(ref).registry() == 'registry.example.com'",
  }]);
  t.same(p.spec.validationConfigurations, { mutateDigest: false, verifyDigest: true, required: true });
  const [key, github, pki] = p.spec.attestors;
  t.equal(key!.name, 'release-key');
  t.equal(key!.cosign?.key?.source?.kind, 'pem');
  t.equal(key!.cosign?.key?.hashAlgorithm, 'sha256');
  t.same(key!.cosign?.ctlog, { insecureIgnoreTlog: true, insecureIgnoreSCT: false });
  t.same(key!.cosign?.source, { repository: 'ghcr.io/org/signatures', pullSecrets: [] });
  t.same(github!.cosign?.keyless?.identities, [
    {
      subjectRegExp: '^https://github.com/org/.*/\\.github/workflows/release\\.yml@refs/tags/v.*$',
      issuer: 'https://token.actions.githubusercontent.com',
    },
  ]);
  t.same(github!.cosign?.annotations, { team: 'platform' });
  t.match(
    pki!.cosign?.certificate?.certChain?.value,
    /^-----BEGIN CERTIFICATE-----/,
    'plain string accepted in the native form',
  );
  t.same(p.spec.attestations, [{
    name: 'sbom',
    path: 'spec.attestations[0]',
    intoto: { type: 'https://cyclonedx.org/bom' },
  }]);
  t.equal(p.spec.validations[0]!.message, 'images must be signed by the release key or the release workflow');
  t.same(p.spec.rules, [{ path: 'spec.rules[0]', name: 'max-critical-vulnerabilities', params: { max: 0 } }]);
});

t.test('built-in rule names are checked when the list is given', async (t) => {
  t.same(errs(nativeText, ['max-critical-vulnerability', 'slsa-provenance']), [
    '54:13 spec.rules[0].name: unknown rule "max-critical-vulnerabilities" (did you mean "max-critical-vulnerability"?)',
  ]);
  t.same(errs(nativeText), [], 'no list: not checked');
});

const ivpol = (spec: string, kind = 'ImageValidatingPolicy', apiVersion = 'policies.kyverno.io/v1beta1') =>
  `apiVersion: ${apiVersion}
kind: ${kind}
metadata:
  name: iv
spec:
${spec}`;

t.test('ImageValidatingPolicy checks', async (t) => {
  const base = `  attestors:
    - name: a
      cosign:
        key:
          data: |
            ${indent(TEST_KEY, 12)}
  validations:
    - expression: "true"`;
  const ok = parse(ivpol(base));
  t.same(errorsOf(ok.diagnostics), []);
  const p = ok.policies[0] as ImageValidatingPolicy;
  t.same(p.spec.validationConfigurations, { mutateDigest: true, verifyDigest: true, required: true }, 'defaults');
  t.same(p.spec.evaluation, { admission: true, background: true, mode: 'Kubernetes' });
  t.equal(p.spec.failurePolicy, 'Fail');
  t.same(p.spec.matchImageReferences, [], 'empty: everything matches');

  t.same(errs(ivpol(`  validationActions: [Deny, Warn]\n${base}`)), [
    '6:22 spec.validationActions: must not contain both Deny and Warn',
  ]);
  t.same(errs(ivpol(`  matchImageReferences:\n    - {glob: "a/*", expression: "true"}\n${base}`)), [
    '7:7 spec.matchImageReferences[0]: exactly one of glob or expression must be set',
  ]);
  t.same(errs(ivpol('  attestors:\n    - name: a\n      cosign: {}\n  validations: [{expression: "true"}]')), [
    '8:15 spec.attestors[0].cosign: exactly one of key, keyless or certificate must be set',
  ]);
  t.same(
    errs(
      ivpol(
        '  attestors:\n    - name: a\n      cosign:\n        key: {data: x, kms: "gcpkms://k"}\n  validations: [{expression: "true"}]',
      ),
    ),
    [
      '9:14 spec.attestors[0].cosign.key: exactly one of data, kms or expression must be set',
    ],
  );
  t.same(
    errs(
      ivpol(
        `${base}\n    - name: a\n      cosign: {keyless: {identities: [{subject: s, issuer: i}]}}`.replace(
          '  validations:\n    - expression: "true"\n',
          '',
        ) + '\n  validations: [{expression: "true"}]',
      ),
    ),
    [
      '15:13 spec.attestors[1].name: Duplicate value: "a"',
    ],
  );
  t.match(
    errs(
      ivpol(
        `${base}\n    - name: b\n      cosign: {keyless: {identities: [{subjectRegExp: "(a)\\\\1", issuer: i}, {subject: s, issuerRegExp: "(?=x)"}]}}`
          .replace('  validations:\n    - expression: "true"\n', '') + '\n  validations: [{expression: "true"}]',
      ),
    ),
    [
      /spec\.attestors\[1\]\.cosign\.keyless\.identities\[0\]\.subjectRegExp: error parsing regexp: invalid escape sequence/,
      /spec\.attestors\[1\]\.cosign\.keyless\.identities\[1\]\.issuerRegExp: error parsing regexp: invalid or unsupported Perl syntax/,
    ],
  );
  t.same(errs(ivpol('  attestors: []')), ['6:3 spec.validations: Required value: at least one validation is required']);
  t.same(errs(ivpol(`  webhookConfiguration: {timeoutSeconds: 0}\n${base}`)), [
    '6:42 spec.webhookConfiguration.timeoutSeconds: Invalid value: 0: the timeout value must be between 1 and 30 seconds',
  ]);
  t.same(errs(ivpol(`  attestations: [{name: x}]\n${base}`)), [
    '6:18 spec.attestations[0]: exactly one of intoto or referrer must be set',
  ]);
  t.same(errs(ivpol(`  atestors: []\n${base}`)), ['6:3 unknown field "spec.atestors" (did you mean "attestors"?)']);
  t.same(errs(ivpol(base, 'ImagePolicy', 'sigward.dev/v1alpha1')), [], 'native with validations only');
  t.same(errs(ivpol('  attestors: []', 'ImagePolicy', 'sigward.dev/v1alpha1')), [
    '6:3 spec: at least one of validations or rules is required',
  ]);
  t.same(
    errs(ivpol(`  rules: []\n${base}`)),
    ['6:3 unknown field "spec.rules"'],
    'rules belong to the native form only',
  );
  const ns = parse(
    ivpol(base, 'NamespacedImageValidatingPolicy').replace('  name: iv', '  name: iv\n  namespace: team-a'),
  );
  t.equal(ns.policies[0]!.metadata.namespace, 'team-a');
});

t.test('CEL expressions are compiled when the policy loads: what cannot be answered offline is an error naming the function', async (t) => {
  const policy = (validation: string, extra = '') =>
    ivpol(`  attestors:
    - name: a
      cosign:
        key:
          data: |
            ${indent(TEST_KEY, 12)}
${extra}  validations:
    - expression: ${JSON.stringify(validation)}`);
  const one = (text: string) => {
    const e = errs(text);
    t.equal(e.length, 1, e.join('\n'));
    return e[0] ?? '';
  };
  t.match(
    one(policy("http.Get('https://allow.example.com/?img=' + images.containers[0]).allowed")),
    /spec\.validations\[0\]\.expression: invalid CEL expression .*function 'http\.Get' is not available: sigward evaluates policies offline/,
  );
  t.match(
    one(policy("resource.Get('v1', 'configmaps', 'kyverno', 'registries').data.allowed == 'true'")),
    /function 'resource\.Get' is not available: sigward does not read live cluster resources/,
  );
  t.match(
    one(policy("globalContext.Get('registries', '').size() > 0")),
    /function 'globalContext\.Get' is not available/,
  );
  t.match(
    one(policy('images.containers.all(i, verifyImageSignatures(i, [attestors.a]) > 0) && objec.metadata.name != ""')),
    /undeclared reference to 'objec'/,
  );
  t.match(
    one(policy('true', '  matchConditions:\n    - name: m\n      expression: "images.containers.size() > 0"\n')),
    /spec\.matchConditions\[0\]\.expression: .*undeclared reference to 'images'/,
    'matchConditions see only object, oldObject, request, namespaceObject',
  );
  t.same(
    errs(
      policy(
        "images.containers.all(i, verifyImageSignatures(i, [attestors.a]) > 0) && json.unmarshal('{}') == {} && object.metadata.?labels.orValue({}).size() >= 0",
      ),
    ),
    [],
    'the offline libraries compile',
  );
});

t.test('ivpol KMS key: unresolved, with the ivpol hint', async (t) => {
  const r = parse(
    ivpol(
      '  attestors:\n    - name: a\n      cosign:\n        key: {kms: "awskms:///alias/k"}\n  validations: [{expression: "true"}]',
    ),
  );
  const p = r.policies[0] as ImageValidatingPolicy;
  t.same(p.spec.attestors[0]!.cosign?.key?.source, {
    kind: 'kms',
    uri: 'awskms:///alias/k',
    provider: 'awskms',
    unresolved: 'KMS key awskms:///alias/k cannot be used offline: provide the public key with key.data',
  });
  t.ok(r.diagnostics.some((d) => d.severity === 'warning' && d.line === 9));
});
