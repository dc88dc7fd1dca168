// Attestors: who must have signed. One model for the CLI flags (cosign) and
// for Kyverno attestor entries, turned into a LayerCheck that verifies one
// `.sig` or `.att` layer with the Sigstore trust core.

import type { KeyObject } from 'node:crypto';
import type { X509Certificate } from '@sigstore/core';
import { SigwardError } from '../errors.ts';
import {
  type IdentityPolicy,
  parseCertificates,
  parseRekorBundle,
  type PrivateCA,
  type Trust,
  type VerifiedSignature,
  verifyCertificateChain,
  verifyIdentity,
  verifyLegacySignature,
  verifyRekorSET,
} from '../trust/index.ts';
import { ANNOTATION } from './annotations.ts';
import { getRekorBody, getRekorBodyFacts, verifyRekorBodyBinding } from '../trust/rekor.ts';
import { sha256 } from '../trust/keys.ts';
import { type HashAlgorithm, parsePublicKey, type PublicKeyInfo, verifySignatureBytes } from './keys.ts';
import type { LayerCheck, LayerInput, SignerInfo } from './verify.ts';
import { MEDIA_TYPES } from '../oci/types.ts';
import { toEnvelope, toPAE } from '../attest/dsse.ts';

export interface TransparencyOptions {
  /** cosign --insecure-ignore-tlog / Kyverno rekor.ignoreTlog */
  ignoreTlog?: boolean;
  /** cosign --insecure-ignore-sct / Kyverno ctlog.ignoreSCT */
  ignoreSCT?: boolean;
}

export type Attestor =
  | ({ kind: 'key'; keys: PublicKeyInfo[]; hash?: HashAlgorithm } & TransparencyOptions)
  | ({
    kind: 'certificate';
    /** PEM leaf certificate the signature must be made with (Kyverno certificates.cert / cosign --certificate) */
    cert?: string;
    /** PEM chain: intermediates and roots (Kyverno certChain / cosign --certificate-chain); without `cert`, the root pool */
    chain?: string;
    /** identity constraints on the certificate, if any */
    policy?: IdentityPolicy;
  } & TransparencyOptions)
  | ({
    kind: 'keyless';
    policy: IdentityPolicy;
    /** PEM roots (+ intermediates) replacing the trust root's Fulcio CAs (Kyverno keyless.roots) */
    roots?: string;
  } & TransparencyOptions);

export function describeAttestor(a: Attestor): string {
  switch (a.kind) {
    case 'key':
      return 'The signatures were verified against the specified public key';
    case 'certificate':
      return 'The signatures were verified against the specified certificate';
    case 'keyless':
      return 'The code-signing certificate was verified using trusted certificate authority certificates';
  }
}

/** The signer of a verified signature as results report it (both signature formats). */
export function toSignerInfo(kind: SignerInfo['kind'], v: VerifiedSignature): SignerInfo {
  const id = v.signer.identity;
  return {
    kind,
    keyId: v.signer.keyId,
    ...(id ? { identity: { subject: id.san, issuer: id.issuer, extensions: id.extensions } } : {}),
    ...(v.tlogIndex !== undefined && v.integratedTime
      ? { tlog: { logIndex: v.tlogIndex, integratedTime: v.integratedTime.toISOString() } }
      : {}),
    timestamps: v.timestamps.map((t) => ({ source: t.source, time: t.time.toISOString() })),
  };
}

function legacyInput(layer: LayerInput) {
  const a = layer.annotations;
  return {
    payload: layer.blob,
    mediaType: layer.mediaType,
    signatureB64: a[ANNOTATION.signature] || undefined,
    certificatePEM: a[ANNOTATION.certificate] || undefined,
    chainPEM: a[ANNOTATION.chain] || undefined,
    rekorBundleJSON: a[ANNOTATION.bundle] || undefined,
    rfc3161TimestampJSON: a[ANNOTATION.rfc3161] || undefined,
  };
}

/**
 * A layer's signature made with `key` (a key attestor's, or a supplied
 * certificate's): no Fulcio certificate, so no SCT to check; the tlog entry
 * unless ignoreTlog.
 */
function verifyWithKey(
  layer: LayerInput,
  key: KeyObject,
  trust: Trust,
  now: Date | undefined,
  ignoreTlog: boolean | undefined,
): VerifiedSignature {
  return verifyLegacySignature({ ...legacyInput(layer), trust, now, key, ignoreTlog, ignoreSCT: true });
}

/** The bytes a layer's signature covers and the signature itself (for keys with a non-default hash). */
function signedBytes(layer: LayerInput): { data: Uint8Array; sig: Uint8Array } {
  if (layer.mediaType === MEDIA_TYPES.dsseEnvelope) {
    const env = toEnvelope(layer.blob);
    return { data: toPAE(env.payloadType, env.payload), sig: env.signatures[0]!.sig };
  }
  return { data: layer.blob, sig: Buffer.from(layer.annotations[ANNOTATION.signature] ?? '', 'base64') };
}

