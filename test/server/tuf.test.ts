// `sigward serve --tuf-mirror`: the webhook takes its trusted root from a real
// TUF repository (python-tuf, test/helpers/tuf_repo.py) served on 127.0.0.1.
// A keyless image signed by the mock Sigstore is allowed exactly when the
// TUF target trusted_root.json is the mock's root. serve fetches at start-up
// (from the cache while the mirror is down; it refuses to start, exit 3 with
// the reason, on refused metadata or an expired cache) and every
// --tuf-refresh-interval seconds while running (a new root replaces the old
// one and the verification cache; a failed refresh keeps the root in use).

import t from 'tap';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RegistryClient } from '../../lib/oci/registry.ts';
import { runSigward } from '../helpers/cli.ts';
import { SHARED } from '../helpers/fixtures.ts';
import { kubectlPod } from '../helpers/kubectl.ts';
import { pushImageDetailed, withRegistry } from '../helpers/registry.ts';
import { DEFAULT_ISSUER, pushLegacySignature, withSigstoreMock } from '../helpers/sigstore.ts';
import { buildTufRepo, startTufMirror, withPythonTuf } from '../helpers/tuf.ts';
import { type ServeHandle, startServe, toReview, writePolicy } from './helpers.ts';

const PUBLIC_GOOD = `${SHARED}/trust-roots/public-good-trusted_root.json`;
const PGI = `${SHARED}/trust-roots/cosign-trusted_root_pgi.json`;

