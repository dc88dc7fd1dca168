// trusted_root.json over TUF (@sigstore/tuf, i.e. tuf-js), only when asked.
// A refresh that the mirror refuses (expired, wrongly signed or rolled-back
// metadata, a target whose hash does not match) is an error that names the
// reason. Only when the mirror cannot be reached at all does sigward fall
// back to the metadata cached by an earlier refresh, and only while every
// cached role (root, timestamp, snapshot, targets) is unexpired; tuf-js then
// verifies the cached chain and the cached target's hash again.

import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { TrustedRoot } from '@sigstore/protobuf-specs';
import { parseTrustedRoot } from './root.ts';
import { SigwardError } from '../errors.ts';
import { PUBLIC_GOOD_MIRROR } from './embedded/public-good.ts';

/** Options for fetching the trusted root over TUF (network). */
export interface TUFTrustOptions {
  /** TUF mirror (default https://tuf-repo-cdn.sigstore.dev) */
  mirrorURL?: string;
  /** metadata cache directory (default: $XDG_DATA_HOME/sigstore-js, else ~/.local/share/sigstore-js, as @sigstore/tuf) */
  cachePath?: string;
  /** initial root.json for a custom mirror */
  rootPath?: string;
  /** use cached metadata without network while unexpired */
  forceCache?: boolean;
  /** per-request timeout in ms (default 5000) */
  timeout?: number;
  /** retries per request (default 2) */
  retries?: number;
  /** environment for the default cache directory (XDG_DATA_HOME, HOME) */
  env?: Record<string, string | undefined>;
}

export interface TUFTrustedRoot {
  root: TrustedRoot;
  /** set when the mirror was unreachable and the cached metadata was used */
  offline?: { reason: string; cacheDir: string; validUntil: string };
}

/** The cache root @sigstore/tuf uses on Linux when none is given. */
export function getDefaultTUFCachePath(env: Record<string, string | undefined> = process.env): string {
  const home = env.HOME || homedir();
  return join(env.XDG_DATA_HOME || join(home, '.local', 'share'), 'sigstore-js');
}

/** Where @sigstore/tuf keeps one mirror's metadata under the cache root. */
export function getTUFCacheDir(cachePath: string, mirrorURL: string): string {
  const url = new URL(mirrorURL);
  return join(cachePath, encodeURIComponent(url.host + url.pathname.replace(/\/$/, '')));
}

const causes = (e: unknown): unknown[] => {
  const out: unknown[] = [];
  for (let x = e; x !== undefined && x !== null && out.length < 8; x = (x as { cause?: unknown }).cause) out.push(x);
  return out;
};

/** The messages of an error and its causes (HTTP status included), without repeats: "error refreshing TUF metadata: Final timestamp.json is expired". */
export function getTUFReason(e: unknown): string {
  const seen: string[] = [];
  for (const x of causes(e)) {
    const m = (x instanceof Error ? x.message : String(x)).trim();
    const code = (x as { code?: unknown }).code;
    const status = (x as { statusCode?: unknown }).statusCode;
    const text = (m || (typeof code === 'string' ? code : '')) +
      (typeof status === 'number' ? ` (HTTP ${status})` : '');
    if (text && !seen.some((s) => s.includes(text))) seen.push(text);
  }
  return seen.join(': ') || 'unknown error';
}

const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ETIMEDOUT',
  'EPIPE',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'UND_ERR_CLOSED',
]);

/**
 * True when the mirror could not be reached: a connection or DNS failure, a
 * timeout, or an HTTP 5xx/408/429 answer. A mirror that answers with metadata
 * tuf-js refuses is not "unreachable": that must never fall back to the cache.
 */
export function isTUFMirrorUnreachable(e: unknown): boolean {
  for (const x of causes(e)) {
    const status = (x as { statusCode?: unknown }).statusCode;
    if (typeof status === 'number') return status >= 500 || status === 408 || status === 429;
    const name = (x as { name?: unknown }).name;
    if (name === 'TimeoutError' || name === 'AbortError') return true;
    const code = (x as { code?: unknown }).code;
    if (typeof code === 'string' && NETWORK_CODES.has(code)) return true;
  }
  return false;
}

const ROLES = ['root', 'timestamp', 'snapshot', 'targets'] as const;

/** The cached roles' expiry times (unverified JSON, only ever used to refuse), or undefined without a cached timestamp. */
function readCachedExpiry(dir: string): { role: string; expires: Date }[] | undefined {
  if (!existsSync(join(dir, 'timestamp.json'))) return undefined;
  const out: { role: string; expires: Date }[] = [];
  for (const role of ROLES) {
    try {
      const doc = JSON.parse(readFileSync(join(dir, `${role}.json`), 'utf8')) as { signed?: { expires?: unknown } };
      const t = typeof doc.signed?.expires === 'string' ? new Date(doc.signed.expires) : undefined;
      if (t && !Number.isNaN(t.getTime())) out.push({ role, expires: t });
    } catch {
      // a missing or unreadable role: tuf-js fails on it with its own reason
    }
  }
  return out;
}

