// Public API of lib/policy: loading, validating and linting image verification policies.

export type * from './types.ts';
export {
  formatErrors,
  listPolicyFiles,
  loadPolicies,
  loadPolicyPaths,
  parsePolicies,
  parsePolicyPaths,
  type ParseResult,
} from './load.ts';
export {
  AUTOGEN_ANNOTATION,
  canAutoGen,
  expandAutogen,
  getAutogenControllers,
  getAutogenRuleName,
  getAutogenRules,
  getKindName,
  POD_CONTROLLERS,
  POD_SPEC_PATHS,
} from './autogen.ts';
export {
  formatDiagnostic,
  formatDiagnostics,
  formatLintSummary,
  lintLoadedPolicy,
  lintPolicyPaths,
  lintPolicyText,
  type LintResult,
} from './lint.ts';
export {
  canonicalJSON,
  getImagePolicyFingerprint,
  getPolicyFingerprints,
  getVerifyImagesFingerprint,
  type RuleFingerprint,
} from './fingerprint.ts';
export {
  createFileConfigMapResolver,
  createFileSecretResolver,
  getPullSecretFiles,
  getUnresolved,
  hasVariables,
  KMS_PROVIDERS,
  kmsOfflineMessage,
  SECRET_PUBLIC_KEY,
  splitPublicKeys,
  toKeySource,
} from './keys.ts';
export { CONDITION_OPERATORS, convertLegacyImageVerification, DEFAULT_REKOR_URL } from './kyverno.ts';
