import t from 'tap';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
import {
  getImageInfo,
  getImages,
  getRequestImages,
  getRequestOldImages,
  getStringAt,
  parseAdmissionReview,
} from '../../lib/admission/index.ts';
import type { ImageExtractorConfigs } from '../../lib/admission/index.ts';

const SHARED = fileURLToPath(new URL('../../../shared/testvectors/', import.meta.url));
const DIR = SHARED + 'admission-requests/';

const D91 = 'sha256:91ac9b26df583762234c1cdb2fc930364754ccc59bc752a2bfe298d2ea68f9ff';
const CHARLIE = `securesystemsengineering/charlie-image@${D91}`;
const T = '/spec/template/spec';

// file -> [kind, index, name, image, pointer] per image, in document order
const IMAGES: Record<string, [string, number, string, string, string][]> = {
  '01_deployment.json': [[
    'containers',
    0,
    'test-connaisseur',
    'securesystemsengineering/alice-image:test',
    `${T}/containers/0/image`,
  ]],
  '02_pod.json': [['containers', 0, 'test-connaisseur', CHARLIE, '/spec/containers/0/image']],
  '03_replicaset.json': [[
    'containers',
    0,
    'test-connaisseur',
    'securesystemsengineering/sample-san-sama:hai',
    `${T}/containers/0/image`,
  ]],
  '04_cronjob.json': [['containers', 0, 'yooob', 'busybox', '/spec/jobTemplate/spec/template/spec/containers/0/image']],
  '05_replication_controller.json': [['containers', 0, 'nginx', 'nginx', `${T}/containers/0/image`]],
  '06_daemonset.json': [
    [
      'containers',
      0,
      'fluentd-elasticsearch',
      'quay.io/fluentd_elasticsearch/fluentd:v2.5.2',
      `${T}/containers/0/image`,
    ],
  ],
  '07_statefulset.json': [['containers', 0, 'nginx', 'registry.k8s.io/nginx-slim:0.8', `${T}/containers/0/image`]],
  '08_job.json': [['containers', 0, 'pi', 'perl:5.34.0', `${T}/containers/0/image`]],
  '09_dply_multi_image.json': [
    ['initContainers', 0, 'init', 'busybox:1.32', `${T}/initContainers/0/image`],
    ['containers', 0, 'redis', 'redis:alpine', `${T}/containers/0/image`],
    ['containers', 1, 'mysql', 'mysql:8', `${T}/containers/1/image`],
  ],
  '10_update.json': [
    [
      'containers',
      0,
      'nginx',
      'docker.io/library/redis:latest@sha256:1111111111111111111111111111111111111111111111111111111111111111',
      `${T}/containers/0/image`,
    ],
  ],
  '11_role.json': [],
  '12_err_pod.json': [],
  '13_unknown_parent.json': [['containers', 0, 'test-connaisseur', CHARLIE, '/spec/containers/0/image']],
  '14_deny_me_job.json': [['containers', 0, 'pi', `my.reg/deny-me@${D91}`, `${T}/containers/0/image`]],
  '15_allow_me_job.json': [['containers', 0, 'pi', `my.reg/allow-me@${D91}`, `${T}/containers/0/image`]],
  '16_mismatch_uid.json': [['containers', 0, 'test-connaisseur', CHARLIE, '/spec/containers/0/image']],
  '17_deny_me_pod.json': [['containers', 0, 'test-connaisseur', `my.reg/deny-me@${D91}`, '/spec/containers/0/image']],
  '18_allow_me_pod.json': [['containers', 0, 'test-connaisseur', `my.reg/allow-me@${D91}`, '/spec/containers/0/image']],
  '19_pod_initcontainer.json': [
    ['initContainers', 0, 'my-initcontainer', 'nginx', '/spec/initContainers/0/image'],
    ['containers', 0, 'test-connaisseur', CHARLIE, '/spec/containers/0/image'],
  ],
  '20_pod_ephemeralcontainer.json': [
    ['containers', 0, 'test-connaisseur', CHARLIE, '/spec/containers/0/image'],
    ['ephemeralContainers', 0, 'my-initcontainer', 'nginx', '/spec/ephemeralContainers/0/image'],
  ],
  '22_allow_me_with_index_docker_io.json': [[
    'containers',
    0,
    'test-connaisseur',
    'test-image',
    '/spec/containers/0/image',
  ]],
  '23_alice_digest_dpl.json': [
    [
      'containers',
      0,
      'test-connaisseur',
      'securesystemsengineering/alice-image@sha256:1234567890123456123456789012345612345678901234561234567890123456',
      `${T}/containers/0/image`,
    ],
  ],
  '24_alice_tag_digest_dpl.json': [
    [
      'containers',
      0,
      'test-connaisseur',
      'securesystemsengineering/alice-image:test@sha256:1234567890123456123456789012345612345678901234561234567890123456',
      `${T}/containers/0/image`,
    ],
  ],
  '27_deleted_deployment.json': [['containers', 0, 'test-connaisseur', 'busybox', `${T}/containers/0/image`]],
  '28_deleted_deployment_updated.json': [['containers', 0, 'test-connaisseur', 'busybox', `${T}/containers/0/image`]],
  '29_deleted_deployment_update_for_delete.json': [[
    'containers',
    0,
    'test-connaisseur',
    'busybox',
    `${T}/containers/0/image`,
  ]],
};

