// Which verifyImages rules of a policy set apply to an admitted object, as the
// engine selects them (autogen-expanded rules, Policy namespace, match/exclude,
// preconditions). The webhook uses it before evaluating: to answer objects no
// rule applies to without touching the engine, to derive the request deadline
// (the policies' webhook timeout) and the failurePolicy for deadline or
// overload answers, and in the validate phase (required / verifyDigest).

import { checkPreconditions } from '../engine/rule-context.ts';
import { entrySelectsImage } from '../engine/image-selection.ts';
import { createFileConfigMapResolver } from '../policy/index.ts';
import { getSelectorKeys, NAMESPACE_NAME_LABEL, ruleSelects, toResourceInfo } from '../engine/match.ts';
import { getImages } from '../admission/images.ts';
import { parseImageFromPodSpec } from '../reference/index.ts';
import type { FailurePolicy, KyvernoPolicy, KyvernoRule, Policy, VerifyImagesEntry } from '../policy/types.ts';

export interface SelectedRule {
  policy: KyvernoPolicy;
  rule: KyvernoRule;
}

export interface Selection {
  rules: SelectedRule[];
  /** policies the engine cannot evaluate (ivpol, ImagePolicy) that apply because the object has images */
  otherPolicies: Policy[];
  /** registry hosts of the images these rules and policies select: what the evaluation will ask (the semaphore's keys) */
  registries: string[];
}

export interface SelectRequest {
  operation?: string;
  /** request.namespace (objects created with generateName may lack metadata.namespace) */
  namespace?: string;
  userInfo?: { username?: string; groups?: string[] };
  /** labels of the namespace, for namespaceSelector (see getNamespaceLabels) */
  namespaceLabels?: Record<string, string>;
}

/**
 * What sigward knows of a namespace's labels without API access: the
 * `kubernetes.io/metadata.name` label Kubernetes sets on every namespace.
 */
export function getNamespaceLabels(namespace: string | undefined): Record<string, string> {
  return namespace ? { [NAMESPACE_NAME_LABEL]: namespace } : {};
}

/**
 * Selectors sigward cannot evaluate without API access, as readable notes:
 * namespaceSelector keys other than kubernetes.io/metadata.name, and roles /
 * clusterRoles (such rules never match here).
 */
export function getUnsupportedSelectors(policies: readonly Policy[]): string[] {
  const notes: string[] = [];
  for (const p of policies) {
    if (p.format !== 'kyverno') continue;
    for (const [i, o] of ((p as KyvernoPolicy).spec.validationFailureActionOverrides ?? []).entries()) {
      const keys = o.namespaceSelector
        ? getSelectorKeys(o.namespaceSelector).filter((k) => k !== NAMESPACE_NAME_LABEL)
        : [];
      if (keys.length) {
        const effect = o.action === 'Enforce'
          ? 'applied to every namespace it names (the stricter action)'
          : 'never applied (fails closed)';
        notes.push(
          `${p.metadata.name}: validationFailureActionOverrides[${i}] namespaceSelector on ${
            keys.join(', ')
          } cannot be evaluated (only ${NAMESPACE_NAME_LABEL} is known to sigward): this ${o.action} override is ${effect}`,
        );
      }
    }
    for (const rule of (p as KyvernoPolicy).spec.rules) {
      if (!rule.verifyImages.length) continue;
      for (const [block, m] of [['match', rule.match], ['exclude', rule.exclude]] as const) {
        if (!m) continue;
        const filters = [...(m.any ?? []), ...(m.all ?? []), {
          resources: m.resources,
          roles: m.roles,
          clusterRoles: m.clusterRoles,
        }];
        for (const f of filters) {
          const ns = f.resources?.namespaceSelector;
          const keys = [...Object.keys(ns?.matchLabels ?? {}), ...(ns?.matchExpressions ?? []).map((e) => e.key)]
            .filter((k) => k !== NAMESPACE_NAME_LABEL);
          if (keys.length) {
            notes.push(
              `${p.metadata.name}/${rule.name}: ${block} namespaceSelector on ${
                keys.join(', ')
              } (only ${NAMESPACE_NAME_LABEL} is known to sigward)`,
            );
          }
          if (f.roles?.length || f.clusterRoles?.length) {
            notes.push(`${p.metadata.name}/${rule.name}: ${block} by roles/clusterRoles (not known to sigward)`);
          }
        }
      }
    }
  }
  return [...new Set(notes)];
}

/** ConfigMaps for rule context, from $SIGWARD_CONFIGMAPS_DIR as it is when one is read (not on every rule selected). */
const readConfigMap: ReturnType<typeof createFileConfigMapResolver> = (namespace, name) =>
  createFileConfigMapResolver()(namespace, name);

/** The engine's preconditions (lib/engine/rule-context.ts); one that cannot be evaluated here is left to the engine, which fails the rule. */
function preconditionsHold(rule: KyvernoRule, obj: unknown, req: SelectRequest, now: Date): boolean {
  try {
    return checkPreconditions(
      rule,
      { object: obj, operation: req.operation, namespace: req.namespace, userInfo: req.userInfo },
      now,
      { configMaps: readConfigMap },
    ).holds;
  } catch {
    return true;
  }
}

