// A rule's `context`, `preconditions` and `celPreconditions`, as a Kyverno
// user writes them: honoured where sigward can answer offline (variables,
// ConfigMaps from the ConfigMap directory, CEL preconditions), and failing
// the rule, never skipping it, where it cannot (apiCall and friends, a
// missing ConfigMap, a condition that cannot be evaluated). Real registry,
// kubectl Pods, the sigward binary.

import t, { type Test } from 'tap';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { RegistryClient } from '../../lib/oci/registry.ts';
import { pushImage, withRegistry } from '../helpers/registry.ts';
import { makeKey } from '../helpers/cosign.ts';
import { kubectl } from '../helpers/kubectl.ts';
import { runSigward } from '../helpers/cli.ts';
import { scratch } from '../attacks/helpers.ts';
import { keyPolicy } from '../helpers/policies.ts';

function policy(pem: string, rule: Record<string, unknown>): string {
  return keyPolicy({ key: pem, name: 'ctx', rule, entry: { mutateDigest: false, verifyDigest: false } });
}

t.test('rule context and preconditions', async (t) => {
  const reg = await withRegistry(t);
  const store = new RegistryClient();
  t.teardown(() => store.close());
  const s = scratch(t);
  const key = makeKey();
  const image = `${reg.host}/ctx/app@${await pushImage(store, reg.ref('ctx/app'), { tag: 'v1' })}`; // unsigned
  const cmDir = join(s.dir, 'configmaps');
  mkdirSync(join(cmDir, 'kyverno', 'settings'), { recursive: true });
  writeFileSync(join(cmDir, 'kyverno', 'settings', 'enforce'), 'true');
  const pod = (team: string) => {
    const o = kubectl(['run', 'web', `--image=${image}`, `--labels=team=${team}`]);
    return s.file(`pod-${team}.json`, JSON.stringify(o));
  };
  let n = 0;
  const check = async (text: string, team = 'web', env: Record<string, string> = {}) => {
    const r = await runSigward([
      'check',
      '--policy',
      s.file(`p${n++}.yaml`, text),
      '--resource',
      pod(team),
      '-o',
      'json',
    ], { env: { SIGWARD_CONFIGMAPS_DIR: cmDir, ...env } });
    const doc = JSON.parse(r.stdout || '{}');
    return { ...r, rules: doc.results?.[0]?.rules ?? [] };
  };
  const denied = (t: Test, r: Awaited<ReturnType<typeof check>>, what: string, reason?: RegExp) => {
    t.equal(r.code, 1, `${what}: denied (exit ${r.code}) ${r.stderr}`);
    if (reason) t.match(JSON.stringify(r.rules), reason, `${what}: says why`);
  };

  const cmPre = (name = 'settings') => ({
    context: [{ name: 'settings', configMap: { name, namespace: 'kyverno' } }],
    preconditions: { all: [{ key: '{{ settings.data.enforce }}', operator: 'Equals', value: 'true' }] },
  });
  denied(
    t,
    await check(policy(key.publicPem, cmPre())),
    'a precondition on a ConfigMap value that holds',
    /signature not found/,
  );
  writeFileSync(join(cmDir, 'kyverno', 'settings', 'enforce'), 'false');
  t.equal(
    (await check(policy(key.publicPem, cmPre()))).code,
    0,
    'the same precondition, false: the rule does not apply',
  );
  writeFileSync(join(cmDir, 'kyverno', 'settings', 'enforce'), 'true');
  denied(
    t,
    await check(policy(key.publicPem, cmPre('missing'))),
    'a ConfigMap that is not mounted fails the rule',
    /ConfigMap kyverno\/missing not found/,
  );

  const api = {
    context: [{
      name: 'nslabels',
      apiCall: { urlPath: '/api/v1/namespaces/{{ request.namespace }}', jmesPath: 'metadata.labels' },
    }],
    preconditions: { all: [{ key: "{{ nslabels.env || '' }}", operator: 'Equals', value: 'prod' }] },
  };
  denied(
    t,
    await check(policy(key.publicPem, api)),
    'an apiCall context fails the rule instead of skipping it',
    /apiCall context entries need a live cluster/,
  );

  const variable = {
    context: [{ name: 'team', variable: { jmesPath: 'request.object.metadata.labels.team', default: 'none' } }],
    preconditions: { all: [{ key: '{{ team }}', operator: 'Equals', value: 'web' }] },
  };
  denied(
    t,
    await check(policy(key.publicPem, variable), 'web'),
    'a variable context read by a precondition (applies)',
    /signature not found/,
  );
  t.equal(
    (await check(policy(key.publicPem, variable), 'api')).code,
    0,
    'a variable context read by a precondition (does not apply)',
  );

  const cel = (expression = "object.metadata.labels.team == 'web'") => ({
    celPreconditions: [{ name: 'web-only', expression }],
  });
  denied(
    t,
    await check(policy(key.publicPem, cel()), 'web'),
    'celPreconditions true: the rule applies',
    /signature not found/,
  );
  t.equal(
    (await check(policy(key.publicPem, cel()), 'api')).code,
    0,
    'celPreconditions false: the rule does not apply',
  );
  const badCel = await runSigward([
    'policy',
    'lint',
    s.file('bad-cel.yaml', policy(key.publicPem, cel('object.metadata.labels.team =='))),
  ]);
  t.equal(badCel.code, 1, 'a CEL precondition that does not compile is a lint error');
  t.match(badCel.stdout + badCel.stderr, /celPreconditions\[0\]\.expression/);

  const lint = await runSigward(['policy', 'lint', s.file('api.yaml', policy(key.publicPem, api))]);
  t.match(
    lint.stdout + lint.stderr,
    /context\[0\]\.apiCall: sigward does not query the API server/,
    'lint warns about apiCall with what sigward does',
  );
});
