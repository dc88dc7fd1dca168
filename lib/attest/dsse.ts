// DSSE envelopes (the `.att` layer blob and bundle `dsseEnvelope`).
// What is signed is the PAE, never the envelope JSON.

import { dsse } from '@sigstore/core';
import { SigwardError } from '../errors.ts';

export const IN_TOTO_PAYLOAD_TYPE = 'application/vnd.in-toto+json';

export interface Envelope {
  payloadType: string;
  /** decoded payload bytes */
  payload: Uint8Array;
  signatures: { keyid: string; sig: Uint8Array }[];
}

const B64 = /^[A-Za-z0-9+/_-]*={0,2}$/;

function decodeB64(s: unknown, what: string): Uint8Array {
  if (typeof s !== 'string' || !B64.test(s.replace(/\s+/g, ''))) {
    throw new SigwardError('ATTESTATION_INVALID', `DSSE envelope ${what} is not base64`);
  }
  return Buffer.from(s, s.includes('-') || s.includes('_') ? 'base64url' : 'base64');
}

/** Parses envelope JSON bytes. Throws ATTESTATION_INVALID. */
export function toEnvelope(bytes: Uint8Array): Envelope {
  let v: { payloadType?: unknown; payload?: unknown; signatures?: unknown };
  try {
    v = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch (e) {
    throw new SigwardError('ATTESTATION_INVALID', 'attestation is not a DSSE envelope (not JSON)', { cause: e });
  }
  if (!v || typeof v !== 'object' || typeof v.payloadType !== 'string') {
    throw new SigwardError('ATTESTATION_INVALID', 'DSSE envelope has no payloadType');
  }
  if (!Array.isArray(v.signatures) || v.signatures.length === 0) {
    throw new SigwardError('ATTESTATION_INVALID', 'DSSE envelope has no signatures');
  }
  return {
    payloadType: v.payloadType,
    payload: decodeB64(v.payload, 'payload'),
    signatures: v.signatures.map((s: { keyid?: unknown; sig?: unknown }) => ({
      keyid: typeof s?.keyid === 'string' ? s.keyid : '',
      sig: decodeB64(s?.sig, 'signature'),
    })),
  };
}

/** The bytes a DSSE signature covers. */
export function toPAE(payloadType: string, payload: Uint8Array): Buffer {
  return dsse.preAuthEncoding(payloadType, Buffer.from(payload));
}

export function verifyInTotoPayloadType(env: Envelope): void {
  if (env.payloadType !== IN_TOTO_PAYLOAD_TYPE) {
    throw new SigwardError(
      'ATTESTATION_INVALID',
      `DSSE payload type is "${env.payloadType}", expected "${IN_TOTO_PAYLOAD_TYPE}"`,
    );
  }
}