/** Every string under a key named `image` anywhere in the object (independent walk). */
function allImageFields(v: unknown, out: string[] = []): string[] {
  if (Array.isArray(v)) v.forEach((x) => allImageFields(x, out));
  else if (typeof v === 'object' && v !== null) {
    for (const [k, x] of Object.entries(v)) {
      if (k === 'image' && typeof x === 'string') out.push(x);
      else allImageFields(x, out);
    }
  }
  return out;
}

t.test('images of every parseable admission request', async (t) => {
  const files = readdirSync(DIR).filter((f) => !/^(21|25|26)_/.test(f));
  t.equal(files.length, 26);
  t.same(files.sort(), Object.keys(IMAGES).sort());
  for (const f of files) {
    const req = parseAdmissionReview(readFileSync(DIR + f));
    const imgs = getRequestImages(req);
    t.same(
      imgs.map((i) => [i.kind, i.index, i.name, i.image, i.jsonPointer]),
      IMAGES[f],
      f,
    );
    t.equal(imgs.length, allImageFields(req.object).length, `${f}: as many as image fields in the object`);
    for (const i of imgs) {
      t.equal(getStringAt(req.object, i.jsonPointer), i.image, `${f}: pointer resolves to the image`);
      t.equal(i.patchable, true);
    }
  }
});

t.test('Kyverno image info of extracted images', async (t) => {
  const get = (f: string, n = 0) => getRequestImages(parseAdmissionReview(readFileSync(DIR + f)))[n].info;
  t.same(get('05_replication_controller.json'), {
    registry: 'docker.io',
    path: 'nginx',
    name: 'nginx',
    tag: 'latest',
    digest: '',
    reference: 'docker.io/nginx:latest',
    referenceWithTag: 'docker.io/nginx:latest',
  });
  const tagDigest = get('24_alice_tag_digest_dpl.json');
  t.equal(tagDigest.tag, 'test');
  t.equal(
    tagDigest.reference,
    'docker.io/securesystemsengineering/alice-image@sha256:1234567890123456123456789012345612345678901234561234567890123456',
    'digest present: tag dropped from the reference',
  );
  t.equal(get('07_statefulset.json').registry, 'registry.k8s.io');
  t.equal(get('10_update.json').path, 'library/redis', 'an explicit library/ stays');
  t.equal(get('22_allow_me_with_index_docker_io.json').reference, 'docker.io/test-image:latest');
});

t.test('UPDATE: old object images', async (t) => {
  const req = parseAdmissionReview(readFileSync(DIR + '28_deleted_deployment_updated.json'));
  const oldImgs = getRequestOldImages(req);
  t.same(oldImgs.map((i) => i.image), ['busybox']);
  const create = parseAdmissionReview(readFileSync(DIR + '01_deployment.json'));
  t.same(getRequestOldImages(create), [], 'CREATE has no old object');
});

