// Autogen: rule names, controller kinds, pod spec paths, the annotation, and
// the cases where Kyverno does not generate rules.

import t from 'tap';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  AUTOGEN_ANNOTATION,
  expandAutogen,
  getAutogenControllers,
  getAutogenRuleName,
  getKindName,
  loadPolicies,
  type Policy,
} from '../../lib/policy/index.ts';
import { asKyverno, noSecrets, policyWith, TESTDATA, VECTORS } from './helpers.ts';

const load = (text: string): Policy => loadPolicies(text, { resolveSecret: noSecrets }).policies[0]!;
const entry =
  'imageReferences: ["ghcr.io/*"]\n          attestors: [{entries: [{keys: {publicKeys: "{{ keys.data.{{ request.object.metadata.namespace }} }}"}}]}]';
const CONTROLLERS = ['DaemonSet', 'Deployment', 'Job', 'StatefulSet', 'ReplicaSet', 'ReplicationController'];

t.test('Pod-only rule: autogen-<rule> and autogen-cronjob-<rule>', async (t) => {
  const p = asKyverno(expandAutogen(load(policyWith(entry))));
  t.same(p.spec.rules.map((r) => r.name), ['check-image', 'autogen-check-image', 'autogen-cronjob-check-image']);
  const [orig, gen, cron] = p.spec.rules;
  t.equal(orig!.autogen, undefined);
  t.same(gen!.autogen, { from: 'check-image', kinds: CONTROLLERS, podSpecPath: '/spec/template/spec' });
  t.same(gen!.match, { any: [{ resources: { kinds: CONTROLLERS } }] });
  t.same(cron!.autogen, {
    from: 'check-image',
    kinds: ['CronJob'],
    podSpecPath: '/spec/jobTemplate/spec/template/spec',
  });
  t.same(cron!.match, { any: [{ resources: { kinds: ['CronJob'] } }] });
  t.same(gen!.verifyImages[0]!.imageReferences, orig!.verifyImages[0]!.imageReferences, 'verifyImages copied');
  t.equal(
    gen!.verifyImages[0]!.attestors[0]!.entries[0]!.keys?.publicKeys,
    '{{ keys.data.{{ request.object.spec.template.metadata.namespace }} }}',
    'variables rewritten for the template',
  );
  t.equal(
    cron!.verifyImages[0]!.attestors[0]!.entries[0]!.keys?.publicKeys,
    '{{ keys.data.{{ request.object.spec.jobTemplate.spec.template.metadata.namespace }} }}',
  );
  t.equal(
    orig!.verifyImages[0]!.attestors[0]!.entries[0]!.keys?.publicKeys,
    '{{ keys.data.{{ request.object.metadata.namespace }} }}',
    'original untouched',
  );
  t.same(getAutogenControllers(asKyverno(load(policyWith(entry)))), [...CONTROLLERS, 'CronJob']);
});

t.test('names are truncated to 63 characters', async (t) => {
  const long = 'r'.repeat(60);
  t.equal(getAutogenRuleName('autogen', long), `autogen-${'r'.repeat(55)}`);
  t.equal(getAutogenRuleName('autogen', long).length, 63);
  t.equal(getAutogenRuleName('autogen-cronjob', long), `autogen-cronjob-${'r'.repeat(47)}`);
  const p = asKyverno(expandAutogen(load(policyWith(entry).replace('- name: check-image', `- name: ${long}`))));
  t.same(p.spec.rules.map((r) => r.name.length), [60, 63, 63]);
});

t.test('the annotation narrows the controllers, none disables', async (t) => {
  const ann = (v: string) => `    ${AUTOGEN_ANNOTATION}: "${v}"`;
  const none = asKyverno(expandAutogen(load(policyWith(entry, { annotations: ann('none') }))));
  t.same(none.spec.rules.map((r) => r.name), ['check-image']);
  const some = asKyverno(expandAutogen(load(policyWith(entry, { annotations: ann('Deployment,StatefulSet') }))));
  t.same(some.spec.rules.map((r) => [r.name, r.autogen?.kinds]), [
    ['check-image', undefined],
    ['autogen-check-image', ['Deployment', 'StatefulSet']],
  ]);
  const cron = asKyverno(expandAutogen(load(policyWith(entry, { annotations: ann('CronJob') }))));
  t.same(cron.spec.rules.map((r) => r.name), ['check-image', 'autogen-cronjob-check-image']);
  const r = loadPolicies(policyWith(entry, { annotations: ann('Deployment,Deploymnet') }), {
    resolveSecret: noSecrets,
  });
  t.ok(r.warnings.some((w) => w.severity === 'warning' && w.message.includes('unknown pod controller "Deploymnet"')));
});

