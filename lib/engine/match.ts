// Kyverno rule selection: `match` / `exclude` (any = OR, all = AND) over
// kinds, names, namespaces, annotations, label selectors, namespace
// selectors, operations and user info; then `preconditions`.

import { matchesPattern } from '../wildcard.ts';
import type { LabelSelector, MatchResources, ResourceDescription, ResourceFilter } from '../policy/types.ts';

export interface ResourceInfo {
  /** Kubernetes kind, e.g. `Pod`, `Deployment` */
  kind: string;
  /** `apps/v1` style; optional */
  apiVersion?: string;
  namespace?: string;
  name?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  /** labels of the resource's namespace (namespaceSelector); unknown = {} */
  namespaceLabels?: Record<string, string>;
  /** CREATE, UPDATE, DELETE, CONNECT; CREATE when not in a request */
  operation?: string;
  userInfo?: { username?: string; groups?: string[] };
  roles?: string[];
  clusterRoles?: string[];
}

/** `Pod`, `v1/Pod`, `apps/v1/Deployment`, `*` and wildcards, as Kyverno accepts in `kinds`. */
function kindMatches(pattern: string, r: ResourceInfo): boolean {
  const parts = pattern.split('/');
  const kind = parts[parts.length - 1]!;
  const kindOk = matchesPattern(kind, r.kind);
  if (!kindOk) return false;
  if (parts.length === 1 || !r.apiVersion) return true;
  const gv = parts.slice(0, -1).join('/');
  return matchesPattern(gv, r.apiVersion) ||
    (parts.length === 2 && matchesPattern(parts[0]!, r.apiVersion.split('/').pop() ?? ''));
}

export function selectorMatches(sel: LabelSelector | undefined, labels: Record<string, string> = {}): boolean {
  if (!sel) return true;
  for (const [k, v] of Object.entries(sel.matchLabels ?? {})) if (labels[k] !== v) return false;
  for (const e of sel.matchExpressions ?? []) {
    const has = Object.prototype.hasOwnProperty.call(labels, e.key);
    const val = labels[e.key];
    switch (e.operator) {
      case 'In':
        if (!has || !(e.values ?? []).includes(val!)) return false;
        break;
      case 'NotIn':
        if (has && (e.values ?? []).includes(val!)) return false;
        break;
      case 'Exists':
        if (!has) return false;
        break;
      case 'DoesNotExist':
        if (has) return false;
        break;
      default:
        return false;
    }
  }
  return true;
}

/** The one namespace label sigward knows without API access (Kubernetes sets it to the name). */
export const NAMESPACE_NAME_LABEL = 'kubernetes.io/metadata.name';

/** Label keys a selector reads. */
export function getSelectorKeys(sel: LabelSelector): string[] {
  return [...Object.keys(sel.matchLabels ?? {}), ...(sel.matchExpressions ?? []).map((e) => e.key)];
}

/**
 * A namespaceSelector evaluated with what sigward knows of a namespace: its
 * name, hence its `kubernetes.io/metadata.name` label. undefined when the
 * selector reads any other label (or the namespace is not known): it cannot
 * be decided here.
 */
export function matchesNamespaceSelector(sel: LabelSelector, namespace: string | undefined): boolean | undefined {
  if (namespace === undefined || getSelectorKeys(sel).some((k) => k !== NAMESPACE_NAME_LABEL)) return undefined;
  return selectorMatches(sel, { [NAMESPACE_NAME_LABEL]: namespace });
}

function describesResource(d: ResourceDescription, r: ResourceInfo): boolean {
  if (d.kinds?.length && !d.kinds.some((k) => kindMatches(k, r))) return false;
  const names = [...(d.names ?? []), ...(d.name ? [d.name] : [])];
  if (names.length && !names.some((n) => matchesPattern(n, r.name ?? ''))) return false;
  if (d.namespaces?.length && !d.namespaces.some((n) => matchesPattern(n, r.namespace ?? ''))) return false;
  if (d.operations?.length && !d.operations.includes(r.operation ?? 'CREATE')) return false;
  if (d.annotations) {
    for (const [k, v] of Object.entries(d.annotations)) {
      const have = Object.entries(r.annotations ?? {}).find(([ak]) => matchesPattern(k, ak));
      if (!have || !matchesPattern(v, have[1])) return false;
    }
  }
  if (d.selector && !selectorMatches(d.selector, r.labels)) return false;
  if (d.namespaceSelector && !selectorMatches(d.namespaceSelector, r.namespaceLabels)) return false;
  return true;
}

function filterMatches(f: ResourceFilter, r: ResourceInfo): boolean {
  if (f.resources && !describesResource(f.resources, r)) return false;
  if (f.subjects?.length) {
    const u = r.userInfo ?? {};
    const ok = f.subjects.some((s) =>
      s.kind === 'User'
        ? s.name === u.username
        : s.kind === 'Group'
        ? (u.groups ?? []).includes(s.name)
        : s.kind === 'ServiceAccount'
        ? u.username === `system:serviceaccount:${s.namespace}:${s.name}`
        : false
    );
    if (!ok) return false;
  }
  if (f.roles?.length && !f.roles.some((x) => (r.roles ?? []).includes(x))) return false;
  if (f.clusterRoles?.length && !f.clusterRoles.some((x) => (r.clusterRoles ?? []).includes(x))) return false;
  return true;
}

/** Whether a `match` (or `exclude`) block selects the resource. */
export function matchResources(m: MatchResources | undefined, r: ResourceInfo): boolean {
  if (!m) return false;
  if (m.any?.length) return m.any.some((f) => filterMatches(f, r));
  if (m.all?.length) return m.all.every((f) => filterMatches(f, r));
  const legacy: ResourceFilter = {
    resources: m.resources,
    subjects: m.subjects,
    roles: m.roles,
    clusterRoles: m.clusterRoles,
  };
  if (!legacy.resources && !legacy.subjects && !legacy.roles && !legacy.clusterRoles) return false;
  return filterMatches(legacy, r);
}

/** A rule applies when `match` selects the resource and `exclude` does not. */
export function ruleSelects(match: MatchResources, exclude: MatchResources | undefined, r: ResourceInfo): boolean {
  return matchResources(match, r) && !(exclude && matchResources(exclude, r));
}

/** Reads kind, namespace, name, labels and annotations from a Kubernetes object. */
export function toResourceInfo(obj: unknown, extra: Partial<ResourceInfo> = {}): ResourceInfo {
  const o = (obj && typeof obj === 'object' ? obj : {}) as {
    kind?: unknown;
    apiVersion?: unknown;
    metadata?: { name?: unknown; namespace?: unknown; labels?: unknown; annotations?: unknown };
  };
  const md = o.metadata ?? {};
  const strMap = (v: unknown): Record<string, string> =>
    v && typeof v === 'object'
      ? Object.fromEntries(
        Object.entries(v as Record<string, unknown>).filter(([, x]) => typeof x === 'string'),
      ) as Record<string, string>
      : {};
  return {
    kind: typeof o.kind === 'string' ? o.kind : '',
    apiVersion: typeof o.apiVersion === 'string' ? o.apiVersion : undefined,
    name: typeof md.name === 'string' ? md.name : undefined,
    namespace: typeof md.namespace === 'string' ? md.namespace : undefined,
    labels: strMap(md.labels),
    annotations: strMap(md.annotations),
    ...extra,
  };
}
