// Runs sigward as containerd 2.x's bindir image verifier runs it (bindir.go):
//   <bin> -name REF -digest D -stdin-media-type application/vnd.oci.descriptor.v1+json
// with the descriptor (JSON + newline) on stdin, a 10 s timeout, no
// credentials, and the configuration directory in $SIGWARD_CONFIG_DIR.

import { execFile } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BINARY } from './cli.ts';
import { ROOT } from './fixtures.ts';

export const DESCRIPTOR_MEDIA_TYPE = 'application/vnd.oci.descriptor.v1+json';

export interface VerifierRun {
  code: number;
  stdout: string;
  stderr: string;
  ms: number;
}

/** `before`: words before containerd's flags (a bin_dir wrapper running `sigward containerd-verify "$@"`). */
export function runVerifier(
  bin: string,
  name: string,
  digest: string,
  descriptor: unknown,
  configDir: string,
  extraArgs: string[] = [],
  before: string[] = [],
): Promise<VerifierRun> {
  const fromSource = process.env.SIGWARD_TEST_FROM_SOURCE === '1';
  const file = fromSource ? process.execPath : bin;
  const args = [
    ...(fromSource ? [join(ROOT, 'cmd/main.ts')] : []),
    ...before,
    '-name',
    name,
    '-digest',
    digest,
    '-stdin-media-type',
    DESCRIPTOR_MEDIA_TYPE,
    ...extraArgs,
  ];
  const started = performance.now();
  return new Promise((resolve) => {
    const child = execFile(file, args, {
      env: { PATH: '/usr/bin:/bin', HOME: tmpdir(), SIGWARD_CONFIG_DIR: configDir },
      timeout: 10_000,
      killSignal: 'SIGKILL',
    }, (err, stdout, stderr) => {
      const code = err
        ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 99)
        : 0;
      resolve({ code, stdout: String(stdout), stderr: String(stderr), ms: performance.now() - started });
    });
    child.stdin!.end(typeof descriptor === 'string' ? descriptor : JSON.stringify(descriptor) + '\n');
  });
}
