// The policies of the seed guides (extracted to testdata/policy/seeds, indentation
// repaired) load; the one Kyverno itself rejects is rejected with Kyverno's message.

import t from 'tap';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { isSigwardError } from '../../lib/errors.ts';
import { lintPolicyText, loadPolicies } from '../../lib/policy/index.ts';
import { asKyverno, noSecrets, TESTDATA } from './helpers.ts';

const dir = join(TESTDATA, 'seeds');
const files = readdirSync(dir).filter((f) => f.endsWith('.yaml')).sort();
const read = (f: string): string => readFileSync(join(dir, f), 'utf8');
const load = (f: string) => loadPolicies(read(f), { file: f, resolveSecret: noSecrets });

t.test('every seed policy loads, except the one Kyverno rejects', async (t) => {
  t.equal(files.length, 15);
  for (const f of files) {
    if (f.startsWith('000-3')) continue;
    const r = load(f);
    t.equal(r.policies.length, 1, f);
    t.ok(asKyverno(r.policies[0]).spec.rules.every((rule) => rule.verifyImages.length > 0), `${f}: verifyImages rules`);
  }
});

t.test('000-3: failureAction Audit with mutateDigest true is rejected at its line', async (t) => {
  try {
    load('000-3-environment-specific-verification.yaml');
    t.fail('should throw');
  } catch (e) {
    t.ok(isSigwardError(e));
    if (!isSigwardError(e)) return;
    t.equal(e.code, 'POLICY_INVALID');
    t.equal(
      e.message,
      '000-3-environment-specific-verification.yaml:57:25: spec.rules[1].verifyImages[0].mutateDigest: Invalid value: true: mutateDigest must be set to false for ‘Audit’ failure action',
    );
    t.equal((e.detail?.['errors'] as unknown[]).length, 1, 'the Enforce rule with mutateDigest true is fine');
  }
});

t.test('001: the deprecated image/key form becomes imageReferences + one attestor set', async (t) => {
  const r = load('001-1-check-image-legacy.yaml');
  const p = asKyverno(r.policies[0]);
  t.equal(p.spec.validationFailureAction, 'Enforce', 'lowercase enforce normalised');
  t.ok(
    r.warnings.some((w) =>
      w.severity === 'warning' &&
      w.message === 'spec.validationFailureAction: "enforce" is deprecated, use "Enforce"' && w.line === 6 &&
      w.column === 28
    ),
  );
  t.same(p.spec.rules[0]!.match, { resources: { kinds: ['Pod'] } });
  const e = p.spec.rules[0]!.verifyImages[0]!;
  t.equal(e.convertedFromLegacy, true);
  t.same(e.imageReferences, ['ghcr.io/kyverno/test-verify-image:*']);
  t.equal(e.attestors.length, 1);
  t.equal(e.attestors[0]!.requiredCount, 1);
  const a = e.attestors[0]!.entries[0]!;
  t.equal(a.kind, 'keys');
  t.equal(a.keys?.source.kind, 'pem');
  t.match(a.keys?.publicKeys, /^-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE8nXRh950IZbRj8Ra/);
});

t.test('002-6: legacy annotations move into the attestor', async (t) => {
  const e = asKyverno(load('002-6-check-image-annotations-legacy.yaml').policies[0]).spec.rules[0]!.verifyImages[0]!;
  t.same(e.attestors[0]!.entries[0]!.annotations, { sig: 'original' });
  t.same(e.imageReferences, ['ghcr.io/kyverno/test-verify-image:signed-keyless']);
});

t.test('002-2: attestation with predicateType and deprecated In', async (t) => {
  const r = load('002-2-attest-code-review.yaml');
  const att = asKyverno(r.policies[0]).spec.rules[0]!.verifyImages[0]!.attestations[0]!;
  t.equal(att.type, 'https://example.com/CodeReview/v1');
  t.same(att.conditions[0]!.all!.map((c) => c.operator), ['Equals', 'Equals', 'In']);
  t.same(att.conditions[0]!.all![2]!.value, ['ana@example.com', 'bob@example.com']);
  t.ok(r.warnings.some((w) => w.message.includes('"In" is deprecated')));
});

