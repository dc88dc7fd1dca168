// Node-level configuration: one fixed directory, because containerd passes
// nothing but the image name and digest to a verifier.
//
//   /etc/sigward/                 ($SIGWARD_CONFIG_DIR overrides)
//     config.yaml                 registry access, deadline, cache (optional)
//     policies/                   Kyverno / sigward policy YAML (required)
//     trust/                      trusted_root.json and PEM overrides (optional)
//       trusted_root.json           Sigstore trusted root (default: embedded public-good root)
//       fulcio.pem                  Fulcio root/intermediates  (like SIGSTORE_ROOT_FILE)
//       rekor.pub                   Rekor public key(s)        (like SIGSTORE_REKOR_PUBLIC_KEY)
//       ctlog.pub                   CT log public key(s)       (like SIGSTORE_CT_LOG_PUBLIC_KEY_FILE)
//       tsa.pem                     TSA certificate chain      (like SIGSTORE_TSA_CERTIFICATE_FILE)
//     secrets/<ns>/<name>/<key>   Secrets named by policies (k8s://ns/name keys)
//
// Relative paths in config.yaml are relative to the configuration directory.

import { existsSync, readFileSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { SigwardError } from '../errors.ts';

export const DEFAULT_CONFIG_DIR = '/etc/sigward';
export const DEFAULT_CACHE_DIR = '/var/cache/sigward';
export const CONFIG_DIR_ENV = 'SIGWARD_CONFIG_DIR';
/** containerd's default per_verifier_timeout is 10 s: answer well before it */
export const DEFAULT_DEADLINE_SECONDS = 8;
export const DEFAULT_CACHE_TTL_SECONDS = 3600;
export const DEFAULT_REGISTRY_TIMEOUT_SECONDS = 5;

/** trust/ file name -> the cosign environment variable it stands for */
export const TRUST_FILES: Record<string, string> = {
  'fulcio.pem': 'SIGSTORE_ROOT_FILE',
  'rekor.pub': 'SIGSTORE_REKOR_PUBLIC_KEY',
  'ctlog.pub': 'SIGSTORE_CT_LOG_PUBLIC_KEY_FILE',
  'tsa.pem': 'SIGSTORE_TSA_CERTIFICATE_FILE',
};

export interface NodeRegistryConfig {
  /** host[:port] allowed plain HTTP or unverified TLS */
  insecure: string[];
  /** allow plain HTTP for every registry */
  allowHttp: boolean;
  /** PEM files of extra registry CAs */
  caFiles: string[];
  /** Docker config.json with credentials (default: $DOCKER_CONFIG or ~/.docker/config.json of the containerd user) */
  dockerConfig?: string;
  /** Kubernetes dockerconfigjson Secret files (pull secrets) */
  pullSecrets: string[];
  /** per-request timeout */
  timeoutSeconds: number;
}

export interface NodeConfig {
  dir: string;
  policiesDir: string;
  trustDir: string;
  secretsDir: string;
  /** Kyverno defaultRegistry for names without a registry */
  defaultRegistry?: string;
  /** the whole verification must answer within this */
  deadlineSeconds: number;
  registry: NodeRegistryConfig;
  cache: { enabled: boolean; dir: string; ttlSeconds: number };
}

/** The configuration directory: $SIGWARD_CONFIG_DIR, else /etc/sigward. */
export function getConfigDir(env: Record<string, string | undefined>): string {
  const d = env[CONFIG_DIR_ENV];
  return d && d.trim() ? d : DEFAULT_CONFIG_DIR;
}

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function checkKeys(o: Obj, allowed: string[], where: string): void {
  for (const k of Object.keys(o)) {
    if (!allowed.includes(k)) {
      throw new SigwardError('CONFIG_INVALID', `${where}: unknown key "${k}" (known: ${allowed.join(', ')})`);
    }
  }
}

function str(o: Obj, k: string, where: string): string | undefined {
  const v = o[k];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string' || !v) {
    throw new SigwardError('CONFIG_INVALID', `${where}.${k}: expected a non-empty string`);
  }
  return v;
}

