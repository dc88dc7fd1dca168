// Keyless and certificate scenarios through `sigward check`: a local Fulcio,
// CT log and Rekor (test/helpers/sigstore.ts) sign images in both cosign
// formats (legacy `.sig` and v3 bundle referrers); the trust material comes
// either from a trusted_root.json or from the policy itself (keyless.roots,
// rekor.pubkey, ctlog.pubkey), as an air-gapped cluster would configure it.

import t from 'tap';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RegistryClient } from '../../lib/oci/registry.ts';
import { pushImageDetailed, withRegistry } from '../helpers/registry.ts';
import { runSigward } from '../helpers/cli.ts';
import { kubectlPod } from '../helpers/kubectl.ts';
import {
  DEFAULT_ISSUER,
  IN_TOTO,
  pushBundleReferrer,
  pushLegacySignature,
  toImageSignatureStatement,
  withSigstoreMock,
} from '../helpers/sigstore.ts';

const tmp = mkdtempSync(join(tmpdir(), 'sigward-keyless-engine-'));
let n = 0;
const file = (text: string, ext = 'yaml') => {
  const p = join(tmp, `f${n++}.${ext}`);
  writeFileSync(p, text);
  return p;
};
const indent = (pem: string, by: string) => pem.trim().split('\n').map((l) => by + l).join('\n');

