// The containerd verifier's fast path, apart from everything a verification
// loads: the invocation and descriptor checked, config.yaml read, the stamp of
// the configuration files taken (stat calls only), and the verdict cache asked
// for name@digest under that stamp. No policy, trust material or network.
// verifier.ts runs it first; the single executable's first stage
// (cmd/containerd-first-stage.ts) runs it alone, from a small bundle, and hands
// over to the full binary on anything but a hit.

import { join } from 'node:path';
import { EXIT_CODES, toSigwardError } from '../errors.ts';
import { getBuildInfo } from '../version.ts';
import { getConfigDir, loadNodeConfig, type NodeConfig } from './config.ts';
import { type ContainerdRequest, toContainerdRequest, toReasonLine } from './descriptor.ts';
import { getConfigStamp, openVerdictCache, type VerdictCache } from './verdict-cache.ts';

export interface ContainerdInput {
  name?: string;
  digest?: string;
  stdinMediaType?: string;
  /** the descriptor JSON containerd wrote to stdin */
  stdin: string;
}

export interface ContainerdVerdict {
  allowed: boolean;
  exitCode: number;
  /** one line for containerd (stdout), at most 32 KiB */
  reason: string;
  /** answered from the verdict cache: 'stamp' (fast path) or 'fingerprint' */
  cached?: 'stamp' | 'fingerprint';
}

export interface ContainerdDeps {
  env: Record<string, string | undefined>;
  /** epoch ms */
  now?: () => number;
  /** diagnostics for containerd's debug log (stderr) */
  warn?: (msg: string) => void;
}

export function allow(reason: string, cached?: ContainerdVerdict['cached']): ContainerdVerdict {
  return { allowed: true, exitCode: 0, reason: toReasonLine(`sigward: ${reason}`), ...(cached ? { cached } : {}) };
}

export function block(reason: string, exitCode: number): ContainerdVerdict {
  return { allowed: false, exitCode: exitCode || 1, reason: toReasonLine(`sigward: ${reason}`) };
}

export function errorVerdict(name: string | undefined, e: unknown): ContainerdVerdict {
  const err = toSigwardError(e);
  return block(`cannot verify ${name ?? 'image'}: ${err.message}`, EXIT_CODES[err.outcome]);
}

/** What the cache could not answer: the checked request and configuration, for the full verification. */
export interface CacheMiss {
  req: ContainerdRequest;
  cfg: NodeConfig;
  /** undefined: caching off or the directory unsafe (warned about) */
  cache?: VerdictCache;
  stamp: string;
}

export function buildId(): string {
  const b = getBuildInfo();
  return `${b.version}+${b.commit}`;
}

function stampRoots(cfg: NodeConfig): string[] {
  return [join(cfg.dir, 'config.yaml'), cfg.policiesDir, cfg.trustDir, cfg.secretsDir];
}

/**
 * The fast path: a verdict (a cached allow, or the error an invalid
 * invocation or configuration is answered with), or the miss to verify.
 */
export function lookUpCachedVerdict(
  input: ContainerdInput,
  deps: ContainerdDeps,
): { verdict: ContainerdVerdict } | { miss: CacheMiss } {
  const now = deps.now ?? Date.now;
  const warn = deps.warn ?? (() => {});
  try {
    const req = toContainerdRequest(input);
    const cfg = loadNodeConfig(getConfigDir(deps.env), deps.env);
    const stamp = getConfigStamp(stampRoots(cfg), buildId());
    let cache: VerdictCache | undefined;
    if (cfg.cache.enabled) {
      cache = openVerdictCache(cfg.cache.dir);
      if (cache.disabled) {
        warn(`verdict cache not used: ${cache.disabled}`);
        cache = undefined;
      }
      const hit = cache?.getByStamp(req.digest, req.name, stamp, now());
      if (hit) {
        return {
          verdict: allow(`${hit.reason} (cached verdict of ${new Date(hit.created).toISOString()})`, 'stamp'),
        };
      }
    }
    return { miss: { req, cfg, ...(cache ? { cache } : {}), stamp } };
  } catch (e) {
    return { verdict: errorVerdict(input.name, e) };
  }
}