/** Splits a PEM bundle into self-signed roots and the rest (intermediates). */
export function toPrivateCA(pem: string): PrivateCA {
  const certs = parseCertificates(pem);
  if (certs.length === 0) throw new SigwardError('CONFIG_INVALID', 'certificate chain holds no PEM certificate');
  const roots = certs.filter((c) => c.subject.equals(c.issuer));
  const intermediates = certs.filter((c) => !roots.includes(c));
  // a chain without a self-signed certificate: its last certificate is the trust anchor
  if (roots.length === 0) roots.push(intermediates.pop()!);
  return { roots, intermediates };
}

function keyCheck(a: Extract<Attestor, { kind: 'key' }>, trust: Trust): LayerCheck {
  const hash = a.hash ?? 'sha256';
  return async (layer, now) => {
    const { data, sig } = signedBytes(layer);
    // pick the key that made this signature (a policy may list several)
    const key = a.keys.find((k) => verifySignatureBytes(k.key, data, sig, hash));
    if (!key) throw new SigwardError('SIGNATURE_INVALID', 'invalid signature');
    if (hash !== 'sha256' || key.type === 'ed25519') {
      // @sigstore/verify checks SHA-256 pre-hashed signatures only; the signature
      // was checked above, the transparency log entry is checked here
      if (a.ignoreTlog) return { kind: 'key', keyId: key.id };
      const bundle = layer.annotations[ANNOTATION.bundle];
      if (!bundle) throw new SigwardError('TLOG_MISSING', 'signature not found in transparency log');
      const set = parseRekorBundle(bundle);
      verifyRekorSET(set, trust.material.tlogs);
      const dsse = layer.mediaType === MEDIA_TYPES.dsseEnvelope;
      verifyRekorBodyBinding(getRekorBodyFacts(getRekorBody(set).body), {
        signature: Buffer.from(sig),
        key: key.key,
        ...(dsse
          ? { payloadSHA256: sha256(toEnvelope(layer.blob).payload), envelopeSHA256: sha256(layer.blob) }
          : { dataSHA256: sha256(layer.blob) }),
      });
      return {
        kind: 'key',
        keyId: key.id,
        tlog: {
          logIndex: String(set.Payload.logIndex),
          integratedTime: new Date(set.Payload.integratedTime * 1000).toISOString(),
        },
      };
    }
    return toSignerInfo('key', verifyWithKey(layer, key.key, trust, now, a.ignoreTlog));
  };
}

/**
 * The certificate a certificate attestor names (cosign --certificate, Kyverno
 * certificates.cert): it must chain to the given chain, if any, and satisfy the
 * identity policy, if any, exactly as a Fulcio certificate would. Both
 * signature formats use this one check. Throws; returns the leaf.
 */
export function verifySuppliedCertificate(
  a: Extract<Attestor, { kind: 'certificate' }>,
  ca: PrivateCA | undefined,
  now = new Date(),
): X509Certificate {
  const leaf = parseCertificates(a.cert ?? '')[0];
  if (!leaf) throw new SigwardError('CONFIG_INVALID', 'certificate attestor: cert is not a PEM certificate');
  if (ca) {
    verifyCertificateChain(leaf, {
      roots: ca.roots as X509Certificate[],
      intermediates: ca.intermediates as X509Certificate[],
      at: now,
      codeSigning: true,
    });
  }
  if (a.policy) verifyIdentity(leaf, a.policy);
  return leaf;
}

function certificateCheck(a: Extract<Attestor, { kind: 'certificate' }>, trust: Trust): LayerCheck {
  if (!a.cert && !a.chain) {
    throw new SigwardError('CONFIG_INVALID', 'a certificate attestor needs cert and/or certChain');
  }
  const ca = a.chain ? toPrivateCA(a.chain) : undefined;
  return async (layer, now) => {
    if (a.cert) {
      // the signature must be made with the given certificate's key
      verifySuppliedCertificate(a, ca, now);
      return toSignerInfo('certificate', verifyWithKey(layer, parsePublicKey(a.cert).key, trust, now, a.ignoreTlog));
    }
    const v = verifyLegacySignature({
      ...legacyInput(layer),
      trust,
      now,
      ca,
      policy: a.policy ?? {},
      ignoreTlog: a.ignoreTlog,
      ignoreSCT: a.ignoreSCT,
    });
    return toSignerInfo('certificate', v);
  };
}

function keylessCheck(a: Extract<Attestor, { kind: 'keyless' }>, trust: Trust): LayerCheck {
  const ca = a.roots ? toPrivateCA(a.roots) : undefined;
  return async (layer, now) => {
    const v = verifyLegacySignature({
      ...legacyInput(layer),
      trust,
      now,
      ca,
      policy: a.policy,
      ignoreTlog: a.ignoreTlog,
      ignoreSCT: a.ignoreSCT,
    });
    return toSignerInfo('keyless', v);
  };
}

/** Builds the LayerCheck for an attestor with explicit trust material. */
export function toLayerCheck(a: Attestor, trust: Trust): LayerCheck {
  switch (a.kind) {
    case 'key':
      return keyCheck(a, trust);
    case 'certificate':
      return certificateCheck(a, trust);
    case 'keyless':
      return keylessCheck(a, trust);
  }
}
