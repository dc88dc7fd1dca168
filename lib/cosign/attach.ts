// Writing cosign attachments the way cosign does (`cosign attach signature`):
// the `.sig`/`.att` manifest gets one more layer per signature; the layer
// blob is the payload, the signature and material travel as annotations.
// Used by fixture tools and tests, and by anyone mirroring signatures into an
// air-gapped OCI layout.

import { SigwardError } from '../errors.ts';
import { type Descriptor, type ImageManifest, MEDIA_TYPES, type OciStore, type RepositoryRef } from '../oci/types.ts';
import { digestTag } from '../digest.ts';

export interface AttachOptions {
  store: OciStore;
  repository: RepositoryRef;
  /** digest of the image the attachment belongs to */
  digest: string;
  suffix: 'sig' | 'att';
  payload: Uint8Array;
  mediaType?: string;
  annotations: Record<string, string>;
  /** replace existing layers instead of appending */
  replace?: boolean;
}

const EMPTY_CONFIG = new TextEncoder().encode('{}');

/** Appends (or replaces) an attachment layer and returns the new manifest descriptor. */
export async function attachLayer(opts: AttachOptions): Promise<Descriptor> {
  const tag = digestTag(opts.digest, opts.suffix);
  let layers: Descriptor[] = [];
  if (!opts.replace) {
    try {
      const existing = await opts.store.getManifest(opts.repository, tag);
      layers = [...((existing.manifest as ImageManifest).layers ?? [])];
    } catch (e) {
      if (!(e instanceof SigwardError) || e.code !== 'MANIFEST_UNKNOWN') throw e;
    }
  }
  const mediaType = opts.mediaType ??
    (opts.suffix === 'sig' ? MEDIA_TYPES.cosignSimpleSigning : MEDIA_TYPES.dsseEnvelope);
  const blob = await opts.store.putBlob(opts.repository, opts.payload, mediaType);
  layers.push({ mediaType, digest: blob.digest, size: blob.size, annotations: opts.annotations });
  // cosign's config is the JSON of an (empty-ish) image config; any valid blob works
  const config = await opts.store.putBlob(opts.repository, EMPTY_CONFIG, MEDIA_TYPES.ociConfig);
  const manifest: ImageManifest = {
    schemaVersion: 2,
    mediaType: MEDIA_TYPES.ociManifest,
    config: { mediaType: MEDIA_TYPES.ociConfig, digest: config.digest, size: config.size },
    layers,
  };
  const bytes = new TextEncoder().encode(JSON.stringify(manifest));
  return opts.store.putManifest(opts.repository, bytes, MEDIA_TYPES.ociManifest, tag);
}
