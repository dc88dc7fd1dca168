// What is attached to an image, unverified (cosign tree / cosign download):
// the `.sig`, `.att` and `.sbom` tags and every OCI referrer (Sigstore bundles,
// Notary signatures, SBOMs, ...). Listing only: nothing here is trusted or
// verified, and the caller must say so.

import { SigwardError } from '../errors.ts';
import { type ImageManifest, MEDIA_TYPES, type OciStore, type RepositoryRef } from '../oci/types.ts';
import { type Attachments, getAttachments } from './signatures.ts';
import { BUNDLE_ANNOTATION, type BundleReferrer, getBundleReferrers } from './bundles.ts';

export interface ReferrerArtifact {
  /** digest of the referrer manifest */
  manifest: string;
  /** the predicate type of a Sigstore bundle, else the artifact type */
  label: string;
  artifactType?: string;
  layers: string[];
}

export interface ImageArtifacts {
  digest: string;
  repository: RepositoryRef;
  signatures: Attachments;
  attestations: Attachments;
  sboms: Attachments;
  referrers: ReferrerArtifact[];
}

const MAX_REFERRERS = 1000;

/** Every artifact attached to `digest` in `repository`. Registry failures propagate. */
export async function listImageArtifacts(
  store: OciStore,
  repository: RepositoryRef,
  digest: string,
  opts: { signal?: AbortSignal } = {},
): Promise<ImageArtifacts> {
  const [signatures, attestations, sboms] = await Promise.all(
    (['sig', 'att', 'sbom'] as const).map((s) => getAttachments(store, repository, digest, s, opts)),
  );
  const referrers: ReferrerArtifact[] = [];
  const seen = new Set<string>();
  for (const d of (await store.referrers(repository, digest, opts)).slice(0, MAX_REFERRERS)) {
    if (seen.has(d.digest)) continue;
    seen.add(d.digest);
    let manifest: ImageManifest | undefined;
    if (d.mediaType !== MEDIA_TYPES.ociIndex && d.mediaType !== MEDIA_TYPES.dockerManifestList) {
      try {
        manifest = (await store.getManifest(repository, d.digest, opts)).manifest as ImageManifest;
      } catch (e) {
        if (!(e instanceof SigwardError && e.outcome === 'deny')) throw e;
      }
    }
    const artifactType = d.artifactType ?? manifest?.artifactType ??
      (manifest?.config?.mediaType !== MEDIA_TYPES.ociEmpty ? manifest?.config?.mediaType : undefined);
    const annotations = { ...(d.annotations ?? {}), ...(manifest?.annotations ?? {}) };
    referrers.push({
      manifest: d.digest,
      label: annotations[BUNDLE_ANNOTATION.predicateType] ?? artifactType ?? d.mediaType,
      ...(artifactType ? { artifactType } : {}),
      layers: Array.isArray(manifest?.layers) ? manifest.layers.map((l) => l.digest) : [],
    });
  }
  return { digest, repository, signatures, attestations, sboms, referrers };
}

/** The Sigstore bundles among the referrers (cosign v3 `download` prints these when there are any). */
export async function listBundles(
  store: OciStore,
  repository: RepositoryRef,
  digest: string,
  opts: { signal?: AbortSignal } = {},
): Promise<BundleReferrer[]> {
  return (await getBundleReferrers(store, repository, digest, opts)).filter((r) => r.bundle !== undefined);
}
