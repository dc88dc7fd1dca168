// `sigward verify --key` end to end on images signed by the REAL cosign 3.1.1
// (both storage formats: legacy `.sig` and the v3 bundle) in the real
// registry (plain, and TLS + htpasswd): every key type `cosign
// import-key-pair` takes, cosign's encrypted key file, annotations,
// COSIGN_REPOSITORY, cosign copy, multi-arch --recursive, and the denials. The only artifact that is ours is the
// tampering itself (one JSON field edited in cosign's own payload, attached
// back with `cosign attach signature`), which no tool makes on purpose.

import t from 'tap';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RegistryClient } from '../../lib/oci/registry.ts';
import { freePort, pushImage, pushImageDetailed, pushIndex, tarLayer, withRegistry } from '../helpers/registry.ts';
import { runSigward } from '../helpers/cli.ts';
import { makeKey } from '../helpers/cosign.ts';
import { FORMAT_FLAGS, PLATFORMS, type SignatureFormat } from '../helpers/cosign-images.ts';
import { cosignRunner, offlineSigningConfigArgs, withRealCosign } from '../helpers/peers.ts';

const tmp = mkdtempSync(join(tmpdir(), 'sigward-verify-'));
function writeTmp(name: string, text: string): string {
  const p = join(tmp, name);
  writeFileSync(p, text);
  return p;
}
const FORMATS: SignatureFormat[] = ['legacy', 'bundle'];
const cosignEnv = {
  COSIGN_PASSWORD: 'pw',
  HOME: tmp,
  DOCKER_CONFIG: join(tmp, 'docker'),
  PATH: process.env.PATH ?? '/usr/bin:/bin',
};
const cosign = cosignRunner(tmp, cosignEnv);
async function must(what: string, args: string[], extra: Record<string, string> = {}): Promise<void> {
  const r = await cosign(args, extra);
  if (r.code !== 0) throw new Error(`cosign ${what} failed (${r.code}): ${r.stderr.slice(-1500)}`);
}
/** `cosign sign --key KEY` offline in `format` (no Rekor, no Fulcio). */
function cosignSign(
  format: SignatureFormat,
  at: string,
  o: { key?: string; extra?: string[]; env?: Record<string, string>; registry?: string[] } = {},
): Promise<void> {
  return must(`sign ${format} ${at}`, [
    'sign',
    '--key',
    o.key ?? 'cosign.key',
    ...FORMAT_FLAGS[format](tmp),
    ...(o.registry ?? ['--allow-insecure-registry']),
    '--yes',
    ...(o.extra ?? []),
    at,
  ], o.env);
}
const openssl = (args: string[]) => execFileSync('openssl', args, { cwd: tmp, stdio: 'pipe' });

