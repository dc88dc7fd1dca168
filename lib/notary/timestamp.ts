// RFC 3161 countersignatures of Notary signatures
// (io.cncf.notary.timestampSignature: a TimeStampToken over the signature
// value), checked against the `tsa` trust store: the TSTInfo message imprint
// is the hash of the envelope's signature, the token's signed attributes
// carry the TSTInfo digest and are signed by a certificate the token carries
// (matched by issuer and serial number), that certificate is a timestamping
// certificate chaining to a trusted TSA root at genTime. The result is the
// time range genTime ± accuracy that the signing certificate chain must be
// valid in. Parsing is @sigstore/core's RFC3161Timestamp; the chain is
// lib/trust/chain.ts.

import { constants, createPublicKey, verify as cryptoVerify } from 'node:crypto';
import { ASN1Obj, RFC3161Timestamp, X509Certificate } from '@sigstore/core';
import { SigwardError } from '../errors.ts';
import { getExtendedKeyUsages, verifyCertificateChain } from '../trust/index.ts';
import { subjectText } from './certificates.ts';

export interface VerifiedNotaryTimestamp {
  genTime: Date;
  /** genTime - accuracy, genTime + accuracy */
  lower: Date;
  upper: Date;
  /** [TSA signing certificate, ..., trusted root] */
  chain: X509Certificate[];
}

const OID_TIMESTAMPING = '1.3.6.1.5.5.7.3.8';
const FORBIDDEN_TSA_EKUS: Record<string, string> = {
  '2.5.29.37.0': 'anyExtendedKeyUsage',
  '1.3.6.1.5.5.7.3.1': 'serverAuth',
  '1.3.6.1.5.5.7.3.2': 'clientAuth',
  '1.3.6.1.5.5.7.3.3': 'codeSigning',
  '1.3.6.1.5.5.7.3.4': 'emailProtection',
};
/** ETSI baseline time-stamp policy (RFC 3628): accuracy 1 s when the token gives none */
const BASELINE_POLICY = '0.4.0.2023.1.1';
const HASHES: Record<string, string> = {
  '2.16.840.1.101.3.4.2.1': 'sha256',
  '2.16.840.1.101.3.4.2.2': 'sha384',
  '2.16.840.1.101.3.4.2.3': 'sha512',
};
const ECDSA: Record<string, string> = {
  '1.2.840.10045.4.3.2': 'sha256',
  '1.2.840.10045.4.3.3': 'sha384',
  '1.2.840.10045.4.3.4': 'sha512',
};
const RSA_PKCS1: Record<string, string | undefined> = {
  '1.2.840.113549.1.1.1': undefined, // rsaEncryption: the signer's digest algorithm
  '1.2.840.113549.1.1.11': 'sha256',
  '1.2.840.113549.1.1.12': 'sha384',
  '1.2.840.113549.1.1.13': 'sha512',
};

function bad(msg: string, cause?: unknown): SigwardError {
  return new SigwardError(
    'TIMESTAMP_INVALID',
    `the RFC 3161 countersignature is invalid: ${msg}`,
    cause === undefined ? {} : { cause },
  );
}

function derLength(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n]);
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

/** A TimeStampToken wrapped as a granted TimeStampResp (what RFC3161Timestamp parses). */
function toResponse(token: Uint8Array): Buffer<ArrayBuffer> {
  const status = Buffer.from([0x30, 0x03, 0x02, 0x01, 0x00]);
  const body = Buffer.concat([status, token]);
  return Buffer.concat([Buffer.from([0x30]), derLength(body.length), body]);
}

// the parts of the CMS structure @sigstore/core parses but does not expose
interface TimestampInternals {
  signedDataObj: ASN1Obj;
  signedAttrsObj: ASN1Obj;
  signatureAlgorithmObj: ASN1Obj;
  signerDigestAlgorithmObj: ASN1Obj;
  signatureValue: Buffer;
  verifyMessageDigest(): void;
}

function accuracyMs(ts: RFC3161Timestamp): number {
  const subs = ts.tstInfo.root.subs;
  // TSTInfo: version, policy, messageImprint, serialNumber, genTime, accuracy?, ...
  const acc = subs[5];
  if (
    acc && !acc.tag.isContextSpecific() && acc.tag.number === 16 &&
    acc.subs.every((s) => s.tag.isContextSpecific() || s.tag.number === 2)
  ) {
    let ms = 0;
    for (const s of acc.subs) {
      const v = Number(s.tag.isContextSpecific() ? BigInt('0x' + (s.value.toString('hex') || '0')) : s.toInteger());
      if (!s.tag.isContextSpecific()) ms += v * 1000;
      else if (s.tag.number === 0) ms += v;
      else if (s.tag.number === 1) ms += v / 1000;
    }
    return ms;
  }
  let policy = '';
  try {
    policy = subs[1]!.toOID();
  } catch {
    // no policy OID: accuracy 0
  }
  return policy === BASELINE_POLICY ? 1000 : 0;
}

