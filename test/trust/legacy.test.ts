import t from 'tap';
import { createHash } from 'node:crypto';
import { CI, readConnaisseurKeyless, readContainersImageSignature, readText, TD, TV } from '../helpers/fixtures.ts';
import { mintCert, signWith, startSigstore } from '../helpers/sigstore.ts';
import {
  ANNOTATIONS,
  getEmbeddedTrustedRoot,
  type IdentityPolicy,
  type LegacySignatureInput,
  parseTrustedRoot,
  toTrust,
  toTrustedRootFromPEMs,
  verifyLegacyAttestation,
  verifyLegacySignature,
} from '../../lib/trust/index.ts';

const publicGood = toTrust(getEmbeddedTrustedRoot());
const PHILIPP: IdentityPolicy = {
  subject: 'philipp.belitz@securesystems.de',
  issuer: 'https://github.com/login/oauth',
};

function fromAnnotations(payload: Buffer, a: Record<string, string>): Omit<LegacySignatureInput, 'trust'> {
  return {
    payload,
    signatureB64: a[ANNOTATIONS.signature],
    certificatePEM: a[ANNOTATIONS.certificate],
    chainPEM: a[ANNOTATIONS.chain],
    rekorBundleJSON: a[ANNOTATIONS.bundle],
    rfc3161TimestampJSON: a[ANNOTATIONS.rfc3161Timestamp],
  };
}

t.test('Connaisseur keyless signature: public-good root, identity policy', async (t) => {
  const { payload, annotations } = readConnaisseurKeyless();
  const sig = fromAnnotations(payload, annotations);
  const r = verifyLegacySignature({ ...sig, trust: publicGood, policy: PHILIPP });
  t.equal(r.signer.identity?.san, 'philipp.belitz@securesystems.de');
  t.equal(r.signer.identity?.sanType, 'email');
  t.equal(r.signer.identity?.issuer, 'https://github.com/login/oauth');
  t.equal(r.integratedTime?.toISOString(), '2024-05-30T15:18:17.000Z');
  t.equal(r.tlogIndex, '98235800');
  t.same(r.timestamps.map((x) => x.source), ['tlog']);

  const fileRoot = toTrust(parseTrustedRoot(readText(`${TV}trust-roots/public-good-trusted_root.json`)));
  t.ok(
    verifyLegacySignature({
      ...sig,
      trust: fileRoot,
      policy: { subjectRegExp: 'philipp\\.belitz@securesystems\\.de', issuer: PHILIPP.issuer },
    }),
  );

  const mismatch = (policy: IdentityPolicy, name: string) =>
    t.throws(() => verifyLegacySignature({ ...sig, trust: publicGood, policy }), { code: 'IDENTITY_MISMATCH' }, name);
  mismatch({ subject: 'alice@securesystems.de', issuer: PHILIPP.issuer }, 'wrong identity');
  mismatch({ subject: 'belitz@securesystems.de', issuer: PHILIPP.issuer }, 'substring of the identity');
  mismatch({ subject: 'philipp.belitz@securesystems.de.evil.com', issuer: PHILIPP.issuer }, 'superstring');
  mismatch({ subjectRegExp: '^securesystems\\.de$', issuer: PHILIPP.issuer }, 'anchored regex of a substring');
  mismatch({ subjectRegExp: '^philipp.belitz$', issuer: PHILIPP.issuer }, 'anchored regex of a prefix');
  t.doesNotThrow(
    () =>
      verifyLegacySignature({
        ...sig,
        trust: publicGood,
        policy: { subjectRegExp: 'securesystems\\.de', issuer: PHILIPP.issuer },
      }),
    'unanchored regex: part of the identity, as cosign',
  );
  mismatch({ subject: PHILIPP.subject, issuer: 'https://github.com/login' }, 'issuer prefix');
  mismatch({ subject: PHILIPP.subject, issuer: 'https://accounts.google.com' }, 'wrong issuer');

  // tampered payload
  const tampered = Buffer.from(payload.toString().replace('rekor-test', 'rekor-evil'));
  t.throws(() => verifyLegacySignature({ ...sig, payload: tampered, trust: publicGood, policy: PHILIPP }), {
    code: 'SIGNATURE_INVALID',
    message: 'invalid signature',
  });
  // no Rekor bundle
  t.throws(() => verifyLegacySignature({ ...sig, rekorBundleJSON: undefined, trust: publicGood, policy: PHILIPP }), {
    code: 'TLOG_MISSING',
    message: 'signature not found in transparency log',
  });
  // ignoring the tlog: the 10-minute certificate is checked against the clock (cosign) and has expired
  t.throws(() => verifyLegacySignature({ ...sig, ignoreTlog: true, trust: publicGood, policy: PHILIPP }), {
    code: 'CERTIFICATE_INVALID',
    message: /not valid at/,
  });
  t.ok(
    verifyLegacySignature({
      ...sig,
      ignoreTlog: true,
      now: new Date('2024-05-30T15:20:00Z'),
      trust: publicGood,
      policy: PHILIPP,
    }),
    'with a clock inside the validity window',
  );
  // forged SET
  const bundle = JSON.parse(sig.rekorBundleJSON as string);
  const set = Buffer.from(bundle.SignedEntryTimestamp, 'base64');
  set[set.length - 2] ^= 0x01;
  bundle.SignedEntryTimestamp = set.toString('base64');
  t.throws(
    () =>
      verifyLegacySignature({ ...sig, rekorBundleJSON: JSON.stringify(bundle), trust: publicGood, policy: PHILIPP }),
    {
      code: 'TLOG_INVALID',
      message: /SET/,
    },
  );
  // integrated time moved: SET no longer verifies
  const moved = JSON.parse(sig.rekorBundleJSON as string);
  moved.Payload.integratedTime += 1;
  t.throws(
    () => verifyLegacySignature({ ...sig, rekorBundleJSON: JSON.stringify(moved), trust: publicGood, policy: PHILIPP }),
    { code: 'TLOG_INVALID' },
  );
});

