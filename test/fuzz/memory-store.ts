// An in-memory OciStore for the fuzzers: manifests by tag, blobs by digest,
// just enough for verifyImageSignatures / verifyImageAttestations.

import { SigwardError } from '../../lib/errors.ts';
import { computeDigest } from '../../lib/digest.ts';
import {
  type Descriptor,
  type FetchedManifest,
  MEDIA_TYPES,
  type OciStore,
  type RepositoryRef,
} from '../../lib/oci/types.ts';
import { digestTag } from '../../lib/digest.ts';

/** Just enough of an OciStore: manifests by tag, blobs by digest (digest-checked, like the real ones). */
export class MemoryStore implements OciStore {
  manifests = new Map<string, Uint8Array>();
  blobs = new Map<string, Uint8Array>();
  async resolve(): Promise<Descriptor> {
    throw new Error('not used');
  }
  async getManifest(_repo: RepositoryRef, ref: string): Promise<FetchedManifest> {
    const bytes = this.manifests.get(ref);
    if (!bytes) throw new SigwardError('MANIFEST_UNKNOWN', `manifest unknown: ${ref}`);
    const manifest = JSON.parse(Buffer.from(bytes).toString());
    return {
      descriptor: { mediaType: MEDIA_TYPES.ociManifest, digest: computeDigest(bytes), size: bytes.length },
      bytes,
      manifest,
    };
  }
  async getBlob(
    _repo: RepositoryRef,
    digest: string,
    opts: { size?: number; maxBytes?: number } = {},
  ): Promise<Uint8Array> {
    const b = this.blobs.get(digest);
    if (!b) throw new SigwardError('BLOB_UNKNOWN', `blob unknown: ${digest}`);
    if (opts.size !== undefined && b.length !== opts.size) {
      throw new SigwardError('CONTENT_DIGEST_MISMATCH', 'size mismatch');
    }
    return b;
  }
  async listTags(): Promise<string[]> {
    return [];
  }
  async referrers(): Promise<Descriptor[]> {
    return [];
  }
  async putBlob(): Promise<Descriptor> {
    throw new Error('not used');
  }
  async putManifest(): Promise<Descriptor> {
    throw new Error('not used');
  }
  /** stores `layers` as the image's .sig (or .att) manifest, replacing everything else */
  setSignatures(
    digest: string,
    layers: { blob: Uint8Array; mediaType: string; annotations: Record<string, unknown> }[],
    suffix: 'sig' | 'att' = 'sig',
  ): void {
    this.manifests.clear();
    this.blobs.clear();
    const descs = layers.map((l) => {
      const d = computeDigest(l.blob);
      this.blobs.set(d, l.blob);
      return { mediaType: l.mediaType, digest: d, size: l.blob.length, annotations: l.annotations };
    });
    const config = Buffer.from('{}');
    this.blobs.set(computeDigest(config), config);
    const m = {
      schemaVersion: 2,
      mediaType: MEDIA_TYPES.ociManifest,
      config: { mediaType: MEDIA_TYPES.ociConfig, digest: computeDigest(config), size: 2 },
      layers: descs,
    };
    this.manifests.set(digestTag(digest, suffix), Buffer.from(JSON.stringify(m)));
  }
}
