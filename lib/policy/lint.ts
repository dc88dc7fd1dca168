// `sigward policy lint`: every load error and warning, plus checks that only
// matter to a human reading the policy (keys and certificates that do not
// parse, image patterns that can never match, KMS keys unusable offline).

import { X509Certificate } from 'node:crypto';
import { parsePublicKeys } from '../cosign/keys.ts';
import { sortDiagnostics } from './diagnostics.ts';
import { parsePolicies, parsePolicyPaths, type ParseResult } from './load.ts';
import type { AttestorSet, LoadOptions, Policy, PolicyDiagnostic, Position, Severity } from './types.ts';
import { parentPath } from './yaml.ts';

export interface LintResult {
  diagnostics: PolicyDiagnostic[];
  /** policies that loaded (no errors) */
  policies: Policy[];
  errors: number;
  warnings: number;
}

function positionOf(policy: Policy, path: string): Position {
  let p = path;
  for (;;) {
    const pos = policy.source.locations[p];
    if (pos) return pos;
    if (p === '') return { line: policy.source.line, column: policy.source.column };
    p = parentPath(p);
  }
}

function diag(policy: Policy, severity: Severity, path: string, message: string): PolicyDiagnostic {
  const { line, column } = positionOf(policy, path);
  const d: PolicyDiagnostic = { line, column, severity, message, path };
  if (policy.source.file !== undefined) d.file = policy.source.file;
  return d;
}

const PEM_CERT = /-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g;

/** Problems with a PEM certificate (chain) text, or undefined when every block parses. */
export function checkCertificates(text: string): string | undefined {
  const blocks = text.match(PEM_CERT) ?? [];
  if (blocks.length === 0) return 'no PEM certificate found';
  for (const [i, b] of blocks.entries()) {
    try {
      new X509Certificate(b);
    } catch (e) {
      return `certificate ${blocks.length > 1 ? `#${i + 1} ` : ''}cannot be parsed: ${(e as Error).message}`;
    }
  }
  return undefined;
}

function checkKey(text: string): string | undefined {
  try {
    parsePublicKeys(text, 'public key');
    return undefined;
  } catch (e) {
    return (e as Error).message;
  }
}

/** The first path segment looks like a registry (has a dot or port, or is localhost). */
function hasRegistry(pattern: string): boolean {
  const first = pattern.split('/')[0]!;
  return pattern.includes('/') &&
    (first.includes('.') || first.includes(':') || first === 'localhost' || first.includes('*') || first.includes('?'));
}

function lintImagePatterns(policy: Policy, path: string, patterns: string[], out: PolicyDiagnostic[]): void {
  patterns.forEach((pattern, i) => {
    const p = `${path}[${i}]`;
    if (pattern.startsWith('*') || pattern.startsWith('?')) return;
    if (!hasRegistry(pattern)) {
      const suggestion = pattern.includes('/') ? `docker.io/${pattern}` : `docker.io/${pattern}`;
      out.push(
        diag(
          policy,
          'warning',
          p,
          `${p}: ${
            JSON.stringify(pattern)
          } has no registry: images are matched as registry/path:tag (e.g. docker.io/...), so it never matches; write ${
            JSON.stringify(suggestion)
          }`,
        ),
      );
      return;
    }
    const lastSlash = pattern.lastIndexOf('/');
    const tail = pattern.slice(lastSlash + 1);
    if (tail.includes(':') && !pattern.includes('@') && !pattern.endsWith('*')) {
      out.push(
        diag(
          policy,
          'info',
          p,
          `${p}: ${
            JSON.stringify(pattern)
          } names a tag: images given by digest are matched without their tag, so they do not match it`,
        ),
      );
    }
  });
}

