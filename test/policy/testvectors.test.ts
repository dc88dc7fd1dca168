// Every policy of the public Kyverno policy library in shared/testvectors loads,
// and what sigward cannot do offline (KMS, Notary) is reported precisely.

import t from 'tap';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type ImageValidatingPolicy, loadPolicies, loadPolicyPaths } from '../../lib/policy/index.ts';
import { asKyverno, noSecrets, VECTORS } from './helpers.ts';

const files = readdirSync(VECTORS).filter((f) => f.endsWith('.yaml')).sort();

t.test('every test vector loads without errors', async (t) => {
  t.equal(files.length, 12);
  for (const f of files) {
    const r = loadPolicies(readFileSync(join(VECTORS, f), 'utf8'), { file: f, resolveSecret: noSecrets });
    t.equal(r.policies.length, 1, f);
  }
  const all = loadPolicyPaths([VECTORS], { resolveSecret: noSecrets });
  t.equal(all.policies.length, 12);
  t.equal(all.policies.filter((p) => p.format === 'kyverno').length, 11);
});

function load(name: string) {
  return loadPolicies(readFileSync(join(VECTORS, name), 'utf8'), { file: name, resolveSecret: noSecrets });
}

t.test('gcpkms: the KMS key is kept, marked unusable offline, with its location', async (t) => {
  const r = load('verify-image-gcpkms.yaml');
  const p = asKyverno(r.policies[0]);
  const entry = p.spec.rules[0]!.verifyImages[0]!;
  const a = entry.attestors[0]!.entries[0]!;
  const uri = 'gcpkms://projects/omni-163105/locations/asia-south1/keyRings/first-ring/cryptoKeys/jerry/versions/1';
  t.same(a.keys?.source, {
    kind: 'kms',
    uri,
    provider: 'gcpkms',
    unresolved: `KMS key ${uri} cannot be used offline: provide the public key with publicKeys`,
  });
  t.equal(a.keys?.kms, uri);
  const w = r.warnings.find((d) => d.message.includes('cannot be used offline'));
  t.ok(w, 'warning reported');
  t.equal(w?.line, 35);
  t.equal(w?.column, 20);
  t.equal(w?.file, 'verify-image-gcpkms.yaml');
});

t.test('ivpol: loads; the Notary attestor is verifiable, with a note on revocation', async (t) => {
  const r = load('verify-image-ivpol.yaml');
  const p = r.policies[0] as ImageValidatingPolicy;
  t.equal(p.format, 'ivpol');
  t.equal(p.apiVersion, 'policies.kyverno.io/v1alpha1');
  t.same(p.spec.matchImageReferences, [{ glob: 'ghcr.io/kyverno/test-verify-image*' }]);
  t.same(p.spec.validationActions, ['Deny']);
  t.equal(p.spec.timeoutSeconds, 30);
  t.same(p.spec.evaluation, { admission: true, background: false, mode: 'Kubernetes' });
  t.same(p.spec.validationConfigurations, { mutateDigest: true, verifyDigest: true, required: true });
  const a = p.spec.attestors[0]!;
  t.equal(a.name, 'notary');
  t.match(a.notary?.certs?.value, /^-----BEGIN CERTIFICATE-----/);
  t.equal(a.unsupported, undefined, 'the Notary attestor is not flagged unsupported');
  t.equal(
    p.spec.validations[0]!.expression,
    'images.containers.map(image, verifyImageSignatures(image, [attestors.notary])).all(e ,e > 0)',
  );
  t.equal(p.spec.validations[0]!.message, 'failed the verification');
  t.notOk(
    r.warnings.some((d) => d.severity === 'warning' && d.message.includes('Notary')),
    'no warning about the Notary attestor',
  );
  const note = r.warnings.find((d) => d.severity === 'info' && d.message.includes('checks no certificate revocation'));
  t.equal(`${note?.line}:${note?.column}`, '35:7', 'the revocation note points at the notary key');
});

