// The Kyverno ClusterPolicy / Policy evaluator: for the rules and images the
// engine's selection took (selection.ts: match/exclude, images from the pod
// spec of every controller kind or imageExtractors, context and
// preconditions, autogen applied), per image and
// verifyImages entry: imageReferences / skipImageReferences, tag -> digest
// once, attestors, attestations, mutateDigest, verifyDigest. Its results are
// the engine's result types (result.ts); lib/engine/evaluate.ts decides.

import { toSigwardError } from '../errors.ts';
import { matchesAnyPattern, parseImageFromPodSpec, toKyvernoMatchString } from '../reference/index.ts';
import type { ImageReference } from '../reference/types.ts';
import type {
  FailureAction,
  ImageRegistryCredentials,
  KyvernoPolicy,
  KyvernoRule,
  Policy,
  SecretResolver,
  VerifyImagesEntry,
} from '../policy/types.ts';
import { digestPatch, scopedPolicyKey, VERIFY_IMAGES_ANNOTATION } from '../admission/patch.ts';
import type { JsonPatchOp } from '../admission/types.ts';
import {
  formatMissingDigestMessage,
  formatSkipImageMessage,
  formatVerifiedMessage,
  formatVerifyFailedMessage,
} from '../admission/messages.ts';
import { tryKyvernoReference } from '../admission/imageinfo.ts';
import { matchesPattern } from '../wildcard.ts';
import { getFailureAction } from './failure-action.ts';
import { entrySelectsImage } from './image-selection.ts';
import { loadRuleContext } from './rule-context.ts';
import { type VerifyContext, verifyImageEntry } from './verify-image.ts';
import type { UpdateContext } from './update.ts';
import type { ImageResult, ResultStatus, RuleResult } from './result.ts';
import type { ResourceSelection } from './selection.ts';

/** What the evaluator needs from the engine that runs it. */
export interface ClusterPolicyEnv {
  defaultRegistry?: string;
  now: () => Date;
  configMaps: SecretResolver;
  /** tag -> digest, memoised by the engine */
  resolve: (ref: ImageReference, ctx: VerifyContext) => Promise<string>;
  /** the context for an entry's own imageRegistryCredentials (throws when they cannot be used) */
  withRegistryAccess: (ctx: VerifyContext, creds: ImageRegistryCredentials | undefined) => VerifyContext;
}

export const STATUS_RANK: Record<ResultStatus, number> = { error: 3, fail: 2, pass: 1, skip: 0 };

