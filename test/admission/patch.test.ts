import t from 'tap';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import {
  applyPatch,
  digestPatch,
  getImages,
  getRequestImages,
  getScopedVerifyStatus,
  hasAnnotations,
  parseAdmissionReview,
  readVerifyImagesAnnotation,
  readVerifyImagesScopedAnnotation,
  recordScopedResult,
  scopedPolicyKey,
  toAdmissionResponse,
  toVerifyImagesAnnotation,
  toVerifyImagesScopedAnnotation,
  VERIFY_IMAGES_ANNOTATION,
  VERIFY_IMAGES_SCOPED_ANNOTATION,
  verifyImagesAnnotationPatches,
} from '../../lib/admission/index.ts';
import type {
  JsonObject,
  JsonPatchOp,
  JsonValue,
  ScopedVerifyImages,
  VerifyImageStatus,
} from '../../lib/admission/index.ts';

const DIR = fileURLToPath(new URL('../../../shared/testvectors/admission-requests/', import.meta.url));
const DIGEST = 'sha256:b31bfb4d0213f254d361e0079deaaebefa4f82ba7aa76ef82e90b4935ad5b105';

t.test('applyPatch: RFC 6902 operations', async (t) => {
  const doc: JsonObject = { a: { b: 'c' }, list: ['x', 'y'], 'k/e~y': 1 };
  const frozen = JSON.stringify(doc);
  const ok: [string, JsonPatchOp[], JsonValue][] = [
    ['add member', [{ op: 'add', path: '/a/d', value: [1] }], { a: { b: 'c', d: [1] }, list: ['x', 'y'], 'k/e~y': 1 }],
    ['add replaces member', [{ op: 'add', path: '/a/b', value: null }], {
      a: { b: null },
      list: ['x', 'y'],
      'k/e~y': 1,
    }],
    ['insert into array', [{ op: 'add', path: '/list/1', value: 'q' }], {
      a: { b: 'c' },
      list: ['x', 'q', 'y'],
      'k/e~y': 1,
    }],
    ['append with -', [{ op: 'add', path: '/list/-', value: 'z' }], {
      a: { b: 'c' },
      list: ['x', 'y', 'z'],
      'k/e~y': 1,
    }],
    ['append at length', [{ op: 'add', path: '/list/2', value: 'z' }], {
      a: { b: 'c' },
      list: ['x', 'y', 'z'],
      'k/e~y': 1,
    }],
    ['remove member', [{ op: 'remove', path: '/a/b' }], { a: {}, list: ['x', 'y'], 'k/e~y': 1 }],
    ['remove element', [{ op: 'remove', path: '/list/0' }], { a: { b: 'c' }, list: ['y'], 'k/e~y': 1 }],
    ['replace escaped key', [{ op: 'replace', path: '/k~1e~0y', value: 2 }], {
      a: { b: 'c' },
      list: ['x', 'y'],
      'k/e~y': 2,
    }],
    ['move', [{ op: 'move', from: '/a/b', path: '/moved' }], { a: {}, list: ['x', 'y'], 'k/e~y': 1, moved: 'c' }],
    ['move in array', [{ op: 'move', from: '/list/0', path: '/list/1' }], {
      a: { b: 'c' },
      list: ['y', 'x'],
      'k/e~y': 1,
    }],
    ['copy', [{ op: 'copy', from: '/a', path: '/a2' }], {
      a: { b: 'c' },
      list: ['x', 'y'],
      'k/e~y': 1,
      a2: { b: 'c' },
    }],
    [
      'test then replace',
      [{ op: 'test', path: '/a', value: { b: 'c' } }, { op: 'replace', path: '/list', value: [] }],
      { a: { b: 'c' }, list: [], 'k/e~y': 1 },
    ],
    ['replace root', [{ op: 'replace', path: '', value: [1, 2] }], [1, 2]],
    ['add root', [{ op: 'add', path: '', value: 'x' }], 'x'],
  ];
  for (const [name, ops, expected] of ok) t.same(applyPatch(doc, ops), expected, name);
  t.equal(JSON.stringify(doc), frozen, 'input document untouched');

  const copied = applyPatch(doc, [{ op: 'copy', from: '/a', path: '/a2' }]) as JsonObject;
  (copied.a2 as JsonObject).b = 'changed';
  t.equal((copied.a as JsonObject).b, 'c', 'copy is deep');

  const bad: [string, JsonPatchOp[], RegExp][] = [
    ['missing parent', [{ op: 'add', path: '/nope/x', value: 1 }], /path \/nope\/x does not exist/],
    ['remove missing', [{ op: 'remove', path: '/a/zzz' }], /does not exist/],
    ['replace missing', [{ op: 'replace', path: '/zzz', value: 1 }], /does not exist/],
    ['index out of range', [{ op: 'add', path: '/list/5', value: 1 }], /index 5 out of range/],
    ['replace at length', [{ op: 'replace', path: '/list/2', value: 1 }], /index 2 out of range/],
    ['leading zero', [{ op: 'remove', path: '/list/01' }], /not an array index/],
    ['- on remove', [{ op: 'remove', path: '/list/-' }], /not an array index/],
    ['test fails', [{ op: 'test', path: '/a/b', value: 'd' }], /test failed at \/a\/b/],
    ['move into child', [{ op: 'move', from: '/a', path: '/a/b/c' }], /cannot move \/a into its own child/],
    ['bad pointer', [{ op: 'add', path: 'a', value: 1 }], /must start with "\/"/],
    ['bad escape', [{ op: 'add', path: '/a~2', value: 1 }], /bad escape/],
    ['unknown op', [{ op: 'merge', path: '/a' } as unknown as JsonPatchOp], /unknown op "merge"/],
    ['no value', [{ op: 'add', path: '/a' } as unknown as JsonPatchOp], /has no value/],
    ['scalar parent', [{ op: 'add', path: '/a/b/c', value: 1 }], /not an object or array/],
  ];
  for (const [name, ops, re] of bad) {
    t.throws(() => applyPatch(doc, ops), { name: 'SigwardError', code: 'ADMISSION_INVALID', message: re }, name);
  }
  const polluted = applyPatch({}, [{ op: 'add', path: '/__proto__', value: { polluted: true } }]) as JsonObject;
  t.ok(Object.hasOwn(polluted, '__proto__'), '__proto__ added as a plain key');
  t.equal(({} as Record<string, unknown>).polluted, undefined, 'no prototype pollution');
  t.equal(Object.getPrototypeOf(polluted), Object.prototype);
});

