// The cosign "simple signing" payload and the claim checks cosign makes on it
// (pkg/cosign verifiers: SimpleClaimVerifier) plus the type check that
// containers/image makes.

import { SigwardError } from '../errors.ts';

export const COSIGN_SIGNATURE_TYPE = 'cosign container image signature';

export interface SimpleSigningPayload {
  critical: {
    identity: { 'docker-reference': string };
    image: { 'docker-manifest-digest': string };
    type: string;
  };
  optional: Record<string, unknown> | null;
}

/** Parses the payload bytes (never re-serialised). Throws PAYLOAD_INVALID. */
export function toSimpleSigningPayload(bytes: Uint8Array): SimpleSigningPayload {
  let v: unknown;
  try {
    v = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch (e) {
    throw new SigwardError('PAYLOAD_INVALID', 'signature payload is not JSON', { cause: e });
  }
  const c = (v as { critical?: unknown })?.critical as SimpleSigningPayload['critical'] | undefined;
  if (!c || typeof c !== 'object') {
    throw new SigwardError('PAYLOAD_INVALID', 'signature payload has no "critical" section');
  }
  const digest = c.image?.['docker-manifest-digest'];
  if (typeof digest !== 'string') {
    throw new SigwardError('PAYLOAD_INVALID', 'signature payload has no critical.image.docker-manifest-digest');
  }
  if (typeof c.type !== 'string') throw new SigwardError('PAYLOAD_INVALID', 'signature payload has no critical.type');
  const optional = (v as { optional?: unknown }).optional;
  if (optional !== undefined && optional !== null && (typeof optional !== 'object' || Array.isArray(optional))) {
    throw new SigwardError('PAYLOAD_INVALID', 'signature payload "optional" must be an object or null');
  }
  return v as SimpleSigningPayload;
}

export interface ClaimOptions {
  /** the digest being verified, `sha256:<hex>` */
  digest: string;
  /** every pair must be present in `optional` with the same (string) value */
  annotations?: Record<string, string>;
}

/** Checks the payload's claims. Throws MANIFEST_DIGEST_MISMATCH / PAYLOAD_INVALID / ANNOTATION_MISMATCH. */
export function verifyPayloadClaims(p: SimpleSigningPayload, opts: ClaimOptions): void {
  if (p.critical.type !== COSIGN_SIGNATURE_TYPE) {
    throw new SigwardError(
      'PAYLOAD_INVALID',
      `signature payload type is "${p.critical.type}", expected "${COSIGN_SIGNATURE_TYPE}"`,
    );
  }
  const claimed = p.critical.image['docker-manifest-digest'];
  if (claimed !== opts.digest) {
    throw new SigwardError(
      'MANIFEST_DIGEST_MISMATCH',
      `manifest digest mismatch: signature is for ${claimed}, image is ${opts.digest}`,
    );
  }
  for (const [k, want] of Object.entries(opts.annotations ?? {})) {
    const got = p.optional?.[k];
    // cosign compares interface{} values: only the same JSON string matches a
    // -a key=value (true, 1, ["v"] never equal "true", "1", "v")
    const gotStr = typeof got === 'string' ? got : got === undefined ? undefined : JSON.stringify(got);
    if (typeof got !== 'string' || got !== want) {
      throw new SigwardError(
        'ANNOTATION_MISMATCH',
        `no signature matched the required annotations: ${k}=${want} (payload has ${
          gotStr === undefined ? 'none' : `${k}=${gotStr}`
        })`,
      );
    }
  }
}

/** Builds a payload as `cosign sign` writes it (for fixtures and tests). */
export function makeSimpleSigningPayload(
  dockerReference: string,
  digest: string,
  optional: Record<string, unknown> | null = null,
): Uint8Array {
  const p: SimpleSigningPayload = {
    critical: {
      identity: { 'docker-reference': dockerReference },
      image: { 'docker-manifest-digest': digest },
      type: COSIGN_SIGNATURE_TYPE,
    },
    optional,
  };
  return new TextEncoder().encode(JSON.stringify(p));
}
