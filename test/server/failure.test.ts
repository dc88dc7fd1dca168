// `sigward serve` when things go wrong (images signed by the real cosign 3.1.1): the registry stops mid-test
// (failurePolicy Fail vs Ignore), a registry that hangs (the request deadline),
// certificate rotation, and SIGTERM with a request in flight.

import t from 'tap';
import { copyFileSync, rmSync } from 'node:fs';
import { connect } from 'node:tls';
import { RegistryClient } from '../../lib/oci/registry.ts';
import { applyPatch } from '../../lib/admission/index.ts';
import type { JsonObject } from '../../lib/admission/types.ts';
import { generateTls, pushImage, withRegistry } from '../helpers/registry.ts';
import { makeCosignSigner } from '../helpers/cosign-images.ts';
import { withRealCosign } from '../helpers/peers.ts';
import { kubectlPod } from '../helpers/kubectl.ts';
import {
  decodePatch,
  httpsRequest,
  metricValue,
  policyYaml,
  startBlackhole,
  startServe,
  tmpDir,
  toReview,
  unfold,
  writePolicy,
} from './helpers.ts';

withRealCosign(() => {
  t.test('sigward serve: failure semantics', async (t) => {
    const reg = await withRegistry(t);
    const store = new RegistryClient();
    t.teardown(() => store.close());
    const host = reg.host;
    const cosignDir = tmpDir('sigward-serve-cosign-');
    t.teardown(() => rmSync(cosignDir, { recursive: true, force: true }));
    // the images are signed by the real cosign, once for the file
    const signer = await makeCosignSigner(cosignDir);
    const key = { publicPem: signer.publicPem };
    const refs: string[] = [];
    for (const repo of ['fail/app', 'ignore/app', 'open/app']) {
      refs.push(`${host}/${repo}@${await pushImage(store, reg.ref(repo), { tag: 'v1' })}`);
    }
    await signer.sign('legacy', refs);
    const hole = await startBlackhole();
    t.teardown(() => hole.close());

    const policies = tmpDir('sigward-serve-policies-');
    t.teardown(() => rmSync(policies, { recursive: true, force: true }));
    writePolicy(policies, 'fail.yaml', policyYaml({ name: 'fail-policy', images: [`${host}/fail/*`], key }));
    writePolicy(
      policies,
      'ignore-required.yaml',
      policyYaml({
        name: 'ignore-required',
        images: [`${host}/ignore/*`],
        key,
        failurePolicy: 'Ignore',
        verifyDigest: false,
      }),
    );
    writePolicy(
      policies,
      'ignore-open.yaml',
      policyYaml({
        name: 'ignore-open',
        images: [`${host}/open/*`],
        key,
        failurePolicy: 'Ignore',
        verifyDigest: false,
        mutateDigest: false,
        required: false,
      }),
    );
    writePolicy(
      policies,
      'slow-fail.yaml',
      policyYaml({ name: 'slow-fail', images: [`${hole.host}/fail/*`], key, timeoutSeconds: 1 }),
    );
    writePolicy(
      policies,
      'slow-ignore.yaml',
      policyYaml({
        name: 'slow-ignore',
        images: [`${hole.host}/ignore/*`],
        key,
        timeoutSeconds: 1,
        failurePolicy: 'Ignore',
      }),
    );
    writePolicy(
      policies,
      'slow-default.yaml',
      policyYaml({ name: 'slow-default', images: [`${hole.host}/default/*`], key }),
    );
    writePolicy(
      policies,
      'slow-drain.yaml',
      policyYaml({
        name: 'slow-drain',
        images: [`${hole.host}/drain/*`],
        key,
        timeoutSeconds: 3,
        failurePolicy: 'Ignore',
      }),
    );

    const srv = await startServe({
      policyDir: policies,
      extraArgs: ['--registry-timeout', '4', '--shutdown-delay', '1'],
    });
    t.teardown(() => srv.stop('SIGKILL'));

    await t.test('registry stopped mid-test: Fail denies, Ignore lets images through with a warning', async (t) => {
      for (const p of ['fail', 'ignore', 'open']) {
        const r = await srv.review('/mutate', toReview(kubectlPod(p, `${host}/${p}/app:v1`)));
        t.equal(r.allowed, true, `${p}: allowed while the registry is up`);
      }
      await reg.stop();

      const cached = await srv.review('/mutate', toReview(kubectlPod('cached', `${host}/fail/app:v1`)));
      t.equal(cached.allowed, true, 'an image verified moments ago: answered from the cache');

      const fail = await srv.review('/mutate', toReview(kubectlPod('new', `${host}/fail/app:v2`)));
      t.equal(fail.allowed, false, 'failurePolicy Fail: denied');
      t.match(
        unfold(fail.status?.message),
        /fail-policy: verify-signature: 'failed to verify image .*fail\/app:v2: .*registry unreachable/,
      );

      const ign = kubectlPod('new', `${host}/ignore/app:v2`);
      const ri = await srv.review('/mutate', toReview(ign));
      t.equal(ri.allowed, true, 'failurePolicy Ignore: allowed');
      t.match(
        ri.warnings?.[0] ?? '',
        /ignore-required\.verify-signature \(failurePolicy Ignore\): failed to verify image .*registry unreachable/,
      );
      const mutated = applyPatch(ign as JsonObject, decodePatch(ri));
      t.equal((mutated as any).spec.containers[0].image, `${host}/ignore/app:v2`, 'nothing to pin');
      const vi = await srv.review('/validate', toReview(mutated as Record<string, unknown>));
      t.equal(
        vi.allowed,
        false,
        'Ignore + required (Kyverno): the unverified image is still denied at validate under Enforce',
      );
      t.match(unfold(vi.status?.message), `ignore-required: verify-signature: unverified image ${host}/ignore/app:v2`);

      const open = kubectlPod('new', `${host}/open/app:v2`);
      const ro = await srv.review('/mutate', toReview(open));
      t.equal(ro.allowed, true, 'Ignore, required and digests off: allowed');
      t.ok(ro.warnings?.length, 'with a warning');
      const vo = await srv.review(
        '/validate',
        toReview(applyPatch(open as JsonObject, decodePatch(ro)) as Record<string, unknown>),
      );
      t.equal(vo.allowed, true, 'and allowed at validate');
    });

    await t.test('registry hangs: answered by failurePolicy before the webhook timeout', async (t) => {
      const [pf, pi, pd] = ['fail', 'ignore', 'default'].map((p) =>
        toReview(kubectlPod('slow', `${hole.host}/${p}/app:v1`))
      );
      let started = Date.now();
      const f = await srv.review('/mutate', pf);
      let ms = Date.now() - started;
      t.equal(f.allowed, false, 'Fail: denied');
      t.match(unfold(f.status?.message), /slow-fail: verify-signature: image verification did not finish within 0\.8s/);
      t.ok(ms >= 700 && ms < 1000, `answered within the 1 s webhook timeout (${ms} ms)`);

      started = Date.now();
      const i = await srv.review('/mutate', pi);
      ms = Date.now() - started;
      t.equal(i.allowed, true, 'Ignore: allowed');
      t.match(i.warnings?.[0] ?? '', /image verification did not finish within 0\.8s; allowed by failurePolicy Ignore/);
      t.equal(i.patch, undefined, 'no patch');
      t.ok(ms < 1000, `in time (${ms} ms)`);

      started = Date.now();
      const q = await srv.post('/mutate?timeout=2s', JSON.stringify(pd));
      ms = Date.now() - started;
      t.equal(JSON.parse(q.body).response.allowed, false);
      t.match(
        JSON.parse(q.body).response.status.message,
        /did not finish within 1\.8s/,
        'the API server ?timeout= shortens the default 10 s',
      );
      t.ok(ms < 2000, `in time (${ms} ms)`);
      const m = await srv.get('/metrics');
      t.equal(metricValue(m.body, 'sigward_failure_policy_answers_total', { reason: 'deadline' }), 3);
    });

    await t.test('certificate rotation: new connections get the new certificate; TLS < 1.2 refused', async (t) => {
      const old = srv.ca.caCertPem;
      const dir = tmpDir('sigward-serve-tls2-');
      const next = await generateTls(dir, 'sigward-test-ca-2');
      copyFileSync(next.keyPath, srv.ca.keyPath);
      copyFileSync(next.certPath, srv.ca.certPath);
      await srv.waitForLog((l) => l.msg === 'serving certificate reloaded');
      const ok = await httpsRequest(`${srv.url}/healthz`, { method: 'GET', ca: next.caCertPem });
      t.equal(ok.status, 200, 'the new CA verifies the server');
      await t.rejects(httpsRequest(`${srv.url}/healthz`, { method: 'GET', ca: old }), 'the old CA does not');
      const tls11 = await new Promise<string>((resolve) => {
        const s = connect({
          host: '127.0.0.1',
          port: srv.port,
          rejectUnauthorized: false,
          maxVersion: 'TLSv1.1',
          minVersion: 'TLSv1',
        }, () => resolve('connected'));
        s.on('error', (e) => resolve(e.message));
      });
      t.not(tls11, 'connected', `TLS 1.1 refused (${tls11})`);
      srv.ca.caCertPem = next.caCertPem;
    });

    await t.test('SIGTERM: not ready, the request in flight is answered, then exit 0', async (t) => {
      const inflight = srv.post('/mutate', JSON.stringify(toReview(kubectlPod('drain', `${hole.host}/drain/app:v1`))));
      await new Promise((r) => setTimeout(r, 300));
      srv.child.kill('SIGTERM');
      await srv.waitForLog((l) => l.msg === 'shutting down: draining requests');
      t.equal((await srv.get('/readyz')).status, 503, '/readyz fails during the shutdown delay');
      t.equal((await srv.get('/healthz')).status, 200, '/healthz still answers');
      const r = await inflight;
      t.equal(r.status, 200, 'the request in flight got its answer');
      t.equal(JSON.parse(r.body).response.allowed, true, 'by failurePolicy Ignore at its deadline');
      t.equal(await srv.exited, 0, 'exit code 0');
    });
  });
});
