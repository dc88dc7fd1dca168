// Bugs the fuzzers found, pinned as plain deterministic tests (each failed
// before its fix).

import t from 'tap';
// first: loads the reflect-metadata polyfill @peculiar/x509 needs
import { mintCert, newKeys, signWith, startSigstore } from '../helpers/sigstore.ts';
import * as x509 from '@peculiar/x509';
import { KeyObject } from 'node:crypto';
import { SigwardError } from '../../lib/errors.ts';
import {
  parseCertificates,
  parseTrustedRoot,
  toTrust,
  verifyCertificateChain,
  verifyLegacySignature,
} from '../../lib/trust/index.ts';
import { makeSimpleSigningPayload } from '../../lib/cosign/payload.ts';

/** A leaf whose AuthorityKeyIdentifier extension is not DER at all. */
async function malformedLeaf(root: Awaited<ReturnType<typeof mintCert>>) {
  const keys = await newKeys();
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: '0badc0de',
    subject: 'CN=leaf',
    issuer: root.cert.subject,
    notBefore: new Date(Date.now() - 60_000),
    notAfter: new Date(Date.now() + 3600_000),
    signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' },
    publicKey: keys.publicKey,
    signingKey: root.keys.privateKey,
    extensions: [
      new x509.Extension('2.5.29.35', false, new Uint8Array([0xff])),
      new x509.ExtendedKeyUsageExtension(['1.3.6.1.5.5.7.3.3']),
      new x509.SubjectAlternativeNameExtension([{ type: 'email', value: 'user@example.com' }], true),
    ],
  });
  return { pem: cert.toString('pem'), keys };
}

t.test('a certificate malformed where only chain building looks is a denial, not a crash', async (t) => {
  const root = await mintCert({ name: 'regression root', ca: true });
  const leaf = await malformedLeaf(root);
  const payload = makeSimpleSigningPayload('registry.example/app', 'sha256:' + 'a'.repeat(64), null);
  const signatureB64 = signWith(leaf.keys, payload).toString('base64');
  const ms = await startSigstore({ withX509CA: true });
  const trust = toTrust(parseTrustedRoot(ms.trustedRoot));
  let thrown: unknown;
  try {
    verifyLegacySignature({
      payload,
      signatureB64,
      certificatePEM: leaf.pem,
      trust,
      ca: { roots: root.pem },
      policy: {},
      ignoreTlog: true,
      ignoreSCT: true,
    });
  } catch (e) {
    thrown = e;
  }
  t.ok(thrown instanceof SigwardError, `a SigwardError (got ${String(thrown)})`);
  t.equal((thrown as SigwardError).outcome, 'deny', 'a denial');
  t.equal((thrown as SigwardError).code, 'CERTIFICATE_INVALID');
  t.throws(
    () => verifyCertificateChain(leaf.pem, { roots: parseCertificates(root.pem), intermediates: [], at: new Date() }),
    { code: 'CERTIFICATE_INVALID', message: /cannot parse certificate/ },
  );
  t.ok(KeyObject.from(leaf.keys.publicKey), 'the leaf key itself is fine');
});
