// Prometheus metrics of the webhook (prom-client, one registry per server so
// tests and several servers in one process do not collide).

import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

export type WebhookOperation = 'mutate' | 'validate';
export type RequestResult = 'allowed' | 'denied' | 'error';

export interface WebhookMetrics {
  registry: Registry;
  /** where sigward_cache_entries reads the cache size */
  setCacheSizeSource(fn: () => number): void;
  /** admission review latency by operation (mutate/validate) and result (allowed/denied/error) */
  requestDuration: Histogram<'operation' | 'result'>;
  /** per image and rule results of the mutate phase (pass/fail/skip/error) */
  imageResults: Counter<'result'>;
  /** signature and attestation verifications actually performed (cache misses) */
  verifications: Counter<'kind'>;
  /** ResultCache lookups by key kind (sig/att/resolve) and outcome (hit/miss/coalesced/expired) */
  cacheLookups: Counter<'kind' | 'outcome'>;
  cacheEntries: Gauge;
  /** registry HTTP requests by method and status */
  registryDuration: Histogram<'method' | 'status'>;
  /** requests answered by failurePolicy because of the deadline or overload */
  failurePolicyAnswers: Counter<'reason' | 'failure_policy'>;
  inflightEvaluations: Gauge;
  queuedEvaluations: Gauge;
  policyReloads: Counter<'result'>;
  certificateReloads: Counter<'result'>;
  /** trust root refreshes (serve --tuf-mirror) by result: changed, unchanged, error */
  trustRefreshes: Counter<'result'>;
  policiesLoaded: Gauge;
  ready: Gauge;
}

export function createMetrics(opts: { defaultMetrics?: boolean } = {}): WebhookMetrics {
  const registry = new Registry();
  const source: { cacheSize?: () => number } = {};
  if (opts.defaultMetrics !== false) collectDefaultMetrics({ register: registry, prefix: 'sigward_' });
  const registers = [registry];
  return {
    registry,
    setCacheSizeSource(fn) {
      source.cacheSize = fn;
    },
    requestDuration: new Histogram({
      name: 'sigward_admission_request_duration_seconds',
      help: 'AdmissionReview handling time by webhook operation and result',
      labelNames: ['operation', 'result'] as const,
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    }),
    imageResults: new Counter({
      name: 'sigward_image_verification_results_total',
      help: 'Image verification results of the mutate phase, per image and rule',
      labelNames: ['result'] as const,
      registers,
    }),
    verifications: new Counter({
      name: 'sigward_verifications_performed_total',
      help: 'Signature and attestation verifications performed (not answered from cache)',
      labelNames: ['kind'] as const,
      registers,
    }),
    cacheLookups: new Counter({
      name: 'sigward_cache_lookups_total',
      help: 'Verification cache lookups by key kind (sig, att, resolve) and outcome (hit, miss, coalesced, expired)',
      labelNames: ['kind', 'outcome'] as const,
      registers,
    }),
    cacheEntries: new Gauge({
      name: 'sigward_cache_entries',
      help: 'Entries in the verification cache',
      registers,
      collect() {
        this.set(source.cacheSize ? source.cacheSize() : 0);
      },
    }),
    registryDuration: new Histogram({
      name: 'sigward_registry_request_duration_seconds',
      help: 'Registry HTTP request latency by method and status',
      labelNames: ['method', 'status'] as const,
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    }),
    failurePolicyAnswers: new Counter({
      name: 'sigward_failure_policy_answers_total',
      help:
        'Requests answered by failurePolicy instead of a verification result (reason: deadline, overload, internal)',
      labelNames: ['reason', 'failure_policy'] as const,
      registers,
    }),
    inflightEvaluations: new Gauge({ name: 'sigward_evaluations_in_flight', help: 'Evaluations running', registers }),
    queuedEvaluations: new Gauge({
      name: 'sigward_evaluations_queued',
      help: 'Evaluations waiting for a slot',
      registers,
    }),
    policyReloads: new Counter({
      name: 'sigward_policy_reloads_total',
      help: 'Policy reloads by result (ok, error)',
      labelNames: ['result'] as const,
      registers,
    }),
    certificateReloads: new Counter({
      name: 'sigward_certificate_reloads_total',
      help: 'Serving certificate reloads by result (ok, error)',
      labelNames: ['result'] as const,
      registers,
    }),
    trustRefreshes: new Counter({
      name: 'sigward_trust_refreshes_total',
      help: 'Trust root refreshes from TUF by result (changed, unchanged, error)',
      labelNames: ['result'] as const,
      registers,
    }),
    policiesLoaded: new Gauge({ name: 'sigward_policies_loaded', help: 'Policies in the active set', registers }),
    ready: new Gauge({
      name: 'sigward_ready',
      help: '1 when trust root and policies are loaded and the server is not draining',
      registers,
    }),
  };
}
