// The containerd image verifier: one pull request in, one verdict out.
//
//   1. check the invocation and the descriptor on stdin;
//   2. fast path (cached-verdict.ts): the verdict cache, keyed by digest, name
//      and a stamp of the configuration files (stat calls only: no policy,
//      trust or network);
//   3. otherwise load policies and trust from the configuration directory,
//      look for a verdict under an equivalent policy set (fingerprint), and
//      else evaluate `name` with the engine, its tag pinned to the digest
//      containerd resolved, within an internal deadline (default 8 s,
//      containerd's own per-verifier timeout being 10 s).
// Images matched by no policy are allowed; failures and errors block.

import { existsSync, readFileSync } from 'node:fs';
import { walkFileTree } from '../file-tree.ts';
import { join } from 'node:path';
import { EXIT_CODES, SigwardError } from '../errors.ts';
import type { Policy } from '../policy/types.ts';
import type { StoreFactory } from '../cosign/image.ts';
import type { Trust } from '../trust/index.ts';
import type { OpenStoreOptions } from '../oci/index.ts';
import { getTrustInputs, type NodeConfig } from './config.ts';
import { type ContainerdRequest, toImageLabel } from './descriptor.ts';
import type { VerdictCache } from './verdict-cache.ts';
import { withPinnedTag } from '../oci/store-wrappers.ts';
import {
  allow,
  block,
  buildId,
  type ContainerdDeps,
  type ContainerdInput,
  type ContainerdVerdict,
  errorVerdict,
  lookUpCachedVerdict,
} from './cached-verdict.ts';
export type { ContainerdDeps, ContainerdInput, ContainerdVerdict } from './cached-verdict.ts';

/** How long after the verdict's deadline the registry requests' own deadline is (see toStoreOptions). */
const DEADLINE_MARGIN_MS = 500;

// node:crypto is looked up when a verdict is computed: a cached verdict does not load it
const createHash: typeof import('node:crypto').createHash = (...a) =>
  process.getBuiltinModule('node:crypto').createHash(...a);

/** sha256 over the content of every file of a tree (trust material), walked as the loaders walk it. */
function hashTree(dir: string): string {
  const h = createHash('sha256');
  walkFileTree(dir, (e) => {
    if (e.kind === 'dir') return;
    h.update(`${e.kind} ${e.path}\0`);
    if (e.kind !== 'file') return;
    try {
      h.update(readFileSync(e.path)).update('\0');
    } catch (err) {
      h.update(`unreadable ${(err as NodeJS.ErrnoException).code ?? ''}\0`);
    }
  });
  return h.digest('hex');
}

/**
 * The fingerprint of everything that decides a verdict, once policies are
 * loaded: every policy whole (match/exclude, actions and their overrides,
 * failurePolicy, required, attestors with their resolved keys; only where it
 * was written is left out), the trust material and the node settings.
 */
export async function getPolicySetFingerprint(policies: Policy[], cfg: NodeConfig): Promise<string> {
  const { canonicalJSON } = await import('../policy/index.ts');
  const doc = {
    v: 2,
    build: buildId(),
    defaultRegistry: cfg.defaultRegistry ?? null,
    policies: policies.map(({ source: _where, ...meaning }) => canonicalJSON(meaning)).sort(),
    trust: hashTree(cfg.trustDir),
  };
  return createHash('sha256').update(canonicalJSON(doc)).digest('hex');
}

