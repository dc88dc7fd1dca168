// The webhook's verification cache: a ResultCache (see verify-image.ts) that
// keeps settled successes for a TTL, bounded in size with LRU eviction.
//
// Keys are the engine's memo keys: `sig|<digest>|<repo>|<attestor fingerprint>|…`,
// `att|…` (verifications, long TTL, like Kyverno's 60 min) and `resolve|<ref>`
// (tag -> digest, short TTL so a moved tag is noticed quickly).
//
// A computation is kept from the moment it is offered, before it settles: a
// second request for the same key meanwhile joins the same work, so
// concurrent identical verifications run once. Each request waits with its own
// signal; the work is aborted when every request waiting for it has given up
// (lib/abort.ts), and abandoned work is never handed out. Failures are dropped
// as soon as they settle (only successes are cached, as Kyverno does).

import type { SharedWork } from '../abort.ts';
import type { ResultCache } from './verify-image.ts';

export type CacheLookup = 'hit' | 'miss' | 'coalesced' | 'expired';

export interface ResultCacheOptions {
  /** lifetime of a verification result; default 60 min (Kyverno --imageVerifyCacheTTLDuration) */
  ttlMs?: number;
  /** lifetime of a `resolve|` (tag -> digest) result; default 30 s */
  resolveTtlMs?: number;
  /** most entries kept (pending ones included); default 1000 (Kyverno --imageVerifyCacheMaxSize) */
  maxEntries?: number;
  /** clock (ms) */
  now?: () => number;
  /** called on every get(): what kind of key (`sig`, `att`, `resolve`) and the outcome */
  onLookup?: (kind: string, outcome: CacheLookup) => void;
  /** consulted on offer(); false: do not keep this computation (dry-run requests) */
  accept?: () => boolean;
}

interface Entry {
  value: SharedWork<unknown>;
  /** epoch ms; Infinity while pending */
  expires: number;
}

export interface ResultCacheStats {
  entries: number;
  pending: number;
}

export interface BoundedResultCache extends ResultCache {
  /** current number of entries (settled and pending) */
  readonly size: number;
  stats(): ResultCacheStats;
  delete(key: string): void;
  clear(): void;
}

/** `sig`, `att`, `resolve`: the part of a memo key before the first `|`. */
export function getCacheKeyKind(key: string): string {
  const i = key.indexOf('|');
  return i === -1 ? key : key.slice(0, i);
}

export function createResultCache(opts: ResultCacheOptions = {}): BoundedResultCache {
  const ttlMs = opts.ttlMs ?? 60 * 60_000;
  const resolveTtlMs = opts.resolveTtlMs ?? 30_000;
  const maxEntries = Math.max(1, opts.maxEntries ?? 1000);
  const now = opts.now ?? Date.now;
  const entries = new Map<string, Entry>();

  const ttlFor = (key: string) => (getCacheKeyKind(key) === 'resolve' ? resolveTtlMs : ttlMs);

  /** Evicts least recently used settled entries (pending ones are in use) until within bounds. */
  function evict(): void {
    if (entries.size <= maxEntries) return;
    for (const [k, e] of entries) {
      if (entries.size <= maxEntries) return;
      if (e.expires !== Infinity) entries.delete(k);
    }
  }

  return {
    get size() {
      return entries.size;
    },
    get(key) {
      const kind = getCacheKeyKind(key);
      const e = entries.get(key);
      if (!e) {
        opts.onLookup?.(kind, 'miss');
        return undefined;
      }
      if (e.expires !== Infinity && e.expires <= now()) {
        entries.delete(key);
        opts.onLookup?.(kind, 'expired');
        return undefined;
      }
      if (e.value.abandoned) {
        // aborted because nobody waited any more: a new request starts afresh
        entries.delete(key);
        opts.onLookup?.(kind, 'miss');
        return undefined;
      }
      // most recently used goes last
      entries.delete(key);
      entries.set(key, e);
      opts.onLookup?.(kind, e.expires === Infinity ? 'coalesced' : 'hit');
      return e.value;
    },
    offer(key, value) {
      if (opts.accept && !opts.accept()) return;
      const entry: Entry = { value, expires: Infinity };
      entries.delete(key);
      entries.set(key, entry);
      value.promise.then(
        () => {
          if (entries.get(key) !== entry) return;
          const ttl = ttlFor(key);
          if (ttl <= 0) entries.delete(key);
          else entry.expires = now() + ttl;
          evict();
        },
        () => {
          if (entries.get(key) === entry) entries.delete(key);
        },
      );
      evict();
    },
    stats() {
      let pending = 0;
      for (const e of entries.values()) if (e.expires === Infinity) pending++;
      return { entries: entries.size, pending };
    },
    delete(key) {
      entries.delete(key);
    },
    clear() {
      entries.clear();
    },
  };
}