const iso = (d: Date) => d.toISOString().replace(/\.000Z$/, 'Z');

function tufError(
  message: string,
  e: unknown,
  outcome: 'usage' | 'undecided',
  extra: Record<string, unknown> = {},
): SigwardError {
  const tufCode = (e as { code?: unknown })?.code;
  return new SigwardError('TRUST_ROOT_INVALID', message, {
    cause: e,
    outcome,
    detail: { ...(typeof tufCode === 'string' ? { tufCode } : {}), ...extra },
  });
}

/**
 * Fetches trusted_root.json via @sigstore/tuf (network; only call when
 * asked). Falls back to the cache only when the mirror is unreachable; see
 * the file comment. Throws TRUST_ROOT_INVALID (usage for configuration
 * problems, undecided otherwise) with the reason tuf-js gave.
 */
export async function fetchTUFTrustedRoot(opts: TUFTrustOptions = {}): Promise<TUFTrustedRoot> {
  const { initTUF } = await import('@sigstore/tuf');
  // the target's text through parseTrustedRoot's field checks, not
  // @sigstore/tuf's getTrustedRoot (which decodes it without them)
  const getTrustedRoot = async (o: Parameters<typeof initTUF>[0]): Promise<TrustedRoot> => {
    const tuf = await initTUF(o).catch((e: unknown) => {
      // as @sigstore/tuf's getTrustedRoot: initTUF's refresh passes the metadata client's errors through uncoded
      throw (e as { code?: string }).code
        ? e
        : Object.assign(new Error(e instanceof Error ? e.message : String(e), { cause: e }), {
          code: 'TUF_REFRESH_METADATA_ERROR',
        });
    });
    const text = await tuf.getTarget('trusted_root.json');
    return parseTrustedRoot(text, `trusted_root.json from TUF ${o?.mirrorURL ?? PUBLIC_GOOD_MIRROR}`);
  };
  const mirrorURL = opts.mirrorURL ?? PUBLIC_GOOD_MIRROR;
  const cachePath = opts.cachePath ?? getDefaultTUFCachePath(opts.env);
  let cacheDir: string;
  try {
    cacheDir = getTUFCacheDir(cachePath, mirrorURL);
  } catch (e) {
    throw tufError(`TUF: invalid mirror URL ${JSON.stringify(mirrorURL)}`, e, 'usage');
  }
  const base = { mirrorURL, cachePath, rootPath: opts.rootPath, timeout: opts.timeout };
  try {
    const root = await getTrustedRoot({
      ...base,
      forceCache: opts.forceCache,
      ...(opts.retries !== undefined ? { retry: { retries: opts.retries } } : {}),
    });
    return { root };
  } catch (e) {
    // a target TUF delivered that is not a valid trusted root: the root itself is wrong
    if (e instanceof SigwardError) throw e;
    const code = (e as { code?: string }).code ?? '';
    if (code === 'TUF_INIT_CACHE_ERROR' || code === 'TUF_FIND_TARGET_ERROR') {
      throw tufError(`TUF: cannot get trusted_root.json from ${mirrorURL}: ${getTUFReason(e)}`, e, 'usage');
    }
    if (!isTUFMirrorUnreachable(e)) {
      throw tufError(
        `TUF: the update from ${mirrorURL} was rejected, nothing from it is used: ${getTUFReason(e)}`,
        e,
        'undecided',
      );
    }
    const reason = getTUFReason(e);
    const cached = readCachedExpiry(cacheDir);
    const unreachable = `TUF: the mirror ${mirrorURL} is unreachable (${reason})`;
    const fix = 'reach the mirror again, or give --trusted-root FILE';
    if (!cached) {
      throw tufError(`${unreachable} and there is no cached TUF metadata in ${cacheDir}: ${fix}`, e, 'undecided', {
        cacheDir,
      });
    }
    const now = new Date();
    const expired = cached.filter((c) => c.expires.getTime() <= now.getTime());
    if (expired.length > 0) {
      const list = expired.map((c) => `${c.role}.json expired ${iso(c.expires)}`).join(', ');
      throw tufError(
        `${unreachable} and the cached TUF metadata in ${cacheDir} has expired (${list}): ${fix}`,
        e,
        'undecided',
        {
          cacheDir,
          expired: expired.map((c) => ({ role: c.role, expires: iso(c.expires) })),
        },
      );
    }
    let root: TrustedRoot;
    try {
      root = await getTrustedRoot({ ...base, forceCache: true, retry: { retries: 0 } });
    } catch (e2) {
      throw tufError(
        `${unreachable} and the cached TUF metadata in ${cacheDir} cannot be used: ${getTUFReason(e2)}`,
        e2,
        'undecided',
        { cacheDir },
      );
    }
    const validUntil = iso(new Date(Math.min(...cached.map((c) => c.expires.getTime()))));
    return { root, offline: { reason, cacheDir, validUntil } };
  }
}