t.test('chain annotation intermediates work with only the root trusted', async (t) => {
  const { payload, annotations } = readConnaisseurKeyless();
  const sig = fromAnnotations(payload, annotations);
  const trust = toTrust(
    toTrustedRootFromPEMs({
      fulcioRoots: readText(`${CI}fulcio_v1.crt.pem`),
      rekorKeys: readText(`${TD}rekor-public-good.pub`),
      ctlogKeys: readText(`${TD}ctfe-2022-public-good.pub`),
    }),
  );
  t.ok(verifyLegacySignature({ ...sig, trust, policy: PHILIPP }));
  t.throws(() => verifyLegacySignature({ ...sig, chainPEM: undefined, trust, policy: PHILIPP }), {
    code: 'CERTIFICATE_INVALID',
    message: /no path/,
  });
});

t.test('containers/image: Fulcio + Rekor from PEM files', async (t) => {
  const { payload, annotations } = readContainersImageSignature('dir-img-cosign-fulcio-rekor-valid');
  const sig = fromAnnotations(payload, annotations);
  const policy = { subject: 'mitr@redhat.com', issuer: 'https://github.com/login/oauth' };
  const pems = {
    fulcioRoots: readText(`${CI}fulcio_v1.crt.pem`) + readText(`${CI}fulcio-chain`),
    rekorKeys: readText(`${TD}rekor-public-good.pub`),
  };
  const noCT = toTrust(toTrustedRootFromPEMs(pems));
  const r = verifyLegacySignature({ ...sig, trust: noCT, policy, ignoreSCT: true });
  t.equal(r.integratedTime?.toISOString(), '2023-01-20T20:51:33.000Z');
  t.throws(
    () => verifyLegacySignature({ ...sig, trust: noCT, policy }),
    { code: 'SCT_INVALID' },
    'SCT needs a CT log key',
  );
  const withCT = toTrust(toTrustedRootFromPEMs({ ...pems, ctlogKeys: readText(`${TD}ctfe-2022-public-good.pub`) }));
  t.ok(verifyLegacySignature({ ...sig, trust: withCT, policy }));
  t.ok(verifyLegacySignature({ ...sig, trust: publicGood, policy }));
  // a Rekor key that is not the log's
  const wrongRekor = toTrust(toTrustedRootFromPEMs({ ...pems, rekorKeys: readText(`${CI}cosign.pub`) }));
  t.throws(() => verifyLegacySignature({ ...sig, trust: wrongRekor, policy, ignoreSCT: true }), {
    code: 'TLOG_INVALID',
    message: /not trusted/,
  });
  // untrusted CA: the private PKI root instead of Fulcio's
  const otherCA = toTrust(toTrustedRootFromPEMs({ ...pems, fulcioRoots: readText(`${CI}pki_root_crts.pem`) }));
  t.throws(() => verifyLegacySignature({ ...sig, trust: otherCA, policy, ignoreSCT: true }), {
    code: 'CERTIFICATE_INVALID',
  });
});