function verifySignerSignature(ts: RFC3161Timestamp, internals: TimestampInternals, signer: X509Certificate): void {
  const signedAttrs = internals.signedAttrsObj.toDER();
  signedAttrs[0] = 0x31; // [0] IMPLICIT -> SET OF, as signed
  const key = createPublicKey({ key: signer.publicKey, format: 'der', type: 'spki' });
  const sigOid = internals.signatureAlgorithmObj.subs[0]!.toOID();
  const digestOid = internals.signerDigestAlgorithmObj.subs[0]!.toOID();
  let ok = false;
  if (ECDSA[sigOid] && key.asymmetricKeyType === 'ec') {
    ok = cryptoVerify(ECDSA[sigOid], signedAttrs, key, internals.signatureValue);
  } else if (sigOid in RSA_PKCS1 && key.asymmetricKeyType === 'rsa') {
    const hash = RSA_PKCS1[sigOid] ?? HASHES[digestOid];
    if (!hash) throw bad(`unsupported digest algorithm ${digestOid}`);
    ok = cryptoVerify(hash, signedAttrs, { key, padding: constants.RSA_PKCS1_PADDING }, internals.signatureValue);
  } else {
    throw bad(`unsupported signature algorithm ${sigOid} for a ${key.asymmetricKeyType} key`);
  }
  if (!ok) throw bad('the timestamp signature does not verify with the TSA certificate');
  void ts;
}

/**
 * Verifies a Notary countersignature over `signature` with the TSA roots.
 * Throws TIMESTAMP_INVALID (or CERTIFICATE_INVALID for the TSA chain).
 */
export function verifyNotaryTimestamp(
  token: Uint8Array,
  signature: Uint8Array,
  roots: X509Certificate[],
): VerifiedNotaryTimestamp {
  let ts: RFC3161Timestamp;
  let internals: TimestampInternals;
  let certs: X509Certificate[];
  let genTime: Date;
  try {
    ts = RFC3161Timestamp.parse(toResponse(token));
    internals = ts as unknown as TimestampInternals;
    genTime = ts.signingTime;
    const certSet = internals.signedDataObj.subs.find((s) => s.tag.isContextSpecific(0));
    certs = (certSet?.subs ?? []).map((c) => new X509Certificate(c));
  } catch (e) {
    throw bad(`cannot be parsed: ${(e as Error).message}`, e);
  }
  const signer = certs.find((c) => c.serialNumber.equals(ts.signerSerialNumber) && c.issuer.equals(ts.signerIssuer));
  if (!signer) throw bad('the token does not carry its signing certificate');
  try {
    ts.tstInfo.verify(Buffer.concat([signature]));
    internals.verifyMessageDigest();
  } catch (e) {
    throw bad(`it does not cover this signature: ${(e as Error).message}`, e);
  }
  verifySignerSignature(ts, internals, signer);
  const ekus = getExtendedKeyUsages(signer) ?? [];
  if (!ekus.includes(OID_TIMESTAMPING)) {
    throw bad(
      `TSA certificate "${
        subjectText(signer)
      }" is not a timestamping certificate (extended key usage timeStamping missing)`,
    );
  }
  const forbidden = ekus.filter((e) => FORBIDDEN_TSA_EKUS[e]).map((e) => FORBIDDEN_TSA_EKUS[e]);
  if (forbidden.length) {
    throw bad(`TSA certificate "${subjectText(signer)}" must not have extended key usage ${forbidden.join(', ')}`);
  }
  if (!signer.extKeyUsage?.digitalSignature && signer.extension('2.5.29.15')) {
    throw bad(`TSA certificate "${subjectText(signer)}" needs keyUsage digitalSignature`);
  }
  let chain: X509Certificate[];
  try {
    chain = verifyCertificateChain(signer, {
      roots,
      intermediates: certs.filter((c) => c !== signer),
      at: genTime,
      codeSigning: false,
    });
  } catch (e) {
    throw bad(`TSA certificate "${subjectText(signer)}": ${(e as Error).message}`, e);
  }
  const acc = accuracyMs(ts);
  return { genTime, lower: new Date(genTime.getTime() - acc), upper: new Date(genTime.getTime() + acc), chain };
}
