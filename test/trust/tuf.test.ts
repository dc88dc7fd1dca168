// TUF against a real repository: python-tuf (the python3-tuf peer) builds
// root, targets (holding trusted_root.json), snapshot and timestamp in good
// and bad states (test/helpers/tuf_repo.py); a static HTTP server on
// 127.0.0.1 serves one state at a time. `sigward trust export --tuf-mirror`
// must follow refreshes and root rotations, reject expired, wrongly signed
// and rolled-back metadata and a target whose hash does not match, and work
// from its cache while the mirror is down, until the cached metadata expires.
// sigstore-go 1.3.0 (go-tuf) decides the same repository states as a second
// TUF client.

import t from 'tap';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from '../../cmd/cli.ts';
import { runSigward } from '../helpers/cli.ts';
import { SHARED } from '../helpers/fixtures.ts';
import { runSigstoreGo, withSigstoreGo } from '../helpers/peers.ts';
import {
  buildTufRepo,
  startTufMirror,
  type TufMirror,
  type TufRepo,
  type TufState,
  withPythonTuf,
} from '../helpers/tuf.ts';
import { getTUFReason, isTUFMirrorUnreachable, parseTrustedRoot } from '../../lib/trust/index.ts';

const ROOTS = `${SHARED}/trust-roots`;
const PUBLIC_GOOD = `${ROOTS}/public-good-trusted_root.json`;
const PGI = `${ROOTS}/cosign-trusted_root_pgi.json`;
const GITHUB = `${ROOTS}/github-trusted_root.json`;
// a bundle that verifies against the public-good root, and its subject
const BUNDLE = `${SHARED}/sigstore-bundles/cosign-oci-attestation.sigstore.json`;
const SUBJECT_HEX = '732112270d7e59418a8c080b134b24cabd67d250d0d0147a97ed95ba5c280aa4';
const CODY = [
  '--certificate-identity',
  'cody@soyland.com',
  '--certificate-oidc-issuer',
  'https://github.com/login/oauth',
];