t.test('getImageInfo (Kyverno reference rules)', async (t) => {
  const cases: [string, Partial<ReturnType<typeof getImageInfo>>, Parameters<typeof getImageInfo>[1]?][] = [
    ['nginx', {
      registry: 'docker.io',
      path: 'nginx',
      name: 'nginx',
      tag: 'latest',
      reference: 'docker.io/nginx:latest',
    }],
    ['nginx:v10.3', { registry: 'docker.io', path: 'nginx', tag: 'v10.3', reference: 'docker.io/nginx:v10.3' }],
    ['docker.io/test/nginx:v10.3', { registry: 'docker.io', path: 'test/nginx', name: 'nginx', tag: 'v10.3' }],
    ['test/nginx', { registry: 'docker.io', path: 'test/nginx', reference: 'docker.io/test/nginx:latest' }],
    ['localhost:4443/test/nginx', {
      registry: 'localhost:4443',
      path: 'test/nginx',
      reference: 'localhost:4443/test/nginx:latest',
    }],
    ['localhost/netd:v0.4.4-gke.0', { registry: 'localhost', path: 'netd', tag: 'v0.4.4-gke.0' }],
    [
      'docker.io/test/centos@sha256:dead07b4d8ed7e29e98de0f4504d87e8880d4347859d839686a31da35a3b532f',
      {
        tag: '',
        digest: 'sha256:dead07b4d8ed7e29e98de0f4504d87e8880d4347859d839686a31da35a3b532f',
        reference: 'docker.io/test/centos@sha256:dead07b4d8ed7e29e98de0f4504d87e8880d4347859d839686a31da35a3b532f',
        referenceWithTag: 'docker.io/test/centos:',
      },
    ],
    ['test/nginx', { registry: 'gcr.io', reference: 'gcr.io/test/nginx:latest' }, { defaultRegistry: 'gcr.io' }],
    ['test/nginx', { registry: '', reference: 'test/nginx:latest' }, {
      defaultRegistry: 'gcr.io',
      enableDefaultRegistryMutation: false,
    }],
    ['myregistry.org/test/nginx:v10.3', { registry: 'myregistry.org' }, { enableDefaultRegistryMutation: false }],
    ['[::1]:5000/app:1', { registry: '[::1]:5000', path: 'app', tag: '1' }],
    ['Foo/bar', { registry: 'Foo', path: 'bar' }],
    ['a/b/c/d_e__f-g--h.i:T_a.g-1', { registry: 'docker.io', path: 'a/b/c/d_e__f-g--h.i', tag: 'T_a.g-1' }],
  ];
  for (const [img, exp, opts] of cases) {
    const info = getImageInfo(img, opts);
    for (const [k, v] of Object.entries(exp)) t.equal(info[k as keyof typeof info], v, `${img} ${k}`);
  }
  const bad: [string, RegExp][] = [
    ['++', /invalid reference format$/],
    ['Nginx', /repository name must be lowercase/],
    ['nginx:', /invalid reference format/],
    ['nginx@sha256:abc', /invalid reference format/],
    ['nginx@sha256:' + 'a'.repeat(63) + 'A', /invalid checksum digest format/],
    ['nginx@sha256:' + 'a'.repeat(66), /invalid checksum digest length/],
    ['nginx@md5:' + 'a'.repeat(32), /unsupported digest algorithm/],
    ['x/' + 'a'.repeat(260), /more than 255 characters/],
    ['a'.repeat(700), /invalid reference format/],
    ['nginx:' + 't'.repeat(129), /invalid reference format/],
  ];
  for (const [img, re] of bad) {
    t.throws(
      () => getImageInfo(img),
      { name: 'SigwardError', code: 'REFERENCE_INVALID', message: re },
      img.slice(0, 40),
    );
  }
  t.match(
    (() => {
      try {
        getImageInfo('++');
      } catch (e) {
        return (e as Error).message;
      }
    })(),
    'bad image: docker.io/++, defaultRegistry: docker.io, enableDefaultRegistryMutation: true: invalid reference format',
  );
  for (const hostile of ['a-'.repeat(290) + '!', ('a'.repeat(20) + '.').repeat(25) + '/!', 'a' + '.a'.repeat(250)]) {
    const start = performance.now();
    t.throws(() => getImageInfo(hostile));
    t.ok(performance.now() - start < 100, 'no catastrophic backtracking');
  }
});

function policyExtractors(file: string): ImageExtractorConfigs {
  const doc = parseYaml(readFileSync(SHARED + 'kyverno-policies/' + file, 'utf8'));
  return doc.spec.rules[0].imageExtractors;
}

