// deploy/: the manifests parse and hang together (selectors, ports, webhook
// paths, exclusions, security settings), kubectl accepts them offline, and the
// Deployment's own arguments run `sigward serve` with the ConfigMap's policies
// and a certificate made by the openssl commands of deploy/README.md.

import t from 'tap';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { loadPolicies } from '../../lib/policy/index.ts';
import { sigwardCommand } from '../helpers/cli.ts';
import { ROOT } from '../helpers/fixtures.ts';
import { freePort } from '../helpers/registry.ts';
import { httpsRequest, tmpDir } from './helpers.ts';

const DEPLOY = join(ROOT, 'deploy');
const docs: any[] = [];
for (const f of readdirSync(DEPLOY).filter((f) => /\.ya?ml$/.test(f)).sort()) {
  for (const d of parseAllDocuments(readFileSync(join(DEPLOY, f), 'utf8'))) {
    if (d.errors.length) throw new Error(`${f}: ${d.errors[0]!.message}`);
    const o = d.toJS();
    if (o) docs.push(o);
  }
}
const byKind = (kind: string) => docs.filter((d) => d.kind === kind);
const one = (kind: string) => {
  const l = byKind(kind);
  if (l.length !== 1) throw new Error(`expected one ${kind}, found ${l.length}`);
  return l[0];
};

t.test('manifests: every object present, in namespace sigward', async (t) => {
  t.same(docs.map((d) => d.kind).sort(), [
    'ConfigMap',
    'Deployment',
    'MutatingWebhookConfiguration',
    'Namespace',
    'PodDisruptionBudget',
    'Service',
    'ServiceAccount',
    'ValidatingWebhookConfiguration',
  ]);
  for (const d of docs) {
    if (['Namespace', 'MutatingWebhookConfiguration', 'ValidatingWebhookConfiguration'].includes(d.kind)) {
      t.equal(d.metadata.namespace, undefined, `${d.kind} is cluster-scoped`);
    } else t.equal(d.metadata.namespace, 'sigward', `${d.kind} in sigward`);
  }
});

t.test('Deployment: replicas, probes, resources, hardening, wiring', async (t) => {
  const dep = one('Deployment');
  const pod = dep.spec.template.spec;
  const c = pod.containers[0];
  t.equal(dep.spec.replicas, 2);
  t.same(dep.spec.selector.matchLabels, dep.spec.template.metadata.labels);
  t.same([c.readinessProbe.httpGet.path, c.readinessProbe.httpGet.scheme], ['/readyz', 'HTTPS']);
  t.same([c.livenessProbe.httpGet.path, c.livenessProbe.httpGet.scheme], ['/healthz', 'HTTPS']);
  t.ok(c.resources.requests.cpu && c.resources.requests.memory && c.resources.limits.memory);
  t.equal(c.securityContext.readOnlyRootFilesystem, true);
  t.equal(c.securityContext.allowPrivilegeEscalation, false);
  t.same(c.securityContext.capabilities.drop, ['ALL']);
  t.equal(pod.securityContext.runAsNonRoot, true);
  t.equal(pod.serviceAccountName, one('ServiceAccount').metadata.name);
  const ports = new Set(c.ports.map((p: any) => p.name));
  t.ok(
    ports.has(c.readinessProbe.httpGet.port) && ports.has(c.livenessProbe.httpGet.port),
    'probes use declared ports',
  );
  const svc = one('Service');
  t.same(svc.spec.selector, dep.spec.template.metadata.labels, 'Service selects the pods');
  for (const p of svc.spec.ports) t.ok(ports.has(p.targetPort), `Service port ${p.name} targets a container port`);
  t.same(one('PodDisruptionBudget').spec.selector.matchLabels, dep.spec.template.metadata.labels);
  const cm = one('ConfigMap');
  t.same(pod.volumes.find((v: any) => v.name === 'policies').configMap.name, cm.metadata.name);
  t.ok(pod.terminationGracePeriodSeconds >= 35, 'grace period covers shutdown delay + drain');
});

t.test('webhook configurations: endpoints, exclusions, kinds, options', async (t) => {
  const svc = one('Service');
  const https = svc.spec.ports.find((p: any) => p.name === 'https');
  for (
    const [kind, path] of [['MutatingWebhookConfiguration', '/mutate'], [
      'ValidatingWebhookConfiguration',
      '/validate',
    ]] as const
  ) {
    const w = one(kind).webhooks[0];
    t.match(w.name, /^[a-z0-9-]+(\.[a-z0-9-]+){2,}$/, `${kind}: fully qualified name`);
    t.same(
      w.clientConfig.service,
      { name: svc.metadata.name, namespace: 'sigward', path, port: https.port },
      `${kind}: calls ${path} on the Service`,
    );
    t.equal(w.sideEffects, 'None');
    t.same(w.admissionReviewVersions, ['v1', 'v1beta1']);
    t.ok(w.timeoutSeconds >= 1 && w.timeoutSeconds <= 30);
    t.ok(['Fail', 'Ignore'].includes(w.failurePolicy));
    const ex = w.namespaceSelector.matchExpressions[0];
    t.same([ex.key, ex.operator], ['kubernetes.io/metadata.name', 'NotIn']);
    t.ok(
      ex.values.includes('kube-system') && ex.values.includes('sigward'),
      `${kind}: kube-system and sigward excluded`,
    );
    const resources = w.rules.flatMap((r: any) => r.resources);
    for (
      const r of [
        'pods',
        'deployments',
        'daemonsets',
        'statefulsets',
        'replicasets',
        'jobs',
        'cronjobs',
        'replicationcontrollers',
      ]
    ) t.ok(resources.includes(r), `${kind}: ${r}`);
    t.ok(w.rules.every((r: any) => r.operations.includes('CREATE') && r.operations.includes('UPDATE')));
  }
});

