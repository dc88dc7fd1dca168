// The node configuration and the descriptor checks, without a registry.

import t from 'tap';
import { chmodSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { readFileSync } from 'node:fs';
import { DEFAULT_CACHE_DIR, getConfigDir, toNodeConfig, toPlainConfigDoc } from '../../lib/containerd/config.ts';
import { MAX_REASON_BYTES, toContainerdRequest, toImageLabel, toReasonLine } from '../../lib/containerd/descriptor.ts';
import { getConfigStamp, openVerdictCache } from '../../lib/containerd/verdict-cache.ts';
import yargs from 'yargs';
import { COMMAND_NAMES, toContainerdArgv, toContainerdCall, toPlainContainerdArgs } from '../../cmd/containerd-argv.ts';
import { findCommand } from '../../cmd/cli.ts';
import { commands } from '../../cmd/commands/index.ts';
import { containerdVerifyCommand } from '../../cmd/commands/containerd-verify.ts';
import { ROOT } from '../helpers/fixtures.ts';

const D = 'sha256:' + 'a'.repeat(64);
const M = 'application/vnd.oci.descriptor.v1+json';

t.test('config.yaml', async (t) => {
  t.equal(getConfigDir({}), '/etc/sigward');
  t.equal(getConfigDir({ SIGWARD_CONFIG_DIR: '/x' }), '/x');
  const d = toNodeConfig(undefined, '/etc/sigward');
  t.equal(d.policiesDir, '/etc/sigward/policies');
  t.equal(d.deadlineSeconds, 8);
  t.equal(d.cache.dir, DEFAULT_CACHE_DIR);
  const c = toNodeConfig('registry:\n  caFiles: [ca.pem]\n  insecure: [r:5000]\ncache:\n  dir: cache\n', '/cfg');
  t.same(c.registry.caFiles, ['/cfg/ca.pem']);
  t.equal(c.cache.dir, '/cfg/cache');
  t.throws(() => toNodeConfig('registy: {}\n', '/cfg'), /unknown key "registy"/);
  t.throws(() => toNodeConfig('deadlineSeconds: 0\n', '/cfg'), /deadlineSeconds: expected a number/);
  t.throws(() => toNodeConfig('cache: {enabled: "yes"}\n', '/cfg'), /expected true or false/);
  const example = readFileSync(join(ROOT, 'testdata/containerd/config.yaml'), 'utf8');
  t.ok(parse(example));
  t.doesNotThrow(() => toNodeConfig(example, '/etc/sigward'), 'the documented example loads');
});

t.test('containerd invocation and descriptor', async (t) => {
  t.same(toContainerdArgv(['-name', 'r/a:1', '-digest', D, '-stdin-media-type', M], undefined), [
    'containerd-verify',
    '--name',
    'r/a:1',
    '--digest',
    D,
    '--stdin-media-type',
    M,
  ]);
  t.same(toContainerdArgv(['-name=r/a:1', '-digest=' + D], undefined), [
    'containerd-verify',
    '--name',
    'r/a:1',
    '--digest',
    D,
  ]);
  t.equal(toContainerdArgv(['check', '--name', 'x'], 'check'), undefined);
  t.equal(
    toContainerdArgv(['check', '-name', 'x'], 'check'),
    undefined,
    "another command's argv is left to its parser",
  );
  // a wrapper in bin_dir running `sigward containerd-verify "$@"`: the command word is not repeated
  t.same(
    toContainerdArgv(
      ['containerd-verify', '-name', 'r/a:1', '-digest', D, '-stdin-media-type', M],
      'containerd-verify',
    ),
    ['containerd-verify', '--name', 'r/a:1', '--digest', D, '--stdin-media-type', M],
  );
  t.same(toContainerdArgv(['-o', 'json', 'containerd-verify', '-digest=' + D, '-name', 'r/a:1'], 'containerd-verify'), [
    '-o',
    'json',
    'containerd-verify',
    '--digest',
    D,
    '--name',
    'r/a:1',
  ]);
  t.equal(toImageLabel({ name: 'r.io/a:1', digest: D }), `r.io/a:1@${D}`);
  t.equal(
    toImageLabel({ name: `r.io/a@${D}`, digest: D }),
    `r.io/a@${D}`,
    'a name that pins the digest is not followed by it again',
  );
  t.equal(toImageLabel({ name: `r.io/a:1@${D}`, digest: D }), `r.io/a:1@${D}`);
  const ok = toContainerdRequest({
    name: 'r.io/a:1',
    digest: D,
    stdinMediaType: M,
    stdin: JSON.stringify({ mediaType: 'application/vnd.oci.image.index.v1+json', digest: D, size: 10 }) + '\n',
  });
  t.equal(ok.descriptor.size, 10);
  const bad = (o: object, stdinMediaType = M) => () =>
    toContainerdRequest({
      name: 'r.io/a:1',
      digest: D,
      stdinMediaType,
      stdin: JSON.stringify({ mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: D, size: 1, ...o }),
    });
  t.throws(bad({ digest: 'sha256:' + 'b'.repeat(64) }), /manifest digest mismatch/);
  t.throws(bad({ size: -1 }), /no valid size/);
  t.throws(bad({ mediaType: 'text/plain' }), /unsupported image media type/);
  t.throws(bad({}, 'application/json'), /unsupported -stdin-media-type/);
  t.throws(
    () => toContainerdRequest({ name: 'r', digest: 'sha256:abc', stdinMediaType: M, stdin: '{}' }),
    /invalid -digest/,
  );
  t.throws(() => toContainerdRequest({ name: 'r', digest: D, stdinMediaType: M, stdin: '' }), /no image descriptor/);
  t.equal(toReasonLine('a\n  b\n'), 'a b\n');
  const long = toReasonLine('é'.repeat(40_000));
  t.ok(Buffer.byteLength(long) <= MAX_REASON_BYTES, 'cut to 32 KiB');
  t.match(long, /é…\n$/, 'cut on a character boundary');
});

t.test("containerd's exact call is parsed without yargs, to what yargs parses from it", async (t) => {
  const viaYargs = (argv: string[]) =>
    containerdVerifyCommand
      .builder(yargs(argv.slice(1)).option('output', { default: 'text' }).option('log-level', { default: 'warn' }))
      .strict()
      .exitProcess(false)
      .parseSync() as Record<string, unknown>;
  for (
    const call of [
      ['-name', 'r.io/a/b:1', '-digest', D, '-stdin-media-type', M],
      ['-name=docker.io/library/nginx:latest', '-digest=' + D, '-stdin-media-type=' + M],
      ['-digest', D, '-name', 'r.io/a@' + D],
      ['-name', 'r.io/a:1', '-digest', D],
    ]
  ) {
    const argv = toContainerdArgv(call, undefined)!;
    const plain = toPlainContainerdArgs(argv);
    t.ok(plain, call.join(' '));
    const parsed = viaYargs(argv);
    for (const [k, v] of Object.entries(plain ?? {})) t.equal(parsed[k], v, `${k} as yargs parses it`);
    t.same(
      Object.keys(parsed).filter((k) => !/^(_|\$0)$/.test(k) && !/[A-Z]/.test(k) && parsed[k] !== undefined).sort(),
      Object.keys(plain ?? {}).sort(),
      'the same options',
    );
  }
  // anything else goes through yargs (usage errors, help, other options)
  for (
    const call of [
      ['-name', 'r/a:1', '-digest', D, '--help'],
      ['-name', 'r/a:1', '-name', 'r/b:1', '-digest', D],
      ['-name', '', '-digest', D],
      ['-name', '-x', '-digest', D],
      ['-name', 'r/a:1', '-digest', D, '--config-dir', '/etc/x'],
      ['-name', 'r/a:1', '-digest'],
      ['-digest', D],
    ]
  ) {
    t.equal(toPlainContainerdArgs(toContainerdArgv(call, undefined)!), undefined, call.join(' '));
  }
  t.equal(toPlainContainerdArgs(['verify', '--name', 'x', '--digest', D]), undefined, 'other commands');
});

t.test('config.yaml in its plain form is read as the yaml library reads it', async (t) => {
  const example = readFileSync(join(ROOT, 'testdata/containerd/config.yaml'), 'utf8');
  t.strictSame(toPlainConfigDoc(example), parse(example), 'the documented example is plain');
  t.strictSame(toPlainConfigDoc('cache:\n  dir: cache\n  ttlSeconds: 86400\nregistry:\n  allowHttp: true\n'), {
    cache: { dir: 'cache', ttlSeconds: 86400 },
    registry: { allowHttp: true },
  });
  // generated documents, plain or not: whatever is read without the library is what the library reads
  let seed = 16;
  const rand = (n: number) => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return (seed >>> 8) % n;
  };
  const pick = <T>(xs: readonly T[]) => xs[rand(xs.length)]!;
  const tops = ['registry', 'cache', 'defaultRegistry', 'deadlineSeconds', 'policiesDir', 'trustDir', 'secretsDir'];
  const children = [
    'insecure',
    'allowHttp',
    'caFiles',
    'pullSecrets',
    'timeoutSeconds',
    'enabled',
    'dir',
    'ttlSeconds',
  ];
  const odd = ['registy', 'Cache', 'constructor', '__proto__', 'a-b', 'dir x', '"cache"'];
  const values = [
    ...['true', 'false', 'True', 'FALSE', 'yes', 'no', 'on', 'off', 'y', 'null', 'Null', 'NULL', '~', '', ' ', '[]'],
    ...['{}', '[a]', '[ ]', '0', '8', '08', '0x10', '0o7', '1e3', '.5', '5.', '.inf', '.NaN', '-1', '+1', '3600'],
    ...['123456789', '1234567890', '99999999999999999999', 'cache', '/var/cache/sigward', 'docker.io', 'ghcr.io:5000'],
    ...[
      'a b',
      'a #c',
      '#c',
      'a#b',
      '"x"',
      "'x'",
      'x:',
      'x: y',
      '&a',
      '*a',
      '!!str x',
      '|',
      '>',
      '-',
      '- a',
      'Infinity',
    ],
    ...['NaN', 'docker.io/library', 'x\r', 'x\t', 'é', '_x', './cache', '../c', 'a-', 'A1', '/', '//x', 'ttlSeconds'],
  ];
  const line = (): string => {
    switch (rand(12)) {
      case 0:
        return pick(['', '# comment', '  # indented comment', '#', '   ', '---', '...', '%YAML 1.2', '\t# tab']);
      case 1:
        return `${pick(['', '  ', ' ', '   ', '    ', '\t'])}${pick([...children, ...odd])}${
          pick([':', ': ', ':  ', ' :', ':'])
        }${pick(values)}`;
      case 2:
      case 3:
      case 4:
        return `  ${pick(children)}: ${pick(values)}`;
      case 5:
        return `  ${pick(children)}:`;
      case 6:
        return `${pick(tops)}:`;
      default:
        return `${pick(rand(8) ? tops : odd)}: ${pick(rand(3) ? values.slice(0, 40) : values)}`;
    }
  };
  // the shape of a real config.yaml: top-level keys, the two sections with children, comments
  const plainish = [
    'true',
    'false',
    '0',
    '8',
    '3600',
    '[]',
    'cache',
    '/var/cache/sigward',
    'docker.io',
    'A1',
    '/',
    'True',
  ];
  const value = () => pick(rand(5) ? plainish : values);
  const structured = (): string[] => {
    const out: string[] = [];
    for (let n = 1 + rand(4); n > 0; n--) {
      if (rand(4) === 0) out.push(pick(['# comment', '', '  # note']));
      const key = pick(tops);
      if (rand(2)) {
        out.push(`${key}:`);
        const own = key === 'registry' ? children.slice(0, 5) : key === 'cache' ? children.slice(5) : children;
        for (let c = rand(4); c > 0; c--) out.push(`  ${pick(rand(4) ? own : children)}: ${value()}`);
      } else out.push(`${key}: ${value()}`);
    }
    return out;
  };
  let plain = 0;
  let disagreements = 0;
  for (let i = 0; i < 4000; i++) {
    const lines = rand(3) ? structured() : Array.from({ length: 1 + rand(7) }, line);
    if (rand(4) === 0) lines[rand(lines.length)] = line();
    const text = lines.join('\n') + pick(['', '\n', '\n\n']);
    const mine = toPlainConfigDoc(text);
    if (mine === undefined) continue;
    plain++;
    let theirs: unknown;
    try {
      theirs = parse(text) ?? {};
    } catch (e) {
      theirs = `yaml error: ${(e as Error).message.split('\n')[0]}`;
    }
    if (JSON.stringify(mine) !== JSON.stringify(theirs) || typeof theirs !== 'object') {
      disagreements++;
      t.strictSame(mine, theirs, JSON.stringify(text));
    }
  }
  t.equal(disagreements, 0, `no disagreement over ${plain} plain documents`);
  t.ok(plain > 300, `a fair share of the documents is plain (${plain} of 4000)`);
});

