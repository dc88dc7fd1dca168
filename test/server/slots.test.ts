// `sigward serve` under a registry that accepts TCP and never answers: the
// work behind a request that has been answered (deadline) or abandoned
// (client gone) is cancelled, its evaluation slot is given back at once, and
// Pods pointing at the unresponsive registry cannot take every slot from
// Pods of another registry. The legitimate Pods' images are signed by the
// real cosign in the real registry; every Pod comes from kubectl.

import t from 'tap';
import type { Test } from 'tap';
import { rmSync } from 'node:fs';
import * as https from 'node:https';
import { RegistryClient } from '../../lib/oci/registry.ts';
import { pushImage, withRegistry } from '../helpers/registry.ts';
import type { TestKey } from '../helpers/cosign.ts';
import { kubectlPod } from '../helpers/kubectl.ts';
import { withRealCosign } from '../helpers/peers.ts';
import {
  type AdmissionResponseJson,
  decodePatch,
  httpsRequest,
  metricValue,
  policyYaml,
  realCosignKey,
  type ServeHandle,
  startBlackhole,
  startServe,
  tmpDir,
  toReview,
  writePolicy,
} from './helpers.ts';

withRealCosign(main);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A kubectl Pod whose `count` containers all use images of `host` (distinct repositories, so nothing is shared). */
function floodPod(name: string, host: string, prefix: string, count: number): Record<string, unknown> {
  const pod = kubectlPod(name, `${host}/${prefix}/img0:v1`) as any;
  for (let i = 1; i < count; i++) {
    pod.spec.containers.push({ name: `c${i}`, image: `${host}/${prefix}/img${i}:v1`, resources: {} });
  }
  return pod;
}

async function until(what: string, cond: () => Promise<boolean>, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await cond()) return true;
    await sleep(50);
  }
  return cond();
}

const gauge = async (srv: ServeHandle, name: string) => metricValue((await srv.get('/metrics')).body, name);

function failurePolicyWarnings(r: AdmissionResponseJson): string[] {
  return (r.warnings ?? []).filter((w) => /failurePolicy|overloaded|did not finish/.test(w));
}

