// Smoke tests of the single executable dist/sigward (npm test builds it
// before tap runs). They run the real binary: no node_modules, no sources.

import t from 'tap';
import { spawnSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { copyFileSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { VERSION } from '../../lib/version.ts';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const BINARY = join(ROOT, 'dist', 'sigward');

const COMMANDS = [
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
];

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

function sigward(args: string[], opts: { bin?: string; cwd?: string; env?: Record<string, string> } = {}): Run {
  const r = spawnSync(opts.bin ?? BINARY, args, {
    cwd: opts.cwd ?? ROOT,
    // a clean environment unless the test gives one: no NODE_OPTIONS from tap
    env: opts.env ?? { PATH: '/usr/bin:/bin', HOME: tmpdir() },
    encoding: 'utf8',
    timeout: 30_000,
  });
  if (r.error) throw r.error;
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

if (!existsSync(BINARY)) {
  // npm test always builds first; running this file alone needs `npm run build`.
  t.fail(`${BINARY} is missing: run npm run build`);
} else {
  t.test('--help lists every command and exits 0', async (t) => {
    const r = sigward(['--help']);
    t.equal(r.status, 0, r.stderr);
    for (const c of COMMANDS) t.match(r.stdout, new RegExp(`^\\s+sigward ${c}(\\s|$)`, 'm'), `lists ${c}`);
    t.match(r.stdout, /--output/);
    t.match(r.stdout, /--log-level/);
  });

  t.test('version reports a bundled single executable on Node 24', async (t) => {
    const r = sigward(['version']);
    t.equal(r.status, 0, r.stderr);
    t.match(r.stdout, new RegExp(`^sigward ${VERSION.replaceAll('.', '\\.')}$`, 'm'));
    t.match(r.stdout, /^\s+bundled:\s+single executable$/m);
    t.match(r.stdout, /^\s+runtime:\s+node v24\.\d+\.\d+$/m);
    const commit = /^\s+commit:\s+(\S+)$/m.exec(r.stdout)?.[1];
    t.match(commit, /^([0-9a-f]{7,40}|unknown)$/, 'the git commit of the build, not "source"');
  });

  t.test('--version prints the version line', async (t) => {
    const r = sigward(['--version']);
    t.equal(r.status, 0, r.stderr);
    t.equal(r.stdout.trim(), `sigward ${VERSION}`);
  });

  t.test('--output json version is a JSON document', async (t) => {
    const r = sigward(['--output', 'json', 'version']);
    t.equal(r.status, 0, r.stderr);
    const doc = JSON.parse(r.stdout) as Record<string, unknown>;
    t.equal(doc.schema, 'sigward.version/v1');
    t.equal(doc.version, VERSION);
    t.equal(doc.bundled, true);
    t.equal(doc.runtime, 'node');
    t.match(doc.node, /^v24\./);
    t.ok(!Number.isNaN(Date.parse(doc.date as string)), `build date ${String(doc.date)} is a date`);
  });

  t.test('subcommand help works', async (t) => {
    const r = sigward(['verify', '--help']);
    t.equal(r.status, 0, r.stderr);
    t.match(r.stdout, /sigward verify/);
    t.match(r.stdout, /--key/);
  });

  t.test('every command is implemented: none answers "not implemented yet"', async (t) => {
    for (
      const args of [
        ['verify'],
        ['verify-attestation'],
        ['verify-bundle'],
        ['check'],
        ['serve'],
        ['containerd-verify'],
        ['policy', 'lint'],
        ['trust', 'show'],
        ['export', 'containers-policy'],
        ['version'],
      ]
    ) {
      const r = sigward(args);
      t.notMatch(r.stdout + r.stderr, /not implemented yet/, args.join(' '));
    }
  });
  t.test('a usage error exits 2 with the reason on stderr', async (t) => {
    const r = sigward(['export', 'containers-policy']);
    t.equal(r.status, 2);
    t.match(r.stderr, /policy/i);
  });

  t.test('unknown commands and arguments are usage errors (exit 2)', async (t) => {
    const cmd = sigward(['frobnicate']);
    t.equal(cmd.status, 2);
    t.match(cmd.stderr, /Unknown argument: frobnicate/);
    const flag = sigward(['version', '--no-such-flag']);
    t.equal(flag.status, 2);
    t.match(flag.stderr, /Unknown argument/);
    const none = sigward([]);
    t.equal(none.status, 2, 'no command');
  });

  t.test('--log-level debug writes pino JSON lines to stderr', async (t) => {
    // verify logs one line per image; an image in a missing OCI layout fails
    // without any network. Proves pino (and its redaction setup) works bundled.
    const dir = mkdtempSync(join(tmpdir(), 'sigward-bin-log-'));
    t.teardown(() => rmSync(dir, { recursive: true, force: true }));
    const { publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    writeFileSync(join(dir, 'cosign.pub'), publicKey.export({ type: 'spki', format: 'pem' }));
    const args = ['verify', `oci:${join(dir, 'no-such-layout')}`, '--key', join(dir, 'cosign.pub')];

    const quiet = sigward(args, { cwd: dir });
    t.not(quiet.status, 0, 'verification of a missing image fails');
    t.notMatch(quiet.stderr, /"level":/, 'no log lines at the default level (warn)');

    const loud = sigward(['--log-level', 'debug', ...args], { cwd: dir });
    t.equal(loud.status, quiet.status);
    const lines = loud.stderr
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    t.ok(lines.length > 0, `JSON log lines on stderr:\n${loud.stderr}`);
    for (const l of lines) {
      t.equal(l.name, 'sigward');
      t.ok(typeof l.level === 'number' && l.level >= 10 && l.level <= 30, `level ${String(l.level)} is debug..info`);
      t.ok(!Number.isNaN(Date.parse(l.time as string)), 'ISO timestamp');
    }
  });

  t.test('the binary runs on its own: copied elsewhere, empty environment', async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'sigward-bin-alone-'));
    t.teardown(() => rmSync(dir, { recursive: true, force: true }));
    const copy = join(dir, 'sigward');
    copyFileSync(BINARY, copy);
    // like `env -i PATH=/usr/bin:/bin`: no HOME, no NODE_PATH, no node_modules around
    const env = { PATH: '/usr/bin:/bin' };
    t.notOk(existsSync(join(dir, 'node_modules')));

    const v = sigward(['version'], { bin: copy, cwd: dir, env });
    t.equal(v.status, 0, v.stderr);
    t.match(v.stdout, /bundled:\s+single executable/);
    t.equal(v.stderr, '', 'no warnings (SEA warning disabled)');

    const h = sigward(['--help'], { bin: copy, cwd: dir, env });
    t.equal(h.status, 0, h.stderr);
    for (const c of COMMANDS) t.match(h.stdout, new RegExp(`^\\s+sigward ${c}(\\s|$)`, 'm'), `lists ${c}`);

    const j = sigward(['-o', 'json', 'version'], { bin: copy, cwd: dir, env });
    t.equal(j.status, 0, j.stderr);
    t.equal((JSON.parse(j.stdout) as { bundled: boolean }).bundled, true);
  });
}
