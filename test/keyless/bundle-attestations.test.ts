// getBundleAttestations: verified in-toto statements from an image's bundle
// referrers (cosign v3 `attest`), for verify-attestation. In-process, OCI layout.

import t from 'tap';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LayoutStore } from '../../lib/oci/layout.ts';
import type { RepositoryRef } from '../../lib/oci/types.ts';
import {
  getBundleAttestations,
  getBundleReferrers,
  toBundleCheck,
  verifyImageBundles,
} from '../../lib/cosign/bundles.ts';
import { toPublicKeyInfo } from '../../lib/cosign/keys.ts';
import { generateKeyPairSync } from 'node:crypto';
import { loadTrustMaterial } from '../../lib/trust/index.ts';
import { pushImageDetailed } from '../helpers/registry.ts';
import {
  DEFAULT_ISSUER,
  IN_TOTO,
  pushBundleReferrer,
  toImageSignatureStatement,
  withSigstoreMock,
} from '../helpers/sigstore.ts';

const SLSA = 'https://slsa.dev/provenance/v1';
const VULN = 'https://cosign.sigstore.dev/attestation/vuln/v1';

t.test('bundle attestations of an image', async (t) => {
  const mock = await withSigstoreMock(t);
  const dir = mkdtempSync(join(tmpdir(), 'sigward-bundle-att-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const store = new LayoutStore();
  const repo: RepositoryRef = { transport: 'oci-layout', registry: dir, repository: '' };
  const img = await pushImageDetailed(store, repo, { tag: 'v1' });
  const other = await pushImageDetailed(store, repo, { tag: 'other' });
  const ci = { identity: 'ci@example.com' };
  const stmt = (digest: string, predicateType: string, predicate: object = {}) => {
    const s = JSON.parse(new TextDecoder().decode(toImageSignatureStatement(digest, { predicateType })));
    return new TextEncoder().encode(JSON.stringify({ ...s, predicate }));
  };
  const push = async (bytes: Uint8Array, predicateType: string, by = ci, subject = img.descriptor) =>
    pushBundleReferrer(store, repo, subject, await mock.signDSSE(bytes, IN_TOTO, by), { predicateType });

  await push(toImageSignatureStatement(img.digest), 'https://sigstore.dev/cosign/sign/v1');
  await push(stmt(img.digest, SLSA, { buildDefinition: { buildType: 'https://example.com/build' } }), SLSA);
  await push(stmt(img.digest, VULN), VULN);
  await push(stmt(img.digest, SLSA), SLSA, { identity: 'mallory@example.com' });
  // a statement about another image, attached to this one
  await push(stmt(other.digest, SLSA), SLSA);
  // a message signature over the manifest is a signature, never an attestation
  await pushBundleReferrer(store, repo, img.descriptor, await mock.signBlob(img.bytes, ci));

  t.equal((await getBundleReferrers(store, repo, img.digest)).length, 6, 'every bundle referrer found');

  const trust = await loadTrustMaterial({ trustedRootPath: mock.trustedRootPath });
  const check = toBundleCheck(
    { kind: 'keyless', policy: { subject: 'ci@example.com', issuer: DEFAULT_ISSUER } },
    trust,
  );

  const slsa = await getBundleAttestations(store, repo, img.digest, check, 'slsaprovenance1');
  t.equal(slsa.verified.length, 1, 'one verified SLSA statement');
  t.same(slsa.verified[0]!.statement.predicate, { buildDefinition: { buildType: 'https://example.com/build' } });
  t.equal(slsa.verified[0]!.signer.identity?.subject, 'ci@example.com');
  t.same(slsa.otherTypes.sort(), ['https://sigstore.dev/cosign/sign/v1', VULN].sort());
  t.same(slsa.rejected.map((r) => r.code).sort(), ['IDENTITY_MISMATCH', 'MANIFEST_DIGEST_MISMATCH']);
  t.ok(slsa.rejected.every((r) => r.predicateType === SLSA));

  const all = await getBundleAttestations(store, repo, img.digest, check);
  t.same(
    all.verified.map((v) => v.statement.predicateType).sort(),
    [SLSA, VULN].sort(),
    'no type: every attestation but the image signature',
  );

  const sig = await getBundleAttestations(store, repo, img.digest, check, 'https://sigstore.dev/cosign/sign/v1');
  t.equal(sig.verified.length, 1, 'the cosign signature statement on request');

  const none = await getBundleAttestations(store, repo, other.digest, check, SLSA);
  t.same(
    none,
    { digest: other.digest, verified: [], otherTypes: [], rejected: [] },
    'nothing attached to the other image',
  );

  // another identity verifies nothing, and says why
  const strangerCheck = toBundleCheck({
    kind: 'keyless',
    policy: { subject: 'someone@example.com', issuer: DEFAULT_ISSUER },
  }, trust);
  const s = await getBundleAttestations(store, repo, img.digest, strangerCheck, SLSA);
  t.equal(s.verified.length, 0);
  t.ok(s.rejected.some((r) => r.code === 'IDENTITY_MISMATCH'));
});

t.test('key-signed bundle signatures (cosign sign --key, new bundle format)', async (t) => {
  const mock = await withSigstoreMock(t);
  const dir = mkdtempSync(join(tmpdir(), 'sigward-bundle-key-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const store = new LayoutStore();
  const repo: RepositoryRef = { transport: 'oci-layout', registry: dir, repository: '' };
  const img = await pushImageDetailed(store, repo, { tag: 'v1' });
  const signing = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const other = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  await pushBundleReferrer(
    store,
    repo,
    img.descriptor,
    await mock.signDSSEWithKey(toImageSignatureStatement(img.digest), IN_TOTO, signing),
  );
  const trust = await loadTrustMaterial({ trustedRootPath: mock.trustedRootPath });
  const verifyWith = (keys: typeof signing[]) =>
    verifyImageBundles({
      store,
      signatureRepository: repo,
      digest: img.digest,
      check: toBundleCheck({ kind: 'key', keys: keys.map((k) => toPublicKeyInfo(k.publicKey)) }, trust),
    });

  // any of several keys (Kyverno publicKeys with several PEM blocks)
  const ok = await verifyWith([other, signing]);
  t.equal(ok.verified.length, 1);
  t.equal(ok.verified[0]!.signer.kind, 'key');
  t.equal(ok.verified[0]!.signer.keyId, toPublicKeyInfo(signing.publicKey).id);
  t.ok(ok.verified[0]!.signer.tlog, 'Rekor entry verified');

  const bad = await verifyWith([other]);
  t.equal(bad.verified.length, 0);
  t.same(bad.rejected.map((r) => r.code), ['SIGNATURE_INVALID']);

  // the embedded public-good root does not know the mock Rekor
  const pg = await verifyImageBundles({
    store,
    signatureRepository: repo,
    digest: img.digest,
    check: toBundleCheck({ kind: 'key', keys: [toPublicKeyInfo(signing.publicKey)] }, await loadTrustMaterial()),
  });
  t.equal(pg.rejected[0]?.code, 'TLOG_INVALID');
  // ... unless the transparency log is ignored
  const noTlog = await verifyImageBundles({
    store,
    signatureRepository: repo,
    digest: img.digest,
    check: toBundleCheck(
      { kind: 'key', keys: [toPublicKeyInfo(signing.publicKey)], ignoreTlog: true },
      await loadTrustMaterial(),
    ),
  });
  t.equal(noTlog.verified.length, 1);
});
