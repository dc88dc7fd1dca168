// The real peers scripts/peers.sh unpacks (cosign 3.1.1, containerd, ...):
// where they are, and running the real cosign as a user would.

import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { promisify } from 'node:util';
import t from 'tap';
import { COSIGN, offlineSigningConfigArgs, SIGSTORE_GO } from './peer-paths.ts';

export { offlineSigningConfigArgs };

export { CONTAINERD, COSIGN, CTR, PEERS_BIN, SIGSTORE_GO, SKOPEO } from './peer-paths.ts';

const run = promisify(execFile);

/**
 * Runs `main` when every named peer binary is there (and, with `root`, when
 * running as root: containerd needs it). Otherwise the file is skipped
 * locally, saying what is missing, and fails under CI (where scripts/peers.sh
 * must have unpacked the peers and the job runs as root).
 */
export function withRealPeers(peers: Record<string, string>, main: () => void, opts: { root?: boolean } = {}): void {
  const missing = Object.entries(peers).filter(([, path]) => !existsSync(path)).map(([name, path]) =>
    `${name} at ${path}`
  );
  const why = missing.length
    ? `real peers missing: ${missing.join(', ')}: run bash scripts/peers.sh`
    : opts.root && process.getuid?.() !== 0
    ? `${Object.keys(peers).join(', ')} must run as root`
    : undefined;
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
export function cosignRunner(
  cwd: string,
  env: Record<string, string>,
): (args: string[], extra?: Record<string, string>) => Promise<PeerRun> {
  return (args, extra = {}) =>
    run(COSIGN, args, { cwd, env: { ...env, ...extra }, timeout: 60_000 }).then(
      (r) => ({ code: 0, stdout: r.stdout, stderr: r.stderr }),
      (e: { code?: number; stdout?: string; stderr?: string }) => ({
        code: typeof e.code === 'number' ? e.code : 99,
        stdout: e.stdout ?? '',
        stderr: e.stderr ?? '',
      }),
    );
}

/** Runs `main` when sigstore-go's verification CLI is there; otherwise skipped locally (saying so) and a failure under CI. */
export function withSigstoreGo(main: () => void): void {
  if (existsSync(SIGSTORE_GO)) return main();
  const why = `sigstore-go 1.3.0 (sigstore-go-verification) is missing at ${SIGSTORE_GO}: run bash scripts/peers.sh`;
  if (process.env.CI) throw new Error(why);
  t.test('sigstore-go', { skip: why }, async () => {});
}

/** Runs sigstore-go-verification with `args` and `env`; never throws on a non-zero exit. */
export function runSigstoreGo(args: string[], env: Record<string, string> = {}): Promise<PeerRun> {
  return run(SIGSTORE_GO, args, {
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/root', ...env },
    timeout: 60_000,
  }).then(
    (r) => ({ code: 0, stdout: r.stdout, stderr: r.stderr }),
    (e: { code?: number; stdout?: string; stderr?: string }) => ({
      code: typeof e.code === 'number' ? e.code : 99,
      stdout: e.stdout ?? '',
      stderr: e.stderr ?? '',
    }),
  );
}

/**
 * Writes `sc.json` in the runner's directory (see offlineSigningConfigArgs).
 * Returns cosign's exit code.
 */
export async function createOfflineSigningConfig(cosign: (args: string[]) => Promise<PeerRun>): Promise<number> {
  return (await cosign(offlineSigningConfigArgs())).code;
}
