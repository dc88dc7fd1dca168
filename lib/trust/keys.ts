// PEM blocks, public keys and certificates: small converters shared by the
// trust modules. Everything here is pure (bytes in, objects out).

import { createHash, createPublicKey, type KeyObject } from 'node:crypto';
import { X509Certificate } from '@sigstore/core';
import { PublicKeyDetails } from '@sigstore/protobuf-specs';
import { SigwardError } from '../errors.ts';

export interface PEMBlock {
  /** the label after BEGIN, e.g. "CERTIFICATE" or "PUBLIC KEY" */
  type: string;
  der: Buffer<ArrayBuffer>;
}

const PEM_RE = /-----BEGIN ([A-Z0-9 ]+)-----([\s\S]*?)-----END \1-----/g;

/** Every PEM block of a text, in order. Text outside the blocks is ignored. */
export function getPEMBlocks(text: string): PEMBlock[] {
  const out: PEMBlock[] = [];
  for (const m of text.matchAll(PEM_RE)) {
    const body = m[2].replace(/[^A-Za-z0-9+/=]/g, '');
    out.push({ type: m[1], der: Buffer.from(body, 'base64') });
  }
  return out;
}

export function toPEM(der: Uint8Array, type: string): string {
  const b64 = Buffer.from(der).toString('base64');
  const lines = b64.match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${type}-----\n${lines.join('\n')}\n-----END ${type}-----\n`;
}

function toBuffer(u: Uint8Array): Buffer<ArrayBuffer> {
  return Buffer.from(u.buffer.slice(u.byteOffset, u.byteOffset + u.byteLength) as ArrayBuffer);
}

/**
 * @sigstore/core parses certificate fields lazily: a malformed certificate
 * throws a TypeError from whatever getter first touches the bad part, deep
 * inside chain building. Touch every field verification reads, once, so that
 * a malformed certificate fails here, as a parse error.
 */
function checkParsed(c: X509Certificate): X509Certificate {
  void [c.subject, c.issuer, c.notBefore, c.notAfter, c.publicKey, c.signatureValue, c.signatureAlgorithm];
  void [
    c.extKeyUsage?.digitalSignature,
    c.extKeyUsage?.keyCertSign,
    c.extBasicConstraints?.isCA,
    c.extBasicConstraints?.pathLenConstraint,
  ];
  void [
    c.extSubjectAltName?.uri,
    c.extSubjectAltName?.rfc822Name,
    c.extAuthorityKeyID?.keyIdentifier,
    c.extSubjectKeyID?.keyIdentifier,
  ];
  return c;
}

/** Parses one certificate given as PEM text, DER bytes or an already parsed certificate. */
export function toCertificate(input: X509Certificate | Uint8Array | string): X509Certificate {
  if (input instanceof X509Certificate) return input;
  try {
    if (typeof input === 'string') {
      const block = getPEMBlocks(input).find((b) => b.type === 'CERTIFICATE');
      if (!block) throw new Error('no CERTIFICATE PEM block');
      return checkParsed(X509Certificate.parse(block.der));
    }
    return checkParsed(X509Certificate.parse(toBuffer(input)));
  } catch (e) {
    throw new SigwardError('CERTIFICATE_INVALID', `cannot parse certificate: ${errText(e)}`, { cause: e });
  }
}

/** All certificates of a PEM bundle (any number of CERTIFICATE blocks), or of one DER blob. */
export function parseCertificates(input: string | Uint8Array): X509Certificate[] {
  if (typeof input !== 'string') return [toCertificate(input)];
  const blocks = getPEMBlocks(input).filter((b) => b.type === 'CERTIFICATE');
  return blocks.map((b) => {
    try {
      return checkParsed(X509Certificate.parse(b.der));
    } catch (e) {
      throw new SigwardError('CERTIFICATE_INVALID', `cannot parse certificate: ${errText(e)}`, { cause: e });
    }
  });
}

export type PublicKeyInput = KeyObject | string | Uint8Array;

/** The public key of one PEM block: PUBLIC KEY (SPKI), RSA PUBLIC KEY (PKCS#1) or CERTIFICATE (its subject key); undefined for other labels. */
export function toBlockPublicKey(block: PEMBlock): KeyObject | undefined {
  switch (block.type) {
    case 'CERTIFICATE':
      return createPublicKey({ key: X509Certificate.parse(block.der).publicKey, format: 'der', type: 'spki' });
    case 'RSA PUBLIC KEY':
      return createPublicKey({ key: block.der, format: 'der', type: 'pkcs1' });
    case 'PUBLIC KEY':
      return createPublicKey({ key: block.der, format: 'der', type: 'spki' });
    default:
      return undefined;
  }
}

/**
 * Converts a public key given as KeyObject, PEM (PUBLIC KEY, RSA PUBLIC KEY or
 * a CERTIFICATE, whose key is used) or SPKI DER into a KeyObject.
 */
export function toPublicKey(input: PublicKeyInput): KeyObject {
  if (typeof input === 'object' && !(input instanceof Uint8Array)) {
    if (input.type !== 'public') {
      throw new SigwardError('KEY_INVALID', 'a public key is required, got a private or secret key');
    }
    return input;
  }
  try {
    if (typeof input === 'string') {
      const blocks = getPEMBlocks(input);
      // a certificate wins over a bare key in the same text
      const block = blocks.find((b) => b.type === 'CERTIFICATE') ?? blocks.find((b) => b.type === 'RSA PUBLIC KEY') ??
        blocks.find((b) => b.type === 'PUBLIC KEY');
      if (block) return toBlockPublicKey(block)!;
      throw new Error('no PUBLIC KEY or CERTIFICATE PEM block found');
    }
    return createPublicKey({ key: toBuffer(input), format: 'der', type: 'spki' });
  } catch (e) {
    if (e instanceof SigwardError) throw e;
    throw new SigwardError('KEY_INVALID', `cannot parse public key: ${errText(e)}`, { cause: e });
  }
}

/** The elliptic curves Sigstore and cosign use, by Node's and JOSE's names. */
const CURVES: Record<string, { name: 'P-256' | 'P-384' | 'P-521'; details: PublicKeyDetails }> = {
  prime256v1: { name: 'P-256', details: PublicKeyDetails.PKIX_ECDSA_P256_SHA_256 },
  secp384r1: { name: 'P-384', details: PublicKeyDetails.PKIX_ECDSA_P384_SHA_384 },
  secp521r1: { name: 'P-521', details: PublicKeyDetails.PKIX_ECDSA_P521_SHA_512 },
};
for (const c of Object.values(CURVES)) CURVES[c.name] = c;

/** `P-256`, `P-384` or `P-521` for an EC key on one of those curves; undefined otherwise. */
export function getCurveName(key: KeyObject): 'P-256' | 'P-384' | 'P-521' | undefined {
  const curve = key.asymmetricKeyDetails?.namedCurve;
  return curve === undefined ? undefined : CURVES[curve]?.name;
}

/** DER SubjectPublicKeyInfo of a key. */
export function toSPKI(key: KeyObject): Buffer<ArrayBuffer> {
  return key.export({ format: 'der', type: 'spki' }) as Buffer<ArrayBuffer>;
}

/** Key ids computed, per key (a KeyObject never changes; a policy's key is asked for on every verification). */
const keyIds = new WeakMap<KeyObject, string>();

/** Hex sha256 of the SPKI DER: the Rekor/CT log id and a stable key id. */
export function getKeyId(key: KeyObject): string {
  let id = keyIds.get(key);
  if (id === undefined) keyIds.set(key, id = createHash('sha256').update(toSPKI(key)).digest('hex'));
  return id;
}

/** The protobuf-specs key details for a key (used in synthetic trusted roots). */
export function getKeyDetails(key: KeyObject): PublicKeyDetails {
  switch (key.asymmetricKeyType) {
    case 'ec': {
      const curve = key.asymmetricKeyDetails?.namedCurve;
      const known = curve === undefined ? undefined : CURVES[curve];
      if (known) return known.details;
      throw new SigwardError('KEY_INVALID', `unsupported elliptic curve ${curve ?? '(unknown)'}`);
    }
    case 'ed25519':
      return PublicKeyDetails.PKIX_ED25519;
    case 'rsa': {
      const bits = key.asymmetricKeyDetails?.modulusLength;
      if (bits === 2048) return PublicKeyDetails.PKIX_RSA_PKCS1V15_2048_SHA256;
      if (bits === 3072) return PublicKeyDetails.PKIX_RSA_PKCS1V15_3072_SHA256;
      if (bits === 4096) return PublicKeyDetails.PKIX_RSA_PKCS1V15_4096_SHA256;
      return PublicKeyDetails.PKIX_RSA_PKCS1V5;
    }
    default:
      throw new SigwardError('KEY_INVALID', `unsupported key type ${key.asymmetricKeyType ?? '(unknown)'}`);
  }
}

/** Human readable key type: "ECDSA P-256", "Ed25519", "RSA 4096". */
export function describeKey(key: KeyObject): string {
  switch (key.asymmetricKeyType) {
    case 'ec':
      return `ECDSA ${getCurveName(key) ?? key.asymmetricKeyDetails?.namedCurve}`;
    case 'ed25519':
      return 'Ed25519';
    case 'rsa':
      return `RSA ${key.asymmetricKeyDetails?.modulusLength ?? ''}`.trim();
    default:
      return key.asymmetricKeyType ?? 'unknown';
  }
}

export function sha256(data: Uint8Array | string): Buffer {
  return createHash('sha256').update(data).digest();
}

export function errText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** Standard or URL-safe base64 with optional whitespace → bytes; throws on garbage. */
export function decodeBase64(s: string, what: string): Buffer {
  const clean = s.replace(/\s+/g, '');
  if (!/^[A-Za-z0-9+/_-]*={0,2}$/.test(clean)) {
    throw new SigwardError('SIGNATURE_INVALID', `${what} is not valid base64`);
  }
  return Buffer.from(clean.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
}

/** SPKI equality of two keys/certificates (e.g. Kyverno certificates.cert vs. the signature's certificate). */
export function samePublicKey(a: PublicKeyInput, b: PublicKeyInput): boolean {
  return toSPKI(toPublicKey(a)).equals(toSPKI(toPublicKey(b)));
}