withRealCosign(() => {
  t.test('images signed by the real cosign in the real registry', async (t) => {
    const reg = await withRegistry(t);
    const store = new RegistryClient();
    t.teardown(() => store.close());
    // the corpus is made once for the file; the subtests below only verify
    mkdirSync(join(tmp, 'other'), { recursive: true });
    mkdirSync(join(tmp, 'enc'), { recursive: true });
    await must('generate-key-pair', ['generate-key-pair']);
    await must('generate-key-pair (other key)', ['generate-key-pair', '--output-key-prefix', 'other/cosign']);
    await must('signing-config create', offlineSigningConfigArgs('signing-config.json'));
    const pub = join(tmp, 'cosign.pub');
    const at = (repository: string, digest: string) => `${reg.host}/${repository}@${digest}`;

    // every key type cosign import-key-pair takes, made by openssl
    const KINDS = ['ecdsa-p256', 'ecdsa-p384', 'ecdsa-p521', 'rsa', 'ed25519'] as const;
    const genKey: Record<(typeof KINDS)[number], string[][]> = {
      'ecdsa-p256': [['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', 'ecdsa-p256.pem']],
      'ecdsa-p384': [['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-384', '-out', 'ecdsa-p384.pem']],
      'ecdsa-p521': [['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-521', '-out', 'ecdsa-p521.pem']],
      rsa: [['genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048', '-out', 'rsa.pem']],
      ed25519: [['genpkey', '-algorithm', 'ed25519', '-out', 'ed25519.pem']],
    };
    const keyDigests: Record<string, string> = {};
    for (const kind of KINDS) {
      for (const args of genKey[kind]) openssl(args);
      await must(`import-key-pair ${kind}`, ['import-key-pair', '--key', `${kind}.pem`, '--output-key-prefix', kind]);
      for (const format of FORMATS) {
        const repository = `keys/${kind}-${format}`;
        const digest = await pushImage(store, reg.ref(repository), { tag: 'v1' });
        if (kind === 'ed25519' && format === 'legacy') {
          // `cosign sign` signs with an Ed25519 key as Ed25519ph (see the case
          // below), which cosign verify --key rejects; the pure Ed25519 signature cosign verifies is
          // made with cosign too: its payload (cosign generate), signed by cosign sign-blob, attached
          // with cosign attach signature
          const payload = await cosign(['generate', '--allow-insecure-registry', at(repository, digest)]);
          if (payload.code !== 0) throw new Error(`cosign generate failed: ${payload.stderr}`);
          writeFileSync(join(tmp, 'ed25519.payload'), payload.stdout);
          await must('sign-blob (ed25519)', [
            'sign-blob',
            '--key',
            'ed25519.key',
            ...FORMAT_FLAGS.legacy(tmp),
            '--yes',
            '--output-signature',
            'ed25519.sig',
            'ed25519.payload',
          ]);
          await must('attach signature (ed25519)', [
            'attach',
            'signature',
            '--allow-insecure-registry',
            '--payload',
            'ed25519.payload',
            '--signature',
            'ed25519.sig',
            at(repository, digest),
          ]);
        } else if (kind === 'ed25519') {
          // no cosign command makes a pure Ed25519 bundle for an image: the Ed25519ph ones are below
          continue;
        } else {
          await cosignSign(format, at(repository, digest), { key: `${kind}.key` });
        }
        keyDigests[`${kind}/${format}`] = digest;
      }
    }
    for (const format of FORMATS) {
      const ph = await pushImage(store, reg.ref(`keys/ed25519ph-${format}`), { tag: 'v1' });
      await cosignSign(format, at(`keys/ed25519ph-${format}`, ph), { key: 'ed25519.key' });
    }

    // cosign's own encrypted key file, under another password
    await must('generate-key-pair (encrypted)', ['generate-key-pair', '--output-key-prefix', 'enc/cosign'], {
      COSIGN_PASSWORD: 'correct horse',
    });
    const encDigests: Record<string, string> = {};
    for (const format of FORMATS) {
      const digest = await pushImage(store, reg.ref(`enc/${format}`));
      await cosignSign(format, at(`enc/${format}`, digest), {
        key: 'enc/cosign.key',
        env: { COSIGN_PASSWORD: 'correct horse' },
      });
      encDigests[format] = digest;
    }

    // denials: deny/<format> tags good, other (good's signature replayed), unsigned, tampered, wrongkey
    const denyDigests: Record<string, Record<string, string>> = {};
    for (const format of FORMATS) {
      const repository = `deny/${format}`;
      const repo = reg.ref(repository);
      const d: Record<string, string> = {};
      for (const tag of ['good', 'other', 'unsigned', 'tampered', 'wrongkey']) {
        d[tag] = await pushImage(store, repo, { tag });
      }
      denyDigests[format] = d;
      const out = (name: string) => join(tmp, `${format}-${name}`);
      const keep = (name: string) =>
        format === 'legacy'
          ? ['--output-signature', out(`${name}.sig`), '--output-payload', out(`${name}.payload`)]
          : ['--bundle', out(`${name}.bundle.json`)];
      const attachArgs = (name: string) =>
        format === 'legacy'
          ? ['--payload', out(`${name}.payload`), '--signature', out(`${name}.sig`)]
          : ['--bundle', out(`${name}.bundle.json`)];
      await cosignSign(format, at(repository, d.good!), { extra: keep('good') });
      // replay: the signature cosign made for `good`, attached to `other` with cosign
      await must('attach signature (replay)', [
        'attach',
        'signature',
        '--allow-insecure-registry',
        ...attachArgs('good'),
        at(repository, d.other!),
      ]);
      // tampered: cosign signs without uploading; the one edit below is ours (no tool tampers on
      // purpose); cosign attaches the edited copy
      await cosignSign(format, at(repository, d.tampered!), { extra: ['--upload=false', ...keep('tampered')] });
      if (format === 'legacy') {
        const payload = JSON.parse(readFileSync(out('tampered.payload'), 'utf8'));
        payload.optional = { ...(payload.optional ?? {}), approved: 'yes' };
        writeFileSync(out('tampered.payload'), JSON.stringify(payload));
      } else {
        const bundle = JSON.parse(readFileSync(out('tampered.bundle.json'), 'utf8'));
        const statement = JSON.parse(Buffer.from(bundle.dsseEnvelope.payload, 'base64').toString('utf8'));
        statement.predicate = { ...(statement.predicate ?? {}), approved: 'yes' };
        bundle.dsseEnvelope.payload = Buffer.from(JSON.stringify(statement)).toString('base64');
        writeFileSync(out('tampered.bundle.json'), JSON.stringify(bundle));
      }
      await must('attach signature (tampered)', [
        'attach',
        'signature',
        '--allow-insecure-registry',
        ...attachArgs('tampered'),
        at(repository, d.tampered!),
      ]);
      await cosignSign(format, at(repository, d.wrongkey!), { key: 'other/cosign.key' });
    }

    // cosign copy (a signed image with its signature, to another repository) and a multi-arch index
    // signed with --recursive, in both formats
    for (const format of FORMATS) {
      const src = await pushImage(store, reg.ref(`copy/${format}-src`), { tag: 'v1' });
      await cosignSign(format, at(`copy/${format}-src`, src));
      await must(`copy ${format}`, [
        'copy',
        '--allow-insecure-registry',
        `${reg.host}/copy/${format}-src:v1`,
        `${reg.host}/copy/${format}-dst:v1`,
      ]);
      const children = [];
      for (const platform of PLATFORMS) {
        const c = await pushImageDetailed(store, reg.ref(`index/${format}`), {
          tag: `v1-${platform.architecture}`,
          layerData: [tarLayer()],
          platform,
        });
        children.push({ descriptor: c.descriptor, platform });
      }
      const idx = await pushIndex(store, reg.ref(`index/${format}`), children, { tag: 'v1' });
      await cosignSign(format, at(`index/${format}`, idx.digest), { extra: ['--recursive'] });
    }

    // annotations, a signature repository (COSIGN_REPOSITORY), several images
    const misc: Record<string, Record<string, string>> = {};
    for (const format of FORMATS) {
      const m: Record<string, string> = {};
      m.annot = await pushImage(store, reg.ref(`annot/${format}`));
      await cosignSign(format, at(`annot/${format}`, m.annot), { extra: ['-a', 'env=prod', '-a', 'team=payments'] });
      m.main = await pushImage(store, reg.ref(`app/${format}`));
      await cosignSign(format, at(`app/${format}`, m.main), {
        env: { COSIGN_REPOSITORY: `${reg.host}/signatures/${format}` },
      });
      m.a = await pushImage(store, reg.ref(`multi/${format}`), { tag: 'a' });
      m.b = await pushImage(store, reg.ref(`multi/${format}`), { tag: 'b' });
      await cosignSign(format, at(`multi/${format}`, m.a));
      misc[format] = m;
    }

    await t.test('every key type cosign import-key-pair takes, both formats, verified by tag', async (t) => {
      for (const kind of KINDS) {
        for (const format of FORMATS) {
          if (kind === 'ed25519' && format === 'bundle') continue;
          const image = `${reg.host}/keys/${kind}-${format}:v1`;
          // cosign signs with a P-384 / P-521 key over SHA-384 / SHA-512 and cosign verify needs to be told so
          const alg = kind === 'ecdsa-p384'
            ? ['--signature-digest-algorithm', 'sha384']
            : kind === 'ecdsa-p521'
            ? ['--signature-digest-algorithm', 'sha512']
            : [];
          const args = ['--key', join(tmp, `${kind}.pub`), '--insecure-ignore-tlog', ...alg, image];
          const r = await runSigward(['verify', ...args, '-o', 'json']);
          const c = await cosign(['verify', '--allow-insecure-registry', ...args]);
          t.equal(c.code, 0, `${kind} ${format}: cosign verify allows (the oracle): ${c.stderr.slice(-300)}`);
          t.equal(r.code, 0, `${kind} ${format}: verified: ${r.stdout.slice(0, 300)}`);
          const doc = JSON.parse(r.stdout);
          t.equal(doc.images[0].digest, keyDigests[`${kind}/${format}`], `${kind} ${format}: the resolved digest`);
          t.equal(doc.images[0].signatures[0].signer.kind, 'key');
        }
      }
    });

    await t.test('an Ed25519 signature made by cosign sign (Ed25519ph) is denied, as cosign verify denies it', async (t) => {
      // cosign 3.1.1 `sign --key` with an Ed25519 key signs Ed25519ph (SHA-512 prehash) in both formats,
      // but `cosign verify --key` checks pure Ed25519 (what sign-blob makes), so cosign rejects its own
      // signature; sigward decides as cosign does
      for (const format of FORMATS) {
        const args = [
          '--key',
          join(tmp, 'ed25519.pub'),
          '--insecure-ignore-tlog',
          `${reg.host}/keys/ed25519ph-${format}:v1`,
        ];
        const c = await cosign(['verify', '--allow-insecure-registry', ...args]);
        t.not(c.code, 0, `${format}: cosign verify denies it`);
        const r = await runSigward(['verify', ...args]);
        t.equal(r.code, 1, `${format}: sigward denies it`);
        t.match(r.stdout, /invalid signature/, `${format}: ${r.stdout.slice(0, 300)}`);
      }
    });

    await t.test("signature made with cosign's encrypted key file", async (t) => {
      for (const format of FORMATS) {
        const r = await runSigward([
          'verify',
          `${reg.host}/enc/${format}`,
          '--key',
          join(tmp, 'enc/cosign.pub'),
          '--insecure-ignore-tlog',
        ]);
        t.equal(r.code, 0, `${format}: verified (tag latest defaulted)`);
        t.match(r.stdout, new RegExp(`^allow .*verified ${encDigests[format]}`, 'm'));
      }
    });

    await t.test('denials, each with its reason', async (t) => {
      for (const format of FORMATS) {
        const cases: [string, number, RegExp][] = [
          ['good', 0, /verified/],
          // the replayed signature names another digest: the payload's (legacy), the statement's subject (bundle)
          ['other', 1, format === 'legacy' ? /manifest digest mismatch/ : /digest mismatch: .* is not a subject/],
          ['unsigned', 1, /signature not found/],
          ['tampered', 1, /invalid signature/],
          ['wrongkey', 1, /invalid signature/],
          ['doesnotexist', 1, /manifest unknown/],
        ];
        for (const [tag, code, reason] of cases) {
          const image = `${reg.host}/deny/${format}:${tag}`;
          const r = await runSigward(['verify', image, '--key', pub, '--insecure-ignore-tlog']);
          t.equal(r.code, code, `${format} ${tag}: exit ${code}`);
          t.match(r.stdout, reason, `${format} ${tag}: reason: ${r.stdout.slice(0, 300)}`);
          if (code) t.match(r.stdout, `image verification failed for ${image}`, `${format} ${tag}: names the image`);
        }
        t.equal(denyDigests[format]!.unsigned!.length, 71);
        const noTlog = await runSigward(['verify', `${reg.host}/deny/${format}:good`, '--key', pub]);
        t.equal(noTlog.code, 1, `${format}: without --insecure-ignore-tlog a signature with no Rekor entry is denied`);
        t.match(noTlog.stdout, /signature not found in transparency log/);
      }
    });

    await t.test('required annotations (-a key=value)', async (t) => {
      for (const format of FORMATS) {
        const base = ['verify', `${reg.host}/annot/${format}`, '--key', pub, '--insecure-ignore-tlog'];
        const ok = await runSigward([...base, '-a', 'env=prod', '-a', 'team=payments']);
        t.equal(ok.code, 0, `${format}: matching annotations verify`);
        const bad = await runSigward([...base, '-a', 'env=dev']);
        t.equal(bad.code, 1, `${format}: a different value is denied`);
        t.match(bad.stdout, /annotations/);
      }
    });

    await t.test('signatures in another repository (--signature-repository, COSIGN_REPOSITORY)', async (t) => {
      for (const format of FORMATS) {
        const base = ['verify', `${reg.host}/app/${format}`, '--key', pub, '--insecure-ignore-tlog'];
        const plain = await runSigward(base);
        t.equal(plain.code, 1, `${format}: not found in the image repository`);
        t.match(plain.stdout, /signature not found/);
        const flag = await runSigward([...base, '--signature-repository', `${reg.host}/signatures/${format}`]);
        t.equal(flag.code, 0, `${format}: found with --signature-repository: ${flag.stdout.slice(0, 300)}`);
        const env = await runSigward(base, { env: { COSIGN_REPOSITORY: `${reg.host}/signatures/${format}` } });
        t.equal(env.code, 0, `${format}: found with COSIGN_REPOSITORY`);
      }
    });

    await t.test('cosign copy and cosign sign --recursive: decided as cosign verify decides', async (t) => {
      for (const format of FORMATS) {
        const images = [
          `${reg.host}/copy/${format}-dst:v1`,
          `${reg.host}/index/${format}:v1`,
          `${reg.host}/index/${format}:v1-amd64`,
          `${reg.host}/index/${format}:v1-arm64`,
        ];
        for (const image of images) {
          // cosign 3.1.1 copy copies .sig tags, not the referrers a v3 bundle is stored as (cosign calls
          // copy deprecated and points to `oras copy -r`): there the copy is unsigned, for cosign and sigward
          const allow = !(format === 'bundle' && image.includes('/copy/'));
          const args = ['--key', pub, '--insecure-ignore-tlog', image];
          const c = await cosign(['verify', '--allow-insecure-registry', ...args]);
          const r = await runSigward(['verify', ...args]);
          t.equal(c.code === 0, allow, `${format} ${image}: cosign verify ${allow ? 'allows' : 'denies'}`);
          t.equal(r.code, allow ? 0 : 1, `${format} ${image}: sigward decides as cosign: ${r.stdout.slice(0, 300)}`);
          if (!allow) t.match(r.stdout, /signature not found/);
        }
      }
    });

    await t.test('several images at once: worst outcome wins, JSON lists each', async (t) => {
      for (const format of FORMATS) {
        const r = await runSigward([
          'verify',
          `${reg.host}/multi/${format}:a`,
          `${reg.host}/multi/${format}:b`,
          '--key',
          pub,
          '--insecure-ignore-tlog',
          '-o',
          'json',
        ]);
        t.equal(r.code, 1);
        const doc = JSON.parse(r.stdout);
        t.equal(doc.verified, false);
        t.same(doc.images.map((i: { verified: boolean }) => i.verified), [true, false]);
        t.equal(doc.images[0].digest, misc[format]!.a);
        t.equal(doc.images[1].error.code, 'SIGNATURE_NOT_FOUND');
      }
    });
  });
});

