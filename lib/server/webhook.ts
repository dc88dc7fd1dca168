// Admission decisions: AdmissionRequest -> AdmissionReview response, for the
// mutate and validate webhooks, with Kyverno's semantics and the failure
// handling a webhook needs:
//   - objects no verifyImages rule applies to are allowed at once, unpatched;
//   - each mutate evaluation has a deadline: the smallest webhook timeout of
//     the applying policies (webhookTimeoutSeconds, default 10 s; also the
//     API server's ?timeout=) minus a margin, so sigward answers before the
//     API server gives up. At the deadline the answer follows failurePolicy
//     (Fail: deny, Ignore: allow with a warning) and the work behind it is
//     cancelled: its registry requests are aborted (verifications another
//     request still waits for go on, lib/abort.ts) and its slot is given back
//     at once. A client that goes away cancels the same way;
//   - evaluations are bounded by a semaphore, also per registry host; a full
//     queue is answered by failurePolicy at once (see lib/semaphore.ts);
//   - the verification record in the annotations counts only when sigward
//     sealed it for this object (lib/admission/record.ts): validate reads
//     nothing else, and every mutate answer that allows (failurePolicy Ignore
//     included) leaves no record sigward did not write;
//   - dry-run requests get the same answer but leave nothing in the cache.

import { AsyncLocalStorage } from 'node:async_hooks';
import type { Logger } from '../log.ts';
import { toSigwardError } from '../errors.ts';
import { createDeadline, raceSignal } from '../abort.ts';
import { formatBlockedMessage } from '../admission/messages.ts';
import { VERIFY_IMAGES_SCOPED_ANNOTATION } from '../admission/patch.ts';
import {
  getStoredRecord,
  getTrustedRecord,
  type RecordContext,
  type RecordKeys,
  toRecordPatches,
  toRecordScope,
  type TrustedRecord,
  type VerificationRecord,
} from '../admission/record.ts';
import { getResourceIdentity, toAdmissionResponse } from '../admission/review.ts';
import type {
  AdmissionRequest,
  AdmissionResponseOptions,
  AdmissionReviewResponse,
  JsonPatchOp,
} from '../admission/types.ts';
import type { Evaluation } from '../engine/result.ts';
import type { FailurePolicy } from '../policy/types.ts';
import { getVerificationAnnotationPatches } from './annotations.ts';
import type { RequestResult, WebhookMetrics, WebhookOperation } from './metrics.ts';
import type { PolicySnapshot } from './policy-set.ts';
import { getNamespaceLabels, getSelectionFailurePolicy, getSelectionTimeoutSeconds, type Selection } from './select.ts';
import type { Semaphore } from '../semaphore.ts';
import { validateImages } from './validate.ts';

type LogLevel = 'error' | 'warn' | 'info' | 'debug';

export interface RequestScope {
  uid: string;
  dryRun: boolean;
}

/** Per-request context visible to the verification cache (dry runs must not fill it). */
export const requestScope = new AsyncLocalStorage<RequestScope>();

/** True unless the current request is a dry run. */
export function isCacheWritable(): boolean {
  return !requestScope.getStore()?.dryRun;
}

export interface AdmissionHandlerOptions {
  getSnapshot: () => PolicySnapshot;
  semaphore: Semaphore;
  log: Logger;
  metrics?: WebhookMetrics;
  /** webhook timeout for policies that set none (Kyverno --webhookTimeout), default 10 */
  defaultTimeoutSeconds?: number;
  defaultRegistry?: string;
  /** the keys that seal the verification record (current ones: they may be rotated) */
  getRecordKeys: () => RecordKeys;
}

export interface AdmissionDecision {
  review: AdmissionReviewResponse;
  result: RequestResult;
  /** why failurePolicy answered, when it did */
  failureReason?: 'deadline' | 'overload' | 'internal';
}

export interface MutateOptions {
  /** the API server's `?timeout=` (seconds), when given */
  apiTimeoutSeconds?: number;
  /** fires when the client has gone away: nobody waits for the answer any more */
  signal?: AbortSignal;
}

/** The warning when the object carries a record sigward did not write. */
const UNTRUSTED_RECORD_WARNING =
  `the ${VERIFY_IMAGES_SCOPED_ANNOTATION} / kyverno.io/verify-images record in this object was not written by sigward for it: it is not taken as a verification`;

