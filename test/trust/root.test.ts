import t from 'tap';
import { createHash, createPublicKey, generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PublicKeyDetails } from '@sigstore/protobuf-specs';
import {
  getEmbeddedTrustedRoot,
  loadTrustMaterial,
  mergeTrustedRoots,
  parseTrustedRoot,
  toTrust,
  toTrustedRootFromPEMs,
  trustedRootSummary,
} from '../../lib/trust/index.ts';
import { CI, readText, TD, TV } from '../helpers/fixtures.ts';

const PUBLIC_GOOD = `${TV}trust-roots/public-good-trusted_root.json`;
const REKOR_LOG_ID = 'c0d23d6ad406973f9559f3ba2d1ca01f84147d8ffc5b8445c224f98b9591801d';

t.test('parses every trusted root of the test vectors', async (t) => {
  for (const f of ['public-good-trusted_root.json', 'github-trusted_root.json', 'cosign-trusted_root_pgi.json']) {
    const root = parseTrustedRoot(readText(`${TV}trust-roots/${f}`), f);
    const trust = toTrust(root);
    t.equal(trust.material.certificateAuthorities.length, root.certificateAuthorities.length, f);
    t.equal(trust.material.tlogs.length, root.tlogs.length, f);
  }
});

t.test('embedded public-good root equals the TUF seed copy in the test vectors', async (t) => {
  const embedded = getEmbeddedTrustedRoot();
  const file = parseTrustedRoot(readText(PUBLIC_GOOD));
  t.same(trustedRootSummary(embedded), trustedRootSummary(file));
  const s = trustedRootSummary(embedded);
  t.equal(s.tlogs[0].logId, REKOR_LOG_ID);
  t.equal(s.tlogs[0].keyType, 'ECDSA P-256');
  t.equal(s.tlogs[1].keyType, 'Ed25519');
  t.equal(s.certificateAuthorities[1].uri, 'https://fulcio.sigstore.dev');
  t.match(s.certificateAuthorities[1].chain[1].subject, /CN=sigstore/);
  t.equal(s.certificateAuthorities[0].validFor.end, '2022-12-31T23:59:59.999Z');
  t.equal(s.timestampAuthorities.length, 1);
  t.equal(s.ctlogs.length, 2);
});

t.test('accepts v0.1 (both spellings) and v0.2 media types, rejects others', async (t) => {
  const json = JSON.parse(readText(PUBLIC_GOOD));
  for (
    const mt of [
      'application/vnd.dev.sigstore.trustedroot+json;version=0.1',
      'application/vnd.dev.sigstore.trustedroot.v0.1+json',
      'application/vnd.dev.sigstore.trustedroot.v0.2+json',
    ]
  ) {
    t.equal(parseTrustedRoot({ ...json, mediaType: mt }).mediaType, mt);
  }
  t.throws(() => parseTrustedRoot({ ...json, mediaType: 'application/vnd.dev.sigstore.trustedroot.v9.9+json' }), {
    code: 'TRUST_ROOT_INVALID',
  });
  t.throws(() => parseTrustedRoot('{nope'), { code: 'TRUST_ROOT_INVALID' });
  const badKey = structuredClone(json);
  badKey.tlogs[0].publicKey.rawBytes = Buffer.from('not a key').toString('base64');
  t.throws(() => parseTrustedRoot(badKey), { code: 'TRUST_ROOT_INVALID', message: /tlogs\[0\]/ });
  const badCert = structuredClone(json);
  badCert.certificateAuthorities[0].certChain.certificates[0].rawBytes = 'AAAA';
  t.throws(() => parseTrustedRoot(badCert), { code: 'TRUST_ROOT_INVALID', message: /certificateAuthorities\[0\]/ });
});