const dir = mkdtempSync(join(tmpdir(), 'sigward-tuf-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
let counter = 0;
const fresh = (what: string) => {
  const p = join(dir, `${what}-${++counter}`);
  mkdirSync(p, { recursive: true });
  return p;
};

interface Run {
  code: number;
  stdout: string;
  stderr: string;
  doc?: any;
}

/** The CLI in-process (same parser and handlers as the binary). */
async function sigward(args: string[]): Promise<Run> {
  let stdout = '';
  let stderr = '';
  const code = await run(args, { stdout: (x) => void (stdout += x), stderr: (x) => void (stderr += x) }, {
    PATH: process.env.PATH,
    HOME: dir,
  });
  let doc: any;
  try {
    doc = JSON.parse(stdout);
  } catch {
    doc = undefined;
  }
  return { code, stdout, stderr, doc };
}

const tufArgs = (
  m: TufMirror,
  repo: TufRepo,
  cache: string,
) => ['--tuf-mirror', m.url, '--tuf-root', repo.root, '--tuf-cache', cache];
const sameRoot = (file: string, target: string) =>
  JSON.stringify(parseTrustedRoot(readFileSync(file, 'utf8'))) ===
    JSON.stringify(parseTrustedRoot(readFileSync(target, 'utf8')));

t.test('only an unreachable mirror may fall back to the cache', async (t) => {
  const wrap = (cause: unknown) =>
    Object.assign(new Error('error refreshing TUF metadata'), { code: 'TUF_REFRESH_METADATA_ERROR', cause });
  const refused = Object.assign(new TypeError('fetch failed'), {
    cause: Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:9'), { code: 'ECONNREFUSED' }),
  });
  t.ok(isTUFMirrorUnreachable(wrap(refused)), 'connection refused');
  t.ok(
    isTUFMirrorUnreachable(
      wrap(Object.assign(new Error('The operation was aborted due to timeout'), { name: 'TimeoutError' })),
    ),
    'timeout',
  );
  t.ok(isTUFMirrorUnreachable(wrap(Object.assign(new Error('Failed to download'), { statusCode: 503 }))), 'HTTP 503');
  t.notOk(
    isTUFMirrorUnreachable(wrap(Object.assign(new Error('Failed to download'), { statusCode: 404 }))),
    'HTTP 404: the mirror answered',
  );
  t.notOk(isTUFMirrorUnreachable(wrap(new Error('Final timestamp.json is expired'))), 'expired metadata');
  t.notOk(isTUFMirrorUnreachable(wrap(new Error('timestamp was signed by 0/1 keys'))), 'bad signature');
  // a malformed metadata field is a TypeError too, but not a network one
  t.notOk(isTUFMirrorUnreachable(wrap(new TypeError('signatures must be an array'))), 'malformed metadata');
  t.equal(getTUFReason(wrap(refused)), 'error refreshing TUF metadata: fetch failed: connect ECONNREFUSED 127.0.0.1:9');
  t.equal(
    getTUFReason(wrap(Object.assign(new Error('Failed to download'), { statusCode: 404 }))),
    'error refreshing TUF metadata: Failed to download (HTTP 404)',
  );
});

withPythonTuf(() => {
  t.test('trust export follows the mirror: refresh, cached target, root rotation', async (t) => {
    const repo = await buildTufRepo(fresh('repo'), [PUBLIC_GOOD, PGI, GITHUB]);
    const m = await startTufMirror();
    t.teardown(() => m.stop());
    const cache = fresh('cache');
    const out = join(dir, 'exported.json');

    m.serve(repo.states.v1!);
    let r = await runSigward(['trust', 'export', ...tufArgs(m, repo, cache), '--out', out, '-o', 'json']);
    t.equal(r.code, 0, `binary, v1: ${r.stdout}${r.stderr}`);
    t.same(JSON.parse(r.stdout).sources, [`TUF ${m.url}`]);
    t.ok(sameRoot(out, PUBLIC_GOOD), 'targets 1: the public-good root');
    t.same(m.requests, [
      '/2.root.json',
      '/timestamp.json',
      '/1.snapshot.json',
      '/1.targets.json',
      `/targets/${sha(PUBLIC_GOOD)}.trusted_root.json`,
    ], 'consistent-snapshot paths');
    // the exported file is all an offline verification needs
    r = await runSigward([
      'verify-bundle',
      '--trusted-root',
      out,
      '--bundle',
      BUNDLE,
      ...CODY,
      `sha256:${SUBJECT_HEX}`,
    ]);
    t.equal(r.code, 0, `verify-bundle with the exported root: ${r.stdout}${r.stderr}`);

    m.requests.length = 0;
    m.serve(repo.states.v2!);
    let s = await sigward(['trust', 'export', ...tufArgs(m, repo, cache), '--out', out]);
    t.equal(s.code, 0, s.stderr);
    t.ok(sameRoot(out, PGI), 'targets 2: a new trusted root');
    t.ok(m.requests.includes(`/targets/${sha(PGI)}.trusted_root.json`));

    m.requests.length = 0;
    s = await sigward(['trust', 'export', ...tufArgs(m, repo, cache), '--out', out]);
    t.equal(s.code, 0);
    t.same(
      m.requests,
      ['/2.root.json', '/timestamp.json'],
      'same timestamp version: nothing else fetched, the cached target is used',
    );

    // verification commands take the same options
    s = await sigward([
      'verify-bundle',
      ...tufArgs(m, repo, cache),
      '--bundle',
      BUNDLE,
      ...CODY,
      `sha256:${SUBJECT_HEX}`,
      '-o',
      'json',
    ]);
    t.equal(s.code, 0, `verify-bundle --tuf-mirror: ${s.stdout}`);

    m.requests.length = 0;
    m.serve(repo.states.rotated!);
    s = await sigward(['trust', 'export', ...tufArgs(m, repo, cache), '--out', out]);
    t.equal(s.code, 0, s.stderr);
    t.ok(sameRoot(out, GITHUB), 'targets 3 after root 2 (new root and timestamp keys)');
    t.same(m.requests.slice(0, 3), ['/2.root.json', '/3.root.json', '/timestamp.json']);
    t.ok(
      JSON.parse(readFileSync(join(cache, encodeURIComponent(new URL(m.url).host), 'root.json'), 'utf8')).signed
        .version === 2,
      'root 2 is cached',
    );
  });

  t.test('refused updates name the reason and leave the exported file alone', async (t) => {
    const repo = await buildTufRepo(fresh('repo'), [PUBLIC_GOOD, PGI, GITHUB]);
    const m = await startTufMirror();
    t.teardown(() => m.stop());
    const cases: [TufState, RegExp][] = [
      ['expired-timestamp', /timestamp\.json is expired/],
      ['expired-targets', /targets\.json is expired/],
      ['wrong-key-timestamp', /timestamp was signed by 0\/1 keys/],
      ['wrong-key-targets', /targets was signed by 0\/1 keys/],
      ['rollback-snapshot', /New snapshot version 1 is less than current version 2/],
      ['v1', /New timestamp version 1 is less than current version 2/],
      ['bad-target', /Expected hash [0-9a-f]{64} but got [0-9a-f]{64}/],
      ['bad-rotation', /root was signed by 0\/1 keys/],
    ];
    for (const [state, reason] of cases) {
      const cache = fresh('cache');
      const out = join(dir, `refused-${state}.json`);
      m.serve(repo.states.v2!);
      let r = await sigward(['trust', 'export', ...tufArgs(m, repo, cache), '--out', out]);
      t.equal(r.code, 0, `${state}: primed with v2`);
      const before = readFileSync(out, 'utf8');
      m.serve(repo.states[state]!);
      r = await sigward(['trust', 'export', ...tufArgs(m, repo, cache), '--out', out, '-o', 'json']);
      t.equal(r.code, 3, `${state}: refused (exit 3)`);
      t.equal(r.doc?.error?.code, 'TRUST_ROOT_INVALID', state);
      t.match(
        r.doc?.error?.message,
        /^TUF: the update from http:\/\/127\.0\.0\.1:\d+ was rejected, nothing from it is used: /,
        state,
      );
      t.match(r.doc?.error?.message, reason, state);
      t.equal(readFileSync(out, 'utf8'), before, `${state}: --out untouched`);
      t.notOk(/WARNING/.test(r.stderr), `${state}: a refused update never falls back to the cache`);
    }
  });

  t.test('mirror down: the cache serves until its metadata expires', async (t) => {
    const targets: [string, string, string] = [PUBLIC_GOOD, PGI, GITHUB];
    const out = fresh('repo');
    const m = await startTufMirror();
    t.teardown(() => m.stop());
    const cache = fresh('cache');
    const exported = join(dir, 'offline.json');

    // never reached and nothing cached
    await m.down();
    const repo0 = await buildTufRepo(out, targets, { only: ['v2'] });
    let r = await sigward(['trust', 'export', ...tufArgs(m, repo0, cache), '--out', exported, '-o', 'json']);
    t.equal(r.code, 3);
    t.match(r.doc.error.message, /is unreachable \(.*ECONNREFUSED.*\) and there is no cached TUF metadata in /);
    await m.up();

    // timestamp valid for a few seconds only
    const seconds = 10;
    const repo = await buildTufRepo(out, targets, { only: ['short-lived'], shortLivedSeconds: seconds });
    const expires = new Date(repo.expires['short-lived']!);
    m.serve(repo.states['short-lived']!);
    r = await sigward(['trust', 'export', ...tufArgs(m, repo, cache), '--out', exported]);
    t.equal(r.code, 0, r.stderr);
    t.ok(sameRoot(exported, PGI));

    await m.down();
    rmSync(exported);
    r = await sigward(['trust', 'export', ...tufArgs(m, repo, cache), '--out', exported, '-o', 'json']);
    t.ok(Date.now() < expires.getTime(), 'still within the cached timestamp validity (machine fast enough)');
    t.equal(r.code, 0, `mirror down, cache valid: ${r.stdout}${r.stderr}`);
    t.same(r.doc.sources, [`TUF ${m.url} (cached metadata, mirror unreachable)`]);
    t.match(
      r.stderr,
      new RegExp(
        `WARNING: TUF mirror ${m.url} is unreachable \\(.*ECONNREFUSED.*\\); using the trusted root from the cached TUF metadata in .*, valid until ${
          expires.toISOString().replace('.000Z', 'Z')
        }`,
      ),
    );
    t.ok(sameRoot(exported, PGI), 'the cached target');

    // the binary does the same
    const b = await runSigward(['trust', 'show', ...tufArgs(m, repo, cache), '-o', 'json']);
    t.equal(b.code, 0, b.stderr);
    t.match(b.stderr, /WARNING: TUF mirror .* is unreachable/);

    await new Promise((resolve) => setTimeout(resolve, Math.max(0, expires.getTime() - Date.now()) + 1100));
    r = await sigward(['trust', 'export', ...tufArgs(m, repo, cache), '--out', exported, '-o', 'json']);
    t.equal(r.code, 3, 'mirror down, cache expired: cannot get a trusted root');
    t.match(
      r.doc.error.message,
      /is unreachable \(.*\) and the cached TUF metadata in .* has expired \(timestamp\.json expired [0-9T:-]+Z\): reach the mirror again, or give --trusted-root FILE/,
    );
    t.same(r.doc.error.detail.expired, [{ role: 'timestamp', expires: expires.toISOString().replace('.000Z', 'Z') }]);
    // a verification that needs it cannot decide (exit 3), it never falls back to the embedded root
    r = await sigward([
      'verify-bundle',
      ...tufArgs(m, repo, cache),
      '--bundle',
      BUNDLE,
      ...CODY,
      `sha256:${SUBJECT_HEX}`,
      '-o',
      'json',
    ]);
    t.equal(r.code, 3, 'verify-bundle: undecided');

    // the mirror is back with a newer timestamp: refreshed, no warning
    await m.up();
    const repo2 = await buildTufRepo(out, targets, { only: ['refreshed'] });
    m.serve(repo2.states.refreshed!);
    r = await sigward(['trust', 'export', ...tufArgs(m, repo2, cache), '--out', exported]);
    t.equal(r.code, 0, r.stderr);
    t.notMatch(r.stderr, /WARNING/, 'no warning');
    t.ok(sameRoot(exported, PGI));
  });

  withSigstoreGo(() => {
    t.test('sigward (tuf-js) and sigstore-go (go-tuf) decide every repository state alike', async (t) => {
      // three byte-different copies of the public-good root: every accepted
      // state lets both verify the same bundle, so accept means "TUF accepted"
      const variants = fresh('targets');
      const pg = JSON.parse(readFileSync(PUBLIC_GOOD, 'utf8'));
      const files = [0, 1, 2].map((i) => join(variants, `v${i}.json`));
      writeFileSync(files[0]!, readFileSync(PUBLIC_GOOD));
      writeFileSync(files[1]!, JSON.stringify(pg, null, 1));
      writeFileSync(files[2]!, JSON.stringify(pg));
      const repo = await buildTufRepo(fresh('repo'), files as [string, string, string]);
      const m = await startTufMirror();
      t.teardown(() => m.stop());

      const client = () => ({ cache: fresh('sigward-cache'), home: fresh('sigstore-go-home') });
      type Client = ReturnType<typeof client>;
      const bySigward = async (c: Client) => {
        const r = await sigward([
          'verify-bundle',
          ...tufArgs(m, repo, c.cache),
          '--bundle',
          BUNDLE,
          ...CODY,
          `sha256:${SUBJECT_HEX}`,
          '-o',
          'json',
        ]);
        return { ok: r.code === 0, why: r.doc?.error?.message ?? r.stderr };
      };
      const bySigstoreGo = async (c: Client) => {
        const r = await runSigstoreGo(
          [
            '-tufRootURL',
            m.url,
            '-tufTrustedRoot',
            repo.root,
            '-expectedSAN',
            'cody@soyland.com',
            '-expectedIssuer',
            'https://github.com/login/oauth',
            '-artifact-digest',
            SUBJECT_HEX,
            BUNDLE,
          ],
          { HOME: c.home },
        );
        return { ok: r.code === 0, why: r.stderr.trim() };
      };
      type Step = TufState | 'down';
      interface Scenario {
        name: string;
        prime?: TufState;
        then: Step;
        accept: boolean;
        /** where sigstore-go decides otherwise (README "Where sigward differs ...") */
        sigstoreGo?: boolean;
      }
      const scenarios: Scenario[] = [
        { name: 'fresh client, v1', then: 'v1', accept: true },
        { name: 'fresh client, v2', then: 'v2', accept: true },
        { name: 'fresh client, root rotation', then: 'rotated', accept: true },
        { name: 'root 2 signed by the new root key only', then: 'bad-rotation', accept: false },
        { name: 'expired timestamp', then: 'expired-timestamp', accept: false },
        { name: 'expired targets', then: 'expired-targets', accept: false },
        { name: 'timestamp signed with the targets key', then: 'wrong-key-timestamp', accept: false },
        { name: 'targets signed with the snapshot key', then: 'wrong-key-targets', accept: false },
        { name: 'target bytes do not match targets', then: 'bad-target', accept: false },
        { name: 'after v2: refresh to the rotated root', prime: 'v2', then: 'rotated', accept: true },
        { name: 'after v2: timestamp rolled back to v1', prime: 'v2', then: 'v1', accept: false },
        { name: 'after v2: snapshot rolled back', prime: 'v2', then: 'rollback-snapshot', accept: false },
        // sigstore-go-verification refreshes on every run and fails without the mirror; sigward
        // falls back to its cache while every cached role is unexpired
        {
          name: 'after v2: mirror down, cached metadata unexpired',
          prime: 'v2',
          then: 'down',
          accept: true,
          sigstoreGo: false,
        },
      ];
      let decided = 0;
      for (const s of scenarios) {
        const c = client();
        if (s.prime) {
          m.serve(repo.states[s.prime]!);
          const [a, b] = [await bySigward(c), await bySigstoreGo(c)];
          t.ok(a.ok && b.ok, `${s.name}: primed (${a.why} ${b.why})`);
        }
        if (s.then === 'down') await m.down();
        else m.serve(repo.states[s.then]!);
        const ours = await bySigward(c);
        const theirs = await bySigstoreGo(c);
        if (s.then === 'down') await m.up();
        t.equal(ours.ok, s.accept, `${s.name}: sigward ${s.accept ? 'accepts' : 'rejects'} (${ours.why})`);
        t.equal(
          theirs.ok,
          s.sigstoreGo ?? s.accept,
          `${s.name}: sigstore-go ${(s.sigstoreGo ?? s.accept) ? 'accepts' : 'rejects'} (${theirs.why})`,
        );
        if (!s.accept) t.match(ours.why, /^TUF: /, `${s.name}: sigward names TUF as the reason`);
        decided++;
      }
      t.equal(decided, scenarios.length);
    });
  });
});

function sha(file: string): string {
  return createHash('sha256').update(readFileSync(file)).digest('hex');
}
