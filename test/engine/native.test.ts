// sigward's native ImagePolicy through `sigward check`, against the real registry.

import t from 'tap';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RegistryClient } from '../../lib/oci/registry.ts';
import { pushImage, withRegistry } from '../helpers/registry.ts';
import { runSigward } from '../helpers/cli.ts';
import { attestImage, makeKey, signImage } from '../helpers/cosign.ts';
import { kubectlPod } from '../helpers/kubectl.ts';
import { ROOT } from '../helpers/fixtures.ts';

const tmp = mkdtempSync(join(tmpdir(), 'sigward-native-'));
let n = 0;
const file = (text: string) => {
  const p = join(tmp, `f${n++}.yaml`);
  writeFileSync(p, text);
  return p;
};
const indent = (pem: string, by: string) => pem.trim().split('\n').map((l) => by + l).join('\n');

t.test('native ImagePolicy', async (t) => {
  const reg = await withRegistry(t);
  const store = new RegistryClient();
  t.teardown(() => store.close());
  const key = makeKey();
  const trivy = JSON.parse(readFileSync(join(ROOT, 'testdata/rules/vuln-trivy-clean.json'), 'utf8'));
  const repo = reg.ref('native/app');
  const good = await pushImage(store, repo, { tag: 'good' });
  const unsigned = await pushImage(store, repo, { tag: 'unsigned' });
  const noScan = await pushImage(store, repo, { tag: 'noscan' });
  for (const d of [good, noScan]) await signImage({ store, repository: repo, digest: d, key });
  await attestImage({
    store,
    repository: repo,
    digest: good,
    key,
    predicateType: 'https://cosign.sigstore.dev/attestation/vuln/v1',
    predicate: trivy,
  });
  t.ok(unsigned);

  const policy = (
    actions: string,
    maxSeverity: string,
    validation = 'signatures["release-key"] && image.repository.startsWith("native/")',
  ) =>
    `apiVersion: sigward.dev/v1alpha1
kind: ImagePolicy
metadata:
  name: native-images
spec:
  validationActions: [${actions}]
  matchImageReferences:
    - glob: "${reg.host}/native/*"
  attestors:
    - name: release-key
      cosign:
        key:
          data: |
${indent(key.publicPem, '            ')}
        ctlog:
          insecureIgnoreTlog: true
  attestations:
    - name: scan
      intoto:
        type: vuln
  rules:
    - name: vuln-scan
      params:
        maxSeverity: ${maxSeverity}
  validations:
    - expression: '${validation}'
      message: must come from the native repositories
`;
  const check = async (p: string, image: string) => {
    const r = await runSigward([
      'check',
      '--policy',
      file(p),
      '--resource',
      file(JSON.stringify(kubectlPod('app', image))),
      '-o',
      'json',
    ]);
    const result = JSON.parse(r.stdout).results[0];
    if (result.message) result.message = result.message.replace(/\n +/g, ' ');
    return { code: r.code, result };
  };
  const lint = await runSigward(['policy', 'lint', file(policy('Deny', 'MEDIUM'))]);
  t.equal(lint.code, 0, 'the policy lints');
  const ok = await check(policy('Deny', 'MEDIUM'), `${reg.host}/native/app:good`);
  t.equal(ok.code, 0, 'signed, attested, scan within threshold: allowed');
  t.equal(ok.result.patches[0].value, `${reg.host}/native/app:good@${good}`, 'digest pinned');
  const uns = await check(policy('Deny', 'MEDIUM'), `${reg.host}/native/app:unsigned`);
  t.equal(uns.code, 1, 'unsigned: blocked');
  t.match(uns.result.message, /signature not found/);
  const scan = await check(policy('Deny', 'MEDIUM'), `${reg.host}/native/app:noscan`);
  t.equal(scan.code, 1, 'no scan attestation: blocked');
  t.match(scan.result.message, /no verified attestation of type https:\/\/cosign.sigstore.dev\/attestation\/vuln\/v1/);
  const strict = await check(policy('Deny', 'LOW'), `${reg.host}/native/app:good`);
  t.equal(strict.code, 1, 'rule threshold exceeded: blocked');
  t.match(strict.result.message, /CVE-2023-6129/);
  const val = await check(policy('Deny', 'MEDIUM', 'image.tag == "release"'), `${reg.host}/native/app:good`);
  t.equal(val.code, 1, 'validation false: blocked with its message');
  t.match(val.result.message, /must come from the native repositories/);
  const audit = await check(policy('Audit', 'MEDIUM'), `${reg.host}/native/app:unsigned`);
  t.equal(audit.code, 0, 'Audit: allowed');
  t.equal(audit.result.rules[0].status, 'fail');
  t.ok(audit.result.warnings.length, 'with a warning');
  const other = await check(policy('Deny', 'MEDIUM'), 'nginx:1.27');
  t.equal(other.code, 0, 'an image outside matchImageReferences is not checked');
  // Kyverno's functions are not part of the native form: the policy does not load (no verdict), and the lint says why
  const kyvernoPolicy = file(
    policy('Deny', 'MEDIUM', 'images.containers.all(i, verifyImageSignatures(i, [attestors.x]) > 0)'),
  );
  const kyvernoFns = await runSigward([
    'check',
    '--policy',
    kyvernoPolicy,
    '--resource',
    file(JSON.stringify(kubectlPod('app', `${reg.host}/native/app:good`))),
    '-o',
    'json',
  ]);
  t.equal(kyvernoFns.code, 2, 'an expression sigward cannot compile: the policy is refused, nothing is admitted by it');
  const refused = JSON.parse(kyvernoFns.stdout);
  t.equal(refused.verified, false);
  t.equal(refused.error.code, 'POLICY_INVALID');
  t.match(
    refused.error.message,
    /spec\.validations\[0\]\.expression: invalid CEL expression .*undeclared reference to 'images'/,
  );
  const lintBad = await runSigward(['policy', 'lint', kyvernoPolicy]);
  t.equal(lintBad.code, 1, 'the lint reports it');
  t.match(lintBad.stdout + lintBad.stderr, /undeclared reference to 'images'/);
});

t.test('Kyverno ImageValidatingPolicy with a Notary attestor (test vector): an image without Notary signatures is denied', async (t) => {
  const reg = await withRegistry(t);
  const store = new RegistryClient();
  t.teardown(() => store.close());
  await pushImage(store, reg.ref('notary/app'), { tag: 'unsigned' });
  const text = readFileSync(join(ROOT, '../shared/testvectors/kyverno-policies/verify-image-ivpol.yaml'), 'utf8')
    .replace('ghcr.io/kyverno/test-verify-image*', `${reg.host}/notary/*`);
  const r = await runSigward([
    'check',
    '--policy',
    file(text),
    '--image',
    `${reg.host}/notary/app:unsigned`,
    '--allow-insecure-registry',
    '-o',
    'json',
  ]);
  t.equal(r.code, 1, 'denied (validation false under Deny), not allowed');
  const out = JSON.parse(r.stdout);
  t.equal(out.results[0].allowed, false);
  t.match(
    out.results[0].message,
    /^Policy verify-image-ivpol failed: failed the verification/,
    "Kyverno's ivpol wording with the policy's message",
  );
  t.match(
    out.results[0].rules[0].message,
    /no signature is associated with/,
    "the reason is notation's: no Notary signature",
  );
  t.notMatch(r.stderr, /not supported/, 'the Notary attestor is not flagged unsupported');
});
