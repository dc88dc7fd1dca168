// Typed models of the image verification policies sigward loads:
//   - Kyverno ClusterPolicy / Policy (kyverno.io/v1, kyverno.io/v2beta1) with verifyImages rules
//   - Kyverno ImageValidatingPolicy / NamespacedImageValidatingPolicy (policies.kyverno.io/*)
//   - sigward's own ImagePolicy (sigward.dev/v1alpha1), shaped like ImageValidatingPolicy
//
// Every value here is already validated and has its defaults applied (see load.ts).
// Paths such as `spec.rules[0].verifyImages[0]` are the YAML paths of the source
// document; `PolicySource.locations` maps them to line/column.

import type { ImageExtractorConfig, ImageExtractorConfigs } from '../admission/images.ts';

export type FailureAction = 'Audit' | 'Enforce';
export type FailurePolicy = 'Fail' | 'Ignore';
export type HashAlgorithm = 'sha224' | 'sha256' | 'sha384' | 'sha512';
export type Severity = 'error' | 'warning' | 'info';

export interface Position {
  /** 1-based */
  line: number;
  /** 1-based */
  column: number;
}

/** One finding about a policy file, with its exact location. */
export interface PolicyDiagnostic {
  file?: string;
  line: number;
  column: number;
  severity: Severity;
  message: string;
  /** YAML path of the offending node, e.g. `spec.rules[0].verifyImages[0].attestors` */
  path?: string;
}

export interface PolicySource {
  file?: string;
  /** 0-based index of the YAML document in the file */
  document: number;
  /** position of the document's first node */
  line: number;
  column: number;
  /** YAML path -> position of the value at that path (keys for maps) */
  locations: Record<string, Position>;
}

export interface PolicyMetadata {
  name: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  annotations: Record<string, string>;
  labels: Record<string, string>;
}

// ---------------------------------------------------------------------------
// Keys: where the public key material of a `keys` attestor comes from
// ---------------------------------------------------------------------------

export type KeySource =
  /** a literal PEM public key (exactly one key after the multi-key split) */
  | { kind: 'pem'; pem: string }
  /** text with `{{ }}` variables, substituted at verification time (split after substitution) */
  | { kind: 'variable'; text: string }
  /** a Kubernetes Secret (`k8s://ns/name` or `secret{name,namespace}`), key `cosign.pub` */
  | { kind: 'secret'; namespace: string; name: string; key: string; pem?: string; unresolved?: string }
  /** a KMS reference: cannot be fetched offline */
  | { kind: 'kms'; uri: string; provider: 'awskms' | 'gcpkms' | 'azurekms' | 'hashivault'; unresolved: string }
  /** anything else cosign would try to load (file path, URL, env://): not supported */
  | { kind: 'unsupported'; ref: string; unresolved: string };

// ---------------------------------------------------------------------------
// Kyverno ClusterPolicy / Policy
// ---------------------------------------------------------------------------

export interface LabelSelectorRequirement {
  key: string;
  operator: string;
  values?: string[];
}

export interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: LabelSelectorRequirement[];
}

export interface ResourceDescription {
  kinds?: string[];
  /** deprecated single name */
  name?: string;
  names?: string[];
  namespaces?: string[];
  annotations?: Record<string, string>;
  selector?: LabelSelector;
  namespaceSelector?: LabelSelector;
  operations?: string[];
}

export interface Subject {
  kind: string;
  name: string;
  namespace?: string;
  apiGroup?: string;
}

export interface ResourceFilter {
  resources?: ResourceDescription;
  subjects?: Subject[];
  roles?: string[];
  clusterRoles?: string[];
}

/** match / exclude. Either any/all, or the legacy inline `resources` (+ subjects, roles). */
export interface MatchResources {
  any?: ResourceFilter[];
  all?: ResourceFilter[];
  resources?: ResourceDescription;
  subjects?: Subject[];
  roles?: string[];
  clusterRoles?: string[];
}

export interface Condition {
  key: unknown;
  operator: string;
  value?: unknown;
  message?: string;
}

export interface AnyAllConditions {
  any?: Condition[];
  all?: Condition[];
}

// A rule's imageExtractors are what lib/admission/images.ts extracts images with: its type.
export type { ImageExtractorConfig, ImageExtractorConfigs };

export interface RekorConfig {
  /** defaults to https://rekor.sigstore.dev */
  url: string;
  pubkey?: string;
  ignoreTlog: boolean;
}

export interface CTLogConfig {
  url?: string;
  pubkey?: string;
  ignoreSCT: boolean;
  tsaCertChain?: string;
}

export interface StaticKeyAttestor {
  /** the raw `publicKeys` text of this entry (one PEM after the split) */
  publicKeys?: string;
  kms?: string;
  secret?: { name: string; namespace: string };
  /** deprecated here; the attestor-level `signatureAlgorithm` wins */
  signatureAlgorithm?: HashAlgorithm;
  /** what the key material resolved to */
  source: KeySource;
  /** undefined: block omitted (public Rekor, tlog verified) */
  rekor?: RekorConfig;
  ctlog?: CTLogConfig;
}

