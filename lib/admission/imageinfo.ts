// Image references as Kyverno reads them from admitted objects (its `image` variable and the
// mutateDigest patch). This is NOT Docker's normalisation:
//   - the default registry (`docker.io`) is prepended only when the first path component does
//     not look like a host: no '.' or ':' in it, not `localhost`, and all lowercase;
//   - `library/` is never inserted: `nginx` -> registry `docker.io`, path `nginx`;
//   - the tag defaults to `latest` only when there is neither tag nor digest;
//   - `reference` drops the tag when a digest is present (`registry/path@digest`),
//     `referenceWithTag` is `registry/path:tag`.
// The reference grammar is the one of distribution/reference (lowercase path components,
// host[:port] domain, tag up to 128 chars, digest `algo:hex`), with go-digest's validation
// (sha256/sha384/sha512, lowercase hex of the right length: lib/digest.ts).

import { SigwardError } from '../errors.ts';
import { getGoDigestError } from '../digest.ts';
import { type KyvernoImageVariable, toKyvernoImageInfo } from '../reference/kyverno.ts';

/**
 * Kyverno's image fields (registry, path, name, tag, digest, reference,
 * referenceWithTag): the same shape, built by the same function, as the
 * `image` variable of images sigward parses (lib/reference/kyverno.ts).
 */
export type ImageInfo = KyvernoImageVariable;

export interface ImageInfoOptions {
  /** Kyverno ConfigMap `defaultRegistry`; default `docker.io` */
  defaultRegistry?: string;
  /** Kyverno ConfigMap `enableDefaultRegistryMutation`; default true */
  enableDefaultRegistryMutation?: boolean;
}

const PATH_COMPONENT = '[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*';
const DOMAIN_COMPONENT = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
const DOMAIN = `(?:${DOMAIN_COMPONENT}(?:\\.${DOMAIN_COMPONENT})*|\\[[a-fA-F0-9:]+\\])(?::[0-9]+)?`;
const REMOTE_NAME = `${PATH_COMPONENT}(?:/${PATH_COMPONENT})*`;
const TAG = '[\\w][\\w.-]{0,127}';
const DIGEST = '[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}';
const REFERENCE_RE = new RegExp(`^((?:${DOMAIN}/)?${REMOTE_NAME})(?::(${TAG}))?(?:@(${DIGEST}))?$`);
const NAME_RE = new RegExp(`^(?:(${DOMAIN})/)?(${REMOTE_NAME})$`);

/** Longest input we run the grammar on (name <= 255, tag <= 128, digest <= ~140). */
const MAX_REFERENCE_LENGTH = 600;

function parseError(full: string, registry: string, mutate: boolean, reason: string): SigwardError {
  return new SigwardError(
    'REFERENCE_INVALID',
    `bad image: ${full}, defaultRegistry: ${registry}, enableDefaultRegistryMutation: ${mutate}: ${reason}`,
  );
}

/** Prepends the default registry unless the first component looks like a registry host. */
export function addDefaultRegistry(image: string, defaultRegistry = 'docker.io'): string {
  const i = image.indexOf('/');
  if (i === -1) return `${defaultRegistry}/${image}`;
  const first = image.slice(0, i);
  const looksLikeHost = /[.:]/.test(first) || first === 'localhost' || first.toLowerCase() !== first;
  return looksLikeHost ? image : `${defaultRegistry}/${image}`;
}

/** Parsed images (all strings: callers get a copy); a review parses each of its images several times. */
const parsed = new Map<string, Readonly<ImageInfo>>();
/** Images remembered; past it the memo starts again (a busy cluster has far fewer distinct images). */
const MAX_PARSED = 1024;

/** Parses an image string as Kyverno does. Throws SigwardError REFERENCE_INVALID. */
export function getImageInfo(image: string, opts: ImageInfoOptions = {}): ImageInfo {
  if (typeof image !== 'string') return readImageInfo(image, opts);
  const key = `${opts.defaultRegistry ?? ''}\u0000${
    opts.enableDefaultRegistryMutation === false ? 0 : 1
  }\u0000${image}`;
  let info = parsed.get(key);
  if (info === undefined) {
    info = readImageInfo(image, opts); // an error is not remembered: it is thrown again next time
    if (parsed.size >= MAX_PARSED) parsed.clear();
    parsed.set(key, info);
  }
  return { ...info };
}

function readImageInfo(image: string, opts: ImageInfoOptions): ImageInfo {
  const defaultRegistry = opts.defaultRegistry ?? 'docker.io';
  const mutate = opts.enableDefaultRegistryMutation ?? true;
  if (typeof image !== 'string') {
    throw new SigwardError('REFERENCE_INVALID', `bad image: expected a string, got ${typeof image}`);
  }
  const full = addDefaultRegistry(image, defaultRegistry);
  if (full.length > MAX_REFERENCE_LENGTH) {
    throw parseError(full.slice(0, 80) + '...', defaultRegistry, mutate, 'invalid reference format');
  }
  const m = REFERENCE_RE.exec(full);
  if (m === null) {
    const reason = REFERENCE_RE.test(full.toLowerCase())
      ? 'invalid reference format: repository name must be lowercase'
      : 'invalid reference format';
    throw parseError(full, defaultRegistry, mutate, reason);
  }
  const nameStr = m[1];
  if (nameStr.length > 255) {
    throw parseError(full, defaultRegistry, mutate, 'repository name must not be more than 255 characters');
  }
  let tag = m[2] ?? '';
  const digest = m[3] ?? '';
  if (digest !== '') {
    const err = getGoDigestError(digest);
    if (err !== undefined) throw parseError(full, defaultRegistry, mutate, err);
  }
  const n = NAME_RE.exec(nameStr);
  let registry = n !== null && n[1] !== undefined ? n[1] : '';
  const path = n !== null && n[1] !== undefined ? n[2] : nameStr;
  if (digest === '' && tag === '') tag = 'latest';
  if (full !== image && !mutate) registry = '';
  return toKyvernoImageInfo({ registry, path, tag, digest });
}

/**
 * The `reference` Kyverno matches imageReferences against, or undefined when
 * Kyverno's parser rejects the image too (Kyverno then fails the rule).
 */
export function tryKyvernoReference(image: string, opts: ImageInfoOptions = {}): string | undefined {
  try {
    return getImageInfo(image, opts).reference;
  } catch {
    return undefined;
  }
}
