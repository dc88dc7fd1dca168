// Kyverno's Notary attestations: referrers of the image whose artifactType is
// the attestation `type` (e.g. an SBOM pushed with `oras attach`), each
// signed with a Notary signature of its own (a referrer of the referrer). The
// statement of a verified referrer is its manifest with `type` (the
// artifactType) and `predicate` (its single layer, JSON) added, as Kyverno
// builds it; conditions run over the predicate.
//
// Unlike Kyverno, which looks at the first referrer of the type only (and
// skips the signature check when the attestation has no certificates),
// sigward verifies every referrer of the type (at most 50) and returns those
// whose signature verifies; a referrer without a valid signature is never used.

import { SigwardError, toRejection } from '../errors.ts';
import type { Descriptor, ImageManifest, RepositoryRef, StoreFactory } from '../oci/types.ts';
import { type NotaryArtifactVerification, type NotaryRejection, verifyNotaryArtifact } from './image.ts';
import type { NotaryTrust } from './verify.ts';

/** Kyverno refuses images with more referrers than this */
export const MAX_REFERRERS = 50;
/** Kyverno's limit on the size of an attestation payload */
export const MAX_PAYLOAD_BYTES = 10 * 1000 * 1000;

export interface NotaryAttestation {
  referrer: Descriptor;
  /** the referrer manifest plus `type` and `predicate` */
  statement: Record<string, unknown> & { type: string; predicate: unknown };
  signature: NotaryArtifactVerification;
}

export interface NotaryAttestations {
  verified: NotaryAttestation[];
  rejected: NotaryRejection[];
}

export interface GetNotaryAttestationsOptions {
  stores: StoreFactory;
  repository: RepositoryRef;
  digest: string;
  /** the referrers' artifactType */
  type: string;
  trust: NotaryTrust;
  now?: Date;
  signal?: AbortSignal;
}

/** Verified attestations of `type`. Throws ATTESTATION_NOT_FOUND when none verifies (with the reasons), or registry errors. */
export async function getNotaryAttestations(opts: GetNotaryAttestationsOptions): Promise<NotaryAttestations> {
  const repo = opts.repository;
  const store = opts.stores(repo);
  const referrers = await store.referrers(repo, opts.digest, { artifactType: opts.type, signal: opts.signal });
  if (referrers.length > MAX_REFERRERS) {
    throw new SigwardError(
      'ATTESTATION_INVALID',
      `failed to fetch referrers: too many referrers of type ${opts.type} found (${referrers.length}), max limit is ${MAX_REFERRERS}`,
    );
  }
  const out: NotaryAttestations = { verified: [], rejected: [] };
  for (const referrer of referrers) {
    try {
      const signature = await verifyNotaryArtifact({
        stores: opts.stores,
        repository: repo,
        digest: referrer.digest,
        trust: opts.trust,
        now: opts.now,
        signal: opts.signal,
      });
      const fetched = await store.getManifest(repo, referrer.digest, { signal: opts.signal });
      const m = fetched.manifest as ImageManifest;
      const layers = Array.isArray(m.layers) ? m.layers : [];
      if (layers.length !== 1) {
        throw new SigwardError(
          'ATTESTATION_INVALID',
          `referrer ${referrer.digest} must have exactly one layer (the predicate), it has ${layers.length}`,
        );
      }
      const layer = layers[0]!;
      if (typeof layer.size !== 'number' || layer.size > MAX_PAYLOAD_BYTES) {
        throw new SigwardError(
          'CONTENT_TOO_LARGE',
          `payload of referrer ${referrer.digest} is ${layer.size} bytes, max size is ${MAX_PAYLOAD_BYTES}`,
        );
      }
      const bytes = await store.getBlob(repo, layer.digest, {
        size: layer.size,
        maxBytes: MAX_PAYLOAD_BYTES,
        signal: opts.signal,
      });
      let predicate: unknown;
      try {
        predicate = JSON.parse(Buffer.from(bytes).toString('utf8'));
      } catch (e) {
        throw new SigwardError(
          'PAYLOAD_INVALID',
          `payload of referrer ${referrer.digest} is not JSON: ${(e as Error).message}`,
        );
      }
      if (typeof predicate !== 'object' || predicate === null || Array.isArray(predicate)) {
        throw new SigwardError('PAYLOAD_INVALID', `payload of referrer ${referrer.digest} is not a JSON object`);
      }
      const manifest = JSON.parse(Buffer.from(fetched.bytes).toString('utf8')) as Record<string, unknown>;
      out.verified.push({
        referrer,
        statement: {
          ...manifest,
          type: (manifest['type'] as string | undefined) ?? referrer.artifactType ?? opts.type,
          predicate: manifest['predicate'] ?? predicate,
        },
        signature,
      });
    } catch (e) {
      const r = toRejection(e);
      if (!r) throw e;
      out.rejected.push({ manifest: referrer.digest, code: r.code, message: r.message });
    }
  }
  if (!out.verified.length) {
    const why = out.rejected.map((r) => `referrer ${r.manifest}: ${r.message}`).join('; ');
    throw new SigwardError(
      'ATTESTATION_NOT_FOUND',
      referrers.length
        ? `no verified attestation of type ${opts.type}: ${why}`
        : `no attestation of type ${opts.type} is attached to the image`,
      {
        detail: { rejected: out.rejected },
      },
    );
  }
  return out;
}