t.test('containers/image: key + Rekor SET', async (t) => {
  const { payload, annotations } = readContainersImageSignature('dir-img-cosign-key-rekor-valid');
  const sig = fromAnnotations(payload, annotations);
  const trust = toTrust(toTrustedRootFromPEMs({ rekorKeys: readText(`${TD}rekor-public-good.pub`) }));
  // the fixture is signed by cosign2.pub (the one logged in the Rekor entry)
  const r = verifyLegacySignature({ ...sig, trust, key: readText(`${CI}cosign2.pub`) });
  t.equal(r.tlogIndex, '11608800');
  t.equal(r.signer.identity, undefined);
  t.equal(
    r.signer.keyId,
    createHash('sha256').update(Buffer.from(readText(`${CI}cosign2.pub`).replace(/-----[^-]+-----|\s/g, ''), 'base64'))
      .digest('hex'),
  );
  t.throws(() => verifyLegacySignature({ ...sig, trust, key: readText(`${CI}cosign.pub`) }), {
    code: 'SIGNATURE_INVALID',
    message: 'invalid signature',
  }, 'wrong key');
  t.throws(
    () => verifyLegacySignature({ ...sig, rekorBundleJSON: undefined, trust, key: readText(`${CI}cosign2.pub`) }),
    {
      code: 'TLOG_MISSING',
    },
  );
  t.ok(
    verifyLegacySignature({
      ...sig,
      rekorBundleJSON: undefined,
      ignoreTlog: true,
      trust,
      key: readText(`${CI}cosign2.pub`),
    }),
  );
  // a key without transparency log needs no trust root: one whose parts cannot be read is never read
  const unreadable = (part: string) => {
    throw new Error(`the trust root's ${part} was read`);
  };
  const untouched = {
    sources: ['never made'],
    get root() {
      return unreadable('root');
    },
    material: Object.defineProperties({}, {
      certificateAuthorities: { get: () => unreadable('certificate authorities'), enumerable: true },
      timestampAuthorities: { get: () => unreadable('timestamp authorities'), enumerable: true },
      tlogs: { get: () => unreadable('transparency logs'), enumerable: true },
      ctlogs: { get: () => unreadable('CT logs'), enumerable: true },
      publicKey: { get: () => unreadable('key finder'), enumerable: true },
    }),
  } as unknown as Parameters<typeof verifyLegacySignature>[0]['trust'];
  const ignored = { ...sig, rekorBundleJSON: undefined, ignoreTlog: true, key: readText(`${CI}cosign2.pub`) };
  t.ok(verifyLegacySignature({ ...ignored, trust: untouched }), 'verified without reading the trust root');
  t.throws(() => verifyLegacySignature({ ...ignored, trust: untouched, key: readText(`${CI}cosign.pub`) }), {
    code: 'SIGNATURE_INVALID',
  }, 'and a wrong key still fails');
  const tampered = Buffer.from(payload);
  tampered[tampered.length - 3] ^= 1;
  t.throws(() => verifyLegacySignature({ ...sig, payload: tampered, trust, key: readText(`${CI}cosign2.pub`) }), {
    code: 'SIGNATURE_INVALID',
  });
  // keyless requested for a key-signed layer
  t.throws(() => verifyLegacySignature({ ...sig, trust, policy: {} }), {
    code: 'SIGNATURE_INVALID',
    message: /signed with a key/,
  });
});

