// Fault injection under `sigward check` (the binary): registry outages follow
// the policy's failurePolicy (Ignore: allowed with a warning; Fail: blocked),
// transient faults are retried, decisions keep the deadline, and a flaky
// registry never turns an unsigned image into an allowed one.

import t from 'tap';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RegistryClient } from '../../lib/oci/registry.ts';
import { freePort, pushImage, withRegistry } from '../helpers/registry.ts';
import { makeKey, signImage, type TestKey } from '../helpers/cosign.ts';
import { kubectlPod } from '../helpers/kubectl.ts';
import { runSigward } from '../helpers/cli.ts';
import { deadlineBound, type FaultRequest, isManifest, startFaultProxy } from '../helpers/proxy.ts';

function policy(key: TestKey, failurePolicy: 'Ignore' | 'Fail'): string {
  return `apiVersion: kyverno.io/v1
kind: ClusterPolicy
metadata: {name: signed-${failurePolicy.toLowerCase()}}
spec:
  validationFailureAction: Enforce
  failurePolicy: ${failurePolicy}
  rules:
    - name: verify
      match: {any: [{resources: {kinds: [Pod]}}]}
      verifyImages:
        - imageReferences: ["*"]
          attestors:
            - entries:
                - keys:
                    publicKeys: |-
${key.publicPem.trim().split('\n').map((l) => '                      ' + l).join('\n')}
                    rekor: {ignoreTlog: true}
`;
}

