// Kyverno autogen: rules that match only Pods also apply to pod controllers.
// For such a rule `r`, `autogen-r` matches DaemonSet, Deployment, Job,
// StatefulSet, ReplicaSet and ReplicationController (pod spec under
// /spec/template/spec) and `autogen-cronjob-r` matches CronJob (pod spec under
// /spec/jobTemplate/spec/template/spec). The decision is taken for the whole
// policy, as Kyverno's CanAutoGen does, and the
// `pod-policies.kyverno.io/autogen-controllers` annotation (`none` or a list)
// narrows the controllers.

import { POD_CONTROLLERS, POD_SPEC_PATHS } from '../admission/pod-controllers.ts';
import type { DiagnosticCollector } from './diagnostics.ts';
import { getMatchKinds } from './kyverno.ts';
import { childPath } from './yaml.ts';
import type { KyvernoPolicy, KyvernoRule, MatchResources, Policy, ResourceDescription } from './types.ts';

export const AUTOGEN_ANNOTATION = 'pod-policies.kyverno.io/autogen-controllers';

export { POD_CONTROLLERS, POD_SPEC_PATHS } from '../admission/pod-controllers.ts';

const MAX_RULE_NAME = 63;

/** `apps/v1/Deployment` -> `Deployment`; `tekton.dev/v1beta1/TaskRun.status` -> `TaskRun`. */
export function getKindName(kind: string): string {
  const parts = kind.split('/');
  let k = parts[parts.length - 1]!;
  // `Pod/exec` style subresource
  if (parts.length >= 2 && /^[a-z]/.test(k)) k = parts[parts.length - 2]!;
  const dot = k.indexOf('.');
  return dot < 0 ? k : k.slice(0, dot);
}

export function getAutogenRuleName(prefix: 'autogen' | 'autogen-cronjob', name: string): string {
  return `${prefix}-${name}`.slice(0, MAX_RULE_NAME);
}

export function isAutogenRuleName(name: string): boolean {
  return name.startsWith('autogen-');
}

function descriptions(m: MatchResources | undefined): ResourceDescription[] {
  if (!m) return [];
  const out: ResourceDescription[] = [];
  if (m.resources) out.push(m.resources);
  for (const f of [...(m.any ?? []), ...(m.all ?? [])]) if (f.resources) out.push(f.resources);
  return out;
}

function hasPatchesJson6902(mutate: unknown): boolean {
  if (typeof mutate !== 'object' || mutate === null) return false;
  const m = mutate as Record<string, unknown>;
  if (typeof m['patchesJson6902'] === 'string' && m['patchesJson6902'] !== '') return true;
  const fe = m['foreach'];
  return Array.isArray(fe) &&
    fe.some((f) =>
      typeof f === 'object' && f !== null && typeof (f as Record<string, unknown>)['patchesJson6902'] === 'string'
    );
}

/**
 * Kyverno's CanAutoGen: false when any rule generates or uses patchesJson6902,
 * when any match/exclude block uses names, a selector or annotations, or mixes
 * Pod with other kinds; true when some rule matches Pod or a pod controller.
 */
export function canAutoGen(policy: KyvernoPolicy): boolean {
  let needed = false;
  const podKinds = new Set<string>(['Pod', ...POD_CONTROLLERS]);
  for (const rule of policy.spec.rules) {
    if (rule.otherTypes.includes('generate')) return false;
    if (hasPatchesJson6902(rule.other['mutate'])) return false;
    for (const rd of [...descriptions(rule.match), ...descriptions(rule.exclude)]) {
      const kinds = rd.kinds ?? [];
      if (rd.name || (rd.names && rd.names.length > 0) || rd.selector || rd.annotations) return false;
      if (kinds.length > 1 && kinds.some((k) => getKindName(k) === 'Pod')) return false;
      if (kinds.some((k) => podKinds.has(getKindName(k)))) needed = true;
    }
  }
  return needed;
}

/** Controllers requested by the annotation: undefined when absent, [] for `none`. */
export function getRequestedControllers(policy: KyvernoPolicy): string[] | undefined {
  const raw = policy.metadata.annotations[AUTOGEN_ANNOTATION];
  if (raw === undefined || raw.trim() === '') return undefined;
  if (raw.trim() === 'none') return [];
  if (raw.trim() === 'all') return [...POD_CONTROLLERS];
  return raw.split(',').map((s) => s.trim()).filter(Boolean);
}

/** Pod controllers autogen applies to for this policy ([] when none). */
export function getAutogenControllers(policy: KyvernoPolicy): string[] {
  if (!canAutoGen(policy)) return [];
  const requested = getRequestedControllers(policy);
  if (requested === undefined) return [...POD_CONTROLLERS];
  return POD_CONTROLLERS.filter((c) => requested.includes(c));
}