t.test('containers/image: private PKI without transparency log', async (t) => {
  const { payload, annotations } = readContainersImageSignature('dir-img-cosign-pki-valid');
  const sig = fromAnnotations(payload, annotations);
  const trust = toTrust(
    toTrustedRootFromPEMs({
      fulcioRoots: readText(`${CI}pki_root_crts.pem`) + readText(`${CI}pki_intermediate_crts.pem`),
    }),
  );
  const opts = { ignoreTlog: true, ignoreSCT: true };
  const r = verifyLegacySignature({ ...sig, ...opts, trust, policy: { subject: 'qiwan@redhat.com' } });
  t.same(r.timestamps.map((x) => x.source), ['now']);
  t.ok(verifyLegacySignature({ ...sig, ...opts, trust, policy: { subject: 'myhost.example.com' } }), 'DNS SAN');
  // the private CA as an option, root only: the chain annotation supplies the intermediate
  t.ok(
    verifyLegacySignature({
      ...sig,
      ...opts,
      trust: publicGood,
      ca: { roots: readText(`${CI}pki_root_crts.pem`) },
      policy: {},
    }),
  );
  t.ok(
    verifyLegacySignature({
      ...sig,
      ...opts,
      chainPEM: undefined,
      trust: publicGood,
      ca: { roots: readText(`${CI}pki_root_crts.pem`), intermediates: readText(`${CI}pki_intermediate_crts.pem`) },
      policy: {},
    }),
    'cosign --ca-roots/--ca-intermediates',
  );
  t.throws(
    () =>
      verifyLegacySignature({
        ...sig,
        ...opts,
        chainPEM: undefined,
        trust: publicGood,
        ca: { roots: readText(`${CI}pki_root_crts.pem`) },
        policy: {},
      }),
    {
      code: 'CERTIFICATE_INVALID',
    },
  );
  t.throws(() => verifyLegacySignature({ ...sig, ...opts, trust: publicGood, policy: {} }), {
    code: 'CERTIFICATE_INVALID',
  }, 'not a Fulcio cert');
  t.throws(() => verifyLegacySignature({ ...sig, ...opts, trust, policy: { subject: 'qiwan@redhat' } }), {
    code: 'IDENTITY_MISMATCH',
  });
  t.throws(() => verifyLegacySignature({ ...sig, ignoreTlog: true, trust, policy: {} }), { code: 'SCT_INVALID' });
  t.throws(() => verifyLegacySignature({ ...sig, ignoreSCT: true, trust, policy: {} }), { code: 'TLOG_MISSING' });
  t.throws(() => verifyLegacySignature({ ...sig, ...opts, now: new Date('2060-01-01T00:00:00Z'), trust, policy: {} }), {
    code: 'CERTIFICATE_INVALID',
    message: /not valid at 2060/,
  });
  t.throws(() => verifyLegacySignature({ ...sig, ...opts, trust }), { code: 'POLICY_INVALID' });
  t.throws(
    () => verifyLegacySignature({ ...sig, ...opts, payload: Buffer.from('x'), trust, policy: { subjectRegExp: '[' } }),
    {
      code: 'POLICY_INVALID',
    },
    'policy errors come before signature errors',
  );
});

