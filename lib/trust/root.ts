// Sigstore trusted_root.json: parsing, conversion to @sigstore/verify trust
// material, merging and a printable summary (for `sigward trust show`).

import { createPublicKey, type KeyObject, X509Certificate as NodeX509 } from 'node:crypto';
import { X509Certificate } from '@sigstore/core';
import {
  type CertificateAuthority,
  HashAlgorithm,
  hashAlgorithmToJSON,
  PublicKeyDetails,
  publicKeyDetailsToJSON,
  type TransparencyLogInstance,
  TrustedRoot,
} from '@sigstore/protobuf-specs';
import { toTrustMaterial, type TrustMaterial, VerificationError } from '@sigstore/verify';
import { SigwardError } from '../errors.ts';
import { describeKey, errText } from './keys.ts';

export type { TrustedRoot } from '@sigstore/protobuf-specs';
export type { TrustMaterial } from '@sigstore/verify';

/** Media types of trusted_root.json that sigward accepts. */
export const TRUSTED_ROOT_MEDIA_TYPES = [
  'application/vnd.dev.sigstore.trustedroot+json;version=0.1',
  'application/vnd.dev.sigstore.trustedroot.v0.1+json',
  'application/vnd.dev.sigstore.trustedroot+json;version=0.2',
  'application/vnd.dev.sigstore.trustedroot.v0.2+json',
] as const;

/** Loaded trust: the parsed model (for display) plus the verifier's material. */
export interface Trust {
  root: TrustedRoot;
  material: TrustMaterial;
  /** where the parts came from, e.g. ["embedded public-good", "SIGSTORE_REKOR_PUBLIC_KEY=/x"] */
  sources: string[];
}

export type TrustInput = Trust | TrustMaterial;

export function getTrustMaterial(t: TrustInput): TrustMaterial {
  return 'material' in t ? t.material : t;
}

const END_OF_TIME = new Date(8640000000000000);

/**
 * Parses trusted_root.json (text, bytes or an already-parsed JSON object).
 * Throws TRUST_ROOT_INVALID with the offending part when it is unusable.
 */
export function parseTrustedRoot(input: string | Uint8Array | object, source = 'trusted root'): TrustedRoot {
  let json: unknown = input;
  try {
    if (typeof input === 'string') json = JSON.parse(input);
    else if (input instanceof Uint8Array) json = JSON.parse(Buffer.from(input).toString('utf8'));
  } catch (e) {
    throw new SigwardError('TRUST_ROOT_INVALID', `${source}: not valid JSON: ${errText(e)}`, { cause: e });
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw new SigwardError('TRUST_ROOT_INVALID', `${source}: expected a JSON object`);
  }
  const mediaType = (json as { mediaType?: unknown }).mediaType;
  if (!TRUSTED_ROOT_MEDIA_TYPES.includes(mediaType as (typeof TRUSTED_ROOT_MEDIA_TYPES)[number])) {
    throw new SigwardError(
      'TRUST_ROOT_INVALID',
      `${source}: unsupported trusted root media type ${JSON.stringify(mediaType)}`,
    );
  }
  const checked = checkMessage(json, TRUSTED_ROOT_FIELDS, '', source);
  let root: TrustedRoot;
  try {
    root = TrustedRoot.fromJSON(checked);
  } catch (e) {
    throw new SigwardError('TRUST_ROOT_INVALID', `${source}: ${errText(e)}`, { cause: e });
  }
  // Building the material validates every key and certificate.
  toTrustMaterialChecked(root, source);
  return root;
}

// ---------------------------------------------------------------------------
// The JSON shape of dev.sigstore.trustroot.v1.TrustedRoot (proto3 JSON names).
// The protobuf-specs decoder drops unknown fields and takes any string as a
// time, so a misspelt "validFor" would make a CA valid for all time and
// "start": "yesterday" an invalid Date; sigstore-go (protojson) refuses both,
// and so does this check.

