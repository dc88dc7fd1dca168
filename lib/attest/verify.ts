// Verifying an image's legacy cosign attestations (the `.att` tag): each
// layer is a DSSE envelope whose PAE signature is checked with the same
// checks as signatures (keys, certificates, keyless, Rekor). Only then is the
// in-toto statement parsed, its subject matched to the image digest and its
// predicate type compared. An attestation that fails any of this is never
// handed to a condition.

import { type ErrorCode, SigwardError, toRejection } from '../errors.ts';
import type { OciStore, RepositoryRef } from '../oci/types.ts';
import { MEDIA_TYPES } from '../oci/types.ts';
import { type AttachmentLayer, getAttachments } from '../cosign/signatures.ts';
import type { LayerCheck, SignerInfo } from '../cosign/verify.ts';
import { toEnvelope, verifyInTotoPayloadType } from './dsse.ts';
import { type Statement, toStatement, verifySubjectDigest } from './statement.ts';
import { toPredicateType } from './predicates.ts';
import { type BundleCheck, getBundleAttestations } from '../cosign/bundles.ts';

export interface VerifiedAttestation {
  /** `.att` layer index; -1 for a bundle referrer */
  layer: number;
  /** where it came from: `.att layer N` or `bundle <manifest digest>` */
  source?: string;
  statement: Statement;
  signer: SignerInfo;
}

export interface RejectedAttestation {
  layer: number;
  code: ErrorCode;
  reason: string;
  predicateType?: string;
}

export interface ImageAttestations {
  digest: string;
  attestationTag: string;
  /** verified statements of the requested type (all types when none was requested) */
  verified: VerifiedAttestation[];
  /** verified statements of other predicate types (not evaluated) */
  otherTypes: string[];
  rejected: RejectedAttestation[];
}

export interface VerifyImageAttestationsOptions {
  store: OciStore;
  signatureRepository: RepositoryRef;
  digest: string;
  check: LayerCheck;
  /** cosign shortcut or URI; undefined = any type */
  predicateType?: string;
  signal?: AbortSignal;
  /** also verify attestation bundles (OCI 1.1 referrers, cosign v3) with this check */
  bundleCheck?: BundleCheck;
  /** the clock handed to the checks (default: the real one) */
  now?: () => Date;
  /** with bundleCheck: attestation bundles only, `.att` layers are not read (Kyverno `type: SigstoreBundle`) */
  bundlesOnly?: boolean;
}

async function verifyLayer(layer: AttachmentLayer, opts: VerifyImageAttestationsOptions): Promise<VerifiedAttestation> {
  if (layer.error) throw layer.error;
  if (layer.mediaType !== MEDIA_TYPES.dsseEnvelope) {
    throw new SigwardError(
      'ATTESTATION_INVALID',
      `layer is not an attestation (media type ${layer.mediaType || 'none'})`,
    );
  }
  const envelopeBytes = layer.payload!;
  const env = toEnvelope(envelopeBytes);
  // cosign rejects any other payload type before looking at the signature
  verifyInTotoPayloadType(env);
  const signer = await opts.check(
    { blob: envelopeBytes, mediaType: layer.mediaType, annotations: layer.annotations },
    opts.now?.(),
  );
  const statement = toStatement(env.payload);
  verifySubjectDigest(statement, opts.digest);
  return { layer: layer.index, statement, signer };
}

/**
 * Verifies every `.att` layer. Returns the verified statements of the
 * requested predicate type; throws ATTESTATION_NOT_FOUND when there is none
 * (with the reasons other layers were rejected).
 */
export async function verifyImageAttestations(opts: VerifyImageAttestationsOptions): Promise<ImageAttestations> {
  const att = opts.bundlesOnly && opts.bundleCheck
    ? { tag: '', layers: [] }
    : await getAttachments(opts.store, opts.signatureRepository, opts.digest, 'att', { signal: opts.signal });
  const want = opts.predicateType === undefined ? undefined : toPredicateType(opts.predicateType);
  const result: ImageAttestations = {
    digest: opts.digest,
    attestationTag: att.tag,
    verified: [],
    otherTypes: [],
    rejected: [],
  };
  for (const layer of att.layers) {
    try {
      const v = { ...(await verifyLayer(layer, opts)), source: `${att.tag} layer ${layer.index}` };
      if (want === undefined || v.statement.predicateType === want) result.verified.push(v);
      else result.otherTypes.push(v.statement.predicateType);
    } catch (caught) {
      const e = toRejection(caught);
      if (!e) throw caught;
      result.rejected.push({
        layer: layer.index,
        code: e.code,
        reason: e.message,
        predicateType: layer.annotations.predicateType,
      });
    }
  }
  if (opts.bundleCheck) {
    const b = await getBundleAttestations(opts.store, opts.signatureRepository, opts.digest, opts.bundleCheck, want, {
      signal: opts.signal,
      now: opts.now,
    });
    for (const v of b.verified) {
      // bundle verification parsed the statement with toStatement, as for `.att` statements
      verifySubjectDigest(v.statement, opts.digest);
      result.verified.push({ layer: -1, source: `bundle ${v.manifest}`, statement: v.statement, signer: v.signer });
    }
    result.otherTypes.push(...b.otherTypes);
    result.rejected.push(
      ...b.rejected.map((r) => ({
        layer: -1,
        code: r.code,
        reason: `bundle ${r.manifest}: ${r.reason}`,
        ...(r.predicateType ? { predicateType: r.predicateType } : {}),
      })),
    );
  }
  if (result.verified.length > 0) return result;
  const typeText = want ?? 'any';
  const reasons = [...new Set(result.rejected.map((r) => r.reason))];
  if (result.rejected.length === 0 && result.otherTypes.length === 0) {
    throw new SigwardError('ATTESTATION_NOT_FOUND', `no attestations found for predicate type ${typeText}`, {
      detail: { attestationTag: att.tag },
    });
  }
  const others = result.otherTypes.length
    ? `; verified attestations have other predicate types: ${[...new Set(result.otherTypes)].join(', ')}`
    : '';
  throw new SigwardError(
    result.rejected[0]?.code ?? 'ATTESTATION_NOT_FOUND',
    `no verified attestations for predicate type ${typeText}${
      reasons.length ? ': ' + reasons.join('; ') : ''
    }${others}`,
    {
      detail: { rejected: result.rejected, otherTypes: result.otherTypes },
    },
  );
}
