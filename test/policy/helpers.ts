// Shared helpers for the policy tests.

import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import type { KyvernoPolicy, Policy, PolicyDiagnostic, SecretResolver } from '../../lib/policy/index.ts';

const here = dirname(fileURLToPath(import.meta.url));
export const ROOT = join(here, '..', '..');
export const TESTDATA = join(ROOT, 'testdata', 'policy');
export const VECTORS = join(ROOT, '..', 'shared', 'testvectors', 'kyverno-policies');

/** A resolver that knows no secrets (tests must not depend on $SIGWARD_SECRETS_DIR). */
export const noSecrets: SecretResolver = () => undefined;

export function asKyverno(p: Policy | undefined): KyvernoPolicy {
  if (!p || p.format !== 'kyverno') throw new Error(`expected a Kyverno policy, got ${p?.format}`);
  return p;
}

export function errorsOf(list: PolicyDiagnostic[]): PolicyDiagnostic[] {
  return list.filter((d) => d.severity === 'error');
}

/** `line:col message` for compact assertions. */
export function brief(d: PolicyDiagnostic): string {
  return `${d.line}:${d.column} ${d.message}`;
}

export const TEST_KEY = `-----BEGIN PUBLIC KEY-----
MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE8nXRh950IZbRj8Ra/N9sbqOPZrfM
5/KAQN0/KjHcorm/J5yctVd7iEcnessRQjU917hmKO6JWVGHpDguIyakZA==
-----END PUBLIC KEY-----`;

export const OTHER_KEY = `-----BEGIN PUBLIC KEY-----
MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEahmSvGFmxMJABilV1usgsw6ImcQ/
gDaxw57Sq+uNGHW8Q3zUSx46PuRqdTI+4qE3Ng2oFZgLMpFN/qMrP0MQQg==
-----END PUBLIC KEY-----`;

export function indent(text: string, spaces: number): string {
  const pad = ' '.repeat(spaces);
  return text.split('\n').map((l, i) => (i === 0 ? l : pad + l)).join('\n');
}

/** A ClusterPolicy with one verifyImages rule; `entry` is YAML for the entry body (indented by 10). */
export function policyWith(
  entry: string,
  opts: { spec?: string; name?: string; annotations?: string; kinds?: string } = {},
): string {
  return `apiVersion: kyverno.io/v1
kind: ClusterPolicy
metadata:
  name: ${opts.name ?? 'test'}
${opts.annotations ? `  annotations:\n${opts.annotations}\n` : ''}spec:
${opts.spec ?? '  validationFailureAction: Enforce'}
  rules:
    - name: check-image
      match:
        any:
          - resources:
              kinds: ${opts.kinds ?? '[Pod]'}
      verifyImages:
        - ${entry.trimStart()}
`;
}
