// The Notary Project JWS envelope (application/jose+json): the flattened JWS
// JSON serialization, one signature. Protected header: alg, cty, crit and
// the io.cncf.notary.* signed attributes (times as RFC 3339 strings);
// unprotected header: x5c (standard base64 DER, leaf first),
// io.cncf.notary.timestampSignature, io.cncf.notary.signingAgent. The
// signature covers ASCII(BASE64URL(protected) '.' BASE64URL(payload)).
// Parsing only: nothing here checks the signature.

import { SigwardError } from '../errors.ts';
import { parseRFC3339 } from '../conditions/go-time.ts';
import { HEADER, JWS_MEDIA_TYPE, type NotaryAlgorithm, type NotaryEnvelope } from './types.ts';

const ALGORITHMS: readonly NotaryAlgorithm[] = ['PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512'];
const TOP_LEVEL = new Set(['payload', 'protected', 'header', 'signature']);

function invalid(msg: string, cause?: unknown): SigwardError {
  return new SigwardError(
    'SIGNATURE_INVALID',
    `invalid JWS signature envelope: ${msg}`,
    cause === undefined ? {} : { cause },
  );
}

function fromBase64Url(s: unknown, what: string): Uint8Array {
  if (typeof s !== 'string' || !/^[A-Za-z0-9_-]*$/.test(s)) throw invalid(`${what} is not base64url without padding`);
  return Buffer.from(s, 'base64url');
}

function fromBase64(s: unknown, what: string): Uint8Array {
  if (typeof s !== 'string' || s === '' || !/^[A-Za-z0-9+/]*={0,2}$/.test(s) || s.length % 4 !== 0) {
    throw invalid(`${what} is not standard base64`);
  }
  return Buffer.from(s, 'base64');
}

function toTime(v: unknown, name: string): Date {
  if (typeof v !== 'string') throw invalid(`${name} must be an RFC 3339 time string`);
  try {
    return new Date(Number(parseRFC3339(v).ns / 1_000_000n));
  } catch (e) {
    throw invalid(`${name}: ${(e as Error).message}`, e);
  }
}

function toObject(bytes: Uint8Array, what: string): Record<string, unknown> {
  let v: unknown;
  try {
    v = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch (e) {
    throw invalid(`${what} is not JSON: ${(e as Error).message}`, e);
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw invalid(`${what} is not a JSON object`);
  return v as Record<string, unknown>;
}

/** Parses a JWS envelope blob. Throws SIGNATURE_INVALID. */
export function toJwsEnvelope(blob: Uint8Array): NotaryEnvelope {
  const env = toObject(blob, 'the envelope');
  for (const k of Object.keys(env)) {
    if (!TOP_LEVEL.has(k)) {
      throw invalid(
        `unsupported top-level field ${JSON.stringify(k)} (only the flattened JSON serialization is supported)`,
      );
    }
  }
  const protectedB64 = env['protected'];
  const payloadB64 = env['payload'];
  if (typeof protectedB64 !== 'string' || protectedB64 === '') throw invalid('the protected header is missing');
  if (typeof payloadB64 !== 'string') throw invalid('the payload is missing');
  const payload = fromBase64Url(payloadB64, 'payload');
  const signature = fromBase64Url(env['signature'], 'signature');
  if (signature.length === 0) throw invalid('the signature is empty');
  const ph = toObject(fromBase64Url(protectedB64, 'protected header'), 'the protected header');

  const alg = ph['alg'];
  if (typeof alg !== 'string' || !(ALGORITHMS as readonly string[]).includes(alg)) {
    throw invalid(`alg ${JSON.stringify(alg)} is not one of ${ALGORITHMS.join(', ')}`);
  }
  const cty = ph['cty'];
  if (typeof cty !== 'string') throw invalid('the content type (cty) is missing');
  const crit = ph['crit'];
  if (crit !== undefined && (!Array.isArray(crit) || crit.some((c) => typeof c !== 'string'))) {
    throw invalid('crit must be a list of header names');
  }
  const scheme = ph[HEADER.signingScheme];
  if (typeof scheme !== 'string') throw invalid(`${HEADER.signingScheme} is missing`);

  const unprotected = env['header'];
  if (typeof unprotected !== 'object' || unprotected === null || Array.isArray(unprotected)) {
    throw invalid('the unprotected header is missing');
  }
  const u = unprotected as Record<string, unknown>;
  const x5c = u['x5c'];
  if (!Array.isArray(x5c) || x5c.length === 0) throw invalid('the certificate chain (x5c) is missing');

  const out: NotaryEnvelope = {
    format: 'jws',
    mediaType: JWS_MEDIA_TYPE,
    alg: alg as NotaryAlgorithm,
    contentType: cty,
    signingScheme: scheme,
    critical: (crit as string[] | undefined) ?? [],
    protectedNames: Object.keys(ph),
    payload,
    signedBytes: Buffer.from(`${protectedB64}.${payloadB64}`, 'ascii'),
    signature,
    certificates: x5c.map((c, i) => fromBase64(c, `x5c[${i}]`)),
  };
  if (ph[HEADER.signingTime] !== undefined) out.signingTime = toTime(ph[HEADER.signingTime], HEADER.signingTime);
  if (ph[HEADER.authenticSigningTime] !== undefined) {
    out.authenticSigningTime = toTime(ph[HEADER.authenticSigningTime], HEADER.authenticSigningTime);
  }
  if (ph[HEADER.expiry] !== undefined) out.expiry = toTime(ph[HEADER.expiry], HEADER.expiry);
  if (u[HEADER.timestampSignature] !== undefined) {
    out.timestamp = fromBase64(u[HEADER.timestampSignature], HEADER.timestampSignature);
  }
  if (typeof u[HEADER.signingAgent] === 'string') out.signingAgent = u[HEADER.signingAgent] as string;
  return out;
}
