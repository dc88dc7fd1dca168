// Notary Project signatures of one artifact (an image manifest or index, or a
// referrer such as an SBOM) as notation finds them: OCI 1.1 referrers of the
// artifact's digest with artifactType application/vnd.cncf.notary.signature
// (the referrers API, else the `sha256-<hex>` tag schema: lib/oci), each an
// image manifest with exactly one layer, the JWS or COSE envelope. As
// notation (and Kyverno, which calls it) does: at most 10 signatures are
// tried, the first valid one wins.

import { SigwardError, toRejection } from '../errors.ts';
import type { Descriptor, ImageManifest, RepositoryRef, StoreFactory } from '../oci/types.ts';
import { MEDIA_TYPES } from '../oci/types.ts';
import { COSE_MEDIA_TYPE, JWS_MEDIA_TYPE, NOTARY_SIGNATURE_ARTIFACT_TYPE } from './types.ts';
import { type NotaryTrust, type VerifiedNotarySignature, verifyNotarySignature } from './verify.ts';

/** notation's MaxSignatureAttempts as Kyverno sets it */
export const MAX_SIGNATURE_ATTEMPTS = 10;
/** notation refuses signature envelopes above 32 MiB */
export const MAX_ENVELOPE_BYTES = 32 * 1024 * 1024;

export interface NotaryRejection {
  /** digest of the signature manifest */
  manifest: string;
  code: string;
  message: string;
}

export interface NotaryArtifactVerification {
  /** the verified artifact's descriptor (what the signature signs) */
  artifact: Descriptor;
  signatureRepository: RepositoryRef;
  /** the signature manifest that verified */
  manifest: string;
  signature: VerifiedNotarySignature;
  /** signatures tried before it, and why they failed */
  rejected: NotaryRejection[];
}

export interface VerifyNotaryArtifactOptions {
  stores: StoreFactory;
  /** where the artifact lives */
  repository: RepositoryRef;
  /** where its signatures are (default: the artifact's repository) */
  signatureRepository?: RepositoryRef;
  digest: string;
  trust: NotaryTrust;
  annotations?: Record<string, string>;
  now?: Date;
  signal?: AbortSignal;
}

function refText(repo: RepositoryRef, digest: string): string {
  return repo.transport === 'oci-layout'
    ? `oci:${repo.registry}@${digest}`
    : `${repo.registry}/${repo.repository}@${digest}`;
}

/**
 * The artifact's first valid Notary signature. Throws SIGNATURE_NOT_FOUND
 * (none), the rejection of the signatures tried, or registry errors.
 */
export async function verifyNotaryArtifact(opts: VerifyNotaryArtifactOptions): Promise<NotaryArtifactVerification> {
  const repo = opts.repository;
  const sigRepo = opts.signatureRepository ?? repo;
  const artifact = (await opts.stores(repo).getManifest(repo, opts.digest, { signal: opts.signal })).descriptor;
  const store = opts.stores(sigRepo);
  const seen = new Set<string>();
  const descriptors =
    (await store.referrers(sigRepo, opts.digest, { artifactType: NOTARY_SIGNATURE_ARTIFACT_TYPE, signal: opts.signal }))
      .filter((d) => seen.has(d.digest) ? false : (seen.add(d.digest), true));
  const ref = refText(repo, opts.digest);
  if (descriptors.length === 0) {
    throw new SigwardError(
      'SIGNATURE_NOT_FOUND',
      `no signature is associated with "${ref}", make sure the image was signed successfully`,
      { detail: { digest: opts.digest } },
    );
  }
  const rejected: NotaryRejection[] = [];
  for (const d of descriptors.slice(0, MAX_SIGNATURE_ATTEMPTS)) {
    try {
      const signature = await verifyOne(store, sigRepo, d, artifact, opts);
      return { artifact, signatureRepository: sigRepo, manifest: d.digest, signature, rejected };
    } catch (e) {
      const r = toRejection(e);
      if (!r) throw e;
      rejected.push({ manifest: d.digest, code: r.code, message: r.message });
    }
  }
  const reasons = rejected.map((r) => `signature ${r.manifest}: ${r.message}`).join('; ');
  const over = descriptors.length > MAX_SIGNATURE_ATTEMPTS;
  const code = (rejected.find((r) => r.code !== 'SIGNATURE_NOT_FOUND') ?? rejected[0])!.code as SigwardError['code'];
  throw new SigwardError(
    code,
    `failed to verify ${ref}: ${
      over
        ? `signature evaluation stopped: the limit of ${MAX_SIGNATURE_ATTEMPTS} signatures to verify per artifact was exceeded (${descriptors.length} signatures); `
        : ''
    }${reasons}`,
    { detail: { digest: opts.digest, rejected } },
  );
}

async function verifyOne(
  store: ReturnType<StoreFactory>,
  repo: RepositoryRef,
  d: Descriptor,
  artifact: Descriptor,
  opts: VerifyNotaryArtifactOptions,
): Promise<VerifiedNotarySignature> {
  const fetched = await store.getManifest(repo, d.digest, { signal: opts.signal });
  const m = fetched.manifest as ImageManifest;
  if (fetched.descriptor.mediaType !== MEDIA_TYPES.ociManifest || !Array.isArray(m.layers)) {
    throw new SigwardError('SIGNATURE_INVALID', `signature manifest ${d.digest} is not an OCI image manifest`);
  }
  if (m.layers.length !== 1) {
    throw new SigwardError(
      'SIGNATURE_INVALID',
      `signature manifest ${d.digest} must hold exactly one signature envelope, it has ${m.layers.length} layers`,
    );
  }
  const layer = m.layers[0]!;
  if (layer.mediaType !== JWS_MEDIA_TYPE && layer.mediaType !== COSE_MEDIA_TYPE) {
    throw new SigwardError(
      'SIGNATURE_INVALID',
      `signature envelope media type ${JSON.stringify(layer.mediaType)} is not ${JWS_MEDIA_TYPE} or ${COSE_MEDIA_TYPE}`,
    );
  }
  if (typeof layer.size !== 'number' || layer.size > MAX_ENVELOPE_BYTES) {
    throw new SigwardError(
      'CONTENT_TOO_LARGE',
      `signature envelope of ${d.digest} is ${layer.size} bytes, above the ${MAX_ENVELOPE_BYTES} byte limit`,
    );
  }
  const blob = await store.getBlob(repo, layer.digest, {
    size: layer.size,
    maxBytes: MAX_ENVELOPE_BYTES,
    signal: opts.signal,
  });
  return verifyNotarySignature(blob, layer.mediaType, {
    trust: opts.trust,
    artifact,
    annotations: opts.annotations,
    now: opts.now,
  });
}