t.test("the first stage finds containerd's call exactly where cli.ts does", async (t) => {
  t.same(COMMAND_NAMES, commands.map((c) => c.command.split(' ')[0]), 'every command, in the index order');
  // cli.ts: the command word, containerd's flags rewritten, the plain arguments
  const viaCli = (argv: string[]) => {
    const entry = findCommand(argv);
    const rewritten = toContainerdArgv(argv, entry?.command.split(' ')[0]);
    return rewritten && findCommand(rewritten) ? toPlainContainerdArgs(rewritten) : undefined;
  };
  const calls = [
    ['-name', 'r.io/a/b:1', '-digest', D, '-stdin-media-type', M],
    ['-name=docker.io/library/nginx:latest', '-digest=' + D, '-stdin-media-type=' + M],
    ['-digest', D, '-name', 'r.io/a@' + D],
    ['containerd-verify', '-name', 'r.io/a:1', '-digest', D, '-stdin-media-type', M],
    ['-name', 'verify', '-digest', D, '-stdin-media-type', M],
    ['-name=check', '-digest', D],
    ['-digest', D, '-name', 'containerd-verify'],
    ['-o', 'json', '-name', 'r/a:1', '-digest', D],
    ['--log-level', 'verify', '-name', 'r/a:1', '-digest', D],
    ['--', '-name', 'r/a:1', '-digest', D],
    ['verify', '-name', 'r/a:1', '-digest', D],
    ['-name', 'r/a:1', '-digest', D, '--help'],
    ['-name', 'r/a:1'],
  ];
  for (const call of calls) t.same(toContainerdCall(call), viaCli(call), call.join(' '));
  t.ok(toContainerdCall(calls[0]!), "containerd's own call is recognised");
  t.equal(toContainerdCall(calls[4]!), undefined, 'a name that is a command word runs that command');
});

