import { SIGSTORE_JS_BUNDLES } from '../helpers/fixtures.ts';
import t from 'tap';
import { createHash } from 'node:crypto';
import { readText, TD, TV } from '../helpers/fixtures.ts';
import { startSigstore } from '../helpers/sigstore.ts';
import {
  getEmbeddedTrustedRoot,
  type IdentityPolicy,
  parseTrustedRoot,
  toTrust,
  verifyBundle,
} from '../../lib/trust/index.ts';

const SB = `${TV}sigstore-bundles/`;
const bundleJSON = (f: string) => JSON.parse(readText(`${SB}${f}`));
const publicGood = toTrust(getEmbeddedTrustedRoot());
const BRIAN: IdentityPolicy = { subject: 'brian@dehamer.com', issuer: 'https://github.com/login/oauth' };

t.test('sigstore-js bundles (v0.1 / v0.2 / v0.3, dsse and intoto) verify offline with the embedded root', async (t) => {
  const files = SIGSTORE_JS_BUNDLES;
  for (const f of files) {
    const r = verifyBundle(readText(`${SB}${f}`), { trust: publicGood, policy: BRIAN });
    t.equal(r.signer.identity?.san, 'brian@dehamer.com', f);
    t.equal(r.payloadType, 'application/vnd.in-toto+json', f);
    t.ok(r.statement?.subject.length, `${f} statement`);
    t.ok(r.integratedTime instanceof Date && r.tlogIndex, `${f} tlog`);
    t.equal(r.timestamps[0].source, 'tlog');
  }
});

t.test('sigstore.js@2.0.0 provenance (GitHub Actions identity)', async (t) => {
  const r = verifyBundle(bundleJSON('sigstore.js@2.0.0-provenance.sigstore.json'), {
    trust: publicGood,
    policy: {
      subjectRegExp: 'https://github\\.com/sigstore/sigstore-js/\\.github/workflows/release\\.yml@refs/heads/main',
      issuer: 'https://token.actions.githubusercontent.com',
      extensions: { githubWorkflowTrigger: 'push', sourceRepositoryURI: 'https://github.com/sigstore/sigstore-js' },
    },
  });
  t.equal(r.statement?.predicateType, 'https://slsa.dev/provenance/v1');
  t.equal(r.statement?.subject[0].name, 'pkg:npm/sigstore@2.0.0');
  t.equal(r.integratedTime?.toISOString(), '2023-08-18T16:05:35.000Z');
  // The npm tarball is not in the test vectors; a wrong artifact must not match the sha512 subject.
  t.throws(
    () =>
      verifyBundle(bundleJSON('sigstore.js@2.0.0-provenance.sigstore.json'), {
        trust: publicGood,
        artifact: Buffer.from('not the tarball'),
        policy: { issuer: 'https://token.actions.githubusercontent.com' },
      }),
    { code: 'SIGNATURE_INVALID', message: /not a subject/ },
  );
});

t.test('cosign v3 OCI attestation: file root, embedded root, digest mode', async (t) => {
  const policy = { subject: 'cody@soyland.com', issuer: 'https://github.com/login/oauth' };
  const pgi = toTrust(parseTrustedRoot(readText(`${TV}trust-roots/cosign-trusted_root_pgi.json`)));
  const subject = 'sha256:732112270d7e59418a8c080b134b24cabd67d250d0d0147a97ed95ba5c280aa4';
  for (const trust of [pgi, publicGood]) {
    const r = verifyBundle(bundleJSON('cosign-oci-attestation.sigstore.json'), { trust, policy, digest: subject });
    t.equal(r.statement?.predicateType, 'https://cosign.sigstore.dev/attestation/v1');
  }
  t.throws(
    () =>
      verifyBundle(bundleJSON('cosign-oci-attestation.sigstore.json'), {
        trust: pgi,
        policy,
        digest: `sha256:${'0'.repeat(64)}`,
      }),
    { code: 'MANIFEST_DIGEST_MISMATCH' },
  );
  t.throws(
    () => verifyBundle(bundleJSON('cosign-oci-attestation.sigstore.json'), { trust: pgi, policy, digest: 'sha1:abc' }),
    {
      code: 'CONFIG_INVALID',
    },
  );
});

