// Public API of the Sigstore trust core: trust roots, bundle and legacy
// signature verification, identity policy, certificate chains.

export type { Trust, TrustedRoot, TrustedRootSummary, TrustInput, TrustMaterial } from './root.ts';
export {
  getTrustMaterial,
  mergeTrustedRoots,
  parseTrustedRoot,
  toTrust,
  TRUSTED_ROOT_MEDIA_TYPES,
  trustedRootSummary,
} from './root.ts';
export type { FileReader, LoadTrustOptions, PEMTrustInput } from './sources.ts';
export {
  getEmbeddedTrustedRoot,
  getTUFTrustedRoot,
  loadTrustMaterial,
  readPEMOverrides,
  toCertificateAuthority,
  toTrustedRootFromPEMs,
  TRUST_ENV,
} from './sources.ts';
export type { TUFTrustedRoot, TUFTrustOptions } from './tuf.ts';
export {
  fetchTUFTrustedRoot,
  getDefaultTUFCachePath,
  getTUFCacheDir,
  getTUFReason,
  isTUFMirrorUnreachable,
} from './tuf.ts';

export type { Digest, VerifyBundleOptions } from './bundle.ts';
export { BUNDLE_MEDIA_TYPES, parseBundle, verifyBundle } from './bundle.ts';
export type { LegacySignatureInput } from './legacy.ts';
export {
  ANNOTATIONS,
  DSSE_LAYER_MEDIA_TYPE,
  SIMPLE_SIGNING_MEDIA_TYPE,
  verifyLegacyAttestation,
  verifyLegacySignature,
} from './legacy.ts';
export type { InTotoStatement, PrivateCA, SignerPolicy, VerifiedSignature, VerifiedTimestamp } from './types.ts';
export { IN_TOTO_PAYLOAD_TYPE } from './types.ts';

export type { CertificateIdentity, IdentityPolicy, SANType, SubjectAlternativeName } from './identity.ts';
export {
  FULCIO_OIDS,
  getCertificateIdentity,
  getExtendedKeyUsages,
  getUnanchoredRegExpWarning,
  toIdentityRegExp,
  validateIdentityPolicy,
  verifyCodeSigningUsage,
  verifyIdentity,
} from './identity.ts';
export type { ChainOptions, TrustedChain } from './chain.ts';
export { verifyCertificateChain, verifyCertificateWithTrust } from './chain.ts';
export type { PublicKeyInput } from './keys.ts';
export { getKeyId, parseCertificates, samePublicKey, toCertificate, toPEM, toPublicKey } from './keys.ts';
export { verifyPrehashed } from './prehash.ts';
export type { RekorSETBundle } from './rekor.ts';
export { parseRekorBundle, verifyRekorSET } from './rekor.ts';
