// `sigward serve` end to end: the binary over real TLS, images signed by the
// REAL cosign 3.1.1 in the real registry (legacy .sig and v3 bundle formats), AdmissionReviews built from kubectl objects and from the
// recorded admission requests in ../shared/testvectors/admission-requests/.

import t from 'tap';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { RegistryClient } from '../../lib/oci/registry.ts';
import {
  applyPatch,
  formatWebhookDenial,
  getImages,
  getScopedVerifyStatus,
  readVerifyImagesAnnotation,
  readVerifyImagesScopedAnnotation,
} from '../../lib/admission/index.ts';
import type { JsonObject } from '../../lib/admission/types.ts';
import { pushImage, withRegistry } from '../helpers/registry.ts';
import { makeCosignSigner } from '../helpers/cosign-images.ts';
import { withRealCosign } from '../helpers/peers.ts';
import { kubectlCreate, kubectlPod } from '../helpers/kubectl.ts';
import { SHARED } from '../helpers/fixtures.ts';
import {
  decodePatch,
  metricValue,
  policyYaml,
  type ServeHandle,
  startServe,
  tmpDir,
  toReview,
  unfold,
  writePolicy,
} from './helpers.ts';

const VECTORS = join(SHARED, 'admission-requests');

/** StatefulSet / DaemonSet from a kubectl Deployment's pod template (kubectl cannot create them). */
function controllerFrom(
  dep: Record<string, any>,
  kind: 'StatefulSet' | 'DaemonSet',
  name: string,
): Record<string, unknown> {
  const spec: Record<string, unknown> = { selector: dep.spec.selector, template: dep.spec.template };
  if (kind === 'StatefulSet') Object.assign(spec, { serviceName: name, replicas: 1 });
  return {
    apiVersion: 'apps/v1',
    kind,
    metadata: { name, namespace: dep.metadata.namespace, labels: dep.metadata.labels },
    spec,
  };
}

/** The image fields of an object after the response's patch. */
function patchedImages(obj: Record<string, unknown>, patch: any[]): { obj: JsonObject; images: string[] } {
  const out = applyPatch(obj as JsonObject, patch);
  return { obj: out, images: getImages(out, {}).map((i) => i.image) };
}

