// Notary Project (notation) signatures: discovery, envelopes, verification.

export * from './types.ts';
export { toJwsEnvelope } from './jws.ts';
export { toCoseEnvelope } from './cose.ts';
export { getRevocationEndpoints, subjectText, verifyNotaryChain, verifyTrustStoreCertificate } from './certificates.ts';
export { getKeyAlgorithm, splitDN, toNotaryEnvelope, verifyNotarySignature } from './verify.ts';
export type { NotaryTrust, VerifiedNotarySignature, VerifyNotaryOptions } from './verify.ts';
export { MAX_ENVELOPE_BYTES, MAX_SIGNATURE_ATTEMPTS, verifyNotaryArtifact } from './image.ts';
export type { NotaryArtifactVerification, NotaryRejection, VerifyNotaryArtifactOptions } from './image.ts';
export { getNotaryAttestations, MAX_PAYLOAD_BYTES, MAX_REFERRERS } from './attestations.ts';
export type { GetNotaryAttestationsOptions, NotaryAttestation, NotaryAttestations } from './attestations.ts';
export { toNotaryTrust } from './trust.ts';
export { parseTrustPolicyDocument, selectTrustPolicy, toTrustFromPolicy } from './trust-policy.ts';
export type { NotaryTrustPolicy } from './trust-policy.ts';
export { verifyNotaryTimestamp } from './timestamp.ts';
export type { VerifiedNotaryTimestamp } from './timestamp.ts';
