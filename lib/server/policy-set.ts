// An immutable snapshot of the loaded policies and the engine built on them.
// The webhook holds one current snapshot; a reload builds a new one and swaps
// the reference, so a request keeps the snapshot it started with to the end.
// The verification cache is shared across snapshots: its keys are content
// fingerprints (digest, attestor), so unchanged rules keep their entries.

import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { SigwardError } from '../errors.ts';
import { createEngine, type ResultCache } from '../engine/index.ts';
import { listPolicyFiles, loadPolicyPaths } from '../policy/index.ts';
import type { LoadOptions, Policy, PolicyDiagnostic } from '../policy/types.ts';
import type { OciStore, RepositoryRef } from '../oci/types.ts';
import type { EntryRegistryAccess } from '../oci/index.ts';
import type { Trust } from '../trust/index.ts';

export type Engine = ReturnType<typeof createEngine>;

export interface EngineDeps {
  stores: (repo: RepositoryRef) => OciStore;
  /** stores with a policy entry's own registry access (imageRegistryCredentials) */
  storesFor?: (access: EntryRegistryAccess) => (repo: RepositoryRef) => OciStore;
  trust: Trust;
  cache?: ResultCache;
  defaultRegistry?: string;
  now?: () => Date;
}

export interface PolicySnapshot {
  /** 1 for the first set, +1 per successful reload */
  generation: number;
  policies: Policy[];
  engine: Engine;
  warnings: PolicyDiagnostic[];
  /** sha256 over the policy files read */
  fingerprint: string;
  loadedAt: Date;
}

export function createPolicySnapshot(
  policies: Policy[],
  deps: EngineDeps,
  generation: number,
  extra: { warnings?: PolicyDiagnostic[]; fingerprint?: string } = {},
): PolicySnapshot {
  const engine = createEngine({
    policies,
    stores: deps.stores,
    storesFor: deps.storesFor,
    trust: deps.trust,
    cache: deps.cache,
    defaultRegistry: deps.defaultRegistry,
    now: deps.now,
  });
  return {
    generation,
    policies,
    engine,
    warnings: extra.warnings ?? [],
    fingerprint: extra.fingerprint ?? '',
    loadedAt: new Date(),
  };
}

/** sha256 over the names and contents of the policy files under `paths` ('' entries for unreadable ones). */
export function getPolicyFilesFingerprint(paths: string[]): string {
  const h = createHash('sha256');
  const files = listPolicyFiles(paths, []);
  for (const f of files) {
    h.update(f).update('\0');
    try {
      h.update(readFileSync(f));
    } catch {
      h.update('<unreadable>');
    }
    h.update('\0');
  }
  return h.digest('hex');
}

/**
 * Loads the policies under `paths` into a snapshot. Throws POLICY_INVALID on
 * any policy error and CONFIG_INVALID when no policy is found (a webhook with
 * an empty set would let everything through).
 */
export function loadPolicySnapshot(
  paths: string[],
  deps: EngineDeps,
  generation: number,
  loadOptions: Omit<LoadOptions, 'file'> = {},
): PolicySnapshot {
  const fingerprint = getPolicyFilesFingerprint(paths);
  const { policies, warnings } = loadPolicyPaths(paths, loadOptions);
  if (!policies.length) throw new SigwardError('CONFIG_INVALID', `no policy found in ${paths.join(', ')}`);
  return createPolicySnapshot(policies, deps, generation, { warnings, fingerprint });
}