t.test('private PKI leaf without code-signing usage is rejected', async (t) => {
  const root = await mintCert({ name: 'Root', ca: true });
  const payload = Buffer.from('{"critical":{}}');
  const trust = toTrust(toTrustedRootFromPEMs({ fulcioRoots: root.pem }));
  const opts = { ignoreTlog: true, ignoreSCT: true, trust, policy: { subject: 'dev@example.com' } };
  const good = await mintCert({ name: 'Signer', issuer: root, email: 'dev@example.com' });
  t.ok(
    verifyLegacySignature({
      ...opts,
      payload,
      signatureB64: signWith(good.keys, payload).toString('base64'),
      certificatePEM: good.pem,
    }),
  );
  const tls = await mintCert({ name: 'TLS', issuer: root, email: 'dev@example.com', eku: ['1.3.6.1.5.5.7.3.1'] });
  t.throws(
    () =>
      verifyLegacySignature({
        ...opts,
        payload,
        signatureB64: signWith(tls.keys, payload).toString('base64'),
        certificatePEM: tls.pem,
      }),
    {
      code: 'CERTIFICATE_INVALID',
      message: /code signing/,
    },
  );
});

t.test('minted keyless signatures: Rekor body binding, validity, CA', async (t) => {
  const mock = await startSigstore({ aheadMs: 60_000 });
  const trust = toTrust(parseTrustedRoot(mock.trustedRoot));
  const payload = Buffer.from('{"critical":{"image":{"docker-manifest-digest":"sha256:00"}}}');
  const policy = {
    subjectWildcard: 'https://github.com/acme/*',
    issuer: 'https://token.actions.githubusercontent.com',
    extensions: { githubWorkflowTrigger: 'push' },
  };
  const s = await mock.signKeyless(payload);
  const base = {
    payload,
    signatureB64: s.signatureB64,
    certificatePEM: s.certificatePEM,
    rekorBundleJSON: s.rekorBundleJSON,
    trust,
    policy,
  };
  t.ok(verifyLegacySignature(base));

  // Rekor entry for another signature over the same payload (validly logged)
  const other = await mock.signKeyless(payload);
  t.throws(() => verifyLegacySignature({ ...base, rekorBundleJSON: other.rekorBundleJSON }), { code: 'TLOG_INVALID' });
  // entry logs this signature and digest but another signer's certificate
  const foreignCert = await mock.signKeyless(payload, {
    logBody: (b: any) => ({ ...b, spec: { ...b.spec, signature: { ...b.spec.signature, content: s.signatureB64 } } }),
  });
  t.throws(() => verifyLegacySignature({ ...base, rekorBundleJSON: foreignCert.rekorBundleJSON }), {
    code: 'TLOG_INVALID',
    message: /another certificate/,
  });
  // entry for another payload
  const otherPayload = await mock.signKeyless(Buffer.from('other'));
  t.throws(
    () =>
      verifyLegacySignature({
        ...base,
        payload: Buffer.from('other'),
        signatureB64: otherPayload.signatureB64,
        certificatePEM: otherPayload.certificatePEM,
      }),
    {
      code: 'TLOG_INVALID',
    },
  );
  // untrusted CA
  const stranger = await startSigstore({ aheadMs: 60_000 });
  const strangerTrust = toTrust(
    parseTrustedRoot({
      ...mock.trustedRoot,
      certificateAuthorities: (stranger.trustedRoot as any).certificateAuthorities,
    }),
  );
  t.throws(() => verifyLegacySignature({ ...base, trust: strangerTrust }), { code: 'CERTIFICATE_INVALID' });
  // certificate expired at the integrated time
  const clock = new Date(Date.now() + 60_000);
  const late = await startSigstore({ aheadMs: 60_000, clock, tlogClock: new Date(clock.getTime() + 11 * 60_000) });
  const sl = await late.signKeyless(payload);
  t.throws(
    () =>
      verifyLegacySignature({
        payload,
        signatureB64: sl.signatureB64,
        certificatePEM: sl.certificatePEM,
        rekorBundleJSON: sl.rekorBundleJSON,
        trust: toTrust(parseTrustedRoot(late.trustedRoot)),
        policy,
      }),
    { code: 'CERTIFICATE_INVALID', message: /not valid at/ },
  );
  // missing SCT
  const noCT = await startSigstore({ aheadMs: 60_000, withCT: false });
  const sn = await noCT.signKeyless(payload);
  const noCTInput = {
    payload,
    signatureB64: sn.signatureB64,
    certificatePEM: sn.certificatePEM,
    rekorBundleJSON: sn.rekorBundleJSON,
    trust: toTrust(parseTrustedRoot(noCT.trustedRoot)),
    policy,
  };
  t.throws(() => verifyLegacySignature(noCTInput), { code: 'SCT_INVALID' });
  t.ok(verifyLegacySignature({ ...noCTInput, ignoreSCT: true }));
});