withRealCosign(() => {
  t.test('sigward serve: mutate and validate', async (t) => {
    const reg = await withRegistry(t);
    const store = new RegistryClient();
    t.teardown(() => store.close());
    const host = reg.host;
    const cosignDir = tmpDir('sigward-serve-cosign-');
    t.teardown(() => rmSync(cosignDir, { recursive: true, force: true }));
    const signer = await makeCosignSigner(cosignDir);
    const security = { publicPem: signer.publicPem };
    await signer.newKey('other/cosign');

    const signed = await pushImage(store, reg.ref('company/app'), { tag: 'v1' });
    const sidecar = await pushImage(store, reg.ref('company/sidecar'), { tag: 'v2' });
    await pushImage(store, reg.ref('company/unsigned'), { tag: 'v1' });
    const wrong = await pushImage(store, reg.ref('company/wrongkey'), { tag: 'v1' });
    await pushImage(store, reg.ref('audit/unsigned'), { tag: 'v1' });
    const late = await pushImage(store, reg.ref('company/late'), { tag: 'v1' });
    // the corpus, signed once for the file: both formats, so the webhook decides on each
    await signer.sign('legacy', [`${host}/company/app@${signed}`, `${host}/company/late@${late}`]);
    await signer.sign('bundle', [`${host}/company/sidecar@${sidecar}`]);
    await signer.sign('legacy', [`${host}/company/wrongkey@${wrong}`], { key: 'other/cosign.key' });

    const policies = tmpDir('sigward-serve-policies-');
    t.teardown(() => rmSync(policies, { recursive: true, force: true }));
    writePolicy(
      policies,
      'require-signed.yaml',
      policyYaml({ name: 'require-signed', images: [`${host}/company/*`], key: security }),
    );
    writePolicy(
      policies,
      'audit-team.yaml',
      policyYaml({
        name: 'audit-team',
        images: [`${host}/audit/*`],
        key: security,
        action: 'Audit',
        verifyDigest: false,
      }),
    );

    const srv: ServeHandle = await startServe({ policyDir: policies });
    t.teardown(() => srv.stop('SIGKILL'));

    await t.test('signed Pod: allowed, pinned to the verified digest, verification recorded', async (t) => {
      const pod = kubectlPod('web', `${host}/company/app:v1`);
      const r = await srv.review('/mutate', toReview(pod));
      t.equal(r.allowed, true);
      t.equal(r.patchType, 'JSONPatch');
      const patch = decodePatch(r);
      t.same(patch.map((p) => p.path), [
        '/metadata/annotations',
        '/metadata/annotations/kyverno.io~1verify-images',
        '/metadata/annotations/kyverno.io~1verify-images-scoped',
        '/metadata/annotations/sigward.dev~1verify-images-seal',
        '/spec/containers/0/image',
      ], "annotation patches first (Kyverno's record, then sigward's seal over it), then the digest");
      const { obj, images } = patchedImages(pod, patch);
      t.same(images, [`${host}/company/app:v1@${signed}`], 'image pinned to the digest that was verified');
      t.same(readVerifyImagesAnnotation(obj), { [`${host}/company/app@${signed}`]: 'pass' });
      t.equal(
        getScopedVerifyStatus(
          readVerifyImagesScopedAnnotation(obj),
          '/require-signed',
          'verify-signature',
          `${host}/company/app@${signed}`,
        ),
        'pass',
      );

      const v = await srv.review('/validate', toReview(obj as Record<string, unknown>));
      t.equal(v.allowed, true, 'validate: the mutated object passes required and verifyDigest');
      const unmutated = await srv.review('/validate', toReview(pod));
      t.equal(unmutated.allowed, false, 'validate: the unmutated object has no digest');
      t.match(
        unfold(unmutated.status?.message),
        `require-signed: verify-signature: missing digest for ${host}/company/app:v1`,
      );
      const pinnedOnly = kubectlPod('web', `${host}/company/app:v1@${signed}`);
      const unrecorded = await srv.review('/validate', toReview(pinnedOnly));
      t.equal(unrecorded.allowed, false, 'validate: a digest without a recorded verification is not enough');
      t.match(unfold(unrecorded.status?.message), `verify-signature: unverified image ${host}/company/app@${signed}`);
      const forged = structuredClone(obj) as any;
      forged.spec.containers[0].image = `${host}/company/unsigned:v1@${
        signed.replace(/.$/, (c) => (c === '0' ? '1' : '0'))
      }`;
      const forgedR = await srv.review('/validate', toReview(forged));
      t.equal(forgedR.allowed, false, 'validate: the record is per image digest');
    });

    await t.test('unsigned and wrong-key Pods: denied with Kyverno-shaped messages', async (t) => {
      const r = await srv.review('/mutate', toReview(kubectlPod('unsigned', `${host}/company/unsigned:v1`)));
      t.equal(r.allowed, false);
      t.equal(r.status?.status, 'Failure');
      t.equal(r.patch, undefined, 'no patch on a denial');
      t.match(
        r.status?.message,
        /^\n\nresource Pod\/default\/unsigned was blocked due to the following policies \n\nrequire-signed:\n  verify-signature: /,
      );
      const msg = unfold(r.status?.message);
      t.match(
        msg,
        `failed to verify image ${host}/company/unsigned:v1: .attestors[0].entries[0].keys: signature not found`,
      );
      t.match(
        formatWebhookDenial('mutate.sigward.dev', r.status!.message!),
        /^admission webhook "mutate.sigward.dev" denied the request: \n\nresource Pod/,
      );

      const w = await srv.review('/mutate', toReview(kubectlPod('wrong', `${host}/company/wrongkey:v1`)));
      t.equal(w.allowed, false);
      t.match(
        unfold(w.status?.message),
        `failed to verify image ${host}/company/wrongkey:v1: .attestors[0].entries[0].keys: invalid signature`,
      );

      const multi = kubectlPod('multi', `${host}/company/app:v1`) as any;
      multi.spec.initContainers = [{ name: 'init', image: `${host}/company/unsigned:v1` }];
      const m = await srv.review('/mutate', toReview(multi));
      t.equal(m.allowed, false, 'one bad image in a Pod blocks it');

      const outside = await srv.review('/mutate', toReview(kubectlPod('hub', 'nginx:1.27')));
      t.same([outside.allowed, outside.patch], [true, undefined], 'an image no rule selects: allowed, untouched');
    });

    await t.test('pod controllers (autogen): every kind pinned at its own path', async (t) => {
      const dep = kubectlCreate('deployment', 'web', `${host}/company/app:v1`);
      const objects: Array<[string, Record<string, unknown>, string]> = [
        ['Deployment', dep, '/spec/template/spec/containers/0/image'],
        ['StatefulSet', controllerFrom(dep, 'StatefulSet', 'db'), '/spec/template/spec/containers/0/image'],
        ['DaemonSet', controllerFrom(dep, 'DaemonSet', 'agent'), '/spec/template/spec/containers/0/image'],
        [
          'Job',
          kubectlCreate('job', 'migrate', `${host}/company/sidecar:v2`),
          '/spec/template/spec/containers/0/image',
        ],
        [
          'CronJob',
          kubectlCreate('cronjob', 'nightly', `${host}/company/app:v1`, 'default', ['--schedule=0 3 * * *']),
          '/spec/jobTemplate/spec/template/spec/containers/0/image',
        ],
      ];
      for (const [kind, obj, path] of objects) {
        const r = await srv.review('/mutate', toReview(obj));
        t.equal(r.allowed, true, `${kind}: allowed`);
        const patch = decodePatch(r);
        const digestOp = patch.find((p) => p.path === path);
        t.ok(digestOp, `${kind}: digest patch at ${path}`);
        const { obj: out, images } = patchedImages(obj, patch);
        t.ok(images.every((i) => i.includes('@sha256:')), `${kind}: every image pinned`);
        const rule = kind === 'CronJob' ? 'autogen-cronjob-verify-signature' : 'autogen-verify-signature';
        const scoped = readVerifyImagesScopedAnnotation(out);
        t.ok(scoped?.policies['/require-signed']?.[rule], `${kind}: recorded under ${rule}`);
        const v = await srv.review('/validate', toReview(out as Record<string, unknown>));
        t.equal(v.allowed, true, `${kind}: validate passes on the mutated object`);
      }
      const bad = await srv.review(
        '/mutate',
        toReview(kubectlCreate('deployment', 'unsigned', `${host}/company/unsigned:v1`)),
      );
      t.equal(bad.allowed, false);
      t.match(
        bad.status?.message,
        /^\n\nresource Deployment\/default\/unsigned was blocked due to the following policies \n\nrequire-signed:\n  autogen-verify-signature: 'failed to verify image/,
      );
      t.match(unfold(bad.status?.message), 'signature not found');
    });

    await t.test('recorded admission requests (testvectors), images moved to the test registry', async (t) => {
      const load = (f: string) => JSON.parse(readFileSync(join(VECTORS, f), 'utf8'));
      // every image of the vector becomes a signed image in the test registry
      const rewrite = async (doc: any) => {
        const obj = doc.request.object;
        for (const img of getImages(obj, { kind: doc.request.kind.kind })) {
          const name = img.info.path.replace(/[^a-z0-9/]/g, '').split('/').pop();
          const tag = img.info.tag || 'v1';
          const repo = `company/vec/${name}`;
          const d = await pushImage(store, reg.ref(repo), { tag });
          await signer.sign('bundle', [`${host}/${repo}@${d}`]);
          applyPointer(obj, img.jsonPointer, `${host}/${repo}:${tag}`);
        }
        return doc;
      };
      const pod = await rewrite(load('02_pod.json'));
      const rp = await srv.review('/mutate', pod);
      t.equal(rp.allowed, true, '02_pod: allowed');
      t.equal(rp.apiVersion, 'admission.k8s.io/v1');
      t.equal(rp.uid, pod.request.uid, 'response uid is the request uid');
      const podPatched = patchedImages(pod.request.object, decodePatch(rp));
      t.ok(podPatched.images.every((i) => i.includes('@sha256:')));
      t.ok((podPatched.obj.metadata as any).annotations['kubernetes.io/psp'], 'existing annotations kept');

      const dep = await rewrite(load('01_deployment.json'));
      const rd = await srv.review('/mutate', dep);
      t.equal(rd.allowed, true, '01_deployment (v1beta1): allowed');
      t.equal(rd.apiVersion, 'admission.k8s.io/v1beta1', 'answered in the request apiVersion');
      t.ok(decodePatch(rd).some((p) => p.path === '/spec/template/spec/containers/0/image'));

      for (const f of ['19_pod_initcontainer.json', '20_pod_ephemeralcontainer.json']) {
        const doc = await rewrite(load(f));
        const r = await srv.review('/mutate', doc);
        t.equal(r.allowed, true, `${f}: allowed`);
        const out = patchedImages(doc.request.object, decodePatch(r));
        t.ok(out.images.every((i) => i.includes('@sha256:')), `${f}: init/ephemeral containers pinned too`);
      }
      const unsignedVector = load('17_deny_me_pod.json');
      for (const img of getImages(unsignedVector.request.object, { kind: 'Pod' })) {
        applyPointer(unsignedVector.request.object, img.jsonPointer, `${host}/company/unsigned:v1`);
      }
      const ru = await srv.review('/mutate', unsignedVector);
      t.equal(ru.allowed, false, '17_deny_me_pod with an unsigned image: denied');

      const role = await srv.review('/mutate', load('11_role.json'));
      t.same([role.allowed, role.patch], [true, undefined], '11_role: no images, allowed untouched');
      const upd = await srv.review('/mutate', load('10_update.json'));
      t.equal(upd.allowed, true, '10_update: images outside the policy, allowed');
    });

    await t.test('Audit: allowed with warnings and an audit log line', async (t) => {
      const r = await srv.review('/mutate', toReview(kubectlPod('audited', `${host}/audit/unsigned:v1`)));
      t.equal(r.allowed, true);
      t.equal(r.patch !== undefined, true, 'the failure is recorded');
      t.match(
        r.warnings?.[0] ?? '',
        /audit-team\.verify-signature: failed to verify image .*audit\/unsigned:v1.*signature not found/,
      );
      const out = patchedImages(kubectlPod('audited', `${host}/audit/unsigned:v1`), decodePatch(r));
      t.same(out.images, [`${host}/audit/unsigned:v1`], 'Audit never pins (mutateDigest false)');
      const line = await srv.waitForLog((l) => l.audit === true && l.policy === 'audit-team');
      t.equal(line.uid !== undefined, true, 'audit line carries the request uid');
      const v = await srv.review('/validate', toReview(out.obj as Record<string, unknown>));
      t.equal(v.allowed, true, 'validate under Audit: allowed');
      t.match(v.warnings?.[0] ?? '', /unverified image/);
    });

    await t.test('UPDATE: an unchanged image sigward verified is not verified again, a changed one is, and the record may not be rewritten', async (t) => {
      // admitted by sigward: the stored object carries its sealed record
      const admittedApp = patchedImages(
        kubectlCreate('deployment', 'app', `${host}/company/app:v1`),
        decodePatch(
          await srv.review('/mutate', toReview(kubectlCreate('deployment', 'app', `${host}/company/app:v1`))),
        ),
      ).obj as any;
      const storedApp = {
        ...admittedApp,
        metadata: {
          ...admittedApp.metadata,
          uid: '6c0a4d7e-0000-4000-8000-000000000001',
          creationTimestamp: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
        },
      };
      const relabelledApp = structuredClone(storedApp);
      relabelledApp.metadata.labels = { ...relabelledApp.metadata.labels, tier: 'web' };
      const kept = await srv.review('/mutate', toReview(relabelledApp, { operation: 'UPDATE', oldObject: storedApp }));
      t.equal(
        kept.allowed,
        true,
        'image field unchanged and recorded as verified by sigward: allowed without verification (as Kyverno)',
      );
      const { obj } = patchedImages(relabelledApp, decodePatch(kept));
      t.equal(
        getScopedVerifyStatus(
          readVerifyImagesScopedAnnotation(obj),
          '/require-signed',
          'autogen-verify-signature',
          `${host}/company/app@${signed}`,
        ),
        'pass',
        'still recorded as verified',
      );

      // a Deployment admitted before the policy existed: its image is unsigned and nothing records a verification
      const stored = kubectlCreate('deployment', 'legacy', `${host}/company/unsigned:v1`);
      const relabelled = structuredClone(stored) as any;
      relabelled.metadata.labels = { ...relabelled.metadata.labels, tier: 'web' };
      const legacy = await srv.review('/mutate', toReview(relabelled, { operation: 'UPDATE', oldObject: stored }));
      t.equal(
        legacy.allowed,
        false,
        'image field unchanged but never verified: verified now, and denied (Kyverno 1.19 asks the stored record too)',
      );

      const created = await srv.review('/mutate', toReview(stored));
      t.equal(created.allowed, false, 'the same object as a CREATE is verified and denied');

      const swapped = structuredClone(stored) as any;
      swapped.spec.template.spec.containers[0].image = `${host}/company/wrongkey:v1`;
      const changed = await srv.review('/mutate', toReview(swapped, { operation: 'UPDATE', oldObject: stored }));
      t.equal(changed.allowed, false, 'changed image: verified and denied');
      t.match(unfold(changed.status?.message), /company\/wrongkey:v1/);

      // an admitted Deployment whose record the update tries to rewrite
      const admittedReview = await srv.review(
        '/mutate',
        toReview(kubectlCreate('deployment', 'good', `${host}/company/app:v1`)),
      );
      const admitted = patchedImages(
        kubectlCreate('deployment', 'good', `${host}/company/app:v1`),
        decodePatch(admittedReview),
      ).obj as any;
      const key = Object.keys(readVerifyImagesAnnotation(admitted) ?? {})[0]!;
      const forged = structuredClone(admitted);
      forged.metadata.annotations['kyverno.io/verify-images'] = JSON.stringify({ [key]: 'fail' });
      const tampered = await srv.review('/mutate', toReview(forged, { operation: 'UPDATE', oldObject: admitted }));
      t.equal(tampered.allowed, false, 'rewritten record: denied');
      t.match(unfold(tampered.status?.message), 'kyverno.io/verify-images annotation cannot be changed');
      const same = await srv.review(
        '/mutate',
        toReview(structuredClone(admitted), { operation: 'UPDATE', oldObject: admitted }),
      );
      t.equal(same.allowed, true, 'record left alone: allowed');
    });

    await t.test('cache: a repeated verification is answered from the cache; dry runs leave nothing behind', async (t) => {
      const before = (await srv.get('/metrics')).body;
      const performed0 = metricValue(before, 'sigward_verifications_performed_total');
      const r = await srv.review('/mutate', toReview(kubectlPod('again', `${host}/company/app:v1`)));
      t.equal(r.allowed, true);
      const after = (await srv.get('/metrics')).body;
      t.equal(metricValue(after, 'sigward_verifications_performed_total'), performed0, 'no new verification');
      t.ok(
        metricValue(after, 'sigward_cache_lookups_total', { kind: 'sig', outcome: 'hit' }) >
          metricValue(before, 'sigward_cache_lookups_total', { kind: 'sig', outcome: 'hit' }),
        'cache hit counted',
      );

      const entries0 = metricValue(after, 'sigward_cache_entries');
      const dry = await srv.review('/mutate', toReview(kubectlPod('dry', `${host}/company/late:v1`), { dryRun: true }));
      t.equal(dry.allowed, true, 'dry run: same answer');
      t.ok(decodePatch(dry).some((p) => p.value === `${host}/company/late:v1@${late}`), 'dry run: same patch');
      const m1 = (await srv.get('/metrics')).body;
      t.equal(metricValue(m1, 'sigward_cache_entries'), entries0, 'dry run: nothing cached');
      await srv.review('/mutate', toReview(kubectlPod('wet', `${host}/company/late:v1`)));
      const m2 = (await srv.get('/metrics')).body;
      t.ok(metricValue(m2, 'sigward_cache_entries') > entries0, 'real request: cached');
    });

    await t.test('malformed requests: 400, and the server keeps serving', async (t) => {
      const bad = [
        '{not json',
        readFileSync(join(VECTORS, '21_broken_admission_request.json'), 'utf8'),
        readFileSync(join(VECTORS, '25_null_request.json'), 'utf8'),
        JSON.stringify({ apiVersion: 'admission.k8s.io/v2', kind: 'AdmissionReview', request: {} }),
        '',
        '['.repeat(5000),
      ];
      for (const body of bad) {
        const r = await srv.post('/mutate', body);
        t.equal(r.status, 400, `400 for ${JSON.stringify(body.slice(0, 30))}`);
        t.match(JSON.parse(r.body).error, /invalid AdmissionReview/);
      }
      t.equal((await srv.post('/validate', '{}')).status, 400);
      t.equal((await srv.get('/mutate')).status, 405, 'GET /mutate: 405');
      t.equal((await srv.post('/nowhere', '{}')).status, 404);
      const huge = await srv.post('/mutate', Buffer.alloc(9 * 1024 * 1024, 0x20));
      t.equal(huge.status, 413, 'oversized body: 413');
      t.equal((await srv.get('/healthz')).status, 200, 'still alive');
      const ok = await srv.review('/mutate', toReview(kubectlPod('fine', `${host}/company/app:v1`)));
      t.equal(ok.allowed, true, 'still answering reviews');
    });

    await t.test('/healthz, /readyz, /metrics', async (t) => {
      t.equal((await srv.get('/healthz')).body, 'ok\n');
      t.equal((await srv.get('/readyz')).status, 200);
      const m = await srv.get('/metrics');
      t.match(String(m.headers['content-type']), /text\/plain/);
      t.ok(
        metricValue(m.body, 'sigward_admission_request_duration_seconds_count', {
          operation: 'mutate',
          result: 'allowed',
        }) > 0,
      );
      t.ok(
        metricValue(m.body, 'sigward_admission_request_duration_seconds_count', {
          operation: 'mutate',
          result: 'denied',
        }) > 0,
      );
      t.ok(
        metricValue(m.body, 'sigward_admission_request_duration_seconds_count', {
          operation: 'validate',
          result: 'denied',
        }) > 0,
      );
      t.ok(
        metricValue(m.body, 'sigward_admission_request_duration_seconds_count', {
          operation: 'mutate',
          result: 'error',
        }) > 0,
      );
      t.ok(metricValue(m.body, 'sigward_image_verification_results_total', { result: 'fail' }) > 0);
      t.ok(metricValue(m.body, 'sigward_registry_request_duration_seconds_count') > 0, 'registry latency observed');
      t.equal(metricValue(m.body, 'sigward_policies_loaded'), 2);
      t.ok(
        srv.logs().some((l) => typeof l.uid === 'string' && l.msg === 'admission denied'),
        'JSON log lines with the request uid',
      );
    });

    await t.test('policy hot reload: a new policy applies, a broken edit keeps the previous set', async (t) => {
      const pod = () => toReview(kubectlPod('late', `${host}/audit/unsigned:v1`));
      t.equal((await srv.review('/mutate', pod())).allowed, true, 'before: Audit only');
      writePolicy(
        policies,
        'audit-team.yaml',
        policyYaml({ name: 'audit-team', images: [`${host}/audit/*`], key: security, action: 'Enforce' }),
      );
      await srv.waitForLog((l) => l.msg === 'policies reloaded' && l.generation === 2);
      const r = await srv.review('/mutate', pod());
      t.equal(r.allowed, false, 'after: the edited policy enforces');
      t.match(unfold(r.status?.message), 'audit-team:');

      writePolicy(
        policies,
        'broken.yaml',
        'apiVersion: kyverno.io/v1\nkind: ClusterPolicy\nmetadata: {name: broken}\nspec:\n  rules: [ {name: x, verifyImages: 7 ',
      );
      await srv.waitForLog((l) => l.msg === 'policy reload failed: keeping the previous policies');
      t.equal((await srv.review('/mutate', pod())).allowed, false, 'broken edit: previous policies still enforced');
      t.equal((await srv.get('/readyz')).status, 200, 'still ready');
      rmSync(join(policies, 'broken.yaml'));
      await srv.waitForLog((l) => l.msg === 'policies reloaded' && l.generation === 3);
      const m = await srv.get('/metrics');
      t.equal(metricValue(m.body, 'sigward_policy_reloads_total', { result: 'error' }), 1);
    });

    await t.test('SIGTERM: exits 0', async (t) => {
      t.equal(await srv.stop('SIGTERM'), 0);
      t.ok(srv.logs().some((l) => l.msg === 'stopped'));
    });
  });

  function applyPointer(obj: any, pointer: string, value: string): void {
    const parts = pointer.split('/').slice(1).map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
    let o = obj;
    for (const p of parts.slice(0, -1)) o = o[p];
    o[parts[parts.length - 1]!] = value;
  }
});