t.test('Tekton imageExtractors from the Kyverno policy library', async (t) => {
  const taskrun = policyExtractors('verify-tekton-taskrun-signatures.yaml');
  t.same(taskrun, { TaskRun: [{ name: 'taskruns', path: '/spec/taskRef', value: 'bundle', key: 'name' }] });
  const tr = {
    apiVersion: 'tekton.dev/v1beta1',
    kind: 'TaskRun',
    metadata: { name: 'echo-run' },
    spec: { taskRef: { name: 'echo-task', bundle: 'ghcr.io/tektoncd/catalog/upstream/tasks/echo:0.1' } },
  };
  const imgs = getImages(tr, { imageExtractors: taskrun });
  t.same(
    imgs.map((i) => [i.kind, i.index, i.name, i.image, i.jsonPointer, i.patchable, i.info.reference]),
    [[
      'taskruns',
      0,
      'echo-task',
      'ghcr.io/tektoncd/catalog/upstream/tasks/echo:0.1',
      '/spec/taskRef/bundle',
      true,
      'ghcr.io/tektoncd/catalog/upstream/tasks/echo:0.1',
    ]],
  );
  t.same(
    getImages({ ...tr, spec: { taskSpec: { steps: [] } } }, { imageExtractors: taskrun }),
    [],
    'no taskRef: no image',
  );
  t.same(
    getImages({ ...tr, spec: { taskRef: { name: 'local' } } }, { imageExtractors: taskrun }),
    [],
    'taskRef without bundle',
  );
  t.same(getImages(tr), [], 'TaskRun without extractors: []');
  t.same(
    getImages(tr, { imageExtractors: { PipelineRun: [{ path: '/spec/x' }] } }),
    [],
    'extractors for another kind only',
  );
  t.throws(
    () => getImages({ ...tr, spec: { taskRef: { bundle: 'ghcr.io/x/y:1' } } }, { imageExtractors: taskrun }),
    { code: 'ADMISSION_INVALID', message: /invalid key: \/spec\/taskRef\/name must be a string/ },
  );

  const pipeline = policyExtractors('verify-tekton-pipeline-bundle-signatures.yaml');
  const pr = {
    kind: 'PipelineRun',
    spec: { pipelineRef: { name: 'build', bundle: 'registry.example.com/pipelines/build@sha256:' + 'b'.repeat(64) } },
  };
  t.same(
    getImages(pr, { imageExtractors: pipeline }).map((i) => [i.kind, i.name, i.jsonPointer, i.info.digest]),
    [['pipelineruns', 'build', '/spec/pipelineRef/bundle', 'sha256:' + 'b'.repeat(64)]],
  );

  const vuln = policyExtractors('verify-tekton-taskrun-vuln-scan.yaml');
  const status = {
    kind: 'TaskRun',
    status: {
      taskSpec: {
        steps: [
          { name: 'build', image: 'gcr.io/kaniko-project/executor:v1.9.0' },
          { name: 'noimage' },
          { name: 'scan', image: 'anchore/grype:latest' },
        ],
      },
    },
  };
  t.same(
    getImages(status, { imageExtractors: vuln }).map((i) => [i.kind, i.index, i.name, i.image, i.jsonPointer]),
    [
      ['taskrunstatus', 0, 'build', 'gcr.io/kaniko-project/executor:v1.9.0', '/status/taskSpec/steps/0/image'],
      ['taskrunstatus', 2, 'scan', 'anchore/grype:latest', '/status/taskSpec/steps/2/image'],
    ],
  );
});

