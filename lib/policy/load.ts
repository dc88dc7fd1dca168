// Loading policies from YAML/JSON text and from files or directories.
//
//   parsePolicies(text)      -> every policy plus every diagnostic (never throws)
//   loadPolicies(text)       -> policies and warnings; throws POLICY_INVALID on errors
//   loadPolicyPaths(paths)   -> the same for files and directories (*.yaml, *.yml, *.json)

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SigwardError } from '../errors.ts';
import { walkFileTree } from '../file-tree.ts';
import { checkAutogenAnnotation } from './autogen.ts';
import { DiagnosticCollector, formatLocation, sortDiagnostics } from './diagnostics.ts';
import { imagePolicySchema, imageValidatingPolicySchema, toImageValidatingPolicy } from './ivpol.ts';
import { createFileSecretResolver } from './keys.ts';
import { type BuildContext, kyvernoPolicySchema, toKyvernoPolicy } from './kyverno.ts';
import { checkSchema, describeValue, didYouMean, getObj, getStr, isObj, type Obj } from './schema.ts';
import type { LoadOptions, LoadResult, Policy, PolicyDiagnostic, Position } from './types.ts';
import { type NodeLocation, toYamlDocuments } from './yaml.ts';

export interface ParseResult {
  policies: Policy[];
  /** errors, warnings and notes, sorted by position */
  diagnostics: PolicyDiagnostic[];
}

type Handler = 'kyverno' | 'ivpol' | 'sigward';

const POLICY_KINDS: Record<string, { group: string; versions: readonly string[]; handler: Handler }> = {
  ClusterPolicy: { group: 'kyverno.io', versions: ['v1', 'v2beta1'], handler: 'kyverno' },
  Policy: { group: 'kyverno.io', versions: ['v1', 'v2beta1'], handler: 'kyverno' },
  ImageValidatingPolicy: { group: 'policies.kyverno.io', versions: ['v1alpha1', 'v1beta1', 'v1'], handler: 'ivpol' },
  NamespacedImageValidatingPolicy: { group: 'policies.kyverno.io', versions: ['v1beta1', 'v1'], handler: 'ivpol' },
  ImagePolicy: { group: 'sigward.dev', versions: ['v1alpha1'], handler: 'sigward' },
};

const POLICY_GROUPS = new Set(['kyverno.io', 'policies.kyverno.io', 'sigward.dev']);

/** Identifies a document: a policy kind sigward loads, or why not. */
function classify(
  apiVersion: string | undefined,
  kind: string | undefined,
): { handler?: Handler; problem?: string; severity?: 'error' | 'info'; onKind?: boolean } {
  if (!kind || !apiVersion) {
    return { problem: `document has no ${!apiVersion ? 'apiVersion' : 'kind'}: ignored`, severity: 'info' };
  }
  const slash = apiVersion.indexOf('/');
  const group = slash < 0 ? '' : apiVersion.slice(0, slash);
  const version = slash < 0 ? apiVersion : apiVersion.slice(slash + 1);
  const known = Object.hasOwn(POLICY_KINDS, kind) ? POLICY_KINDS[kind] : undefined;
  if (known && group === known.group) {
    if (!known.versions.includes(version)) {
      return {
        problem: `apiVersion: ${apiVersion} is not supported for ${kind}: use ${
          known.versions.map((v) => `${known.group}/${v}`).join(' or ')
        }`,
        severity: 'error',
      };
    }
    return { handler: known.handler };
  }
  if (POLICY_GROUPS.has(group)) {
    const candidates = Object.keys(POLICY_KINDS).filter((k) => POLICY_KINDS[k]!.group === group);
    const hint = didYouMean(kind, candidates);
    if (hint) {
      return {
        problem: `kind: unknown kind ${JSON.stringify(kind)} for ${apiVersion} (did you mean ${JSON.stringify(hint)}?)`,
        severity: 'error',
        onKind: true,
      };
    }
    if (known) return { problem: `apiVersion: ${kind} belongs to ${known.group}, not ${group}`, severity: 'error' };
  }
  return { problem: `ignoring ${kind}: not an image verification policy`, severity: 'info' };
}

