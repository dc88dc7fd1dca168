// Policies x resource -> per rule, per image results, digest patches and the
// admission decision, following Kyverno's verifyImages semantics:
//   - rules selected by match/exclude and preconditions (autogen applied);
//   - images from the pod spec of every controller kind, or imageExtractors;
//   - per image and verifyImages entry: imageReferences / skipImageReferences,
//     tag -> digest once, attestors, attestations, mutateDigest, verifyDigest;
//   - a request is blocked when a rule fails under Enforce, or errors
//     (registry unreachable) under failurePolicy Fail.

import { toSigwardError } from '../errors.ts';
import { parseImageFromPodSpec, matchesAnyPattern, toKyvernoMatchString } from '../reference/index.ts';
import type { ImageReference } from '../reference/types.ts';
import type { OciStore, RepositoryRef } from '../oci/types.ts';
import { resolveDigest } from '../cosign/image.ts';
import type { Trust } from '../trust/index.ts';
import { createFileConfigMapResolver, expandAutogen } from '../policy/index.ts';
import type { FailureAction, FailurePolicy, ImageVerification, KyvernoPolicy, KyvernoRule, Policy, SecretResolver } from '../policy/types.ts';
import { getImages, type ExtractedImage } from '../admission/images.ts';
import { VERIFY_IMAGES_ANNOTATION, digestPatch, scopedPolicyKey } from '../admission/patch.ts';
import type { JsonPatchOp, ScopedVerifyImages } from '../admission/types.ts';
import type { SharedWork } from '../abort.ts';
import {
  formatBlockedMessage,
  formatMissingDigestMessage,
  formatSkipImageMessage,
  formatVerifiedMessage,
  formatVerifyFailedMessage,
} from '../admission/messages.ts';
import { ruleSelects, toResourceInfo, type ResourceInfo } from './match.ts';
import { getFailureAction } from './failure-action.ts';
import { entrySelectsImage } from './image-selection.ts';
import { checkPreconditions, loadRuleContext } from './rule-context.ts';
import { matchesPattern } from '../wildcard.ts';
import { tryKyvernoReference } from '../admission/imageinfo.ts';
import { verifyImageEntry, memo, type VerifyContext, type ResultCache } from './verify-image.ts';
import { evaluateNativeImage } from './imagepolicy.ts';
import { evaluateImageValidatingPolicy, applyRequired, type IvpolRequest, type IvpolResult } from './ivpol.ts';
import { toUpdateContext, type UpdateContext } from './update.ts';
import type { ImageValidatingPolicy } from '../policy/types.ts';

export type { ResultStatus, ImageResult, RuleResult, EvaluationStats, Evaluation } from './result.ts';
import type { ResultStatus, ImageResult, RuleResult, Evaluation } from './result.ts';

export interface EngineOptions {
  policies: Policy[];
  stores: (repo: RepositoryRef) => OciStore;
  trust: Trust;
  now?: () => Date;
  /** Kyverno's `defaultRegistry` (docker.io) */
  defaultRegistry?: string;
  signal?: AbortSignal;
  /** share verifications across every evaluation of this engine (CLI batch runs) */
  shareMemo?: boolean;
  /** cache of verification results across evaluations (webhook; entries with useCache: false bypass it) */
  cache?: ResultCache;
  /** ConfigMaps for rule `context` entries (default: $SIGWARD_CONFIGMAPS_DIR/<namespace>/<name>/<key>) */
  configMaps?: SecretResolver;
}

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


const STATUS_RANK: Record<ResultStatus, number> = { error: 3, fail: 2, pass: 1, skip: 0 };

interface Engine {
  evaluateResource(obj: unknown, req?: RequestInfo): Promise<Evaluation>;
  evaluateImages(images: string[]): Promise<Evaluation[]>;
  /** verification counters since the engine was created */
  readonly totals: VerifyContext['stats'];
}

