// Key references in policies: literal PEM, `{{ }}` variables, Kubernetes
// Secrets (read from mounted files) and KMS URIs (not usable offline).

import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { SigwardError } from '../errors.ts';
import type { KeySource, SecretResolver } from './types.ts';

export const KMS_PROVIDERS = ['awskms', 'gcpkms', 'azurekms', 'hashivault'] as const;
export type KmsProvider = (typeof KMS_PROVIDERS)[number];

/** The key a Secret must hold (cosign's convention, also Kyverno's). */
export const SECRET_PUBLIC_KEY = 'cosign.pub';

// Kyverno's variable syntax: {{ ... }} not preceded by a backslash.
const VARIABLE = /(^|[^\\])(\{\{(?:\{[^{}]*\}|[^{}])*\}\})/;

/** True when `text` holds a `{{ }}` variable reference (Kyverno syntax, `\{{` escapes). */
export function hasVariables(text: string): boolean {
  return VARIABLE.test(text);
}

/**
 * Splits a multi-key `publicKeys` text into one text per key, as Kyverno does:
 * cut after each `-----END PUBLIC KEY-----` and drop what follows the last
 * one. A text with a single key (or none) is returned unchanged as one item.
 */
export function splitPublicKeys(text: string): string[] {
  const marker = '-----END PUBLIC KEY-----';
  const parts: string[] = [];
  let rest = text;
  for (;;) {
    const i = rest.indexOf(marker);
    if (i < 0) break;
    parts.push(rest.slice(0, i + marker.length).trim());
    rest = rest.slice(i + marker.length);
  }
  return parts.length > 1 ? parts : [text];
}

export function getKmsProvider(ref: string): KmsProvider | undefined {
  const m = /^([a-z]+):\/\//.exec(ref.trim());
  return m && (KMS_PROVIDERS as readonly string[]).includes(m[1]!) ? (m[1] as KmsProvider) : undefined;
}

export function kmsOfflineMessage(uri: string, hint = 'provide the public key with publicKeys'): string {
  return `KMS key ${uri} cannot be used offline: ${hint}`;
}

const K8S_NAME = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;

/** Parses `k8s://<namespace>/<name>`. */
export function parseK8sSecretRef(ref: string): { namespace: string; name: string } | undefined {
  const m = /^k8s:\/\/([^/]+)\/([^/]+)$/.exec(ref.trim());
  if (!m) return undefined;
  return { namespace: m[1]!, name: m[2]! };
}

/** Resolves a Secret's `cosign.pub` through `resolve`. */
export function toSecretKeySource(namespace: string, name: string, resolve: SecretResolver): KeySource {
  const src: KeySource = { kind: 'secret', namespace, name, key: SECRET_PUBLIC_KEY };
  let data: Record<string, string> | undefined;
  try {
    data = resolve(namespace, name);
  } catch (e) {
    src.unresolved = `secret ${namespace}/${name} cannot be read: ${(e as Error).message}`;
    return src;
  }
  if (!data) {
    src.unresolved =
      `secret ${namespace}/${name} not found: mount it so that $SIGWARD_SECRETS_DIR/${namespace}/${name}/${SECRET_PUBLIC_KEY} holds the public key`;
  } else if (data[SECRET_PUBLIC_KEY] === undefined) {
    src.unresolved = `secret ${namespace}/${name} has no key ${SECRET_PUBLIC_KEY}`;
  } else {
    src.pem = data[SECRET_PUBLIC_KEY];
  }
  return src;
}

/**
 * Classifies a key reference as written in `publicKeys` (or ivpol `key.data`):
 * PEM, variable, k8s:// Secret, KMS URI, or something sigward cannot load.
 */