/** Locations of a nested object (a List item) re-rooted at ''. */
function subLocations(locations: Map<string, NodeLocation>, prefix: string): Map<string, NodeLocation> {
  const out = new Map<string, NodeLocation>();
  for (const [k, v] of locations) {
    if (k === prefix) out.set('', v);
    else if (k.startsWith(prefix + '.')) out.set(k.slice(prefix.length + 1), v);
    else if (k.startsWith(prefix + '[')) out.set(k.slice(prefix.length), v);
  }
  return out;
}

/** Parses every policy in `text`. Never throws: problems are returned as diagnostics. */
export function parsePolicies(text: string, options: LoadOptions = {}): ParseResult {
  const file = options.file;
  const resolveSecret = options.resolveSecret ?? createFileSecretResolver();
  const diagnostics: PolicyDiagnostic[] = [];
  const policies: Policy[] = [];
  const { documents, errors } = toYamlDocuments(text);
  for (const e of errors) {
    diagnostics.push({
      ...(file !== undefined ? { file } : {}),
      line: e.line,
      column: e.column,
      severity: 'error',
      message: e.message,
    });
  }

  const handle = (value: unknown, locations: Map<string, NodeLocation>, origin: Position, document: number): void => {
    const diag = new DiagnosticCollector(file, locations, origin);
    if (!isObj(value)) {
      diag.error('', `expected a Kubernetes object (a map with apiVersion and kind), got ${describeValue(value)}`);
      diagnostics.push(...diag.items);
      return;
    }
    const apiVersion = getStr(value, 'apiVersion');
    const kind = getStr(value, 'kind');
    if (kind !== undefined && kind.endsWith('List') && Array.isArray(value['items'])) {
      (value['items'] as unknown[]).forEach((item, i) => {
        const sub = subLocations(locations, `items[${i}]`);
        handle(item, sub, sub.get('')?.value ?? origin, document);
      });
      return;
    }
    const c = classify(apiVersion, kind);
    if (!c.handler) {
      const name = getStr(getObj(value, 'metadata'), 'name');
      const msg = c.problem + (c.severity === 'info' && name && kind ? ` (${kind} ${JSON.stringify(name)})` : '');
      diag.add(c.severity ?? 'info', c.onKind ? 'kind' : c.severity === 'error' ? 'apiVersion' : '', msg);
      diagnostics.push(...diag.items);
      return;
    }
    const schema = c.handler === 'kyverno'
      ? kyvernoPolicySchema
      : c.handler === 'ivpol'
      ? imageValidatingPolicySchema
      : imagePolicySchema;
    const cleaned = (checkSchema(value, schema, '', diag) ?? {}) as Obj;
    const ctx: BuildContext = { diag, resolveSecret };
    const source = { ...(file !== undefined ? { file } : {}), document, line: origin.line, column: origin.column };
    const policy = c.handler === 'kyverno'
      ? toKyvernoPolicy(cleaned, source, ctx)
      : toImageValidatingPolicy(cleaned, source, ctx, options.builtinRules);
    if (policy.format === 'kyverno') checkAutogenAnnotation(policy, diag);
    diagnostics.push(...diag.items);
    if (diag.errorCount === 0) policies.push(policy);
  };

  for (const doc of documents) handle(doc.value, doc.locations, doc.position, doc.index);
  return { policies, diagnostics: sortDiagnostics(diagnostics) };
}

/** `file:line:col: message` lines for the errors in `diagnostics`. */
export function formatErrors(diagnostics: PolicyDiagnostic[]): string {
  return diagnostics
    .filter((d) => d.severity === 'error')
    .map((d) => `${formatLocation(d)}: ${d.message}`)
    .join('\n');
}

function throwIfErrors(diagnostics: PolicyDiagnostic[]): void {
  const errors = diagnostics.filter((d) => d.severity === 'error');
  if (errors.length === 0) return;
  throw new SigwardError('POLICY_INVALID', formatErrors(errors), { detail: { errors } });
}

