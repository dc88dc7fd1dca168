// Digests as they appear in image references (`algorithm:hex`), checked the
// way opencontainers/go-digest does, and the cosign / referrers tag names
// derived from them.

import { SigwardError } from '../errors.ts';

export type ReferenceDigestAlgorithm = 'sha256' | 'sha512';

/** Hex length per supported algorithm. sha384 (accepted by go-digest) is not supported by sigward. */
const HEX_LENGTH: Record<ReferenceDigestAlgorithm, number> = { sha256: 64, sha512: 128 };

// distribution's digest grammar: algorithm components joined by [-_+.], then hex.
const ALGORITHM_RE = /^[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*$/;
const LOWER_HEX_RE = /^[a-f0-9]+$/;

export interface ParsedDigest {
  algorithm: ReferenceDigestAlgorithm;
  hex: string;
}

/**
 * Returns why `digest` is not a valid, supported digest, or undefined when it is.
 * Messages use go-digest's words.
 */
export function getDigestError(digest: string): string | undefined {
  const i = digest.indexOf(':');
  if (i <= 0 || i === digest.length - 1) return `invalid checksum digest format ${JSON.stringify(clip(digest))}`;
  const algorithm = digest.slice(0, i);
  const hex = digest.slice(i + 1);
  if (!ALGORITHM_RE.test(algorithm)) return `invalid checksum digest format ${JSON.stringify(clip(digest))}`;
  if (!Object.hasOwn(HEX_LENGTH, algorithm)) {
    return `unsupported digest algorithm ${JSON.stringify(clip(algorithm))} (supported: sha256, sha512)`;
  }
  const want = HEX_LENGTH[algorithm as ReferenceDigestAlgorithm];
  if (hex.length !== want) return `invalid checksum digest length: ${algorithm} needs ${want} hex characters, got ${hex.length}`;
  if (!LOWER_HEX_RE.test(hex)) return `invalid checksum digest format: ${algorithm} hex must be lowercase [a-f0-9]`;
  return undefined;
}

export function isReferenceDigest(digest: string): boolean {
  return getDigestError(digest) === undefined;
}

/** Splits `sha256:<hex>`; throws REFERENCE_INVALID for malformed or unsupported digests. */
export function parseReferenceDigest(digest: string): ParsedDigest {
  const reason = getDigestError(digest);
  if (reason !== undefined) {
    throw new SigwardError('REFERENCE_INVALID', `invalid digest ${JSON.stringify(clip(digest))}: ${reason}`, {
      detail: { digest: clip(digest) },
    });
  }
  const i = digest.indexOf(':');
  return { algorithm: digest.slice(0, i) as ReferenceDigestAlgorithm, hex: digest.slice(i + 1) };
}

export type SignatureTagSuffix = 'sig' | 'att' | 'sbom' | '';

/**
 * The tag cosign stores signatures (`sig`), attestations (`att`) and SBOMs
 * (`sbom`) under: `sha256:<hex>` -> `sha256-<hex>.sig`. With suffix '' it is
 * the OCI referrers tag schema fallback tag `sha256-<hex>`.
 */
export function signatureTag(digest: string, suffix: SignatureTagSuffix): string {
  const { algorithm, hex } = parseReferenceDigest(digest);
  return suffix === '' ? `${algorithm}-${hex}` : `${algorithm}-${hex}.${suffix}`;
}

/** Shortens user input quoted in error messages. */
export function clip(s: string, max = 300): string {
  return s.length > max ? `${s.slice(0, max)}...` : s;
}
