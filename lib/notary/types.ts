// Notary Project signatures (notation): the names the specification gives to
// media types, artifact types and signed attributes, and the typed values the
// parsers in this folder produce. Nothing here is trusted until verify.ts
// says so.

import type { Descriptor } from '../oci/types.ts';

/** artifactType of a signature manifest (a referrer of the signed manifest) */
export const NOTARY_SIGNATURE_ARTIFACT_TYPE = 'application/vnd.cncf.notary.signature';
export const JWS_MEDIA_TYPE = 'application/jose+json';
export const COSE_MEDIA_TYPE = 'application/cose';
export const NOTARY_PAYLOAD_CONTENT_TYPE = 'application/vnd.cncf.notary.payload.v1+json';
/** manifest annotation: JSON list of SHA-256 thumbprints of the envelope's certificate chain */
export const THUMBPRINT_ANNOTATION = 'io.cncf.notary.x509chain.thumbprint#S256';

/** Signed (protected) attributes. */
export const HEADER = {
  signingScheme: 'io.cncf.notary.signingScheme',
  signingTime: 'io.cncf.notary.signingTime',
  authenticSigningTime: 'io.cncf.notary.authenticSigningTime',
  expiry: 'io.cncf.notary.expiry',
  verificationPlugin: 'io.cncf.notary.verificationPlugin',
  verificationPluginMinVersion: 'io.cncf.notary.verificationPluginMinVersion',
  signingAgent: 'io.cncf.notary.signingAgent',
  timestampSignature: 'io.cncf.notary.timestampSignature',
} as const;

export type SigningScheme = 'notary.x509' | 'notary.x509.signingAuthority';

/** The six signature algorithms of the specification (JWS names). */
export type NotaryAlgorithm = 'PS256' | 'PS384' | 'PS512' | 'ES256' | 'ES384' | 'ES512';

/** A parsed JWS or COSE envelope, before any check. */
export interface NotaryEnvelope {
  format: 'jws' | 'cose';
  mediaType: string;
  alg: NotaryAlgorithm;
  /** `cty` / COSE label 3 */
  contentType: string;
  signingScheme: string;
  signingTime?: Date;
  authenticSigningTime?: Date;
  expiry?: Date;
  /** names listed in `crit` (COSE integer labels as decimal strings) */
  critical: string[];
  /** protected header names present (COSE integer labels as decimal strings) */
  protectedNames: string[];
  /** the payload bytes as signed */
  payload: Uint8Array;
  /** what the signature covers: the JWS signing input, or the COSE ToBeSigned */
  signedBytes: Uint8Array;
  signature: Uint8Array;
  /** x5c / x5chain, DER, leaf first */
  certificates: Uint8Array[];
  /** RFC 3161 TimeStampToken countersignature (unsigned attribute) */
  timestamp?: Uint8Array;
  signingAgent?: string;
}

/** The payload a Notary signature signs. */
export interface NotaryPayload {
  targetArtifact: Descriptor;
}

/** notation's validation actions for one check (trust policy `override`). */
export type NotaryAction = 'enforce' | 'log' | 'skip';

/**
 * What must hold (trust policy `signatureVerification`, after the level and
 * its overrides): integrity is always enforced.
 */
export interface NotaryEnforcement {
  authenticity: NotaryAction;
  authenticTimestamp: NotaryAction;
  expiry: NotaryAction;
  revocation: NotaryAction;
}

/** Kyverno's trust policy: level strict, every check enforced. */
export const STRICT: NotaryEnforcement = {
  authenticity: 'enforce',
  authenticTimestamp: 'enforce',
  expiry: 'enforce',
  revocation: 'enforce',
};