t.test('keyless and certificate policies', async (t) => {
  const reg = await withRegistry(t);
  const mock = await withSigstoreMock(t);
  const store = new RegistryClient();
  t.teardown(() => store.close());
  const repo = reg.ref('keyless/app');
  const legacy = await pushImageDetailed(store, repo, { tag: 'legacy' });
  const bundled = await pushImageDetailed(store, repo, { tag: 'bundle' });
  const stranger = await pushImageDetailed(store, repo, { tag: 'stranger' });
  const sig = await mock.signLegacy(legacy.digest, `${reg.host}/keyless/app`, { identity: 'dev@nirmata.com' });
  await pushLegacySignature(store, repo, legacy.digest, sig);
  await pushBundleReferrer(
    store,
    repo,
    bundled.descriptor,
    await mock.signDSSE(toImageSignatureStatement(bundled.digest), IN_TOTO, { identity: 'ci@nirmata.com' }),
  );
  const review = {
    _type: 'https://in-toto.io/Statement/v1',
    subject: [{ name: 'app', digest: { sha256: bundled.digest.slice(7) } }],
    predicateType: 'https://example.com/CodeReview/v1',
    predicate: { repo: { uri: 'https://git-repo.com/org/app', branch: 'main' }, reviewers: ['ana@example.com'] },
  };
  await pushBundleReferrer(
    store,
    repo,
    bundled.descriptor,
    await mock.signDSSE(new TextEncoder().encode(JSON.stringify(review)), IN_TOTO, { identity: 'ci@nirmata.com' }),
    { predicateType: review.predicateType },
  );
  const evil = await mock.signLegacy(stranger.digest, `${reg.host}/keyless/app`, {
    identity: 'dev@nirmata.com.evil.org',
  });
  await pushLegacySignature(store, repo, stranger.digest, evil);

  // Kyverno's keyless guide policy: subject wildcard, exact issuer
  const keylessPolicy = (extra = '') =>
    `apiVersion: kyverno.io/v1
kind: ClusterPolicy
metadata:
  name: check-image-keyless
spec:
  validationFailureAction: Enforce
  rules:
    - name: check-image-keyless
      match:
        any:
        - resources:
            kinds: [Pod]
      verifyImages:
      - imageReferences:
        - "${reg.host}/keyless/*"
        attestors:
        - entries:
          - keyless:
              subject: "*@nirmata.com"
              issuer: "${DEFAULT_ISSUER}"
${extra}`;
  const check = async (
    policy: string,
    image: string,
    trustArgs: string[] = ['--trusted-root', mock.trustedRootPath],
  ) => {
    const r = await runSigward([
      'check',
      '--policy',
      file(policy),
      '--resource',
      file(JSON.stringify(kubectlPod('app', image)), 'json'),
      ...trustArgs,
      '-o',
      'json',
    ]);
    const result = JSON.parse(r.stdout).results[0];
    if (result.message) result.message = result.message.replace(/\n +/g, ' ');
    return { code: r.code, result };
  };

  const a = await check(keylessPolicy(), `${reg.host}/keyless/app:legacy`);
  t.equal(a.code, 0, 'legacy keyless signature, subject wildcard: allowed');
  t.equal(a.result.patches[0].value, `${reg.host}/keyless/app:legacy@${legacy.digest}`);
  const b = await check(keylessPolicy(), `${reg.host}/keyless/app:bundle`);
  t.equal(b.code, 0, 'cosign v3 bundle signature: allowed');
  const c = await check(keylessPolicy(), `${reg.host}/keyless/app:stranger`);
  t.equal(c.code, 1, 'identity with the allowed domain as a prefix only: blocked');
  t.match(c.result.message, /dev@nirmata\.com\.evil\.org/);
  const d = await check(keylessPolicy(), `${reg.host}/keyless/app:legacy`, []);
  t.equal(d.code, 1, 'with the embedded public-good root the mock CA is not trusted: blocked');

  const withReview = keylessPolicy(`        attestations:
        - type: https://example.com/CodeReview/v1
          conditions:
          - all:
            - key: "{{ repo.branch }}"
              operator: Equals
              value: main
            - key: "{{ reviewers }}"
              operator: AnyIn
              value: ["ana@example.com", "bob@example.com"]
`);
  const e = await check(withReview, `${reg.host}/keyless/app:bundle`);
  t.equal(e.code, 0, 'keyless code-review attestation from a bundle referrer: conditions hold');
  const f = await check(withReview.replace('value: main', 'value: release'), `${reg.host}/keyless/app:bundle`);
  t.equal(f.code, 1, 'conditions do not hold: blocked');
  t.match(f.result.message, /attestation checks failed/);
  const g = await check(withReview, `${reg.host}/keyless/app:legacy`);
  t.equal(g.code, 1, 'no attestation of the type: blocked');

  // trust from the policy only (no trusted root file): keyless.roots, rekor.pubkey, ctlog.pubkey
  const selfContained = `apiVersion: kyverno.io/v1
kind: ClusterPolicy
metadata:
  name: private-sigstore
spec:
  validationFailureAction: Enforce
  rules:
    - name: keyless-private
      match:
        any:
        - resources:
            kinds: [Pod]
      verifyImages:
      - imageReferences: ["${reg.host}/keyless/*"]
        attestors:
        - entries:
          - keyless:
              subjectRegExp: "^[a-z]+@nirmata\\\\.com$"
              issuer: "${DEFAULT_ISSUER}"
              roots: |-
${indent(mock.caRootPEM, '                ')}
              rekor:
                url: ${mock.url}
                pubkey: |-
${indent(mock.rekorKeyPEM, '                  ')}
              ctlog:
                pubkey: |-
${indent(mock.ctlogKeyPEM, '                  ')}
`;
  const h = await check(selfContained, `${reg.host}/keyless/app:legacy`, []);
  t.equal(h.code, 0, 'trust material given by the policy: allowed with no trusted root file');
  const i = await check(selfContained, `${reg.host}/keyless/app:stranger`, []);
  t.equal(i.code, 1, 'anchored subjectRegExp: the .evil.org identity is blocked');

  // certificates: the CA root as certChain (root pool), Rekor and CT keys from the policy
  const certPolicy = `apiVersion: kyverno.io/v1
kind: ClusterPolicy
metadata:
  name: check-image-cert
spec:
  validationFailureAction: Enforce
  rules:
    - name: verify-signature
      match:
        any:
        - resources:
            kinds: [Pod]
      verifyImages:
      - imageReferences: ["${reg.host}/keyless/*"]
        attestors:
        - entries:
          - certificates:
              certChain: |-
${indent(mock.caRootPEM, '                ')}
              rekor:
                url: ${mock.url}
                pubkey: |-
${indent(mock.rekorKeyPEM, '                  ')}
              ctlog:
                ignoreSCT: true
`;
  const j = await check(certPolicy, `${reg.host}/keyless/app:legacy`, []);
  t.equal(j.code, 0, 'certificate chained to the given CA: allowed');
  const other = await mock.strangerCA();
  const strangerPem = `-----BEGIN CERTIFICATE-----\n${
    Buffer.from(other).toString('base64').replace(/.{1,64}/g, '$&\n')
  }-----END CERTIFICATE-----`;
  const k = await check(
    certPolicy.replace(indent(mock.caRootPEM, '                '), indent(strangerPem, '                ')),
    `${reg.host}/keyless/app:legacy`,
    [],
  );
  t.equal(k.code, 1, 'certificate from another CA: blocked');
});
