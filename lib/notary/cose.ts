// The Notary Project COSE envelope (application/cose): COSE_Sign1_Tagged
// (tag 18) = [protected bstr, unprotected map, payload bstr, signature bstr].
// Protected header: 1 alg, 2 crit, 3 content type and the io.cncf.notary.*
// signed attributes (times as CBOR tag 1 epoch values); unprotected header:
// 33 x5chain (DER, leaf first), io.cncf.notary.timestampSignature,
// io.cncf.notary.signingAgent. The signature covers the Sig_structure
// ["Signature1", protected, h'', payload]. CBOR is read with cborg; parsing
// only, nothing here checks the signature.

import { decode, encode, Tagged } from 'cborg';
import { SigwardError } from '../errors.ts';
import { COSE_MEDIA_TYPE, HEADER, type NotaryAlgorithm, type NotaryEnvelope } from './types.ts';

const COSE_SIGN1_TAG = 18;
const EPOCH_TAG = 1;
const LABEL = { alg: 1, crit: 2, contentType: 3, x5chain: 33 } as const;
/** COSE algorithm identifiers of the six Notary algorithms */
const ALGORITHMS = new Map<number, NotaryAlgorithm>([
  [-37, 'PS256'],
  [-38, 'PS384'],
  [-39, 'PS512'],
  [-7, 'ES256'],
  [-35, 'ES384'],
  [-36, 'ES512'],
]);

const DECODE_OPTIONS = {
  useMaps: true,
  rejectDuplicateMapKeys: true,
  tags: { [COSE_SIGN1_TAG]: Tagged.decoder(COSE_SIGN1_TAG), [EPOCH_TAG]: Tagged.decoder(EPOCH_TAG) },
};

function invalid(msg: string, cause?: unknown): SigwardError {
  return new SigwardError(
    'SIGNATURE_INVALID',
    `invalid COSE signature envelope: ${msg}`,
    cause === undefined ? {} : { cause },
  );
}

function cbor(bytes: Uint8Array, what: string): unknown {
  try {
    return decode(bytes, DECODE_OPTIONS as never);
  } catch (e) {
    throw invalid(`${what} is not valid CBOR: ${(e as Error).message}`, e);
  }
}

function isBytes(v: unknown): v is Uint8Array {
  return v instanceof Uint8Array;
}

function toTime(v: unknown, name: string): Date {
  if (!(v instanceof Tagged) || v.tag !== EPOCH_TAG || typeof v.value !== 'number' || !Number.isFinite(v.value)) {
    throw invalid(`${name} must be an epoch date/time (CBOR tag 1)`);
  }
  const d = new Date(Math.trunc(v.value * 1000));
  if (Number.isNaN(d.getTime())) throw invalid(`${name} is out of range`);
  return d;
}

function labelName(k: unknown): string {
  return typeof k === 'number' ? String(k) : String(k);
}

/** Parses a COSE_Sign1_Tagged envelope blob. Throws SIGNATURE_INVALID. */
export function toCoseEnvelope(blob: Uint8Array): NotaryEnvelope {
  const top = cbor(blob, 'the envelope');
  if (!(top instanceof Tagged) || top.tag !== COSE_SIGN1_TAG) {
    throw invalid('not a COSE_Sign1_Tagged message (CBOR tag 18)');
  }
  const msg = top.value;
  if (!Array.isArray(msg) || msg.length !== 4) throw invalid('COSE_Sign1 must be an array of 4 items');
  const [protectedBytes, unprotected, payload, signature] = msg as unknown[];
  if (!isBytes(protectedBytes) || protectedBytes.length === 0) throw invalid('the protected header is missing');
  if (!(unprotected instanceof Map)) throw invalid('the unprotected header is not a map');
  if (!isBytes(payload)) throw invalid('the payload is missing (detached payloads are not supported)');
  if (!isBytes(signature) || signature.length === 0) throw invalid('the signature is missing');
  const ph = cbor(protectedBytes, 'the protected header');
  if (!(ph instanceof Map)) throw invalid('the protected header is not a map');

  const algId = ph.get(LABEL.alg);
  const alg = typeof algId === 'number' ? ALGORITHMS.get(algId) : undefined;
  if (!alg) throw invalid(`alg ${JSON.stringify(algId)} is not one of ${[...ALGORITHMS.keys()].join(', ')}`);
  const cty = ph.get(LABEL.contentType);
  if (typeof cty !== 'string') throw invalid('the content type (label 3) is missing');
  const crit = ph.get(LABEL.crit);
  if (
    crit !== undefined &&
    (!Array.isArray(crit) || crit.length === 0 || crit.some((c) => typeof c !== 'string' && typeof c !== 'number'))
  ) {
    throw invalid('crit (label 2) must be a non-empty list of labels');
  }
  const scheme = ph.get(HEADER.signingScheme);
  if (typeof scheme !== 'string') throw invalid(`${HEADER.signingScheme} is missing`);

  // x5chain: unprotected, or (allowed by the specification) protected; one bstr or a list
  const x5 = unprotected.get(LABEL.x5chain) ?? ph.get(LABEL.x5chain);
  const chain = isBytes(x5)
    ? [x5]
    : Array.isArray(x5) && x5.length > 0 && x5.every(isBytes)
    ? (x5 as Uint8Array[])
    : undefined;
  if (!chain) throw invalid('the certificate chain (x5chain, label 33) is missing');

  const out: NotaryEnvelope = {
    format: 'cose',
    mediaType: COSE_MEDIA_TYPE,
    alg,
    contentType: cty,
    signingScheme: scheme,
    critical: ((crit as unknown[] | undefined) ?? []).map(labelName),
    protectedNames: [...ph.keys()].map(labelName),
    payload,
    signedBytes: encode(['Signature1', protectedBytes, new Uint8Array(0), payload]),
    signature,
    certificates: chain,
  };
  if (ph.has(HEADER.signingTime)) out.signingTime = toTime(ph.get(HEADER.signingTime), HEADER.signingTime);
  if (ph.has(HEADER.authenticSigningTime)) {
    out.authenticSigningTime = toTime(ph.get(HEADER.authenticSigningTime), HEADER.authenticSigningTime);
  }
  if (ph.has(HEADER.expiry)) out.expiry = toTime(ph.get(HEADER.expiry), HEADER.expiry);
  const ts = unprotected.get(HEADER.timestampSignature);
  if (ts !== undefined) {
    if (!isBytes(ts)) throw invalid(`${HEADER.timestampSignature} must be a byte string`);
    out.timestamp = ts;
  }
  const agent = unprotected.get(HEADER.signingAgent);
  if (typeof agent === 'string') out.signingAgent = agent;
  return out;
}