t.test('multi-keys: variables kept, count 2 over 2 entries', async (t) => {
  const p = asKyverno(load('verify-image-with-multi-keys.yaml').policies[0]);
  const rule = p.spec.rules[0]!;
  t.equal(rule.context[0]!.name, 'keys');
  t.same(rule.context[0]!['configMap'], { name: 'keys', namespace: 'default' });
  const set = rule.verifyImages[0]!.attestors[0]!;
  t.equal(set.count, 2);
  t.equal(set.requiredCount, 2);
  t.same(
    set.entries.map((e) => e.keys?.source),
    [
      { kind: 'variable', text: '{{ keys.data.production }}' },
      { kind: 'variable', text: '{{ keys.data.{{request.namespace}} }}' },
    ],
  );
  t.equal(rule.verifyImages[0]!.required, true);
});

t.test('verify-image: Enforce, explicit mutateDigest, defaults', async (t) => {
  const p = asKyverno(load('verify-image.yaml').policies[0]);
  t.equal(p.spec.validationFailureAction, 'Enforce');
  t.equal(p.spec.background, false);
  t.equal(p.spec.failurePolicy, 'Fail');
  t.equal(p.spec.timeoutSeconds, undefined);
  const e = p.spec.rules[0]!.verifyImages[0]!;
  t.same([e.type, e.mutateDigest, e.verifyDigest, e.required, e.useCache, e.cosignOCI11], [
    'Cosign',
    true,
    true,
    true,
    true,
    false,
  ]);
  const a = e.attestors[0]!;
  t.equal(a.count, undefined);
  t.equal(a.requiredCount, 1);
  t.equal(a.entries[0]!.keys?.source.kind, 'pem');
  t.equal(a.entries[0]!.keys?.rekor, undefined, 'rekor omitted stays omitted (public Rekor at verification)');
  t.equal(a.entries[0]!.signatureAlgorithm, 'sha256');
});

t.test('Audit policies without mutateDigest: loaded with mutateDigest false and a warning', async (t) => {
  const r = load('require-vulnerability-scan.yaml');
  const p = asKyverno(r.policies[0]);
  t.equal(p.spec.validationFailureAction, 'Audit');
  t.equal(p.spec.rules[0]!.verifyImages[0]!.mutateDigest, false);
  t.equal(p.spec.timeoutSeconds, 10);
  t.ok(r.warnings.some((w) => w.severity === 'warning' && w.message.includes('mutateDigest is not set')));
  const att = p.spec.rules[0]!.verifyImages[0]!.attestations[0]!;
  t.equal(att.type, 'cosign.sigstore.dev/attestation/vuln/v1');
  t.same(att.conditions[0]!.all![0], {
    key: "{{ time_since('','{{metadata.scanFinishedOn}}','') }}",
    operator: 'LessThanOrEquals',
    value: '168h',
  });
  t.same(att.attestors[0]!.entries[0]!.keyless?.rekor, { url: 'https://rekor.sigstore.dev', ignoreTlog: false });
});

t.test('tekton: legacy match.resources, imageExtractors, subresource kinds', async (t) => {
  const pb = asKyverno(load('verify-tekton-pipeline-bundle-signatures.yaml').policies[0]);
  t.same(pb.spec.rules[0]!.match, { resources: { kinds: ['PipelineRun'] } });
  t.same(pb.spec.rules[0]!.imageExtractors, {
    PipelineRun: [{ path: '/spec/pipelineRef', name: 'pipelineruns', value: 'bundle', key: 'name' }],
  });
  const vs = asKyverno(load('verify-tekton-taskrun-vuln-scan.yaml').policies[0]);
  t.same(vs.spec.rules[0]!.match.any![0]!.resources!.kinds, ['tekton.dev/v1beta1/TaskRun.status']);
  const cond = vs.spec.rules[0]!.verifyImages[0]!.attestations[0]!.conditions[0]!;
  t.equal(cond.any!.length, 2);
  t.equal(cond.any![0]!.value, 0);
});

t.test('flux: explicit digest options and twelve references', async (t) => {
  const r = load('verify-flux-images.yaml');
  const e = asKyverno(r.policies[0]).spec.rules[0]!.verifyImages[0]!;
  t.equal(e.imageReferences.length, 12);
  t.same([e.mutateDigest, e.verifyDigest, e.required], [false, false, true]);
  t.notOk(r.warnings.some((w) => w.message.includes('mutateDigest')), 'explicit false: no warning');
});
