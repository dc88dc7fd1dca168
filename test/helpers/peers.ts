// The real peers scripts/peers.sh unpacks (cosign 3.1.1, containerd, ...):
// where they are, and running the real cosign as a user would.

import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import t from 'tap';
import { ROOT } from './fixtures.ts';

const run = promisify(execFile);

/** The folder holding the peers' binaries (SIGWARD_PEERS_BIN, or SIGWARD_PEERS/bin, or .peers/bin). */
export const PEERS_BIN = process.env.SIGWARD_PEERS_BIN ?? join(process.env.SIGWARD_PEERS ?? join(ROOT, '.peers'), 'bin');
export const COSIGN = join(PEERS_BIN, 'cosign');
export const CONTAINERD = join(PEERS_BIN, 'containerd');
export const CTR = join(PEERS_BIN, 'ctr');
/** skopeo 1.22 (sid), run through sid's loader by the wrapper scripts/peers.sh writes */
export const SKOPEO = join(PEERS_BIN, 'skopeo');

/**
 * Runs `main` when every named peer binary is there (and, with `root`, when
 * running as root: containerd needs it). Otherwise the file is skipped
 * locally, saying what is missing, and fails under CI (where scripts/peers.sh
 * must have unpacked the peers and the job runs as root).
 */
export function withRealPeers(peers: Record<string, string>, main: () => void, opts: { root?: boolean } = {}): void {
  const missing = Object.entries(peers).filter(([, path]) => !existsSync(path)).map(([name, path]) => `${name} at ${path}`);
  const why = missing.length ? `real peers missing: ${missing.join(', ')}: run bash scripts/peers.sh` : opts.root && process.getuid?.() !== 0 ? `${Object.keys(peers).join(', ')} must run as root` : undefined;
  if (!why) return main();
  if (process.env.CI) throw new Error(why);
  t.test(`real ${Object.keys(peers).join(', ')}`, { skip: why }, async () => {});
}

/**
 * Runs `main` when the real cosign is there. Without it the file is skipped
 * locally and fails under CI (where scripts/peers.sh must have unpacked it).
 */
export function withRealCosign(main: () => void): void {
  withRealPeers({ 'cosign 3.1.1': COSIGN }, main);
}

export interface PeerRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** A runner for the real cosign in `cwd` with `env`; never throws on a non-zero exit. */
export function cosignRunner(cwd: string, env: Record<string, string>): (args: string[], extra?: Record<string, string>) => Promise<PeerRun> {
  return (args, extra = {}) =>
    run(COSIGN, args, { cwd, env: { ...env, ...extra }, timeout: 60_000 }).then(
      (r) => ({ code: 0, stdout: r.stdout, stderr: r.stderr }),
      (e: { code?: number; stdout?: string; stderr?: string }) => ({ code: typeof e.code === 'number' ? e.code : 99, stdout: e.stdout ?? '', stderr: e.stderr ?? '' }),
    );
}