t.test('verdict cache', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'sigward-vc-'));
  const c = openVerdictCache(join(dir, 'cache'));
  t.equal(c.disabled, undefined);
  const e = { name: 'r/a:1', fingerprint: 'f1', stamp: 's1', created: 1000, expires: 5000, reason: 'ok' };
  c.putAllow(D, e);
  t.same(c.getByStamp(D, 'r/a:1', 's1', 2000), e);
  t.equal(c.getByStamp(D, 'r/a:1', 's2', 2000), undefined, 'other stamp');
  t.same(c.getByFingerprint(D, 'r/a:1', 'f1', 2000), e);
  t.equal(c.getByStamp(D, 'r/b:1', 's1', 2000), undefined, 'other name');
  t.equal(c.getByStamp(D, 'r/a:1', 's1', 6000), undefined, 'expired');
  c.putAllow(D, { ...e, name: 'r/b:1' });
  t.ok(c.getByStamp(D, 'r/a:1', 's1', 2000) && c.getByStamp(D, 'r/b:1', 's1', 2000), 'entries per name in one file');
  writeFileSync(join(dir, 'cache', 'verdicts', 'sha256-' + 'a'.repeat(64) + '.json'), '\u0000garbage');
  t.equal(c.getByStamp(D, 'r/a:1', 's1', 2000), undefined, 'corrupt: miss');
  const open = join(dir, 'open');
  mkdirSync(open);
  chmodSync(open, 0o777);
  t.match(openVerdictCache(open).disabled, /writable by group or others/);

  const cfg = join(dir, 'cfg');
  mkdirSync(join(cfg, 'policies'), { recursive: true });
  writeFileSync(join(cfg, 'policies', 'p.yaml'), 'a');
  const s1 = getConfigStamp([join(cfg, 'policies')]);
  t.equal(getConfigStamp([join(cfg, 'policies')]), s1, 'stable');
  writeFileSync(join(cfg, 'policies', 'p.yaml'), 'ab');
  t.not(getConfigStamp([join(cfg, 'policies')]), s1, 'a changed file changes the stamp');
});