t.test('registry faults under sigward check', async (t) => {
  const reg = await withRegistry(t);
  const store = new RegistryClient();
  t.teardown(() => store.close());
  const proxy = await startFaultProxy(reg.url);
  t.teardown(() => proxy.stop());
  const dir = mkdtempSync(join(tmpdir(), 'sigward-check-faults-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const key = makeKey();
  const digest = await pushImage(store, reg.ref('f/app'), { tag: 'v1' });
  await signImage({ store, repository: reg.ref('f/app'), digest, key });
  await pushImage(store, reg.ref('f/unsigned'), { tag: 'v1' });
  const file = (name: string, text: string) => {
    const p = join(dir, name);
    writeFileSync(p, text);
    return p;
  };
  const ignore = file('ignore.yaml', policy(key, 'Ignore'));
  const fail = file('fail.yaml', policy(key, 'Fail'));
  const pod = (image: string) =>
    file(`pod-${image.replace(/\W+/g, '-')}.json`, JSON.stringify(kubectlPod('web', image)));
  const check = async (policyFile: string, podFile: string, extra: string[] = []) => {
    const t0 = Date.now();
    const r = await runSigward(['check', '--policy', policyFile, '--resource', podFile, '-o', 'json', ...extra], {
      timeoutMs: 60_000,
    });
    const ms = Date.now() - t0;
    let doc: any;
    try {
      doc = JSON.parse(r.stdout);
    } catch {
      throw new Error(`no JSON (exit ${r.code}): ${r.stdout}\n${r.stderr}`);
    }
    return { code: r.code, ms, result: doc.results?.[0], doc };
  };
  const signedPod = pod(`${proxy.host}/f/app:v1`);
  const t0 = Date.now();
  await runSigward(['version']);
  const startup = Date.now() - t0;
  const bound = deadlineBound(startup);
  t.comment(`process start-up ${startup} ms: --timeout 5 must end within ${bound} ms`);
  const unsignedPod = pod(`${proxy.host}/f/unsigned:v1`);

  await t.test('controls through the proxy', async (t) => {
    proxy.reset();
    t.equal((await check(fail, signedPod)).code, 0, 'signed: allowed');
    const u = await check(fail, unsignedPod);
    t.equal(u.code, 1, 'unsigned: blocked');
    t.equal(u.result.allowed, false);
  });

  await t.test('unreachable registry: failurePolicy decides', async (t) => {
    const port = await freePort();
    const gone = pod(`127.0.0.1:${port}/f/app:v1`);
    const ig = await check(ignore, gone, ['--registry-timeout', '2']);
    t.equal(ig.code, 0, 'Ignore: exit 0');
    t.equal(ig.result.allowed, true, 'Ignore: allowed');
    t.equal(ig.result.rules[0].status, 'error');
    t.match(
      ig.result.warnings.join('\n'),
      /failurePolicy Ignore.*registry unreachable/,
      'Ignore: with a warning naming the outage',
    );
    const fl = await check(fail, gone, ['--registry-timeout', '2']);
    t.equal(fl.code, 3, 'Fail: exit 3 (could not decide)');
    t.equal(fl.result.allowed, false, 'Fail: blocked');
    t.match(fl.result.message, /registry unreachable/);
  });

  await t.test('registry stops answering mid-verification: failurePolicy decides, within the deadline', async (t) => {
    // the tag resolves, the signature fetch hangs
    proxy.reset();
    proxy.rule = (r: FaultRequest) => (isManifest(r) && r.path.includes('.sig') ? { kind: 'hang' } : undefined);
    for (const [name, p, code, allowed] of [['Fail', fail, 3, false], ['Ignore', ignore, 0, true]] as const) {
      const r = await check(p, unsignedPod, ['--timeout', '5']);
      t.equal(r.code, code, `${name}: exit ${code}`);
      t.equal(r.result.allowed, allowed, `${name}: ${allowed ? 'allowed with a warning' : 'blocked'}`);
      t.ok(r.ms < bound, `${name}: decided in ${r.ms} ms (< ${bound})`);
      t.equal(r.result.rules[0].status, 'error');
      t.match(r.result.rules[0].message, /deadline exceeded/);
    }
  });

  await t.test('transient faults are retried: the real answer decides', async (t) => {
    proxy.reset();
    proxy.rule = (r) => (isManifest(r) && r.seen < 2 ? { kind: 'respond', status: 503 } : undefined);
    const s = await check(fail, signedPod);
    t.equal(s.code, 0, 'signed behind two 503s: allowed');
    proxy.reset();
    proxy.rule = (r) => (isManifest(r) && r.seen < 2 ? { kind: 'respond', status: 503 } : undefined);
    const u = await check(ignore, unsignedPod);
    t.equal(u.code, 1, 'unsigned behind two 503s, even under Ignore: blocked');
    t.equal(u.result.rules[0].images[0].code, 'SIGNATURE_NOT_FOUND');
  });

  await t.test('a registry that errors on the signatures never lets an unsigned image in unverified', async (t) => {
    const sigTags = (r: FaultRequest) => isManifest(r) && r.path.endsWith('.sig');
    for (
      const [name, fault] of [
        ['500 on the signature tag', { kind: 'respond', status: 500 }],
        ['signature manifest truncated', { kind: 'truncate', bytes: 20 }],
        ['connection reset on the signature tag', { kind: 'reset' }],
      ] as const
    ) {
      proxy.reset();
      proxy.rule = (r) => (sigTags(r) ? fault : undefined);
      const f = await check(fail, unsignedPod, ['--timeout', '20']);
      t.not(f.code, 0, `${name}, Fail: not exit 0`);
      t.equal(f.result.allowed, false, `${name}, Fail: blocked`);
      proxy.reset();
      proxy.rule = (r) => (sigTags(r) ? fault : undefined);
      const i = await check(ignore, unsignedPod, ['--timeout', '20']);
      // Ignore lets a request through only when the registry could not be asked at all,
      // and says so; a registry that answered with an error blocks like a denial
      if (i.result.allowed) {
        t.equal(i.result.rules[0].status, 'error', `${name}, Ignore: allowed only as "could not decide"`);
        t.match(i.result.warnings.join('\n'), /failurePolicy Ignore/, `${name}, Ignore: with a warning`);
      } else {
        t.equal(i.code, 1, `${name}, Ignore: blocked`);
      }
      t.comment(
        `${name}: Fail -> exit ${f.code}, Ignore -> exit ${i.code} (${
          i.result.allowed ? 'allowed with warning' : 'blocked'
        })`,
      );
    }
  });
});
