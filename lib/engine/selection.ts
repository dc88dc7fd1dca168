// Which rules and policies apply to an admitted object, and with which of its
// images: computed once per request by the engine, read by its evaluators and
// by the webhook (deadline, failurePolicy, registry slots, the validate
// phase), so nothing selects or extracts twice. A Kyverno rule is taken in
// Kyverno's order: match/exclude (and a Policy's namespace), then the images
// of the object its verifyImages entries select (an extraction error is the
// rule's error; no selected image: the rule does not apply), then its context
// and preconditions (an error fails the rule; not met: it does not apply).

import { toSigwardError } from '../errors.ts';
import { type ExtractedImage, getImages } from '../admission/images.ts';
import type { ImageValidatingPolicy, KyvernoPolicy, KyvernoRule, Policy, SecretResolver } from '../policy/types.ts';
import { type ResourceInfo, ruleSelects, toResourceInfo } from './match.ts';
import { entrySelectsImage } from './image-selection.ts';
import { checkPreconditions } from './rule-context.ts';
import type { RequestInfo } from './result.ts';

export interface SelectedRule {
  policy: KyvernoPolicy;
  rule: KyvernoRule;
  /** the object's images (as the rule extracts them) that some verifyImages entry of the rule selects */
  images: ExtractedImage[];
  /** the rule's context and request variables, when its preconditions held */
  variables: Record<string, unknown>;
  /** why the rule cannot be evaluated: images not extracted ('error') or context/preconditions failed ('fail') */
  failure?: { status: 'fail' | 'error'; message: string };
}

export interface ResourceSelection {
  /** the object as the rules match it (the request's namespace when the object has none) */
  info: ResourceInfo;
  rules: SelectedRule[];
  /** ImageValidatingPolicies and ImagePolicies that may apply (the object has images, or the policy names its own) */
  otherPolicies: Policy[];
  /** the object's images by the built-in extraction, for the other policy formats */
  resourceImages: ExtractedImage[];
  /** registry hosts of the selected images, lowercased: where the evaluation will go (the webhook's slot keys) */
  registries: string[];
  /** the most images any applying rule or policy extracted */
  imageCount: number;
}

export interface SelectionEnv {
  now: Date;
  configMaps: SecretResolver;
  defaultRegistry?: string;
}

/** The object as the rules match it: the request's namespace when the object has none. */
export function toRequestResourceInfo(obj: unknown, req: RequestInfo): ResourceInfo {
  const own = toResourceInfo(obj);
  return {
    ...own,
    operation: req.operation,
    userInfo: req.userInfo,
    namespaceLabels: req.namespaceLabels,
    ...(req.namespace && !own.namespace ? { namespace: req.namespace } : {}),
  };
}

/**
 * The selection of `policies` (autogen already expanded) for `obj`. Never
 * throws: what cannot be decided here is a failed rule, which the engine
 * reports.
 */
export function selectResource(
  policies: readonly Policy[],
  obj: unknown,
  req: RequestInfo,
  env: SelectionEnv,
): ResourceSelection {
  const info = toRequestResourceInfo(obj, req);
  const imgOpts = env.defaultRegistry ? { defaultRegistry: env.defaultRegistry } : {};
  // the built-in extraction is the same for every rule without imageExtractors for this kind
  let builtIn: { images: ExtractedImage[] } | { error: unknown } | undefined;
  const extract = (rule?: KyvernoRule): { images: ExtractedImage[] } | { error: unknown } => {
    const own = rule?.imageExtractors && Object.hasOwn(rule.imageExtractors, info.kind);
    if (!own && builtIn) return builtIn;
    let out: { images: ExtractedImage[] } | { error: unknown };
    try {
      out = {
        images: getImages(obj, {
          kind: info.kind,
          ...(own ? { imageExtractors: rule!.imageExtractors as never } : {}),
          ...imgOpts,
        }),
      };
    } catch (e) {
      out = { error: e };
    }
    if (!own) builtIn = out;
    return out;
  };

  const rules: SelectedRule[] = [];
  const otherPolicies: Policy[] = [];
  const registries = new Set<string>();
  const addRegistries = (images: readonly ExtractedImage[]) => {
    for (const img of images) if (img.info.registry) registries.add(img.info.registry.toLowerCase());
  };
  let imageCount = 0;
  let resourceImages: ExtractedImage[] | undefined;
  for (const p of policies) {
    if (p.format !== 'kyverno') {
      const other = p as ImageValidatingPolicy;
      if (
        other.kind === 'NamespacedImageValidatingPolicy' && other.metadata.namespace &&
        info.namespace !== undefined && other.metadata.namespace !== info.namespace
      ) continue;
      if (resourceImages === undefined) {
        const got = extract();
        resourceImages = 'images' in got ? got.images : [];
        addRegistries(resourceImages);
      }
      // an ImageValidatingPolicy may name images of its own (spec.images CEL expressions)
      if (resourceImages.length || other.spec.images?.length) {
        otherPolicies.push(p);
        imageCount = Math.max(imageCount, resourceImages.length);
      }
      continue;
    }
    const policy = p as KyvernoPolicy;
    if (policy.kind === 'Policy' && policy.metadata.namespace && policy.metadata.namespace !== info.namespace) continue;
    for (const rule of policy.spec.rules) {
      if (!rule.verifyImages.length) continue;
      if (!ruleSelects(rule.match, rule.exclude, info)) continue;
      const got = extract(rule);
      if ('error' in got) {
        rules.push({
          policy,
          rule,
          images: [],
          variables: {},
          failure: { status: 'error', message: toSigwardError(got.error).message },
        });
        continue;
      }
      const images = got.images.filter((img) =>
        rule.verifyImages.some((e) => entrySelectsImage(e, img.image, env.defaultRegistry))
      );
      if (!images.length) continue;
      let variables: Record<string, unknown>;
      try {
        const pre = checkPreconditions(
          rule,
          {
            object: obj,
            oldObject: req.oldObject,
            operation: req.operation,
            namespace: req.namespace,
            userInfo: req.userInfo,
          },
          env.now,
          { configMaps: env.configMaps },
        );
        if (!pre.holds) continue;
        variables = pre.variables;
      } catch (e) {
        const failure = { status: 'fail' as const, message: toSigwardError(e).message };
        rules.push({ policy, rule, images, variables: {}, failure });
        addRegistries(images);
        continue;
      }
      imageCount = Math.max(imageCount, got.images.length);
      addRegistries(images);
      rules.push({ policy, rule, images, variables });
    }
  }
  return {
    info,
    rules,
    otherPolicies,
    resourceImages: resourceImages ?? [],
    registries: [...registries].sort(),
    imageCount,
  };
}
