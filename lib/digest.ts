// Content digests (`<algorithm>:<hex>`): the one place that decides which
// digests sigward accepts, validates and computes them, and derives the tag
// names cosign and the OCI referrers fallback store attachments under.
//
// Accepted algorithms: sha256 and sha512, the two the OCI image spec registers.
// go-digest (and so containerd and Kubernetes' image strings) also takes
// sha384; such an image is a well-formed reference that sigward cannot verify:
// parseDigest throws, so a rule that matches the image fails (Enforce denies).
// Anything else is malformed. Messages use go-digest's words.

import { SigwardError } from './errors.ts';

// node:crypto is looked up on first use: validating a digest string (the
// containerd verifier's cached path) does not load Node's crypto modules.
const createHash: typeof import('node:crypto').createHash = (...a) =>
  process.getBuiltinModule('node:crypto').createHash(...a);

export type DigestAlgorithm = 'sha256' | 'sha512';

/** Hex length per algorithm go-digest knows; `supported` ones are verified by sigward. */
const ALGORITHMS: Record<string, { hexLength: number; supported: boolean }> = {
  sha256: { hexLength: 64, supported: true },
  sha384: { hexLength: 96, supported: false },
  sha512: { hexLength: 128, supported: true },
};

// distribution's digest grammar: algorithm components joined by [-_+.], then hex.
const ALGORITHM_RE = /^[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*$/;
const LOWER_HEX_RE = /^[a-f0-9]+$/;

export interface ParsedDigest {
  algorithm: DigestAlgorithm;
  hex: string;
}

type Problem = 'format' | 'algorithm' | 'length' | 'hex' | undefined;

/** What is wrong with `digest` for go-digest (`supportedOnly`: also for sigward), or undefined. */
function inspect(digest: string, supportedOnly: boolean): { problem: Problem; algorithm: string; hex: string } {
  const i = digest.indexOf(':');
  const algorithm = i > 0 ? digest.slice(0, i) : '';
  const hex = i > 0 ? digest.slice(i + 1) : '';
  const known = Object.hasOwn(ALGORITHMS, algorithm) ? ALGORITHMS[algorithm] : undefined;
  let problem: Problem;
  if (i <= 0 || hex === '') problem = 'format';
  else if (!known || (supportedOnly && !known.supported)) {
    problem = supportedOnly && !ALGORITHM_RE.test(algorithm) ? 'format' : 'algorithm';
  } else if (hex.length !== known.hexLength) problem = 'length';
  else if (!LOWER_HEX_RE.test(hex)) problem = 'hex';
  return { problem, algorithm, hex };
}

/**
 * Why `digest` is not a valid, supported digest, or undefined when it is.
 * The text starts with go-digest's words (`invalid checksum digest format`,
 * `invalid checksum digest length`, `unsupported digest algorithm`).
 */
export function getDigestError(digest: string): string | undefined {
  const { problem, algorithm, hex } = inspect(digest, true);
  switch (problem) {
    case undefined:
      return undefined;
    case 'format':
      return `invalid checksum digest format ${JSON.stringify(clip(digest))}`;
    case 'algorithm':
      return `unsupported digest algorithm ${JSON.stringify(clip(algorithm))} (supported: sha256, sha512)`;
    case 'length':
      return `invalid checksum digest length: ${algorithm} needs ${
        ALGORITHMS[algorithm]!.hexLength
      } hex characters, got ${hex.length}`;
    case 'hex':
      return `invalid checksum digest format: ${algorithm} hex must be lowercase [a-f0-9]`;
  }
}

/**
 * go-digest's own verdict (sha256, sha384, sha512): what Kyverno's image
 * parser and containerd accept. Returns go-digest's error text or undefined.
 */
export function getGoDigestError(digest: string): string | undefined {
  const { problem } = inspect(digest, false);
  if (problem === undefined) return undefined;
  return problem === 'algorithm'
    ? 'unsupported digest algorithm'
    : problem === 'length'
    ? 'invalid checksum digest length'
    : 'invalid checksum digest format';
}

/** True for a well-formed sha256 / sha512 digest. */
export function isDigest(digest: string): boolean {
  return getDigestError(digest) === undefined;
}

/** Splits `sha256:<hex>`; throws REFERENCE_INVALID for malformed or unsupported digests. */
export function parseDigest(digest: string): ParsedDigest {
  const reason = getDigestError(digest);
  if (reason !== undefined) {
    throw new SigwardError('REFERENCE_INVALID', `invalid digest ${JSON.stringify(clip(digest))}: ${reason}`, {
      detail: { digest: clip(digest) },
    });
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

export type DigestTagSuffix = 'sig' | 'att' | 'sbom' | '';

/**
 * The tag cosign stores signatures (`sig`), attestations (`att`) and SBOMs
 * (`sbom`) under: `sha256:<hex>` -> `sha256-<hex>.sig`. Without a suffix it is
 * the OCI referrers tag schema fallback tag `sha256-<hex>`.
 */
export function digestTag(digest: string, suffix: DigestTagSuffix = ''): string {
  const { algorithm, hex } = parseDigest(digest);
  return suffix === '' ? `${algorithm}-${hex}` : `${algorithm}-${hex}.${suffix}`;
}

/** Shortens user input quoted in error messages. */
export function clip(s: string, max = 300): string {
  return s.length > max ? `${s.slice(0, max)}...` : s;
}
