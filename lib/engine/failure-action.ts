// Which action (Enforce / Audit) applies to a verifyImages entry in a
// namespace: one answer for the engine and for the webhook's validating pass;
// and which one an ImageValidatingPolicy's validationActions ask for.

import { matchesPattern } from '../wildcard.ts';
import type { FailureAction, ImageValidatingPolicy, KyvernoPolicy, VerifyImagesEntry } from '../policy/types.ts';
import { matchesNamespaceSelector } from './match.ts';

/**
 * The action for an image in `namespace`, as Kyverno computes it: the entry's
 * own failureAction, else the first override that applies, else the
 * policy's. An override applies when its `namespaces` (wildcards; none
 * written: every namespace) match and its namespaceSelector, if any, matches.
 * A selector sigward cannot evaluate (labels other than
 * kubernetes.io/metadata.name) fails closed: an Enforce override applies, an
 * Audit one does not.
 */
export function getFailureAction(
  policy: KyvernoPolicy,
  entry: VerifyImagesEntry,
  namespace: string | undefined,
): FailureAction {
  if (entry.failureAction) return entry.failureAction;
  for (const o of policy.spec.validationFailureActionOverrides ?? []) {
    if (o.namespaces.length && !(namespace !== undefined && o.namespaces.some((n) => matchesPattern(n, namespace)))) {
      continue;
    }
    if (!o.namespaceSelector) return o.action;
    const selected = matchesNamespaceSelector(o.namespaceSelector, namespace);
    if (selected === true || (selected === undefined && o.action === 'Enforce')) return o.action;
  }
  return policy.spec.validationFailureAction;
}

/** The action of an ImageValidatingPolicy (either format): Enforce when its validationActions hold Deny, else Audit. */
export function getValidationAction(policy: ImageValidatingPolicy): FailureAction {
  return policy.spec.validationActions.includes('Deny') ? 'Enforce' : 'Audit';
}
