// Finding cosign's legacy attachments: the `sha256-<hex>.sig` (or `.att`)
// tag in the image's repository (or the signature-repository override),
// one layer per signature, each layer blob = the signed payload bytes.

import { SigwardError } from '../errors.ts';
import { digestTag } from '../digest.ts';
import type { Descriptor, ImageManifest, OciStore, RepositoryRef } from '../oci/types.ts';
import { MAX_ATTACHMENT_BYTES, MAX_SIGNATURE_LAYERS } from './annotations.ts';

export interface AttachmentLayer {
  /** position in the signature manifest */
  index: number;
  descriptor: Descriptor;
  mediaType: string;
  annotations: Record<string, string>;
  /** the layer blob (digest-checked); undefined when it could not be fetched */
  payload?: Uint8Array;
  /** why the blob could not be used */
  error?: SigwardError;
}

export interface Attachments {
  /** where the attachments were looked for */
  repository: RepositoryRef;
  tag: string;
  /** digest of the signature manifest, when it exists */
  manifestDigest?: string;
  layers: AttachmentLayer[];
}

/**
 * Fetches the attachment manifest and its layers. A missing tag means no
 * attachments (empty list). Registry failures propagate (the caller cannot
 * decide); a layer that is too large or does not match its digest is kept
 * with an `error` so that the reason reaches the user.
 */
export async function getAttachments(
  store: OciStore,
  repository: RepositoryRef,
  digest: string,
  suffix: 'sig' | 'att' | 'sbom',
  opts: { signal?: AbortSignal } = {},
): Promise<Attachments> {
  const tag = digestTag(digest, suffix);
  let fetched;
  try {
    fetched = await store.getManifest(repository, tag, { signal: opts.signal });
  } catch (e) {
    if (e instanceof SigwardError && e.code === 'MANIFEST_UNKNOWN') return { repository, tag, layers: [] };
    throw e;
  }
  const manifest = fetched.manifest as ImageManifest;
  if (!Array.isArray(manifest.layers)) {
    throw new SigwardError('MANIFEST_INVALID', `signature manifest ${tag} is not an image manifest`);
  }
  const layers: AttachmentLayer[] = [];
  for (const [index, descriptor] of manifest.layers.slice(0, MAX_SIGNATURE_LAYERS).entries()) {
    const layer: AttachmentLayer = {
      index,
      descriptor,
      mediaType: String(descriptor.mediaType ?? ''),
      annotations: descriptor.annotations ?? {},
    };
    if (typeof descriptor.size === 'number' && descriptor.size > MAX_ATTACHMENT_BYTES) {
      layer.error = new SigwardError(
        'CONTENT_TOO_LARGE',
        `signature layer ${index} is ${descriptor.size} bytes, above the ${MAX_ATTACHMENT_BYTES} byte limit`,
      );
    } else {
      try {
        layer.payload = await store.getBlob(repository, descriptor.digest, {
          size: descriptor.size,
          maxBytes: MAX_ATTACHMENT_BYTES,
          signal: opts.signal,
        });
      } catch (e) {
        if (e instanceof SigwardError && (e.outcome === 'deny' || e.code === 'MANIFEST_INVALID')) layer.error = e;
        else throw e;
      }
    }
    layers.push(layer);
  }
  return { repository, tag, manifestDigest: fetched.descriptor.digest, layers };
}
