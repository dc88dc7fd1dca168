// The storage model shared by the registry client and OCI image layouts.

export const MEDIA_TYPES = {
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  ociConfig: 'application/vnd.oci.image.config.v1+json',
  ociEmpty: 'application/vnd.oci.empty.v1+json',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerManifestList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  dockerConfig: 'application/vnd.docker.container.image.v1+json',
  cosignSimpleSigning: 'application/vnd.dev.cosign.simplesigning.v1+json',
  dsseEnvelope: 'application/vnd.dsse.envelope.v1+json',
  sigstoreBundleV03: 'application/vnd.dev.sigstore.bundle.v0.3+json',
} as const;

export interface Platform {
  architecture: string;
  os: string;
  variant?: string;
  'os.version'?: string;
  'os.features'?: string[];
}

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  annotations?: Record<string, string>;
  artifactType?: string;
  platform?: Platform;
  urls?: string[];
  data?: string;
}

export interface ImageManifest {
  schemaVersion: 2;
  mediaType?: string;
  artifactType?: string;
  config: Descriptor;
  layers: Descriptor[];
  subject?: Descriptor;
  annotations?: Record<string, string>;
}

export interface ImageIndex {
  schemaVersion: 2;
  mediaType?: string;
  artifactType?: string;
  manifests: Descriptor[];
  subject?: Descriptor;
  annotations?: Record<string, string>;
}

/** A manifest whose bytes were checked against its digest. */
export interface FetchedManifest {
  descriptor: Descriptor;
  bytes: Uint8Array;
  manifest: ImageManifest | ImageIndex;
}

/** Where a repository lives: a registry repository or an OCI layout directory. */
export interface RepositoryRef {
  transport: 'registry' | 'oci-layout';
  /** registry host[:port], or the layout directory */
  registry: string;
  /** repository path; '' for a layout */
  repository: string;
}

export interface GetOptions {
  /** hard cap in bytes; larger content is refused with CONTENT_TOO_LARGE */
  maxBytes?: number;
  signal?: AbortSignal;
}

/**
 * Read (and, for tests and `trust`, write) access to OCI content.
 * Implemented by the registry client and the OCI layout store.
 * Every method throws SigwardError (codes MANIFEST_UNKNOWN, BLOB_UNKNOWN,
 * REGISTRY_UNREACHABLE, CONTENT_DIGEST_MISMATCH, CONTENT_TOO_LARGE, ...).
 */
export interface OciStore {
  /** tag or digest -> descriptor of the manifest (digest verified when content is fetched) */
  resolve(repo: RepositoryRef, tagOrDigest: string, opts?: GetOptions): Promise<Descriptor>;
  /** fetch a manifest by tag or digest, checking its digest */
  getManifest(repo: RepositoryRef, tagOrDigest: string, opts?: GetOptions): Promise<FetchedManifest>;
  /** fetch a blob, checking its digest (and size when known) */
  getBlob(repo: RepositoryRef, digest: string, opts?: GetOptions & { size?: number }): Promise<Uint8Array>;
  /** list tags of a repository */
  listTags(repo: RepositoryRef, opts?: GetOptions): Promise<string[]>;
  /** OCI 1.1 referrers of a digest (API first, then the `sha256-<hex>` tag schema) */
  referrers(repo: RepositoryRef, digest: string, opts?: GetOptions & { artifactType?: string }): Promise<Descriptor[]>;
  /** push a blob (idempotent) */
  putBlob(repo: RepositoryRef, bytes: Uint8Array, mediaType?: string): Promise<Descriptor>;
  /** push a manifest, optionally under a tag */
  putManifest(repo: RepositoryRef, bytes: Uint8Array, mediaType: string, tag?: string): Promise<Descriptor>;
}

/** Opens the store that serves one repository (registry or OCI layout). */
export type StoreFactory = (repo: RepositoryRef) => OciStore;
