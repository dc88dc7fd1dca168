import t from 'tap';
import fc from 'fast-check';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { SigwardError } from '../../lib/errors.ts';
import {
  getRequestImages,
  getResourceIdentity,
  parseAdmissionReview,
  toAdmissionResponse,
} from '../../lib/admission/index.ts';
import type { AdmissionRequest, JsonPatchOp } from '../../lib/admission/index.ts';

const DIR = fileURLToPath(new URL('../../../shared/testvectors/admission-requests/', import.meta.url));
const read = (f: string): Buffer => readFileSync(DIR + f);

// file -> [apiVersion, operation, kind, namespace, name] or an error pattern
const EXPECTED: Record<string, [string, string, string, string, string] | RegExp> = {
  '01_deployment.json': ['admission.k8s.io/v1beta1', 'CREATE', 'Deployment', 'test-connaisseur', ''],
  '02_pod.json': ['admission.k8s.io/v1', 'CREATE', 'Pod', 'test-connaisseur', ''],
  '03_replicaset.json': ['admission.k8s.io/v1beta1', 'CREATE', 'ReplicaSet', 'test-connaisseur', ''],
  '04_cronjob.json': ['admission.k8s.io/v1beta1', 'CREATE', 'CronJob', 'connaisseur', 'yooob'],
  '05_replication_controller.json': ['admission.k8s.io/v1', 'CREATE', 'ReplicationController', 'connaisseur', 'nginx'],
  '06_daemonset.json': ['admission.k8s.io/v1', 'CREATE', 'DaemonSet', 'kube-system', 'fluentd-elasticsearch'],
  '07_statefulset.json': ['admission.k8s.io/v1', 'CREATE', 'StatefulSet', 'connaisseur', 'web'],
  '08_job.json': ['admission.k8s.io/v1', 'CREATE', 'Job', 'connaisseur', 'pi'],
  '09_dply_multi_image.json': ['admission.k8s.io/v1beta1', 'CREATE', 'Deployment', 'connaisseur', 'test'],
  '10_update.json': ['admission.k8s.io/v1', 'UPDATE', 'ReplicaSet', 'default', 'test-58d59c69bf'],
  '11_role.json': ['admission.k8s.io/v1', 'CREATE', 'Role', 'connaisseur', 'pod-reader'],
  '12_err_pod.json': ['admission.k8s.io/v1', 'CREATE', 'Pod', 'test-connaisseur', ''],
  '13_unknown_parent.json': ['admission.k8s.io/v1beta1', 'CREATE', 'Pod', 'test-connaisseur', ''],
  '14_deny_me_job.json': ['admission.k8s.io/v1', 'CREATE', 'Job', 'connaisseur', 'pi'],
  '15_allow_me_job.json': ['admission.k8s.io/v1', 'CREATE', 'Job', 'connaisseur', 'pi'],
  '16_mismatch_uid.json': ['admission.k8s.io/v1', 'CREATE', 'Pod', 'test-connaisseur', ''],
  '17_deny_me_pod.json': ['admission.k8s.io/v1', 'CREATE', 'Pod', 'test-connaisseur', ''],
  '18_allow_me_pod.json': ['admission.k8s.io/v1', 'CREATE', 'Pod', 'test-connaisseur', ''],
  '19_pod_initcontainer.json': ['admission.k8s.io/v1', 'CREATE', 'Pod', 'test-connaisseur', ''],
  '20_pod_ephemeralcontainer.json': ['admission.k8s.io/v1', 'CREATE', 'Pod', 'test-connaisseur', ''],
  '21_broken_admission_request.json':
    /^invalid AdmissionReview: request\.uid must be a non-empty string \(got missing\)$/,
  '22_allow_me_with_index_docker_io.json': ['admission.k8s.io/v1', 'CREATE', 'Pod', 'test-connaisseur', ''],
  '23_alice_digest_dpl.json': ['admission.k8s.io/v1beta1', 'CREATE', 'Deployment', 'test-connaisseur', ''],
  '24_alice_tag_digest_dpl.json': ['admission.k8s.io/v1beta1', 'CREATE', 'Deployment', 'test-connaisseur', ''],
  '25_null_request.json': /^invalid AdmissionReview: expected a JSON object \(got null\)$/,
  '26_broken_update_admission_request.json':
    /^invalid AdmissionReview: request\.uid must be a non-empty string \(got missing\)$/,
  '27_deleted_deployment.json': ['admission.k8s.io/v1beta1', 'CREATE', 'Deployment', 'test-connaisseur', ''],
  '28_deleted_deployment_updated.json': ['admission.k8s.io/v1beta1', 'UPDATE', 'Deployment', 'test-connaisseur', ''],
  '29_deleted_deployment_update_for_delete.json': [
    'admission.k8s.io/v1beta1',
    'UPDATE',
    'Deployment',
    'test-connaisseur',
    '',
  ],
};