type FieldKind = 'string' | 'bytes' | 'timestamp' | { enum: Record<string, string | number> } | { message: Fields } | {
  list: Fields;
};
interface Fields {
  [name: string]: FieldKind;
}

const TIME_RANGE_FIELDS: Fields = { start: 'timestamp', end: 'timestamp' };
const LOG_ID_FIELDS: Fields = { keyId: 'bytes' };
const TLOG_FIELDS: Fields = {
  baseUrl: 'string',
  hashAlgorithm: { enum: HashAlgorithm },
  publicKey: {
    message: { rawBytes: 'bytes', keyDetails: { enum: PublicKeyDetails }, validFor: { message: TIME_RANGE_FIELDS } },
  },
  logId: { message: LOG_ID_FIELDS },
  checkpointKeyId: { message: LOG_ID_FIELDS },
  operator: 'string',
};
const CA_FIELDS: Fields = {
  subject: { message: { organization: 'string', commonName: 'string' } },
  uri: 'string',
  certChain: { message: { certificates: { list: { rawBytes: 'bytes' } } } },
  validFor: { message: TIME_RANGE_FIELDS },
  operator: 'string',
};
const TRUSTED_ROOT_FIELDS: Fields = {
  mediaType: 'string',
  tlogs: { list: TLOG_FIELDS },
  certificateAuthorities: { list: CA_FIELDS },
  ctlogs: { list: TLOG_FIELDS },
  timestampAuthorities: { list: CA_FIELDS },
};

const BASE64 = /^(?:[A-Za-z0-9+/]*={0,2}|[A-Za-z0-9_-]*={0,2})$/;
const TIMESTAMP = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.\d{1,9})?(?:Z|([+-])(\d{2}):(\d{2}))$/;

function shapeError(source: string, path: string, message: string): SigwardError {
  return new SigwardError('TRUST_ROOT_INVALID', `${source}: ${path ? `${path}: ` : ''}${message}`);
}

/**
 * Checks one message and returns it with proto3 JSON's other spelling of
 * field names (log_id for logId, which protojson also takes) normalised to
 * the JSON name the decoder reads.
 */
function checkMessage(value: unknown, fields: Fields, path: string, source: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw shapeError(source, path, 'expected a JSON object');
  }
  const out: Record<string, unknown> = {};
  for (const [name, v] of Object.entries(value)) {
    const at = path ? `${path}.${name}` : name;
    const jsonName = Object.hasOwn(fields, name)
      ? name
      : name.replace(/_([a-z0-9])/g, (_m, c: string) => c.toUpperCase());
    if (!Object.hasOwn(fields, jsonName)) throw shapeError(source, at, 'unknown field');
    if (Object.hasOwn(out, jsonName)) throw shapeError(source, at, `duplicate field (also given as ${jsonName})`);
    out[jsonName] = v === null ? null : checkField(v, fields[jsonName]!, at, source);
  }
  return out;
}

function checkField(v: unknown, kind: FieldKind, path: string, source: string): unknown {
  if (typeof kind === 'object') {
    if ('message' in kind) return checkMessage(v, kind.message, path, source);
    if ('enum' in kind) {
      // proto3 JSON: the value's name, or its number
      const known = typeof v === 'string'
        ? Object.hasOwn(kind.enum, v) && Number.isNaN(Number(v))
        : Number.isInteger(v) && Object.values(kind.enum).includes(v as number);
      if (!known) throw shapeError(source, path, `unknown value ${JSON.stringify(v)}`);
      return v;
    }
    if (!Array.isArray(v)) throw shapeError(source, path, 'expected a JSON array');
    return v.map((item, i) => checkMessage(item, kind.list, `${path}[${i}]`, source));
  }
  switch (kind) {
    case 'string':
      if (typeof v !== 'string') throw shapeError(source, path, 'expected a string');
      return v;
    case 'bytes':
      if (typeof v !== 'string' || !BASE64.test(v)) throw shapeError(source, path, 'expected base64 bytes');
      return v;
    case 'timestamp':
      if (typeof v !== 'string' || !isTimestamp(v)) {
        throw shapeError(source, path, `${JSON.stringify(v)} is not an RFC 3339 time (such as 2021-01-12T11:53:27Z)`);
      }
      return v;
  }
}

