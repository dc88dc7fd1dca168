// Result and option types shared by bundle and legacy verification.

import type { X509Certificate } from '@sigstore/core';
import type { CertificateIdentity, IdentityPolicy } from './identity.ts';
import type { PublicKeyInput } from './keys.ts';
import type { Statement } from '../attest/statement.ts';

/** An in-toto Statement (v0.1 or v1), as decoded from a DSSE payload by lib/attest/statement.ts. */
export type InTotoStatement = Statement;

export const IN_TOTO_PAYLOAD_TYPE = 'application/vnd.in-toto+json';

/** Who must have signed: a certificate identity (keyless / PKI) or a public key. */
/** A key signer; `hash` is the digest an ECDSA/RSA key signed DSSE envelopes with (cosign --signature-digest-algorithm; default sha256). */
export type KeySignerPolicy = {
  publicKey: PublicKeyInput;
  hash?: 'sha224' | 'sha256' | 'sha384' | 'sha512';
  /** DER of the certificate the bundle must carry (cosign --certificate): not just its key */
  certificate?: Uint8Array;
};
export type SignerPolicy = IdentityPolicy | KeySignerPolicy;

export function isKeyPolicy(p: SignerPolicy | undefined): p is KeySignerPolicy {
  return typeof p === 'object' && p !== null && 'publicKey' in p && p.publicKey !== undefined;
}

/**
 * A private CA replacing the trust root's certificate authorities (Kyverno
 * certificates.certChain, cosign --ca-roots / --ca-intermediates /
 * --certificate-chain). Roots are trust anchors; intermediates are only used
 * to build a path to them.
 */
export interface PrivateCA {
  roots: string | X509Certificate[];
  intermediates?: string | X509Certificate[];
}

export interface VerifiedTimestamp {
  /** tlog = Rekor integrated time (SET verified); tsa = RFC 3161; now = no trusted time, current time used */
  source: 'tlog' | 'tsa' | 'now';
  time: Date;
}

/** What a successful verification establishes. */
export interface VerifiedSignature {
  signer: {
    /** keyless / certificate signers */
    identity?: CertificateIdentity;
    /** hex sha256 of the signer's SPKI (key signers; also set for certificates) */
    keyId?: string;
    /** DER of the signing certificate */
    certificate?: Uint8Array;
  };
  /** Rekor integrated time, when a transparency log entry was verified */
  integratedTime?: Date;
  tlogIndex?: string;
  timestamps: VerifiedTimestamp[];
  /** DSSE payload type (undefined for message signatures) */
  payloadType?: string;
  /** DSSE payload bytes */
  payload?: Uint8Array;
  /** the decoded in-toto statement for in-toto DSSE payloads */
  statement?: InTotoStatement;
}
