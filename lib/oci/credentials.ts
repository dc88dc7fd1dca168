// Registry credentials: Docker config.json (auths, credHelpers, credsStore),
// Kubernetes image pull Secrets, and a chain combinator.

import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { SigwardError } from '../errors.ts';
import { compileGoRegex } from '../go-regex.ts';

export type Credential =
  | { username: string; password: string }
  /** OAuth2 refresh token (docker `identitytoken`, helper username `<token>`) */
  | { identityToken: string }
  /** a bearer token sent as is (docker `registrytoken`) */
  | { registryToken: string };

/** Looks up credentials for a registry host[:port] (as the user wrote it, e.g. `docker.io`). */
export type CredentialProvider = (registry: string, repository?: string) => Promise<Credential | undefined>;

export interface DockerAuthEntry {
  auth?: string;
  username?: string;
  password?: string;
  identitytoken?: string;
  registrytoken?: string;
}

export interface DockerConfigFile {
  auths?: Record<string, DockerAuthEntry>;
  credHelpers?: Record<string, string>;
  credsStore?: string;
}

/** The key Docker uses for Docker Hub in config files and with credential helpers. */
export const DOCKER_HUB_AUTH_KEY = 'https://index.docker.io/v1/';
const HUB_HOSTS = new Set(['docker.io', 'index.docker.io', 'registry-1.docker.io']);

export function isDockerHub(registry: string): boolean {
  return HUB_HOSTS.has(registry.toLowerCase());
}

/** The server address Docker passes to credential helpers for a registry. */
export function dockerServerAddress(registry: string): string {
  return isDockerHub(registry) ? DOCKER_HUB_AUTH_KEY : registry;
}

/** Docker's ConvertToHostname: strip the scheme, keep what is before the first `/`. */
export function toHostname(key: string): string {
  let s = key.trim();
  if (s.startsWith('http://')) s = s.slice(7);
  else if (s.startsWith('https://')) s = s.slice(8);
  return s.split('/')[0]!.toLowerCase();
}

/** `$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`. */
export function dockerConfigPath(env: NodeJS.ProcessEnv = process.env): string {
  const dir = env.DOCKER_CONFIG || join(env.HOME || homedir(), '.docker');
  return join(dir, 'config.json');
}

function configError(msg: string, cause?: unknown): SigwardError {
  return new SigwardError('CONFIG_INVALID', msg, cause === undefined ? {} : { cause });
}

/** Parses config.json text. */
export function parseDockerConfig(text: string, source = 'docker config'): DockerConfigFile {
  let o: unknown;
  try {
    o = JSON.parse(text);
  } catch (e) {
    throw configError(`${source}: invalid JSON (${(e as Error).message})`, e);
  }
  if (typeof o !== 'object' || o === null || Array.isArray(o)) throw configError(`${source}: not a JSON object`);
  return o as DockerConfigFile;
}

/** Decodes one auths entry into a credential (auth base64 "user:pass", username/password, tokens). */
export function toCredential(entry: DockerAuthEntry | undefined): Credential | undefined {
  if (!entry || typeof entry !== 'object') return undefined;
  if (typeof entry.identitytoken === 'string' && entry.identitytoken) return { identityToken: entry.identitytoken };
  if (typeof entry.registrytoken === 'string' && entry.registrytoken) return { registryToken: entry.registrytoken };
  let { username, password } = entry;
  if (typeof entry.auth === 'string' && entry.auth) {
    const decoded = Buffer.from(entry.auth, 'base64').toString('utf8');
    const i = decoded.indexOf(':');
    if (i < 0) throw configError('docker config: an `auth` value is not base64 of "user:password"');
    username = decoded.slice(0, i);
    password = decoded.slice(i + 1);
  }
  if (typeof username === 'string' && username && typeof password === 'string') {
    if (username === '<token>') return { identityToken: password };
    return { username, password };
  }
  return undefined;
}

/** Finds the auths entry for a registry the way Docker does (exact key, then hostname of each key). */
export function getAuthEntry(
  auths: Record<string, DockerAuthEntry> | undefined,
  registry: string,
): DockerAuthEntry | undefined {
  if (!auths || typeof auths !== 'object') return undefined;
  const reg = registry.toLowerCase();
  const hub = isDockerHub(reg);
  if (hub && auths[DOCKER_HUB_AUTH_KEY]) return auths[DOCKER_HUB_AUTH_KEY];
  if (auths[registry]) return auths[registry];
  for (const [k, v] of Object.entries(auths)) {
    const h = toHostname(k);
    if (h === reg || (hub && HUB_HOSTS.has(h))) return v;
  }
  return undefined;
}

export interface HelperOptions {
  env?: NodeJS.ProcessEnv;
  timeoutMs?: number;
}