function isTimestamp(text: string): boolean {
  const m = TIMESTAMP.exec(text);
  if (!m) return false;
  const [y, mo, d, h, mi, s] = m.slice(1, 7).map(Number) as [number, number, number, number, number, number];
  const daysInMonth = new Date(Date.UTC(y, mo, 0)).getUTCDate();
  const offsetOk = m[7] === undefined || (Number(m[8]) <= 23 && Number(m[9]) <= 59);
  return y >= 1 && mo >= 1 && mo <= 12 && d >= 1 && d <= daysInMonth && h <= 23 && mi <= 59 && s <= 59 && offsetOk &&
    !Number.isNaN(Date.parse(text));
}

/** TrustedRoot → verifier material; throws TRUST_ROOT_INVALID naming the bad entry. */
export function toTrustMaterialChecked(root: TrustedRoot, source = 'trusted root'): TrustMaterial {
  root.certificateAuthorities.forEach((ca, i) => checkCA(ca, `${source}: certificateAuthorities[${i}]`));
  root.timestampAuthorities.forEach((ca, i) => checkCA(ca, `${source}: timestampAuthorities[${i}]`));
  let base: TrustMaterial;
  try {
    // tlogs/ctlogs are built below: @sigstore/verify parses PKIX RSA log keys
    // as PKCS#1, which fails for the SPKI bytes the spec prescribes.
    base = toTrustMaterial({ ...root, tlogs: [], ctlogs: [] });
  } catch (e) {
    throw new SigwardError('TRUST_ROOT_INVALID', `${source}: ${errText(e)}`, { cause: e });
  }
  return {
    ...base,
    tlogs: root.tlogs.map((t, i) => toTLogAuthority(t, `${source}: tlogs[${i}]`)),
    ctlogs: root.ctlogs.map((t, i) => toTLogAuthority(t, `${source}: ctlogs[${i}]`)),
    publicKey: noPublicKeys,
  };
}

/** Trust from a parsed root. */
export function toTrust(root: TrustedRoot, sources: string[] = []): Trust {
  return { root, material: toTrustMaterialChecked(root), sources };
}

// The default key finder: trust roots carry no signer keys, keys are passed
// per verification. Throws the same error @sigstore/verify would.
function noPublicKeys(hint: string): never {
  throw new VerificationError({ code: 'PUBLIC_KEY_ERROR', message: `key not found: ${hint}` });
}

function checkCA(ca: CertificateAuthority, where: string): void {
  const certs = ca.certChain?.certificates ?? [];
  if (certs.length === 0) throw new SigwardError('TRUST_ROOT_INVALID', `${where}: empty certificate chain`);
  certs.forEach((c, i) => {
    try {
      X509Certificate.parse(Buffer.from(c.rawBytes));
    } catch (e) {
      throw new SigwardError('TRUST_ROOT_INVALID', `${where}: certificate ${i} is not valid DER: ${errText(e)}`, {
        cause: e,
      });
    }
  });
}

// The key types a log key may declare (those sigstore-go takes, plus
// PKIX_RSA_PKCS1V5, which sigward itself writes for RSA keys of other sizes),
// with the key type and DER encoding each implies.
const LOG_KEY_FORMATS = new Map<PublicKeyDetails, { type: 'ec' | 'rsa' | 'ed25519'; der: 'spki' | 'pkcs1' }>([
  [PublicKeyDetails.PKIX_ECDSA_P256_SHA_256, { type: 'ec', der: 'spki' }],
  [PublicKeyDetails.PKIX_ECDSA_P384_SHA_384, { type: 'ec', der: 'spki' }],
  [PublicKeyDetails.PKIX_ECDSA_P521_SHA_512, { type: 'ec', der: 'spki' }],
  [PublicKeyDetails.PKIX_RSA_PKCS1V15_2048_SHA256, { type: 'rsa', der: 'spki' }],
  [PublicKeyDetails.PKIX_RSA_PKCS1V15_3072_SHA256, { type: 'rsa', der: 'spki' }],
  [PublicKeyDetails.PKIX_RSA_PKCS1V15_4096_SHA256, { type: 'rsa', der: 'spki' }],
  [PublicKeyDetails.PKIX_RSA_PKCS1V5, { type: 'rsa', der: 'spki' }],
  [PublicKeyDetails.PKCS1_RSA_PKCS1V5, { type: 'rsa', der: 'pkcs1' }],
  [PublicKeyDetails.PKIX_ED25519, { type: 'ed25519', der: 'spki' }],
]);