t.test('minted key signature with Rekor SET', async (t) => {
  const mock = await startSigstore({ aheadMs: 60_000 });
  const trust = toTrust(parseTrustedRoot(mock.trustedRoot));
  const payload = Buffer.from('payload');
  const s = await mock.signWithKey(payload);
  t.ok(
    verifyLegacySignature({
      payload,
      signatureB64: s.signatureB64,
      rekorBundleJSON: s.rekorBundleJSON,
      trust,
      key: s.publicKeyPEM,
    }),
  );
  const s2 = await mock.signWithKey(payload);
  t.throws(
    () =>
      verifyLegacySignature({
        payload,
        signatureB64: s.signatureB64,
        rekorBundleJSON: s2.rekorBundleJSON,
        trust,
        key: s.publicKeyPEM,
      }),
    {
      code: 'TLOG_INVALID',
    },
  );
});

t.test('legacy attestations (.att): intoto 0.0.1 and dsse 0.0.1 entries', async (t) => {
  const mock = await startSigstore({ aheadMs: 60_000 });
  const trust = toTrust(parseTrustedRoot(mock.trustedRoot));
  const policy = {
    subject: 'https://github.com/acme/app/.github/workflows/release.yml@refs/heads/main',
    issuer: 'https://token.actions.githubusercontent.com',
  };
  const statement = {
    _type: 'https://in-toto.io/Statement/v0.1',
    predicateType: 'https://cosign.sigstore.dev/attestation/v1',
    subject: [{ name: 'registry.local/app', digest: { sha256: 'a'.repeat(64) } }],
    predicate: { Data: 'hello', Timestamp: '2024-01-01T00:00:00Z' },
  };
  for (const kind of ['intoto', 'dsse'] as const) {
    const a = await mock.signAttestation(statement, kind);
    const input = {
      payload: a.envelope,
      signatureB64: '',
      certificatePEM: a.certificatePEM,
      rekorBundleJSON: a.rekorBundleJSON,
      trust,
      policy,
    };
    const r = verifyLegacyAttestation(input);
    t.equal(r.statement?.predicateType, statement.predicateType, kind);
    t.equal(r.payloadType, 'application/vnd.in-toto+json');
    t.same(r.statement?.subject, statement.subject);
    // swap in another attestation's (validly logged) entry
    const b = await mock.signAttestation(statement, kind);
    t.throws(
      () => verifyLegacyAttestation({ ...input, rekorBundleJSON: b.rekorBundleJSON }),
      { code: 'TLOG_INVALID' },
      `${kind} foreign entry`,
    );
    // forged SET (for intoto 0.0.1 only sigward checks it: @sigstore/verify cannot)
    const forged = JSON.parse(a.rekorBundleJSON);
    const set = Buffer.from(forged.SignedEntryTimestamp, 'base64');
    set[set.length - 2] ^= 1;
    forged.SignedEntryTimestamp = set.toString('base64');
    t.throws(() => verifyLegacyAttestation({ ...input, rekorBundleJSON: JSON.stringify(forged) }), {
      code: 'TLOG_INVALID',
      message: /SET/,
    }, `${kind} forged SET`);
    // tamper with the statement
    const env = JSON.parse(a.envelope.toString());
    env.payload = Buffer.from(JSON.stringify({ ...statement, predicate: { Data: 'evil' } })).toString('base64');
    t.throws(() => verifyLegacyAttestation({ ...input, payload: Buffer.from(JSON.stringify(env)) }), {
      code: 'SIGNATURE_INVALID',
    }, `${kind} tampered`);
  }
  const a = await mock.signAttestation(statement, 'dsse');
  const env = JSON.parse(a.envelope.toString());
  env.signatures.push(env.signatures[0]);
  t.throws(
    () =>
      verifyLegacyAttestation({
        payload: Buffer.from(JSON.stringify(env)),
        certificatePEM: a.certificatePEM,
        rekorBundleJSON: a.rekorBundleJSON,
        trust,
        policy,
      }),
    {
      code: 'PAYLOAD_INVALID',
      message: /exactly one signature/,
    },
  );
});