t.test('all 29 Connaisseur admission requests', async (t) => {
  const files = readdirSync(DIR).filter((f) => f.endsWith('.json')).sort();
  t.equal(files.length, 29);
  t.same(files, Object.keys(EXPECTED).sort(), 'every file has an expectation');
  for (const f of files) {
    const exp = EXPECTED[f];
    if (exp instanceof RegExp) {
      t.throws(
        () => parseAdmissionReview(read(f)),
        { name: 'SigwardError', code: 'ADMISSION_INVALID', message: exp },
        f,
      );
      continue;
    }
    const r = parseAdmissionReview(read(f));
    t.same([r.apiVersion, r.operation, r.kind.kind, r.namespace, r.name], exp, f);
    t.type(r.uid, 'string', `${f} uid`);
    t.ok(r.object, `${f} has an object`);
    if (r.operation === 'UPDATE') t.ok(r.oldObject, `${f} UPDATE keeps oldObject`);
    else t.equal(r.oldObject, undefined, `${f} CREATE ignores oldObject`);
  }
});

t.test('request fields', async (t) => {
  const r = parseAdmissionReview(read('04_cronjob.json'));
  t.equal(r.uid, '1d5c9e9a-a985-41ef-b87f-4bc6057e94a2');
  t.same(r.kind, { group: 'batch', version: 'v1beta1', kind: 'CronJob' });
  t.same(r.resource, { group: 'batch', version: 'v1beta1', resource: 'cronjobs' });
  t.same(r.userInfo, { username: 'minikube-user', groups: ['system:masters', 'system:authenticated'] });
  t.equal(r.dryRun, false);
  t.equal(r.oldObject, undefined, '"None" oldObject of a CREATE is ignored');
  const p = parseAdmissionReview(read('02_pod.json').toString('utf8'));
  t.equal(p.userInfo.uid, '13076e42-1513-11ea-b3fc-02897404852e');
  t.equal(p.name, '', 'generateName pod has no name yet');
  const u = parseAdmissionReview(read('10_update.json'));
  t.equal((u.oldObject?.metadata as { name: string }).name, 'test-58d59c69bf');
});

const BASE = {
  apiVersion: 'admission.k8s.io/v1',
  kind: 'AdmissionReview',
  request: {
    uid: 'u-1',
    kind: { group: '', version: 'v1', kind: 'Pod' },
    resource: { group: '', version: 'v1', resource: 'pods' },
    namespace: 'default',
    operation: 'CREATE',
    userInfo: { username: 'alice', groups: ['dev'] },
    object: {
      kind: 'Pod',
      apiVersion: 'v1',
      metadata: { name: 'p' },
      spec: { containers: [{ name: 'c', image: 'nginx' }] },
    },
    dryRun: true,
  },
};

function variant(mutate: (r: Record<string, any>) => void): string {
  const v = structuredClone(BASE) as Record<string, any>;
  mutate(v);
  return JSON.stringify(v);
}

