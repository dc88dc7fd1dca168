// Content digests: `<algorithm>:<hex>` as OCI uses them (sha256, sha512).

import { createHash } from 'node:crypto';
import { SigwardError } from '../errors.ts';

const DIGEST_RE = /^(sha256:[a-f0-9]{64}|sha512:[a-f0-9]{128})$/;

export type DigestAlgorithm = 'sha256' | 'sha512';

export function isDigest(s: string): boolean {
  return DIGEST_RE.test(s);
}

/** Splits `sha256:<hex>`; throws REFERENCE_INVALID for anything else. */
export function parseDigest(digest: string): { algorithm: DigestAlgorithm; hex: string } {
  if (!isDigest(digest)) {
    throw new SigwardError('REFERENCE_INVALID', `invalid digest ${JSON.stringify(digest)}: expected sha256:<64 hex> or sha512:<128 hex>`);
  }
  const i = digest.indexOf(':');
  return { algorithm: digest.slice(0, i) as DigestAlgorithm, hex: digest.slice(i + 1) };
}

export function computeDigest(bytes: Uint8Array, algorithm: DigestAlgorithm = 'sha256'): string {
  return `${algorithm}:${createHash(algorithm).update(bytes).digest('hex')}`;
}

/** Throws CONTENT_DIGEST_MISMATCH unless `bytes` hash to `expected`. */
export function verifyDigest(bytes: Uint8Array, expected: string, what = 'content'): void {
  const { algorithm } = parseDigest(expected);
  const actual = computeDigest(bytes, algorithm);
  if (actual !== expected) {
    throw new SigwardError('CONTENT_DIGEST_MISMATCH', `${what} digest mismatch: expected ${expected}, got ${actual}`, {
      detail: { expected, actual },
    });
  }
}

/** The `sha256-<hex>` tag that the referrers tag schema (and cosign's tag scheme) derive from a digest. */
export function digestTag(digest: string, suffix?: string): string {
  const { algorithm, hex } = parseDigest(digest);
  return `${algorithm}-${hex}${suffix ? `.${suffix}` : ''}`;
}
