// Notary Project (notation) signatures: discovery, envelopes, verification.

export * from './types.ts';
export { toJwsEnvelope } from './jws.ts';
export { toCoseEnvelope } from './cose.ts';
export { verifyNotaryChain, getRevocationEndpoints, subjectText, verifyTrustStoreCertificate } from './certificates.ts';
export { verifyNotarySignature, toNotaryEnvelope, getKeyAlgorithm, splitDN } from './verify.ts';
export type { NotaryTrust, VerifyNotaryOptions, VerifiedNotarySignature } from './verify.ts';
export { verifyNotaryArtifact, MAX_SIGNATURE_ATTEMPTS, MAX_ENVELOPE_BYTES } from './image.ts';
export type { NotaryArtifactVerification, NotaryRejection, VerifyNotaryArtifactOptions } from './image.ts';
export { getNotaryAttestations, MAX_REFERRERS, MAX_PAYLOAD_BYTES } from './attestations.ts';
export type { NotaryAttestation, NotaryAttestations, GetNotaryAttestationsOptions } from './attestations.ts';
export { toNotaryTrust } from './trust.ts';
export { parseTrustPolicyDocument, selectTrustPolicy, toTrustFromPolicy } from './trust-policy.ts';
export type { NotaryTrustPolicy } from './trust-policy.ts';
export { verifyNotaryTimestamp } from './timestamp.ts';
export type { VerifiedNotaryTimestamp } from './timestamp.ts';
