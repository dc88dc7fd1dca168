// A malformed trusted_root.json is refused, field by field, as sigstore-go
// refuses it (the sigstore-conformance case
// trust-root-tlog-missing-validity-start_fail among them): every variant of
// the public-good root below is checked by sigward's parser, by the real
// sigstore-go verifier (the peer, when it is there) and, for the conformance
// case, by the built binary. What sigstore-go leaves optional stays optional.

import t from 'tap';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { loadTrustMaterial, parseTrustedRoot, toTrust } from '../../lib/trust/index.ts';
import { PEERS_BIN } from '../helpers/peers.ts';
import { runSigward } from '../helpers/cli.ts';
import { withTufRepository } from '../helpers/tuf-repo.ts';
import { readText, TV } from '../helpers/fixtures.ts';

const PUBLIC_GOOD = JSON.parse(readText(`${TV}trust-roots/public-good-trusted_root.json`));
const BUNDLE = `${TV}sigstore-bundles/cosign-oci-attestation.sigstore.json`;
const SUBJECT = '732112270d7e59418a8c080b134b24cabd67d250d0d0147a97ed95ba5c280aa4';
const SIGSTORE_GO = join(PEERS_BIN, 'sigstore-go-verification');

type Mutation = (r: any) => void;
// [name, mutation of the public-good root, the reason sigward gives (undefined: accepted)]
const cases: [string, Mutation, RegExp | undefined][] = [];
for (const logs of ['tlogs', 'ctlogs'] as const) {
  const at = `${logs}\\[0\\]`;
  cases.push(
    [
      `${logs}: no validFor.start`,
      (r) => delete r[logs][0].publicKey.validFor.start,
      new RegExp(`${at}: missing publicKey\\.validFor\\.start`),
    ],
    [
      `${logs}: empty validFor`,
      (r) => (r[logs][0].publicKey.validFor = {}),
      new RegExp(`${at}: missing publicKey\\.validFor\\.start`),
    ],
    [
      `${logs}: no validFor`,
      (r) => delete r[logs][0].publicKey.validFor,
      new RegExp(`${at}: missing publicKey\\.validFor `),
    ],
    [
      `${logs}: validFor.start not a time`,
      (r) => (r[logs][0].publicKey.validFor.start = 'yesterday'),
      new RegExp(`${at}\\.publicKey\\.validFor\\.start: "yesterday" is not an RFC 3339 time`),
    ],
    [
      `${logs}: validFor.end on 30 February`,
      (r) => (r[logs][0].publicKey.validFor.end = '2023-02-30T00:00:00Z'),
      /validFor\.end: "2023-02-30T00:00:00Z" is not an RFC 3339 time/,
    ],
    [
      `${logs}: no hashAlgorithm`,
      (r) => delete r[logs][0].hashAlgorithm,
      new RegExp(`${at}: hashAlgorithm HASH_ALGORITHM_UNSPECIFIED is not supported`),
    ],
    [
      `${logs}: hashAlgorithm SHA2_384`,
      (r) => (r[logs][0].hashAlgorithm = 'SHA2_384'),
      new RegExp(`${at}: hashAlgorithm SHA2_384 is not supported \\(SHA2_256 is required\\)`),
    ],
    [
      `${logs}: hashAlgorithm unknown`,
      (r) => (r[logs][0].hashAlgorithm = 'MD5'),
      new RegExp(`${at}\\.hashAlgorithm: unknown value "MD5"`),
    ],
    [`${logs}: no logId`, (r) => delete r[logs][0].logId, new RegExp(`${at}: missing logId`)],
    [`${logs}: empty logId.keyId`, (r) => (r[logs][0].logId.keyId = ''), new RegExp(`${at}: missing logId`)],
    [`${logs}: no publicKey`, (r) => delete r[logs][0].publicKey, new RegExp(`${at}: missing publicKey$`)],
    [
      `${logs}: no publicKey.rawBytes`,
      (r) => delete r[logs][0].publicKey.rawBytes,
      new RegExp(`${at}: missing publicKey\\.rawBytes`),
    ],
    [
      `${logs}: rawBytes not a key`,
      (r) => (r[logs][0].publicKey.rawBytes = Buffer.from('not a key').toString('base64')),
      new RegExp(`${at}: publicKey\\.rawBytes is not a PKIX`),
    ],
    [
      `${logs}: rawBytes not base64`,
      (r) => (r[logs][0].publicKey.rawBytes = 'not base64!'),
      new RegExp(`${at}\\.publicKey\\.rawBytes: expected base64 bytes`),
    ],
    [
      `${logs}: no keyDetails`,
      (r) => delete r[logs][0].publicKey.keyDetails,
      new RegExp(`${at}: unsupported publicKey\\.keyDetails PUBLIC_KEY_DETAILS_UNSPECIFIED`),
    ],
    [
      `${logs}: keyDetails Ed25519 for an ECDSA key`,
      (r) => (r[logs][0].publicKey.keyDetails = 'PKIX_ED25519'),
      new RegExp(`${at}: publicKey\\.keyDetails PKIX_ED25519 does not match the key in rawBytes \\(ECDSA P-256\\)`),
    ],
    [
      `${logs}: keyDetails RSA for an ECDSA key`,
      (r) => (r[logs][0].publicKey.keyDetails = 'PKIX_RSA_PKCS1V15_2048_SHA256'),
      /does not match the key in rawBytes/,
    ],
    [
      `${logs}: keyDetails unknown`,
      (r) => (r[logs][0].publicKey.keyDetails = 'NOPE'),
      new RegExp(`${at}\\.publicKey\\.keyDetails: unknown value "NOPE"`),
    ],
    [
      `${logs}: misspelt field`,
      (r) => (r[logs][0].publicKey.validfor = r[logs][0].publicKey.validFor),
      new RegExp(`${at}\\.publicKey\\.validfor: unknown field`),
    ],
    [
      `${logs}: a field given twice (logId and log_id)`,
      (r) => (r[logs][0].log_id = r[logs][0].logId),
      new RegExp(`${at}\\.log_id: duplicate field \\(also given as logId\\)`),
    ],
    [`${logs}: proto field names (log_id, valid_for: protojson takes both spellings)`, (r) => {
      const l = r[logs][0];
      l.log_id = l.logId;
      delete l.logId;
      l.publicKey.valid_for = l.publicKey.validFor;
      delete l.publicKey.validFor;
    }, undefined],
    [`${logs}: not a list`, (r) => (r[logs] = {}), new RegExp(`${logs}: expected a JSON array`)],
    [`${logs}: no validFor.end (optional)`, (r) => delete r[logs][1].publicKey.validFor.end, undefined],
    [`${logs}: no baseUrl (optional)`, (r) => delete r[logs][0].baseUrl, undefined],
  );
}
for (const cas of ['certificateAuthorities', 'timestampAuthorities'] as const) {
  const at = `${cas}\\[0\\]`;
  cases.push(
    [`${cas}: no certChain`, (r) => delete r[cas][0].certChain, new RegExp(`${at}: empty certificate chain`)],
    [
      `${cas}: empty certChain`,
      (r) => (r[cas][0].certChain.certificates = []),
      new RegExp(`${at}: empty certificate chain`),
    ],
    [
      `${cas}: certificate not DER`,
      (r) => (r[cas][0].certChain.certificates[0].rawBytes = Buffer.from('nope').toString('base64')),
      new RegExp(`${at}: certificate 0 is not valid DER`),
    ],
    [
      `${cas}: certificate without rawBytes`,
      (r) => (r[cas][0].certChain.certificates[0] = {}),
      new RegExp(`${at}: certificate 0 is not valid DER`),
    ],
    [
      `${cas}: misspelt validFor`,
      (r) => ((r[cas][0].validfor = { start: '2030-01-01T00:00:00Z' }), delete r[cas][0].validFor),
      new RegExp(`${at}\\.validfor: unknown field`),
    ],
    [
      `${cas}: validFor.start not a time`,
      (r) => (r[cas][0].validFor.start = 2021),
      new RegExp(`${at}\\.validFor\\.start: 2021 is not an RFC 3339 time`),
    ],
    [`${cas}: no validFor (optional)`, (r) => delete r[cas][0].validFor, undefined],
    [`${cas}: no validFor.start (optional)`, (r) => delete r[cas][0].validFor.start, undefined],
    [`${cas}: no subject, no uri (optional)`, (r) => (delete r[cas][0].subject, delete r[cas][0].uri), undefined],
  );
}
cases.push(
  ['unknown top-level field', (r) => (r.signingConfig = {}), /signingConfig: unknown field/],
  ['no media type', (r) => delete r.mediaType, /unsupported trusted root media type/],
  ['the public-good root as it is', () => {}, undefined],
);

