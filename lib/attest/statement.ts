// in-toto Statements v0.1 and v1: the one parser and subject-digest matcher.
// Bundle and legacy signature verification (lib/trust), cosign bundle
// referrers (lib/cosign) and attestation verification (lib/attest) all use
// these. This module imports nothing but ../errors.ts, so lib/trust can
// import it without an import cycle.

import { SigwardError } from '../errors.ts';

/** The statement types of the in-toto spec (and cosign). */
export const STATEMENT_TYPES = ['https://in-toto.io/Statement/v0.1', 'https://in-toto.io/Statement/v1'] as const;

/** The subject digest algorithms an artifact is hashed with to find its subject. */
export const SUBJECT_DIGEST_ALGORITHMS = ['sha256', 'sha384', 'sha512'] as const;

export interface Subject {
  name?: string;
  digest: Record<string, string>;
  annotations?: Record<string, unknown>;
}

export interface Statement {
  _type: string;
  subject: Subject[];
  predicateType: string;
  predicate?: unknown;
}

/** Parses statement bytes (a DSSE payload). Throws ATTESTATION_INVALID. */
export function toStatement(bytes: Uint8Array): Statement {
  let v: Partial<Statement>;
  try {
    v = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch (e) {
    throw new SigwardError('ATTESTATION_INVALID', 'in-toto statement is not JSON', { cause: e });
  }
  if (!v || typeof v !== 'object' || Array.isArray(v)) {
    throw new SigwardError('ATTESTATION_INVALID', 'in-toto statement is not an object');
  }
  if (!STATEMENT_TYPES.includes(v._type as (typeof STATEMENT_TYPES)[number])) {
    throw new SigwardError('ATTESTATION_INVALID', `unsupported in-toto statement type "${String(v._type)}"`);
  }
  if (typeof v.predicateType !== 'string' || v.predicateType === '') {
    throw new SigwardError('ATTESTATION_INVALID', 'in-toto statement has no predicateType');
  }
  if (!Array.isArray(v.subject) || v.subject.length === 0) {
    throw new SigwardError('ATTESTATION_INVALID', 'in-toto statement has no subject');
  }
  for (const s of v.subject) {
    if (!s || typeof s !== 'object' || !s.digest || typeof s.digest !== 'object') {
      throw new SigwardError('ATTESTATION_INVALID', 'in-toto statement subject has no digest');
    }
  }
  return v as Statement;
}

/** The subjects whose digest equals `digest` (`<alg>:<hex>`, hex compared case-insensitively). */
export function getSubjectsWithDigest(st: Statement, digest: string): Subject[] {
  const i = digest.indexOf(':');
  if (i <= 0) return [];
  const alg = digest.slice(0, i);
  const hex = digest.slice(i + 1).toLowerCase();
  return st.subject.filter((s) =>
    Object.hasOwn(s.digest, alg) && typeof s.digest[alg] === 'string' && s.digest[alg].toLowerCase() === hex
  );
}

/** True when some subject's digest equals `digest` (`<alg>:<hex>`). */
export function hasSubjectDigest(st: Statement, digest: string): boolean {
  return getSubjectsWithDigest(st, digest).length > 0;
}

/** Requires a subject whose digest equals `digest` (`sha256:<hex>`). Throws ATTESTATION_INVALID. */
export function verifySubjectDigest(st: Statement, digest: string): void {
  if (hasSubjectDigest(st, digest)) return;
  const got = st.subject.map((s) => Object.entries(s.digest).map(([a, h]) => `${a}:${h}`).join(',')).join(' ');
  throw new SigwardError('ATTESTATION_INVALID', `subject mismatch: expected ${digest}, received ${got || 'none'}`);
}

/** Requires the statement's predicateType to equal `want` (already expanded from a shortcut). */
export function verifyPredicateType(st: Statement, want: string): void {
  if (st.predicateType !== want) {
    throw new SigwardError(
      'ATTESTATION_INVALID',
      `predicate type mismatch: expected ${want}, received ${st.predicateType}`,
    );
  }
}