export async function evaluateEntry(
  env: ClusterPolicyEnv,
  policy: KyvernoPolicy,
  rule: KyvernoRule,
  entry: VerifyImagesEntry,
  img: { image: string; jsonPointer?: string; patchable?: boolean },
  ns: string | undefined,
  ctx: VerifyContext,
  variables: Record<string, unknown>,
  update?: UpdateContext,
): Promise<ImageResult | undefined> {
  const action = getFailureAction(policy, entry, ns);
  const base = {
    policy: policy.metadata.name,
    policyNamespace: policy.metadata.namespace,
    rule: rule.name,
    image: img.image,
    jsonPointer: img.jsonPointer,
    action,
    failurePolicy: policy.spec.failurePolicy,
    required: entry.required,
  };
  let ref: ImageReference;
  try {
    ref = parseImageFromPodSpec(img.image, { defaultRegistry: env.defaultRegistry });
  } catch (e) {
    // sigward cannot parse or verify this image. It never vanishes: Kyverno's own
    // parser (every digest go-digest takes, e.g. sha384) decides whether the entry
    // matches, and an image Kyverno cannot parse either fails the rule as in
    // Kyverno ("failed to extract images").
    const failed: ImageResult = {
      ...base,
      status: 'fail',
      message: formatVerifyFailedMessage(img.image, toSigwardError(e).message),
      code: 'REFERENCE_INVALID',
    };
    const kyverno = tryKyvernoReference(img.image, { defaultRegistry: env.defaultRegistry });
    if (kyverno === undefined) return failed;
    if (!entry.imageReferences.some((p) => matchesPattern(p, kyverno))) return undefined;
    if (entry.skipImageReferences.some((p) => matchesPattern(p, kyverno))) {
      return {
        ...base,
        reference: kyverno,
        status: 'skip',
        message: formatSkipImageMessage(img.image, policy.metadata.name, rule.name),
      };
    }
    return { ...failed, reference: kyverno };
  }
  if (!entrySelectsImage(entry, img.image, env.defaultRegistry)) return undefined;
  const reference = toKyvernoMatchString(ref);
  if (entry.skipImageReferences.length && matchesAnyPattern(entry.skipImageReferences, ref)) {
    return {
      ...base,
      reference,
      status: 'skip',
      message: formatSkipImageMessage(img.image, policy.metadata.name, rule.name),
    };
  }
  if (update?.annotationChanged) {
    return {
      ...base,
      reference,
      status: 'fail',
      message: `${VERIFY_IMAGES_ANNOTATION} annotation cannot be changed`,
      code: 'ANNOTATION_MISMATCH',
    };
  }
  if (
    update && img.jsonPointer &&
    update.isVerifiedUnchanged(
      img.jsonPointer,
      img.image,
      scopedPolicyKey(policy.metadata.namespace, policy.metadata.name),
      rule.name,
    )
  ) {
    return {
      ...base,
      reference,
      ...(ref.digest ? { digest: ref.digest } : {}),
      status: 'pass',
      message:
        `image ${img.image} is unchanged by this update and recorded as verified in the stored object: not verified again`,
    };
  }
  if (entry.unsupported) {
    return {
      ...base,
      reference,
      status: 'fail',
      message: formatVerifyFailedMessage(img.image, entry.unsupported),
      code: 'NOT_IMPLEMENTED',
    };
  }
  let digest: string;
  try {
    ctx = env.withRegistryAccess(ctx, entry.imageRegistryCredentials);
    digest = await env.resolve(ref, ctx);
  } catch (e) {
    const err = toSigwardError(e);
    const status: ResultStatus = err.code === 'REGISTRY_UNREACHABLE' ? 'error' : 'fail';
    return { ...base, reference, status, message: formatVerifyFailedMessage(img.image, err.message), code: err.code };
  }
  const outcome = await verifyImageEntry(
    ref,
    digest,
    entry,
    entry.useCache ? ctx : { ...ctx, cache: undefined },
    img.image,
    variables,
  );
  if (!outcome.verified) {
    const status: ResultStatus = outcome.undecided ? 'error' : 'fail';
    return {
      ...base,
      reference,
      digest,
      status,
      message: formatVerifyFailedMessage(img.image, outcome.message ?? 'verification failed'),
      code: outcome.undecided?.code ?? outcome.code,
    };
  }
  let patch: JsonPatchOp | undefined;
  if (entry.mutateDigest && !ref.digest && img.jsonPointer && img.patchable !== false) {
    patch = digestPatch(img.image, img.jsonPointer, digest, { defaultRegistry: env.defaultRegistry });
  }
  // verifyDigest concerns an image field of a resource; a bare image reference
  // (check --image) is reported with the digest that was verified
  if (entry.verifyDigest && !ref.digest && !patch && img.jsonPointer) {
    return {
      ...base,
      reference,
      digest,
      status: 'fail',
      message: formatMissingDigestMessage(img.image),
      code: 'MANIFEST_DIGEST_MISMATCH',
    };
  }
  return { ...base, reference, digest, status: 'pass', message: formatVerifiedMessage(img.image), patch };
}

/** A rule that could not be evaluated (its context or preconditions): it fails, it is never skipped. */
export function ruleFailure(
  policy: KyvernoPolicy,
  rule: KyvernoRule,
  namespace: string | undefined,
  message: string,
): RuleResult {
  const action = getFailureAction(policy, rule.verifyImages[0]!, namespace);
  return {
    policy: policy.metadata.name,
    policyNamespace: policy.metadata.namespace,
    rule: rule.name,
    status: 'fail',
    message,
    action,
    failurePolicy: policy.spec.failurePolicy,
    images: [],
  };
}