function imagesOf(obj: unknown, kind: string, defaultRegistry?: string): string[] {
  try {
    return getImages(obj, { kind, ...(defaultRegistry ? { defaultRegistry } : {}) }).map((i) => i.image);
  } catch {
    return [];
  }
}

/** The registry host an image is pulled from, lowercased ('' when it does not parse). */
function registryOf(image: string, defaultRegistry?: string): string {
  try {
    return parseImageFromPodSpec(image, { defaultRegistry }).registry.toLowerCase();
  } catch {
    return '';
  }
}

/**
 * Whether some verifyImages entry of the rule selects an image of the object
 * (images extracted with the rule's imageExtractors; `seen` caches the
 * built-in extraction). An extraction error counts as concerned: the engine
 * reports it.
 */
function ruleConcernsImages(
  rule: KyvernoRule,
  obj: unknown,
  kind: string,
  seen: Map<string, string[] | undefined>,
  registries: Set<string>,
  defaultRegistry?: string,
): boolean {
  const cacheKey = rule.imageExtractors && Object.hasOwn(rule.imageExtractors, kind) ? undefined : '';
  let list = cacheKey !== undefined ? seen.get(cacheKey) : undefined;
  if (list === undefined) {
    try {
      list = getImages(obj, {
        kind,
        imageExtractors: rule.imageExtractors as never,
        ...(defaultRegistry ? { defaultRegistry } : {}),
      }).map((i) => i.image);
    } catch {
      return true;
    }
    if (cacheKey !== undefined) seen.set(cacheKey, list);
  }
  let concerned = false;
  for (const img of list) {
    if (!rule.verifyImages.some((e) => entrySelectsImage(e, img, defaultRegistry))) continue;
    concerned = true;
    const r = registryOf(img, defaultRegistry);
    if (r) registries.add(r);
  }
  return concerned;
}

/**
 * The rules of `policies` (already autogen-expanded) that apply to `obj` and
 * whose imageReferences select at least one of its images. Rules without
 * verifyImages are ignored: sigward evaluates nothing else.
 */
export function selectRules(
  policies: readonly Policy[],
  obj: unknown,
  req: SelectRequest = {},
  now = new Date(),
  defaultRegistry?: string,
): Selection {
  const objInfo = toResourceInfo(obj);
  const info = toResourceInfo(obj, {
    operation: req.operation,
    userInfo: req.userInfo,
    namespaceLabels: req.namespaceLabels,
    ...(req.namespace && !objInfo.namespace ? { namespace: req.namespace } : {}),
  });
  const rules: SelectedRule[] = [];
  const otherPolicies: Policy[] = [];
  const registries = new Set<string>();
  let images: string[] | undefined;
  const extracted = new Map<string, string[] | undefined>();
  for (const p of policies) {
    if (p.format !== 'kyverno') {
      if (images === undefined) {
        images = imagesOf(obj, info.kind, defaultRegistry);
        for (const img of images) {
          const r = registryOf(img, defaultRegistry);
          if (r) registries.add(r);
        }
      }
      if (images.length) otherPolicies.push(p);
      continue;
    }
    const policy = p as KyvernoPolicy;
    if (policy.kind === 'Policy' && policy.metadata.namespace && policy.metadata.namespace !== info.namespace) continue;
    for (const rule of policy.spec.rules) {
      if (!rule.verifyImages.length) continue;
      if (!ruleSelects(rule.match, rule.exclude, info)) continue;
      if (!preconditionsHold(rule, obj, req, now)) continue;
      if (!ruleConcernsImages(rule, obj, info.kind, extracted, registries, defaultRegistry)) continue;
      rules.push({ policy, rule });
    }
  }
  return { rules, otherPolicies, registries: [...registries].sort() };
}

/** Seconds the API server waits: the smallest webhook timeout among the applying policies (default when unset). */
export function getSelectionTimeoutSeconds(sel: Selection, defaultSeconds: number): number {
  const all = [
    ...sel.rules.map((r) => r.policy.spec.timeoutSeconds),
    ...sel.otherPolicies.map((p) => p.spec.timeoutSeconds),
  ];
  const given = all.map((s) => s ?? defaultSeconds).filter((s) => Number.isFinite(s) && s > 0);
  return given.length ? Math.min(...given) : defaultSeconds;
}

/** Kyverno aggregates failurePolicy: Fail if any applying policy says Fail. */
export function getSelectionFailurePolicy(sel: Selection): FailurePolicy {
  const all = [
    ...sel.rules.map((r) => r.policy.spec.failurePolicy),
    ...sel.otherPolicies.map((p) => p.spec.failurePolicy),
  ];
  return all.some((f) => f !== 'Ignore') ? 'Fail' : 'Ignore';
}

/**
 * Kyverno records a verification result in the annotations only for entries
 * with attestors or attestations (digest-only entries record nothing).
 */
export function isRecordedEntry(entry: VerifyImagesEntry): boolean {
  return entry.attestors.length > 0 || entry.attestations.length > 0;
}