t.test('digestPatch', async (t) => {
  const cases: [string, string | undefined][] = [
    ['nginx', `docker.io/nginx:latest@${DIGEST}`],
    ['nginx:1.27', `docker.io/nginx:1.27@${DIGEST}`],
    ['library/nginx', `docker.io/library/nginx:latest@${DIGEST}`],
    ['ghcr.io/kyverno/test-verify-image:signed', `ghcr.io/kyverno/test-verify-image:signed@${DIGEST}`],
    ['localhost:5000/app', `localhost:5000/app:latest@${DIGEST}`],
    ['localhost/app:v1', `localhost/app:v1@${DIGEST}`],
    [`nginx@${DIGEST}`, undefined],
    [`nginx:1.27@${DIGEST}`, undefined],
  ];
  for (const [image, value] of cases) {
    const p = digestPatch(image, '/spec/containers/0/image', DIGEST);
    t.same(p, value === undefined ? undefined : { op: 'replace', path: '/spec/containers/0/image', value }, image);
  }
  t.same(digestPatch('nginx', '/spec/containers/0/image', DIGEST, { enableDefaultRegistryMutation: false }), {
    op: 'replace',
    path: '/spec/containers/0/image',
    value: `nginx:latest@${DIGEST}`,
  });
  t.equal(
    (digestPatch('team/app:2', '/x', DIGEST, { defaultRegistry: 'registry.corp:5000' }) as { value: string }).value,
    `registry.corp:5000/team/app:2@${DIGEST}`,
  );
  t.throws(() => digestPatch('nginx', '/x', 'sha256:abc'), {
    code: 'REFERENCE_INVALID',
    message: /invalid digest "sha256:abc"/,
  });
  t.throws(() => digestPatch('nginx', '/x', 'latest'), { code: 'REFERENCE_INVALID' });
  t.throws(() => digestPatch('NGINX', '/x', DIGEST), { code: 'REFERENCE_INVALID' });
  t.throws(() => digestPatch('nginx', 'x', DIGEST), { code: 'ADMISSION_INVALID' });
});

