// The engine: policies x resource (or image) -> per rule, per image results,
// digest patches and the admission decision. Each policy kind has its
// evaluator (clusterpolicy.ts for Kyverno ClusterPolicy / Policy, ivpol.ts for
// ImageValidatingPolicy, imagepolicy.ts for sigward's ImagePolicy); this
// module runs them together under one memo and decides: a request is blocked
// when a rule fails under Enforce, or errors (registry unreachable) under
// failurePolicy Fail.

import { SigwardError, toSigwardError } from '../errors.ts';
import type { ImageReference } from '../reference/types.ts';
import type { OciStore, RepositoryRef } from '../oci/types.ts';
import type { EntryRegistryAccess } from '../oci/index.ts';
import { resolveDigest } from '../cosign/image.ts';
import type { Trust } from '../trust/index.ts';
import { createFileConfigMapResolver, expandAutogen, getPullSecretFiles } from '../policy/index.ts';
import type { ImageRegistryCredentials, Policy, SecretResolver } from '../policy/types.ts';
import type { ExtractedImage } from '../admission/images.ts';
import type { JsonPatchOp } from '../admission/types.ts';
import type { SharedWork } from '../abort.ts';
import { formatBlockedMessage } from '../admission/messages.ts';
import { type ResourceSelection, selectResource } from './selection.ts';
import { memo, type ResultCache, type VerifyContext } from './verify-image.ts';
import { evaluateNativeImage } from './imagepolicy.ts';
import { applyRequired, evaluateImageValidatingPolicy, type IvpolRequest, type IvpolResult } from './ivpol.ts';
import { toUpdateContext } from './update.ts';
import {
  type ClusterPolicyEnv,
  clusterPolicyImageResults,
  clusterPolicyResourceResults,
  STATUS_RANK,
} from './clusterpolicy.ts';
import type { ImageValidatingPolicy } from '../policy/types.ts';

export type { Evaluation, EvaluationStats, ImageResult, RequestInfo, ResultStatus, RuleResult } from './result.ts';
import {
  type Evaluation,
  type ImageResult,
  type RequestInfo,
  type ResultStatus,
  type RuleResult,
  toRuleHead,
} from './result.ts';

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
  /**
   * Stores with a policy entry's own registry access (imageRegistryCredentials,
   * ImageValidatingPolicy credentials). Without it such an entry fails: its
   * credentials are never silently dropped.
   */
  storesFor?: (access: EntryRegistryAccess) => RepositoryStores;
}

type RepositoryStores = (repo: RepositoryRef) => OciStore;

export interface Engine {
  /** the policies it evaluates, autogen rules added */
  readonly policies: readonly Policy[];
  /** the rules and policies that apply to an object, with its images: computed once per request */
  selectResource(obj: unknown, req?: RequestInfo): ResourceSelection;
  /** evaluates an object; `selection` is selectResource's for the same object and request (computed when absent) */
  evaluateResource(obj: unknown, req?: RequestInfo, selection?: ResourceSelection): Promise<Evaluation>;
  evaluateImages(images: string[]): Promise<Evaluation[]>;
  /** verification counters since the engine was created */
  readonly totals: VerifyContext['stats'];
}

/**
 * The context for an entry with its own registry access: its stores and a
 * memo of its own (a failure without those credentials must not be reused).
 * Throws CONFIG_INVALID when the front end cannot open such stores.
 */
function withRegistryAccess(
  ctx: VerifyContext,
  creds: ImageRegistryCredentials | undefined,
  storesFor: EngineOptions['storesFor'],
): VerifyContext {
  if (!creds || (!creds.secrets.length && !creds.allowInsecureRegistry)) return ctx;
  if (!storesFor) {
    throw new SigwardError(
      'CONFIG_INVALID',
      'imageRegistryCredentials cannot be used here: this sigward front end opens no stores with other credentials',
    );
  }
  return {
    ...ctx,
    stores: storesFor({
      secretFiles: getPullSecretFiles(creds.secrets),
      allowInsecureRegistry: creds.allowInsecureRegistry,
    }),
    memo: new Map(),
  };
}

