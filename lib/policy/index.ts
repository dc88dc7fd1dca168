// Public API of lib/policy: loading, validating and linting image verification policies.

export type * from './types.ts';
export { parsePolicies, loadPolicies, parsePolicyPaths, loadPolicyPaths, listPolicyFiles, formatErrors, type ParseResult } from './load.ts';
export {
  expandAutogen,
  getAutogenControllers,
  getAutogenRules,
  getAutogenRuleName,
  canAutoGen,
  getKindName,
  AUTOGEN_ANNOTATION,
  POD_CONTROLLERS,
  POD_SPEC_PATHS,
} from './autogen.ts';
export { lintPolicyPaths, lintPolicyText, lintLoadedPolicy, formatDiagnostic, formatDiagnostics, formatLintSummary, type LintResult } from './lint.ts';
export { canonicalJSON, getVerifyImagesFingerprint, getImagePolicyFingerprint, getPolicyFingerprints, type RuleFingerprint } from './fingerprint.ts';
export {
  createFileSecretResolver,
  createFileConfigMapResolver,
  getPullSecretFiles,
  hasVariables,
  splitPublicKeys,
  toKeySource,
  getUnresolved,
  kmsOfflineMessage,
  SECRET_PUBLIC_KEY,
  KMS_PROVIDERS,
} from './keys.ts';
export { DEFAULT_REKOR_URL, CONDITION_OPERATORS, convertLegacyImageVerification } from './kyverno.ts';