t.test('annotation values and readers', async (t) => {
  const images: Record<string, VerifyImageStatus> = {
    'ghcr.io/b/c@sha256:22': 'fail',
    'docker.io/a@sha256:11': 'pass',
    'quay.io/x<y>&z@sha256:33': 'skip',
  };
  t.equal(
    toVerifyImagesAnnotation(images),
    '{"docker.io/a@sha256:11":"pass","ghcr.io/b/c@sha256:22":"fail","quay.io/x\\u003cy\\u003e\\u0026z@sha256:33":"skip"}',
    'keys sorted, HTML characters escaped as Go does',
  );
  let scoped: ScopedVerifyImages | undefined;
  scoped = recordScopedResult(
    scoped,
    scopedPolicyKey(undefined, 'check-image'),
    'verify',
    'docker.io/nginx@sha256:aa',
    'pass',
  );
  scoped = recordScopedResult(scoped, scopedPolicyKey('team', 'sign'), 'rule-b', 'ghcr.io/x@sha256:bb', 'skip');
  const before = JSON.stringify(scoped);
  const scoped2 = recordScopedResult(scoped, '/check-image', 'autogen-verify', 'docker.io/nginx@sha256:aa', 'fail');
  t.equal(JSON.stringify(scoped), before, 'recordScopedResult does not modify its input');
  t.equal(
    toVerifyImagesScopedAnnotation(scoped2),
    '{"version":1,"policies":{"/check-image":{"autogen-verify":{"docker.io/nginx@sha256:aa":"fail"},' +
      '"verify":{"docker.io/nginx@sha256:aa":"pass"}},"team/sign":{"rule-b":{"ghcr.io/x@sha256:bb":"skip"}}}}',
  );
  t.equal(scopedPolicyKey('', 'p'), '/p', 'ClusterPolicy key');

  const obj = (ann: Record<string, string>) => ({ metadata: { annotations: ann } });
  t.same(readVerifyImagesAnnotation(obj({ [VERIFY_IMAGES_ANNOTATION]: toVerifyImagesAnnotation(images) })), images);
  t.same(
    readVerifyImagesAnnotation(
      obj({ [VERIFY_IMAGES_ANNOTATION]: '{"docker.io/a@sha256:1":true,"b":false,"c":"maybe","d":"skip"}' }),
    ),
    { 'docker.io/a@sha256:1': 'pass', b: 'fail', d: 'skip' },
    'legacy boolean values, unknown values dropped',
  );
  t.equal(readVerifyImagesAnnotation(obj({ [VERIFY_IMAGES_ANNOTATION]: '{oops' })), undefined, 'unreadable');
  t.equal(readVerifyImagesAnnotation(obj({ [VERIFY_IMAGES_ANNOTATION]: '[1]' })), undefined, 'not a map');
  t.equal(readVerifyImagesAnnotation(obj({})), undefined, 'absent');
  t.equal(readVerifyImagesAnnotation({ metadata: null }), undefined);
  t.equal(readVerifyImagesAnnotation('x'), undefined);

  const back = readVerifyImagesScopedAnnotation(
    obj({ [VERIFY_IMAGES_SCOPED_ANNOTATION]: toVerifyImagesScopedAnnotation(scoped2) }),
  );
  t.same(back, scoped2, 'scoped round trip');
  t.equal(getScopedVerifyStatus(back, '/check-image', 'verify', 'docker.io/nginx@sha256:aa'), 'pass');
  t.equal(getScopedVerifyStatus(back, '/check-image', 'autogen-verify', 'docker.io/nginx@sha256:aa'), 'fail');
  t.equal(
    getScopedVerifyStatus(back, 'check-image', 'verify', 'docker.io/nginx@sha256:aa'),
    undefined,
    'namespace part matters',
  );
  t.equal(getScopedVerifyStatus(back, '/check-image', 'verify', 'docker.io/other@sha256:aa'), undefined);
  t.equal(getScopedVerifyStatus(back, '/check-image', 'constructor', 'x'), undefined);
  t.equal(
    readVerifyImagesScopedAnnotation(obj({ [VERIFY_IMAGES_SCOPED_ANNOTATION]: '{"version":2,"policies":{}}' })),
    undefined,
    'unknown version',
  );
});