export interface CertificateAttestor {
  cert?: string;
  certChain?: string;
  rekor?: RekorConfig;
  ctlog?: CTLogConfig;
}

export interface KeylessAttestor {
  subject?: string;
  subjectRegExp?: string;
  issuer?: string;
  issuerRegExp?: string;
  roots?: string;
  additionalExtensions: Record<string, string>;
  rekor?: RekorConfig;
  ctlog?: CTLogConfig;
}

export interface AttestorEntry {
  /** YAML path of the entry this attestor came from */
  path: string;
  /** index of the entry in the YAML `entries` list (before the multi-key split) */
  sourceIndex: number;
  /** set when a multi-key `publicKeys` was split: index of the key inside the PEM text */
  keyIndex?: number;
  kind: 'keys' | 'certificates' | 'keyless' | 'attestor';
  keys?: StaticKeyAttestor;
  certificates?: CertificateAttestor;
  keyless?: KeylessAttestor;
  attestor?: AttestorSet;
  repository?: string;
  annotations: Record<string, string>;
  /** attestor.signatureAlgorithm, else keys.signatureAlgorithm, else sha256 */
  signatureAlgorithm: HashAlgorithm;
}

export interface AttestorSet {
  path: string;
  /** as written (undefined or 0: all entries) */
  count?: number;
  /** entries after the multi-key split */
  entries: AttestorEntry[];
  /** count, or every entry when count is unset/0 (computed after the split) */
  requiredCount: number;
}

export interface Attestation {
  path: string;
  name?: string;
  /** `type`, or the deprecated `predicateType` */
  type: string;
  /** empty: the engine uses one unconstrained keyless entry (Kyverno behaviour) */
  attestors: AttestorSet[];
  conditions: AnyAllConditions[];
}

export interface ImageRegistryCredentials {
  allowInsecureRegistry: boolean;
  providers: string[];
  secrets: string[];
}

export type ImageVerificationType = 'Cosign' | 'SigstoreBundle' | 'Notary';

export interface VerifyImagesEntry {
  path: string;
  index: number;
  type: ImageVerificationType;
  imageReferences: string[];
  skipImageReferences: string[];
  repository?: string;
  mutateDigest: boolean;
  verifyDigest: boolean;
  required: boolean;
  useCache: boolean;
  /** entry-level failureAction as written */
  failureAction?: FailureAction;
  imageRegistryCredentials?: ImageRegistryCredentials;
  cosignOCI11: boolean;
  validate?: { message?: string; deny?: { conditions: AnyAllConditions } };
  attestors: AttestorSet[];
  attestations: Attestation[];
  /** true when the deprecated image/key/subject/issuer/... form was converted */
  convertedFromLegacy: boolean;
  /** set when sigward cannot verify this entry: every image it matches fails with this reason */
  unsupported?: string;
}

export interface ContextEntry {
  name: string;
  /** the remaining fields (configMap, apiCall, variable, imageRegistry, globalReference), as written */
  [field: string]: unknown;
}

export interface AutogenInfo {
  /** name of the rule this one was generated from */
  from: string;
  /** controller kinds it matches */
  kinds: string[];
  /** JSON pointer prefix of the pod spec inside those kinds, e.g. `/spec/template/spec` */
  podSpecPath: string;
}

export interface KyvernoRule {
  name: string;
  path: string;
  match: MatchResources;
  exclude?: MatchResources;
  context: ContextEntry[];
  preconditions?: AnyAllConditions;
  /** CEL preconditions (Kubernetes matchConditions: object, oldObject, request, namespaceObject) */
  celPreconditions?: { name: string; expression: string }[];
  imageExtractors?: ImageExtractorConfigs;
  verifyImages: VerifyImagesEntry[];
  /** other rule types present in the rule (mutate, validate, generate): not evaluated by sigward */
  otherTypes: string[];
  /** their content as written (needed for autogen decisions) */
  other: Record<string, unknown>;
  /** set on rules produced by expandAutogen() */
  autogen?: AutogenInfo;
}

export interface ValidationFailureActionOverride {
  action: FailureAction;
  namespaces: string[];
  namespaceSelector?: LabelSelector;
}

export interface KyvernoPolicySpec {
  /** normalised; default Audit */
  validationFailureAction: FailureAction;
  validationFailureActionOverrides: ValidationFailureActionOverride[];
  /** effective: webhookConfiguration.failurePolicy, else failurePolicy, else Fail */
  failurePolicy: FailurePolicy;
  /** effective: webhookConfiguration.timeoutSeconds, else webhookTimeoutSeconds; undefined: global default (10 s) */
  timeoutSeconds?: number;
  background: boolean;
  admission: boolean;
  applyRules?: 'All' | 'One';
  rules: KyvernoRule[];
}