export function toRuleResult(policy: KyvernoPolicy, rule: KyvernoRule, images: ImageResult[]): RuleResult {
  const worst = images.reduce<ResultStatus>(
    (w, r) => (STATUS_RANK[r.status] > STATUS_RANK[w] ? r.status : w),
    images.length ? 'skip' : 'pass',
  );
  const failing = images.filter((r) => r.status === worst && (worst === 'fail' || worst === 'error'));
  const action: FailureAction = failing.some((r) => r.action === 'Enforce')
    ? 'Enforce'
    : images[0]?.action ?? policy.spec.validationFailureAction;
  const message = failing.length
    ? [...new Set(failing.map((r) => r.message))].join('; ')
    : images.map((r) => r.message).join('; ');
  return {
    policy: policy.metadata.name,
    policyNamespace: policy.metadata.namespace,
    rule: rule.name,
    status: worst,
    message,
    action,
    failurePolicy: policy.spec.failurePolicy,
    images,
  };
}

/**
 * The ClusterPolicy / Policy rules the selection took for a resource: every
 * rule, entry and image at once (Kyverno goes rule by rule); identical
 * verifications share one promise through ctx.memo, and the results keep the
 * policies' order.
 */
export function clusterPolicyResourceResults(
  env: ClusterPolicyEnv,
  selection: ResourceSelection,
  ctx: VerifyContext,
  update: UpdateContext | undefined,
): Promise<RuleResult | undefined>[] {
  const ns = selection.info.namespace;
  return selection.rules.map(({ policy, rule, images, variables, failure }) => {
    if (failure?.status === 'fail') return Promise.resolve(ruleFailure(policy, rule, ns, failure.message));
    if (failure) {
      return Promise.resolve({
        policy: policy.metadata.name,
        policyNamespace: policy.metadata.namespace,
        rule: rule.name,
        status: failure.status,
        message: failure.message,
        action: policy.spec.validationFailureAction,
        failurePolicy: policy.spec.failurePolicy,
        images: [],
      });
    }
    return Promise.all(
      rule.verifyImages.map((entry) =>
        Promise.all(images.map((img) => evaluateEntry(env, policy, rule, entry, img, ns, ctx, variables, update)))
      ),
    ).then((perEntry) => {
      const results = perEntry.flat().filter((r): r is ImageResult => !!r);
      return results.length ? toRuleResult(policy, rule, results) : undefined;
    });
  });
}

/** The ClusterPolicy / Policy rules for one image reference (no resource: no match, no preconditions). */
export function clusterPolicyImageResults(
  env: ClusterPolicyEnv,
  policies: readonly Policy[],
  image: string,
  ctx: VerifyContext,
): Promise<RuleResult | undefined>[] {
  const pending: Promise<RuleResult | undefined>[] = [];
  for (const p of policies) {
    if (p.format !== 'kyverno') continue;
    const policy = p as KyvernoPolicy;
    for (const rule of policy.spec.rules) {
      if (rule.autogen) continue; // autogen copies would verify the same image twice
      let variables: Record<string, unknown>;
      try {
        variables = loadRuleContext(rule, {}, { configMaps: env.configMaps });
      } catch (e) {
        // only for rules that select this image: a context error is that rule's failure
        if (rule.verifyImages.some((entry) => entrySelectsImage(entry, image, env.defaultRegistry))) {
          pending.push(Promise.resolve(ruleFailure(policy, rule, undefined, toSigwardError(e).message)));
        }
        continue;
      }
      pending.push(
        Promise.all(
          rule.verifyImages.map((entry) =>
            evaluateEntry(env, policy, rule, entry, { image }, undefined, ctx, variables)
          ),
        ).then((rs) => {
          const results = rs.filter((r): r is ImageResult => !!r);
          return results.length ? toRuleResult(policy, rule, results) : undefined;
        }),
      );
    }
  }
  return pending;
}