/** Runs `docker-credential-<name> get` with the server address on stdin. */
export function runCredentialHelper(
  name: string,
  serverAddress: string,
  opts: HelperOptions = {},
): Promise<Credential | undefined> {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(name)) {
    return Promise.reject(configError(`docker config: invalid credential helper name ${JSON.stringify(name)}`));
  }
  const program = `docker-credential-${name}`;
  const timeoutMs = opts.timeoutMs ?? 10_000;
  return new Promise((resolve, reject) => {
    // looked up here: loading node:child_process costs every start that runs no credential helper 1-2 ms
    const child = process.getBuiltinModule('node:child_process').spawn(program, ['get'], {
      env: opts.env ?? process.env,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new SigwardError('REGISTRY_UNAUTHORIZED', `credential helper ${program} timed out after ${timeoutMs} ms`));
    }, timeoutMs);
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.on('data', (c: Buffer) => err.push(c));
    child.on('error', (e: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      const why = e.code === 'ENOENT' ? 'not found on PATH' : e.message;
      reject(new SigwardError('REGISTRY_UNAUTHORIZED', `credential helper ${program} failed: ${why}`, { cause: e }));
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      const stdout = Buffer.concat(out).toString('utf8').trim();
      if (code !== 0) {
        const msg = `${stdout}\n${Buffer.concat(err).toString('utf8')}`;
        if (/credentials not found/i.test(msg)) return resolve(undefined);
        const first = Buffer.concat(err).toString('utf8').trim().split('\n')[0] || `exit code ${code}`;
        return reject(
          new SigwardError('REGISTRY_UNAUTHORIZED', `credential helper ${program} failed: ${first.slice(0, 200)}`),
        );
      }
      let o: { Username?: unknown; Secret?: unknown };
      try {
        o = JSON.parse(stdout) as typeof o;
      } catch {
        return reject(new SigwardError('REGISTRY_UNAUTHORIZED', `credential helper ${program} printed invalid JSON`));
      }
      const username = typeof o.Username === 'string' ? o.Username : '';
      const secret = typeof o.Secret === 'string' ? o.Secret : '';
      if (!secret) return resolve(undefined);
      if (username === '<token>') return resolve({ identityToken: secret });
      resolve({ username, password: secret });
    });
    child.stdin.on('error', () => {});
    child.stdin.end(serverAddress);
  });
}

/** Credentials from an in-memory Docker config (credHelpers, then credsStore, then auths). */
export function dockerConfigJsonCredentials(config: DockerConfigFile, opts: HelperOptions = {}): CredentialProvider {
  return async (registry) => {
    const reg = registry.toLowerCase();
    let helper: string | undefined;
    if (config.credHelpers && typeof config.credHelpers === 'object') {
      for (const [k, v] of Object.entries(config.credHelpers)) {
        const h = toHostname(k);
        if (h === reg || (isDockerHub(reg) && isDockerHub(h))) {
          helper = v;
          break;
        }
      }
    }
    helper ??= typeof config.credsStore === 'string' && config.credsStore ? config.credsStore : undefined;
    if (helper) {
      const c = await runCredentialHelper(helper, dockerServerAddress(registry), opts);
      if (c) return c;
    }
    return toCredential(getAuthEntry(config.auths, registry));
  };
}

/** Credentials from `$DOCKER_CONFIG/config.json` or `~/.docker/config.json` (or `path`), read on each call; a missing file means anonymous. */
export function dockerConfigCredentials(opts: HelperOptions & { path?: string } = {}): CredentialProvider {
  return async (registry, repository) => {
    const path = opts.path ?? dockerConfigPath(opts.env);
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw configError(`cannot read docker config ${path}: ${(e as Error).message}`, e);
    }
    return dockerConfigJsonCredentials(parseDockerConfig(text, path), opts)(registry, repository);
  };
}

/**
 * Parses a Kubernetes image pull Secret (YAML or JSON; `kubernetes.io/dockerconfigjson`
 * with `data[.dockerconfigjson]` base64 or `stringData`, legacy `kubernetes.io/dockercfg`,
 * a `List` of Secrets) or a raw `.dockerconfigjson` / `.dockercfg` file, into auths.
 */
export function parseKubernetesPullSecret(text: string, source = 'pull secret'): Record<string, DockerAuthEntry> {
  let o: unknown;
  try {
    o = parseYaml(text);
  } catch (e) {
    throw configError(`${source}: not YAML or JSON (${(e as Error).message})`, e);
  }
  const auths: Record<string, DockerAuthEntry> = {};
  const add = (a: unknown): void => {
    if (typeof a === 'object' && a !== null && !Array.isArray(a)) Object.assign(auths, a);
  };
  const fromSecret = (s: Record<string, unknown>): void => {
    const data = (s.data ?? {}) as Record<string, unknown>;
    const stringData = (s.stringData ?? {}) as Record<string, unknown>;
    const pick = (key: string): string | undefined => {
      if (typeof stringData[key] === 'string') return stringData[key] as string;
      if (typeof data[key] === 'string') return Buffer.from(data[key] as string, 'base64').toString('utf8');
      return undefined;
    };
    const json = pick('.dockerconfigjson');
    if (json !== undefined) add(parseDockerConfig(json, source).auths);
    const cfg = pick('.dockercfg');
    if (cfg !== undefined) add(parseDockerConfig(cfg, source));
  };
  if (typeof o !== 'object' || o === null || Array.isArray(o)) throw configError(`${source}: not an object`);
  const obj = o as Record<string, unknown>;
  if (obj.kind === 'List' && Array.isArray(obj.items)) {
    for (const it of obj.items) if (typeof it === 'object' && it !== null) fromSecret(it as Record<string, unknown>);
  } else if (obj.kind === 'Secret' || obj.data !== undefined || obj.stringData !== undefined) {
    fromSecret(obj);
  } else if (obj.auths !== undefined) {
    add(obj.auths);
  } else {
    add(obj); // legacy .dockercfg: registry -> entry
  }
  return auths;
}