/**
 * Loads the policies in one YAML/JSON text (several documents allowed).
 * Throws SigwardError POLICY_INVALID listing every error (detail.errors).
 */
export function loadPolicies(text: string, options: LoadOptions = {}): LoadResult {
  const { policies, diagnostics } = parsePolicies(text, options);
  throwIfErrors(diagnostics);
  return { policies, warnings: diagnostics.filter((d) => d.severity !== 'error') };
}

const POLICY_FILE = /\.(ya?ml|json)$/i;

/**
 * Files named by `paths`; directories are walked (lib/file-tree.ts: hidden
 * entries skipped, links followed) for *.yaml, *.yml, *.json. A policy file
 * that cannot be read, an unreadable directory and a link loop are errors.
 */
export function listPolicyFiles(paths: string[], diagnostics: PolicyDiagnostic[]): string[] {
  const files: string[] = [];
  const error = (file: string, message: string) =>
    diagnostics.push({ file, line: 1, column: 1, severity: 'error', message });
  for (const root of paths) {
    walkFileTree(root, (e) => {
      const named = e.path === root || POLICY_FILE.test(e.path);
      switch (e.kind) {
        case 'file':
          if (named) files.push(e.path);
          return;
        case 'missing':
          if (e.path === root) {
            error(root, `cannot read policy path: ${e.error === 'ENOENT' ? 'no such file or directory' : e.error}`);
          } else if (named) {
            error(e.path, `cannot read policy file: ${e.error === 'ENOENT' ? 'a dangling symbolic link' : e.error}`);
          }
          return;
        case 'unreadable':
          error(e.path, `cannot read directory: ${e.error}`);
          return;
        case 'loop':
          error(e.path, `cannot read directory: ${e.error}`);
          return;
        case 'other':
          if (named) error(e.path, 'cannot read policy file: not a regular file');
          return;
        case 'dir':
          return;
      }
    });
  }
  return files;
}

/** Parses every policy under `paths`; never throws. Duplicate policies are errors. */
export function parsePolicyPaths(paths: string[], options: Omit<LoadOptions, 'file'> = {}): ParseResult {
  const diagnostics: PolicyDiagnostic[] = [];
  const policies: Policy[] = [];
  const resolveSecret = options.resolveSecret ?? createFileSecretResolver();
  const seen = new Map<string, Policy>();
  for (const file of listPolicyFiles(paths, diagnostics)) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (e) {
      diagnostics.push({
        file,
        line: 1,
        column: 1,
        severity: 'error',
        message: `cannot read policy file: ${(e as Error).message}`,
      });
      continue;
    }
    const r = parsePolicies(text, { ...options, file, resolveSecret });
    diagnostics.push(...r.diagnostics);
    for (const p of r.policies) {
      const id = `${p.format === 'kyverno' ? 'kyverno' : 'image'}/${p.kind}/${
        p.metadata.namespace ?? ''
      }/${p.metadata.name}`;
      const prev = seen.get(id);
      if (prev) {
        diagnostics.push({
          ...(p.source.file !== undefined ? { file: p.source.file } : {}),
          line: p.source.line,
          column: p.source.column,
          severity: 'error',
          message: `${p.kind} ${JSON.stringify(p.metadata.name)} is already defined at ${
            formatLocation({ ...prev.source })
          }`,
        });
        continue;
      }
      seen.set(id, p);
      policies.push(p);
    }
  }
  return { policies, diagnostics: sortDiagnostics(diagnostics) };
}

/**
 * Loads every policy under `paths` (files and directories, recursively).
 * Non-policy documents are skipped with a note. Throws POLICY_INVALID on errors.
 */
export function loadPolicyPaths(paths: string[], options: Omit<LoadOptions, 'file'> = {}): LoadResult {
  const { policies, diagnostics } = parsePolicyPaths(paths, options);
  throwIfErrors(diagnostics);
  return { policies, warnings: diagnostics.filter((d) => d.severity !== 'error') };
}
