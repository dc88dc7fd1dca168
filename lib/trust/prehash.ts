// Signature verification over a digest the caller already has (sha256:<hex>
// given instead of the artifact). node:crypto always hashes the message
// itself, so ECDSA uses @noble/curves and RSA PKCS#1 v1.5 checks the
// DigestInfo recovered with the public key.

import { constants, type KeyObject, publicDecrypt, timingSafeEqual } from 'node:crypto';
import { p256, p384, p521 } from '@noble/curves/nist.js';
import { SigwardError } from '../errors.ts';

export type PrehashAlgorithm = 'sha256' | 'sha384' | 'sha512';

// DER DigestInfo prefixes (RFC 8017 §9.2 note 1)
const DIGEST_INFO: Record<PrehashAlgorithm, string> = {
  sha256: '3031300d060960864801650304020105000420',
  sha384: '3041300d060960864801650304020205000430',
  sha512: '3051300d060960864801650304020305000440',
};

const DIGEST_LEN: Record<PrehashAlgorithm, number> = { sha256: 32, sha384: 48, sha512: 64 };

/** Verifies `signature` (DER for ECDSA) over a precomputed digest. */
export function verifyPrehashed(
  key: KeyObject,
  digest: Uint8Array,
  signature: Uint8Array,
  algorithm: PrehashAlgorithm = 'sha256',
): boolean {
  if (digest.length !== DIGEST_LEN[algorithm]) return false;
  switch (key.asymmetricKeyType) {
    case 'ec': {
      const jwk = key.export({ format: 'jwk' });
      const curve = jwk.crv === 'P-256' ? p256 : jwk.crv === 'P-384' ? p384 : jwk.crv === 'P-521' ? p521 : undefined;
      if (!curve || !jwk.x || !jwk.y) {
        throw new SigwardError(
          'NOT_IMPLEMENTED',
          `digest verification is not supported for curve ${jwk.crv ?? '(unknown)'}`,
        );
      }
      const point = Buffer.concat([Buffer.from([4]), Buffer.from(jwk.x, 'base64url'), Buffer.from(jwk.y, 'base64url')]);
      try {
        return curve.verify(signature, digest, point, { prehash: false, lowS: false, format: 'der' });
      } catch {
        return false;
      }
    }
    case 'rsa': {
      let decoded: Buffer;
      try {
        decoded = publicDecrypt({ key, padding: constants.RSA_PKCS1_PADDING }, signature);
      } catch {
        return false;
      }
      const expected = Buffer.concat([Buffer.from(DIGEST_INFO[algorithm], 'hex'), digest]);
      return decoded.length === expected.length && timingSafeEqual(decoded, expected);
    }
    default:
      throw new SigwardError(
        'NOT_IMPLEMENTED',
        `a ${key.asymmetricKeyType ?? 'unknown'} signature cannot be verified from a digest; give the artifact itself`,
      );
  }
}