t.test('shape validation messages', async (t) => {
  t.equal(parseAdmissionReview(JSON.stringify(BASE)).dryRun, true);
  const cases: [string, (r: Record<string, any>) => void, RegExp][] = [
    ['apiVersion', (v) => (v.apiVersion = 'admission.k8s.io/v2'), /unsupported apiVersion "admission.k8s.io\/v2"/],
    ['kind', (v) => (v.kind = 'TokenReview'), /kind must be "AdmissionReview" \(got "TokenReview"\)/],
    ['no request', (v) => delete v.request, /request must be an object \(got missing\)/],
    ['request array', (v) => (v.request = []), /request must be an object \(got array\)/],
    ['uid number', (v) => (v.request.uid = 7), /request\.uid must be a non-empty string \(got number\)/],
    ['uid empty', (v) => (v.request.uid = ''), /request\.uid must be a non-empty string \(got empty string\)/],
    ['kind missing', (v) => delete v.request.kind, /request\.kind must be an object/],
    ['kind.kind', (v) => (v.request.kind.kind = 3), /request\.kind\.kind must be a non-empty string/],
    ['group type', (v) => (v.request.kind.group = false), /request\.kind\.group must be a string \(got boolean\)/],
    [
      'operation',
      (v) => (v.request.operation = 'PATCH'),
      /request\.operation must be one of CREATE, UPDATE, DELETE, CONNECT \(got "PATCH"\)/,
    ],
    ['namespace', (v) => (v.request.namespace = {}), /request\.namespace must be a string \(got object\)/],
    ['name', (v) => (v.request.name = ['x']), /request\.name must be a string \(got array\)/],
    ['dryRun', (v) => (v.request.dryRun = 'yes'), /request\.dryRun must be a boolean \(got string\)/],
    ['userInfo', (v) => (v.request.userInfo = 'root'), /request\.userInfo must be an object \(got string\)/],
    ['groups', (v) => (v.request.userInfo.groups = ['a', 1]), /request\.userInfo\.groups must be a list of strings/],
    [
      'extra',
      (v) => (v.request.userInfo.extra = { k: 'v' }),
      /request\.userInfo\.extra\["k"\] must be a list of strings/,
    ],
    ['object missing', (v) => delete v.request.object, /request\.object must be an object for CREATE \(got missing\)/],
    [
      'object string',
      (v) => (v.request.object = 'None'),
      /request\.object must be an object for CREATE \(got string\)/,
    ],
    [
      'object kind',
      (v) => (v.request.object.kind = 'Deployment'),
      /request\.object\.kind "Deployment" does not match request\.kind\.kind "Pod"/,
    ],
    ['metadata', (v) => (v.request.object.metadata = 1), /request\.object\.metadata must be an object \(got number\)/],
    [
      'annotations',
      (v) => (v.request.object.metadata.annotations = { a: 1 }),
      /request\.object\.metadata\.annotations\["a"\] must be a string \(got number\)/,
    ],
    [
      'update without old',
      (v) => (v.request.operation = 'UPDATE'),
      /request\.oldObject must be an object for UPDATE \(got missing\)/,
    ],
    ['resource', (v) => (v.request.resource = 'pods'), /request\.resource must be an object/],
    ['options', (v) => (v.request.options = 5), /request\.options must be an object/],
  ];
  for (const [name, mutate, re] of cases) {
    t.throws(() => parseAdmissionReview(variant(mutate)), {
      name: 'SigwardError',
      code: 'ADMISSION_INVALID',
      message: re,
    }, name);
  }
  const del = parseAdmissionReview(
    variant((v) => {
      v.request.operation = 'DELETE';
      v.request.oldObject = v.request.object;
      v.request.object = null;
    }),
  );
  t.equal(del.object, undefined);
  t.equal((del.oldObject?.metadata as { name: string }).name, 'p');
  const conn = parseAdmissionReview(
    variant((v) => {
      v.request.operation = 'CONNECT';
      v.request.object = { kind: 'PodExecOptions', command: ['sh'] };
    }),
  );
  t.equal(conn.object?.kind, 'PodExecOptions', 'CONNECT object is the options object, kind not compared');
});

t.test('raw input problems', async (t) => {
  const err = (input: unknown, re: RegExp, name: string): void => {
    t.throws(() => parseAdmissionReview(input as string), {
      name: 'SigwardError',
      code: 'ADMISSION_INVALID',
      message: re,
    }, name);
  };
  err(new Uint8Array([0x7b, 0xff, 0x7d]), /not valid UTF-8/, 'bad utf-8');
  err('{"apiVersion":', /not valid JSON/, 'truncated');
  err('', /not valid JSON/, 'empty');
  err(42, /expected the request body as bytes or a string \(got number\)/, 'number');
  err(undefined, /\(got missing\)/, 'undefined');
  const deep = `{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"x":${'['.repeat(200000)}${
    ']'.repeat(200000)
  }}}`;
  err(deep, /JSON nesting deeper than 1000 levels/, 'deep nesting');
  const brackets = JSON.stringify({ ...BASE, note: '['.repeat(5000) });
  t.equal(parseAdmissionReview(brackets).uid, 'u-1', 'brackets inside strings do not count');
  const e = (() => {
    try {
      parseAdmissionReview('null');
    } catch (x) {
      return x;
    }
  })();
  t.ok(e instanceof SigwardError && e.outcome === 'usage', 'outcome usage');
  const proto = JSON.stringify(BASE).replace('"object":{', '"object":{"__proto__":{"polluted":true},');
  const r = parseAdmissionReview(proto);
  t.equal(({} as Record<string, unknown>).polluted, undefined, 'no prototype pollution');
  t.equal(getRequestImages(r).length, 1);
});

function decodePatch(b64: string): JsonPatchOp[] {
  return JSON.parse(Buffer.from(b64, 'base64').toString('utf8'));
}