/** The log's key, decoded as its keyDetails say; throws on a missing, undeclared or mismatched key. */
function parseLogKey(t: TransparencyLogInstance): KeyObject {
  const raw = t.publicKey?.rawBytes;
  if (!t.publicKey) throw new Error('missing publicKey');
  if (!raw || raw.length === 0) throw new Error('missing publicKey.rawBytes');
  const details = t.publicKey.keyDetails;
  const format = LOG_KEY_FORMATS.get(details);
  if (!format) throw new Error(`unsupported publicKey.keyDetails ${publicKeyDetailsToJSON(details)}`);
  let key: KeyObject;
  try {
    key = createPublicKey({ key: Buffer.from(raw), format: 'der', type: format.der });
  } catch (e) {
    throw new Error(
      `publicKey.rawBytes is not a ${format.der === 'spki' ? 'PKIX (SubjectPublicKeyInfo)' : 'PKCS#1'} public key: ${
        errText(e)
      }`,
      { cause: e },
    );
  }
  if (key.asymmetricKeyType !== format.type) {
    throw new Error(
      `publicKey.keyDetails ${publicKeyDetailsToJSON(details)} does not match the key in rawBytes (${
        describeKey(key)
      })`,
    );
  }
  return key;
}

// A log entry as sigstore-go requires it: SHA2_256 Merkle tree, a log id, a
// key of a declared type, and a validity period with a start (a key without
// one is refused rather than trusted for all past time; the end is optional).
function toTLogAuthority(t: TransparencyLogInstance, where: string): TrustMaterial['tlogs'][number] {
  try {
    if (t.hashAlgorithm !== HashAlgorithm.SHA2_256) {
      throw new Error(`hashAlgorithm ${hashAlgorithmToJSON(t.hashAlgorithm)} is not supported (SHA2_256 is required)`);
    }
    const id = t.checkpointKeyId?.keyId?.length ? t.checkpointKeyId.keyId : t.logId?.keyId;
    if (!id || id.length === 0) throw new Error('missing logId');
    const publicKey = parseLogKey(t);
    const validFor = t.publicKey?.validFor;
    if (!validFor) throw new Error('missing publicKey.validFor (the period the key is trusted for)');
    if (!validFor.start) {
      throw new Error('missing publicKey.validFor.start: a log key must say since when it is trusted');
    }
    return {
      logID: Buffer.from(id),
      baseURL: t.baseUrl,
      publicKey,
      validFor: { start: validFor.start, end: validFor.end ?? END_OF_TIME },
    };
  } catch (e) {
    throw new SigwardError('TRUST_ROOT_INVALID', `${where}: ${errText(e)}`, { cause: e });
  }
}

/**
 * Concatenates the authorities of several roots (first root's media type).
 * Identical entries (same log id / same chain) are kept once.
 */