t.test('custom extractors: defaults, wildcards over objects, jmesPath', async (t) => {
  const obj = {
    kind: 'Task',
    spec: {
      steps: [{ image: 'alpine:3' }, { image: '  ' }, { image: 'ghcr.io/a/b:1' }],
      images: { 'a/b': { ref: 'quay.io/x/y:2', id: 'first' }, 'c~d': { ref: 'quay.io/x/z:3', id: 'second' } },
      packed: 'ghcr.io/acme/tool:2.0|linux/amd64',
    },
  };
  const ex: ImageExtractorConfigs = {
    Task: [
      { path: '/spec/steps/*/image' },
      { name: 'byKey', path: ' /spec/ images /*/ref ', key: 'id' },
      { name: 'packed', path: '/spec/packed', jmesPath: "split(@, '|')[0]" },
    ],
  };
  const imgs = getImages(obj, { imageExtractors: ex });
  t.same(
    imgs.map((i) => [i.kind, i.index, i.name, i.image, i.jsonPointer, i.patchable]),
    [
      ['custom', 0, '/spec/steps/0/image', 'alpine:3', '/spec/steps/0/image', true],
      ['custom', 2, '/spec/steps/2/image', 'ghcr.io/a/b:1', '/spec/steps/2/image', true],
      ['byKey', 0, 'first', 'quay.io/x/y:2', '/spec/images/a~1b/ref', true],
      ['byKey', 1, 'second', 'quay.io/x/z:3', '/spec/images/c~0d/ref', true],
      ['packed', 0, '/spec/packed', 'ghcr.io/acme/tool:2.0', '/spec/packed', false],
    ],
  );
  t.equal(getStringAt(obj, '/spec/images/a~1b/ref'), 'quay.io/x/y:2', 'escaped pointer resolves');

  const injected = getImages(obj, {
    imageExtractors: { Task: [{ name: 'packed', path: '/spec/packed', jmesPath: 'custom()' }] },
    jmesPathSearch: (v, e) => `${e === 'custom()' ? 'docker.io/' : ''}${v.split('|')[0]}`,
  });
  t.same(injected.map((i) => i.image), ['docker.io/ghcr.io/acme/tool:2.0'], 'injected JMESPath evaluator is used');

  t.throws(() => getImages(obj, { imageExtractors: { Task: [{ path: '/spec/packed', jmesPath: '[[[' }] } }), {
    code: 'POLICY_INVALID',
    message: /^invalid jmespath \[\[\[/,
  });
  t.throws(() => getImages(obj, { imageExtractors: { Task: [{ path: '/spec/packed', jmesPath: 'length(@)' }] } }), {
    code: 'ADMISSION_INVALID',
    message: 'jmespath length(@) must produce a string, but produced 33',
  });
  t.throws(() => getImages(obj, { imageExtractors: { Task: [] } }), {
    code: 'POLICY_INVALID',
    message: 'no extractors found for Task',
  });
  t.throws(() => getImages(obj, { imageExtractors: { Task: [{ path: '//' }] } }), { code: 'POLICY_INVALID' });
  t.throws(() => getImages(obj, { imageExtractors: { Task: [{ path: '/spec/packed/*', value: 'image' }] } }), {
    code: 'ADMISSION_INVALID',
    message: /^invalid type: \/spec\/packed must be a list or an object/,
  });
  t.throws(() => getImages(obj, { imageExtractors: { Task: [{ path: '/spec/packed/x/image' }] } }), {
    code: 'ADMISSION_INVALID',
    message: /^invalid image config: \/spec\/packed must be an object/,
  });
  const proto = JSON.parse('{"kind":"Task","spec":{"__proto__":{"image":"evil:1"}}}');
  t.same(
    getImages(proto, { imageExtractors: { Task: [{ path: '/spec/__proto__/image' }] } }).map((i) => i.jsonPointer),
    ['/spec/__proto__/image'],
    '__proto__ is an ordinary key',
  );
  t.same(getImages({ kind: 'Task', spec: {} }, { imageExtractors: { constructor: [{ path: '/x' }] } }), []);
});

t.test('malformed pod objects', async (t) => {
  const pod = (spec: unknown) => ({ kind: 'Pod', spec });
  t.throws(() => getImages(pod({ containers: 'nginx' })), {
    code: 'ADMISSION_INVALID',
    message: /invalid type: \/spec\/containers/,
  });
  t.throws(() => getImages(pod('x')), {
    code: 'ADMISSION_INVALID',
    message: /invalid image config: \/spec must be an object/,
  });
  t.throws(() => getImages(pod({ containers: [{ image: 'nginx' }] })), {
    code: 'ADMISSION_INVALID',
    message: /invalid key: \/spec\/containers\/0\/name/,
  });
  t.throws(() => getImages(pod({ containers: [{ name: 'c', image: 'NGINX' }] })), {
    code: 'ADMISSION_INVALID',
    message: /^invalid image 'NGINX' \(bad image: docker.io\/NGINX, .*must be lowercase\)$/,
  });
  t.same(
    getImages(pod({ containers: [{ name: 'c' }, { name: 'd', image: 5 }] })),
    [],
    'missing / non-string image: skipped',
  );
  t.same(getImages(pod({ containers: null, initContainers: [] })), []);
  t.same(getImages({ kind: 'Deployment', spec: { template: null } }), []);
  t.same(getImages('Pod'), []);
  t.same(getImages({ kind: 'ConfigMap', data: { image: 'nginx' } }), [], 'unknown kind: []');
  const kinded = getImages({ spec: { containers: [{ name: 'a', image: 'nginx' }] } }, { kind: 'Pod' });
  t.equal(kinded.length, 1, 'kind can be given explicitly');
  const dup = getImages(pod({ containers: [{ name: 'a', image: 'nginx' }, { name: 'a', image: 'redis' }] }));
  t.same(dup.map((i) => i.image), ['nginx', 'redis'], 'duplicate names: both images kept');
});
