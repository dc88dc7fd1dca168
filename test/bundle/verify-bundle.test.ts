// `sigward verify-bundle` (the binary for a few runs, the same CLI in-process for the matrix),
// following the sigstore-conformance CLI protocol:
//   verify-bundle --bundle F (--certificate-identity I --certificate-oidc-issuer U | --key K)
//                 [--trusted-root F] FILE_OR_DIGEST
// Every bundle of ../shared/testvectors/sigstore-bundles gets its expected
// result; file mode is exercised with artifacts signed by the local mock
// Sigstore (the vectors ship no artifacts).

import { SIGSTORE_JS_BUNDLES } from '../helpers/fixtures.ts';
import t from 'tap';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runSigward } from '../helpers/cli.ts';
import { run } from '../../cmd/cli.ts';
import { ROOT, SHARED } from '../helpers/fixtures.ts';
import { DEFAULT_ISSUER, IN_TOTO, toImageSignatureStatement, withSigstoreMock } from '../helpers/sigstore.ts';

const SB = `${SHARED}/sigstore-bundles`;
const PUBLIC_GOOD_FILE = `${SHARED}/trust-roots/public-good-trusted_root.json`;
const PGI = `${SHARED}/trust-roots/cosign-trusted_root_pgi.json`;
const BRIAN = [
  '--certificate-identity',
  'brian@dehamer.com',
  '--certificate-oidc-issuer',
  'https://github.com/login/oauth',
];
const CODY = [
  '--certificate-identity',
  'cody@soyland.com',
  '--certificate-oidc-issuer',
  'https://github.com/login/oauth',
];
const COSIGN_ATT_SUBJECT = 'sha256:732112270d7e59418a8c080b134b24cabd67d250d0d0147a97ed95ba5c280aa4';
const NPM_DSSE = [...SIGSTORE_JS_BUNDLES, 'sigstore.js@2.0.0-provenance.sigstore.json'];

