// The engine's result types: what every evaluator (ClusterPolicy, Kyverno
// ImageValidatingPolicy, sigward ImagePolicy) returns and every front end
// (webhook, CLI, containerd) reads. They live apart from the evaluators so
// that those import only this module, never each other's façade.

import type { FailureAction, FailurePolicy } from '../policy/types.ts';
import type { JsonPatchOp } from '../admission/types.ts';

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