t.test('the ConfigMap policies load', async (t) => {
  for (const [file, text] of Object.entries(one('ConfigMap').data as Record<string, string>)) {
    const { policies } = loadPolicies(text, { file });
    t.ok(policies.length >= 1, `${file} holds a policy`);
  }
});

const HAVE_KUBECTL = spawnSync('kubectl', ['version', '--client'], { encoding: 'utf8' }).status === 0;

t.test(
  'kubectl create --dry-run=client accepts deploy/',
  { skip: HAVE_KUBECTL ? false : 'kubectl not available' },
  async (t) => {
    // kubectl needs API discovery even for a client dry run: seed its cache
    const cache = tmpDir('sigward-kubectl-');
    t.teardown(() => rmSync(cache, { recursive: true, force: true }));
    const base = join(cache, 'discovery/localhost_8080');
    const groups: Record<string, Array<[string, string, boolean]>> = {
      v1: [['namespaces', 'Namespace', false], ['serviceaccounts', 'ServiceAccount', true], [
        'services',
        'Service',
        true,
      ], ['configmaps', 'ConfigMap', true]],
      'apps/v1': [['deployments', 'Deployment', true]],
      'policy/v1': [['poddisruptionbudgets', 'PodDisruptionBudget', true]],
      'admissionregistration.k8s.io/v1': [['mutatingwebhookconfigurations', 'MutatingWebhookConfiguration', false], [
        'validatingwebhookconfigurations',
        'ValidatingWebhookConfiguration',
        false,
      ]],
    };
    const list = [];
    for (const [gv, res] of Object.entries(groups)) {
      const [name, version] = gv.includes('/') ? gv.split('/') : ['', gv];
      list.push({ name, versions: [{ groupVersion: gv, version }], preferredVersion: { groupVersion: gv, version } });
      mkdirSync(join(base, gv), { recursive: true });
      writeFileSync(
        join(base, gv, 'serverresources.json'),
        JSON.stringify({
          kind: 'APIResourceList',
          apiVersion: 'v1',
          groupVersion: gv,
          resources: res.map(([n, k, ns]) => ({
            name: n,
            singularName: k.toLowerCase(),
            namespaced: ns,
            kind: k,
            verbs: ['create', 'get'],
          })),
        }),
      );
    }
    writeFileSync(
      join(base, 'servergroups.json'),
      JSON.stringify({ kind: 'APIGroupList', apiVersion: 'v1', groups: list }),
    );
    const out = execFileSync('kubectl', [
      '--kubeconfig=/dev/null',
      '--server=http://localhost:8080',
      `--cache-dir=${cache}`,
      'create',
      '--dry-run=client',
      '--validate=false',
      '-f',
      DEPLOY,
      '-o',
      'name',
    ], { encoding: 'utf8' });
    t.equal(out.trim().split('\n').length, 8, out);
  },
);

t.test("the Deployment's arguments run sigward with the ConfigMap policies and a README certificate", async (t) => {
  const dir = tmpDir('sigward-deploy-');
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  // the openssl commands of deploy/README.md, as written
  const readme = readFileSync(join(DEPLOY, 'README.md'), 'utf8');
  const block = /<!-- tls-commands: begin -->\n```sh\n([\s\S]*?)```\n<!-- tls-commands: end -->/.exec(readme);
  t.ok(block, 'README has the TLS commands');
  execFileSync('bash', ['-euo', 'pipefail', '-c', block![1]!], { cwd: dir, stdio: 'pipe' });
  mkdirSync(join(dir, 'policies'));
  for (const [f, text] of Object.entries(one('ConfigMap').data as Record<string, string>)) {
    writeFileSync(join(dir, 'policies', f), text);
  }

  const [port, metricsPort] = [await freePort(), await freePort()];
  const args = (one('Deployment').spec.template.spec.containers[0].args as string[]).map((a) =>
    a
      .replace('/etc/sigward/policies', join(dir, 'policies'))
      .replace('/etc/sigward/tls/tls.crt', join(dir, 'tls.crt'))
      .replace('/etc/sigward/tls/tls.key', join(dir, 'tls.key'))
      .replace(/^--port=\d+$/, `--port=${port}`)
      .replace(/^--metrics-port=\d+$/, `--metrics-port=${metricsPort}`)
      .replace(/^--shutdown-delay=\d+$/, '--shutdown-delay=0')
  );
  const { file, argv } = sigwardCommand([...args, '--address=127.0.0.1']);
  const child = spawn(file, argv, { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr!.on('data', (c: Buffer) => (err += c.toString()));
  const exited = new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
  t.teardown(() => child.kill('SIGKILL'));
  const ca = readFileSync(join(dir, 'ca.crt'), 'utf8');
  let ready: number | undefined;
  for (let i = 0; i < 200 && child.exitCode === null; i++) {
    try {
      // verified against the README's CA, by the Service DNS name
      ready = (await httpsRequest(`https://127.0.0.1:${port}/readyz`, {
        method: 'GET',
        ca,
        servername: 'sigward.sigward.svc',
        timeoutMs: 1000,
      })).status;
      break;
    } catch {
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  t.equal(ready, 200, `ready over TLS with the README certificate (${err.slice(-500)})`);
  const metrics = await fetch(`http://127.0.0.1:${metricsPort}/metrics`);
  t.equal(metrics.status, 200, 'plain metrics port answers');
  t.match(await metrics.text(), /sigward_policies_loaded 1/);
  child.kill('SIGTERM');
  t.equal(await exited, 0, 'SIGTERM: exit 0');
});
