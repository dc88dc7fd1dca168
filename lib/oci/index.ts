// OCI storage: registry client, OCI layouts, credentials, and small helpers.

import { SigwardError } from '../errors.ts';
import { LayoutStore } from './layout.ts';
import type { LayoutStoreOptions } from './layout.ts';
import { RegistryClient } from './registry.ts';
import type { RegistryClientOptions } from './registry.ts';
import type { OciStore, RepositoryRef } from './types.ts';
import { chainCredentials, kubernetesSecretCredentials } from './credentials.ts';

export * from './types.ts';
export { computeDigest, digestTag, isDigest, parseDigest, verifyDigest } from '../digest.ts';
export type { DigestAlgorithm } from '../digest.ts';
export {
  baseMediaType,
  isImageIndex,
  isIndexMediaType,
  isManifestMediaType,
  MANIFEST_ACCEPT,
  parsePlatform,
  selectPlatform,
  toManifest,
} from './manifest.ts';
export {
  apiHost,
  DEFAULT_MAX_BLOB_BYTES,
  DEFAULT_MAX_MANIFEST_BYTES,
  DEFAULT_USER_AGENT,
  isLoopbackHost,
  referrerDescriptor,
  RegistryClient,
} from './registry.ts';
export type { RegistryClientOptions, RegistryLogger } from './registry.ts';
export { ensureLayout, LayoutStore, readIndex, REF_NAME_ANNOTATION } from './layout.ts';
export type { LayoutStoreOptions } from './layout.ts';
export {
  chainCredentials,
  DOCKER_HUB_AUTH_KEY,
  dockerConfigCredentials,
  dockerConfigJsonCredentials,
  dockerConfigPath,
  dockerServerAddress,
  getAuthEntry,
  getPullSecretCredential,
  kubernetesSecretCredentials,
  matchPullSecretKey,
  parseDockerConfig,
  parseKubernetesPullSecret,
  runCredentialHelper,
  staticCredentials,
  toCredential,
} from './credentials.ts';
export type { Credential, CredentialProvider, DockerAuthEntry, DockerConfigFile } from './credentials.ts';
export { parseWwwAuthenticate } from './auth.ts';
export type { Challenge } from './auth.ts';

export type OpenStoreOptions = RegistryClientOptions & LayoutStoreOptions;

const DEFAULT_OPTIONS: OpenStoreOptions = {};
const clients = new WeakMap<OpenStoreOptions, RegistryClient>();
const layouts = new WeakMap<OpenStoreOptions, LayoutStore>();

/**
 * The store for a repository: a RegistryClient (one per options object, so connections
 * and tokens are reused) or a LayoutStore for `oci-layout` references.
 */
export function openStore(ref: Pick<RepositoryRef, 'transport'>, opts: OpenStoreOptions = DEFAULT_OPTIONS): OciStore {
  if (ref.transport === 'oci-layout') {
    let l = layouts.get(opts);
    if (!l) {
      l = new LayoutStore(opts);
      layouts.set(opts, l);
    }
    return l;
  }
  if (ref.transport !== 'registry') {
    throw new SigwardError(
      'REFERENCE_INVALID',
      `unknown transport ${JSON.stringify((ref as { transport: unknown }).transport)}`,
    );
  }
  let c = clients.get(opts);
  if (!c) {
    c = new RegistryClient(opts);
    clients.set(opts, c);
  }
  return c;
}

const REPO_RE = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$/;

/**
 * Where signatures/attestations of an image live: the image's own repository, or the
 * COSIGN_REPOSITORY-style override (`registry/repo`, Docker Hub names normalised, or
 * `oci:DIR`). The digest being looked up stays the image's digest.
 */
export function signatureRepository(repo: RepositoryRef, override?: string): RepositoryRef {
  const o = override?.trim();
  if (!o) return { transport: repo.transport, registry: repo.registry, repository: repo.repository };
  if (o.startsWith('oci:')) {
    const dir = o.slice(4);
    if (!dir) throw new SigwardError('REFERENCE_INVALID', `invalid signature repository ${JSON.stringify(o)}`);
    return { transport: 'oci-layout', registry: dir, repository: '' };
  }
  if (/[@\s]/.test(o) || /:[^/]*$/.test(o.split('/').slice(1).join('/') || '')) {
    throw new SigwardError(
      'REFERENCE_INVALID',
      `invalid signature repository ${JSON.stringify(o)}: expected registry/repository without tag or digest`,
    );
  }
  const slash = o.indexOf('/');
  const first = slash < 0 ? '' : o.slice(0, slash);
  let registry: string;
  let repository: string;
  if (first && (first.includes('.') || first.includes(':') || first === 'localhost')) {
    registry = first.toLowerCase();
    repository = o.slice(slash + 1);
  } else {
    registry = 'docker.io';
    repository = o;
  }
  if (registry === 'index.docker.io' || registry === 'registry-1.docker.io') registry = 'docker.io';
  if (registry === 'docker.io' && !repository.includes('/')) repository = `library/${repository}`;
  if (!REPO_RE.test(repository)) {
    throw new SigwardError(
      'REFERENCE_INVALID',
      `invalid signature repository ${JSON.stringify(o)}: bad repository name`,
    );
  }
  return { transport: 'registry', registry, repository };
}

/** A policy entry's own registry access (Kyverno imageRegistryCredentials / ImageValidatingPolicy credentials). */
export interface EntryRegistryAccess {
  /** Kubernetes pull Secret files (`.dockerconfigjson`), tried before the credentials sigward runs with */
  secretFiles: string[];
  /** plain HTTP and unverified TLS allowed for this entry's registries */
  allowInsecureRegistry: boolean;
}

/** The store options for an entry's own registry access, on top of the ones sigward runs with. */
export function withEntryRegistryAccess(base: OpenStoreOptions, access: EntryRegistryAccess): OpenStoreOptions {
  return {
    ...base,
    ...(access.secretFiles.length
      ? { credentials: chainCredentials(kubernetesSecretCredentials(access.secretFiles), base.credentials) }
      : {}),
    ...(access.allowInsecureRegistry ? { allowInsecure: true } : {}),
  };
}

/** Stores for policy entries' own registry access over `base`: one set of options (so one client) per distinct access. */
export function storesForOptions(
  base: OpenStoreOptions,
): (access: EntryRegistryAccess) => (repo: RepositoryRef) => OciStore {
  const made = new Map<string, OpenStoreOptions>();
  return (access) => {
    const key = JSON.stringify(access);
    let opts = made.get(key);
    if (!opts) made.set(key, opts = withEntryRegistryAccess(base, access));
    return (repo) => openStore(repo, opts);
  };
}