t.test('RFC 3161 timestamps as trusted signing time (cosign --insecure-ignore-tlog + TSA)', async (t) => {
  const mock = await startSigstore({ aheadMs: 60_000, withTSA: true });
  const trust = toTrust(parseTrustedRoot(mock.trustedRoot));
  const policy = {
    subject: 'https://github.com/acme/app/.github/workflows/release.yml@refs/heads/main',
    issuer: 'https://token.actions.githubusercontent.com',
  };
  const payload = Buffer.from('{"critical":{}}');
  const s = await mock.signKeyless(payload);
  // .sig: the timestamp covers the raw signature bytes
  const ts = await mock.timestamp(s.signature);
  const base = {
    payload,
    signatureB64: s.signatureB64,
    certificatePEM: s.certificatePEM,
    trust,
    policy,
    ignoreTlog: true,
    rfc3161TimestampJSON: ts,
  };
  const r = verifyLegacySignature(base);
  t.same(r.timestamps.map((x) => x.source), ['tsa']);
  const otherTS = await mock.timestamp(payload);
  t.throws(
    () => verifyLegacySignature({ ...base, rfc3161TimestampJSON: otherTS }),
    { code: 'TIMESTAMP_INVALID' },
    'timestamp over other data',
  );
  t.throws(() => verifyLegacySignature({ ...base, rfc3161TimestampJSON: '{"SignedRFC3161Timestamp":"AAAA"}' }), {
    code: 'TIMESTAMP_INVALID',
  });
  // both the SET and the timestamp
  t.same(
    verifyLegacySignature({ ...base, ignoreTlog: false, rekorBundleJSON: s.rekorBundleJSON }).timestamps.map((x) =>
      x.source
    ),
    ['tlog', 'tsa'],
  );
  // .att: the timestamp covers the envelope bytes
  const statement = {
    _type: 'https://in-toto.io/Statement/v1',
    predicateType: 'https://example.com/p',
    subject: [{ digest: { sha256: 'b'.repeat(64) } }],
    predicate: {},
  };
  const a = await mock.signAttestation(statement, 'dsse');
  const att = { payload: a.envelope, certificatePEM: a.certificatePEM, trust, policy, ignoreTlog: true };
  t.ok(verifyLegacyAttestation({ ...att, rfc3161TimestampJSON: await mock.timestamp(a.envelope) }));
  const sigOnly = Buffer.from(JSON.parse(a.envelope.toString()).signatures[0].sig, 'base64');
  const sigTS = await mock.timestamp(sigOnly);
  t.throws(() => verifyLegacyAttestation({ ...att, rfc3161TimestampJSON: sigTS }), { code: 'TIMESTAMP_INVALID' });
});
