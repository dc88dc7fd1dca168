// Fingerprints: stable over formatting and position, sensitive to meaning.

import t from 'tap';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { canonicalJSON, getPolicyFingerprints, loadPolicies, type Policy } from '../../lib/policy/index.ts';
import { indent, noSecrets, OTHER_KEY, policyWith, TEST_KEY, TESTDATA, VECTORS } from './helpers.ts';

const load = (text: string, resolveSecret = noSecrets): Policy => loadPolicies(text, { resolveSecret }).policies[0]!;
const fp = (text: string, resolveSecret = noSecrets): string[] =>
  getPolicyFingerprints(load(text, resolveSecret)).map((f) => f.fingerprint);

const entry = (pem: string, extra = '') =>
  `imageReferences: ["ghcr.io/org/*"]${extra}
          attestors:
            - entries:
                - keys:
                    publicKeys: |-
                      ${indent(pem, 22)}`;

t.test('canonical JSON', async (t) => {
  t.equal(canonicalJSON({ b: 1, a: [2, { d: undefined, c: 'x' }] }), '{"a":[2,{"c":"x"}],"b":1}');
  t.equal(
    canonicalJSON({ path: 'spec.rules[0]', keyIndex: 1, keep: { path: '/spec/x/*' }, source: { kind: 'pem' } }),
    '{"keep":{"path":"/spec/x/*"},"source":{"kind":"pem"}}',
  );
});

t.test('same meaning, different text: same fingerprint', async (t) => {
  const a = fp(policyWith(entry(TEST_KEY)));
  t.equal(a.length, 1);
  t.match(a[0], /^[0-9a-f]{64}$/);
  const flow = `# a comment moves every line down


${
    policyWith(entry(TEST_KEY)).replace(
      'imageReferences: ["ghcr.io/org/*"]',
      'imageReferences:\n            - ghcr.io/org/*',
    )
  }`;
  t.same(fp(flow), a, 'positions and YAML style do not count');
  t.same(fp(policyWith(entry(TEST_KEY, '\n          mutateDigest: true'))), a, 'explicit default');
});

t.test('different meaning: different fingerprint', async (t) => {
  const a = fp(policyWith(entry(TEST_KEY)))[0];
  const differs = (text: string, why: string) => t.not(fp(text)[0], a, why);
  differs(policyWith(entry(OTHER_KEY)), 'key');
  differs(policyWith(entry(TEST_KEY, '\n          verifyDigest: false')), 'verifyDigest');
  differs(policyWith(entry(TEST_KEY).replace('ghcr.io/org/*', 'ghcr.io/other/*')), 'image references');
  differs(policyWith(entry(TEST_KEY), { name: 'renamed' }), 'policy name');
  differs(policyWith(entry(TEST_KEY)).replace('- name: check-image', '- name: other'), 'rule name');
  differs(policyWith(entry(`${TEST_KEY}\n${OTHER_KEY}`)), 'extra key');
  const secret = (pem: string) =>
    fp(
      policyWith('imageReferences: ["x/*"]\n          attestors: [{entries: [{keys: {publicKeys: "k8s://ns/s"}}]}]'),
      () => ({ 'cosign.pub': pem }),
    )[0];
  t.not(secret(TEST_KEY), secret(OTHER_KEY), 'rotated secret');
});

t.test('one fingerprint per verifyImages entry; image policies get one', async (t) => {
  const seed = load(readFileSync(join(TESTDATA, 'seeds', '004-1-verify-image-signatures.yaml'), 'utf8'));
  const f = getPolicyFingerprints(seed);
  t.same(f.map((x) => [x.rule, x.index]), [
    ['verify-keyless-signature', 0],
    ['verify-kms-signature', 0],
    ['require-sbom', 0],
  ]);
  t.equal(new Set(f.map((x) => x.fingerprint)).size, 3);
  const iv = load(readFileSync(join(VECTORS, 'verify-image-ivpol.yaml'), 'utf8'));
  const g = getPolicyFingerprints(iv);
  t.equal(g.length, 1);
  t.same(
    getPolicyFingerprints(load(readFileSync(join(VECTORS, 'verify-image-ivpol.yaml'), 'utf8'))),
    g,
    'deterministic',
  );
});
