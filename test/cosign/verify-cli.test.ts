// `sigward verify --key` end to end on images the test signs itself with
// real keys, in the real registry (plain, and TLS + htpasswd).

import t from 'tap';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RegistryClient } from '../../lib/oci/registry.ts';
import { attachLayer } from '../../lib/cosign/attach.ts';
import { ANNOTATION } from '../../lib/cosign/annotations.ts';
import { makeSimpleSigningPayload } from '../../lib/cosign/payload.ts';
import { decryptCosignPrivateKey, encryptCosignPrivateKey } from '../../lib/cosign/privatekey.ts';
import { freePort, pushImage, withRegistry } from '../helpers/registry.ts';
import { runSigward } from '../helpers/cli.ts';
import { type KeyKind, makeKey, signBytes, signImage } from '../helpers/cosign.ts';

const tmp = mkdtempSync(join(tmpdir(), 'sigward-verify-'));
function writeTmp(name: string, text: string): string {
  const p = join(tmp, name);
  writeFileSync(p, text);
  return p;
}

t.test('key-signed images in the real registry', async (t) => {
  const reg = await withRegistry(t);
  const store = new RegistryClient();
  t.teardown(() => store.close());
  const key = makeKey('ecdsa-p256');
  const pub = writeTmp('cosign.pub', key.publicPem);

  await t.test('every key type cosign supports, verified by tag', async (t) => {
    for (const kind of ['ecdsa-p256', 'ecdsa-p384', 'ecdsa-p521', 'rsa', 'ed25519'] as KeyKind[]) {
      const k = makeKey(kind);
      const repo = reg.ref(`keys/${kind}`);
      const digest = await pushImage(store, repo, { tag: 'v1' });
      await signImage({ store, repository: repo, digest, key: k });
      const r = await runSigward([
        'verify',
        `${reg.host}/keys/${kind}:v1`,
        '--key',
        writeTmp(`${kind}.pub`, k.publicPem),
        '--insecure-ignore-tlog',
        '-o',
        'json',
      ]);
      t.equal(r.code, 0, `${kind}: verified`);
      const doc = JSON.parse(r.stdout);
      t.equal(doc.images[0].digest, digest, `${kind}: the resolved digest is reported`);
      t.equal(doc.images[0].signatures[0].signer.kind, 'key');
    }
  });

  await t.test('signature made with an encrypted cosign key file', async (t) => {
    const file = encryptCosignPrivateKey(key.privateKey, 'correct horse');
    const signer = decryptCosignPrivateKey(file, 'correct horse');
    const repo = reg.ref('enc/app');
    const digest = await pushImage(store, repo);
    await signImage({ store, repository: repo, digest, key: signer });
    const r = await runSigward(['verify', `${reg.host}/enc/app`, '--key', pub, '--insecure-ignore-tlog']);
    t.equal(r.code, 0, 'verified (tag latest defaulted)');
    t.match(r.stdout, new RegExp(`^allow .*verified ${digest}`, 'm'));
  });

  await t.test('denials, each with its reason', async (t) => {
    const repo = reg.ref('deny/app');
    const good = await pushImage(store, repo, { tag: 'good' });
    const other = await pushImage(store, repo, { tag: 'other' });
    const unsigned = await pushImage(store, repo, { tag: 'unsigned' });
    const tampered = await pushImage(store, repo, { tag: 'tampered' });
    const wrongkey = await pushImage(store, repo, { tag: 'wrongkey' });
    await signImage({ store, repository: repo, digest: good, key });
    // replay: the signature made for `good`, attached to `other`
    const payload = makeSimpleSigningPayload(`${reg.host}/deny/app`, good, null);
    await attachLayer({
      store,
      repository: repo,
      digest: other,
      suffix: 'sig',
      payload,
      annotations: { [ANNOTATION.signature]: signBytes(key, payload).toString('base64') },
    });
    // tampered: payload altered after signing (annotation added), signature kept
    const signedPayload = makeSimpleSigningPayload(`${reg.host}/deny/app`, tampered, null);
    const sig = signBytes(key, signedPayload).toString('base64');
    const altered = makeSimpleSigningPayload(`${reg.host}/deny/app`, tampered, { approved: 'yes' });
    await attachLayer({
      store,
      repository: repo,
      digest: tampered,
      suffix: 'sig',
      payload: altered,
      annotations: { [ANNOTATION.signature]: sig },
    });
    await signImage({ store, repository: repo, digest: wrongkey, key: makeKey() });

    const cases: [string, number, RegExp][] = [
      ['good', 0, /verified/],
      ['other', 1, /manifest digest mismatch/],
      ['unsigned', 1, /signature not found/],
      ['tampered', 1, /invalid signature/],
      ['wrongkey', 1, /invalid signature/],
      ['doesnotexist', 1, /manifest unknown/],
    ];
    for (const [tag, code, reason] of cases) {
      const r = await runSigward(['verify', `${reg.host}/deny/app:${tag}`, '--key', pub, '--insecure-ignore-tlog']);
      t.equal(r.code, code, `${tag}: exit ${code}`);
      t.match(r.stdout, reason, `${tag}: reason`);
      if (code) {
        t.match(
          r.stdout,
          new RegExp(`image verification failed for ${reg.host}/deny/app:${tag}`),
          `${tag}: names the image`,
        );
      }
    }
    t.equal(unsigned.length, 71);
    const noTlog = await runSigward(['verify', `${reg.host}/deny/app:good`, '--key', pub]);
    t.equal(noTlog.code, 1, 'without --insecure-ignore-tlog a signature with no Rekor entry is denied');
    t.match(noTlog.stdout, /signature not found in transparency log/);
  });

  await t.test('required annotations (-a key=value)', async (t) => {
    const repo = reg.ref('annot/app');
    const digest = await pushImage(store, repo);
    await signImage({ store, repository: repo, digest, key, annotations: { env: 'prod', team: 'payments' } });
    const ok = await runSigward([
      'verify',
      `${reg.host}/annot/app`,
      '--key',
      pub,
      '--insecure-ignore-tlog',
      '-a',
      'env=prod',
      '-a',
      'team=payments',
    ]);
    t.equal(ok.code, 0, 'matching annotations verify');
    const bad = await runSigward([
      'verify',
      `${reg.host}/annot/app`,
      '--key',
      pub,
      '--insecure-ignore-tlog',
      '-a',
      'env=dev',
    ]);
    t.equal(bad.code, 1, 'a different value is denied');
    t.match(bad.stdout, /annotations/);
  });

  await t.test('signatures in another repository (--signature-repository, COSIGN_REPOSITORY)', async (t) => {
    const repo = reg.ref('app/main');
    const sigRepo = reg.ref('signatures/store');
    const digest = await pushImage(store, repo);
    await signImage({ store, repository: sigRepo, digest, key, identity: `${reg.host}/app/main` });
    const plain = await runSigward(['verify', `${reg.host}/app/main`, '--key', pub, '--insecure-ignore-tlog']);
    t.equal(plain.code, 1, 'not found in the image repository');
    t.match(plain.stdout, /signature not found/);
    const flag = await runSigward([
      'verify',
      `${reg.host}/app/main`,
      '--key',
      pub,
      '--insecure-ignore-tlog',
      '--signature-repository',
      `${reg.host}/signatures/store`,
    ]);
    t.equal(flag.code, 0, 'found with --signature-repository');
    const env = await runSigward(['verify', `${reg.host}/app/main`, '--key', pub, '--insecure-ignore-tlog'], {
      env: { COSIGN_REPOSITORY: `${reg.host}/signatures/store` },
    });
    t.equal(env.code, 0, 'found with COSIGN_REPOSITORY');
  });

  await t.test('several images at once: worst outcome wins, JSON lists each', async (t) => {
    const repo = reg.ref('multi/app');
    const a = await pushImage(store, repo, { tag: 'a' });
    await pushImage(store, repo, { tag: 'b' });
    await signImage({ store, repository: repo, digest: a, key });
    const r = await runSigward([
      'verify',
      `${reg.host}/multi/app:a`,
      `${reg.host}/multi/app:b`,
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
    t.equal(doc.images[1].error.code, 'SIGNATURE_NOT_FOUND');
  });
});

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

t.test('TLS registry with htpasswd: CA and credentials from files', async (t) => {
  const reg = await withRegistry(t, { tls: true, htpasswd: { user: 'ci', pass: 's3cret' } });
  const ca = writeTmp('registry-ca.pem', reg.caCertPem!);
  const store = new RegistryClient({
    caCerts: [reg.caCertPem!],
    credentials: async () => ({ username: 'ci', password: 's3cret' }),
  });
  t.teardown(() => store.close());
  const key = makeKey();
  const pub = writeTmp('tls.pub', key.publicPem);
  const repo = reg.ref('private/app');
  const digest = await pushImage(store, repo);
  await signImage({ store, repository: repo, digest, key });
  const dockerDir = mkdtempSync(join(tmpdir(), 'sigward-docker-'));
  writeFileSync(
    join(dockerDir, 'config.json'),
    JSON.stringify({ auths: { [reg.host]: { auth: Buffer.from('ci:s3cret').toString('base64') } } }),
  );

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
