// The common core of bundle and legacy verification: runs the
// @sigstore/verify Verifier on a SignedEntity and adds what it lacks (chain
// intermediates carried with the signature, EKU, anchored identity policy).

import type { KeyObject } from 'node:crypto';
import type { X509Certificate } from '@sigstore/core';
import { type SignedEntity, type TrustMaterial, Verifier } from '@sigstore/verify';
import { SigwardError } from '../errors.ts';
import { widenGeneralizedTime } from './generalized-time.ts';
import { toAuthorityFromRoots, toPathAuthority, verifyCertificateWithTrust } from './chain.ts';
import { toTrustError } from './errors.ts';
import {
  type CertificateIdentity,
  type IdentityPolicy,
  validateIdentityPolicy,
  verifyCodeSigningUsage,
  verifyIdentity,
} from './identity.ts';
import { getKeyId, parseCertificates, toPublicKey } from './keys.ts';
import type { PrivateCA, VerifiedTimestamp } from './types.ts';

export type SigningIdentity =
  | { $case: 'key'; key: KeyObject }
  | { $case: 'certificate'; certificate: X509Certificate; intermediates: X509Certificate[]; policy: IdentityPolicy };

export interface CoreInput {
  entity: SignedEntity;
  material: TrustMaterial;
  signer: SigningIdentity;
  tlogThreshold: number;
  ctlogThreshold: number;
  timestampThreshold: number;
  /** marks a synthetic "now" timestamp (legacy fallback) in entity.timestamps */
  nowMarker?: Buffer;
}

export interface CoreResult {
  identity?: CertificateIdentity;
  keyId: string;
  certificate?: X509Certificate;
  timestamps: VerifiedTimestamp[];
}

export const KEY_HINT = 'sigward-provided-key';

/** Times the Verifier will accept as signing times, in entity order. */
/** Marks the synthetic "current time" timestamp (cosign's fallback when nothing attests the signing time). */
widenGeneralizedTime();

export const NOW_MARKER = Buffer.from('sigward: no trusted time, current time used');

/**
 * cosign's rule when the transparency log is ignored and no RFC 3161
 * timestamp is there: the certificate is checked at the current time. This is
 * that time as an entity timestamp (source "now"), for both signature formats.
 */
export function toNowTimestamp(now: Date): SignedEntity['timestamps'][number] {
  return {
    $case: 'transparency-log',
    tlogEntry: {
      logIndex: '0',
      logId: { keyId: NOW_MARKER },
      kindVersion: { kind: 'none', version: '0' },
      integratedTime: String(Math.floor(now.getTime() / 1000)),
      inclusionPromise: { signedEntryTimestamp: Buffer.alloc(0) },
      inclusionProof: undefined,
      canonicalizedBody: Buffer.alloc(0),
    },
  } as SignedEntity['timestamps'][number];
}

export function getEntityTimes(entity: SignedEntity, nowMarker?: Buffer): VerifiedTimestamp[] {
  const out: VerifiedTimestamp[] = [];
  for (const t of entity.timestamps) {
    if (t.$case === 'timestamp-authority') out.push({ source: 'tsa', time: t.timestamp.signingTime });
    else if (t.tlogEntry.inclusionPromise) {
      const synthetic = nowMarker && t.tlogEntry.logId.keyId.equals(nowMarker);
      out.push({ source: synthetic ? 'now' : 'tlog', time: new Date(Number(t.tlogEntry.integratedTime) * 1000) });
    }
  }
  return out;
}

export function verifySignedEntity(input: CoreInput): CoreResult {
  try {
    return verifyEntity(input);
  } catch (e) {
    // attacker-supplied material (a malformed certificate parsed lazily, ...)
    // surfacing as a TypeError is a failed verification, never a crash
    throw toTrustError(e);
  }
}

/**
 * The material with another key finder, its other parts taken as they are
 * (not read: a trust root made on first use stays unmade when the check
 * needs none of it).
 */
function withPublicKey(material: TrustMaterial, publicKey: TrustMaterial['publicKey']): TrustMaterial {
  return Object.defineProperties({}, {
    ...Object.getOwnPropertyDescriptors(material),
    publicKey: { value: publicKey, enumerable: true, configurable: true, writable: true },
  }) as TrustMaterial;
}

function verifyEntity(input: CoreInput): CoreResult {
  const times = getEntityTimes(input.entity, input.nowMarker);
  let material = input.material;
  let entity = input.entity;
  let identity: CertificateIdentity | undefined;
  const signer = input.signer;
  if (signer.$case === 'certificate') validateIdentityPolicy(signer.policy);
  // Signature first (cosign's order): a tampered payload or a wrong key reads
  // "invalid signature" rather than a transparency-log mismatch.
  const signingKey = signer.$case === 'key' ? signer.key : toPublicKey(signer.certificate.publicKey);
  let signatureOK: boolean;
  try {
    signatureOK = entity.signature.verifySignature(signingKey);
  } catch (e) {
    throw toTrustError(e);
  }
  if (!signatureOK) throw new SigwardError('SIGNATURE_INVALID', 'invalid signature');
  if (signer.$case === 'certificate') {
    if (times.length === 0) {
      throw new SigwardError(
        'TIMESTAMP_INVALID',
        'no trusted timestamp for the signing certificate (no transparency log time and no RFC 3161 timestamp)',
      );
    }
    const chain = verifyCertificateWithTrust(signer.certificate, {
      authorities: material.certificateAuthorities,
      intermediates: signer.intermediates,
      at: times.map((t) => t.time),
    });
    verifyCodeSigningUsage(signer.certificate);
    if (input.ctlogThreshold > 0) {
      material = { ...material, certificateAuthorities: [toPathAuthority(chain)] };
    } else {
      // SCTs ignored: @sigstore/verify would still try (and fail) to verify
      // every embedded SCT, so it gets the already verified leaf key instead.
      material = withPublicKey(material, () => ({ publicKey: signingKey, validFor: () => true }));
      entity = { ...entity, key: { $case: 'public-key', hint: KEY_HINT } };
    }
  } else {
    const key = signer.key;
    material = withPublicKey(material, () => ({ publicKey: key, validFor: () => true }));
  }
  try {
    new Verifier(material, {
      tlogThreshold: input.tlogThreshold,
      ctlogThreshold: input.ctlogThreshold,
      timestampThreshold: input.timestampThreshold,
    }).verify(entity);
  } catch (e) {
    throw toTrustError(e);
  }
  if (signer.$case === 'certificate') identity = verifyIdentity(signer.certificate, signer.policy);
  return {
    ...(identity ? { identity } : {}),
    keyId: getKeyId(signingKey),
    ...(signer.$case === 'certificate' ? { certificate: signer.certificate } : {}),
    timestamps: times,
  };
}

/** Replaces the trust material's CAs by a private CA; returns its untrusted intermediates. */
export function applyPrivateCA(material: TrustMaterial, ca: PrivateCA | undefined): {
  material: TrustMaterial;
  intermediates: X509Certificate[];
} {
  if (!ca) return { material, intermediates: [] };
  const roots = typeof ca.roots === 'string' ? parseCertificates(ca.roots) : ca.roots;
  if (roots.length === 0) throw new SigwardError('CONFIG_INVALID', 'private CA: no root certificate given');
  const intermediates = ca.intermediates === undefined
    ? []
    : typeof ca.intermediates === 'string'
    ? parseCertificates(ca.intermediates)
    : ca.intermediates;
  return { material: { ...material, certificateAuthorities: [toAuthorityFromRoots(roots)] }, intermediates };
}
