// Store wrappers used at the node and in batch runs:
//   withPinnedTag   answers one tag resolution with the descriptor containerd
//                   already resolved (no second lookup, no tag race);
//   withRateLimit   a token bucket per registry host around every request.

import type { Descriptor, GetOptions, OciStore, RepositoryRef, StoreFactory } from './types.ts';

function sameRepo(a: RepositoryRef, b: RepositoryRef): boolean {
  return a.transport === b.transport && a.registry === b.registry && a.repository === b.repository;
}

/**
 * Stores where `repo:tag` resolves to `descriptor` without asking the registry.
 * Every other call goes to the wrapped store.
 */
export function withPinnedTag(
  stores: StoreFactory,
  repo: RepositoryRef,
  tag: string,
  descriptor: Descriptor,
): StoreFactory {
  return (r) => {
    const inner = stores(r);
    if (!sameRepo(r, repo)) return inner;
    return {
      ...bind(inner),
      resolve: async (rr: RepositoryRef, tagOrDigest: string, opts?: GetOptions) =>
        sameRepo(rr, repo) && tagOrDigest === tag ? { ...descriptor } : inner.resolve(rr, tagOrDigest, opts),
    };
  };
}

const METHODS = ['resolve', 'getManifest', 'getBlob', 'listTags', 'referrers', 'putBlob', 'putManifest'] as const;

function bind(store: OciStore): OciStore {
  const out = {} as Record<string, unknown>;
  for (const m of METHODS) out[m] = (store[m] as (...a: unknown[]) => unknown).bind(store);
  return out as unknown as OciStore;
}

export interface TokenBucket {
  /** waits until a token is available, then takes it */
  take(signal?: AbortSignal): Promise<void>;
}

export interface RateLimitOptions {
  /** sustained requests per second per registry host */
  qps: number;
  /** tokens available at once (default: max(1, qps)) */
  burst?: number;
  now?: () => number;
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
}

const defaultSleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      reject(signal!.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });

/** A token bucket: `qps` tokens per second, at most `burst` saved; waiters served in order. */
export function createTokenBucket(opts: RateLimitOptions): TokenBucket {
  if (!(opts.qps > 0)) throw new RangeError('qps must be > 0');
  const now = opts.now ?? (() => performance.now());
  const sleep = opts.sleep ?? defaultSleep;
  const burst = Math.max(1, opts.burst ?? Math.max(1, Math.floor(opts.qps)));
  const interval = 1000 / opts.qps;
  let tokens = burst;
  let last = now();
  // reservations: each take() claims the next slot, so concurrent callers queue fairly
  return {
    async take(signal) {
      const t = now();
      tokens = Math.min(burst, tokens + (t - last) / interval);
      last = t;
      tokens -= 1;
      if (tokens >= 0) return;
      await sleep(-tokens * interval, signal);
    },
  };
}

/** Every request to a registry host first takes a token of that host's bucket. OCI layouts are not limited. */
export function withRateLimit(stores: StoreFactory, opts: RateLimitOptions): StoreFactory {
  const buckets = new Map<string, TokenBucket>();
  const bucketFor = (host: string) => {
    let b = buckets.get(host);
    if (!b) buckets.set(host, b = createTokenBucket(opts));
    return b;
  };
  return (repo) => {
    const inner = stores(repo);
    if (repo.transport !== 'registry') return inner;
    const out = {} as Record<string, unknown>;
    for (const m of METHODS) {
      const fn = (inner[m] as (...a: unknown[]) => Promise<unknown>).bind(inner);
      out[m] = async (...args: unknown[]) => {
        const r = args[0] as RepositoryRef;
        const o = args.find((a) => a && typeof a === 'object' && 'signal' in (a as object)) as GetOptions | undefined;
        await bucketFor(r?.registry ?? repo.registry).take(o?.signal);
        return fn(...args);
      };
    }
    return out as unknown as OciStore;
  };
}