function lintAttestorSets(policy: Policy, sets: AttestorSet[], out: PolicyDiagnostic[]): void {
  for (const set of sets) {
    for (const a of set.entries) {
      const label = a.keyIndex !== undefined ? ` (key #${a.keyIndex + 1})` : '';
      if (a.keys?.source.kind === 'pem') {
        const problem = checkKey(a.keys.source.pem);
        if (problem) {
          out.push(
            diag(policy, 'warning', `${a.path}.keys.publicKeys`, `${a.path}.keys.publicKeys${label}: ${problem}`),
          );
        }
      }
      const rekorKey = a.keys?.rekor?.pubkey ?? a.certificates?.rekor?.pubkey ?? a.keyless?.rekor?.pubkey;
      const sub = a.keys ? 'keys' : a.certificates ? 'certificates' : 'keyless';
      if (rekorKey && !rekorKey.includes('{{')) {
        const problem = checkKey(rekorKey);
        if (problem) {
          out.push(
            diag(policy, 'warning', `${a.path}.${sub}.rekor.pubkey`, `${a.path}.${sub}.rekor.pubkey: ${problem}`),
          );
        }
      }
      const ctKey = a.keys?.ctlog?.pubkey ?? a.certificates?.ctlog?.pubkey ?? a.keyless?.ctlog?.pubkey;
      if (ctKey && !ctKey.includes('{{')) {
        const problem = checkKey(ctKey);
        if (problem) {
          out.push(
            diag(policy, 'warning', `${a.path}.${sub}.ctlog.pubkey`, `${a.path}.${sub}.ctlog.pubkey: ${problem}`),
          );
        }
      }
      for (
        const [field, text] of [
          ['certificates.cert', a.certificates?.cert],
          ['certificates.certChain', a.certificates?.certChain],
          ['keyless.roots', a.keyless?.roots],
        ] as const
      ) {
        if (!text || text.includes('{{')) continue;
        const problem = checkCertificates(text);
        if (problem) out.push(diag(policy, 'warning', `${a.path}.${field}`, `${a.path}.${field}: ${problem}`));
      }
      if (a.attestor) lintAttestorSets(policy, [a.attestor], out);
    }
  }
}

/** Lint-only checks on policies that loaded. */
export function lintLoadedPolicy(policy: Policy): PolicyDiagnostic[] {
  const out: PolicyDiagnostic[] = [];
  if (policy.format === 'kyverno') {
    for (const rule of policy.spec.rules) {
      for (const entry of rule.verifyImages) {
        lintImagePatterns(policy, `${entry.path}.imageReferences`, entry.imageReferences, out);
        lintAttestorSets(policy, entry.attestors, out);
        for (const att of entry.attestations) lintAttestorSets(policy, att.attestors, out);
      }
    }
  } else {
    for (const a of policy.spec.attestors) {
      const key = a.cosign?.key;
      if (key?.source?.kind === 'pem') {
        const problem = checkKey(key.source.pem);
        if (problem) {
          out.push(diag(policy, 'warning', `${a.path}.cosign.key.data`, `${a.path}.cosign.key.data: ${problem}`));
        }
      }
      for (
        const [field, v] of [
          ['cosign.certificate.cert', a.cosign?.certificate?.cert],
          ['cosign.certificate.certChain', a.cosign?.certificate?.certChain],
          ['notary.certs', a.notary?.certs],
        ] as const
      ) {
        if (!v?.value) continue;
        const problem = checkCertificates(v.value);
        if (problem) out.push(diag(policy, 'warning', `${a.path}.${field}`, `${a.path}.${field}: ${problem}`));
      }
    }
  }
  return out;
}

function toLintResult(r: ParseResult): LintResult {
  const diagnostics = sortDiagnostics([...r.diagnostics, ...r.policies.flatMap(lintLoadedPolicy)]);
  return {
    diagnostics,
    policies: r.policies,
    errors: diagnostics.filter((d) => d.severity === 'error').length,
    warnings: diagnostics.filter((d) => d.severity === 'warning').length,
  };
}

export function lintPolicyText(text: string, options: LoadOptions = {}): LintResult {
  return toLintResult(parsePolicies(text, options));
}

/** Lints every policy file under `paths` (files and directories, recursively). */
export function lintPolicyPaths(paths: string[], options: Omit<LoadOptions, 'file'> = {}): LintResult {
  return toLintResult(parsePolicyPaths(paths, options));
}

const SEVERITY_WORD: Record<Severity, string> = { error: 'error', warning: 'warning', info: 'note' };

/** `file:line:col: error: message` (notes are printed as `note`). */
export function formatDiagnostic(d: PolicyDiagnostic): string {
  return `${d.file ?? '<input>'}:${d.line}:${d.column}: ${SEVERITY_WORD[d.severity]}: ${d.message}`;
}

/** One line per diagnostic; notes are left out unless `notes` is set. */
export function formatDiagnostics(list: PolicyDiagnostic[], options: { notes?: boolean } = {}): string {
  return list
    .filter((d) => options.notes || d.severity !== 'info')
    .map(formatDiagnostic)
    .join('\n');
}

/** `3 policies, 1 error, 2 warnings` */
export function formatLintSummary(r: LintResult): string {
  const n = (k: number, w: string): string => `${k} ${w}${k === 1 ? '' : 's'}`;
  return `${n(r.policies.length, 'policy loaded').replace('policy loadeds', 'policies loaded')}, ${
    n(r.errors, 'error')
  }, ${n(r.warnings, 'warning')}`;
}
