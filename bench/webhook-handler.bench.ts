// The webhook's warm review in process, without TLS and HTTP: what
// `sigward serve` does between reading a body and writing the answer
// (parseAdmissionReview, the admission handler's mutate with the verification
// cache warm, the answer's JSON), timed by the process's CPU clock, which a
// shared machine's load moves much less than wrk's throughput. A
// one-container Pod whose signed image is in the local docker-registry, a
// key policy; the first call fills the cache.
//   node bench/webhook-handler.bench.ts [--calls 20000] [--runs 3] [--log-level warn]

import { randomBytes } from 'node:crypto';
import { RegistryClient } from '../lib/oci/registry.ts';
import { createLogger } from '../lib/log.ts';
import { createResultCache } from '../lib/engine/cache.ts';
import { loadPolicySnapshot } from '../lib/server/policy-set.ts';
import { createAdmissionHandler, isCacheWritable } from '../lib/server/webhook.ts';
import { createSemaphore } from '../lib/semaphore.ts';
import { parseAdmissionReview } from '../lib/admission/review.ts';
import { toRecordKey } from '../lib/admission/record.ts';
import { getEmbeddedTrustedRoot } from '../lib/trust/sources.ts';
import { toTrust } from '../lib/trust/root.ts';
import { pushImage, startRegistry } from '../test/helpers/registry.ts';
import { makeKey, signImage } from '../test/helpers/cosign.ts';
import { policyYaml, tmpDir, toReview, writePolicy } from '../test/server/helpers.ts';
import { Writable } from 'node:stream';

const arg = (name: string, dflt: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1]! : dflt;
};
const CALLS = Number(arg('calls', '20000'));
const RUNS = Number(arg('runs', '3'));
const LEVEL = arg('log-level', 'warn') as 'warn' | 'info';

const reg = await startRegistry();
const store = new RegistryClient();
try {
  const key = makeKey();
  const digest = await pushImage(store, reg.ref('bench/warm'), { tag: 'v1' });
  await signImage({ store, repository: reg.ref('bench/warm'), digest, key });
  const policies = tmpDir('sigward-handler-policies-');
  writePolicy(policies, 'policy.yaml', policyYaml({ name: 'require-signed', images: [`${reg.host}/bench/*`], key }));
  const cache = createResultCache({ accept: isCacheWritable });
  const snapshot = loadPolicySnapshot([policies], {
    stores: () => store,
    trust: toTrust(getEmbeddedTrustedRoot()),
    cache,
  }, 1);
  let logged = 0;
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      logged += chunk.length;
      cb();
    },
  });
  const recordKey = toRecordKey(randomBytes(32));
  const handler = createAdmissionHandler({
    getSnapshot: () => snapshot,
    semaphore: createSemaphore(64, 256),
    log: createLogger({ level: LEVEL, json: true, destination: sink }),
    getRecordKeys: () => ({ seal: recordKey, verify: [recordKey] }),
  });
  const body = Buffer.from(JSON.stringify(
    toReview({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'warm', namespace: 'default' },
      spec: { containers: [{ name: 'warm', image: `${reg.host}/bench/warm:v1` }] },
    }),
  ));
  const review = async () => {
    const d = await handler.mutate(parseAdmissionReview(body));
    if (!d.review.response.allowed) throw new Error(`not allowed: ${JSON.stringify(d.review.response)}`);
    return JSON.stringify(d.review).length;
  };
  await review();
  for (let i = 0; i < 2000; i++) await review(); // warm-up: JIT
  for (let run = 0; run < RUNS; run++) {
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    for (let i = 0; i < CALLS; i++) await review();
    const cpu = process.cpuUsage(cpu0);
    const wall = performance.now() - t0;
    process.stdout.write(
      `run ${run + 1}: ${CALLS} warm reviews, ${((cpu.user + cpu.system) / CALLS).toFixed(1)} µs CPU and ${
        ((wall * 1000) / CALLS).toFixed(1)
      } µs wall each (log level ${LEVEL}, ${logged} bytes logged)\n`,
    );
  }
} finally {
  store.close();
  await reg.stop();
}
