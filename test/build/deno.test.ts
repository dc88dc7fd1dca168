// Deno compatibility smoke test: the TypeScript sources run unchanged under
// Deno (npm packages resolved from node_modules, no network, fresh DENO_DIR).

import t from 'tap';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { VERSION } from '../../lib/version.ts';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const DENO = join(ROOT, 'node_modules', '.bin', 'deno');
const DENO_DIR = mkdtempSync(join(tmpdir(), 'sigward-deno-'));
t.teardown(() => rmSync(DENO_DIR, { recursive: true, force: true }));

function deno(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(DENO, ['run', '-A', '--cached-only', '--node-modules-dir=manual', 'cmd/main.ts', ...args], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: DENO_DIR,
      DENO_DIR,
      DENO_NO_UPDATE_CHECK: '1',
      NO_COLOR: '1',
    },
    encoding: 'utf8',
    timeout: 60_000,
  });
  if (r.error) throw r.error;
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

t.ok(existsSync(DENO), `${DENO} exists (npm package "deno")`);

t.test('version runs under Deno', async (t) => {
  const r = deno(['version']);
  t.equal(r.status, 0, r.stderr);
  t.match(r.stdout, new RegExp(`^sigward ${VERSION.replaceAll('.', '\\.')}$`, 'm'));
  t.match(r.stdout, /^\s+runtime:\s+deno \d+\.\d+\.\d+ v\d+/m);
  t.match(r.stdout, /^\s+bundled:\s+no \(running from sources\)$/m);
});

t.test('--output json version under Deno', async (t) => {
  const r = deno(['--output', 'json', 'version']);
  t.equal(r.status, 0, r.stderr);
  const doc = JSON.parse(r.stdout) as Record<string, unknown>;
  t.equal(doc.schema, 'sigward.version/v1');
  t.match(doc.runtime, /^deno \d+\./);
  t.equal(doc.bundled, false);
});

t.test('--help under Deno lists the commands; usage errors exit 2', async (t) => {
  const r = deno(['--help']);
  t.equal(r.status, 0, r.stderr);
  for (
    const c of [
      'verify',
      'verify-attestation',
      'verify-bundle',
      'check',
      'serve',
      'containerd-verify',
      'policy',
      'trust',
      'export',
      'version',
    ]
  ) {
    t.match(r.stdout, new RegExp(`^\\s+sigward ${c}(\\s|$)`, 'm'), `lists ${c}`);
  }
  const bad = deno(['frobnicate']);
  t.equal(bad.status, 2, 'exit code reaches the shell under Deno too');
  t.match(bad.stderr, /Unknown argument: frobnicate/);
});
