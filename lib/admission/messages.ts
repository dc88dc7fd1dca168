// Kyverno-shaped admission messages for verifyImages rules.

import { toGoYaml } from './yaml.ts';
import type { YamlStringMap } from './yaml.ts';

export interface BlockedResource {
  kind: string;
  /** '' (or absent) for cluster-scoped resources */
  namespace?: string;
  name?: string;
}

export interface RuleResultMessage {
  policy: string;
  rule: string;
  message: string;
  /** when given, 'pass' and 'skip' results are left out as Kyverno does */
  status?: 'pass' | 'fail' | 'error' | 'skip' | 'warn';
}

/**
 * The denial message Kyverno puts in the admission response, byte for byte:
 *
 *   "\n\nresource <Kind>/<ns>/<name> was blocked due to the following policies \n\n" + YAML
 *
 * - the resource is `Kind/namespace/name`; a cluster-scoped resource prints `Kind//name`
 *   and a Pod created with generateName (no name yet) prints `Pod/<ns>/`;
 * - note the space after "policies";
 * - the YAML is gopkg.in/yaml.v2 output of {policy: {rule: message}}: keys sorted, messages
 *   quoted when needed and folded after column 80, ending with a newline;
 * - results with status pass/skip or the message "preconditions not met" are left out;
 *   a later result for the same policy and rule replaces an earlier one.
 * Returns '' when nothing is left (Kyverno then has nothing to report).
 * The API server shows it as `admission webhook "<name>" denied the request: <message>`.
 */
export function formatBlockedMessage(resource: BlockedResource, results: readonly RuleResultMessage[]): string {
  const failures: Record<string, Record<string, string>> = Object.create(null);
  for (const r of results) {
    if (r.status === 'pass' || r.status === 'skip') continue;
    if (r.message === 'preconditions not met') continue;
    const rules = (failures[r.policy] ??= Object.create(null) as Record<string, string>);
    rules[r.rule] = r.message;
  }
  if (Object.keys(failures).length === 0) return '';
  const id = `${resource.kind}/${resource.namespace ?? ''}/${resource.name ?? ''}`;
  return `\n\nresource ${id} was blocked due to the following policies \n\n${toGoYaml(failures as YamlStringMap)}`;
}

/** What kubectl prints for a denial: `admission webhook "<webhook>" denied the request: <message>`. */
export function formatWebhookDenial(webhook: string, message: string): string {
  return `admission webhook "${webhook}" denied the request: ${message}`;
}

/** Rule failure: `failed to verify image <img>: <detail>` (detail e.g. `.attestors[0].entries[0].keys: no signatures found`). */
export function formatVerifyFailedMessage(image: string, detail: string): string {
  return `failed to verify image ${image}: ${detail}`;
}

/** Rule pass: `verified image signatures for <img>`. */
export function formatVerifiedMessage(image: string): string {
  return `verified image signatures for ${image}`;
}

/** Rule pass from the verification cache. */
export const VERIFIED_FROM_CACHE_MESSAGE = 'verified from cache';

/** Rule skip for skipImageReferences (Kyverno's wording, including "image image"). */
export function formatSkipImageMessage(image: string, policy: string, rule: string): string {
  return `skipping image reference image ${image}, policy ${policy} ruleName ${rule}`;
}

/** Validate phase, verifyDigest: `missing digest for <image>`. */
export function formatMissingDigestMessage(image: string): string {
  return `missing digest for ${image}`;
}

/** Validate phase, required: `unverified image <image>`. */
export function formatUnverifiedImageMessage(image: string): string {
  return `unverified image ${image}`;
}

/** mutateDigest could not resolve the digest. */
export function formatDigestUpdateFailedMessage(detail?: string): string {
  return detail === undefined || detail === '' ? 'failed to update digest' : `failed to update digest: ${detail}`;
}

/** Attestation count failure: `image attestations verification failed, verifiedCount: X, requiredCount: Y, error: …`. */
export function formatAttestationCountMessage(verifiedCount: number, requiredCount: number, error: string): string {
  return `image attestations verification failed, verifiedCount: ${verifiedCount}, requiredCount: ${requiredCount}, error: ${error}`;
}

/** Conditions failed: `attestation checks failed for <img> and predicate <T>: <msg>`. */
export function formatAttestationChecksFailedMessage(image: string, predicateType: string, message: string): string {
  return `attestation checks failed for ${image} and predicate ${predicateType}: ${message}`;
}

/** No statement of the type: Kyverno's text, typo included (`attestions`). */
export function formatAttestationsNotFoundMessage(predicateType: string): string {
  return `attestions not found for predicate type ${predicateType}`;
}

/** validate.deny in verifyImages: `validation in verifyImages failed: <msg>`. */
export function formatValidateDenyMessage(message: string): string {
  return `validation in verifyImages failed: ${message}`;
}