// One DNS label against one glob label (`*`: any run within the label). On RE2:
// a JavaScript RegExp of a*a*a*...b takes polynomial time of high degree on a
// long label (8 stars, 60 characters: 33 s), and the label comes from an image name.
function globLabel(pattern: string, label: string): boolean {
  const re = compileGoRegex(
    `^${pattern.split('*').map((p) => p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('[^.]*')}$`,
  );
  return re.test(label);
}

/**
 * Kubelet-style match of a pull secret key (`host[:port][/path]`, optional scheme,
 * `*` globs per DNS label) against a registry and repository. Returns a specificity
 * score (higher = more specific) or -1.
 */
export function matchPullSecretKey(key: string, registry: string, repository = ''): number {
  let k = key.trim().toLowerCase();
  k = k.replace(/^https?:\/\//, '');
  const slash = k.indexOf('/');
  let hostPort = slash < 0 ? k : k.slice(0, slash);
  let path = slash < 0 ? '' : k.slice(slash + 1).replace(/\/+$/, '');
  const reg = registry.toLowerCase();
  if (isDockerHub(hostPort)) {
    if (!isDockerHub(reg)) return -1;
    if (path === 'v1') path = '';
    hostPort = reg;
  }
  const [kh, kp = ''] = splitHostPort(hostPort);
  const [rh, rp = ''] = splitHostPort(reg);
  if (kp !== rp) return -1;
  const kl = kh.split('.');
  const rl = rh.split('.');
  if (kl.length !== rl.length || !kl.every((l, i) => globLabel(l, rl[i]!))) return -1;
  if (path && !(repository === path || repository.startsWith(`${path}/`))) return -1;
  return key.length;
}

function splitHostPort(hp: string): [string, string?] {
  const m = /^(\[[^\]]+\]|[^:]+)(?::(\d+))?$/.exec(hp);
  return m ? [m[1]!, m[2]] : [hp];
}

/** Credentials from Kubernetes pull Secret files (kubelet key matching), read once. */
export function kubernetesSecretCredentials(files: string | string[]): CredentialProvider {
  const list = Array.isArray(files) ? files : [files];
  let loaded: Promise<Record<string, DockerAuthEntry>> | undefined;
  const load = async (): Promise<Record<string, DockerAuthEntry>> => {
    const all: Record<string, DockerAuthEntry> = {};
    for (const f of list) {
      let text: string;
      try {
        text = await readFile(f, 'utf8');
      } catch (e) {
        throw configError(`cannot read pull secret ${f}: ${(e as Error).message}`, e);
      }
      Object.assign(all, parseKubernetesPullSecret(text, f));
    }
    return all;
  };
  return async (registry, repository) => {
    loaded ??= load();
    return getPullSecretCredential(await loaded, registry, repository);
  };
}

/** Credentials from already-parsed pull secret auths (kubelet key matching, most specific key wins). */
export function getPullSecretCredential(
  auths: Record<string, DockerAuthEntry>,
  registry: string,
  repository?: string,
): Credential | undefined {
  let best: { score: number; entry: DockerAuthEntry } | undefined;
  for (const [k, v] of Object.entries(auths)) {
    const score = matchPullSecretKey(k, registry, repository);
    if (score >= 0 && (!best || score > best.score) && toCredential(v)) best = { score, entry: v };
  }
  return best ? toCredential(best.entry) : undefined;
}

/** Tries providers in order; the first credential found wins. */
export function chainCredentials(...providers: Array<CredentialProvider | undefined>): CredentialProvider {
  const ps = providers.filter((p): p is CredentialProvider => typeof p === 'function');
  return async (registry, repository) => {
    for (const p of ps) {
      const c = await p(registry, repository);
      if (c) return c;
    }
    return undefined;
  };
}

/** A fixed map registry -> credential (tests, flags such as --registry-username). */
export function staticCredentials(map: Record<string, Credential>): CredentialProvider {
  return async (registry) =>
    map[registry] ?? (isDockerHub(registry) ? Object.entries(map).find(([k]) => isDockerHub(k))?.[1] : undefined);
}
