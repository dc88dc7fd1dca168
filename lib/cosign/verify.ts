// Verifying an image's legacy cosign signatures (the `.sig` tag), as
// `cosign verify` does: every layer is checked independently, and the image
// is verified when at least one layer passes every check:
//   1. the layer is a simple-signing layer with a signature annotation;
//   2. the signature over the exact payload bytes (key, certificate, keyless:
//      the `LayerCheck` decides, including the transparency log);
//   3. the payload's claims: type, docker-manifest-digest, annotations.

import { type ErrorCode, SigwardError, toRejection } from '../errors.ts';
import type { OciStore, RepositoryRef } from '../oci/types.ts';
import { MEDIA_TYPES } from '../oci/types.ts';
import { ANNOTATION } from './annotations.ts';
import { type AttachmentLayer, getAttachments } from './signatures.ts';
import { type SimpleSigningPayload, toSimpleSigningPayload, verifyPayloadClaims } from './payload.ts';

export interface TlogInfo {
  logIndex: string;
  integratedTime: string;
}

export interface SignerInfo {
  kind: 'key' | 'certificate' | 'keyless';
  /** sha256 of the verifying key's SPKI */
  keyId?: string;
  /** certificate identity (keyless / certificate) */
  identity?: { subject?: string; issuer?: string; extensions?: Record<string, string> };
  /** verified transparency log entry */
  tlog?: TlogInfo;
  /** trusted times used for the certificate checks */
  timestamps?: { source: string; time: string }[];
}

/** One attachment layer as stored: the blob (payload or DSSE envelope), its media type and annotations. */
export interface LayerInput {
  blob: Uint8Array;
  mediaType: string;
  annotations: Record<string, string>;
}

/** Verifies the cryptography of one layer (signature, certificate, identity, tlog, SCT). Throws SigwardError. */
/** Checks one signature layer; `now` is the clock for certificates when nothing attests the signing time (default: the real clock). */
export type LayerCheck = (layer: LayerInput, now?: Date) => Promise<SignerInfo>;

export interface VerifiedSignature {
  layer: number;
  payload: SimpleSigningPayload;
  signer: SignerInfo;
}

export interface RejectedSignature {
  layer: number;
  code: ErrorCode;
  reason: string;
}

export interface ImageSignatures {
  digest: string;
  signatureRepository: RepositoryRef;
  signatureTag: string;
  verified: VerifiedSignature[];
  rejected: RejectedSignature[];
}

export interface VerifyImageSignaturesOptions {
  /** store holding the signatures (the image's, or the override's) */
  store: OciStore;
  signatureRepository: RepositoryRef;
  /** the manifest digest being verified */
  digest: string;
  check: LayerCheck;
  annotations?: Record<string, string>;
  signal?: AbortSignal;
  /** the clock handed to the checks (default: the real one) */
  now?: () => Date;
}

async function verifyLayer(layer: AttachmentLayer, opts: VerifyImageSignaturesOptions): Promise<VerifiedSignature> {
  if (layer.error) throw layer.error;
  if (layer.mediaType !== MEDIA_TYPES.cosignSimpleSigning) {
    throw new SigwardError('PAYLOAD_INVALID', `layer is not a signature (media type ${layer.mediaType || 'none'})`);
  }
  if (!layer.annotations[ANNOTATION.signature]) {
    throw new SigwardError('PAYLOAD_INVALID', 'layer has no signature annotation');
  }
  const payloadBytes = layer.payload!;
  const signer = await opts.check(
    { blob: payloadBytes, mediaType: layer.mediaType, annotations: layer.annotations },
    opts.now?.(),
  );
  const payload = toSimpleSigningPayload(payloadBytes);
  verifyPayloadClaims(payload, { digest: opts.digest, annotations: opts.annotations });
  return { layer: layer.index, payload, signer };
}

// When no layer verifies, the most specific reason wins: a layer that was a
// valid signature but for another digest says more than a foreign key.
const REASON_PRIORITY: ErrorCode[] = [
  'ANNOTATION_MISMATCH',
  'MANIFEST_DIGEST_MISMATCH',
  'IDENTITY_MISMATCH',
  'TLOG_MISSING',
  'TLOG_INVALID',
  'SCT_INVALID',
  'CERTIFICATE_INVALID',
  'TIMESTAMP_INVALID',
  'SIGNATURE_INVALID',
];

/** Rank of a failure reason: lower is more specific (for choosing what to report). */
export function rankReason(code: ErrorCode): number {
  const i = REASON_PRIORITY.indexOf(code);
  return i < 0 ? REASON_PRIORITY.length : i;
}

/**
 * Verifies every signature layer and returns those that passed. Throws
 * SIGNATURE_NOT_FOUND when there is no signature, or the most specific
 * failure when none verified (message lists every distinct reason).
 */
export async function verifyImageSignatures(opts: VerifyImageSignaturesOptions): Promise<ImageSignatures> {
  const att = await getAttachments(opts.store, opts.signatureRepository, opts.digest, 'sig', { signal: opts.signal });
  const result: ImageSignatures = {
    digest: opts.digest,
    signatureRepository: opts.signatureRepository,
    signatureTag: att.tag,
    verified: [],
    rejected: [],
  };
  for (const layer of att.layers) {
    try {
      result.verified.push(await verifyLayer(layer, opts));
    } catch (caught) {
      const e = toRejection(caught);
      if (!e) throw caught;
      result.rejected.push({ layer: layer.index, code: e.code, reason: e.message });
    }
  }
  if (result.verified.length > 0) return result;
  if (result.rejected.length === 0) {
    throw new SigwardError('SIGNATURE_NOT_FOUND', 'signature not found', { detail: { signatureTag: att.tag } });
  }
  const best = [...result.rejected].sort((a, b) => rankReason(a.code) - rankReason(b.code))[0]!;
  const reasons = [...new Set(result.rejected.map((r) => r.reason))];
  const onlyForeign = result.rejected.every((r) =>
    r.code === 'PAYLOAD_INVALID' && r.reason.startsWith('layer is not a signature')
  );
  if (onlyForeign) {
    throw new SigwardError('SIGNATURE_NOT_FOUND', `signature not found (${reasons.join('; ')})`, {
      detail: { rejected: result.rejected },
    });
  }
  throw new SigwardError(
    best.code,
    reasons.length === 1 ? best.reason : `no matching signatures: ${reasons.join('; ')}`,
    {
      detail: { rejected: result.rejected },
    },
  );
}
