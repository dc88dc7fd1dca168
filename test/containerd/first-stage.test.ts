// The single executable's first stage for containerd's call
// (cmd/containerd-first-stage.ts): it answers only a cached allow, in the words
// the full binary uses, and leaves everything else to the full binary with the
// descriptor it read from stdin. No registry is needed: an image no policy
// matches is allowed and cached without one.

import t from 'tap';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BINARY, DESCRIPTOR_MEDIA_TYPE, runSigward, runVerifier } from '../helpers/cli.ts';

const D = 'sha256:' + 'b'.repeat(64);
const desc = { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: D, size: 2 };

function makeConfig(configYaml: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'sigward-first-stage-'));
  mkdirSync(join(dir, 'policies'));
  writeFileSync(join(dir, 'config.yaml'), configYaml);
  return dir;
}

t.test('a cached allow: the same line and exit code as the full binary gives', async (t) => {
  const cfg = makeConfig('cache:\n  dir: cache\n');
  const first = await runVerifier(BINARY, 'registry.invalid/app:v1', D, desc, cfg);
  t.equal(first.code, 0, first.stdout + first.stderr);
  t.equal(
    first.stdout,
    `sigward: allowed registry.invalid/app:v1@${D}: no policy applies to this image\n`,
    'a miss: the full binary read the descriptor the first stage handed over',
  );
  const hit = await runVerifier(BINARY, 'registry.invalid/app:v1', D, desc, cfg);
  t.equal(hit.code, 0);
  t.match(hit.stdout, /^sigward: allowed .*no policy applies to this image \(cached verdict of [0-9T:.-]+Z\)\n$/);
  t.equal(hit.stderr, '');
  // double-dash options are not containerd's call: the full binary answers from the same cache
  const full = await runSigward(
    [
      'containerd-verify',
      '--name',
      'registry.invalid/app:v1',
      '--digest',
      D,
      '--stdin-media-type',
      DESCRIPTOR_MEDIA_TYPE,
    ],
    { env: { SIGWARD_CONFIG_DIR: cfg }, input: JSON.stringify(desc) + '\n' },
  );
  t.strictSame(
    { code: full.code, stdout: full.stdout, stderr: full.stderr },
    { code: hit.code, stdout: hit.stdout, stderr: hit.stderr },
    'identical to the full binary',
  );
});

t.test('a name that is a command word is not containerd-verify, cached or not', async (t) => {
  const cfg = makeConfig('cache:\n  dir: cache\n');
  // cached through a wrapper (`sigward containerd-verify -name verify ...`)
  const wrapped = await runVerifier(BINARY, 'verify', D, desc, cfg, [], ['containerd-verify']);
  t.equal(wrapped.code, 0, wrapped.stdout + wrapped.stderr);
  t.equal((await runVerifier(BINARY, 'verify', D, desc, cfg, [], ['containerd-verify'])).code, 0);
  t.match((await runVerifier(BINARY, 'verify', D, desc, cfg, [], ['containerd-verify'])).stdout, /cached verdict/);
  // `sigward -name verify ...` runs the verify command, as without the cache: a usage error, no verdict
  const r = await runVerifier(BINARY, 'verify', D, desc, cfg);
  t.equal(r.code, 2, r.stdout + r.stderr);
  t.equal(r.stdout, '', 'nothing that reads like a verdict');
});

t.test('a warning on the fast path is printed once, by the full binary', async (t) => {
  const cfg = makeConfig('cache:\n  dir: cache\n');
  mkdirSync(join(cfg, 'cache'));
  chmodSync(join(cfg, 'cache'), 0o777);
  const r = await runVerifier(BINARY, 'registry.invalid/app:v1', D, desc, cfg);
  t.equal(r.code, 0, r.stdout + r.stderr);
  t.equal(r.stderr.match(/verdict cache not used/g)?.length, 1, r.stderr);
  t.notMatch(r.stdout, /cached verdict/);
});

t.test('a bad descriptor is reported as before, even with a cached allow for the name', async (t) => {
  const cfg = makeConfig('cache:\n  dir: cache\n');
  t.equal((await runVerifier(BINARY, 'registry.invalid/app:v1', D, desc, cfg)).code, 0);
  const other = 'sha256:' + 'c'.repeat(64);
  const r = await runVerifier(BINARY, 'registry.invalid/app:v1', D, { ...desc, digest: other }, cfg);
  t.equal(r.code, 1, r.stdout + r.stderr);
  t.equal(
    r.stdout,
    `sigward: cannot verify registry.invalid/app:v1: manifest digest mismatch: -digest ${D} but the descriptor on stdin has ${other}\n`,
  );
});

t.test('which bundle answers: the first stage for a plain config.yaml, the full one otherwise', {
  skip: process.env.SIGWARD_TEST_FROM_SOURCE === '1' && 'only the single executable has a first stage',
}, async (t) => {
  const ran = (cfg: string) => {
    const r = spawnSync(
      BINARY,
      ['-name', 'registry.invalid/app:v1', '-digest', D, '-stdin-media-type', DESCRIPTOR_MEDIA_TYPE],
      {
        encoding: 'utf8',
        input: JSON.stringify(desc) + '\n',
        env: { PATH: '/usr/bin:/bin', SIGWARD_CONFIG_DIR: cfg, SIGWARD_BUILD_CHECK_CODE_CACHE: '1' },
      },
    );
    return {
      code: r.status,
      stdout: r.stdout,
      bundles: [...r.stderr.matchAll(/^code cache accepted \((.*)\)$/gm)].map((m) => m[1]),
    };
  };
  const plain = makeConfig('# the node\ncache:\n  dir: cache\n  ttlSeconds: 600\n');
  t.strictSame(ran(plain).bundles, ['sigward-containerd.cjs', 'sigward.cjs'], 'a miss runs both');
  const hit = ran(plain);
  t.equal(hit.code, 0);
  t.match(hit.stdout, /\(cached verdict of /);
  t.strictSame(hit.bundles, ['sigward-containerd.cjs'], 'a cached verdict: the first stage alone');
  // a comment after a value is YAML the first stage leaves to the library of the full binary
  const yaml = makeConfig('cache:\n  dir: cache # verdicts\n  ttlSeconds: 600\n');
  t.equal(ran(yaml).code, 0);
  const full = ran(yaml);
  t.equal(full.code, 0);
  t.match(full.stdout, /^sigward: allowed .*: no policy applies to this image \(cached verdict of [0-9T:.-]+Z\)\n$/);
  t.strictSame(full.bundles, ['sigward-containerd.cjs', 'sigward.cjs'], 'answered from the cache by the full bundle');
});
