// Stable fingerprints of verification rules: sha256 over canonical JSON.
// Used as cache keys: any change to what a rule verifies (images, attestors,
// keys, attestations, conditions, digest options) changes its fingerprint,
// while source positions and YAML paths do not count.
//
// Values substituted at verification time ({{ }} variables) are not part of
// the fingerprint: callers caching results for such rules must add the
// substituted values to their key.

import { sha256 } from '../trust/keys.ts';
import type { ImageValidatingPolicy, KyvernoPolicy, KyvernoRule, Policy, VerifyImagesEntry } from './types.ts';

const FINGERPRINT_VERSION = 1;

/** Fields that describe where something was written, not what it means. */
const POSITIONAL = new Set(['sourceIndex', 'keyIndex']);

/** YAML paths (`spec.rules[0]...`) are positional; other `path` fields (TUF root, extractors) are not. */
function isPositional(key: string, value: unknown): boolean {
  if (POSITIONAL.has(key)) return true;
  return key === 'path' && typeof value === 'string' && /^spec[.[]/.test(value);
}

/**
 * JSON with object keys sorted, undefined dropped, and positional fields
 * (YAML paths, sourceIndex, keyIndex) left out. Callers pass rules or specs,
 * never a whole policy (whose `source` holds positions).
 */
export function canonicalJSON(value: unknown): string {
  const walk = (v: unknown): string | undefined => {
    if (v === undefined || typeof v === 'function' || typeof v === 'symbol') return undefined;
    if (v === null || typeof v !== 'object') return JSON.stringify(v);
    if (v instanceof Date) return JSON.stringify(v.toISOString());
    if (Array.isArray(v)) return `[${v.map((x) => walk(x) ?? 'null').join(',')}]`;
    const parts: string[] = [];
    for (const k of Object.keys(v).sort()) {
      const item = (v as Record<string, unknown>)[k];
      if (isPositional(k, item)) continue;
      const s = walk(item);
      if (s !== undefined) parts.push(`${JSON.stringify(k)}:${s}`);
    }
    return `{${parts.join(',')}}`;
  };
  return walk(value) ?? 'null';
}

function sha256Hex(text: string): string {
  return sha256(text).toString('hex');
}

function policyId(policy: Policy): { kind: string; namespace: string; name: string } {
  return { kind: policy.kind, namespace: policy.metadata.namespace ?? '', name: policy.metadata.name };
}

/** Fingerprint of one verifyImages entry of a Kyverno rule (hex sha256). */
export function getVerifyImagesFingerprint(policy: KyvernoPolicy, rule: KyvernoRule, entry: VerifyImagesEntry): string {
  return sha256Hex(
    canonicalJSON({
      v: FINGERPRINT_VERSION,
      policy: policyId(policy),
      rule: rule.name,
      // the pod spec location changes what is verified for autogen rules
      kinds: rule.autogen?.kinds ?? null,
      entry,
    }),
  );
}

/** Fingerprint of an ImageValidatingPolicy / ImagePolicy (the whole spec). */
export function getImagePolicyFingerprint(policy: ImageValidatingPolicy): string {
  return sha256Hex(
    canonicalJSON({ v: FINGERPRINT_VERSION, policy: policyId(policy), format: policy.format, spec: policy.spec }),
  );
}

export interface RuleFingerprint {
  rule: string;
  /** index in rule.verifyImages (always 0 for image policies) */
  index: number;
  fingerprint: string;
}

/** Every fingerprint of a policy: one per verifyImages entry (Kyverno), or one per policy. */
export function getPolicyFingerprints(policy: Policy): RuleFingerprint[] {
  if (policy.format !== 'kyverno') {
    return [{ rule: policy.metadata.name, index: 0, fingerprint: getImagePolicyFingerprint(policy) }];
  }
  return policy.spec.rules.flatMap((rule) =>
    rule.verifyImages.map((entry, index) => ({
      rule: rule.name,
      index,
      fingerprint: getVerifyImagesFingerprint(policy, rule, entry),
    }))
  );
}