export function toKeySource(ref: string, resolve: SecretResolver, kmsHint?: string): KeySource {
  const text = ref.trim();
  if (hasVariables(ref)) return { kind: 'variable', text: ref };
  if (text.includes('-----BEGIN')) return { kind: 'pem', pem: ref };
  if (text.startsWith('k8s://')) {
    const s = parseK8sSecretRef(text);
    if (!s) {
      return {
        kind: 'unsupported',
        ref: text,
        unresolved: `invalid secret reference ${JSON.stringify(text)}: expected k8s://<namespace>/<name>`,
      };
    }
    return toSecretKeySource(s.namespace, s.name, resolve);
  }
  const provider = getKmsProvider(text);
  if (provider) return { kind: 'kms', uri: text, provider, unresolved: kmsOfflineMessage(text, kmsHint) };
  return {
    kind: 'unsupported',
    ref: text,
    unresolved: `key ${
      JSON.stringify(text.length > 80 ? text.slice(0, 77) + '...' : text)
    } cannot be loaded: expected a PEM public key, k8s://<namespace>/<name> or a {{ variable }}`,
  };
}

/** Unresolved message of a key source, if any. */
export function getUnresolved(src: KeySource | undefined): string | undefined {
  if (!src) return undefined;
  return 'unresolved' in src ? src.unresolved : undefined;
}

/**
 * Default SecretResolver: `$SIGWARD_SECRETS_DIR/<namespace>/<name>/<key>` files
 * (the layout of a Secret volume mount). Returns undefined when the variable is
 * unset or the directory does not exist.
 */
export function createFileSecretResolver(dir: string | undefined = process.env['SIGWARD_SECRETS_DIR']): SecretResolver {
  return createMountResolver(dir);
}

/**
 * ConfigMaps for rule `context` entries: `$SIGWARD_CONFIGMAPS_DIR/<namespace>/<name>/<key>`
 * files (a ConfigMap volume mount per ConfigMap), read when a rule is evaluated.
 */
export function createFileConfigMapResolver(
  dir: string | undefined = process.env['SIGWARD_CONFIGMAPS_DIR'],
): SecretResolver {
  return createMountResolver(dir);
}

/** `<dir>/<namespace>/<name>/<key>` files, as kubelet mounts a Secret or ConfigMap volume. */
function createMountResolver(dir: string | undefined): SecretResolver {
  return (namespace, name) => {
    if (!dir) return undefined;
    if (!K8S_NAME.test(namespace) || !K8S_NAME.test(name)) return undefined;
    const base = join(dir, namespace, name);
    let names: string[];
    try {
      if (!statSync(base).isDirectory()) return undefined;
      names = readdirSync(base);
    } catch {
      return undefined;
    }
    const data: Record<string, string> = {};
    for (const n of names) {
      if (n.startsWith('..')) continue; // kubelet's ..data / timestamped dirs
      const p = join(base, n);
      try {
        if (statSync(p).isFile()) data[n] = readFileSync(p, 'utf8');
      } catch {
        // unreadable entries are skipped
      }
    }
    return data;
  };
}

/**
 * The pull Secret files of imageRegistryCredentials.secrets (Kyverno reads
 * them from its own namespace): `$SIGWARD_SECRETS_DIR/<namespace>/<name>/.dockerconfigjson`,
 * a bare name in `$SIGWARD_NAMESPACE` (default `kyverno`), `namespace/name`
 * as written. Throws CONFIG_INVALID when no secrets directory is set.
 */
export function getPullSecretFiles(
  names: string[],
  dir: string | undefined = process.env['SIGWARD_SECRETS_DIR'],
  namespace = process.env['SIGWARD_NAMESPACE'] || 'kyverno',
): string[] {
  if (!names.length) return [];
  if (!dir) {
    throw new SigwardError(
      'CONFIG_INVALID',
      `imageRegistryCredentials.secrets ${
        names.join(', ')
      }: sigward reads pull Secrets from $SIGWARD_SECRETS_DIR/<namespace>/<name>/.dockerconfigjson; set SIGWARD_SECRETS_DIR`,
    );
  }
  return names.map((n) => {
    const [ns, name] = n.includes('/') ? (n.split('/', 2) as [string, string]) : [namespace, n];
    if (!K8S_NAME.test(ns) || !K8S_NAME.test(name)) {
      throw new SigwardError(
        'CONFIG_INVALID',
        `imageRegistryCredentials.secrets: ${JSON.stringify(n)} is not a Secret name`,
      );
    }
    return join(dir, ns, name, '.dockerconfigjson');
  });
}
