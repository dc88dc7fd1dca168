// Sigstore trusted_root.json: parsing, conversion to @sigstore/verify trust
// material, merging and a printable summary (for `sigward trust show`).

import { createPublicKey, X509Certificate as NodeX509, type KeyObject } from 'node:crypto';
import { X509Certificate } from '@sigstore/core';
import {
  TrustedRoot,
  publicKeyDetailsToJSON,
  type CertificateAuthority,
  type TransparencyLogInstance,
} from '@sigstore/protobuf-specs';
import { VerificationError, toTrustMaterial, type TrustMaterial } from '@sigstore/verify';
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

const BEGINNING_OF_TIME = new Date(0);
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
  let root: TrustedRoot;
  try {
    root = TrustedRoot.fromJSON(json);
  } catch (e) {
    throw new SigwardError('TRUST_ROOT_INVALID', `${source}: ${errText(e)}`, { cause: e });
  }
  // Building the material validates every key and certificate.
  toTrustMaterialChecked(root, source);
  return root;
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

function parseLogKey(t: TransparencyLogInstance): KeyObject {
  const raw = t.publicKey?.rawBytes;
  if (!raw || raw.length === 0) throw new Error('missing public key');
  try {
    return createPublicKey({ key: Buffer.from(raw), format: 'der', type: 'spki' });
  } catch (spkiErr) {
    try {
      return createPublicKey({ key: Buffer.from(raw), format: 'der', type: 'pkcs1' });
    } catch {
      throw spkiErr;
    }
  }
}

function toTLogAuthority(t: TransparencyLogInstance, where: string): TrustMaterial['tlogs'][number] {
  try {
    const id = t.checkpointKeyId?.keyId?.length ? t.checkpointKeyId.keyId : t.logId?.keyId;
    if (!id || id.length === 0) throw new Error('missing logId');
    return {
      logID: Buffer.from(id),
      baseURL: t.baseUrl,
      publicKey: parseLogKey(t),
      validFor: {
        start: t.publicKey?.validFor?.start ?? BEGINNING_OF_TIME,
        end: t.publicKey?.validFor?.end ?? END_OF_TIME,
      },
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
    `${Buffer.from(t.logId?.keyId ?? []).toString('hex')}|${Buffer.from(t.publicKey?.rawBytes ?? []).toString('hex')}|${t.publicKey?.validFor?.start?.getTime()}`;
  const caKey = (c: CertificateAuthority) =>
    `${(c.certChain?.certificates ?? []).map((x) => Buffer.from(x.rawBytes).toString('hex')).join(',')}|${c.validFor?.start?.getTime()}|${c.validFor?.end?.getTime()}`;
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
    subject: [ca.subject?.commonName && `CN=${ca.subject.commonName}`, ca.subject?.organization && `O=${ca.subject.organization}`]
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