t.test('rejections', async (t) => {
  t.throws(() => verifyBundle(bundleJSON('dsse-2sigs.sigstore.json'), { trust: publicGood, policy: BRIAN }), {
    code: 'BUNDLE_INVALID',
    message: /dsseEnvelope\.signatures/,
  });
  t.throws(
    () =>
      verifyBundle({
        ...bundleJSON('bundleV03-dsse.sigstore'),
        mediaType: 'application/vnd.dev.sigstore.bundle.v0.9+json',
      }, { trust: publicGood, policy: BRIAN }),
    {
      code: 'BUNDLE_INVALID',
      message: /media type/,
    },
  );
  t.throws(() => verifyBundle('{', { trust: publicGood, policy: BRIAN }), { code: 'BUNDLE_INVALID' });
  // identity
  t.throws(
    () =>
      verifyBundle(readText(`${SB}bundleV03-dsse.sigstore`), {
        trust: publicGood,
        policy: { subject: 'dehamer.com', issuer: BRIAN.issuer },
      }),
    {
      code: 'IDENTITY_MISMATCH',
    },
  );
  t.throws(
    () =>
      verifyBundle(readText(`${SB}bundleV03-dsse.sigstore`), {
        trust: publicGood,
        policy: { subjectRegExp: '^brian@dehamer$', issuer: BRIAN.issuer },
      }),
    {
      code: 'IDENTITY_MISMATCH',
    },
    'an anchored regex must match the whole identity',
  );
  t.doesNotThrow(
    () =>
      verifyBundle(readText(`${SB}bundleV03-dsse.sigstore`), {
        trust: publicGood,
        policy: { subjectRegExp: 'brian@dehamer', issuer: BRIAN.issuer },
      }),
    'unanchored: part of the identity, as cosign',
  );
  t.throws(
    () =>
      verifyBundle(readText(`${SB}bundleV03-dsse.sigstore`), {
        trust: publicGood,
        policy: { subject: BRIAN.subject, issuer: 'https://accounts.google.com' },
      }),
    {
      code: 'IDENTITY_MISMATCH',
    },
  );
  // GitHub's root does not trust public-good Fulcio
  const github = toTrust(parseTrustedRoot(readText(`${TV}trust-roots/github-trusted_root.json`)));
  t.throws(() => verifyBundle(readText(`${SB}bundleV03-dsse.sigstore`), { trust: github, policy: BRIAN }), {
    code: 'CERTIFICATE_INVALID',
  });
  // tampered DSSE payload
  const tampered = bundleJSON('bundleV03-dsse.sigstore');
  const stmt = JSON.parse(Buffer.from(tampered.dsseEnvelope.payload, 'base64').toString());
  stmt.subject[0].name = 'pkg:npm/evil@1.0.0';
  tampered.dsseEnvelope.payload = Buffer.from(JSON.stringify(stmt)).toString('base64');
  t.throws(() => verifyBundle(tampered, { trust: publicGood, policy: BRIAN }), {
    code: 'SIGNATURE_INVALID',
    message: 'invalid signature',
  });
  // ignoring the tlog leaves no trusted time: as cosign, the certificate is checked at the current time
  t.throws(
    () =>
      verifyBundle(readText(`${SB}bundleV03-dsse.sigstore`), { trust: publicGood, policy: BRIAN, ignoreTlog: true }),
    {
      code: 'CERTIFICATE_INVALID',
      detail: { notAfter: '2023-07-12T16:00:42.000Z' },
    },
    'the 10-minute Fulcio certificate has expired by now',
  );
  const within = verifyBundle(readText(`${SB}bundleV03-dsse.sigstore`), {
    trust: publicGood,
    policy: BRIAN,
    ignoreTlog: true,
    ignoreSCT: false,
    now: new Date('2023-07-12T15:55:00Z'),
  });
  t.same(within.timestamps.map((x) => x.source), ['now'], 'verified at the current time, and says so');
  t.throws(
    () =>
      verifyBundle(readText(`${SB}bundleV03-dsse.sigstore`), {
        trust: publicGood,
        policy: BRIAN,
        ignoreTlog: true,
        now: new Date('2023-07-12T15:40:00Z'),
      }),
    {
      code: 'CERTIFICATE_INVALID',
    },
    'not yet valid at that time',
  );
  // keyed verification of a keyless bundle with an unrelated key
  t.throws(
    () =>
      verifyBundle(readText(`${SB}bundleV03-dsse.sigstore`), {
        trust: publicGood,
        policy: { publicKey: readText(`${TD}rekor-public-good.pub`) },
      }),
    {
      code: 'SIGNATURE_INVALID',
    },
  );
});

