// Runs the sigward CLI as a user (or containerd) would: the single binary
// dist/sigward (built by `npm test` before tap runs), or a wrapper script
// around it. SIGWARD_TEST_FROM_SOURCE=1 runs `node cmd/main.ts` instead, for
// quick iteration while developing. The one place that decides how a test
// starts sigward: one-shot runs here (`runSigward`, `runVerifier`),
// long-running ones (`sigward serve`) spawn `sigwardCommand(...)`.

import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT } from './fixtures.ts';

export const BINARY = join(ROOT, 'dist/sigward');
export const DESCRIPTOR_MEDIA_TYPE = 'application/vnd.oci.descriptor.v1+json';

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
  /** wall time of the run */
  ms: number;
}

/** containerd's run of a bindir verifier */
export type VerifierRun = CliResult;

/** The executable and argv that run sigward with `args`: `bin` (default dist/sigward), or the sources. */
export function sigwardCommand(args: string[], bin: string = BINARY): { file: string; argv: string[] } {
  if (process.env.SIGWARD_TEST_FROM_SOURCE === '1') {
    return { file: process.execPath, argv: [join(ROOT, 'cmd/main.ts'), ...args] };
  }
  if (bin === BINARY && !existsSync(BINARY)) {
    throw new Error(`${BINARY} is missing: run "npm run build" (npm test builds it first)`);
  }
  return { file: bin, argv: args };
}

/** The environment a test run of sigward gets: PATH, HOME, no Docker credentials; `env` adds to it. */
export function sigwardEnv(env: Record<string, string> = {}): Record<string, string> {
  return {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: process.env.HOME ?? '/root',
    DOCKER_CONFIG: '/nonexistent-sigward-test',
    ...env,
  };
}

export interface RunOptions {
  /** added to sigwardEnv() */
  env?: Record<string, string>;
  /** the whole environment instead of sigwardEnv() + env */
  bareEnv?: Record<string, string>;
  input?: string;
  timeoutMs?: number;
  killSignal?: NodeJS.Signals;
  cwd?: string;
  /** what to run instead of dist/sigward (a wrapper around it) */
  bin?: string;
}

/** Runs sigward to its exit; a run that did not exit with a number (killed, not started) reports code 99. */
export function runSigward(args: string[], opts: RunOptions = {}): Promise<CliResult> {
  const { file, argv } = sigwardCommand(args, opts.bin);
  const started = performance.now();
  return new Promise((resolve) => {
    const child = execFile(
      file,
      argv,
      {
        cwd: opts.cwd ?? ROOT,
        env: opts.bareEnv ?? sigwardEnv(opts.env),
        timeout: opts.timeoutMs ?? 60_000,
        killSignal: opts.killSignal ?? 'SIGTERM',
        maxBuffer: 16 * 1024 * 1024,
      },
      (err, stdout, stderr) => {
        const code = err
          ? (typeof (err as { code?: unknown }).code === 'number' ? ((err as { code: number }).code) : 99)
          : 0;
        resolve({ code, stdout: String(stdout), stderr: String(stderr), ms: performance.now() - started });
      },
    );
    if (opts.input !== undefined) child.stdin?.end(opts.input);
    else child.stdin?.end();
  });
}

/**
 * Runs sigward as containerd 2.x's bindir image verifier runs it (bindir.go):
 *   <bin> -name REF -digest D -stdin-media-type application/vnd.oci.descriptor.v1+json
 * with the descriptor (JSON + newline) on stdin, a 10 s timeout, no
 * credentials, and the configuration directory in $SIGWARD_CONFIG_DIR.
 * `before`: words before containerd's flags (a bin_dir wrapper running `sigward containerd-verify "$@"`).
 */
export function runVerifier(
  bin: string,
  name: string,
  digest: string,
  descriptor: unknown,
  configDir: string,
  extraArgs: string[] = [],
  before: string[] = [],
): Promise<VerifierRun> {
  return runSigward([
    ...before,
    '-name',
    name,
    '-digest',
    digest,
    '-stdin-media-type',
    DESCRIPTOR_MEDIA_TYPE,
    ...extraArgs,
  ], {
    bin,
    bareEnv: { PATH: '/usr/bin:/bin', HOME: tmpdir(), SIGWARD_CONFIG_DIR: configDir },
    timeoutMs: 10_000,
    killSignal: 'SIGKILL',
    input: typeof descriptor === 'string' ? descriptor : JSON.stringify(descriptor) + '\n',
  });
}