export function mergeTrustedRoots(...roots: TrustedRoot[]): TrustedRoot {
  if (roots.length === 0) throw new SigwardError('TRUST_ROOT_INVALID', 'no trusted roots to merge');
  const logKey = (t: TransparencyLogInstance) =>
    `${Buffer.from(t.logId?.keyId ?? []).toString('hex')}|${
      Buffer.from(t.publicKey?.rawBytes ?? []).toString('hex')
    }|${t.publicKey?.validFor?.start?.getTime()}`;
  const caKey = (c: CertificateAuthority) =>
    `${
      (c.certChain?.certificates ?? []).map((x) => Buffer.from(x.rawBytes).toString('hex')).join(',')
    }|${c.validFor?.start?.getTime()}|${c.validFor?.end?.getTime()}`;
  const uniq = <T>(items: T[], key: (t: T) => string): T[] => {
    const seen = new Set<string>();
    return items.filter((i) => {
      const k = key(i);
      if (seen.has(k)) return false;
      seen.add(k);
      return true;
    });
  };
  return {
    mediaType: roots[0].mediaType,
    tlogs: uniq(roots.flatMap((r) => r.tlogs), logKey),
    ctlogs: uniq(roots.flatMap((r) => r.ctlogs), logKey),
    certificateAuthorities: uniq(roots.flatMap((r) => r.certificateAuthorities), caKey),
    timestampAuthorities: uniq(roots.flatMap((r) => r.timestampAuthorities), caKey),
  };
}

export interface ValiditySummary {
  start?: string;
  end?: string;
}

export interface CertificateSummary {
  subject: string;
  issuer: string;
  notBefore: string;
  notAfter: string;
}

export interface AuthoritySummary {
  subject: string;
  uri: string;
  validFor: ValiditySummary;
  chain: CertificateSummary[];
}

export interface LogSummary {
  baseUrl: string;
  logId: string;
  keyType: string;
  keyDetails: string;
  validFor: ValiditySummary;
}

export interface TrustedRootSummary {
  mediaType: string;
  certificateAuthorities: AuthoritySummary[];
  tlogs: LogSummary[];
  ctlogs: LogSummary[];
  timestampAuthorities: AuthoritySummary[];
}

/** A JSON-friendly description of a trusted root for `sigward trust show`. */
export function trustedRootSummary(root: TrustedRoot): TrustedRootSummary {
  const validity = (v?: { start?: Date; end?: Date }): ValiditySummary => ({
    ...(v?.start ? { start: v.start.toISOString() } : {}),
    ...(v?.end ? { end: v.end.toISOString() } : {}),
  });
  const authority = (ca: CertificateAuthority): AuthoritySummary => ({
    subject: [
      ca.subject?.commonName && `CN=${ca.subject.commonName}`,
      ca.subject?.organization && `O=${ca.subject.organization}`,
    ]
      .filter(Boolean)
      .join(', '),
    uri: ca.uri,
    validFor: validity(ca.validFor),
    chain: (ca.certChain?.certificates ?? []).map((c) => certificateSummary(Buffer.from(c.rawBytes))),
  });
  const log = (t: TransparencyLogInstance): LogSummary => {
    let keyType = 'unparseable';
    try {
      keyType = describeKey(parseLogKey(t));
    } catch {
      // shown as unparseable
    }
    return {
      baseUrl: t.baseUrl,
      logId: Buffer.from(t.logId?.keyId ?? []).toString('hex'),
      keyType,
      keyDetails: publicKeyDetailsToJSON(t.publicKey?.keyDetails ?? 0),
      validFor: validity(t.publicKey?.validFor),
    };
  };
  return {
    mediaType: root.mediaType,
    certificateAuthorities: root.certificateAuthorities.map(authority),
    tlogs: root.tlogs.map(log),
    ctlogs: root.ctlogs.map(log),
    timestampAuthorities: root.timestampAuthorities.map(authority),
  };
}

function certificateSummary(der: Buffer): CertificateSummary {
  try {
    // node:crypto renders distinguished names; @sigstore/core only has DER.
    const c = new NodeX509(der);
    return {
      subject: c.subject.replace(/\n/g, ', '),
      issuer: c.issuer.replace(/\n/g, ', '),
      notBefore: new Date(c.validFrom).toISOString(),
      notAfter: new Date(c.validTo).toISOString(),
    };
  } catch {
    return { subject: '(unparseable)', issuer: '', notBefore: '', notAfter: '' };
  }
}