t.test('sigstore-go othername bundle: OtherName SAN, digest mode', async (t) => {
  const b = bundleJSON('othername.sigstore.json');
  const digest = 'sha256:' + Buffer.from(b.messageSignature.messageDigest.digest, 'base64').toString('hex');
  const policy = { subject: 'foo!oidc.local', issuer: 'http://oidc.local:8080' };
  const rootJSON = JSON.parse(readText(`${TD}sigstore-go-scaffolding-trusted_root.json`));
  // @sigstore/verify 4.1.3 matches the checkpoint signer name against the log's
  // baseUrl; this scaffolding log signs as its pod name, so the stock root fails.
  t.throws(() => verifyBundle(b, { trust: toTrust(parseTrustedRoot(rootJSON)), digest, policy }), {
    code: 'TLOG_INVALID',
    message: /checkpoint/,
  });
  rootJSON.tlogs[0].baseUrl = 'http://rekor-00001-deployment-56bf7777c9-jds5x';
  const trust = toTrust(parseTrustedRoot(rootJSON));
  const r = verifyBundle(b, { trust, digest, policy });
  t.equal(r.signer.identity?.sanType, 'otherName');
  t.equal(r.signer.identity?.san, 'foo!oidc.local');
  t.throws(() => verifyBundle(b, { trust, digest: `sha256:${'1'.repeat(64)}`, policy }), {
    code: 'MANIFEST_DIGEST_MISMATCH',
  });
  t.throws(() => verifyBundle(b, { trust, policy }), { code: 'CONFIG_INVALID' });
  t.throws(() => verifyBundle(b, { trust, digest, policy: { subject: 'foo', issuer: policy.issuer } }), {
    code: 'IDENTITY_MISMATCH',
  });
});

t.test('sigstore-go public-key bundle with RFC 3161 timestamp, digest mode', async (t) => {
  const b = bundleJSON('public-key-validity.sigstore.json');
  const digestHex = Buffer.from(b.messageSignature.messageDigest.digest, 'base64').toString('hex');
  const trust = toTrust(parseTrustedRoot(readText(`${TD}sigstore-go-public-key-validity-trusted_root.json`)));
  const publicKey = readText(`${TD}sigstore-go-public-key-validity.pem`);
  const r = verifyBundle(b, { trust, digest: `sha256:${digestHex}`, ignoreTlog: true, policy: { publicKey } });
  t.equal(r.timestamps[0].source, 'tsa');
  t.equal(r.timestamps[0].time.toISOString(), '2026-06-04T17:43:29.000Z');
  t.equal(
    r.signer.keyId,
    createHash('sha256').update(Buffer.from(publicKey.replace(/-----[^-]+-----|\s/g, ''), 'base64')).digest('hex'),
  );
  t.throws(() => verifyBundle(b, { trust, digest: `sha256:${digestHex}`, policy: { publicKey } }), {
    code: 'TLOG_MISSING',
  });
  t.throws(
    () =>
      verifyBundle(b, {
        trust,
        digest: `sha256:${digestHex}`,
        ignoreTlog: true,
        policy: { publicKey: readText(`${TD}rekor-public-good.pub`) },
      }),
    {
      code: 'SIGNATURE_INVALID',
    },
  );
  // a different digest claimed consistently in bundle and request: the
  // pre-hashed ECDSA check must fail
  const other = structuredClone(b);
  const flipped = Buffer.from(digestHex, 'hex');
  flipped[0] ^= 1;
  other.messageSignature.messageDigest.digest = flipped.toString('base64');
  t.throws(
    () =>
      verifyBundle(other, {
        trust,
        digest: `sha256:${flipped.toString('hex')}`,
        ignoreTlog: true,
        policy: { publicKey },
      }),
    {
      code: 'SIGNATURE_INVALID',
      message: 'invalid signature',
    },
  );
  t.throws(
    () => verifyBundle(b, { trust, digest: `sha256:${digestHex}`, ignoreTlog: true, policy: { subject: 'x' } }),
    {
      code: 'SIGNATURE_INVALID',
      message: /signed with a public key/,
    },
  );
});