t.test('annotation patches', async (t) => {
  const data = { images: { 'docker.io/nginx@sha256:aa': 'pass' as const } };
  const pointer = '/metadata/annotations/kyverno.io~1verify-images';
  t.same(verifyImagesAnnotationPatches({ metadata: {} }, data), [
    { op: 'add', path: '/metadata/annotations', value: {} },
    { op: 'add', path: pointer, value: '{"docker.io/nginx@sha256:aa":"pass"}' },
  ]);
  t.same(verifyImagesAnnotationPatches({ metadata: { annotations: {} } }, data)[0], {
    op: 'add',
    path: '/metadata/annotations',
    value: {},
  }, 'empty map counts as none');
  t.same(verifyImagesAnnotationPatches({ metadata: { annotations: { a: 'b' } } }, data), [{
    op: 'add',
    path: pointer,
    value: '{"docker.io/nginx@sha256:aa":"pass"}',
  }]);
  t.same(verifyImagesAnnotationPatches({ metadata: {} }, {}), [], 'nothing to record: no patches');
  const scoped = recordScopedResult(undefined, '/p', 'r', 'docker.io/nginx@sha256:aa', 'pass');
  const both = verifyImagesAnnotationPatches({ metadata: { annotations: { a: 'b' } } }, { ...data, scoped });
  t.same(both.map((p) => p.path), [pointer, '/metadata/annotations/kyverno.io~1verify-images-scoped']);
  t.equal(hasAnnotations({ metadata: { annotations: { a: 'b' } } }), true);
  t.equal(hasAnnotations({ metadata: { annotations: null } }), false);
});

interface Case {
  name: string;
  object: JsonObject;
  kind: string;
  /** expected image values after the patch, in extraction order */
  after: string[];
}

const d = (s: string) => `${s}@${DIGEST}`;

function fixture(f: string): { object: JsonObject; kind: string } {
  const r = parseAdmissionReview(readFileSync(DIR + f));
  return { object: r.object as JsonObject, kind: r.kind.kind };
}

const KUBECTL = fileURLToPath(new URL('../../testdata/admission/kubectl/', import.meta.url));
const kubectl = (f: string): { object: JsonObject; kind: string } => {
  const object = JSON.parse(readFileSync(KUBECTL + f, 'utf8'));
  return { object, kind: object.kind };
};

const CASES: Case[] = [
  {
    name: 'Pod (init + container)',
    ...fixture('19_pod_initcontainer.json'),
    after: [
      d('docker.io/nginx:latest'),
      'securesystemsengineering/charlie-image@sha256:91ac9b26df583762234c1cdb2fc930364754ccc59bc752a2bfe298d2ea68f9ff',
    ],
  },
  {
    name: 'Pod (ephemeral)',
    ...fixture('20_pod_ephemeralcontainer.json'),
    after: [
      'securesystemsengineering/charlie-image@sha256:91ac9b26df583762234c1cdb2fc930364754ccc59bc752a2bfe298d2ea68f9ff',
      d('docker.io/nginx:latest'),
    ],
  },
  {
    name: 'Deployment',
    ...fixture('09_dply_multi_image.json'),
    after: [d('docker.io/busybox:1.32'), d('docker.io/redis:alpine'), d('docker.io/mysql:8')],
  },
  {
    name: 'Deployment (empty annotations)',
    ...fixture('01_deployment.json'),
    after: [d('docker.io/securesystemsengineering/alice-image:test')],
  },
  {
    name: 'ReplicaSet',
    ...fixture('03_replicaset.json'),
    after: [d('docker.io/securesystemsengineering/sample-san-sama:hai')],
  },
  { name: 'CronJob', ...fixture('04_cronjob.json'), after: [d('docker.io/busybox:latest')] },
  { name: 'ReplicationController', ...fixture('05_replication_controller.json'), after: [d('docker.io/nginx:latest')] },
  { name: 'DaemonSet', ...fixture('06_daemonset.json'), after: [d('quay.io/fluentd_elasticsearch/fluentd:v2.5.2')] },
  { name: 'StatefulSet', ...fixture('07_statefulset.json'), after: [d('registry.k8s.io/nginx-slim:0.8')] },
  { name: 'Job', ...fixture('08_job.json'), after: [d('docker.io/perl:5.34.0')] },
  {
    name: 'kubectl Deployment',
    ...kubectl('deployment.json'),
    after: [d('docker.io/nginx:1.27'), d('ghcr.io/acme/sidecar')],
  },
  { name: 'kubectl Job', ...kubectl('job.json'), after: [d('registry.example.com:5000/team/migrate:v3')] },
  { name: 'kubectl CronJob', ...kubectl('cronjob.json'), after: [d('localhost/backup:latest')] },
  { name: 'kubectl Pod', ...kubectl('pod.json'), after: [d('ghcr.io/acme/setup:1.0'), d('docker.io/busybox:latest')] },
];