t.test('002-3 / 002-4: certificate attestors', async (t) => {
  const both = asKyverno(load('002-3-check-image-cert-chain.yaml').policies[0]).spec.rules[0]!.verifyImages[0]!
    .attestors[0]!.entries[0]!;
  t.equal(both.kind, 'certificates');
  t.match(both.certificates?.cert, /^-----BEGIN CERTIFICATE-----\nMIIDuzCC/);
  t.match(both.certificates?.certChain, /^-----BEGIN CERTIFICATE-----\nMIIDuTCC/);
  const root = asKyverno(load('002-4-check-image-root-only.yaml').policies[0]).spec.rules[0]!.verifyImages[0]!
    .attestors[0]!.entries[0]!;
  t.equal(root.certificates?.cert, undefined);
  t.ok(root.certificates?.certChain);
  const lint = lintPolicyText(read('002-3-check-image-cert-chain.yaml'), { resolveSecret: noSecrets });
  t.notOk(lint.diagnostics.some((d) => d.message.includes('certificate')), 'real certificates parse');
  const fake = lintPolicyText(read('../seeds/000-4-certificate-verification.yaml'), { resolveSecret: noSecrets });
  t.ok(
    fake.diagnostics.some((d) => d.message.includes('certificates.cert: certificate cannot be parsed')),
    'placeholder certificate flagged',
  );
});

t.test('002-5 / 004: keyless without rekor or roots loads with a warning', async (t) => {
  const r = load('002-5-check-image-keyless.yaml');
  const a = asKyverno(r.policies[0]).spec.rules[0]!.verifyImages[0]!.attestors[0]!.entries[0]!;
  t.same(a.keyless, { subject: '*@nirmata.com', issuer: 'https://accounts.google.com', additionalExtensions: {} });
  const w = r.warnings.find((d) => d.message.includes('Either Rekor URL or roots are required'));
  t.equal(`${w?.line}:${w?.column}`, '22:15');
});

t.test('003: skip references, credentials, ctlog/rekor options, per-entry Enforce', async (t) => {
  const p = asKyverno(load('003-1-only-cosign-image-deploy.yaml').policies[0]);
  t.equal(p.spec.validationFailureAction, 'Audit', 'default');
  t.equal(p.spec.failurePolicy, 'Fail');
  t.equal(p.spec.timeoutSeconds, 30);
  const e = p.spec.rules[0]!.verifyImages[0]!;
  t.equal(e.failureAction, 'Enforce');
  t.equal(e.mutateDigest, true, 'Enforce entry keeps the default');
  t.same([e.verifyDigest, e.required, e.useCache], [false, false, false]);
  t.same(e.skipImageReferences, ['ghcr.io/trusted/*']);
  t.same(e.imageRegistryCredentials, { allowInsecureRegistry: true, providers: [], secrets: ['registry-credentials'] });
  const k = e.attestors[0]!.entries[0]!.keys!;
  t.same(k.ctlog, { ignoreSCT: true });
  t.same(k.rekor, { url: 'https://rekor.sigstore.dev', ignoreTlog: true });
  t.same(p.spec.rules[0]!.match.any![0]!.resources, { kinds: ['Pod'], namespaces: ['policy'] });
});

t.test('004: three rules, KMS marked unresolved, type instead of predicateType', async (t) => {
  const p = asKyverno(load('004-1-verify-image-signatures.yaml').policies[0]);
  t.same(p.spec.rules.map((r) => r.name), ['verify-keyless-signature', 'verify-kms-signature', 'require-sbom']);
  const kms = p.spec.rules[1]!.verifyImages[0]!.attestors[0]!.entries[0]!.keys!.source;
  t.same(kms, {
    kind: 'kms',
    uri: 'awskms:///alias/cosign-key',
    provider: 'awskms',
    unresolved: 'KMS key awskms:///alias/cosign-key cannot be used offline: provide the public key with publicKeys',
  });
  t.equal(p.spec.rules[2]!.verifyImages[0]!.attestations[0]!.type, 'https://cyclonedx.org/bom');
});

t.test('000: placeholder keys load, lint says they do not parse', async (t) => {
  const r = lintPolicyText(read('000-1-require-signed-images.yaml'), { file: '000-1', resolveSecret: noSecrets });
  t.equal(r.errors, 0);
  const w = r.diagnostics.find((d) => d.message.includes('cannot parse PUBLIC KEY'));
  t.ok(w);
  t.equal(`${w?.line}:${w?.column}`, '22:33');
});