/** Registry access from config.yaml: containerd passes no credentials. */
export async function toStoreOptions(
  cfg: NodeConfig,
  deadline: number,
  env: Record<string, string | undefined>,
): Promise<OpenStoreOptions> {
  // loaded here, not at start-up: a cached verdict never talks to a registry
  const { chainCredentials, dockerConfigCredentials, kubernetesSecretCredentials } = await import('../oci/index.ts');
  const caCerts = cfg.registry.caFiles.map((f) => {
    try {
      return readFileSync(f, 'utf8');
    } catch (e) {
      throw new SigwardError(
        'CONFIG_INVALID',
        `cannot read registry CA file ${f}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
        { cause: e },
      );
    }
  });
  return {
    allowHttp: cfg.registry.allowHttp,
    insecureRegistries: cfg.registry.insecure,
    caCerts,
    credentials: chainCredentials(
      cfg.registry.pullSecrets.length ? kubernetesSecretCredentials(cfg.registry.pullSecrets) : undefined,
      dockerConfigCredentials({ path: cfg.registry.dockerConfig, env }),
    ),
    timeoutMs: Math.max(100, Math.min(cfg.registry.timeoutSeconds * 1000, deadline - Date.now())),
    // just after the verdict's own deadline: its timer answers containerd (with
    // the reason) and aborts these requests, never a request's deadline first
    deadline: deadline + DEADLINE_MARGIN_MS,
    retries: 1,
  };
}

/** Policies as the node sees them: containerd pins the digest, so verifyDigest is satisfied by construction. */
function forNode(policies: Policy[]): Policy[] {
  return policies.map((p) => {
    if (p.format !== 'kyverno') return p;
    return {
      ...p,
      spec: {
        ...p.spec,
        rules: p.spec.rules.map((r) => ({
          ...r,
          verifyImages: r.verifyImages.map((e) => ({ ...e, verifyDigest: false, mutateDigest: false })),
        })),
      },
    };
  });
}

interface Loaded {
  policies: Policy[];
  fingerprint: string;
}

async function loadPolicies(cfg: NodeConfig, warn: (m: string) => void): Promise<Loaded> {
  const { loadPolicyPaths, createFileSecretResolver } = await import('../policy/index.ts');
  if (!existsSync(cfg.policiesDir)) {
    throw new SigwardError(
      'CONFIG_INVALID',
      `policy directory ${cfg.policiesDir} does not exist (an empty directory allows every image)`,
    );
  }
  const { policies, warnings } = loadPolicyPaths([cfg.policiesDir], {
    resolveSecret: createFileSecretResolver(cfg.secretsDir),
  });
  for (const w of warnings) if (w.severity === 'warning') warn(`${w.file ?? ''}:${w.line}:${w.column}: ${w.message}`);
  return { policies, fingerprint: await getPolicySetFingerprint(policies, cfg) };
}

async function loadTrust(cfg: NodeConfig): Promise<Trust> {
  const { loadTrustMaterial } = await import('../trust/index.ts');
  const t = getTrustInputs(cfg.trustDir);
  // only trust/ counts: cosign variables in containerd's environment are ignored
  return loadTrustMaterial({ trustedRootPath: t.trustedRootPath, env: t.env });
}

async function evaluate(
  req: ContainerdRequest,
  cfg: NodeConfig,
  loaded: Loaded,
  deps: ContainerdDeps,
  signal: AbortSignal,
  deadline: number,
): Promise<ContainerdVerdict & { cacheable: boolean }> {
  const { parseImageFromPodSpec } = await import('../reference/index.ts');
  const { toRepositoryRef } = await import('../cosign/image.ts');
  const { createEngine } = await import('../engine/index.ts');
  const ref = parseImageFromPodSpec(req.name, { defaultRegistry: cfg.defaultRegistry });
  const what = toImageLabel(req);
  if (ref.digest && ref.digest !== req.digest) {
    return {
      ...block(
        `image verification failed for ${what}: manifest digest mismatch: containerd resolved ${req.digest}, the name pins ${ref.digest}`,
        EXIT_CODES.deny,
      ),
      cacheable: false,
    };
  }
  const { openStore, storesForOptions } = await import('../oci/index.ts');
  const opts = await toStoreOptions(cfg, deadline, deps.env);
  // match imageReferences on the name as written (tags count), verify the digest containerd pulls
  const pinned = !ref.digest && ref.tag;
  const pin = (
    s: StoreFactory,
  ): StoreFactory => (pinned ? withPinnedTag(s, toRepositoryRef(ref), ref.tag!, req.descriptor) : s);
  const stores = pin((repo) => openStore(repo, opts));
  const entryStores = storesForOptions(opts);
  const image = !ref.digest && !ref.tag ? `${req.name}@${req.digest}` : req.name;
  const engine = createEngine({
    policies: forNode(loaded.policies),
    stores,
    storesFor: (access) => pin(entryStores(access)),
    trust: await loadTrust(cfg),
    defaultRegistry: cfg.defaultRegistry,
    signal,
  });
  const [ev] = await engine.evaluateImages([image]);
  if (!ev) throw new SigwardError('INTERNAL', 'engine returned no evaluation');
  if (!ev.rules.length) return { ...allow(`allowed ${what}: no policy applies to this image`), cacheable: true };
  if (ev.allowed) {
    const passed = ev.rules.filter((r) => r.status === 'pass').map((r) => `${r.policy}/${r.rule}`);
    const warn = ev.warnings.length ? `; warnings: ${ev.warnings.join('; ')}` : '';
    const skipped = ev.rules.filter((r) => r.status === 'skip').map((r) => `${r.policy}/${r.rule}`);
    const head = passed.length
      ? `verified image signatures (${passed.join(', ')})`
      : skipped.length === ev.rules.length
      ? `skipped by ${skipped.join(', ')} (skipImageReferences)`
      : 'no enforced rule failed';
    // only a verification is remembered: an allow that an Audit rule's failure or an
    // ignored error let through must be decided again (the policy may be stricter next time)
    return {
      ...allow(`allowed ${what}: ${head}${warn}`),
      cacheable: ev.rules.every((r) => r.status === 'pass' || r.status === 'skip'),
    };
  }
  const anyFail = ev.rules.some((r) => r.failurePolicy === 'Fail');
  const blocking = ev.rules.filter((r) =>
    (r.status === 'fail' && r.action === 'Enforce') || (r.status === 'error' && anyFail)
  );
  const reasons = blocking.map((r) => `policy ${r.policy}/${r.rule}: ${r.message}`).join('; ');
  const onlyErrors = blocking.every((r) => r.status === 'error');
  return {
    ...block(`image verification failed for ${what}: ${reasons}`, onlyErrors ? EXIT_CODES.undecided : EXIT_CODES.deny),
    cacheable: false,
  };
}

/** Decides one containerd pull. Never throws: errors are blocking verdicts. */
export async function verifyForContainerd(input: ContainerdInput, deps: ContainerdDeps): Promise<ContainerdVerdict> {
  const now = deps.now ?? Date.now;
  const warn = deps.warn ?? (() => {});
  const fast = lookUpCachedVerdict(input, deps);
  if ('verdict' in fast) return fast.verdict;
  const { req, cfg, cache, stamp } = fast.miss;

  const started = now();
  const deadline = Date.now() + cfg.deadlineSeconds * 1000;
  const controller = new AbortController();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<ContainerdVerdict>((resolve) => {
    timer = setTimeout(() => {
      controller.abort(new SigwardError('REGISTRY_UNREACHABLE', `timed out after ${cfg.deadlineSeconds} s`));
      resolve(
        block(
          `cannot verify ${
            toImageLabel(req)
          }: verification did not finish within ${cfg.deadlineSeconds} s (deadlineSeconds in ${
            join(cfg.dir, 'config.yaml')
          })`,
          EXIT_CODES.undecided,
        ),
      );
    }, cfg.deadlineSeconds * 1000);
  });
  const work = (async (): Promise<ContainerdVerdict> => {
    try {
      const loaded = await loadPolicies(cfg, warn);
      const same = cache?.getByFingerprint(req.digest, req.name, loaded.fingerprint, now());
      if (same) {
        putAllow(cache, req, { ...same, stamp }, warn);
        return allow(`${same.reason} (cached verdict of ${new Date(same.created).toISOString()})`, 'fingerprint');
      }
      const v = await evaluate(req, cfg, loaded, deps, controller.signal, deadline);
      if (v.allowed && v.cacheable && cache && cfg.cache.ttlSeconds > 0) {
        const reason = v.reason.replace(/^sigward: /, '').trim();
        putAllow(cache, req, {
          name: req.name,
          fingerprint: loaded.fingerprint,
          stamp,
          created: started,
          expires: started + cfg.cache.ttlSeconds * 1000,
          reason,
        }, warn);
      }
      const { cacheable: _c, ...verdict } = v;
      return verdict;
    } catch (e) {
      return errorVerdict(req.name, e);
    }
  })();
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

function putAllow(
  cache: VerdictCache | undefined,
  req: ContainerdRequest,
  entry: Parameters<VerdictCache['putAllow']>[1],
  warn: (m: string) => void,
): void {
  if (!cache) return;
  try {
    cache.putAllow(req.digest, entry);
  } catch (e) {
    warn(
      `cannot write the verdict cache in ${cache.dir}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
    );
  }
}
