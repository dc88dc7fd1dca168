// The Kubernetes admission webhook (`sigward serve`): Kyverno verifyImages
// semantics behind POST /mutate and POST /validate.

export { startWebhookService, type WebhookService, type WebhookServiceOptions } from './service.ts';
export { createWebhookServer, createMetricsServer, checkTlsMaterial, parseTimeoutParam, DEFAULT_MAX_BODY_BYTES, type WebhookServer, type WebhookServerOptions, type Readiness, type TlsMaterial } from './server.ts';
export { createAdmissionHandler, getDeadlineMs, isCacheWritable, requestScope, type AdmissionHandler, type AdmissionHandlerOptions, type AdmissionDecision, type MutateOptions } from './webhook.ts';
export { createPolicySnapshot, loadPolicySnapshot, getPolicyFilesFingerprint, type PolicySnapshot, type EngineDeps, type Engine } from './policy-set.ts';
export { selectRules, getSelectionTimeoutSeconds, getSelectionFailurePolicy, entryMatchesImage, isRecordedEntry, type Selection, type SelectedRule } from './select.ts';
export { validateImages, type ValidateResult, type ValidateFinding } from './validate.ts';
export { getVerificationAnnotationPatches, getRecordedImageKey } from './annotations.ts';
export { createSemaphore, type Semaphore } from '../semaphore.ts';
export { createMetrics, type WebhookMetrics } from './metrics.ts';
export { watchFiles, type FileWatch, type WatchOptions } from './watch.ts';