t.test('toAdmissionResponse', async (t) => {
  const v1 = parseAdmissionReview(read('19_pod_initcontainer.json'));
  const patch: JsonPatchOp[] = [
    {
      op: 'add',
      path: '/metadata/annotations/kyverno.io~1verify-images',
      value: '{"docker.io/nginx@sha256:ab":"pass"}',
    },
    { op: 'replace', path: '/spec/initContainers/0/image', value: 'docker.io/nginx:latest@sha256:ab' },
  ];
  const ok = toAdmissionResponse(v1, { allowed: true, patch, warnings: ['w1'], auditAnnotations: { a: 'b' } });
  t.equal(ok.apiVersion, 'admission.k8s.io/v1');
  t.equal(ok.kind, 'AdmissionReview');
  t.equal(ok.response.uid, v1.uid);
  t.equal(ok.response.allowed, true);
  t.equal(ok.response.patchType, 'JSONPatch');
  t.same(decodePatch(ok.response.patch as string), patch);
  t.same(ok.response.warnings, ['w1']);
  t.same(ok.response.auditAnnotations, { a: 'b' });
  t.equal(ok.response.status, undefined);

  const beta = parseAdmissionReview(read('01_deployment.json'));
  const denied = toAdmissionResponse(beta, { allowed: false, message: 'nope', patch, code: 403 });
  t.same(denied, {
    apiVersion: 'admission.k8s.io/v1beta1',
    kind: 'AdmissionReview',
    response: { uid: beta.uid, allowed: false, status: { status: 'Failure', message: 'nope', code: 403 } },
  });
  const plain = toAdmissionResponse(beta, { allowed: true, patch: [] });
  t.same(plain.response, { uid: beta.uid, allowed: true }, 'empty patch is omitted');
  const unicode = toAdmissionResponse(beta, { allowed: true, patch: [{ op: 'add', path: '/x', value: 'é✓😀' }] });
  t.same(decodePatch(unicode.response.patch as string), [{ op: 'add', path: '/x', value: 'é✓😀' }]);
});

t.test('getResourceIdentity', async (t) => {
  t.same(getResourceIdentity(parseAdmissionReview(read('06_daemonset.json'))), {
    kind: 'DaemonSet',
    namespace: 'kube-system',
    name: 'fluentd-elasticsearch',
  });
  t.same(getResourceIdentity(parseAdmissionReview(read('02_pod.json'))), {
    kind: 'Pod',
    namespace: 'test-connaisseur',
    name: '',
  });
  t.same(getResourceIdentity(parseAdmissionReview(read('01_deployment.json'))), {
    kind: 'Deployment',
    namespace: 'test-connaisseur',
    name: 'charlie-deployment',
  });
});

t.test('property: parseAdmissionReview only ever throws SigwardError', async (t) => {
  const check = (input: string | Uint8Array): boolean => {
    let r: AdmissionRequest;
    try {
      r = parseAdmissionReview(input);
    } catch (e) {
      return e instanceof SigwardError && e.code === 'ADMISSION_INVALID';
    }
    if (typeof r.uid !== 'string' || r.uid === '') return false;
    try {
      getRequestImages(r);
    } catch (e) {
      return e instanceof SigwardError;
    }
    return true;
  };
  // arbitrary JSON documents
  fc.assert(fc.property(fc.jsonValue(), (v) => check(JSON.stringify(v) ?? 'null')), { numRuns: 300 });
  // arbitrary bytes
  fc.assert(fc.property(fc.uint8Array({ maxLength: 64 }), (b) => check(b)), { numRuns: 200 });
  // near-valid reviews: every field replaced by random JSON
  const field = fc.constantFrom(
    'apiVersion',
    'kind',
    'request',
    'request.uid',
    'request.kind',
    'request.kind.kind',
    'request.operation',
    'request.object',
    'request.oldObject',
    'request.userInfo',
    'request.userInfo.groups',
    'request.dryRun',
    'request.object.spec',
    'request.object.spec.containers',
    'request.object.metadata',
    'request.object.metadata.annotations',
    'request.namespace',
  );
  fc.assert(
    fc.property(
      fc.array(fc.tuple(field, fc.jsonValue({ maxDepth: 3 })), { maxLength: 4 }),
      fc.boolean(),
      (edits, update) => {
        const v = structuredClone(BASE) as Record<string, any>;
        if (update) {
          v.request.operation = 'UPDATE';
          v.request.oldObject = structuredClone(v.request.object);
        }
        for (const [path, val] of edits) {
          const parts = path.split('.');
          let node: any = v;
          for (const p of parts.slice(0, -1)) {
            if (typeof node !== 'object' || node === null) break;
            node = node[p];
          }
          if (typeof node === 'object' && node !== null) node[parts[parts.length - 1]] = val;
        }
        return check(JSON.stringify(v));
      },
    ),
    { numRuns: 400 },
  );
  t.pass('no other exception types');
});