function strList(o: Obj, k: string, where: string): string[] {
  const v = o[k];
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v) || v.some((x) => typeof x !== 'string' || !x)) {
    throw new SigwardError('CONFIG_INVALID', `${where}.${k}: expected a list of strings`);
  }
  return v as string[];
}

function num(o: Obj, k: string, where: string, min: number, max: number): number | undefined {
  const v = o[k];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < min || v > max) {
    throw new SigwardError('CONFIG_INVALID', `${where}.${k}: expected a number from ${min} to ${max}`);
  }
  return v;
}

function bool(o: Obj, k: string, where: string): boolean | undefined {
  const v = o[k];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'boolean') throw new SigwardError('CONFIG_INVALID', `${where}.${k}: expected true or false`);
  return v;
}

const TOP_KEYS = ['registry', 'defaultRegistry', 'deadlineSeconds', 'cache', 'policiesDir', 'trustDir', 'secretsDir'];
const SECTION_KEYS: Record<string, string[]> = {
  registry: ['insecure', 'allowHttp', 'caFiles', 'dockerConfig', 'pullSecrets', 'timeoutSeconds'],
  cache: ['enabled', 'dir', 'ttlSeconds'],
};
/** YAML 1.2 core-schema words that are not strings (null and booleans; numbers cannot start with a letter or /) */
const NOT_STRINGS = new Set(['null', 'Null', 'NULL', 'true', 'True', 'TRUE', 'false', 'False', 'FALSE']);

function toPlainScalar(v: string): { value: unknown } | undefined {
  if (v === '[]') return { value: [] };
  if (v === 'true' || v === 'false') return { value: v === 'true' };
  if (/^(?:0|[1-9][0-9]{0,8})$/.test(v)) return { value: Number(v) };
  if (/^[A-Za-z/][A-Za-z0-9_./-]*$/.test(v) && !NOT_STRINGS.has(v)) return { value: v };
  return undefined;
}

/**
 * config.yaml in its plain form, read without the YAML library: known keys
 * only, `key: value` at the top or indented by two spaces under `registry:` or
 * `cache:`, whole-line comments, and values that are `true`, `false`, a
 * decimal integer, `[]` or a word of letters, digits and `_./-` starting with a
 * letter or `/`. Such a file means to YAML exactly what this returns (a test
 * compares it with the yaml library's reading); anything else is undefined
 * and left to the YAML library. It lets the single executable's first stage
 * answer a cached verdict without loading that library.
 */
