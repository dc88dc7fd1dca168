// `sigward trust show|export|init --mirror DIR` through the binary, and the
// air-gapped flow: export the trust material, verify with nothing else.

import t from 'tap';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runSigward } from '../helpers/cli.ts';
import { ROOT, SHARED } from '../helpers/fixtures.ts';
import { getEmbeddedTrustedRoot, parseTrustedRoot } from '../../lib/trust/index.ts';

const dir = mkdtempSync(join(tmpdir(), 'sigward-trust-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
const PGI = `${SHARED}/trust-roots/cosign-trusted_root_pgi.json`;
const ATTESTATION = [
  '--bundle',
  `${SHARED}/sigstore-bundles/cosign-oci-attestation.sigstore.json`,
  '--certificate-identity',
  'cody@soyland.com',
  '--certificate-oidc-issuer',
  'https://github.com/login/oauth',
  'sha256:732112270d7e59418a8c080b134b24cabd67d250d0d0147a97ed95ba5c280aa4',
];
const REKOR_PEM = join(ROOT, 'testdata/trust/rekor-public-good.pub');

t.test('trust show', async (t) => {
  let r = await runSigward(['trust', 'show']);
  t.equal(r.code, 0, r.stderr);
  t.match(r.stdout, /^Trusted root: embedded public-good trusted root/);
  t.match(r.stdout, /Certificate authorities \(Fulcio\): 2/);
  t.match(
    r.stdout,
    /https:\/\/rekor\.sigstore\.dev {2}log id c0d23d6ad406973f9559f3ba2d1ca01f84147d8ffc5b8445c224f98b9591801d {2}ECDSA P-256/,
  );
  t.match(r.stdout, /Timestamp authorities: 1/);

  r = await runSigward(['trust', 'show', '-o', 'json']);
  t.equal(r.code, 0);
  const doc = JSON.parse(r.stdout);
  const embedded = getEmbeddedTrustedRoot();
  t.equal(doc.schema, 'sigward.trust/v1');
  t.same(doc.sources, ['embedded public-good trusted root']);
  t.equal(doc.tlogs.length, embedded.tlogs.length);
  t.equal(doc.ctlogs.length, embedded.ctlogs.length);
  t.equal(doc.certificateAuthorities[0].uri, 'https://fulcio.sigstore.dev');

  r = await runSigward(['trust', 'show', '--trusted-root', PGI, '-o', 'json']);
  t.equal(r.code, 0);
  t.same(JSON.parse(r.stdout).sources, [`file ${PGI}`]);

  // cosign's env override replaces the Rekor keys of the embedded root
  r = await runSigward(['trust', 'show', '-o', 'json'], { env: { SIGSTORE_REKOR_PUBLIC_KEY: REKOR_PEM } });
  t.equal(r.code, 0);
  const env = JSON.parse(r.stdout);
  t.same(env.sources, ['embedded public-good trusted root', `SIGSTORE_REKOR_PUBLIC_KEY=${REKOR_PEM}`]);
  t.equal(env.tlogs.length, 1);
  t.equal(env.tlogs[0].logId, 'c0d23d6ad406973f9559f3ba2d1ca01f84147d8ffc5b8445c224f98b9591801d');

  r = await runSigward(['trust', 'show', '--trusted-root', join(dir, 'missing.json')]);
  t.equal(r.code, 2, 'missing trusted root file');
  t.match(r.stderr, /cannot read trusted root/);
});

t.test('trust export', async (t) => {
  let r = await runSigward(['trust', 'export']);
  t.equal(r.code, 0);
  const exported = parseTrustedRoot(r.stdout);
  const embedded = getEmbeddedTrustedRoot();
  t.same(exported, embedded, 'stdout: the embedded root, unchanged');

  const out = join(dir, 'export', 'trusted_root.json');
  r = await runSigward(['trust', 'export', '--out', out]);
  t.equal(r.code, 0, r.stderr);
  t.match(r.stderr, /Wrote .*trusted_root\.json \(embedded public-good trusted root\)/);
  t.same(parseTrustedRoot(readFileSync(out, 'utf8')), embedded);

  // the effective root: a file plus a PEM override (added to it)
  const merged = join(dir, 'merged.json');
  r = await runSigward(['trust', 'export', '--trusted-root', PGI, '--out', merged, '-o', 'json'], {
    env: { SIGSTORE_REKOR_PUBLIC_KEY: REKOR_PEM },
  });
  t.equal(r.code, 0, r.stderr);
  t.equal(JSON.parse(r.stdout).path, merged);
  const m = parseTrustedRoot(readFileSync(merged, 'utf8'));
  const pgi = parseTrustedRoot(readFileSync(PGI, 'utf8'));
  t.equal(m.tlogs.length, pgi.tlogs.length + 1, 'PGI tlogs + the env Rekor key');

  // the exported file is all verification needs
  r = await runSigward(['verify-bundle', '--trusted-root', out, ...ATTESTATION]);
  t.equal(r.code, 0, `verify-bundle with the exported root: ${r.stdout}${r.stderr}`);
  // ... and a root without the public-good Rekor key is not enough
  const noRekor = join(dir, 'no-rekor.json');
  const stripped = JSON.parse(readFileSync(out, 'utf8'));
  stripped.tlogs = stripped.tlogs.filter((l: { baseUrl: string }) => l.baseUrl !== 'https://rekor.sigstore.dev');
  writeFileSync(noRekor, JSON.stringify(stripped));
  r = await runSigward(['verify-bundle', '--trusted-root', noRekor, ...ATTESTATION]);
  t.equal(r.code, 1, 'Rekor key removed: not verified');
});

t.test('trust init --mirror DIR', async (t) => {
  const mirror = join(dir, 'mirror');
  let r = await runSigward(['trust', 'init', '--mirror', mirror]);
  t.equal(r.code, 0, r.stderr);
  const trustedRoot = join(mirror, 'trusted_root.json');
  t.ok(existsSync(trustedRoot));
  t.same(parseTrustedRoot(readFileSync(trustedRoot, 'utf8')), getEmbeddedTrustedRoot());
  const tufRoot = JSON.parse(readFileSync(join(mirror, 'root.json'), 'utf8'));
  t.equal(tufRoot.signed._type, 'root');
  t.ok(tufRoot.signatures.length > 0);
  t.match(r.stdout, `Wrote ${trustedRoot}`);
  t.match(r.stdout, `--trusted-root ${trustedRoot}`);
  t.match(r.stdout, /TUF root of https:\/\/tuf-repo-cdn\.sigstore\.dev \(version \d+/);

  // the printed command works with the mirror alone
  r = await runSigward(['verify-bundle', '--trusted-root', trustedRoot, ...ATTESTATION]);
  t.equal(r.code, 0);

  r = await runSigward(['trust', 'init', '--mirror', join(dir, 'mirror-json'), '--trusted-root', PGI, '-o', 'json']);
  t.equal(r.code, 0);
  const doc = JSON.parse(r.stdout);
  t.equal(doc.schema, 'sigward.trust-init/v1');
  t.equal(doc.trustedRoot, join(dir, 'mirror-json', 'trusted_root.json'));
  t.same(parseTrustedRoot(readFileSync(doc.trustedRoot, 'utf8')), parseTrustedRoot(readFileSync(PGI, 'utf8')));
});

t.test('trust usage errors', async (t) => {
  for (
    const [name, args] of [
      ['init without --mirror', ['trust', 'init']],
      ['unknown action', ['trust', 'fetch']],
      ['--out with show', ['trust', 'show', '--out', join(dir, 'x.json')]],
      ['invalid trusted root', ['trust', 'show', '--trusted-root', `${SHARED}/sigstore-bundles/dsse.sigstore.json`]],
    ] as const
  ) {
    // from a scratch directory: a regression must not write into the repository
    const r = await runSigward([...args], { cwd: dir });
    t.equal(r.code, 2, `${name}: ${r.stderr.trim()}`);
  }
});