export function createEngine(opts: EngineOptions): Engine {
  const policies = opts.policies.map((p) => expandAutogen(p));
  const now = opts.now ?? (() => new Date());
  const trustCache = new Map<string, Trust>();
  const totals: VerifyContext['stats'] = { signatureVerifications: 0, attestationVerifications: 0, digests: new Set() };

  const sharedMemo = new Map<string, SharedWork<unknown>>();
  function newContext(signal?: AbortSignal): VerifyContext {
    const signals = [opts.signal, signal].filter((x): x is AbortSignal => x !== undefined);
    return {
      stores: opts.stores,
      trust: opts.trust,
      now,
      memo: opts.shareMemo ? sharedMemo : new Map(),
      cache: opts.cache,
      trustCache,
      stats: { signatureVerifications: 0, attestationVerifications: 0, digests: new Set() },
      signal: signals.length > 1 ? AbortSignal.any(signals) : signals[0],
    };
  }

  async function resolve(ref: ImageReference, ctx: VerifyContext): Promise<string> {
    const key = `resolve|${ref.transport}:${ref.registry}/${ref.repository}:${ref.tag ?? ''}@${ref.digest ?? ''}`;
    return memo(ctx, key, (signal) => resolveDigest(ref, ctx.stores, signal));
  }

  async function evaluateEntry(policy: KyvernoPolicy, rule: KyvernoRule, entry: ImageVerification, img: { image: string; jsonPointer?: string; patchable?: boolean }, ns: string | undefined, ctx: VerifyContext, variables: Record<string, unknown>, update?: UpdateContext): Promise<ImageResult | undefined> {
    const action = getFailureAction(policy, entry, ns);
    const base = { policy: policy.metadata.name, policyNamespace: policy.metadata.namespace, rule: rule.name, image: img.image, jsonPointer: img.jsonPointer, action, failurePolicy: policy.spec.failurePolicy, required: entry.required };
    let ref: ImageReference;
    try {
      ref = parseImageFromPodSpec(img.image, { defaultRegistry: opts.defaultRegistry });
    } catch (e) {
      // sigward cannot parse or verify this image. It never vanishes: Kyverno's own
      // parser (every digest go-digest takes, e.g. sha384) decides whether the entry
      // matches, and an image Kyverno cannot parse either fails the rule as in
      // Kyverno ("failed to extract images").
      const failed: ImageResult = { ...base, status: 'fail', message: formatVerifyFailedMessage(img.image, toSigwardError(e).message), code: 'REFERENCE_INVALID' };
      const kyverno = tryKyvernoReference(img.image, { defaultRegistry: opts.defaultRegistry });
      if (kyverno === undefined) return failed;
      if (!entry.imageReferences.some((p) => matchesPattern(p, kyverno))) return undefined;
      if (entry.skipImageReferences.some((p) => matchesPattern(p, kyverno))) {
        return { ...base, reference: kyverno, status: 'skip', message: formatSkipImageMessage(img.image, policy.metadata.name, rule.name) };
      }
      return { ...failed, reference: kyverno };
    }
    if (!matchesAnyPattern(entry.imageReferences, ref)) return undefined;
    const reference = toKyvernoMatchString(ref);
    if (entry.skipImageReferences.length && matchesAnyPattern(entry.skipImageReferences, ref)) {
      return { ...base, reference, status: 'skip', message: formatSkipImageMessage(img.image, policy.metadata.name, rule.name) };
    }
    if (update?.annotationChanged) {
      return { ...base, reference, status: 'fail', message: `${VERIFY_IMAGES_ANNOTATION} annotation cannot be changed`, code: 'ANNOTATION_MISMATCH' };
    }
    if (update && img.jsonPointer && update.isVerifiedUnchanged(img.jsonPointer, img.image, scopedPolicyKey(policy.metadata.namespace, policy.metadata.name), rule.name)) {
      return { ...base, reference, ...(ref.digest ? { digest: ref.digest } : {}), status: 'pass', message: `image ${img.image} is unchanged by this update and recorded as verified in the stored object: not verified again` };
    }
    if (entry.unsupported) {
      return { ...base, reference, status: 'fail', message: formatVerifyFailedMessage(img.image, entry.unsupported), code: 'NOT_IMPLEMENTED' };
    }
    let digest: string;
    try {
      digest = await resolve(ref, ctx);
    } catch (e) {
      const err = toSigwardError(e);
      const status: ResultStatus = err.code === 'REGISTRY_UNREACHABLE' ? 'error' : 'fail';
      return { ...base, reference, status, message: formatVerifyFailedMessage(img.image, err.message), code: err.code };
    }
    const outcome = await verifyImageEntry(ref, digest, entry, entry.useCache ? ctx : { ...ctx, cache: undefined }, img.image, variables);
    if (!outcome.verified) {
      const status: ResultStatus = outcome.undecided ? 'error' : 'fail';
      return { ...base, reference, digest, status, message: formatVerifyFailedMessage(img.image, outcome.message ?? 'verification failed'), code: outcome.undecided?.code ?? outcome.code };
    }
    let patch: JsonPatchOp | undefined;
    if (entry.mutateDigest && !ref.digest && img.jsonPointer && img.patchable !== false) {
      patch = digestPatch(img.image, img.jsonPointer, digest, { defaultRegistry: opts.defaultRegistry });
    }
    // verifyDigest concerns an image field of a resource; a bare image reference
    // (check --image) is reported with the digest that was verified
    if (entry.verifyDigest && !ref.digest && !patch && img.jsonPointer) {
      return { ...base, reference, digest, status: 'fail', message: formatMissingDigestMessage(img.image), code: 'MANIFEST_DIGEST_MISMATCH' };
    }
    return { ...base, reference, digest, status: 'pass', message: formatVerifiedMessage(img.image), patch };
  }

  const configMaps = opts.configMaps ?? createFileConfigMapResolver();

  /** A rule that could not be evaluated (its context or preconditions): it fails, it is never skipped. */
  function ruleFailure(policy: KyvernoPolicy, rule: KyvernoRule, namespace: string | undefined, e: unknown): RuleResult {
    const action = getFailureAction(policy, rule.verifyImages[0]!, namespace);
    return { policy: policy.metadata.name, policyNamespace: policy.metadata.namespace, rule: rule.name, status: 'fail', message: toSigwardError(e).message, action, failurePolicy: policy.spec.failurePolicy, images: [] };
  }

  function toRuleResult(policy: KyvernoPolicy, rule: KyvernoRule, images: ImageResult[]): RuleResult {
    const worst = images.reduce<ResultStatus>((w, r) => (STATUS_RANK[r.status] > STATUS_RANK[w] ? r.status : w), images.length ? 'skip' : 'pass');
    const failing = images.filter((r) => r.status === worst && (worst === 'fail' || worst === 'error'));
    const action: FailureAction = failing.some((r) => r.action === 'Enforce') ? 'Enforce' : images[0]?.action ?? policy.spec.validationFailureAction;
    const message = failing.length ? [...new Set(failing.map((r) => r.message))].join('; ') : images.map((r) => r.message).join('; ');
    return { policy: policy.metadata.name, policyNamespace: policy.metadata.namespace, rule: rule.name, status: worst, message, action, failurePolicy: policy.spec.failurePolicy, images };
  }

  function decide(resource: Evaluation['resource'], rules: RuleResult[], ctx: VerifyContext, started: number, imageCount: number): Evaluation {
    const anyFail = rules.some((r) => r.failurePolicy === 'Fail');
    // an ImageValidatingPolicy's failurePolicy is its own (Kyverno registers a webhook per failurePolicy)
    const blocking = rules.filter((r) => (r.status === 'fail' && r.action === 'Enforce') || (r.status === 'error' && (ivpolResults.has(r) ? r.failurePolicy === 'Fail' : anyFail)));
    const warnings: string[] = [];
    for (const r of rules) {
      if (blocking.includes(r)) continue;
      if (ivpolResults.has(r)) {
        // Kyverno's wording for ivpol warnings (Warn; sigward also warns for Audit)
        if (r.status === 'fail') warnings.push(`Policy ${r.policy} failed: ${r.message}`);
        if (r.status === 'error') warnings.push(`Policy ${r.policy} error: ${r.message}`);
        continue;
      }
      if (r.status === 'fail') warnings.push(`policy ${r.policy}.${r.rule}: ${r.message}`);
      if (r.status === 'error') warnings.push(`policy ${r.policy}.${r.rule} (failurePolicy Ignore): ${r.message}`);
    }
    const kyvernoBlocking = blocking.filter((r) => !ivpolResults.has(r));
    // ImageValidatingPolicy denials read as Kyverno's ivpol webhook writes them, joined with "; "
    const ivpolMessages = blocking.filter((r) => ivpolResults.has(r)).map((r) => `Policy ${r.policy} ${r.status === 'error' ? 'error' : 'failed'}: ${r.message}`);
    const blockedMessage = [
      ...(kyvernoBlocking.length ? [formatBlockedMessage(resource, kyvernoBlocking.map((r) => ({ policy: r.policy, rule: r.rule, message: r.message, status: r.status })))] : []),
      ...ivpolMessages,
    ].join('; ');
    const patches = rules.flatMap((r) => r.images.map((i) => i.patch).filter((p): p is JsonPatchOp => !!p));
    const seen = new Set<string>();
    const uniquePatches = patches.filter((p) => (seen.has(p.path) ? false : (seen.add(p.path), true)));
    // distinct digests are tracked for batch runs only (a long-lived engine would grow without bound)
    if (opts.shareMemo) for (const d of ctx.stats.digests) totals.digests.add(d);
    totals.signatureVerifications += ctx.stats.signatureVerifications;
    totals.attestationVerifications += ctx.stats.attestationVerifications;
    return {
      resource,
      rules,
      patches: uniquePatches,
      allowed: blocking.length === 0,
      ...(blocking.length ? { message: blockedMessage } : {}),
      warnings,
      stats: {
        images: imageCount,
        distinctDigests: ctx.stats.digests.size,
        signatureVerifications: ctx.stats.signatureVerifications,
        attestationVerifications: ctx.stats.attestationVerifications,
        ms: Date.now() - started,
      },
    };
  }

  /** RuleResults that come from ImageValidatingPolicies (message shape, failurePolicy) */
  const ivpolResults = new WeakSet<RuleResult>();

  /** sigward ImagePolicy per image; Kyverno ImageValidatingPolicy per resource (lib/engine/ivpol.ts), `required` across them. */
  async function otherPolicyResults(images: { image: string; jsonPointer?: string; patchable?: boolean }[], ctx: VerifyContext, namespace?: string, resource?: { object: unknown; request: IvpolRequest }): Promise<RuleResult[]> {
    // every policy at once, results in the policies' order
    const one = async (p: (typeof policies)[number]): Promise<{ result: RuleResult; ivpol: boolean } | undefined> => {
      if (p.format === 'kyverno') return undefined;
      const policy = p as ImageValidatingPolicy;
      if (policy.kind === 'NamespacedImageValidatingPolicy' && policy.metadata.namespace && namespace !== undefined && policy.metadata.namespace !== namespace) return undefined;
      const action: FailureAction = policy.spec.validationActions.includes('Deny') ? 'Enforce' : 'Audit';
      const head = { policy: policy.metadata.name, policyNamespace: policy.metadata.namespace, rule: policy.kind, action, failurePolicy: policy.spec.failurePolicy };
      if (policy.format === 'sigward') {
        const results = (await Promise.all(images.map((img) => evaluateNativeImage(policy, img, ctx, (ref) => resolve(ref, ctx), opts.defaultRegistry)))).filter((r): r is ImageResult => !!r);
        if (!results.length) return undefined;
        const worst = results.reduce<ResultStatus>((w, r) => (STATUS_RANK[r.status] > STATUS_RANK[w] ? r.status : w), 'skip');
        const failing = results.filter((r) => r.status === worst && (worst === 'fail' || worst === 'error'));
        return { result: { ...head, status: worst, message: (failing.length ? failing : results).map((r) => r.message).join('; '), images: results }, ivpol: false };
      }
      let r: IvpolResult | undefined;
      try {
        r = await evaluateImageValidatingPolicy({
          policy,
          ...(resource ? { object: resource.object, request: resource.request } : { images: images.map((i) => i.image) }),
          ctx,
          resolve: (ref) => resolve(ref, ctx),
          defaultRegistry: opts.defaultRegistry,
        });
      } catch (e) {
        r = { ...head, status: 'error', message: toSigwardError(e).message, images: [], verifications: new Map(), requiredImages: [] };
      }
      return r ? { result: r, ivpol: true } : undefined;
    };
    const done = (await Promise.all(policies.map(one))).filter((x): x is { result: RuleResult; ivpol: boolean } => !!x);
    const out = done.map((x) => x.result);
    const ivpols = done.filter((x) => x.ivpol).map((x) => x.result as IvpolResult);
    applyRequired(ivpols);
    // plain RuleResults (the `required` bookkeeping stays out of reports)
    return out.map((r) => {
      if (!ivpols.includes(r as IvpolResult)) return r;
      const { verifications: _v, requiredImages: _r, ...plain } = r as IvpolResult;
      ivpolResults.add(plain);
      return plain;
    });
  }

  return {
    totals,
    async evaluateResource(obj: unknown, req: RequestInfo = {}): Promise<Evaluation> {
      const started = Date.now();
      const ctx = newContext(req.signal);
      const info = toResourceInfo(obj, { operation: req.operation, userInfo: req.userInfo, namespaceLabels: req.namespaceLabels, ...(req.namespace && !toResourceInfo(obj).namespace ? { namespace: req.namespace } : {}) });
      const update = toUpdateContext(req.operation, obj, req.oldObject, req.oldRecord, opts.defaultRegistry);
      let imageCount = 0;
      // every rule, entry and image is verified at once (Kyverno goes rule by
      // rule); identical verifications share one promise through ctx.memo, and
      // the results keep the policies' order
      const pending: Promise<RuleResult | undefined>[] = [];
      for (const p of policies) {
        if (p.format !== 'kyverno') continue;
        const policy = p as KyvernoPolicy;
        if (policy.kind === 'Policy' && policy.metadata.namespace && policy.metadata.namespace !== info.namespace) continue;
        for (const rule of policy.spec.rules) {
          if (!rule.verifyImages.length) continue;
          if (!ruleSelects(rule.match, rule.exclude, info)) continue;
          let variables: Record<string, unknown>;
          try {
            const pre = checkPreconditions(rule, { object: obj, oldObject: req.oldObject, operation: req.operation, namespace: req.namespace, userInfo: req.userInfo }, now(), { configMaps });
            if (!pre.holds) continue;
            variables = pre.variables;
          } catch (e) {
            pending.push(Promise.resolve(ruleFailure(policy, rule, info.namespace, e)));
            continue;
          }
          let extracted: ExtractedImage[];
          try {
            extracted = getImages(obj, { kind: info.kind, imageExtractors: rule.imageExtractors as never, defaultRegistry: opts.defaultRegistry });
          } catch (e) {
            pending.push(Promise.resolve({ policy: policy.metadata.name, policyNamespace: policy.metadata.namespace, rule: rule.name, status: 'error', message: toSigwardError(e).message, action: policy.spec.validationFailureAction, failurePolicy: policy.spec.failurePolicy, images: [] }));
            continue;
          }
          imageCount = Math.max(imageCount, extracted.length);
          pending.push(
            Promise.all(rule.verifyImages.map((entry) => Promise.all(extracted.map((img) => evaluateEntry(policy, rule, entry, img, info.namespace, ctx, variables, update))))).then((perEntry) => {
              const results = perEntry.flat().filter((r): r is ImageResult => !!r);
              return results.length ? toRuleResult(policy, rule, results) : undefined;
            }),
          );
        }
      }
      const resourceImages = getImagesSafe(obj, info.kind);
      if (policies.some((p) => p.format !== 'kyverno')) imageCount = Math.max(imageCount, resourceImages.length);
      const others = otherPolicyResults(resourceImages, ctx, info.namespace, { object: obj, request: { operation: req.operation, namespace: info.namespace, userInfo: req.userInfo, namespaceLabels: req.namespaceLabels, oldObject: req.oldObject } });
      // one await for both, so a rejection of either always has a handler
      const [kyverno, other] = await Promise.all([Promise.all(pending), others]);
      const rules: RuleResult[] = [...kyverno.filter((r): r is RuleResult => !!r), ...other];
      return decide({ kind: info.kind, namespace: info.namespace, name: info.name }, rules, ctx, started, imageCount);
    },

    async evaluateImages(images: string[]): Promise<Evaluation[]> {
      const ctx = newContext();
      const out: Evaluation[] = [];
      await Promise.all(
        images.map(async (image, idx) => {
          const started = Date.now();
          const pending: Promise<RuleResult | undefined>[] = [];
          for (const p of policies) {
            if (p.format !== 'kyverno') continue;
            const policy = p as KyvernoPolicy;
            for (const rule of policy.spec.rules) {
              if (rule.autogen) continue; // autogen copies would verify the same image twice
              let variables: Record<string, unknown>;
              try {
                variables = loadRuleContext(rule, {}, { configMaps });
              } catch (e) {
                // only for rules that select this image: a context error is that rule's failure
                if (rule.verifyImages.some((entry) => entrySelectsImage(entry, image, opts.defaultRegistry))) pending.push(Promise.resolve(ruleFailure(policy, rule, undefined, e)));
                continue;
              }
              pending.push(
                Promise.all(rule.verifyImages.map((entry) => evaluateEntry(policy, rule, entry, { image }, undefined, ctx, variables))).then((rs) => {
                  const results = rs.filter((r): r is ImageResult => !!r);
                  return results.length ? toRuleResult(policy, rule, results) : undefined;
                }),
              );
            }
          }
          const [kyverno, other] = await Promise.all([Promise.all(pending), otherPolicyResults([{ image }], ctx)]);
          const rules: RuleResult[] = [...kyverno.filter((r): r is RuleResult => !!r), ...other];
          out[idx] = decide({ kind: 'Image', name: image }, rules, ctx, started, 1);
        }),
      );
      return out;
    },
  };
}

function getImagesSafe(obj: unknown, kind: string): { image: string; jsonPointer?: string; patchable?: boolean }[] {
  try {
    return getImages(obj, { kind }).map((i) => ({ image: i.image, jsonPointer: i.jsonPointer, patchable: i.patchable }));
  } catch {
    return [];
  }
}