/** Warns about controller names in the annotation that Kyverno does not know. */
export function checkAutogenAnnotation(policy: KyvernoPolicy, diag: DiagnosticCollector): void {
  const requested = getRequestedControllers(policy);
  if (!requested) return;
  const path = childPath('metadata.annotations', AUTOGEN_ANNOTATION);
  for (const c of requested) {
    if (!(POD_CONTROLLERS as readonly string[]).includes(c)) {
      diag.warn(
        path,
        `${path}: unknown pod controller ${JSON.stringify(c)}: expected none or a list of ${
          POD_CONTROLLERS.join(', ')
        }`,
      );
    }
  }
  if (requested.length > 0 && !canAutoGen(policy) && policy.spec.rules.some((r) => onlyPods(r))) {
    diag.info(
      path,
      `${path}: ignored: the policy's rules use names, selectors or annotations, or mix Pod with other kinds`,
    );
  }
}

/** True when every kinds list of the rule's match is exactly Pod. */
function onlyPods(rule: KyvernoRule): boolean {
  const lists = getMatchKinds(rule.match);
  return lists.length > 0 && lists.every((l) => l.length === 1 && getKindName(l[0]!) === 'Pod');
}

function replaceKinds(m: MatchResources | undefined, kinds: string[]): MatchResources | undefined {
  if (!m) return undefined;
  const fix = (rd: ResourceDescription | undefined): ResourceDescription | undefined => {
    if (!rd) return rd;
    if (rd.kinds && rd.kinds.some((k) => getKindName(k) === 'Pod')) return { ...rd, kinds: [...kinds] };
    return { ...rd };
  };
  const out: MatchResources = { ...m };
  if (m.resources) out.resources = fix(m.resources)!;
  if (m.any) out.any = m.any.map((f) => (f.resources ? { ...f, resources: fix(f.resources)! } : { ...f }));
  if (m.all) out.all = m.all.map((f) => (f.resources ? { ...f, resources: fix(f.resources)! } : { ...f }));
  return out;
}

/** Rewrites request.object/oldObject paths in variables for the controller's pod template. */
function rewriteVariables<T>(value: T, target: 'template' | 'cronjob'): T {
  const tpl = target === 'template' ? 'spec.template' : 'spec.jobTemplate.spec.template';
  const json = JSON.stringify(value);
  if (json === undefined) return value;
  const out = json
    .replaceAll('request.object.spec', `request.object.${tpl}.spec`)
    .replaceAll('request.oldObject.spec', `request.oldObject.${tpl}.spec`)
    .replaceAll('request.object.metadata', `request.object.${tpl}.metadata`)
    .replaceAll('request.oldObject.metadata', `request.oldObject.${tpl}.metadata`);
  return JSON.parse(out) as T;
}

function generateRule(rule: KyvernoRule, name: string, kinds: string[], target: 'template' | 'cronjob'): KyvernoRule {
  const gen: KyvernoRule = {
    ...rule,
    name,
    match: replaceKinds(rule.match, kinds)!,
    context: rewriteVariables(rule.context, target),
    verifyImages: rewriteVariables(rule.verifyImages, target),
    other: rewriteVariables(rule.other, target),
    otherTypes: [...rule.otherTypes],
    autogen: { from: rule.name, kinds: [...kinds], podSpecPath: POD_SPEC_PATHS[kinds[0]!]! },
  };
  const exclude = replaceKinds(rule.exclude, kinds);
  if (exclude) gen.exclude = exclude;
  else delete gen.exclude;
  if (rule.preconditions) gen.preconditions = rewriteVariables(rule.preconditions, target);
  return gen;
}

/** The autogen rules for one rule, given the policy's effective controllers. */
export function getAutogenRules(rule: KyvernoRule, controllers: readonly string[]): KyvernoRule[] {
  if (isAutogenRuleName(rule.name) || rule.autogen || !onlyPods(rule)) return [];
  const out: KyvernoRule[] = [];
  const plain = controllers.filter((c) => c !== 'CronJob');
  if (plain.length > 0) out.push(generateRule(rule, getAutogenRuleName('autogen', rule.name), plain, 'template'));
  if (controllers.includes('CronJob')) {
    out.push(generateRule(rule, getAutogenRuleName('autogen-cronjob', rule.name), ['CronJob'], 'cronjob'));
  }
  return out;
}

/**
 * Returns the policy with its autogen rules appended (after all original
 * rules, in rule order: autogen-r, autogen-cronjob-r, ...). ImageValidatingPolicy
 * and ImagePolicy are returned unchanged: their autogen is `spec.autogenControllers`.
 */
export function expandAutogen<P extends Policy>(policy: P): P {
  if (policy.format !== 'kyverno') return policy;
  const kp = policy as KyvernoPolicy;
  const controllers = getAutogenControllers(kp);
  if (controllers.length === 0) return policy;
  const existing = new Set(kp.spec.rules.map((r) => r.name));
  const generated = kp.spec.rules.flatMap((r) => getAutogenRules(r, controllers)).filter((r) => !existing.has(r.name));
  if (generated.length === 0) return policy;
  return { ...kp, spec: { ...kp.spec, rules: [...kp.spec.rules, ...generated] } } as P;
}
