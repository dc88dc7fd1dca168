// Turning an ImageReference back into strings.

import { SigwardError } from '../errors.ts';
import { clip, getDigestError } from '../digest.ts';
import { DOCKER_HUB_REGISTRY, isValidTag, OCI_LAYOUT_PREFIX, OFFICIAL_REPOSITORY_PREFIX } from './parse.ts';
import type { ImageReference } from './types.ts';

export interface FormatReferenceOptions {
  /** append `:tag` when present (default true) */
  withTag?: boolean;
  /** append `@digest` when present (default true) */
  withDigest?: boolean;
}

/**
 * `registry/repository[:tag][@digest]`, fully qualified (`docker.io/library/nginx:latest`).
 * Layouts: `oci:DIR[:tag][@digest]`.
 */
export function formatReference(r: ImageReference, opts: FormatReferenceOptions = {}): string {
  let s = repositoryName(r);
  if (opts.withTag !== false && r.tag) s += `:${r.tag}`;
  if (opts.withDigest !== false && r.digest) s += `@${r.digest}`;
  return s;
}

/** formatReference with tag and digest. */
export function referenceToString(r: ImageReference): string {
  return formatReference(r);
}

/** `registry/repository` (`docker.io/library/nginx`); layouts: `oci:DIR`. */
export function repositoryName(r: ImageReference): string {
  if (r.transport === 'oci-layout') return `${OCI_LAYOUT_PREFIX}${r.registry}`;
  return `${r.registry}/${r.repository}`;
}

/**
 * Docker's short form of the name: `docker.io/library/nginx` -> `nginx`,
 * `docker.io/user/app` -> `user/app`, anything else unchanged. No tag/digest.
 */
export function familiarName(r: ImageReference): string {
  if (r.transport === 'registry' && r.registry === DOCKER_HUB_REGISTRY) {
    const rest = r.repository.slice(OFFICIAL_REPOSITORY_PREFIX.length);
    if (r.repository.startsWith(OFFICIAL_REPOSITORY_PREFIX) && !rest.includes('/')) return rest;
    return r.repository;
  }
  return repositoryName(r);
}

/** familiarName plus `:tag` / `@digest` when present (`nginx:latest`). */
export function familiarString(r: ImageReference): string {
  let s = familiarName(r);
  if (r.tag) s += `:${r.tag}`;
  if (r.digest) s += `@${r.digest}`;
  return s;
}

/**
 * The repository as cosign (go-containerregistry) names it, i.e. what cosign
 * writes into `critical.identity.docker-reference`: Docker Hub is spelled
 * `index.docker.io` (`index.docker.io/library/alpine`). No tag/digest.
 */
export function toCosignDockerReference(r: ImageReference): string {
  if (r.transport === 'registry' && r.registry === DOCKER_HUB_REGISTRY) return `index.docker.io/${r.repository}`;
  return repositoryName(r);
}

/** Same repository, tag `tag`, no digest (e.g. the cosign `sha256-<hex>.sig` tag). */
export function toTaggedReference(r: ImageReference, tag: string): ImageReference {
  if (!isValidTag(tag)) {
    throw new SigwardError(
      'REFERENCE_INVALID',
      `invalid tag ${JSON.stringify(clip(tag))}: must match [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}`,
    );
  }
  const out: ImageReference = { ...r, tag };
  delete out.digest;
  out.original = formatReference(out);
  return out;
}

/** Same repository pinned to `digest`; the tag is kept unless `keepTag` is false. */
export function toDigestReference(r: ImageReference, digest: string, keepTag = true): ImageReference {
  const reason = getDigestError(digest);
  if (reason !== undefined) {
    throw new SigwardError('REFERENCE_INVALID', `invalid digest ${JSON.stringify(clip(digest))}: ${reason}`);
  }
  const out: ImageReference = { ...r, digest };
  if (!keepTag) delete out.tag;
  out.original = formatReference(out);
  return out;
}
