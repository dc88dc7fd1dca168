// Maps @sigstore/verify and @sigstore/bundle errors to SigwardError codes with
// messages in cosign's words.

import { ValidationError } from '@sigstore/bundle';
import { PolicyError, VerificationError } from '@sigstore/verify';
import { type ErrorCode, SigwardError } from '../errors.ts';
import { errText } from './keys.ts';

export function toTrustError(e: unknown): SigwardError {
  if (e instanceof SigwardError) return e;
  if (e instanceof ValidationError) {
    const fields = (e as ValidationError & { fields?: string[] }).fields ?? [];
    return new SigwardError(
      'BUNDLE_INVALID',
      `invalid bundle: ${e.message}${fields.length ? ` (${fields.join(', ')})` : ''}`,
      {
        cause: e,
        detail: { fields },
      },
    );
  }
  if (e instanceof PolicyError) {
    return new SigwardError('IDENTITY_MISMATCH', `certificate identity mismatch: ${e.message}`, { cause: e });
  }
  if (e instanceof VerificationError) {
    const reason = [e.message, e.cause ? errText(e.cause) : ''].filter(Boolean).join(': ');
    const map = (code: ErrorCode, text: string) =>
      new SigwardError(code, text, { cause: e, detail: { sigstoreCode: e.code } });
    switch (e.code) {
      case 'TLOG_ERROR':
        if (/expected \d+ tlog entries, got 0/.test(e.message)) {
          return map('TLOG_MISSING', 'signature not found in transparency log');
        }
        return map('TLOG_INVALID', `transparency log entry invalid: ${reason}`);
      case 'TLOG_MISSING_INCLUSION_ERROR':
        return map('TLOG_INVALID', `transparency log entry has no verifiable inclusion promise or proof: ${reason}`);
      case 'TLOG_INCLUSION_PROMISE_ERROR':
        return map('TLOG_INVALID', `transparency log signed entry timestamp (SET) invalid: ${reason}`);
      case 'TLOG_INCLUSION_PROOF_ERROR':
        return map('TLOG_INVALID', `transparency log inclusion proof invalid: ${reason}`);
      case 'TLOG_BODY_ERROR':
        return map('TLOG_INVALID', `transparency log entry does not match the signature: ${reason}`);
      case 'CERTIFICATE_ERROR':
        if (/SCT/.test(e.message)) {
          return map('SCT_INVALID', `certificate transparency check failed: ${reason}`);
        }
        return map('CERTIFICATE_INVALID', `certificate invalid: ${reason}`);
      case 'PUBLIC_KEY_ERROR':
        return map('SIGNATURE_INVALID', `public key not usable: ${reason}`);
      case 'SIGNATURE_ERROR':
        return map('SIGNATURE_INVALID', 'invalid signature');
      case 'TIMESTAMP_ERROR':
        return map('TIMESTAMP_INVALID', `timestamp invalid: ${reason}`);
      case 'NOT_IMPLEMENTED_ERROR':
        return map('NOT_IMPLEMENTED', reason);
    }
  }
  // Malformed attacker-supplied data surfacing as a parse error: not verified.
  return new SigwardError('SIGNATURE_INVALID', `signature could not be verified: ${errText(e)}`, { cause: e });
}
