// `sigward serve`: the verification record (kyverno.io/verify-images and
// kyverno.io/verify-images-scoped) is something a user can write into the
// object. A record counts as a verification at the validating webhook only
// when sigward wrote it for this object: in this request, or, for an UPDATE,
// carried unchanged from the stored object sigward wrote it for. A mutate
// answered at its deadline under failurePolicy Ignore must not leave a forged
// record behind. Images signed by the real cosign in the real registry; Pods
// and Deployments from kubectl.

import t from 'tap';
import { rmSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { RegistryClient } from '../../lib/oci/registry.ts';
import {
  applyPatch,
  getScopedVerifyStatus,
  readVerifyImagesAnnotation,
  readVerifyImagesScopedAnnotation,
} from '../../lib/admission/index.ts';
import type { JsonObject } from '../../lib/admission/types.ts';
import { pushImage, withRegistry } from '../helpers/registry.ts';
import type { TestKey } from '../helpers/cosign.ts';
import { kubectlCreate, kubectlPod } from '../helpers/kubectl.ts';
import { withRealCosign } from '../helpers/peers.ts';
import {
  decodePatch,
  metricValue,
  policyYaml,
  realCosignKey,
  startBlackhole,
  startServe,
  tmpDir,
  toReview,
  unfold,
  writePolicy,
} from './helpers.ts';

withRealCosign(main);

const SCOPED = 'kyverno.io/verify-images-scoped';
const FLAT = 'kyverno.io/verify-images';

/** What the API server stores: the admitted object with the uid and creationTimestamp it gives it. */
function asStored(obj: Record<string, unknown>, created = new Date()): any {
  const o = structuredClone(obj) as any;
  o.metadata.uid = randomUUID();
  o.metadata.creationTimestamp = created.toISOString().replace(/\.\d+Z$/, 'Z');
  return o;
}

/** The record a user writes by hand: "pass" for `ref` under policy/rule. */
function forge(obj: Record<string, unknown>, policyKey: string, rule: string, ref: string): Record<string, unknown> {
  const o = structuredClone(obj) as any;
  o.metadata.annotations = {
    ...(o.metadata.annotations ?? {}),
    [FLAT]: JSON.stringify({ [ref]: 'pass' }),
    [SCOPED]: JSON.stringify({ version: 1, policies: { [policyKey]: { [rule]: { [ref]: 'pass' } } } }),
  };
  return o;
}

function main(): void {
  t.test('sigward serve: a verification record counts only when sigward wrote it', async (t) => {
    const reg = await withRegistry(t);
    const store = new RegistryClient();
    t.teardown(() => store.close());
    const dir = tmpDir('sigward-record-');
    t.teardown(() => rmSync(dir, { recursive: true, force: true }));
    const cosign = await realCosignKey(dir);
    const key = { publicPem: cosign.publicPem } as TestKey;
    const signed = await pushImage(store, reg.ref('team/app'), { tag: 'v1' });
    await cosign.sign(`${reg.host}/team/app@${signed}`);
    const unsigned = await pushImage(store, reg.ref('team/unsigned'), { tag: 'v1' });
    const hole = await startBlackhole();
    t.teardown(() => hole.close());

    const policies = tmpDir('sigward-record-policies-');
    t.teardown(() => rmSync(policies, { recursive: true, force: true }));
    // the policy: Enforce, required, failurePolicy Ignore, images in a registry that never answers
    writePolicy(
      policies,
      'hang.yaml',
      policyYaml({ name: 'hang', images: [`${hole.host}/*`], key, failurePolicy: 'Ignore', timeoutSeconds: 1 }),
    );
    writePolicy(
      policies,
      'team.yaml',
      policyYaml({
        name: 'team',
        images: [`${reg.host}/team/*`],
        key,
        failurePolicy: 'Ignore',
        kinds: ['Pod', 'Deployment'],
      }),
    );
    const srv = await startServe({ policyDir: policies });
    t.teardown(() => srv.stop('SIGKILL'));

    const holeImage = `${hole.host}/forged/app@sha256:${'5'.repeat(64)}`;

    await t.test('forged record + mutate deadline (Ignore): the validating webhook still denies', async (t) => {
      const plain = kubectlPod('plain', holeImage);
      const rp = await srv.review('/mutate', toReview(plain));
      t.equal(rp.allowed, true, 'mutate: deadline, allowed by failurePolicy Ignore');
      const vp = await srv.review(
        '/validate',
        toReview(applyPatch(plain as JsonObject, decodePatch(rp)) as Record<string, unknown>),
      );
      t.equal(vp.allowed, false, 'without a record: denied at validate (the control)');

      const forged = forge(kubectlPod('forged', holeImage), '/hang', 'verify-signature', holeImage);
      const r = await srv.review('/mutate', toReview(forged));
      t.equal(r.allowed, true, 'mutate: deadline, allowed by failurePolicy Ignore');
      t.match(r.warnings?.[0] ?? '', /did not finish within 0\.8s; allowed by failurePolicy Ignore/);
      const mutated = applyPatch(forged as JsonObject, decodePatch(r)) as any;
      t.not(
        getScopedVerifyStatus(readVerifyImagesScopedAnnotation(mutated), '/hang', 'verify-signature', holeImage),
        'pass',
        'the deadline answer does not leave the forged scoped record in place',
      );
      t.not(readVerifyImagesAnnotation(mutated)?.[holeImage], 'pass', 'nor the forged kyverno.io/verify-images entry');
      const v = await srv.review('/validate', toReview(mutated));
      t.equal(v.allowed, false, 'validate: the forged record is not a verification');
      t.match(unfold(v.status?.message), `hang: verify-signature: unverified image ${holeImage}`);
    });

    await t.test('forged record, mutating webhook skipped (unreachable, or answered after the API server gave up): denied', async (t) => {
      const forged = forge(kubectlPod('skipped', holeImage), '/hang', 'verify-signature', holeImage);
      const v = await srv.review('/validate', toReview(forged));
      t.equal(v.allowed, false);
      t.match(unfold(v.status?.message), `unverified image ${holeImage}`);
      t.match(
        (v.warnings ?? []).join('\n'),
        /not written by sigward/,
        'and the response says why the record was not taken',
      );

      const unsignedRef = `${reg.host}/team/unsigned@${unsigned}`;
      const forged2 = forge(kubectlPod('skipped2', unsignedRef), '/team', 'verify-signature', unsignedRef);
      t.equal(
        (await srv.review('/validate', toReview(forged2))).allowed,
        false,
        'a reachable registry changes nothing',
      );
    });

    // a real record, written by sigward's mutating webhook for a signed image
    const pinned = `${reg.host}/team/app@${signed}`;
    const podIn = (ns: string, name: string) => kubectlPod(name, `${reg.host}/team/app:v1`, ns);
    const admit = async (obj: Record<string, unknown>) => {
      const r = await srv.review('/mutate', toReview(obj));
      if (!r.allowed) throw new Error(`mutate denied: ${r.status?.message}`);
      return applyPatch(obj as JsonObject, decodePatch(r)) as any;
    };

    await t.test("sigward's own record: accepted in its request, not when copied to another object", async (t) => {
      const web = await admit(podIn('default', 'web'));
      t.equal(
        getScopedVerifyStatus(readVerifyImagesScopedAnnotation(web), '/team', 'verify-signature', pinned),
        'pass',
        'recorded',
      );
      t.equal(
        (await srv.review('/validate', toReview(web))).allowed,
        true,
        'validate: the record sigward wrote in this request counts',
      );

      const elsewhere = kubectlPod('copy', pinned, 'other') as any;
      elsewhere.metadata.annotations = { ...web.metadata.annotations };
      const v = await srv.review('/validate', toReview(elsewhere));
      t.equal(v.allowed, false, 'the same record copied into a Pod of another namespace is not a verification there');
      t.match(unfold(v.status?.message), `unverified image ${pinned}`);
    });

    await t.test('UPDATE: a record carried unchanged from the stored object counts; one the update brings does not', async (t) => {
      const stored = asStored(await admit(podIn('default', 'svc')));
      const relabelled = structuredClone(stored);
      relabelled.metadata.labels = { ...relabelled.metadata.labels, tier: 'web' };
      const carried = await srv.review('/validate', toReview(relabelled, { operation: 'UPDATE', oldObject: stored }));
      t.equal(
        carried.allowed,
        true,
        'validate UPDATE: the stored record (sealed at its creation), unchanged, still counts',
      );

      const copied = asStored(kubectlPod('late', pinned), new Date(Date.now() + 3600_000));
      copied.metadata.annotations = { ...stored.metadata.annotations };
      const copiedNow = structuredClone(copied);
      copiedNow.metadata.labels = { ...copiedNow.metadata.labels, tier: 'web' };
      const c = await srv.review('/validate', toReview(copiedNow, { operation: 'UPDATE', oldObject: copied }));
      t.equal(
        c.allowed,
        false,
        "a record sealed for another object's creation, stored in one created an hour later, is not carried",
      );

      const swapped = forge(structuredClone(stored), '/hang', 'verify-signature', holeImage) as any;
      swapped.metadata.annotations[SCOPED] = JSON.stringify({
        version: 1,
        policies: {
          ...JSON.parse(stored.metadata.annotations[SCOPED]).policies,
          '/hang': { 'verify-signature': { [holeImage]: 'pass' } },
        },
      });
      swapped.spec.containers.push({ name: 'extra', image: holeImage });
      const v = await srv.review('/validate', toReview(swapped, { operation: 'UPDATE', oldObject: stored }));
      t.equal(v.allowed, false, 'an entry the update added to the record is not a verification');
      t.match(unfold(v.status?.message), `hang: verify-signature: unverified image ${holeImage}`);

      const forgedStored = forge(kubectlPod('old', holeImage), '/hang', 'verify-signature', holeImage) as any;
      const again = structuredClone(forgedStored);
      again.metadata.labels = { run: 'old', touched: 'yes' };
      const o = await srv.review('/validate', toReview(again, { operation: 'UPDATE', oldObject: forgedStored }));
      t.equal(
        o.allowed,
        false,
        'a forged record in the stored object (admitted while sigward was not asked) is not a verification either',
      );
    });

    await t.test('UPDATE, mutate: an unchanged image skips verification only when the stored object carries a record sigward wrote', async (t) => {
      const legacy = kubectlCreate('deployment', 'legacy', `${reg.host}/team/unsigned:v1`);
      const relabelled = structuredClone(legacy) as any;
      relabelled.metadata.labels = { ...relabelled.metadata.labels, tier: 'web' };
      const r = await srv.review('/mutate', toReview(relabelled, { operation: 'UPDATE', oldObject: legacy }));
      t.equal(
        r.allowed,
        false,
        'stored without a record (admitted before the policy): the unsigned image is verified again, and denied',
      );
      t.match(unfold(r.status?.message), /team\/unsigned:v1: .*signature not found/);

      const forgedOld = forge(legacy, '/team', 'autogen-verify-signature', `${reg.host}/team/unsigned:v1`);
      const relabelledForged = structuredClone(forgedOld) as any;
      relabelledForged.metadata.labels = { ...relabelledForged.metadata.labels, tier: 'web' };
      const f = await srv.review('/mutate', toReview(relabelledForged, { operation: 'UPDATE', oldObject: forgedOld }));
      t.equal(f.allowed, false, 'stored with a forged record: verified again, and denied');

      const good = asStored(await admit(kubectlCreate('deployment', 'good', `${reg.host}/team/app:v1`)));
      const touched = structuredClone(good);
      touched.metadata.labels = { ...touched.metadata.labels, tier: 'web' };
      await reg.stop();
      const lookups = async () => metricValue((await srv.get('/metrics')).body, 'sigward_cache_lookups_total');
      const before = await lookups();
      const kept = await srv.review('/mutate', toReview(touched, { operation: 'UPDATE', oldObject: good }));
      t.equal(
        kept.allowed,
        true,
        'stored with the record sigward wrote: not verified again (the registry is down meanwhile)',
      );
      t.same(kept.warnings ?? [], [], 'no failurePolicy answer');
      t.equal(await lookups(), before, 'nothing was looked up: not even the cache was asked');
      const out = applyPatch(touched as JsonObject, decodePatch(kept)) as any;
      t.equal(
        (await srv.review('/validate', toReview(out, { operation: 'UPDATE', oldObject: good }))).allowed,
        true,
        'and validate accepts the record',
      );
    });
  });
}
