// in-toto Statements v0.1 and v1.

import { SigwardError } from '../errors.ts';

export const STATEMENT_TYPES = ['https://in-toto.io/Statement/v0.1', 'https://in-toto.io/Statement/v1'] as const;

export interface Subject {
  name?: string;
  digest: Record<string, string>;
  annotations?: Record<string, unknown>;
}

export interface Statement {
  _type: string;
  subject: Subject[];
  predicateType: string;
  predicate: unknown;
}

/** Parses statement bytes. Throws ATTESTATION_INVALID. */
export function toStatement(bytes: Uint8Array): Statement {
  let v: Partial<Statement>;
  try {
    v = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch (e) {
    throw new SigwardError('ATTESTATION_INVALID', 'in-toto statement is not JSON', { cause: e });
  }
  if (!v || typeof v !== 'object' || Array.isArray(v)) throw new SigwardError('ATTESTATION_INVALID', 'in-toto statement is not an object');
  if (!STATEMENT_TYPES.includes(v._type as (typeof STATEMENT_TYPES)[number])) {
    throw new SigwardError('ATTESTATION_INVALID', `unsupported in-toto statement type "${String(v._type)}"`);
  }
  if (typeof v.predicateType !== 'string' || v.predicateType === '') throw new SigwardError('ATTESTATION_INVALID', 'in-toto statement has no predicateType');
  if (!Array.isArray(v.subject) || v.subject.length === 0) throw new SigwardError('ATTESTATION_INVALID', 'in-toto statement has no subject');
  for (const s of v.subject) {
    if (!s || typeof s !== 'object' || !s.digest || typeof s.digest !== 'object') throw new SigwardError('ATTESTATION_INVALID', 'in-toto statement subject has no digest');
  }
  return v as Statement;
}

/** Requires a subject whose digest equals `digest` (`sha256:<hex>`). */
export function verifySubjectDigest(st: Statement, digest: string): void {
  const i = digest.indexOf(':');
  const alg = digest.slice(0, i);
  const hex = digest.slice(i + 1).toLowerCase();
  if (st.subject.some((s) => typeof s.digest[alg] === 'string' && s.digest[alg]!.toLowerCase() === hex)) return;
  const got = st.subject.map((s) => Object.entries(s.digest).map(([a, h]) => `${a}:${h}`).join(',')).join(' ');
  throw new SigwardError('ATTESTATION_INVALID', `subject mismatch: expected ${digest}, received ${got || 'none'}`);
}

/** Requires the statement's predicateType to equal `want` (already expanded from a shortcut). */
export function verifyPredicateType(st: Statement, want: string): void {
  if (st.predicateType !== want) {
    throw new SigwardError('ATTESTATION_INVALID', `predicate type mismatch: expected ${want}, received ${st.predicateType}`);
  }
}