t.test('minted message-signature bundles (mock Fulcio / CT / Rekor)', async (t) => {
  const mock = await startSigstore({ aheadMs: 60_000 });
  const trust = toTrust(parseTrustedRoot(mock.trustedRoot));
  const artifact = Buffer.from('hello sigward');
  const s = await mock.signKeyless(artifact);
  const policy = {
    subject: 'https://github.com/acme/app/.github/workflows/release.yml@refs/heads/main',
    issuer: 'https://token.actions.githubusercontent.com',
  };
  const r = verifyBundle(s.bundle, { artifact, trust, policy });
  t.equal(r.signer.identity?.extensions.buildTrigger, 'push');
  t.equal(r.payloadType, undefined);
  const hex = createHash('sha256').update(artifact).digest('hex');
  t.ok(verifyBundle(s.bundle, { digest: `sha256:${hex}`, trust, policy }), 'digest mode (pre-hashed ECDSA)');

  t.throws(() => verifyBundle(s.bundle, { artifact: Buffer.from('hello sigwarD'), trust, policy }), {
    code: 'SIGNATURE_INVALID',
    message: /message digest/,
  });
  const forged = structuredClone(s.bundle) as any;
  const set = Buffer.from(forged.verificationMaterial.tlogEntries[0].inclusionPromise.signedEntryTimestamp, 'base64');
  set[set.length - 3] ^= 1;
  forged.verificationMaterial.tlogEntries[0].inclusionPromise.signedEntryTimestamp = set.toString('base64');
  t.throws(() => verifyBundle(forged, { artifact, trust, policy }), { code: 'TLOG_INVALID' }, 'forged SET');
  const noTlog = structuredClone(s.bundle) as any;
  noTlog.verificationMaterial.tlogEntries = [];
  t.throws(() => verifyBundle(noTlog, { artifact, trust, policy }), {
    code: 'TLOG_MISSING',
    message: 'signature not found in transparency log',
  });

  // another CA entirely
  const other = await startSigstore({ aheadMs: 60_000 });
  t.throws(() => verifyBundle(s.bundle, { artifact, trust: toTrust(parseTrustedRoot(other.trustedRoot)), policy }), {
    code: 'CERTIFICATE_INVALID',
  });
  const otherCAOnly = toTrust(
    parseTrustedRoot({
      ...mock.trustedRoot,
      certificateAuthorities: (other.trustedRoot as any).certificateAuthorities,
    }),
  );
  t.throws(
    () => verifyBundle(s.bundle, { artifact, trust: otherCAOnly, policy }),
    { code: 'CERTIFICATE_INVALID' },
    'untrusted CA',
  );
});