function main(): void {
  t.test('sigward serve: slots and registry requests past the deadline', async (t) => {
    const reg = await withRegistry(t);
    const store = new RegistryClient();
    t.teardown(() => store.close());
    const dir = tmpDir('sigward-slots-');
    t.teardown(() => rmSync(dir, { recursive: true, force: true }));
    const cosign = await realCosignKey(dir);
    const key = { publicPem: cosign.publicPem } as TestKey;
    const legit: string[] = [];
    for (const repo of ['legit/a', 'quick/b', 'legit/c']) {
      const d = await pushImage(store, reg.ref(repo), { tag: 'v1' });
      await cosign.sign(`${reg.host}/${repo}@${d}`);
      legit.push(d);
    }
    const hole = await startBlackhole();
    t.teardown(() => hole.close());

    const policies = tmpDir('sigward-slots-policies-');
    t.teardown(() => rmSync(policies, { recursive: true, force: true }));
    writePolicy(
      policies,
      'flood.yaml',
      policyYaml({
        name: 'flood',
        images: [`${hole.host}/flood/*`],
        key,
        failurePolicy: 'Ignore',
        timeoutSeconds: 2,
        verifyDigest: false,
        required: false,
      }),
    );
    writePolicy(
      policies,
      'storm.yaml',
      policyYaml({
        name: 'storm',
        images: [`${hole.host}/storm/*`],
        key,
        failurePolicy: 'Ignore',
        timeoutSeconds: 4,
        verifyDigest: false,
        required: false,
      }),
    );
    writePolicy(
      policies,
      'slow.yaml',
      policyYaml({
        name: 'slow',
        images: [`${hole.host}/slow/*`],
        key,
        failurePolicy: 'Ignore',
        verifyDigest: false,
        required: false,
      }),
    );
    // the legitimate Pods: Ignore too, so a failurePolicy answer would be an allow of an unverified image
    writePolicy(
      policies,
      'legit.yaml',
      policyYaml({ name: 'legit', images: [`${reg.host}/legit/*`], key, failurePolicy: 'Ignore' }),
    );
    // shorter than the storm's deadline: waiting behind the storm's Pods for a slot would cost it its own
    writePolicy(
      policies,
      'quick.yaml',
      policyYaml({ name: 'quick', images: [`${reg.host}/quick/*`], key, failurePolicy: 'Ignore', timeoutSeconds: 3 }),
    );
    // the registry client would wait a minute for an answer: only cancellation frees anything earlier
    const srv = await startServe({
      policyDir: policies,
      extraArgs: ['--max-concurrent', '2', '--max-queue', '8', '--registry-timeout', '60'],
    });
    t.teardown(() => srv.stop('SIGKILL'));

    const verifiedPod = async (t: Test, name: string, repo: string, digest: string) => {
      const started = Date.now();
      const r = await srv.review('/mutate', toReview(kubectlPod(name, `${reg.host}/${repo}:v1`)));
      const ms = Date.now() - started;
      t.equal(r.allowed, true, `${name}: allowed`);
      t.same(failurePolicyWarnings(r), [], `${name}: answered by its verification, not by failurePolicy (${ms} ms)`);
      t.ok(
        decodePatch(r).some((p) =>
          p.path === '/spec/containers/0/image' && p.value === `${reg.host}/${repo}:v1@${digest}`
        ),
        `${name}: pinned to the verified digest`,
      );
      return ms;
    };

    await t.test('answered at the deadline: registry requests aborted, slots given back', async (t) => {
      const floods = await Promise.all(
        [0, 1].map((i) => srv.review('/mutate', toReview(floodPod(`flood${i}`, hole.host, 'flood', 40)))),
      );
      for (const f of floods) {
        t.equal(f.allowed, true, 'flood Pod: allowed by failurePolicy Ignore at its deadline');
        t.match(f.warnings?.[0] ?? '', /did not finish within 1\.8s/);
      }
      t.ok(hole.peak() <= 16, `connections to one registry host are bounded (${hole.peak()} at most)`);
      t.ok(
        await until('slots free', async () => (await gauge(srv, 'sigward_evaluations_in_flight')) === 0, 1000),
        'no evaluation holds a slot after its answer',
      );
      t.ok(
        await until('sockets closed', async () => hole.open() === 0, 1000),
        `the registry requests behind them were aborted (${hole.open()} connections still open)`,
      );
      await verifiedPod(t, 'legit-a', 'legit/a', legit[0]!);
    });

    await t.test('a continuous flood of Pods for the unresponsive registry does not starve another registry', async (t) => {
      let stop = false;
      let sent = 0;
      const template = floodPod('f', hole.host, 'storm', 10) as any;
      // more Pods than slots and queue together: without a per-registry share every slot and queue place is theirs
      const workers = Array.from({ length: 24 }, async (_, w) => {
        while (!stop) {
          sent++;
          const pod = structuredClone(template);
          pod.metadata.name = `f${w}-${sent}`;
          // a connection of its own per Pod, as many API server replicas would open
          await httpsRequest(`${srv.url}/mutate`, {
            method: 'POST',
            ca: srv.ca.caCertPem,
            body: JSON.stringify(toReview(pod)),
          }).catch(() => undefined);
          await sleep(20);
        }
      });
      await sleep(1000);
      const ms = await verifiedPod(t, 'quick-b', 'quick/b', legit[1]!);
      t.ok(ms < 2000, `promptly (${ms} ms)`);
      stop = true;
      await Promise.all(workers);
      t.ok(sent > 24, `the storm kept coming (${sent} Pods)`);
      t.ok(
        await until('sockets closed', async () => hole.open() === 0, 2500),
        `storm requests aborted (${hole.open()} open)`,
      );
    });

    await t.test('client gone: its evaluation is cancelled and its slot given back before the deadline', async (t) => {
      const body = JSON.stringify(toReview(floodPod('gone', hole.host, 'slow', 20)));
      const req = https.request(`${srv.url}/mutate`, {
        method: 'POST',
        ca: srv.ca.caCertPem,
        servername: 'localhost',
        agent: false,
        headers: { 'Content-Type': 'application/json' },
      });
      req.on('error', () => {});
      req.end(body);
      t.ok(
        await until(
          'evaluating',
          async () => (await gauge(srv, 'sigward_evaluations_in_flight')) === 1 && hole.open() > 0,
          3000,
        ),
        'the evaluation runs and waits on the registry',
      );
      req.destroy();
      const gone = Date.now();
      t.ok(
        await until('slot free', async () => (await gauge(srv, 'sigward_evaluations_in_flight')) === 0, 2000),
        `slot given back ${Date.now() - gone} ms after the client left (its deadline is 9 s away)`,
      );
      t.ok(
        await until('sockets closed', async () => hole.open() === 0, 2000),
        `its registry requests aborted (${hole.open()} open)`,
      );
      await verifiedPod(t, 'legit-c', 'legit/c', legit[2]!);
    });
  });
}
