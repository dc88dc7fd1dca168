// Runs the sigward CLI as a user would: the single binary dist/sigward (built
// by `npm test` before tap runs). SIGWARD_TEST_FROM_SOURCE=1 runs
// `node cmd/main.ts` instead, for quick iteration while developing.

import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from './fixtures.ts';

export const BINARY = join(ROOT, 'dist/sigward');

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export function runSigward(
  args: string[],
  opts: { env?: Record<string, string>; input?: string; timeoutMs?: number; cwd?: string } = {},
): Promise<CliResult> {
  const fromSource = process.env.SIGWARD_TEST_FROM_SOURCE === '1';
  if (!fromSource && !existsSync(BINARY)) {
    throw new Error(`${BINARY} is missing: run "npm run build" (npm test builds it first)`);
  }
  const file = fromSource ? process.execPath : BINARY;
  const argv = fromSource ? [join(ROOT, 'cmd/main.ts'), ...args] : args;
  return new Promise((resolve) => {
    const child = execFile(
      file,
      argv,
      {
        cwd: opts.cwd ?? ROOT,
        env: {
          PATH: process.env.PATH ?? '/usr/bin:/bin',
          HOME: process.env.HOME ?? '/root',
          DOCKER_CONFIG: '/nonexistent-sigward-test',
          ...opts.env,
        },
        timeout: opts.timeoutMs ?? 60_000,
        maxBuffer: 16 * 1024 * 1024,
      },
      (err, stdout, stderr) => {
        const code = err
          ? (typeof (err as { code?: unknown }).code === 'number' ? ((err as { code: number }).code) : 99)
          : 0;
        resolve({ code, stdout: String(stdout), stderr: String(stderr) });
      },
    );
    if (opts.input !== undefined) child.stdin?.end(opts.input);
    else child.stdin?.end();
  });
}
