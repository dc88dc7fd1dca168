// What the mutating webhook logs at which level (README "Admission webhook"):
// an allowed admission is a debug line, as in the validating webhook, unless
// it dropped a verification record sigward did not write (info, with
// untrustedRecord); a denial is an info line. The admission handler in
// process with a captured logger, an image signed by the real cosign in the
// real registry.

import t from 'tap';
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { Writable } from 'node:stream';
import { RegistryClient } from '../../lib/oci/registry.ts';
import { createLogger } from '../../lib/log.ts';
import { createResultCache } from '../../lib/engine/cache.ts';
import { loadPolicySnapshot } from '../../lib/server/policy-set.ts';
import { createAdmissionHandler, isCacheWritable } from '../../lib/server/webhook.ts';
import { createSemaphore } from '../../lib/semaphore.ts';
import { parseAdmissionReview } from '../../lib/admission/review.ts';
import { toRecordKey } from '../../lib/admission/record.ts';
import { getEmbeddedTrustedRoot } from '../../lib/trust/sources.ts';
import { toTrust } from '../../lib/trust/root.ts';
import { pushImage, withRegistry } from '../helpers/registry.ts';
import type { TestKey } from '../helpers/cosign.ts';
import { kubectlPod } from '../helpers/kubectl.ts';
import { withRealCosign } from '../helpers/peers.ts';
import { policyYaml, realCosignKey, tmpDir, toReview, writePolicy } from './helpers.ts';

withRealCosign(main);

function main(): void {
  t.test('mutate: allowed admissions are logged at debug, denials and dropped records at info', async (t) => {
    const reg = await withRegistry(t);
    const store = new RegistryClient();
    t.teardown(() => store.close());
    const dir = tmpDir('sigward-loglevels-');
    t.teardown(() => rmSync(dir, { recursive: true, force: true }));
    const cosign = await realCosignKey(dir);
    const key = { publicPem: cosign.publicPem } as TestKey;
    const digest = await pushImage(store, reg.ref('team/app'), { tag: 'v1' });
    await cosign.sign(`${reg.host}/team/app@${digest}`);
    await pushImage(store, reg.ref('team/unsigned'), { tag: 'v1' });
    const policies = tmpDir('sigward-loglevels-policies-');
    t.teardown(() => rmSync(policies, { recursive: true, force: true }));
    writePolicy(policies, 'signed.yaml', policyYaml({ name: 'signed', images: [`${reg.host}/team/*`], key }));
    const snapshot = loadPolicySnapshot([policies], {
      stores: () => store,
      trust: toTrust(getEmbeddedTrustedRoot()),
      cache: createResultCache({ accept: isCacheWritable }),
    }, 1);
    const recordKey = toRecordKey(randomBytes(32));

    const handlerAt = (level: 'info' | 'debug') => {
      const lines: Record<string, unknown>[] = [];
      const sink = new Writable({
        write(chunk: Buffer, _enc, cb) {
          for (const l of chunk.toString().split('\n')) if (l) lines.push(JSON.parse(l) as Record<string, unknown>);
          cb();
        },
      });
      const handler = createAdmissionHandler({
        getSnapshot: () => snapshot,
        semaphore: createSemaphore(4, 16),
        log: createLogger({ level, json: true, destination: sink }),
        getRecordKeys: () => ({ seal: recordKey, verify: [recordKey] }),
      });
      const mutate = async (pod: Record<string, unknown>) => {
        const review = toReview(pod) as { request: { uid: string } };
        const d = await handler.mutate(parseAdmissionReview(JSON.stringify(review)));
        await new Promise((r) => setImmediate(r));
        return { uid: review.request.uid, allowed: d.review.response.allowed };
      };
      const of = (uid: string) => lines.filter((l) => l.uid === uid);
      return { mutate, of };
    };

    const signedPod = () => kubectlPod('app', `${reg.host}/team/app:v1`);
    const info = handlerAt('info');
    const allowed = await info.mutate(signedPod());
    t.equal(allowed.allowed, true, 'the signed image is admitted');
    t.same(info.of(allowed.uid), [], 'at info, an allowed admission writes no line');

    const denied = await info.mutate(kubectlPod('bad', `${reg.host}/team/unsigned:v1`));
    t.equal(denied.allowed, false, 'the unsigned image is denied');
    const deniedLines = info.of(denied.uid);
    t.equal(deniedLines.length, 1, 'at info, a denial writes one line');
    t.match(deniedLines[0], { level: 30, msg: 'admission denied', allowed: false, webhook: 'mutate', kind: 'Pod' });

    const forged = signedPod();
    (forged.metadata as Record<string, unknown>).annotations = {
      'kyverno.io/verify-images': JSON.stringify({ [`${reg.host}/team/other@${digest}`]: 'pass' }),
    };
    const dropped = await info.mutate(forged);
    t.equal(dropped.allowed, true, 'admitted, the forged record dropped');
    const droppedLines = info.of(dropped.uid);
    t.equal(droppedLines.length, 1, 'at info, an allow that dropped a record writes one line');
    t.match(droppedLines[0], { level: 30, msg: 'admission allowed', untrustedRecord: true, allowed: true });

    const debug = handlerAt('debug');
    const seen = await debug.mutate(signedPod());
    t.equal(seen.allowed, true);
    const debugLines = debug.of(seen.uid).filter((l) => l.msg === 'admission allowed');
    t.equal(debugLines.length, 1, 'at debug, the allowed admission is logged');
    t.match(debugLines[0], {
      level: 20,
      allowed: true,
      webhook: 'mutate',
      operation: 'CREATE',
      kind: 'Pod',
      namespace: 'default',
      name: 'app',
      images: 1,
    });
    t.notOk('untrustedRecord' in debugLines[0]!, 'no untrustedRecord on a clean allow');
  });
}
