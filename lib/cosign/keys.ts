// Public keys as cosign and Kyverno accept them, and signature checks over
// exact payload bytes.
//
// Accepted: PEM `PUBLIC KEY` (SPKI: ECDSA P-256/384/521, RSA, Ed25519),
// `RSA PUBLIC KEY` (PKCS#1), and `CERTIFICATE` (its subject key). A text with
// several PEM blocks yields several keys (Kyverno splits multi-key
// `publicKeys` into one attestor entry per key).

import { type KeyObject, verify as cryptoVerify } from 'node:crypto';
import { SigwardError } from '../errors.ts';
import { getCurveName, getKeyId, getPEMBlocks, toBlockPublicKey, toPEM, toSPKI } from '../trust/keys.ts';

export type HashAlgorithm = 'sha224' | 'sha256' | 'sha384' | 'sha512';

export interface PublicKeyInfo {
  key: KeyObject;
  /** 'ecdsa-p256' | 'ecdsa-p384' | 'ecdsa-p521' | 'rsa' | 'ed25519' */
  type: string;
  /** hex sha256 of the SPKI DER: stable key id for messages and JSON output */
  id: string;
  /** PEM (SPKI) of the key */
  pem: string;
}

export function toPublicKeyInfo(key: KeyObject): PublicKeyInfo {
  return { key, type: describeKeyType(key), id: getKeyId(key), pem: toPEM(toSPKI(key), 'PUBLIC KEY') };
}

export function describeKeyType(key: KeyObject): string {
  switch (key.asymmetricKeyType) {
    case 'ec': {
      const curve = getCurveName(key);
      if (curve) return `ecdsa-${curve.replace('-', '').toLowerCase()}`;
      throw new SigwardError(
        'KEY_INVALID',
        `unsupported elliptic curve ${
          key.asymmetricKeyDetails?.namedCurve ?? 'unknown'
        } (cosign supports P-256, P-384 and P-521)`,
      );
    }
    case 'rsa':
      return 'rsa';
    case 'ed25519':
      return 'ed25519';
    default:
      throw new SigwardError('KEY_INVALID', `unsupported key type ${key.asymmetricKeyType ?? 'unknown'}`);
  }
}

/** Parses every PEM public key (or certificate) in `text`. Throws KEY_INVALID if there is none. */
export function parsePublicKeys(text: string, source = 'public key'): PublicKeyInfo[] {
  const keys: PublicKeyInfo[] = [];
  for (const block of getPEMBlocks(text)) {
    if (block.type.includes('PRIVATE KEY')) {
      throw new SigwardError(
        'KEY_INVALID',
        `${source} holds a private key (${block.type}); give the public key instead`,
      );
    }
    try {
      const key = toBlockPublicKey(block);
      if (key) keys.push(toPublicKeyInfo(key));
    } catch (e) {
      if (e instanceof SigwardError) throw e;
      throw new SigwardError('KEY_INVALID', `${source}: cannot parse ${block.type}: ${(e as Error).message}`, {
        cause: e,
      });
    }
  }
  if (keys.length === 0) throw new SigwardError('KEY_INVALID', `${source}: no PEM public key found`);
  return keys;
}

/** Parses exactly one public key. */
export function parsePublicKey(text: string, source = 'public key'): PublicKeyInfo {
  const keys = parsePublicKeys(text, source);
  if (keys.length !== 1) {
    throw new SigwardError('KEY_INVALID', `${source}: expected one public key, found ${keys.length}`);
  }
  return keys[0]!;
}

/**
 * Checks `signature` over the exact `data` bytes. ECDSA signatures are ASN.1
 * DER (what cosign writes); RSA is PKCS#1 v1.5; Ed25519 signs the message
 * itself (no pre-hash). Returns false on any mismatch, never throws for bad
 * signature bytes.
 */
export function verifySignatureBytes(
  key: KeyObject,
  data: Uint8Array,
  signature: Uint8Array,
  hash: HashAlgorithm = 'sha256',
): boolean {
  try {
    const algorithm = key.asymmetricKeyType === 'ed25519' ? null : hash;
    return cryptoVerify(algorithm, data, key, signature);
  } catch {
    return false;
  }
}