withPythonTuf(() => {
  t.test('serve --tuf-mirror: trusted root from TUF, the cache while the mirror is down', async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'sigward-serve-tuf-'));
    t.teardown(() => rmSync(dir, { recursive: true, force: true }));
    const reg = await withRegistry(t);
    const mock = await withSigstoreMock(t);
    const store = new RegistryClient();
    t.teardown(() => store.close());
    const repo = reg.ref('tuf/app');
    const img = await pushImageDetailed(store, repo, { tag: 'v1' });
    await pushLegacySignature(
      store,
      repo,
      img.digest,
      await mock.signLegacy(img.digest, `${reg.host}/tuf/app`, { identity: 'dev@example.com' }),
    );
    const policies = join(dir, 'policies');
    mkdirSync(policies);
    writePolicy(
      policies,
      'keyless.yaml',
      `apiVersion: kyverno.io/v1
kind: ClusterPolicy
metadata:
  name: keyless
spec:
  validationFailureAction: Enforce
  background: false
  rules:
    - name: keyless
      match:
        any:
        - resources:
            kinds: [Pod]
      verifyImages:
      - imageReferences: ["${reg.host}/tuf/*"]
        attestors:
        - entries:
          - keyless:
              subject: dev@example.com
              issuer: ${DEFAULT_ISSUER}
`,
    );
    // targets 1: the mock's root; targets 2: public-good (does not trust the mock)
    const tuf = await buildTufRepo(join(dir, 'repo'), [mock.trustedRootPath, PUBLIC_GOOD, PGI]);
    const m = await startTufMirror();
    t.teardown(() => m.stop());
    const cache = join(dir, 'cache');
    const tufArgs = ['--tuf-mirror', m.url, '--tuf-root', tuf.root, '--tuf-cache', cache];
    const pod = () => toReview(kubectlPod('app', `${reg.host}/tuf/app:v1`));
    const review = async (srv: ServeHandle, why: string, allowed: boolean): Promise<string> => {
      const r = await srv.review('/mutate', pod());
      const message = (r.status?.message ?? '').replace(/\s+/g, ' ');
      t.equal(r.allowed, allowed, `${why}: ${allowed ? 'allowed' : 'denied'}${message ? ` (${message})` : ''}`);
      return message;
    };
    const admit = async (why: string, allowed: boolean): Promise<{ message: string; warnings: string[] }> => {
      const srv = await startServe({ policyDir: policies, extraArgs: [...tufArgs, '--tuf-refresh-interval', '0'] });
      try {
        const message = await review(srv, why, allowed);
        return { message, warnings: srv.logs().filter((l) => l.msg === 'trust root').map((l) => String(l.warning)) };
      } finally {
        await srv.stop();
      }
    };
    const refuses = async (why: string, reason: RegExp) => {
      const r = await runSigward([
        'serve',
        '--policy',
        policies,
        '--tls-cert',
        join(dir, 'none.pem'),
        '--tls-key',
        join(dir, 'none.key'),
        '--port',
        '0',
        ...tufArgs,
      ], { timeoutMs: 60_000 });
      t.equal(r.code, 3, `${why}: serve does not start (exit 3)`);
      t.match(r.stderr, reason, why);
    };

    m.serve(tuf.states.v1!);
    t.same((await admit('targets 1 trusts the mock Sigstore', true)).warnings, []);

    await m.down();
    const offline = await admit('mirror down, cached targets 1', true);
    t.match(offline.warnings, [
      /^TUF mirror .* is unreachable .*; using the trusted root from the cached TUF metadata in .*, valid until /,
    ]);
    await m.up();

    m.serve(tuf.states.v2!);
    t.match(
      (await admit('refreshed at start-up to targets 2 (public-good)', false)).message,
      /transparency log \w+ is not trusted/,
    );

    m.serve(tuf.states['wrong-key-timestamp']!);
    await refuses(
      'timestamp signed with the wrong key',
      /Error: TUF: the update from .* was rejected, nothing from it is used: .*timestamp was signed by 0\/1 keys/,
    );
    const r = await runSigward([
      'serve',
      '--policy',
      policies,
      '--tls-cert',
      join(dir, 'none.pem'),
      '--tls-key',
      join(dir, 'none.key'),
      '--tuf-refresh-interval',
      '60',
    ]);
    t.equal(r.code, 2, '--tuf-refresh-interval without --tuf-mirror is a usage error');
    t.match(r.stderr, /--tuf-refresh-interval needs --tuf-mirror/);

    // while running: refreshed every second; a new root replaces the old one and the cached verdicts
    const cache2 = join(dir, 'cache-running');
    const running = [
      '--tuf-mirror',
      m.url,
      '--tuf-root',
      tuf.root,
      '--tuf-cache',
      cache2,
      '--tuf-refresh-interval',
      '1',
    ];
    m.serve(tuf.states.v1!);
    const srv = await startServe({ policyDir: policies, extraArgs: running });
    try {
      await review(srv, 'running, targets 1', true);
      await review(srv, 'running, targets 1 again (cached verdict)', true);
      m.serve(tuf.states.v2!);
      await srv.waitForLog(
        (l) => l.msg === 'trust root refreshed: new root in use, verification cache cleared',
        15_000,
      );
      t.match(await review(srv, 'running, refreshed to targets 2', false), /transparency log \w+ is not trusted/);
      m.serve(tuf.states['expired-timestamp']!);
      const failed = await srv.waitForLog(
        (l) => l.msg === 'trust root refresh failed: keeping the trust root in use',
        15_000,
      );
      t.match(String(failed.err), /timestamp\.json is expired/);
      await review(srv, 'running, refused update: still targets 2', false);
      await m.down();
      const offline = await srv.waitForLog(
        (l) => l.msg === 'trust root' && /is unreachable/.test(String(l.warning)),
        15_000,
      );
      t.match(
        String(offline.warning),
        /using the trusted root from the cached TUF metadata/,
        'running, mirror down: the cache, with a warning',
      );
      await m.up();
      const metrics = await srv.get('/metrics');
      t.match(metrics.body, /sigward_trust_refreshes_total\{result="changed"\} 1/);
      t.match(metrics.body, /sigward_trust_refreshes_total\{result="error"\} [1-9]/);
    } finally {
      await srv.stop();
    }

    // a timestamp that expires a few seconds from now: usable from the cache until then
    const short = await buildTufRepo(join(dir, 'repo'), [mock.trustedRootPath, PUBLIC_GOOD, PGI], {
      only: ['short-lived'],
      shortLivedSeconds: 8,
    });
    m.serve(short.states['short-lived']!);
    await admit('short-lived timestamp (targets 2)', false);
    await m.down();
    const expires = new Date(short.expires['short-lived']!).getTime();
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, expires - Date.now()) + 1100));
    await refuses(
      'mirror down, cache expired',
      /Error: TUF: the mirror .* is unreachable \(.*ECONNREFUSED.*\) and the cached TUF metadata in .* has expired \(timestamp\.json expired .*\)/,
    );
  });
});