const dir = mkdtempSync(join(tmpdir(), 'sigward-root-validity-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
const variant = (m: Mutation): any => {
  const r = structuredClone(PUBLIC_GOOD);
  m(r);
  return r;
};

t.test('sigward refuses each malformed field, naming it', async (t) => {
  for (const [name, m, reason] of cases) {
    const json = JSON.stringify(variant(m));
    if (reason) {
      t.throws(() => parseTrustedRoot(json, 'root.json'), { code: 'TRUST_ROOT_INVALID', message: reason }, name);
    } else t.doesNotThrow(() => parseTrustedRoot(json, 'root.json'), name);
  }
});

t.test('a root built in code is held to the same rules', async (t) => {
  const root = parseTrustedRoot(PUBLIC_GOOD);
  const noStart = structuredClone(root);
  noStart.tlogs[0]!.publicKey!.validFor = { start: undefined, end: undefined };
  t.throws(() => toTrust(noStart), {
    code: 'TRUST_ROOT_INVALID',
    message: /tlogs\[0\]: missing publicKey\.validFor\.start/,
  });
  const noValidFor = structuredClone(root);
  noValidFor.ctlogs[1]!.publicKey!.validFor = undefined;
  t.throws(() => toTrust(noValidFor), {
    code: 'TRUST_ROOT_INVALID',
    message: /ctlogs\[1\]: missing publicKey\.validFor/,
  });
  t.doesNotThrow(() => toTrust(root));
});

t.test('sigstore-go decides every variant the same way', async (t) => {
  if (!existsSync(SIGSTORE_GO)) {
    if (process.env.CI) {
      throw new Error(`sigstore-go-verification is missing at ${SIGSTORE_GO}: run bash scripts/peers.sh`);
    }
    t.comment(`skipped: sigstore-go-verification is missing at ${SIGSTORE_GO} (run bash scripts/peers.sh)`);
    return;
  }
  const run = promisify(execFile);
  for (const [i, [name, m, reason]] of cases.entries()) {
    const file = join(dir, `root-${i}.json`);
    writeFileSync(file, JSON.stringify(variant(m)));
    const args = [
      '-expectedSAN',
      'cody@soyland.com',
      '-expectedIssuer',
      'https://github.com/login/oauth',
      '-trustedrootJSONpath',
      file,
      '-artifact-digest',
      SUBJECT,
      BUNDLE,
    ];
    const r = await run(SIGSTORE_GO, args, { timeout: 60_000 }).then(
      () => ({ code: 0, out: '' }),
      (e: { code?: number; stdout?: string; stderr?: string }) => ({
        code: e.code ?? 99,
        out: `${e.stdout ?? ''}${e.stderr ?? ''}`,
      }),
    );
    if (reason) t.not(r.code, 0, `${name}: sigstore-go refuses it too (${r.out.trim().split('\n').pop()})`);
    else t.equal(r.code, 0, `${name}: sigstore-go verifies with it too ${r.out}`);
  }
});

t.test('verify-bundle (the binary) refuses a root whose Rekor key has no validFor.start', async (t) => {
  const good = join(dir, 'good.json');
  writeFileSync(good, JSON.stringify(PUBLIC_GOOD));
  const bad = join(dir, 'tlog-missing-validity-start.json');
  writeFileSync(bad, JSON.stringify(variant((r) => delete r.tlogs[0].publicKey.validFor.start)));
  const args = (
    root: string,
  ) => [
    'verify-bundle',
    '--bundle',
    BUNDLE,
    '--certificate-identity',
    'cody@soyland.com',
    '--certificate-oidc-issuer',
    'https://github.com/login/oauth',
    '--trusted-root',
    root,
    `sha256:${SUBJECT}`,
    '-o',
    'json',
  ];
  const ok = await runSigward(args(good));
  t.equal(ok.code, 0, `the unmodified root verifies: ${ok.stdout}${ok.stderr}`);
  const r = await runSigward(args(bad));
  t.equal(r.code, 2, 'a malformed trust root is a usage error, never a verdict');
  const doc = JSON.parse(r.stdout);
  t.equal(doc.verified, false);
  t.match(doc.error, { code: 'TRUST_ROOT_INVALID', message: /tlogs\[0\]: missing publicKey\.validFor\.start/ });
});

t.test('a trusted_root.json fetched over TUF is held to the same rules', async (t) => {
  const good = await withTufRepository(t, { 'trusted_root.json': JSON.stringify(PUBLIC_GOOD) });
  const trust = await loadTrustMaterial({
    tuf: { mirrorURL: good.url, rootPath: good.rootPath, cachePath: good.cachePath, retries: 0, timeout: 5000 },
  });
  t.equal(trust.root.tlogs.length, PUBLIC_GOOD.tlogs.length, 'the unmodified root loads');
  const bad = await withTufRepository(t, {
    'trusted_root.json': JSON.stringify(variant((r) => delete r.tlogs[0].publicKey.validFor.start)),
  });
  await t.rejects(
    loadTrustMaterial({
      tuf: { mirrorURL: bad.url, rootPath: bad.rootPath, cachePath: bad.cachePath, retries: 0, timeout: 5000 },
    }),
    {
      code: 'TRUST_ROOT_INVALID',
      outcome: 'usage',
      message: /trusted_root\.json from TUF http:\/\/127\.0\.0\.1:\d+: tlogs\[0\]: missing publicKey\.validFor\.start/,
    },
  );
  const misspelt = await withTufRepository(t, {
    'trusted_root.json': JSON.stringify(
      variant((
        r,
      ) => ((r.certificateAuthorities[0].validfor = r.certificateAuthorities[0].validFor),
        delete r.certificateAuthorities[0].validFor)
      ),
    ),
  });
  await t.rejects(
    loadTrustMaterial({
      tuf: {
        mirrorURL: misspelt.url,
        rootPath: misspelt.rootPath,
        cachePath: misspelt.cachePath,
        retries: 0,
        timeout: 5000,
      },
    }),
    {
      code: 'TRUST_ROOT_INVALID',
      message: /certificateAuthorities\[0\]\.validfor: unknown field/,
    },
  );
});