// The two cases below verify nothing signed (no registry answers, or the command line is wrong): a
// public key made here is enough, so they run without the real cosign too.
t.test('could not decide: unreachable registry exits 3', async (t) => {
  const port = await freePort();
  const pub = writeTmp('k.pub', makeKey().publicPem);
  const r = await runSigward([
    'verify',
    `127.0.0.1:${port}/app:v1`,
    '--key',
    pub,
    '--insecure-ignore-tlog',
    '--registry-timeout',
    '2',
    '-o',
    'json',
  ]);
  t.equal(r.code, 3);
  const doc = JSON.parse(r.stdout);
  t.equal(doc.images[0].error.code, 'REGISTRY_UNREACHABLE');
  t.match(doc.images[0].error.message, /registry unreachable/);
});

t.test('usage errors exit 2', async (t) => {
  const nokey = await runSigward(['verify', 'example.com/app:v1']);
  t.equal(nokey.code, 2);
  t.match(nokey.stderr, /verification method is required/);
  const badkey = await runSigward(['verify', 'example.com/app:v1', '--key', writeTmp('bad.pub', 'not a key')]);
  t.equal(badkey.code, 2);
  t.match(badkey.stderr, /no PEM public key/);
  const missing = await runSigward(['verify', 'example.com/app:v1', '--key', join(tmp, 'missing.pub')]);
  t.equal(missing.code, 2);
  const badref = await runSigward(['verify', 'Example.com/UPPER:v1', '--key', writeTmp('k2.pub', makeKey().publicPem)]);
  t.equal(badref.code, 2, 'an invalid reference is a usage error');
  t.match(badref.stdout + badref.stderr, /invalid image reference/);
});