export function toPlainConfigDoc(text: string): Record<string, unknown> | undefined {
  if (/[^\x20-\x7e\n]/.test(text)) return undefined;
  const doc: Record<string, unknown> = {};
  let section: { key: string; map: Record<string, unknown> } | undefined;
  for (const line of text.split('\n')) {
    if (/^ *(?:#.*)?$/.test(line)) continue;
    const m = /^( {2})?([A-Za-z]+):(?: (.*))?$/.exec(line);
    if (!m) return undefined;
    const indent = m[1];
    const key = m[2]!;
    const raw = m[3];
    const scalar = raw === undefined ? { value: null } : toPlainScalar(raw);
    if (!scalar) return undefined;
    if (indent) {
      if (!section || !SECTION_KEYS[section.key]!.includes(key) || key in section.map) return undefined;
      section.map[key] = scalar.value;
      doc[section.key] = section.map;
      continue;
    }
    if (!TOP_KEYS.includes(key) || key in doc) return undefined;
    doc[key] = scalar.value;
    section = raw === undefined && key in SECTION_KEYS ? { key, map: {} } : undefined;
  }
  return doc;
}

/**
 * Parses config.yaml text (strict: unknown keys are errors, so a typo never
 * silently weakens the node). `dir` anchors relative paths.
 */
export function toNodeConfig(
  text: string | undefined,
  dir: string,
  env: Record<string, string | undefined> = {},
): NodeConfig {
  let doc: unknown = {};
  if (text !== undefined && text.trim()) {
    try {
      doc = toPlainConfigDoc(text) ?? parseYaml(text) ?? {};
    } catch (e) {
      throw new SigwardError('CONFIG_INVALID', `${join(dir, 'config.yaml')}: ${(e as Error).message.split('\n')[0]}`, {
        cause: e,
      });
    }
  }
  const where = 'config.yaml';
  if (!isObj(doc)) throw new SigwardError('CONFIG_INVALID', `${where}: expected a mapping`);
  checkKeys(
    doc,
    ['registry', 'defaultRegistry', 'deadlineSeconds', 'cache', 'policiesDir', 'trustDir', 'secretsDir'],
    where,
  );
  const abs = (p: string) => (isAbsolute(p) ? p : join(dir, p));
  const reg = doc.registry ?? {};
  if (!isObj(reg)) throw new SigwardError('CONFIG_INVALID', `${where}.registry: expected a mapping`);
  checkKeys(
    reg,
    ['insecure', 'allowHttp', 'caFiles', 'dockerConfig', 'pullSecrets', 'timeoutSeconds'],
    `${where}.registry`,
  );
  const cache = doc.cache ?? {};
  if (!isObj(cache)) throw new SigwardError('CONFIG_INVALID', `${where}.cache: expected a mapping`);
  checkKeys(cache, ['enabled', 'dir', 'ttlSeconds'], `${where}.cache`);
  const cacheDir = str(cache, 'dir', `${where}.cache`);
  const dockerConfig = str(reg, 'dockerConfig', `${where}.registry`);
  return {
    dir,
    policiesDir: abs(str(doc, 'policiesDir', where) ?? 'policies'),
    trustDir: abs(str(doc, 'trustDir', where) ?? 'trust'),
    secretsDir: abs(str(doc, 'secretsDir', where) ?? 'secrets'),
    defaultRegistry: str(doc, 'defaultRegistry', where),
    deadlineSeconds: num(doc, 'deadlineSeconds', where, 1, 600) ?? DEFAULT_DEADLINE_SECONDS,
    registry: {
      insecure: strList(reg, 'insecure', `${where}.registry`),
      allowHttp: bool(reg, 'allowHttp', `${where}.registry`) ?? false,
      caFiles: strList(reg, 'caFiles', `${where}.registry`).map(abs),
      ...(dockerConfig ? { dockerConfig: abs(dockerConfig) } : {}),
      pullSecrets: strList(reg, 'pullSecrets', `${where}.registry`).map(abs),
      timeoutSeconds: num(reg, 'timeoutSeconds', `${where}.registry`, 0.1, 600) ?? DEFAULT_REGISTRY_TIMEOUT_SECONDS,
    },
    cache: {
      enabled: bool(cache, 'enabled', `${where}.cache`) ?? true,
      dir: cacheDir ? abs(cacheDir) : env.SIGWARD_CACHE_DIR || DEFAULT_CACHE_DIR,
      ttlSeconds: num(cache, 'ttlSeconds', `${where}.cache`, 0, 30 * 86400) ?? DEFAULT_CACHE_TTL_SECONDS,
    },
  };
}

/** Reads <dir>/config.yaml (absent: defaults). */
export function loadNodeConfig(dir: string, env: Record<string, string | undefined> = {}): NodeConfig {
  const path = join(dir, 'config.yaml');
  let text: string | undefined;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== 'ENOENT') {
      throw new SigwardError('CONFIG_INVALID', `cannot read ${path}: ${code ?? (e as Error).message}`, { cause: e });
    }
    if (!existsSync(dir)) {
      throw new SigwardError(
        'CONFIG_INVALID',
        `configuration directory ${dir} does not exist (set ${CONFIG_DIR_ENV} or create it)`,
      );
    }
  }
  return toNodeConfig(text, dir, env);
}

/** The trust/ directory as cosign-style inputs for loadTrustMaterial. */
export function getTrustInputs(trustDir: string): { trustedRootPath?: string; env: Record<string, string> } {
  const env: Record<string, string> = {};
  for (const [file, name] of Object.entries(TRUST_FILES)) {
    const p = join(trustDir, file);
    if (existsSync(p)) env[name] = p;
  }
  const root = join(trustDir, 'trusted_root.json');
  return { ...(existsSync(root) ? { trustedRootPath: root } : {}), env };
}
