// The Kubernetes admission webhook (`sigward serve`): Kyverno verifyImages
// semantics behind POST /mutate and POST /validate.

export { startWebhookService, type WebhookService, type WebhookServiceOptions } from './service.ts';
export {
  checkTlsMaterial,
  createMetricsServer,
  createWebhookServer,
  DEFAULT_MAX_BODY_BYTES,
  parseTimeoutParam,
  type Readiness,
  type TlsMaterial,
  type WebhookServer,
  type WebhookServerOptions,
} from './server.ts';
export {
  type AdmissionDecision,
  type AdmissionHandler,
  type AdmissionHandlerOptions,
  createAdmissionHandler,
  getDeadlineMs,
  isCacheWritable,
  type MutateOptions,
  requestScope,
} from './webhook.ts';
export {
  createPolicySnapshot,
  type Engine,
  type EngineDeps,
  getPolicyFilesFingerprint,
  loadPolicySnapshot,
  type PolicySnapshot,
} from './policy-set.ts';
export {
  getNamespaceLabels,
  getSelectionFailurePolicy,
  getSelectionTimeoutSeconds,
  getUnsupportedSelectors,
  isRecordedEntry,
  type Selection,
} from './select.ts';
export { type ValidateFinding, validateImages, type ValidateResult } from './validate.ts';
export { getRecordedImageKey, getVerificationAnnotationPatches } from './annotations.ts';
export { createSemaphore, type Semaphore } from '../semaphore.ts';
export { createMetrics, type WebhookMetrics } from './metrics.ts';
export { type FileWatch, watchFiles, type WatchOptions } from './watch.ts';