t.test('synthetic root from PEMs (cosign env overrides)', async (t) => {
  // root first, intermediate second: the CA chain must come out leaf-most first
  const fulcio = readText(`${CI}fulcio_v1.crt.pem`) + readText(`${CI}fulcio-chain`);
  const root = toTrustedRootFromPEMs({
    fulcioRoots: fulcio,
    rekorKeys: readText(`${TD}rekor-public-good.pub`),
    ctlogKeys: readText(`${TD}ctfe-2022-public-good.pub`),
    tsaChain: readText(`${CI}pki_intermediate_crts.pem`) + readText(`${CI}pki_root_crts.pem`),
  });
  t.equal(root.certificateAuthorities.length, 1, 'one synthetic CA entry');
  const s = trustedRootSummary(root);
  t.match(s.certificateAuthorities[0].chain[0].subject, /sigstore-intermediate/, 'intermediate first');
  t.equal(s.certificateAuthorities[0].subject, 'CN=sigstore, O=sigstore.dev');
  t.equal(s.tlogs[0].logId, REKOR_LOG_ID, 'logId = sha256(SPKI DER)');
  t.equal(s.tlogs[0].validFor.start, '1970-01-01T00:00:00.000Z');
  t.equal(s.ctlogs[0].logId, 'dd3d306ac6c7113263191e1c99673702a24a5eb8de3cadff878a72802f29ee8e');
  t.match(s.timestampAuthorities[0].chain[0].subject, /Intermediate/);
  t.ok(toTrust(root).material.tlogs[0].publicKey);
});

t.test('key details from the key type', async (t) => {
  const pem = (k: ReturnType<typeof generateKeyPairSync>['publicKey']) =>
    k.export({ format: 'pem', type: 'spki' }).toString();
  const cases: [string, ReturnType<typeof generateKeyPairSync>, PublicKeyDetails][] = [
    ['P-256', generateKeyPairSync('ec', { namedCurve: 'P-256' }), PublicKeyDetails.PKIX_ECDSA_P256_SHA_256],
    ['P-384', generateKeyPairSync('ec', { namedCurve: 'P-384' }), PublicKeyDetails.PKIX_ECDSA_P384_SHA_384],
    ['P-521', generateKeyPairSync('ec', { namedCurve: 'P-521' }), PublicKeyDetails.PKIX_ECDSA_P521_SHA_512],
    ['Ed25519', generateKeyPairSync('ed25519'), PublicKeyDetails.PKIX_ED25519],
    ['RSA', generateKeyPairSync('rsa', { modulusLength: 2048 }), PublicKeyDetails.PKIX_RSA_PKCS1V15_2048_SHA256],
  ];
  for (const [name, kp, details] of cases) {
    const root = toTrustedRootFromPEMs({ rekorKeys: pem(kp.publicKey) });
    t.equal(root.tlogs[0].publicKey?.keyDetails, details, name);
    const spki = kp.publicKey.export({ format: 'der', type: 'spki' });
    t.same(root.tlogs[0].logId?.keyId, createHash('sha256').update(spki).digest(), `${name} logId`);
    // the material must hold a usable key (RSA included)
    const m = toTrust(root).material;
    t.equal(
      m.tlogs[0].publicKey.asymmetricKeyType,
      createPublicKey(pem(kp.publicKey)).asymmetricKeyType,
      `${name} material`,
    );
  }
  t.throws(() => toTrustedRootFromPEMs({ rekorKeys: 'garbage' }), { code: 'TRUST_ROOT_INVALID' });
  t.throws(() => toTrustedRootFromPEMs({ fulcioRoots: '' }), { code: 'TRUST_ROOT_INVALID' });
});

t.test('mergeTrustedRoots adds authorities and drops duplicates', async (t) => {
  const pg = parseTrustedRoot(readText(PUBLIC_GOOD));
  const extra = toTrustedRootFromPEMs({
    rekorKeys: generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ format: 'pem', type: 'spki' })
      .toString(),
  });
  const merged = mergeTrustedRoots(pg, extra, pg);
  t.equal(merged.tlogs.length, pg.tlogs.length + 1);
  t.equal(merged.certificateAuthorities.length, pg.certificateAuthorities.length);
  t.equal(merged.mediaType, pg.mediaType);
});