const dir = mkdtempSync(join(tmpdir(), 'sigward-verify-bundle-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));

// The vector matrix runs the CLI in-process (same parser and handler as the
// binary, without a process per bundle); `binary: true` spawns dist/sigward.
async function vb(args: string[], o: { cwd?: string; binary?: boolean } = {}) {
  const argv = ['verify-bundle', ...args, '-o', 'json'];
  const r = o.binary || o.cwd ? await runSigward(argv, o) : await runInProcess(argv);
  let doc: any;
  try {
    doc = JSON.parse(r.stdout);
  } catch {
    doc = undefined;
  }
  return { ...r, doc };
}

async function runInProcess(argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const code = await run(argv, { stdout: (x) => void (stdout += x), stderr: (x) => void (stderr += x) }, {
    PATH: process.env.PATH,
  });
  return { code, stdout, stderr };
}

const msgDigest = (f: string): string => {
  const b = JSON.parse(readFileSync(`${SB}/${f}`, 'utf8'));
  return `sha256:${Buffer.from(b.messageSignature.messageDigest.digest, 'base64').toString('hex')}`;
};

t.test('test vectors, digest mode', async (t) => {
  // cosign v3 OCI attestation: sha256 subject = the image digest; three roots
  for (const root of [[], ['--trusted-root', PUBLIC_GOOD_FILE], ['--trusted-root', PGI]]) {
    const r = await vb(
      ['--bundle', `${SB}/cosign-oci-attestation.sigstore.json`, ...CODY, ...root, COSIGN_ATT_SUBJECT],
      { binary: root.length === 0 },
    );
    t.equal(r.code, 0, `cosign attestation ${root.join(' ') || '(embedded root)'}: ${r.stdout}${r.stderr}`);
    t.equal(r.doc.verified, true);
    t.equal(r.doc.signer.subject, 'cody@soyland.com');
    t.equal(r.doc.predicateType, 'https://cosign.sigstore.dev/attestation/v1');
    t.equal(r.doc.digest, COSIGN_ATT_SUBJECT);
  }
  let r = await vb(['--bundle', `${SB}/cosign-oci-attestation.sigstore.json`, ...CODY, `sha256:${'0'.repeat(64)}`]);
  t.equal(r.code, 1, 'cosign attestation: another digest');
  t.equal(r.doc.error.code, 'MANIFEST_DIGEST_MISMATCH');
  r = await vb([
    '--bundle',
    `${SB}/cosign-oci-attestation.sigstore.json`,
    '--certificate-identity',
    'cody@soyland.co',
    '--certificate-oidc-issuer',
    'https://github.com/login/oauth',
    COSIGN_ATT_SUBJECT,
  ]);
  t.equal(r.code, 1, 'cosign attestation: identity mismatch');
  t.equal(r.doc.error.code, 'IDENTITY_MISMATCH');
  r = await vb([
    '--bundle',
    `${SB}/cosign-oci-attestation.sigstore.json`,
    '--certificate-identity',
    'cody@soyland.com',
    '--certificate-oidc-issuer',
    'https://accounts.google.com',
    COSIGN_ATT_SUBJECT,
  ]);
  t.equal(r.code, 1, 'cosign attestation: issuer mismatch');
  t.match(r.doc.error.message, /issuer mismatch/);
  // GitHub's root trusts neither public-good Fulcio nor its Rekor
  r = await vb([
    '--bundle',
    `${SB}/cosign-oci-attestation.sigstore.json`,
    ...CODY,
    '--trusted-root',
    `${SHARED}/trust-roots/github-trusted_root.json`,
    COSIGN_ATT_SUBJECT,
  ]);
  t.equal(r.code, 1, 'cosign attestation: GitHub root');

  // sigstore-go othername bundle (message signature, OtherName SAN); its
  // scaffolding log signs checkpoints as its pod name
  const scaffolding = JSON.parse(
    readFileSync(join(ROOT, 'testdata/trust/sigstore-go-scaffolding-trusted_root.json'), 'utf8'),
  );
  scaffolding.tlogs[0].baseUrl = 'http://rekor-00001-deployment-56bf7777c9-jds5x';
  const scaffoldingPath = join(dir, 'scaffolding.json');
  writeFileSync(scaffoldingPath, JSON.stringify(scaffolding));
  const other = ['--bundle', `${SB}/othername.sigstore.json`, '--trusted-root', scaffoldingPath];
  r = await vb([
    ...other,
    '--certificate-identity',
    'foo!oidc.local',
    '--certificate-oidc-issuer',
    'http://oidc.local:8080',
    msgDigest('othername.sigstore.json'),
  ]);
  t.equal(r.code, 0, `othername: ${r.stdout}`);
  t.equal(r.doc.signer.subjectType, 'otherName');
  r = await vb([
    ...other,
    '--certificate-identity',
    'foo',
    '--certificate-oidc-issuer',
    'http://oidc.local:8080',
    msgDigest('othername.sigstore.json'),
  ]);
  t.equal(r.code, 1, 'othername: identity mismatch');
  r = await vb([
    ...other,
    '--certificate-identity',
    'foo!oidc.local',
    '--certificate-oidc-issuer',
    'http://oidc.local:8080',
    `sha256:${'1'.repeat(64)}`,
  ]);
  t.equal(r.code, 1, 'othername: another digest');
  r = await vb([
    '--bundle',
    `${SB}/othername.sigstore.json`,
    '--certificate-identity',
    'foo!oidc.local',
    '--certificate-oidc-issuer',
    'http://oidc.local:8080',
    msgDigest('othername.sigstore.json'),
  ]);
  t.equal(r.code, 1, 'othername: not trusted by the public-good root');

  // sigstore-go public-key bundle: TSA-only root, no transparency log entry
  const pk = [
    '--bundle',
    `${SB}/public-key-validity.sigstore.json`,
    '--key',
    join(ROOT, 'testdata/trust/sigstore-go-public-key-validity.pem'),
    '--trusted-root',
    join(ROOT, 'testdata/trust/sigstore-go-public-key-validity-trusted_root.json'),
  ];
  r = await vb([...pk, '--insecure-ignore-tlog', msgDigest('public-key-validity.sigstore.json')]);
  t.equal(r.code, 0, `public-key-validity: ${r.stdout}`);
  t.equal(r.doc.timestamps[0].source, 'tsa');
  r = await vb([...pk, msgDigest('public-key-validity.sigstore.json')]);
  t.equal(r.code, 1, 'public-key-validity: transparency log required by default');
  t.equal(r.doc.error.code, 'TLOG_MISSING');
  r = await vb([
    ...pk.slice(0, 2),
    '--key',
    join(ROOT, 'testdata/trust/rekor-public-good.pub'),
    ...pk.slice(4),
    '--insecure-ignore-tlog',
    msgDigest('public-key-validity.sigstore.json'),
  ]);
  t.equal(r.code, 1, 'public-key-validity: another key');
  t.equal(r.doc.error.code, 'SIGNATURE_INVALID');

  // npm DSSE bundles carry only sha512 subjects: no sha256 digest can match
  for (const f of NPM_DSSE) {
    r = await vb([
      '--bundle',
      `${SB}/${f}`,
      ...(f.startsWith('sigstore.js')
        ? [
          '--certificate-identity-regexp',
          '.*',
          '--certificate-oidc-issuer',
          'https://token.actions.githubusercontent.com',
        ]
        : BRIAN),
      `sha256:${'2'.repeat(64)}`,
    ]);
    t.equal(r.code, 1, `${f}: digest is not a subject`);
    t.equal(r.doc.error.code, 'MANIFEST_DIGEST_MISMATCH', f);
  }
  // ... but their sha512 subject digest does
  for (const f of NPM_DSSE) {
    const st = JSON.parse(
      Buffer.from(JSON.parse(readFileSync(`${SB}/${f}`, 'utf8')).dsseEnvelope.payload, 'base64').toString(),
    );
    const id = f.startsWith('sigstore.js')
      ? [
        '--certificate-identity-regexp',
        '.*',
        '--certificate-oidc-issuer',
        'https://token.actions.githubusercontent.com',
      ]
      : BRIAN;
    r = await vb(['--bundle', `${SB}/${f}`, ...id, `sha512:${st.subject[0].digest.sha512}`]);
    t.equal(r.code, 0, `${f}: sha512 subject digest: ${r.stdout}`);
    t.equal(r.doc.digest, `sha512:${st.subject[0].digest.sha512}`);
  }
  // DSSE with two signatures is rejected by a strict verifier
  r = await vb(['--bundle', `${SB}/dsse-2sigs.sigstore.json`, ...BRIAN, `sha256:${'2'.repeat(64)}`]);
  t.equal(r.code, 1, 'dsse-2sigs rejected');
  t.equal(r.doc.error.code, 'BUNDLE_INVALID');
  t.match(r.doc.error.message, /signature/);
});

t.test('test vectors, file mode', async (t) => {
  // no artifact of the vectors is available: any file must be refused, for the right reason
  const file = join(dir, 'not-the-artifact.txt');
  writeFileSync(file, 'not the signed artifact\n');
  for (const f of NPM_DSSE) {
    const r = await vb(['--bundle', `${SB}/${f}`, ...BRIAN, file]);
    t.equal(r.code, 1, `${f}: foreign artifact`);
    t.match(r.doc.error.message, /not a subject/, f);
  }
  for (const f of ['othername.sigstore.json', 'public-key-validity.sigstore.json']) {
    const r = await vb(['--bundle', `${SB}/${f}`, ...BRIAN, file]);
    t.equal(r.code, 1, `${f}: foreign artifact`);
  }
  const r = await vb(['--bundle', `${SB}/dsse-2sigs.sigstore.json`, ...BRIAN, file]);
  t.equal(r.code, 1, 'dsse-2sigs rejected in file mode too');
  t.equal(r.doc.error.code, 'BUNDLE_INVALID');
});

t.test('file and digest mode with artifacts signed by the mock Sigstore', async (t) => {
  const mock = await withSigstoreMock(t);
  const artifact = join(dir, 'release.tar');
  writeFileSync(artifact, 'release bytes\n'.repeat(100));
  const bytes = readFileSync(artifact);
  const sha = `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
  const id = ['--certificate-identity', 'ci@example.com', '--certificate-oidc-issuer', DEFAULT_ISSUER];
  const root = ['--trusted-root', mock.trustedRootPath];

  const msg = join(dir, 'release.tar.sigstore.json');
  writeFileSync(msg, JSON.stringify(await mock.signBlob(bytes, { identity: 'ci@example.com' })));
  const dsse = join(dir, 'release.tar.intoto.sigstore.json');
  writeFileSync(
    dsse,
    JSON.stringify(
      await mock.signDSSE(
        toImageSignatureStatement(sha, { predicateType: 'https://slsa.dev/provenance/v1' }),
        IN_TOTO,
        { identity: 'ci@example.com' },
      ),
    ),
  );

  for (const [name, bundle] of [['message signature', msg], ['DSSE', dsse]] as const) {
    let r = await vb(['--bundle', bundle, ...id, ...root, artifact], { binary: true });
    t.equal(r.code, 0, `${name}, file: ${r.stdout}${r.stderr}`);
    t.equal(r.doc.artifact, artifact);
    t.equal(r.doc.signer.subject, 'ci@example.com');
    t.ok(r.doc.tlog.logIndex);
    r = await vb(['--bundle', bundle, ...id, ...root, sha]);
    t.equal(r.code, 0, `${name}, digest: ${r.stdout}${r.stderr}`);
    r = await vb(['--bundle', bundle, ...id, ...root, sha.toUpperCase().replace('SHA256', 'sha256')]);
    t.equal(r.code, 0, `${name}, upper-case hex digest: ${r.stdout}`);
    r = await vb(['--bundle', bundle, ...id, artifact]);
    t.equal(r.code, 1, `${name}: embedded public-good root does not trust the mock`);
    r = await vb([
      '--bundle',
      bundle,
      '--certificate-identity',
      'ci@example.com.evil.org',
      '--certificate-oidc-issuer',
      DEFAULT_ISSUER,
      ...root,
      artifact,
    ]);
    t.equal(r.code, 1, `${name}: identity mismatch`);
    t.equal(r.doc.error.code, 'IDENTITY_MISMATCH');
    r = await vb([
      '--bundle',
      bundle,
      '--certificate-identity-regexp',
      'ci@example',
      '--certificate-oidc-issuer',
      DEFAULT_ISSUER,
      ...root,
      artifact,
    ]);
    t.equal(r.code, 0, `${name}: an unanchored regexp matches part of the identity, as in cosign`);
    t.match(r.stderr, /--certificate-identity-regexp "ci@example" is not anchored/, `${name}: with a warning`);
    r = await vb([
      '--bundle',
      bundle,
      '--certificate-identity-regexp',
      '^ci@example$',
      '--certificate-oidc-issuer',
      DEFAULT_ISSUER,
      ...root,
      artifact,
    ]);
    t.equal(r.code, 1, `${name}: an anchored regexp must match the whole identity`);
    r = await vb([
      '--bundle',
      bundle,
      '--certificate-identity',
      'ci@example.com',
      '--certificate-oidc-issuer',
      'https://accounts.google.com',
      ...root,
      artifact,
    ]);
    t.equal(r.code, 1, `${name}: issuer mismatch`);
    const tampered = join(dir, `tampered-${name.replace(/\W/g, '')}`);
    writeFileSync(tampered, Buffer.concat([bytes, Buffer.from('x')]));
    r = await vb(['--bundle', bundle, ...id, ...root, tampered]);
    t.equal(r.code, 1, `${name}: tampered artifact`);
  }

  // text output
  const text = await runSigward(['verify-bundle', '--bundle', msg, ...id, ...root, artifact]);
  t.equal(text.code, 0);
  t.match(
    text.stdout,
    /^OK: .*release\.tar: bundle verified, signed by ci@example\.com \(issuer https:\/\/oidc\.sigward\.test\), transparency log index \d+/,
  );
  const fail = await runSigward(['verify-bundle', '--bundle', msg, ...id, artifact]);
  t.equal(fail.code, 1);
  t.match(fail.stdout, /^FAIL: /);

  // a path named like a digest is a file (protocol rule)
  const digestNamed = `sha256:${createHash('sha256').update('other').digest('hex')}`;
  writeFileSync(join(dir, digestNamed), bytes);
  const r = await vb(['--bundle', msg, ...id, ...root, digestNamed], { cwd: dir });
  t.equal(r.code, 0, 'existing path wins over digest syntax');
  t.equal(r.doc.artifact, digestNamed);
});

t.test('usage errors exit 2', async (t) => {
  const b = `${SB}/cosign-oci-attestation.sigstore.json`;
  const cases: [string, string[]][] = [
    ['no identity and no key', ['--bundle', b, COSIGN_ATT_SUBJECT]],
    ['identity without issuer', ['--bundle', b, '--certificate-identity', 'cody@soyland.com', COSIGN_ATT_SUBJECT]],
    ['key and identity', [
      '--bundle',
      b,
      '--key',
      join(ROOT, 'testdata/trust/rekor-public-good.pub'),
      ...CODY,
      COSIGN_ATT_SUBJECT,
    ]],
    ['missing --bundle', [...CODY, COSIGN_ATT_SUBJECT]],
    ['unreadable bundle', ['--bundle', join(dir, 'nope.json'), ...CODY, COSIGN_ATT_SUBJECT]],
    ['short digest is a (missing) file', ['--bundle', b, ...CODY, COSIGN_ATT_SUBJECT.slice(0, -1)]],
    ['invalid regexp', [
      '--bundle',
      b,
      '--certificate-identity-regexp',
      '(',
      '--certificate-oidc-issuer',
      'x',
      COSIGN_ATT_SUBJECT,
    ]],
    ['--staging without a trusted root', ['--staging', '--bundle', b, ...CODY, COSIGN_ATT_SUBJECT]],
  ];
  for (const [name, args] of cases) {
    const r = await runInProcess(['verify-bundle', ...args]);
    t.equal(r.code, 2, `${name}: ${r.stderr.trim()}`);
  }
  const r = await runSigward([
    'verify-bundle',
    '--staging',
    '--trusted-root',
    PGI,
    '--bundle',
    b,
    ...CODY,
    COSIGN_ATT_SUBJECT,
  ]);
  t.equal(r.code, 0, '--staging with --trusted-root');
});