t.test('mutate patches for every controller kind, applied and checked', async (t) => {
  for (const c of CASES) {
    const before = JSON.stringify(c.object);
    const imgs = getImages(c.object, { kind: c.kind });
    t.equal(imgs.length, c.after.length, `${c.name}: image count`);
    // what the engine would do: record pass for each image (by digest reference), pin tags
    const status: Record<string, VerifyImageStatus> = {};
    let scoped: ScopedVerifyImages | undefined;
    const digestOps: JsonPatchOp[] = [];
    for (const img of imgs) {
      const pinned = img.info.digest !== '' ? img.info.reference : `${img.info.registry}/${img.info.path}@${DIGEST}`;
      status[pinned] = 'pass';
      scoped = recordScopedResult(scoped, '/check-image', 'verify-signature', pinned, 'pass');
      const p = digestPatch(img.image, img.jsonPointer, DIGEST);
      t.equal(p === undefined, img.info.digest !== '', `${c.name}: patch only for tag references`);
      if (p !== undefined) digestOps.push(p);
    }
    const ops = [...verifyImagesAnnotationPatches(c.object, { images: status, scoped }), ...digestOps];
    t.equal(
      ops[0].path === '/metadata/annotations',
      !hasAnnotations(c.object),
      `${c.name}: annotation map added only when needed`,
    );

    const patched = applyPatch(c.object, ops);
    t.equal(JSON.stringify(c.object), before, `${c.name}: original untouched`);
    const after = getImages(patched, { kind: c.kind });
    t.same(after.map((i) => i.image), c.after, `${c.name}: images pinned`);
    t.ok(after.every((i) => i.info.digest !== ''), `${c.name}: every image has a digest now`);
    t.same(readVerifyImagesAnnotation(patched), status, `${c.name}: verify-images annotation readable`);
    for (const img of after) {
      t.equal(
        getScopedVerifyStatus(
          readVerifyImagesScopedAnnotation(patched),
          '/check-image',
          'verify-signature',
          img.info.reference,
        ),
        'pass',
      );
    }
    const oldAnn = ((c.object.metadata as JsonObject | undefined)?.annotations ?? {}) as JsonObject;
    const newAnn = (patched.metadata as JsonObject).annotations as JsonObject;
    for (const [k, v] of Object.entries(oldAnn)) t.equal(newAnn[k], v, `${c.name}: annotation ${k} kept`);

    // the same ops survive the trip through an AdmissionReview response
    const resp = toAdmissionResponse({ apiVersion: 'admission.k8s.io/v1', uid: 'x' }, { allowed: true, patch: ops });
    const decoded = JSON.parse(Buffer.from(resp.response.patch as string, 'base64').toString('utf8'));
    t.same(applyPatch(c.object, decoded), patched, `${c.name}: response patch applies identically`);
  }
});

t.test('UPDATE of an already pinned ReplicaSet needs no digest patch', async (t) => {
  const r = parseAdmissionReview(readFileSync(DIR + '10_update.json'));
  const imgs = getRequestImages(r);
  t.equal(imgs.length, 1);
  t.equal(digestPatch(imgs[0].image, imgs[0].jsonPointer, DIGEST), undefined);
});
