// How Kyverno (ClusterPolicy verifyImages) names and matches images.
//
// Kyverno's GetImageInfo does not use distribution's normalisation: it
// prepends the ConfigMap `defaultRegistry` (default docker.io) to names
// without a registry and parses the result with `reference.Parse`. So:
//   nginx                   -> docker.io/nginx:latest          (no `library/`)
//   index.docker.io/nginx   -> index.docker.io/nginx:latest    (kept as written)
//   ghcr.io/a/b:v1@sha256:x -> ghcr.io/a/b@sha256:x            (tag dropped)
// `imageReferences` patterns are matched against that string with `*`/`?`
// wildcards (see lib/wildcard.ts). Patterns are NOT normalised: `nginx*` does not
// match `docker.io/nginx:latest`.
//
// One difference from Kyverno, so that the three roles agree: containerd
// hands its verifier the normalised name (`docker.io/library/nginx:latest`
// for a Pod's `nginx`), never the name as written. So a Docker Hub image is
// matched in every spelling Kyverno could have seen for it:
// `docker.io/nginx`, `docker.io/library/nginx`, the same under
// `index.docker.io`, and the name as written
// (toKyvernoMatchStrings). A pattern that matches any of them selects (or,
// in skipImageReferences, skips) the image, in the webhook, in `check` and
// on the node alike.

import { matchesPattern } from '../wildcard.ts';
import { DEFAULT_TAG, OCI_LAYOUT_PREFIX } from './parse.ts';
import type { ImageReference, KyvernoImageName } from './types.ts';

/** Kyverno's `image` context variable (set per image in verifyImages rules). */
export interface KyvernoImageVariable {
  /** registry/path@digest, or registry/path:tag without a digest */
  reference: string;
  /** registry/path:tag (Kyverno writes `registry/path:` for digest-only images) */
  referenceWithTag: string;
  registry: string;
  path: string;
  /** last path segment */
  name: string;
  tag: string;
  digest: string;
}

/** The Kyverno registry/path pair; layouts become registry '' and path `oci:DIR`. */
export function getKyvernoImageName(r: ImageReference): KyvernoImageName {
  if (r.transport === 'oci-layout') return { registry: '', path: `${OCI_LAYOUT_PREFIX}${r.registry}` };
  return r.kyverno ?? { registry: r.registry, path: r.repository };
}

function kyvernoTag(r: ImageReference): string {
  if (r.tag) return r.tag;
  // Kyverno defaults the tag only when there is no digest either (layouts never default).
  return !r.digest && r.transport === 'registry' ? DEFAULT_TAG : '';
}

function registryPath(n: KyvernoImageName): string {
  return n.registry === '' ? n.path : `${n.registry}/${n.path}`;
}

/**
 * The string Kyverno matches `imageReferences` against:
 * `registry/path@digest` when a digest is present (the tag is dropped),
 * otherwise `registry/path:tag`.
 */
export function toKyvernoMatchString(r: ImageReference): string {
  return imageVariable(r).reference;
}

/**
 * Every string a Kyverno pattern is matched against for this image: the
 * Kyverno string of the name as written first, then, for Docker Hub, the
 * same name under `docker.io/` and `index.docker.io/`, official images both
 * with and without `library/`, whatever alias (or none) was written.
 */
export function toKyvernoMatchStrings(r: ImageReference): string[] {
  const written = toKyvernoMatchString(r);
  if (r.transport !== 'registry' || r.registry !== 'docker.io') return [written];
  const suffix = written.slice(registryPath(getKyvernoImageName(r)).length);
  const official = /^library\/([^/]+)$/.exec(r.repository);
  const paths = official ? [r.repository, official[1]!] : [r.repository];
  const out = [written];
  for (const host of ['docker.io', 'index.docker.io']) for (const p of paths) out.push(`${host}/${p}${suffix}`);
  return [...new Set(out)];
}

/** True when any Kyverno wildcard pattern matches the image in any of its spellings (toKyvernoMatchStrings). */
export function matchesAnyPattern(patterns: readonly string[], r: ImageReference): boolean {
  return findMatchingPattern(patterns, r) !== undefined;
}

/** The first pattern that matches the image in any of its spellings, or undefined. */
export function findMatchingPattern(patterns: readonly string[], r: ImageReference): string | undefined {
  const names = toKyvernoMatchStrings(r);
  return patterns.find((p) => names.some((n) => matchesPattern(p, n)));
}

/**
 * Kyverno's image fields from its registry, path, tag and digest: the one
 * place they are composed, for images parsed by sigward (imageVariable) and
 * by Kyverno's own grammar (lib/admission/imageinfo.ts getImageInfo).
 * `tag` is '' only when there is a digest (Kyverno defaults it otherwise).
 */
export function toKyvernoImageInfo(
  n: KyvernoImageName & { tag: string; digest: string; layout?: boolean },
): KyvernoImageVariable {
  const base = registryPath(n);
  return {
    registry: n.registry,
    path: n.path,
    name: n.path.slice(n.path.lastIndexOf('/') + 1),
    tag: n.tag,
    digest: n.digest,
    reference: n.digest ? `${base}@${n.digest}` : n.tag === '' ? base : `${base}:${n.tag}`,
    referenceWithTag: n.layout && n.tag === '' ? base : `${base}:${n.tag}`,
  };
}

/** Kyverno's `image` variable: `{reference, referenceWithTag, registry, path, name, tag, digest}`. */
export function imageVariable(r: ImageReference): KyvernoImageVariable {
  return toKyvernoImageInfo({
    ...getKyvernoImageName(r),
    tag: kyvernoTag(r),
    digest: r.digest ?? '',
    layout: r.transport === 'oci-layout',
  });
}

/**
 * The value Kyverno's mutateDigest patch writes: the tag is kept and the
 * registry added (`nginx` -> `docker.io/nginx:latest@sha256:...`). Kyverno only
 * patches images written without a digest.
 */
export function toKyvernoDigestPatchValue(r: ImageReference, digest: string): string {
  const base = registryPath(getKyvernoImageName(r));
  const tag = kyvernoTag(r);
  return tag === '' ? `${base}@${digest}` : `${base}:${tag}@${digest}`;
}