t.test('loadTrustMaterial: sources and override semantics', async (t) => {
  const files: Record<string, string> = {
    '/etc/root.pem': readText(`${CI}pki_root_crts.pem`),
    '/etc/rekor.pub': readText(`${TD}rekor-public-good.pub`),
    '/etc/trusted_root.json': readText(`${TV}trust-roots/github-trusted_root.json`),
  };
  const readFile = (p: string) => {
    if (!(p in files)) throw new Error(`ENOENT ${p}`);
    return Buffer.from(files[p]);
  };

  const def = await loadTrustMaterial({});
  t.same(def.sources, ['embedded public-good trusted root']);
  t.equal(def.material.tlogs.length, 2);
  // the embedded root is made on first use: the same root and material as made at once
  const eager = toTrust(getEmbeddedTrustedRoot(), ['embedded public-good trusted root']);
  t.strictSame(def.root, eager.root);
  for (const part of ['certificateAuthorities', 'timestampAuthorities', 'tlogs', 'ctlogs'] as const) {
    t.strictSame(def.material[part], eager.material[part], part);
  }
  t.equal(typeof def.material.publicKey, 'function');
  t.equal(def.material.tlogs, def.material.tlogs, 'made once');

  // no file: SIGSTORE_ROOT_FILE replaces the embedded Fulcio CAs, Rekor keys stay
  const env = await loadTrustMaterial({ env: { SIGSTORE_ROOT_FILE: '/etc/root.pem' }, readFile });
  t.equal(env.root.certificateAuthorities.length, 1);
  t.match(trustedRootSummary(env.root).certificateAuthorities[0].chain[0].subject, /Linuxera Root/);
  t.equal(env.root.tlogs.length, 2, 'embedded Rekor keys kept');
  t.equal(env.root.ctlogs.length, 2);
  t.same(env.sources, ['embedded public-good trusted root', 'SIGSTORE_ROOT_FILE=/etc/root.pem']);

  // explicit file: overrides are added
  const merged = await loadTrustMaterial({
    trustedRootPath: '/etc/trusted_root.json',
    env: { SIGSTORE_REKOR_PUBLIC_KEY: '/etc/rekor.pub', SIGSTORE_ROOT_FILE: '/etc/root.pem' },
    readFile,
  });
  t.equal(merged.root.tlogs.length, 1);
  t.equal(merged.root.certificateAuthorities.length, 6, 'five GitHub CAs + the PEM one');

  // only PEMs, no embedded root
  const only = await loadTrustMaterial({
    env: { SIGSTORE_REKOR_PUBLIC_KEY: '/etc/rekor.pub' },
    embedded: false,
    readFile,
  });
  t.equal(only.root.certificateAuthorities.length, 0);
  t.equal(only.root.tlogs.length, 1);

  await t.rejects(loadTrustMaterial({ embedded: false }), { code: 'CONFIG_INVALID' });
  await t.rejects(loadTrustMaterial({ trustedRootPath: '/missing.json', readFile }), { code: 'TRUST_ROOT_INVALID' });
  await t.rejects(loadTrustMaterial({ env: { SIGSTORE_ROOT_FILE: '/missing.pem' }, readFile }), {
    code: 'TRUST_ROOT_INVALID',
    message: /SIGSTORE_ROOT_FILE/,
  });
});

t.test('TUF is only used when asked, and its failures are classified', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'sigward-tuf-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  // custom mirror without an initial root: configuration problem
  await t.rejects(loadTrustMaterial({ tuf: { mirrorURL: 'http://127.0.0.1:9/tuf', cachePath: join(dir, 'a') } }), {
    code: 'TRUST_ROOT_INVALID',
    outcome: 'usage',
    detail: { tufCode: 'TUF_INIT_CACHE_ERROR' },
  });
  // valid initial root, unreachable mirror (port 9, nothing listens): cannot decide
  const seeds = JSON.parse(readFileSync(new URL(import.meta.resolve('@sigstore/tuf/seeds.json')), 'utf8'));
  writeFileSync(join(dir, 'root.json'), Buffer.from(seeds['https://tuf-repo-cdn.sigstore.dev']['root.json'], 'base64'));
  await t.rejects(
    loadTrustMaterial({
      tuf: {
        mirrorURL: 'http://127.0.0.1:9/tuf',
        cachePath: join(dir, 'b'),
        rootPath: join(dir, 'root.json'),
        retries: 0,
        timeout: 1000,
      },
    }),
    { code: 'TRUST_ROOT_INVALID', outcome: 'undecided', detail: { tufCode: 'TUF_REFRESH_METADATA_ERROR' } },
  );
});