export interface KyvernoPolicy {
  format: 'kyverno';
  apiVersion: string;
  kind: 'ClusterPolicy' | 'Policy';
  metadata: PolicyMetadata;
  spec: KyvernoPolicySpec;
  source: PolicySource;
}

// ---------------------------------------------------------------------------
// ImageValidatingPolicy (Kyverno) and sigward's ImagePolicy
// ---------------------------------------------------------------------------

export interface StringOrExpression {
  value?: string;
  expression?: string;
}

export interface IvKey {
  data?: string;
  kms?: string;
  expression?: string;
  hashAlgorithm: HashAlgorithm;
  /** resolved material for `data` / `kms` (undefined for `expression`) */
  source?: KeySource;
}

export interface IvIdentity {
  subject?: string;
  subjectRegExp?: string;
  subjectExpression?: string;
  issuer?: string;
  issuerRegExp?: string;
}

export interface IvKeyless {
  identities: IvIdentity[];
  roots?: string;
  additionalExtensions: Record<string, string>;
}

export interface IvCTLog {
  url?: string;
  rekorPubKey?: string;
  ctLogPubKey?: string;
  tsaCertChain?: string;
  insecureIgnoreTlog: boolean;
  insecureIgnoreSCT: boolean;
}

export interface IvCosign {
  key?: IvKey;
  keyless?: IvKeyless;
  certificate?: { cert?: StringOrExpression; certChain?: StringOrExpression };
  ctlog?: IvCTLog;
  tuf?: { root?: { path?: string; data?: string }; mirror?: string };
  /** the attestor's own trusted_root.json (text), read and checked at load */
  trustedRoot?: string;
  source?: { repository?: string; pullSecrets: string[]; tagPrefix?: string };
  annotations: Record<string, string>;
}

export interface IvAttestor {
  name: string;
  path: string;
  cosign?: IvCosign;
  notary?: { certs?: StringOrExpression; tsaCerts?: StringOrExpression };
  /** set when sigward cannot verify with this attestor: verifications using it fail with this reason */
  unsupported?: string;
}

export interface IvAttestation {
  name: string;
  path: string;
  intoto?: { type: string };
  referrer?: { type: string };
}

export interface IvValidation {
  path: string;
  /** CEL, compiled elsewhere */
  expression: string;
  message?: string;
  messageExpression?: string;
  reason?: string;
}

export interface IvBuiltinRule {
  path: string;
  name: string;
  params: Record<string, unknown>;
}

export type MatchImageReference = { glob: string; expression?: undefined } | { expression: string; glob?: undefined };

export type ValidationAction = 'Deny' | 'Audit' | 'Warn';

export interface ImageValidatingPolicySpec {
  /** admissionregistration MatchResources, as written */
  matchConstraints?: Record<string, unknown>;
  matchConditions: { name: string; expression: string }[];
  variables: { name: string; expression: string }[];
  failurePolicy: FailurePolicy;
  /** default [Deny] */
  validationActions: ValidationAction[];
  validationConfigurations: { mutateDigest: boolean; verifyDigest: boolean; required: boolean };
  /** empty: every image matches */
  matchImageReferences: MatchImageReference[];
  credentials?: ImageRegistryCredentials;
  /** custom CEL image extractors (`images`) */
  images: { name: string; expression: string }[];
  attestors: IvAttestor[];
  attestations: IvAttestation[];
  validations: IvValidation[];
  /** sigward only: built-in rules instead of (or next to) CEL validations */
  rules: IvBuiltinRule[];
  auditAnnotations: { key: string; valueExpression: string }[];
  /** undefined: global default (10 s) */
  timeoutSeconds?: number;
  evaluation: { admission: boolean; background: boolean; mode: 'Kubernetes' | 'JSON' };
  /** pod controllers for autogen; undefined: Kyverno's default set */
  autogenControllers?: string[];
}

export interface ImageValidatingPolicy {
  format: 'ivpol' | 'sigward';
  apiVersion: string;
  kind: 'ImageValidatingPolicy' | 'NamespacedImageValidatingPolicy' | 'ImagePolicy';
  metadata: PolicyMetadata;
  spec: ImageValidatingPolicySpec;
  source: PolicySource;
}

export type Policy = KyvernoPolicy | ImageValidatingPolicy;

export interface LoadResult {
  policies: Policy[];
  /** warnings and notes (errors make loadPolicies throw) */
  warnings: PolicyDiagnostic[];
}

/** Looks up a mounted Secret: returns its data (key -> text) or undefined when absent. */
export type SecretResolver = (namespace: string, name: string) => Record<string, string> | undefined;

export interface LoadOptions {
  file?: string;
  /** default: files under $SIGWARD_SECRETS_DIR/<ns>/<name>/<key> */
  resolveSecret?: SecretResolver;
  /** names of sigward's built-in rules; when given, unknown `rules[].name` are errors */
  builtinRules?: readonly string[];
}