t.test('no autogen: names, selector, annotations, mixed kinds, generate', async (t) => {
  const names = (p: Policy) => asKyverno(expandAutogen(p)).spec.rules.map((r) => r.name);
  const withRes = (extra: string) =>
    policyWith(entry).replace('              kinds: [Pod]', `              kinds: [Pod]\n${extra}`);
  t.same(names(load(withRes('              names: [web-*]'))), ['check-image']);
  t.same(names(load(withRes('              selector: {matchLabels: {app: web}}'))), ['check-image']);
  t.same(names(load(withRes('              annotations: {team: a}'))), ['check-image']);
  t.same(names(load(policyWith(entry, { kinds: '[Pod, Deployment]' }))), ['check-image']);
  t.same(names(load(policyWith(entry, { kinds: '[Deployment]' }))), ['check-image'], 'not a Pod rule');
  t.same(names(load(policyWith(entry, { kinds: '[v1/Pod]' }))), [
    'check-image',
    'autogen-check-image',
    'autogen-cronjob-check-image',
  ], 'group/version prefix');
  // namespaces do not block autogen
  t.same(names(load(withRes('              namespaces: [prod]'))), [
    'check-image',
    'autogen-check-image',
    'autogen-cronjob-check-image',
  ]);
  // one rule with a selector disables autogen for the whole policy (Kyverno decides per policy)
  const two = policyWith(entry).replace(
    '  rules:\n',
    '  rules:\n    - name: other\n      match: {any: [{resources: {kinds: [Pod], selector: {matchLabels: {a: b}}}}]}\n      verifyImages: [{imageReferences: ["x/*"], attestors: [{entries: [{keys: {publicKeys: "{{ k }}"}}]}]}]\n',
  );
  t.same(names(load(two)), ['other', 'check-image']);
  const gen = policyWith(entry).replace(
    '  rules:\n',
    '  rules:\n    - name: gen\n      match: {any: [{resources: {kinds: [Namespace]}}]}\n      generate: {kind: ConfigMap, name: x}\n',
  );
  t.same(names(load(gen)), ['gen', 'check-image']);
});

t.test('exclude kinds follow the generated kinds', async (t) => {
  const text = policyWith(entry).replace(
    '      verifyImages:',
    '      exclude:\n        any:\n          - resources:\n              kinds: [Pod]\n              namespaces: [kube-system]\n      verifyImages:',
  );
  const gen = asKyverno(expandAutogen(load(text))).spec.rules[1]!;
  t.same(gen.exclude, { any: [{ resources: { kinds: CONTROLLERS, namespaces: ['kube-system'] } }] });
});

t.test('test vectors and seeds: who gets autogen rules', async (t) => {
  const vec = (f: string) =>
    asKyverno(
      expandAutogen(loadPolicies(readFileSync(join(VECTORS, f), 'utf8'), { resolveSecret: noSecrets }).policies[0]),
    );
  t.same(vec('verify-image.yaml').spec.rules.map((r) => r.name), [
    'verify-image',
    'autogen-verify-image',
    'autogen-cronjob-verify-image',
  ]);
  t.same(
    vec('verify-tekton-taskrun-signatures.yaml').spec.rules.map((r) => r.name),
    ['check-signature'],
    'TaskRun: no autogen',
  );
  const seed = asKyverno(
    expandAutogen(
      loadPolicies(readFileSync(join(TESTDATA, 'seeds', '004-1-verify-image-signatures.yaml'), 'utf8'), {
        resolveSecret: noSecrets,
      }).policies[0],
    ),
  );
  t.same(seed.spec.rules.map((r) => r.name), [
    'verify-keyless-signature',
    'verify-kms-signature',
    'require-sbom',
    'autogen-verify-keyless-signature',
    'autogen-cronjob-verify-keyless-signature',
    'autogen-verify-kms-signature',
    'autogen-cronjob-verify-kms-signature',
    'autogen-require-sbom',
    'autogen-cronjob-require-sbom',
  ]);
  const ivpol = loadPolicies(readFileSync(join(VECTORS, 'verify-image-ivpol.yaml'), 'utf8'), {
    resolveSecret: noSecrets,
  }).policies[0]!;
  t.equal(expandAutogen(ivpol), ivpol, 'image policies are returned unchanged');
});

t.test('kind names', async (t) => {
  t.equal(getKindName('Pod'), 'Pod');
  t.equal(getKindName('v1/Pod'), 'Pod');
  t.equal(getKindName('apps/v1/Deployment'), 'Deployment');
  t.equal(getKindName('tekton.dev/v1beta1/TaskRun.status'), 'TaskRun');
  t.equal(getKindName('Pod/exec'), 'Pod');
});
