// What the webhook derives from the engine's selection of an admitted object
// (lib/engine/selection.ts: rules, other policies, images, registries): the
// request deadline (the policies' webhook timeout), the failurePolicy for
// deadline or overload answers, the namespace labels it knows, the selectors
// it cannot evaluate, and which entries Kyverno records.

import { getSelectorKeys, NAMESPACE_NAME_LABEL } from '../engine/match.ts';
import type { ResourceSelection } from '../engine/selection.ts';
import type { FailurePolicy, KyvernoPolicy, Policy, VerifyImagesEntry } from '../policy/types.ts';

/** What the webhook reads of a selection. */
export type Selection = Pick<ResourceSelection, 'rules' | 'otherPolicies' | 'registries'>;

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