export function createEngine(opts: EngineOptions): Engine {
  const policies = opts.policies.map((p) => expandAutogen(p));
  const otherFormats = policies.filter((p) => p.format !== 'kyverno');
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

  const configMaps = opts.configMaps ?? createFileConfigMapResolver();
  const env: ClusterPolicyEnv = {
    defaultRegistry: opts.defaultRegistry,
    now,
    configMaps,
    resolve,
    withRegistryAccess: (ctx, creds) => withRegistryAccess(ctx, creds, opts.storesFor),
  };

  function decide(
    resource: Evaluation['resource'],
    rules: RuleResult[],
    ctx: VerifyContext,
    started: number,
    imageCount: number,
  ): Evaluation {
    const anyFail = rules.some((r) => r.failurePolicy === 'Fail');
    // an ImageValidatingPolicy's failurePolicy is its own (Kyverno registers a webhook per failurePolicy)
    const blocking = rules.filter((r) =>
      (r.status === 'fail' && r.action === 'Enforce') ||
      (r.status === 'error' && (ivpolResults.has(r) ? r.failurePolicy === 'Fail' : anyFail))
    );
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
    const ivpolMessages = blocking.filter((r) => ivpolResults.has(r)).map((r) =>
      `Policy ${r.policy} ${r.status === 'error' ? 'error' : 'failed'}: ${r.message}`
    );
    const blockedMessage = [
      ...(kyvernoBlocking.length
        ? [
          formatBlockedMessage(
            resource,
            kyvernoBlocking.map((r) => ({ policy: r.policy, rule: r.rule, message: r.message, status: r.status })),
          ),
        ]
        : []),
      ...ivpolMessages,
    ].join('; ');
    const patches = rules.flatMap((r) => r.images.map((i) => i.patch).filter((p): p is JsonPatchOp => !!p));
    const seen = new Set<string>();
    const uniquePatches = patches.filter((p) => (seen.has(p.path) ? false : (seen.add(p.path), true)));
    // distinct digests are tracked for batch runs only (a long-lived engine would grow without bound)
    if (opts.shareMemo) { for (const d of ctx.stats.digests) totals.digests.add(d); }
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
  async function otherPolicyResults(
    candidates: readonly Policy[],
    images: readonly { image: string; jsonPointer?: string; patchable?: boolean }[],
    baseCtx: VerifyContext,
    resource?: { object: unknown; request: IvpolRequest; images: readonly ExtractedImage[] },
  ): Promise<RuleResult[]> {
    // every policy at once, results in the policies' order
    const one = async (p: (typeof policies)[number]): Promise<{ result: RuleResult; ivpol: boolean } | undefined> => {
      if (p.format === 'kyverno') return undefined;
      const policy = p as ImageValidatingPolicy;
      const head = toRuleHead(policy);
      let ctx: VerifyContext;
      try {
        ctx = withRegistryAccess(baseCtx, policy.spec.credentials, opts.storesFor);
      } catch (e) {
        const failed = { ...head, status: 'fail' as const, message: toSigwardError(e).message, images: [] };
        return policy.format === 'sigward'
          ? { result: failed, ivpol: false }
          : { result: { ...failed, verifications: new Map(), requiredImages: [] } as IvpolResult, ivpol: true };
      }
      if (policy.format === 'sigward') {
        const results = (await Promise.all(images.map((img) =>
          evaluateNativeImage(policy, img, ctx, (ref) =>
            resolve(ref, ctx), opts.defaultRegistry)
        ))).filter((r): r is ImageResult =>
          !!r
        );
        if (!results.length) return undefined;
        const worst = results.reduce<ResultStatus>(
          (w, r) => (STATUS_RANK[r.status] > STATUS_RANK[w] ? r.status : w),
          'skip',
        );
        const failing = results.filter((r) => r.status === worst && (worst === 'fail' || worst === 'error'));
        return {
          result: {
            ...head,
            status: worst,
            message: (failing.length ? failing : results).map((r) => r.message).join('; '),
            images: results,
          },
          ivpol: false,
        };
      }
      let r: IvpolResult | undefined;
      try {
        r = await evaluateImageValidatingPolicy({
          policy,
          ...(resource
            ? { object: resource.object, request: resource.request, extracted: resource.images }
            : { images: images.map((i) => i.image) }),
          ctx,
          resolve: (ref) => resolve(ref, ctx),
          defaultRegistry: opts.defaultRegistry,
        });
      } catch (e) {
        r = {
          ...head,
          status: 'error',
          message: toSigwardError(e).message,
          images: [],
          verifications: new Map(),
          requiredImages: [],
        };
      }
      return r ? { result: r, ivpol: true } : undefined;
    };
    const done = (await Promise.all(candidates.map(one))).filter((x): x is { result: RuleResult; ivpol: boolean } =>
      !!x
    );
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

  function select(obj: unknown, req: RequestInfo = {}): ResourceSelection {
    return selectResource(policies, obj, req, { now: now(), configMaps, defaultRegistry: opts.defaultRegistry });
  }

  return {
    totals,
    policies,

    selectResource: select,

    async evaluateResource(obj: unknown, req: RequestInfo = {}, selection?: ResourceSelection): Promise<Evaluation> {
      const started = Date.now();
      const ctx = newContext(req.signal);
      const sel = selection ?? select(obj, req);
      const { info } = sel;
      const update = toUpdateContext(req.operation, obj, req.oldObject, req.oldRecord, opts.defaultRegistry);
      const pending = clusterPolicyResourceResults(env, sel, ctx, update);
      const others = otherPolicyResults(sel.otherPolicies, sel.resourceImages, ctx, {
        object: obj,
        request: {
          operation: req.operation,
          namespace: info.namespace,
          userInfo: req.userInfo,
          namespaceLabels: req.namespaceLabels,
          oldObject: req.oldObject,
        },
        images: sel.resourceImages,
      });
      // one await for both, so a rejection of either always has a handler
      const [kyverno, other] = await Promise.all([Promise.all(pending), others]);
      const rules: RuleResult[] = [...kyverno.filter((r): r is RuleResult => !!r), ...other];
      return decide(
        { kind: info.kind, namespace: info.namespace, name: info.name },
        rules,
        ctx,
        started,
        sel.imageCount,
      );
    },

    async evaluateImages(images: string[]): Promise<Evaluation[]> {
      const ctx = newContext();
      const out: Evaluation[] = [];
      await Promise.all(
        images.map(async (image, idx) => {
          const started = Date.now();
          const pending = clusterPolicyImageResults(env, policies, image, ctx);
          const [kyverno, other] = await Promise.all([
            Promise.all(pending),
            otherPolicyResults(otherFormats, [{ image }], ctx),
          ]);
          const rules: RuleResult[] = [...kyverno.filter((r): r is RuleResult => !!r), ...other];
          out[idx] = decide({ kind: 'Image', name: image }, rules, ctx, started, 1);
        }),
      );
      return out;
    },
  };
}
