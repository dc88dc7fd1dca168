// Real Kubernetes objects from `kubectl ... --dry-run=client -o json`, offline.
// `kubectl run` asks for API discovery even in a client dry run; a seeded
// discovery cache answers it without a cluster.

import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

let cacheDir: string | undefined;
function discoveryCache(): string {
  if (cacheDir) return cacheDir;
  cacheDir = mkdtempSync(join(tmpdir(), 'sigward-kubectl-'));
  const d = join(cacheDir, 'discovery/localhost_8080');
  mkdirSync(join(d, 'v1'), { recursive: true });
  writeFileSync(
    join(d, 'servergroups.json'),
    JSON.stringify({
      kind: 'APIGroupList',
      apiVersion: 'v1',
      groups: [{
        name: '',
        versions: [{ groupVersion: 'v1', version: 'v1' }],
        preferredVersion: { groupVersion: 'v1', version: 'v1' },
      }],
    }),
  );
  writeFileSync(
    join(d, 'v1/serverresources.json'),
    JSON.stringify({
      kind: 'APIResourceList',
      apiVersion: 'v1',
      groupVersion: 'v1',
      resources: [{ name: 'pods', singularName: 'pod', namespaced: true, kind: 'Pod', verbs: ['create', 'get'] }],
    }),
  );
  return cacheDir;
}

/** Runs `kubectl <args> --dry-run=client -o json` and returns the object. */
export function kubectl(args: string[]): Record<string, unknown> {
  const out = execFileSync('kubectl', [
    '--kubeconfig=/dev/null',
    '--server=http://localhost:8080',
    `--cache-dir=${discoveryCache()}`,
    ...args,
    '--dry-run=client',
    '-o',
    'json',
  ], { encoding: 'utf8', timeout: 30_000 });
  return JSON.parse(out) as Record<string, unknown>;
}

/** A Pod object; `namespace` is set in metadata as the API server would. */
export function kubectlPod(name: string, image: string, namespace = 'default'): Record<string, unknown> {
  const o = kubectl(['run', name, `--image=${image}`, `--namespace=${namespace}`]);
  (o.metadata as Record<string, unknown>).namespace = namespace;
  return o;
}

export function kubectlCreate(
  kind: 'deployment' | 'job' | 'cronjob',
  name: string,
  image: string,
  namespace = 'default',
  extra: string[] = [],
): Record<string, unknown> {
  const o = kubectl(['create', kind, name, `--image=${image}`, `--namespace=${namespace}`, ...extra]);
  (o.metadata as Record<string, unknown>).namespace = namespace;
  return o;
}