withRealCosign(() => {
  t.test('TLS registry with htpasswd: CA and credentials from files', async (t) => {
    const reg = await withRegistry(t, { tls: true, htpasswd: { user: 'ci', pass: 's3cret' } });
    const ca = writeTmp('registry-ca.pem', reg.caCertPem!);
    const store = new RegistryClient({
      caCerts: [reg.caCertPem!],
      credentials: async () => ({ username: 'ci', password: 's3cret' }),
    });
    t.teardown(() => store.close());
    const dockerDir = mkdtempSync(join(tmpdir(), 'sigward-docker-'));
    writeFileSync(
      join(dockerDir, 'config.json'),
      JSON.stringify({ auths: { [reg.host]: { auth: Buffer.from('ci:s3cret').toString('base64') } } }),
    );
    mkdirSync(join(tmp, 'tls'), { recursive: true });
    await must('generate-key-pair (tls)', ['generate-key-pair', '--output-key-prefix', 'tls/cosign']);
    const pub = join(tmp, 'tls/cosign.pub');
    const repo = reg.ref('private/app');
    const digest = await pushImage(store, repo);
    // cosign signs over TLS with the registry's CA and the docker config's credentials, as a user would
    await cosignSign('legacy', `${reg.host}/private/app@${digest}`, {
      key: 'tls/cosign.key',
      registry: ['--registry-cacert', ca],
      env: { DOCKER_CONFIG: dockerDir },
    });

    const ok = await runSigward([
      'verify',
      `${reg.host}/private/app`,
      '--key',
      pub,
      '--insecure-ignore-tlog',
      '--registry-ca',
      ca,
    ], { env: { DOCKER_CONFIG: dockerDir } });
    t.equal(ok.code, 0, 'verified with the CA and docker config credentials');
    const noCreds = await runSigward([
      'verify',
      `${reg.host}/private/app`,
      '--key',
      pub,
      '--insecure-ignore-tlog',
      '--registry-ca',
      ca,
    ]);
    t.equal(noCreds.code, 3, 'no credentials: cannot decide');
    t.match(noCreds.stderr, /unauthorized|authentication/i, 'the reason is on stderr, like cosign');
    const noCa = await runSigward(['verify', `${reg.host}/private/app`, '--key', pub, '--insecure-ignore-tlog'], {
      env: { DOCKER_CONFIG: dockerDir },
    });
    t.equal(noCa.code, 3, 'unknown CA: cannot decide, never downgraded');
    t.match(noCa.stderr, /certificate/i, 'the reason (unknown CA) is on stderr');
    const secret = writeTmp(
      'pull-secret.json',
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'Secret',
        type: 'kubernetes.io/dockerconfigjson',
        metadata: { name: 'pull' },
        data: {
          '.dockerconfigjson': Buffer.from(
            JSON.stringify({ auths: { [reg.host]: { username: 'ci', password: 's3cret' } } }),
          ).toString('base64'),
        },
      }),
    );
    const viaSecret = await runSigward([
      'verify',
      `${reg.host}/private/app`,
      '--key',
      pub,
      '--insecure-ignore-tlog',
      '--registry-ca',
      ca,
      '--registry-secret',
      secret,
    ]);
    t.equal(viaSecret.code, 0, 'verified with a Kubernetes pull secret file');
  });
});