/** Time sigward allows itself for a webhook timeout: 10% less, at least 200 ms and at most 1 s less. */
export function getDeadlineMs(timeoutSeconds: number): number {
  const ms = timeoutSeconds * 1000;
  const margin = Math.min(1000, Math.max(200, ms * 0.1));
  return Math.max(100, ms - margin);
}

function formatSeconds(ms: number): string {
  return `${Number((ms / 1000).toFixed(1))}s`;
}

const TIMED_OUT = Symbol('timed out');

/** The record context of a request, and the stored object's record (UPDATE) when sigward wrote it. */
function recordContextOf(
  request: AdmissionRequest,
  keys: RecordKeys,
): { ctx: RecordContext; stored?: VerificationRecord } {
  const scope = toRecordScope(request);
  const ctx = { keys, scope, now: new Date() };
  if (request.operation !== 'UPDATE') return { ctx };
  const stored = getStoredRecord(request.oldObject, keys, { namespace: scope.namespace, kind: scope.kind });
  return stored ? { ctx, stored } : { ctx };
}

export interface AdmissionHandler {
  mutate(request: AdmissionRequest, opts?: MutateOptions): Promise<AdmissionDecision>;
  validate(request: AdmissionRequest): Promise<AdmissionDecision>;
}

export function createAdmissionHandler(opts: AdmissionHandlerOptions): AdmissionHandler {
  const defaultTimeout = opts.defaultTimeoutSeconds ?? 10;
  const log = opts.log;
  const m = opts.metrics;

  function answer(
    request: AdmissionRequest,
    o: AdmissionResponseOptions,
    failureReason?: AdmissionDecision['failureReason'],
  ): AdmissionDecision {
    return {
      review: toAdmissionResponse(request, o),
      result: o.allowed ? 'allowed' : 'denied',
      ...(failureReason ? { failureReason } : {}),
    };
  }

  /**
   * The request's logger, made on its first line: a pino child serialises its
   * bindings when made, which costs as much as a warm review's rule selection,
   * and most requests write no line at the configured level.
   */
  function reqLog(request: AdmissionRequest, webhook: WebhookOperation): Pick<Logger, LogLevel> {
    let child: Logger | undefined;
    const get = () => {
      if (child) return child;
      const id = getResourceIdentity(request);
      return child = log.child({
        uid: request.uid,
        webhook,
        operation: request.operation,
        kind: id.kind,
        namespace: id.namespace || undefined,
        name: id.name || undefined,
        ...(request.dryRun ? { dryRun: true } : {}),
      });
    };
    const at = (level: LogLevel) => (obj: object, msg: string) => {
      if (log.isLevelEnabled(level)) get()[level](obj, msg);
    };
    return { error: at('error'), warn: at('warn'), info: at('info'), debug: at('debug') } as Pick<Logger, LogLevel>;
  }

  /**
   * The answer when no verification result is available in time (deadline,
   * overload, internal error). An allow removes the record entries sigward
   * did not write: the validating webhook must not find a user's "pass".
   */
  function byFailurePolicy(
    request: AdmissionRequest,
    sel: Selection,
    policy: FailurePolicy,
    reason: 'deadline' | 'overload' | 'internal',
    detail: string,
    record: { trusted: TrustedRecord; ctx: RecordContext },
  ): AdmissionDecision {
    m?.failurePolicyAnswers.inc({ reason, failure_policy: policy });
    if (policy === 'Ignore') {
      const warnings = [`${detail}; allowed by failurePolicy Ignore`];
      if (!record.trusted.untrusted) return answer(request, { allowed: true, warnings }, reason);
      return answer(request, {
        allowed: true,
        patch: toRecordPatches(request.object, record.trusted, record.ctx),
        warnings: [...warnings, UNTRUSTED_RECORD_WARNING],
      }, reason);
    }
    const id = getResourceIdentity(request);
    const failing = sel.rules.filter((r) => r.policy.spec.failurePolicy !== 'Ignore').map((r) => ({
      policy: r.policy.metadata.name,
      rule: r.rule.name,
      message: detail,
      status: 'error' as const,
    }));
    for (const p of sel.otherPolicies) {
      if (p.spec.failurePolicy !== 'Ignore') {
        failing.push({ policy: p.metadata.name, rule: p.kind, message: detail, status: 'error' as const });
      }
    }
    const message = formatBlockedMessage(id, failing) || `${detail} (failurePolicy Fail)`;
    return answer(request, { allowed: false, message }, reason);
  }

  function recordEvaluation(ev: Evaluation): void {
    if (!m) return;
    for (const r of ev.rules) for (const im of r.images) m.imageResults.inc({ result: im.status });
    if (ev.stats.signatureVerifications) m.verifications.inc({ kind: 'signature' }, ev.stats.signatureVerifications);
    if (ev.stats.attestationVerifications) {
      m.verifications.inc({ kind: 'attestation' }, ev.stats.attestationVerifications);
    }
  }

  async function mutate(request: AdmissionRequest, mopts: MutateOptions = {}): Promise<AdmissionDecision> {
    const snap = opts.getSnapshot();
    const object = request.object;
    if (!object || (request.operation !== 'CREATE' && request.operation !== 'UPDATE')) {
      return answer(request, { allowed: true });
    }
    const namespace = request.namespace || getResourceIdentity(request).namespace || undefined;
    const reqInfo = {
      operation: request.operation,
      namespace,
      userInfo: request.userInfo,
      namespaceLabels: getNamespaceLabels(namespace),
      oldObject: request.oldObject,
    };
    // selected once: the engine evaluates this selection, the deadline and slots come from it
    const sel = snap.engine.selectResource(object, reqInfo);
    if (!sel.rules.length && !sel.otherPolicies.length) return answer(request, { allowed: true });

    const rlog = reqLog(request, 'mutate');
    let timeout = getSelectionTimeoutSeconds(sel, defaultTimeout);
    if (mopts.apiTimeoutSeconds !== undefined && mopts.apiTimeoutSeconds > 0) {
      timeout = Math.min(timeout, mopts.apiTimeoutSeconds);
    }
    const budgetMs = getDeadlineMs(timeout);
    const failurePolicy = getSelectionFailurePolicy(sel);
    const { ctx: recordCtx, stored } = recordContextOf(request, opts.getRecordKeys());
    const record = { trusted: getTrustedRecord(object, recordCtx, stored), ctx: recordCtx };
    // the budget, or the client going away: whichever comes first cancels everything below
    const deadline = createDeadline(budgetMs, [mopts.signal]);
    const gone = () => mopts.signal?.aborted === true;
    try {
      let release: () => void;
      try {
        m?.queuedEvaluations.inc();
        release = await opts.semaphore.acquire(deadline.signal, sel.registries);
      } catch (e) {
        const err = toSigwardError(e);
        const overload = err.detail?.overloaded === true;
        rlog.warn(
          { err: err.message, failurePolicy, ...(gone() ? { clientGone: true } : {}) },
          overload ? 'webhook overloaded' : gone() ? 'client gone while queued' : 'deadline passed while queued',
        );
        return byFailurePolicy(
          request,
          sel,
          failurePolicy,
          overload ? 'overload' : 'deadline',
          overload
            ? 'image verification was not started: webhook overloaded'
            : `image verification did not finish within ${formatSeconds(budgetMs)}`,
          record,
        );
      } finally {
        m?.queuedEvaluations.dec();
      }

      // the slot is given back when the evaluation settles or at the deadline, whichever is first
      m?.inflightEvaluations.inc();
      let held = true;
      const giveBack = () => {
        if (!held) return;
        held = false;
        m?.inflightEvaluations.dec();
        release();
      };
      const evaluation = requestScope.run(
        { uid: request.uid, dryRun: request.dryRun },
        () =>
          snap.engine.evaluateResource(object, {
            ...reqInfo,
            ...(stored ? { oldRecord: stored.scoped } : {}),
            signal: deadline.signal,
          }, sel),
      );
      evaluation.then(giveBack, giveBack);

      let ev: Evaluation;
      try {
        const r = await raceSignal(evaluation, deadline.signal, (): typeof TIMED_OUT => TIMED_OUT);
        if (r === TIMED_OUT) {
          giveBack();
          rlog.warn(
            { budgetMs, failurePolicy, generation: snap.generation, ...(gone() ? { clientGone: true } : {}) },
            gone() ? 'client gone: image verification cancelled' : 'image verification deadline passed: cancelled',
          );
          return byFailurePolicy(
            request,
            sel,
            failurePolicy,
            'deadline',
            `image verification did not finish within ${formatSeconds(budgetMs)}`,
            record,
          );
        }
        ev = r;
      } catch (e) {
        const err = toSigwardError(e);
        rlog.error({ err: err.message, code: err.code }, 'evaluation failed');
        return byFailurePolicy(
          request,
          sel,
          failurePolicy,
          'internal',
          `image verification failed: ${err.message}`,
          record,
        );
      }
      recordEvaluation(ev);

      const auditLines = ev.rules.filter((r) =>
        (r.status === 'fail' && r.action !== 'Enforce') || (r.status === 'error' && ev.allowed)
      );
      for (const r of auditLines) {
        rlog.warn(
          {
            audit: true,
            policy: r.policy,
            rule: r.rule,
            status: r.status,
            action: r.action,
            failurePolicy: r.failurePolicy,
            message: r.message,
          },
          r.status === 'fail'
            ? 'policy violation allowed (Audit)'
            : 'verification error allowed (failurePolicy Ignore)',
        );
      }
      const summary = {
        allowed: ev.allowed,
        images: ev.stats.images,
        verifications: ev.stats.signatureVerifications + ev.stats.attestationVerifications,
        ms: ev.stats.ms,
        generation: snap.generation,
      };
      if (!ev.allowed) {
        rlog.info({
          ...summary,
          rules: ev.rules.filter((r) => r.status === 'fail' || r.status === 'error').map((r) =>
            `${r.policy}/${r.rule}`
          ),
        }, 'admission denied');
        return answer(request, { allowed: false, message: ev.message, warnings: ev.warnings });
      }
      let patch: JsonPatchOp[] = [];
      try {
        patch = [
          ...getVerificationAnnotationPatches(object, ev, sel.rules, {
            defaultRegistry: opts.defaultRegistry,
            trusted: record.trusted,
            record: recordCtx,
          }),
          ...ev.patches,
        ];
      } catch (e) {
        const err = toSigwardError(e);
        rlog.error({ err: err.message }, 'cannot build the patch');
        return byFailurePolicy(
          request,
          sel,
          failurePolicy,
          'internal',
          `cannot record the verification: ${err.message}`,
          record,
        );
      }
      const warnings = record.trusted.untrusted ? [...ev.warnings, UNTRUSTED_RECORD_WARNING] : ev.warnings;
      // an allow is a debug line (as in validate), unless it dropped a record sigward did not write
      if (record.trusted.untrusted) {
        rlog.info({ ...summary, patches: patch.length, untrustedRecord: true }, 'admission allowed');
      } else {
        rlog.debug({ ...summary, patches: patch.length }, 'admission allowed');
      }
      return answer(request, { allowed: true, patch, warnings });
    } finally {
      deadline.clear();
    }
  }

  async function validate(request: AdmissionRequest): Promise<AdmissionDecision> {
    const snap = opts.getSnapshot();
    const object = request.object;
    if (!object || (request.operation !== 'CREATE' && request.operation !== 'UPDATE')) {
      return answer(request, { allowed: true });
    }
    const namespace = request.namespace || getResourceIdentity(request).namespace || undefined;
    const sel = snap.engine.selectResource(object, {
      operation: request.operation,
      namespace,
      userInfo: request.userInfo,
      namespaceLabels: getNamespaceLabels(namespace),
      oldObject: request.oldObject,
    });
    if (!sel.rules.length) return answer(request, { allowed: true });
    const rlog = reqLog(request, 'validate');
    const { ctx: recordCtx, stored } = recordContextOf(request, opts.getRecordKeys());
    const trusted = getTrustedRecord(object, recordCtx, stored);
    const r = validateImages(sel, {
      defaultRegistry: opts.defaultRegistry,
      record: trusted.scoped,
    });
    if (trusted.untrusted) {
      rlog.warn({ untrustedRecord: true }, 'verification record not written by sigward: not taken as a verification');
      r.warnings.push(UNTRUSTED_RECORD_WARNING);
    }
    for (const f of r.findings) {
      if (f.action !== 'Enforce') {
        rlog.warn(
          { audit: true, policy: f.policy, rule: f.rule, image: f.image, message: f.message },
          'policy violation allowed (Audit)',
        );
      }
    }
    if (!r.allowed) {
      rlog.info({ allowed: false, checked: r.checked, generation: snap.generation }, 'admission denied');
      return answer(request, { allowed: false, message: r.message, warnings: r.warnings });
    }
    rlog.debug({ allowed: true, checked: r.checked, generation: snap.generation }, 'admission allowed');
    return answer(request, { allowed: true, warnings: r.warnings });
  }

  return { mutate, validate };
}
