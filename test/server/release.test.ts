// The webhook service in process (real TLS, the real registry, a registry
// that never answers): after requests that end on every path — verified,
// denied, answered at the deadline, refused as overloaded, abandoned by the
// client, validated — no timer, evaluation slot or registry connection is
// left behind. (The binary is tested end to end in slots.test.ts; timers can
// only be counted from inside the process.)

import t from 'tap';
import { rmSync } from 'node:fs';
import * as https from 'node:https';
import { RegistryClient } from '../../lib/oci/registry.ts';
import { createLogger } from '../../lib/log.ts';
import { startWebhookService } from '../../lib/server/index.ts';
import { getEmbeddedTrustedRoot } from '../../lib/trust/sources.ts';
import { toTrust } from '../../lib/trust/root.ts';
import { generateTls, pushImage, withRegistry } from '../helpers/registry.ts';
import type { TestKey } from '../helpers/cosign.ts';
import { kubectlPod } from '../helpers/kubectl.ts';
import { withRealCosign } from '../helpers/peers.ts';
import {
  httpsRequest,
  metricValue,
  policyYaml,
  realCosignKey,
  startBlackhole,
  tmpDir,
  toReview,
  writePolicy,
} from './helpers.ts';

withRealCosign(main);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const timers = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;

function main(): void {
  t.test('webhook service: nothing is held after any kind of answer', async (t) => {
    const reg = await withRegistry(t);
    const store = new RegistryClient();
    t.teardown(() => store.close());
    const dir = tmpDir('sigward-release-');
    t.teardown(() => rmSync(dir, { recursive: true, force: true }));
    const cosign = await realCosignKey(dir);
    const key = { publicPem: cosign.publicPem } as TestKey;
    const digest = await pushImage(store, reg.ref('ok/app'), { tag: 'v1' });
    await cosign.sign(`${reg.host}/ok/app@${digest}`);
    await pushImage(store, reg.ref('ok/unsigned'), { tag: 'v1' });
    const hole = await startBlackhole();
    t.teardown(() => hole.close());
    const policies = tmpDir('sigward-release-policies-');
    t.teardown(() => rmSync(policies, { recursive: true, force: true }));
    writePolicy(
      policies,
      'ok.yaml',
      policyYaml({ name: 'ok', images: [`${reg.host}/ok/*`], key, failurePolicy: 'Ignore' }),
    );
    writePolicy(
      policies,
      'hang.yaml',
      policyYaml({ name: 'hang', images: [`${hole.host}/*`], key, failurePolicy: 'Ignore', timeoutSeconds: 1 }),
    );
    const tls = await generateTls(dir);

    const registry = new RegistryClient({ timeoutMs: 60_000 });
    t.teardown(() => registry.close());
    const service = await startWebhookService({
      policyPaths: [policies],
      tlsCertPath: tls.certPath,
      tlsKeyPath: tls.keyPath,
      port: 0,
      address: '127.0.0.1',
      trust: toTrust(getEmbeddedTrustedRoot()),
      stores: () => registry,
      log: createLogger({ level: 'silent' }),
      maxConcurrent: 2,
      maxConcurrentPerRegistry: 2,
      maxQueue: 0,
      cache: false,
      reloadIntervalMs: 60_000,
    });
    t.teardown(() => service.close(0));
    const url = `https://127.0.0.1:${service.address.port}`;
    const post = (path: string, obj: Record<string, unknown>, opts: Record<string, unknown> = {}) =>
      httpsRequest(url + path, { method: 'POST', ca: tls.caCertPem, body: JSON.stringify(toReview(obj, opts)) }).then((
        r,
      ) => JSON.parse(r.body).response);
    const inflight = async () => metricValue(await service.metrics.registry.metrics(), 'sigward_evaluations_in_flight');

    const good = kubectlPod('good', `${reg.host}/ok/app:v1`);
    const bad = kubectlPod('bad', `${reg.host}/ok/unsigned:v1`);
    const hung = kubectlPod('hung', `${hole.host}/x/app:v1`);
    const round = async () => {
      t.equal((await post('/mutate', good)).allowed, true, 'verified');
      t.equal((await post('/mutate', bad)).allowed, false, 'denied');
      // two at the deadline hold both slots: a third is refused as overloaded (no queue)
      const both = [post('/mutate', hung), post('/mutate', hung)];
      await sleep(100);
      const refused = await post('/mutate', good);
      t.match(refused.warnings?.[0] ?? '', /overloaded/, 'overloaded');
      for (const r of await Promise.all(both)) {
        t.match(r.warnings?.[0] ?? '', /did not finish within 0\.8s/, 'deadline');
      }
      // a client that goes away while its evaluation waits on the registry
      const req = https.request(`${url}/mutate`, {
        method: 'POST',
        ca: tls.caCertPem,
        servername: 'localhost',
        agent: false,
        headers: { 'Content-Type': 'application/json' },
      });
      req.on('error', () => {});
      req.end(JSON.stringify(toReview(hung)));
      await sleep(150);
      req.destroy();
      t.equal((await post('/validate', good)).allowed, false, 'validated (no digest)');
      await sleep(200);
    };

    await round(); // warm up: lazy singletons, keep-alive pools
    const baseline = timers();
    for (let i = 0; i < 3; i++) await round();
    await sleep(300);
    t.equal(await inflight(), 0, 'every evaluation slot given back');
    t.equal(hole.open(), 0, 'no connection to the registry that never answers is left open');
    t.ok(hole.peak() <= 16, `at most 16 connections to it at once (${hole.peak()})`);
    t.equal(timers(), baseline, 'no timer left behind by any of these answers');
  });
}
