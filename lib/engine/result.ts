// The engine's result types: what every evaluator (ClusterPolicy, Kyverno
// ImageValidatingPolicy, sigward ImagePolicy) returns and every front end
// (webhook, CLI, containerd) reads. They live apart from the evaluators so
// that those import only this module, never each other's façade.

import type { FailureAction, FailurePolicy, ImageValidatingPolicy } from '../policy/types.ts';
import { getValidationAction } from './failure-action.ts';
import type { JsonPatchOp, ScopedVerifyImages } from '../admission/types.ts';

export type ResultStatus = 'pass' | 'fail' | 'skip' | 'error';

export interface ImageResult {
  policy: string;
  policyNamespace?: string;
  rule: string;
  /** the image as written in the resource */
  image: string;
  /** JSON pointer of the image field, when it comes from a resource */
  jsonPointer?: string;
  /** normalised `registry/path[:tag]` */
  reference?: string;
  digest?: string;
  status: ResultStatus;
  message: string;
  code?: string;
  action: FailureAction;
  failurePolicy: FailurePolicy;
  /** the digest patch for this image (mutateDigest) */
  patch?: JsonPatchOp;
  required: boolean;
}

export interface RuleResult {
  policy: string;
  policyNamespace?: string;
  rule: string;
  status: ResultStatus;
  message: string;
  action: FailureAction;
  failurePolicy: FailurePolicy;
  images: ImageResult[];
}

/**
 * What every rule result of an ImageValidatingPolicy (either format) starts
 * with: the policy, its kind as the rule, its action and failurePolicy.
 */
export function toRuleHead(
  policy: ImageValidatingPolicy,
): Pick<RuleResult, 'policy' | 'policyNamespace' | 'rule' | 'action' | 'failurePolicy'> {
  return {
    policy: policy.metadata.name,
    policyNamespace: policy.metadata.namespace,
    rule: policy.kind,
    action: getValidationAction(policy),
    failurePolicy: policy.spec.failurePolicy,
  };
}

export interface EvaluationStats {
  images: number;
  distinctDigests: number;
  signatureVerifications: number;
  attestationVerifications: number;
  ms: number;
}

export interface Evaluation {
  resource: { kind: string; namespace?: string; name?: string };
  rules: RuleResult[];
  /** digest patches (RFC 6902), in image order */
  patches: JsonPatchOp[];
  allowed: boolean;
  /** Kyverno-shaped denial when not allowed */
  message?: string;
  warnings: string[];
  stats: EvaluationStats;
}

/** What the engine knows of the admission request an object comes with. */
export interface RequestInfo {
  operation?: string;
  namespace?: string;
  userInfo?: { username?: string; groups?: string[] };
  namespaceLabels?: Record<string, string>;
  /** UPDATE: the stored object */
  oldObject?: unknown;
  /**
   * UPDATE: the verification record of the stored object that sigward wrote
   * for it (its seal checked by the caller, lib/admission/record.ts). An image
   * the update leaves at the same field, and that this record says passed the
   * same policy and rule, is not verified again (Kyverno). Without it every
   * image is verified.
   */
  oldRecord?: ScopedVerifyImages;
  /** cancels the evaluation (request deadline, client gone): its registry requests are aborted */
  signal?: AbortSignal;
}
