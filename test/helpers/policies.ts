// Kyverno ClusterPolicies for tests, built as objects and written as YAML:
// the common "verify these images with this public key" policy with the
// fields a test changes given as overrides, instead of a YAML template in
// every test file.

import { stringify } from 'yaml';

export interface KeyPolicyOptions {
  /** PEM public key(s) of the key attestor */
  key: string | string[];
  name?: string;
  action?: 'Enforce' | 'Audit';
  refs?: string[];
  ruleName?: string;
  /** extra spec fields (validationFailureActionOverrides, failurePolicy, ...) */
  spec?: Record<string, unknown>;
  /** extra rule fields (context, preconditions, celPreconditions, a match of its own, ...) */
  rule?: Record<string, unknown>;
  /** extra verifyImages entry fields (skipImageReferences, type, attestations, ...) */
  entry?: Record<string, unknown>;
  /** false: the entry has no attestors (attestations bring their own) */
  attestors?: boolean;
}

/** The key attestor entry, transparency log ignored (no Rekor in these tests). */
export function keyAttestor(pem: string): Record<string, unknown> {
  return { keys: { publicKeys: pem.trim(), rekor: { ignoreTlog: true } } };
}

export function keyPolicy(o: KeyPolicyOptions): string {
  const keys = Array.isArray(o.key) ? o.key : [o.key];
  const entry: Record<string, unknown> = {
    imageReferences: o.refs ?? ['*'],
    ...(o.attestors === false ? {} : { attestors: [{ entries: keys.map(keyAttestor) }] }),
    ...o.entry,
  };
  return stringify({
    apiVersion: 'kyverno.io/v1',
    kind: 'ClusterPolicy',
    metadata: { name: o.name ?? 'verify-images' },
    spec: {
      validationFailureAction: o.action ?? 'Enforce',
      ...o.spec,
      rules: [{
        name: o.ruleName ?? 'verify',
        match: { any: [{ resources: { kinds: ['Pod'] } }] },
        ...o.rule,
        verifyImages: [entry],
      }],
    },
  });
}

export interface KeyImageValidatingPolicyOptions {
  /** PEM public key of the cosign attestor `k` */
  key: string;
  name?: string;
  /** matchImageReferences glob */
  glob: string;
  validations: { expression: string; message?: string }[];
  /** matchConstraints.resourceRules (default: pods on CREATE) */
  resourceRules?: Record<string, unknown>[];
  /** extra spec fields (images, variables, validationActions, ...) */
  spec?: Record<string, unknown>;
}

/** A Kyverno ImageValidatingPolicy with one cosign key attestor named `k` (no Rekor, no SCT in these tests). */
export function keyImageValidatingPolicy(o: KeyImageValidatingPolicyOptions): string {
  return stringify({
    apiVersion: 'policies.kyverno.io/v1',
    kind: 'ImageValidatingPolicy',
    metadata: { name: o.name ?? 'verify-ivpol' },
    spec: {
      matchConstraints: {
        resourceRules: o.resourceRules ??
          [{ apiGroups: [''], apiVersions: ['v1'], operations: ['CREATE'], resources: ['pods'] }],
      },
      matchImageReferences: [{ glob: o.glob }],
      attestors: [{
        name: 'k',
        cosign: { key: { data: o.key.trim() + '\n' }, ctlog: { insecureIgnoreTlog: true, insecureIgnoreSCT: true } },
      }],
      validations: o.validations,
      ...o.spec,
    },
  });
}
