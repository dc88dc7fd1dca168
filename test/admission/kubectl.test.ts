import t from 'tap';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { getRequestImages, parseAdmissionReview } from '../../lib/admission/index.ts';

// Objects produced by `kubectl create|run … --dry-run=client -o json`; the commands are in
// testdata/admission/kubectl/generate.sh.
const DIR = fileURLToPath(new URL('../../testdata/admission/kubectl/', import.meta.url));
const FILES = ['cronjob.json', 'deployment.json', 'job.json', 'pod.json'];

function review(object: Record<string, unknown>, apiVersion = 'admission.k8s.io/v1'): string {
  const [group, version] = String(object.apiVersion).includes('/')
    ? String(object.apiVersion).split('/')
    : ['', String(object.apiVersion)];
  return JSON.stringify({
    apiVersion,
    kind: 'AdmissionReview',
    request: {
      uid: '705ab4f5-6393-11e8-b7cc-42010a800002',
      kind: { group, version, kind: object.kind },
      resource: { group, version, resource: String(object.kind).toLowerCase() + 's' },
      namespace: 'default',
      name: (object.metadata as { name: string }).name,
      operation: 'CREATE',
      userInfo: { username: 'admin', groups: ['system:authenticated'] },
      object,
      oldObject: null,
      dryRun: false,
    },
  });
}

const HAVE_KUBECTL = spawnSync('kubectl', ['version', '--client'], { encoding: 'utf8' }).status === 0;

t.test(
  'stored kubectl output still matches kubectl',
  { skip: HAVE_KUBECTL ? false : 'kubectl not available' },
  async (t) => {
    const out = mkdtempSync(join(tmpdir(), 'sigward-kubectl-'));
    try {
      const run = spawnSync('sh', [join(DIR, 'generate.sh'), out], { encoding: 'utf8' });
      t.equal(run.status, 0, `generate.sh ran: ${run.stderr}`);
      t.same(readdirSync(out).sort(), FILES);
      for (const f of FILES) {
        t.same(JSON.parse(readFileSync(join(out, f), 'utf8')), JSON.parse(readFileSync(join(DIR, f), 'utf8')), f);
      }
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  },
);

t.test('kubectl objects through parse and extraction', async (t) => {
  const expected: Record<string, [string, number, string, string, string][]> = {
    'deployment.json': [
      ['containers', 0, 'nginx', 'nginx:1.27', '/spec/template/spec/containers/0/image'],
      [
        'containers',
        1,
        'sidecar',
        'ghcr.io/acme/sidecar@sha256:b31bfb4d0213f254d361e0079deaaebefa4f82ba7aa76ef82e90b4935ad5b105',
        '/spec/template/spec/containers/1/image',
      ],
    ],
    'job.json': [[
      'containers',
      0,
      'migrate',
      'registry.example.com:5000/team/migrate:v3',
      '/spec/template/spec/containers/0/image',
    ]],
    'cronjob.json': [[
      'containers',
      0,
      'nightly',
      'localhost/backup',
      '/spec/jobTemplate/spec/template/spec/containers/0/image',
    ]],
    'pod.json': [
      ['initContainers', 0, 'setup', 'ghcr.io/acme/setup:1.0', '/spec/initContainers/0/image'],
      ['containers', 0, 'pod1', 'busybox', '/spec/containers/0/image'],
    ],
  };
  for (const f of FILES) {
    const object = JSON.parse(readFileSync(join(DIR, f), 'utf8'));
    for (const v of ['admission.k8s.io/v1', 'admission.k8s.io/v1beta1']) {
      const req = parseAdmissionReview(new TextEncoder().encode(review(object, v)));
      t.equal(req.apiVersion, v);
      t.equal(req.kind.kind, object.kind);
      t.same(
        getRequestImages(req).map((i) => [i.kind, i.index, i.name, i.image, i.jsonPointer]),
        expected[f],
        `${f} (${v})`,
      );
    }
  }
  const cron = getRequestImages(
    parseAdmissionReview(review(JSON.parse(readFileSync(join(DIR, 'cronjob.json'), 'utf8')))),
  );
  t.same(cron[0].info, {
    registry: 'localhost',
    path: 'backup',
    name: 'backup',
    tag: 'latest',
    digest: '',
    reference: 'localhost/backup:latest',
    referenceWithTag: 'localhost/backup:latest',
  });
});