t.test('minted: missing SCT and certificate outside validity at signing time', async (t) => {
  const artifact = Buffer.from('payload');
  const policy = { issuer: 'https://token.actions.githubusercontent.com' };
  const noCT = await startSigstore({ aheadMs: 60_000, withCT: false });
  const s1 = await noCT.signKeyless(artifact);
  const trust1 = toTrust(parseTrustedRoot(noCT.trustedRoot));
  t.throws(() => verifyBundle(s1.bundle, { artifact, trust: trust1, policy }), { code: 'SCT_INVALID' });
  t.ok(verifyBundle(s1.bundle, { artifact, trust: trust1, policy, ignoreSCT: true }));

  const clock = new Date(Date.now() + 60_000);
  const late = await startSigstore({ aheadMs: 60_000, clock, tlogClock: new Date(clock.getTime() + 20 * 60_000) });
  const s2 = await late.signKeyless(artifact);
  t.throws(() => verifyBundle(s2.bundle, { artifact, trust: toTrust(parseTrustedRoot(late.trustedRoot)), policy }), {
    code: 'CERTIFICATE_INVALID',
    message: /not valid at/,
  });
});

t.test('an inclusion proof must be for the tree its signed checkpoint names', async (t) => {
  const b = bundleJSON('bundleV03-dsse.sigstore');
  t.ok(verifyBundle(b, { trust: publicGood, policy: BRIAN }), 'as signed');
  // @sigstore/verify checks the Merkle path against the checkpoint only; sigstore-go refuses these
  const root = structuredClone(b);
  const hash = Buffer.from(root.verificationMaterial.tlogEntries[0].inclusionProof.rootHash, 'base64');
  hash[0] ^= 1;
  root.verificationMaterial.tlogEntries[0].inclusionProof.rootHash = hash.toString('base64');
  t.throws(() => verifyBundle(root, { trust: publicGood, policy: BRIAN }), {
    code: 'TLOG_INVALID',
    message: /inclusion proof root hash [0-9a-f]{64} is not the signed checkpoint's/,
  });
  const size = structuredClone(b);
  size.verificationMaterial.tlogEntries[0].inclusionProof.treeSize = String(
    Number(size.verificationMaterial.tlogEntries[0].inclusionProof.treeSize) + 1,
  );
  t.throws(() => verifyBundle(size, { trust: publicGood, policy: BRIAN }), {
    code: 'TLOG_INVALID',
    message: /inclusion proof is for a tree of size \d+, its signed checkpoint for size \d+/,
  });
});

t.test('digest mode takes sha512 (npm provenance subjects carry only sha512)', async (t) => {
  const b = bundleJSON('bundleV03-dsse.sigstore');
  const subject = JSON.parse(Buffer.from(b.dsseEnvelope.payload, 'base64').toString()).subject[0].digest
    .sha512 as string;
  const r = verifyBundle(b, { trust: publicGood, policy: BRIAN, digest: `sha512:${subject}` });
  t.equal(r.statement?.subject[0].digest.sha512, subject);
  t.throws(() => verifyBundle(b, { trust: publicGood, policy: BRIAN, digest: `sha512:${'0'.repeat(128)}` }), {
    code: 'MANIFEST_DIGEST_MISMATCH',
    message: /sha512:0+ is not a subject/,
  });
  t.throws(
    () => verifyBundle(b, { trust: publicGood, policy: BRIAN, digest: { algorithm: 'sha512', hex: subject.slice(2) } }),
    { code: 'CONFIG_INVALID', message: /sha512 needs 128 hex characters/ },
  );
  // a message signature over sha256 is not matched by a sha512 digest
  const m = bundleJSON('public-key-validity.sigstore.json');
  const trust = toTrust(parseTrustedRoot(readText(`${TD}sigstore-go-public-key-validity-trusted_root.json`)));
  t.throws(
    () =>
      verifyBundle(m, {
        trust,
        digest: `sha512:${'1'.repeat(128)}`,
        ignoreTlog: true,
        policy: { publicKey: readText(`${TD}sigstore-go-public-key-validity.pem`) },
      }),
    {
      code: 'MANIFEST_DIGEST_MISMATCH',
      message: /the bundle signs sha256:[0-9a-f]{64}, expected sha512:1+/,
    },
  );
});
