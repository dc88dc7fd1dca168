// `sigward test`: kyverno-test.yaml files run against a real registry, with
// resources made by kubectl. The expected results must be compared exactly:
// a wrong expectation fails the run (exit 1) and a field sigward cannot
// honour is refused (exit 2), never ignored.

import t from 'tap';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { RegistryClient } from '../../lib/oci/registry.ts';
import { pushImage, withRegistry } from '../helpers/registry.ts';
import { makeKey, signImage } from '../helpers/cosign.ts';
import { kubectl, kubectlPod } from '../helpers/kubectl.ts';
import { runSigward } from '../helpers/cli.ts';
import { scratch } from '../attacks/helpers.ts';
import { keyPolicy } from '../helpers/policies.ts';

t.test('sigward test runs kyverno-test.yaml files', async (t) => {
  const reg = await withRegistry(t);
  const store = new RegistryClient();
  t.teardown(() => store.close());
  const s = scratch(t);
  const key = makeKey();
  const signed = await pushImage(store, reg.ref('tests/app'), { tag: 'signed' });
  await signImage({ store, repository: reg.ref('tests/app'), digest: signed, key });
  const unsigned = await pushImage(store, reg.ref('tests/app'), { tag: 'unsigned' });
  const policy = (name: string, action: 'Enforce' | 'Audit') =>
    keyPolicy({
      key: key.publicPem,
      name,
      action,
      ruleName: 'check-signature',
      refs: [`${reg.host}/tests/*`],
      rule: { match: { any: [{ resources: { kinds: ['Pod'], namespaces: ['apps'] } }] } },
      entry: { mutateDigest: false, verifyDigest: false },
    });
  s.file('require-signed.yaml', policy('require-signed', 'Enforce'));
  s.file('audit-signed.yaml', policy('audit-signed', 'Audit'));
  const deploy = kubectl([
    'create',
    'deployment',
    'api',
    `--image=${reg.host}/tests/app@${unsigned}`,
    '--namespace=apps',
  ]);
  (deploy.metadata as Record<string, unknown>).namespace = 'apps';
  const resources = [
    kubectlPod('good', `${reg.host}/tests/app@${signed}`, 'apps'),
    kubectlPod('bad', `${reg.host}/tests/app@${unsigned}`, 'apps'),
    kubectlPod('elsewhere', `${reg.host}/tests/app@${unsigned}`, 'other'),
    deploy,
  ];
  s.file('resources.yaml', resources.map((r) => stringify(r)).join('---\n'));
  const testFile = (results: unknown[], extra: Record<string, unknown> = {}) =>
    stringify({
      apiVersion: 'cli.kyverno.io/v1alpha1',
      kind: 'Test',
      metadata: { name: 'signatures' },
      policies: ['require-signed.yaml', 'audit-signed.yaml'],
      resources: ['resources.yaml'],
      results,
      ...extra,
    });
  const good = [
    { policy: 'require-signed', rule: 'check-signature', resources: ['good'], kind: 'Pod', result: 'pass' },
    { policy: 'require-signed', rule: 'check-signature', resources: ['bad'], kind: 'Pod', result: 'fail' },
    { policy: 'require-signed', rule: 'check-signature', resources: ['elsewhere'], kind: 'Pod', result: 'skip' },
    {
      policy: 'require-signed',
      rule: 'autogen-check-signature',
      resources: ['apps/api'],
      kind: 'Deployment',
      result: 'fail',
    },
    { policy: 'audit-signed', rule: 'check-signature', resources: ['bad'], result: 'warn' },
  ];
  s.file('kyverno-test.yaml', testFile(good));
  const junit = join(s.dir, 'junit.xml');
  const ok = await runSigward(['test', s.dir, '--allow-insecure-registry', '--junit', junit]);
  t.equal(ok.code, 0, `all expected results match: ${ok.stdout}${ok.stderr}`);
  t.match(ok.stdout, /5 of 5 expected results matched in 1 test file/);
  t.match(readFileSync(junit, 'utf8'), /<testsuite name="signatures" tests="5" failures="0">/);

  const wrong = s.file(
    'wrong.yaml',
    testFile([{ ...good[1], result: 'pass' }, good[0], { ...good[2], result: 'pass' }, {
      policy: 'require-signed',
      rule: 'check-signature',
      resources: ['nosuch'],
      result: 'pass',
    }]),
  );
  const bad = await runSigward(['test', wrong, '--allow-insecure-registry', '-o', 'json']);
  t.equal(bad.code, 1, 'a wrong expectation fails the run');
  const doc = JSON.parse(bad.stdout);
  t.same(doc.tests[0].cases.map((c: { ok: boolean; actual: string }) => [c.ok, c.actual]), [
    [false, 'fail'],
    [true, 'pass'],
    [false, 'none'],
    [false, 'missing resource'],
  ]);

  const unsupported = s.file('vars.yaml', testFile(good, { variables: 'values.yaml' }));
  const refused = await runSigward(['test', unsupported, '--allow-insecure-registry']);
  t.equal(refused.code, 2, 'a field sigward cannot honour is refused');
  t.match(refused.stdout + refused.stderr, /variables: variable values files are not supported by sigward test/);
  t.notMatch(refused.stdout, /expected results matched/, 'nothing that reads like a result is printed');
  writeFileSync(join(s.dir, 'typo.yaml'), testFile(good, { resultz: [] }));
  t.equal((await runSigward(['test', join(s.dir, 'typo.yaml')])).code, 2, 'an unknown field is an error');
});
