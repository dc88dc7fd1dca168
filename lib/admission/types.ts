// Types for Kubernetes admission handling (AdmissionReview admission.k8s.io/v1 and v1beta1).

export type JsonPrimitive = string | number | boolean | null;
export type JsonValue = JsonPrimitive | JsonValue[] | { [key: string]: JsonValue };
export type JsonObject = { [key: string]: JsonValue };

export type AdmissionApiVersion = 'admission.k8s.io/v1' | 'admission.k8s.io/v1beta1';
export type AdmissionOperation = 'CREATE' | 'UPDATE' | 'DELETE' | 'CONNECT';

export interface GroupVersionKind {
  group: string;
  version: string;
  kind: string;
}

export interface GroupVersionResource {
  group: string;
  version: string;
  resource: string;
}

export interface UserInfo {
  username: string;
  uid?: string;
  groups: string[];
  extra?: Record<string, string[]>;
}

/** A validated admission request. Objects are the decoded JSON, untouched. */
export interface AdmissionRequest {
  /** the AdmissionReview apiVersion the request came in; the response uses the same */
  apiVersion: AdmissionApiVersion;
  uid: string;
  /** type of the object (request.kind) */
  kind: GroupVersionKind;
  resource?: GroupVersionResource;
  subResource?: string;
  requestKind?: GroupVersionKind;
  requestResource?: GroupVersionResource;
  requestSubResource?: string;
  /** request.name; '' when absent (e.g. Pods created with generateName) */
  name: string;
  /** request.namespace; '' for cluster-scoped resources */
  namespace: string;
  operation: AdmissionOperation;
  userInfo: UserInfo;
  /** the new object (CREATE, UPDATE; for CONNECT the options object) */
  object?: JsonObject;
  /** the existing object (UPDATE, DELETE) */
  oldObject?: JsonObject;
  dryRun: boolean;
  options?: JsonObject;
}

/** RFC 6902 JSON Patch operation. */
export type JsonPatchOp =
  | { op: 'add'; path: string; value: JsonValue }
  | { op: 'replace'; path: string; value: JsonValue }
  | { op: 'test'; path: string; value: JsonValue }
  | { op: 'remove'; path: string }
  | { op: 'move'; from: string; path: string }
  | { op: 'copy'; from: string; path: string };

export interface AdmissionResponseOptions {
  allowed: boolean;
  /** status message (Kyverno puts the blocked message here) */
  message?: string;
  /** HTTP status code for status.code (Kubernetes uses 403 when a denial has none) */
  code?: number;
  /** status.reason, e.g. 'Forbidden' */
  reason?: string;
  warnings?: string[];
  /** JSON patch; only sent when allowed and non-empty */
  patch?: JsonPatchOp[];
  auditAnnotations?: Record<string, string>;
}

export interface AdmissionResponseStatus {
  status: 'Success' | 'Failure';
  message?: string;
  code?: number;
  reason?: string;
}

export interface AdmissionResponse {
  uid: string;
  allowed: boolean;
  status?: AdmissionResponseStatus;
  /** base64 of the JSON patch */
  patch?: string;
  patchType?: 'JSONPatch';
  auditAnnotations?: Record<string, string>;
  warnings?: string[];
}

export interface AdmissionReviewResponse {
  apiVersion: AdmissionApiVersion;
  kind: 'AdmissionReview';
  response: AdmissionResponse;
}

/** Verification status recorded in the kyverno.io/verify-images annotations. */
export type VerifyImageStatus = 'pass' | 'fail' | 'skip';

/** Decoded `kyverno.io/verify-images-scoped` value. */
export interface ScopedVerifyImages {
  version: 1;
  /** `<namespace>/<policy>` (ClusterPolicy: `/<policy>`) -> rule -> image -> status */
  policies: Record<string, Record<string, Record<string, VerifyImageStatus>>>;
}
