// One error base for the whole library. Every error carries a stable string
// code and an outcome that decides the exit code / admission decision:
//   deny      -> the image is not verified (exit 1)
//   usage     -> the caller's input or configuration is wrong (exit 2)
//   undecided -> sigward could not decide, e.g. the registry is unreachable (exit 3)

export type Outcome = 'deny' | 'usage' | 'undecided';

export type ErrorCode =
  // references and configuration
  | 'REFERENCE_INVALID'
  | 'CONFIG_INVALID'
  | 'KEY_INVALID'
  | 'NOT_IMPLEMENTED'
  // registry and storage
  | 'REGISTRY_UNREACHABLE'
  | 'REGISTRY_ERROR'
  | 'REGISTRY_UNAUTHORIZED'
  | 'REGISTRY_RATE_LIMITED'
  | 'MANIFEST_UNKNOWN'
  | 'BLOB_UNKNOWN'
  | 'CONTENT_DIGEST_MISMATCH'
  | 'CONTENT_TOO_LARGE'
  | 'MANIFEST_INVALID'
  | 'LAYOUT_INVALID'
  // signatures
  | 'SIGNATURE_NOT_FOUND'
  | 'SIGNATURE_INVALID'
  | 'MANIFEST_DIGEST_MISMATCH'
  | 'PAYLOAD_INVALID'
  | 'ANNOTATION_MISMATCH'
  | 'TLOG_MISSING'
  | 'TLOG_INVALID'
  | 'CERTIFICATE_INVALID'
  | 'IDENTITY_MISMATCH'
  | 'SCT_INVALID'
  | 'TIMESTAMP_INVALID'
  | 'TRUST_ROOT_INVALID'
  | 'BUNDLE_INVALID'
  // attestations, conditions, policies
  | 'ATTESTATION_NOT_FOUND'
  | 'ATTESTATION_INVALID'
  | 'CONDITION_FAILED'
  | 'CONDITION_INVALID'
  | 'POLICY_INVALID'
  // admission webhook input
  | 'ADMISSION_INVALID'
  | 'INTERNAL';

const DEFAULT_OUTCOME: Record<ErrorCode, Outcome> = {
  REFERENCE_INVALID: 'usage',
  CONFIG_INVALID: 'usage',
  KEY_INVALID: 'usage',
  NOT_IMPLEMENTED: 'usage',
  REGISTRY_UNREACHABLE: 'undecided',
  REGISTRY_ERROR: 'undecided',
  REGISTRY_UNAUTHORIZED: 'undecided',
  REGISTRY_RATE_LIMITED: 'undecided',
  MANIFEST_UNKNOWN: 'deny',
  BLOB_UNKNOWN: 'deny',
  CONTENT_DIGEST_MISMATCH: 'deny',
  CONTENT_TOO_LARGE: 'deny',
  MANIFEST_INVALID: 'deny',
  LAYOUT_INVALID: 'deny',
  SIGNATURE_NOT_FOUND: 'deny',
  SIGNATURE_INVALID: 'deny',
  MANIFEST_DIGEST_MISMATCH: 'deny',
  PAYLOAD_INVALID: 'deny',
  ANNOTATION_MISMATCH: 'deny',
  TLOG_MISSING: 'deny',
  TLOG_INVALID: 'deny',
  CERTIFICATE_INVALID: 'deny',
  IDENTITY_MISMATCH: 'deny',
  SCT_INVALID: 'deny',
  TIMESTAMP_INVALID: 'deny',
  TRUST_ROOT_INVALID: 'usage',
  BUNDLE_INVALID: 'deny',
  ATTESTATION_NOT_FOUND: 'deny',
  ATTESTATION_INVALID: 'deny',
  CONDITION_FAILED: 'deny',
  CONDITION_INVALID: 'usage',
  POLICY_INVALID: 'usage',
  ADMISSION_INVALID: 'usage',
  INTERNAL: 'undecided',
};

export interface SigwardErrorOptions {
  cause?: unknown;
  outcome?: Outcome;
  /** extra structured detail for JSON output (never secrets) */
  detail?: Record<string, unknown>;
}

export class SigwardError extends Error {
  readonly code: ErrorCode;
  readonly outcome: Outcome;
  readonly detail?: Record<string, unknown>;

  constructor(code: ErrorCode, message: string, opts: SigwardErrorOptions = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'SigwardError';
    this.code = code;
    this.outcome = opts.outcome ?? DEFAULT_OUTCOME[code];
    this.detail = opts.detail;
  }
}

export function isSigwardError(e: unknown): e is SigwardError {
  return e instanceof SigwardError;
}

/** Wraps anything thrown into a SigwardError (unknown errors are INTERNAL / undecided). */
export function toSigwardError(e: unknown): SigwardError {
  if (e instanceof SigwardError) return e;
  const msg = e instanceof Error ? e.message : String(e);
  return new SigwardError('INTERNAL', msg, { cause: e });
}

export const EXIT_CODES: Record<Outcome | 'ok', number> = {
  ok: 0,
  deny: 1,
  usage: 2,
  undecided: 3,
};

/**
 * For per-signature loops: the error that rejects one signature (or layer,
 * or bundle), or undefined when the error must propagate (the registry could
 * not be reached, a usage error). Anything unexpected while checking
 * attacker-supplied material rejects that signature: it never becomes
 * "could not decide", which failurePolicy Ignore would turn into an allow.
 */
export function toRejection(e: unknown): SigwardError | undefined {
  if (e instanceof SigwardError) return e.outcome === 'deny' ? e : undefined;
  const msg = e instanceof Error ? e.message : String(e);
  return new SigwardError('SIGNATURE_INVALID', `signature could not be verified: ${msg}`, { cause: e });
}
