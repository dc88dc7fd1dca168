// A cosign user's command lines, unchanged, against images signed by the real
// cosign 3.1.1 in the real registry: argument order, usage errors that stop
// before any verdict, Go durations, cosign's hidden flags, env:// and k8s://
// keys, registry credential flags, cosign's own output shape, a closed stdout,
// did-you-mean, and what a non-denial prints.

import t from 'tap';
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { RegistryClient } from '../../lib/oci/registry.ts';
import { staticCredentials } from '../../lib/oci/credentials.ts';
import { pushImage, withRegistry } from '../helpers/registry.ts';
import { BINARY, runSigward } from '../helpers/cli.ts';
import { ROOT } from '../helpers/fixtures.ts';
import { cosignRunner, createOfflineSigningConfig, withRealCosign } from '../helpers/peers.ts';

const run = promisify(execFile);
withRealCosign(main);

function main(): void {
  const tmp = mkdtempSync(join(tmpdir(), 'sigward-dropin-'));
  const env = {
    COSIGN_PASSWORD: 'pw',
    HOME: tmp,
    DOCKER_CONFIG: join(tmp, 'docker'),
    PATH: process.env.PATH ?? '/usr/bin:/bin',
  };
  const cosign = cosignRunner(tmp, env);

  t.test('real-cosign-signed images', async (t) => {
    const reg = await withRegistry(t, { htpasswd: { user: 'ci', pass: 'secret' } });
    const store = new RegistryClient({
      credentials: staticCredentials({ [reg.host]: { username: 'ci', password: 'secret' } }),
    });
    t.teardown(() => store.close());
    const login = { DOCKER_CONFIG: join(tmp, 'docker') };
    mkdirSync(join(tmp, 'docker'), { recursive: true });
    writeFileSync(
      join(tmp, 'docker/config.json'),
      JSON.stringify({ auths: { [reg.host]: { auth: Buffer.from('ci:secret').toString('base64') } } }),
    );
    t.equal((await cosign(['generate-key-pair'])).code, 0, 'cosign generate-key-pair');
    const pub = join(tmp, 'cosign.pub');
    t.equal(await createOfflineSigningConfig(cosign), 0, 'cosign signing-config create (offline)');

    const bundleDigest = await pushImage(store, reg.ref('dropin/bundle'), { tag: 'v1' });
    const legacyDigest = await pushImage(store, reg.ref('dropin/legacy'), { tag: 'v1' });
    const bundleImg = `${reg.host}/dropin/bundle@${bundleDigest}`;
    const legacyImg = `${reg.host}/dropin/legacy@${legacyDigest}`;
    const s1 = await cosign([
      'sign',
      '--key',
      'cosign.key',
      '--signing-config',
      'sc.json',
      '--allow-insecure-registry',
      '--yes',
      '-a',
      'team=web',
      bundleImg,
    ], login);
    t.equal(s1.code, 0, `cosign sign (v3 bundle): ${s1.stderr}`);
    const s2 = await cosign([
      'sign',
      '--key',
      'cosign.key',
      '--use-signing-config=false',
      '--tlog-upload=false',
      '--new-bundle-format=false',
      '--allow-insecure-registry',
      '--yes',
      '-a',
      'team=web',
      '-a',
      'tier=1',
      legacyImg,
    ], login);
    t.equal(s2.code, 0, `cosign sign (legacy): ${s2.stderr}`);

    const creds = ['--registry-username', 'ci', '--registry-password', 'secret'];
    const sigward = (args: string[], extra: Record<string, string> = {}) => runSigward(args, { env: { ...extra } });
    const both = async (args: string[]) => {
      const c = await cosign(['verify', '--allow-insecure-registry', ...creds, ...args]);
      const s = await sigward(['verify', ...creds, ...args]);
      return { c, s };
    };

    await t.test('-a k=v IMAGE: repeatable flags leave the image positional, decided as cosign decides', async (t) => {
      for (const img of [bundleImg, legacyImg]) {
        const ok = await both(['--key', pub, '--insecure-ignore-tlog', '-a', 'team=web', img]);
        t.equal(ok.c.code, 0, `cosign allows ${img}`);
        t.equal(ok.s.code, 0, `sigward allows ${img}: ${ok.s.stderr}`);
        const bad = await both(['--key', pub, '--insecure-ignore-tlog', '-a', 'team=api', img]);
        t.not(bad.c.code, 0, 'cosign denies a wrong annotation');
        t.equal(bad.s.code, 1, 'sigward denies a wrong annotation');
      }
      const list = await both(['--key', pub, '--insecure-ignore-tlog', '-a', 'team=web,tier=1', legacyImg]);
      t.equal(list.c.code, 0, 'cosign: comma-separated annotations');
      t.equal(list.s.code, 0, 'sigward: comma-separated annotations, as cosign reads them');
      const r = await sigward([
        'verify',
        ...creds,
        '--key',
        pub,
        '--insecure-ignore-tlog',
        '--insecure-registry',
        reg.host,
        legacyImg,
      ]);
      t.equal(r.code, 0, '--insecure-registry HOST IMAGE');
    });

    await t.test('a usage error runs nothing and prints no verdict', async (t) => {
      const r = await sigward([
        'verify',
        ...creds,
        '--key',
        pub,
        '--insecure-ignore-tlog',
        legacyImg,
        '--annotation',
        'team=api',
        '-o',
        'json',
      ]);
      t.equal(r.code, 2);
      t.equal(r.stdout, '', 'nothing on stdout: no "verified": true for a mistyped constraint');
      t.match(r.stderr, /Unknown argument: --annotation\n--annotation: did you mean --annotations\?/);
      const b = await sigward(['verify-bundle', '--foo', 'sha256:' + '0'.repeat(64)]);
      t.equal(b.code, 2);
      t.equal(b.stdout, '');
      const c = await sigward(['check', '--bogus', '--image', legacyImg, '-p', join(ROOT, 'testdata')]);
      t.equal(c.code, 2);
      t.equal(c.stdout, '', 'no pass table');
      const typo = await sigward(['verfy', legacyImg]);
      t.equal(typo.code, 2);
      t.match(typo.stderr, /did you mean the command "verify"\?/);
    });

    await t.test('Go durations, as cosign takes them', async (t) => {
      for (const d of ['3m', '90s', '1h30m', '45']) {
        const r = await sigward([
          'verify',
          ...creds,
          '--key',
          pub,
          '--insecure-ignore-tlog',
          '--timeout',
          d,
          legacyImg,
        ]);
        t.equal(r.code, 0, `--timeout ${d}`);
      }
      const short = await sigward(['verify', ...creds, '--key', pub, '--insecure-ignore-tlog', '-t', '2m', legacyImg]);
      t.equal(short.code, 0, "-t 2m (cosign's short flag)");
      const bad = await sigward(['verify', ...creds, '--key', pub, '--timeout', 'soon', legacyImg]);
      t.equal(bad.code, 2, 'not a duration: a usage error');
      t.equal(bad.stdout, '');
      t.match(bad.stderr, /--timeout "soon" is not a duration/);
    });

    await t.test("cosign's hidden and deprecated flags", async (t) => {
      const hidden = [
        '--offline',
        '--new-bundle-format',
        '--experimental-oci11',
        '--max-workers',
        '4',
        '--rekor-url',
        'https://rekor.example',
      ];
      for (const img of [bundleImg, legacyImg]) {
        const c = await cosign([
          'verify',
          '--allow-insecure-registry',
          ...creds,
          '--key',
          pub,
          '--insecure-ignore-tlog',
          ...hidden,
          img,
        ]);
        t.equal(c.code, 0, `cosign accepts them: ${c.stderr.slice(-300)}`);
        const s = await sigward(['verify', ...creds, '--key', pub, '--insecure-ignore-tlog', ...hidden, img]);
        t.equal(s.code, 0, `sigward accepts them: ${s.stderr}`);
        t.match(
          s.stderr,
          /--rekor-url is accepted for cosign compatibility: sigward does not query Rekor/,
          'a flag sigward does not act on is warned about',
        );
      }
      const pi = await both(['--key', pub, '--private-infrastructure', legacyImg]);
      t.equal(pi.c.code, 0, 'cosign: --private-infrastructure skips the tlog');
      t.equal(pi.s.code, 0, 'sigward: the same');
      const noClaims = await sigward([
        'verify',
        ...creds,
        '--key',
        pub,
        '--insecure-ignore-tlog',
        '--check-claims=false',
        legacyImg,
      ]);
      t.equal(noClaims.code, 2, '--check-claims=false is refused');
      t.equal(noClaims.stdout, '');
    });

    await t.test('env:// and k8s:// keys', async (t) => {
      const pem = readFileSync(pub, 'utf8');
      const e = await sigward([
        'verify',
        ...creds,
        '--key',
        'env://COSIGN_PUBLIC_KEY',
        '--insecure-ignore-tlog',
        legacyImg,
      ], { COSIGN_PUBLIC_KEY: pem });
      t.equal(e.code, 0, 'env://VAR holds the PEM');
      const unset = await sigward(['verify', ...creds, '--key', 'env://NOT_SET', '--insecure-ignore-tlog', legacyImg]);
      t.equal(unset.code, 2);
      t.match(unset.stderr, /NOT_SET is not set/);
      const secrets = join(tmp, 'secrets');
      mkdirSync(join(secrets, 'ci/signing'), { recursive: true });
      writeFileSync(join(secrets, 'ci/signing/cosign.pub'), pem);
      const k = await sigward(['verify', ...creds, '--key', 'k8s://ci/signing', '--insecure-ignore-tlog', legacyImg], {
        SIGWARD_SECRETS_DIR: secrets,
      });
      t.equal(k.code, 0, 'k8s://ns/name from the secrets directory');
      const missing = await sigward([
        'verify',
        ...creds,
        '--key',
        'k8s://ci/other',
        '--insecure-ignore-tlog',
        legacyImg,
      ], { SIGWARD_SECRETS_DIR: secrets });
      t.equal(missing.code, 2);
      t.match(missing.stderr, /secret ci\/other not found/);
    });

    await t.test('registry credential flags', async (t) => {
      const none = await sigward(['verify', '--key', pub, '--insecure-ignore-tlog', legacyImg]);
      t.equal(none.code, 3, 'without credentials the registry refuses: undecided');
      t.notMatch(none.stdout, /^deny/m, '"deny" is printed only for denials');
      t.match(none.stderr, /^undecided /m);
      const wrong = await sigward([
        'verify',
        '--registry-username',
        'ci',
        '--registry-password',
        'nope',
        '--key',
        pub,
        '--insecure-ignore-tlog',
        legacyImg,
      ]);
      t.equal(wrong.code, 3, 'a wrong password is not a verification');
      const half = await sigward(['verify', '--registry-username', 'ci', '--key', pub, legacyImg]);
      t.equal(half.code, 2, 'a user name without a password is a usage error');
    });

    await t.test('-o cosign prints what cosign prints', async (t) => {
      for (const img of [bundleImg, legacyImg]) {
        const { c, s } = await both(['--key', pub, '--insecure-ignore-tlog', img, '-o', 'json']);
        t.equal(c.code, 0);
        const sc = await sigward(['verify', ...creds, '--key', pub, '--insecure-ignore-tlog', img, '-o', 'cosign']);
        t.equal(sc.code, 0);
        t.same(JSON.parse(sc.stdout), JSON.parse(c.stdout), `same payload array as cosign for ${img}`);
        t.equal(s.code, 0);
      }
      const other = await sigward(['check', '-o', 'cosign', '-p', join(ROOT, 'testdata'), '--image', legacyImg]);
      t.equal(other.code, 2, '-o cosign only where cosign has an output to mimic');
    });

    await t.test('a closed stdout ends quietly with the verdict', async (t) => {
      const sh = (img: string) =>
        run('bash', [
          '-c',
          '"$@" 2>"$ERR" | head -c 1 >/dev/null; echo "${PIPESTATUS[0]}"',
          'sh',
          BINARY,
          'verify',
          ...creds,
          '--key',
          pub,
          '--insecure-ignore-tlog',
          img,
          img,
          img,
        ], {
          env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ERR: join(tmp, 'pipe.err') },
        });
      const ok = await sh(legacyImg);
      t.equal(ok.stdout.trim(), '0', 'exit 0 for an allow, though the reader went away');
      t.notMatch(readFileSync(join(tmp, 'pipe.err'), 'utf8'), /EPIPE|at /, 'no stack trace');
    });

    await t.test("--local-image: what 'cosign save' writes", async (t) => {
      const pred = join(tmp, 'pred.json');
      writeFileSync(pred, JSON.stringify({ builder: { id: 'https://ci.example/builder' } }));
      const a = await cosign([
        'attest',
        '--key',
        'cosign.key',
        '--use-signing-config=false',
        '--tlog-upload=false',
        '--new-bundle-format=false',
        '--allow-insecure-registry',
        '--yes',
        '--type',
        'slsaprovenance',
        '--predicate',
        pred,
        legacyImg,
      ], login);
      t.equal(a.code, 0, `cosign attest: ${a.stderr.slice(-300)}`);
      const dir = join(tmp, 'saved-legacy');
      t.equal(
        (await cosign(['save', '--dir', dir, '--allow-insecure-registry', legacyImg], login)).code,
        0,
        'cosign save',
      );
      const c = await cosign(['verify', '--key', pub, '--insecure-ignore-tlog', '--local-image', dir]);
      t.equal(c.code, 0, 'cosign verifies the saved image');
      const s = await sigward(['verify', '--key', pub, '--insecure-ignore-tlog', '--local-image', dir, '-o', 'cosign']);
      t.equal(s.code, 0, `sigward verifies it too: ${s.stderr}`);
      t.same(JSON.parse(s.stdout), JSON.parse(c.stdout), 'the same payloads');
      const ca = await cosign([
        'verify-attestation',
        '--key',
        pub,
        '--insecure-ignore-tlog',
        '--local-image',
        '--type',
        'slsaprovenance',
        dir,
      ]);
      t.equal(ca.code, 0, 'cosign verifies the saved attestation');
      const sa = await sigward([
        'verify-attestation',
        '--key',
        pub,
        '--insecure-ignore-tlog',
        '--local-image',
        '--type',
        'slsaprovenance',
        dir,
      ]);
      t.equal(sa.code, 0, `sigward verifies the saved attestation: ${sa.stdout}${sa.stderr}`);
      const wrong = await sigward([
        'verify',
        '--key',
        join(ROOT, 'testdata/demo/cosign.pub'),
        '--insecure-ignore-tlog',
        '--local-image',
        dir,
      ]);
      t.equal(wrong.code, 1, 'another key: denied');
      // cosign save does not copy v3 bundle referrers; cosign 3.1.1 then "verifies" the layout with an
      // empty payload (exit 0). sigward denies: nothing signed the image (README: differs from cosign).
      const bdir = join(tmp, 'saved-bundle');
      t.equal((await cosign(['save', '--dir', bdir, '--allow-insecure-registry', bundleImg], login)).code, 0);
      const cb = await cosign(['verify', '--key', pub, '--insecure-ignore-tlog', '--local-image', bdir]);
      t.equal(cb.code, 0, 'cosign 3.1.1 allows a saved layout holding no signature (its bug)');
      const sb = await sigward(['verify', '--key', pub, '--insecure-ignore-tlog', '--local-image', bdir]);
      t.equal(sb.code, 1, 'sigward denies it: signature not found');
      t.match(sb.stdout, /signature not found/);
    });

    await t.test('--log-level silent silences the tlog warning', async (t) => {
      const r = await sigward([
        'verify',
        ...creds,
        '--key',
        pub,
        '--insecure-ignore-tlog',
        '--log-level',
        'silent',
        legacyImg,
      ]);
      t.equal(r.code, 0);
      t.equal(r.stderr, '');
      const loud = await sigward(['verify', ...creds, '--key', pub, '--insecure-ignore-tlog', legacyImg]);
      t.match(loud.stderr, /WARNING: skipping transparency log verification/);
    });
  });
}
