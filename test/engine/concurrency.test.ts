// The engine verifies the images of different rules and policies at the same
// time (Kyverno goes rule by rule, so a Pod under several policies waits for
// the sum of their verifications). Observed at the registry: a proxy holds
// every request for HOLD_MS and records which repositories had requests in
// flight at once. Verified one rule after the other, the two repositories
// below would never overlap.

import t from 'tap';
import { RegistryClient } from '../../lib/oci/registry.ts';
import { loadPolicies } from '../../lib/policy/index.ts';
import { createEngine } from '../../lib/engine/index.ts';
import { loadTrustMaterial } from '../../lib/trust/index.ts';
import { pushImage, withRegistry } from '../helpers/registry.ts';
import { makeKey, signImage } from '../helpers/cosign.ts';
import { kubectlPod } from '../helpers/kubectl.ts';
import { startFaultProxy } from '../helpers/proxy.ts';
import { policyYaml } from '../server/helpers.ts';
import { keyImageValidatingPolicy } from '../helpers/policies.ts';

const HOLD_MS = 150;

t.test('rules of different policies verify their images concurrently, results in policy order', async (t) => {
  const reg = await withRegistry(t);
  const store = new RegistryClient();
  t.teardown(() => store.close());
  const proxy = await startFaultProxy(reg.url);
  t.teardown(() => proxy.stop());
  const keyX = makeKey();
  const keyY = makeKey();
  for (const [name, key] of [['conc/x', keyX], ['conc/y', keyY]] as const) {
    const digest = await pushImage(store, reg.ref(name), { tag: 'v1' });
    await signImage({ store, repository: reg.ref(name), digest, key });
  }

  const inFlight = new Map<string, number>();
  let overlap = 0;
  proxy.rule = (req) => {
    const repo = /^\/v2\/(.+?)\/(?:manifests|blobs|referrers|tags)\//.exec(req.path)?.[1];
    if (!repo) return undefined;
    inFlight.set(repo, (inFlight.get(repo) ?? 0) + 1);
    overlap = Math.max(overlap, [...inFlight.values()].filter((n) => n > 0).length);
    setTimeout(() => inFlight.set(repo, inFlight.get(repo)! - 1), HOLD_MS);
    return { kind: 'delay', ms: HOLD_MS };
  };

  const text = [
    policyYaml({ name: 'verify-x', images: [`${proxy.host}/conc/x*`], key: keyX }),
    policyYaml({ name: 'verify-y', images: [`${proxy.host}/conc/y*`], key: keyY }),
  ].join('\n---\n');
  const { policies } = loadPolicies(text);
  const engine = createEngine({ policies, stores: () => store, trust: await loadTrustMaterial({}) });
  const pod = kubectlPod('app', `${proxy.host}/conc/x:v1`) as {
    spec: { containers: { name: string; image: string }[] };
  };
  pod.spec.containers.push({ name: 'side', image: `${proxy.host}/conc/y:v1` });

  const ev = await engine.evaluateResource(pod, { operation: 'CREATE' });
  t.equal(ev.allowed, true, ev.message ?? '');
  t.same(ev.rules.map((r) => r.policy), ['verify-x', 'verify-y'], 'results in the order of the policies');
  t.equal(ev.patches.length, 2, 'both images pinned');
  t.equal(overlap, 2, 'the registry saw requests for both repositories in flight at once');

  // a failure in one policy still reports both, and denies
  overlap = 0;
  const bad = kubectlPod('app', `${proxy.host}/conc/x:v1`) as typeof pod;
  bad.spec.containers.push({ name: 'side', image: `${proxy.host}/conc/y:v1` });
  const swapped = loadPolicies(
    [
      policyYaml({ name: 'verify-x', images: [`${proxy.host}/conc/x*`], key: keyY }),
      policyYaml({ name: 'verify-y', images: [`${proxy.host}/conc/y*`], key: keyY }),
    ].join('\n---\n'),
  );
  const ev2 = await createEngine({
    policies: swapped.policies,
    stores: () => store,
    trust: await loadTrustMaterial({}),
  }).evaluateResource(bad, { operation: 'CREATE' });
  t.equal(ev2.allowed, false);
  t.same(ev2.rules.map((r) => [r.policy, r.status]), [['verify-x', 'fail'], ['verify-y', 'pass']]);
  t.match(ev2.message, /verify-x/);

  // the same for two ImageValidatingPolicies
  const ivpol = (name: string, repo: string, key: typeof keyX) =>
    keyImageValidatingPolicy({
      name,
      key: key.publicPem,
      glob: `${proxy.host}/${repo}*`,
      validations: [{
        expression: 'images.containers.map(i, verifyImageSignatures(i, [attestors.k])).all(e, e > 0)',
        message: 'not signed',
      }],
    });
  overlap = 0;
  const ivpols = loadPolicies([ivpol('iv-x', 'conc/x', keyX), ivpol('iv-y', 'conc/y', keyY)].join('---\n'));
  const ev3 = await createEngine({ policies: ivpols.policies, stores: () => store, trust: await loadTrustMaterial({}) })
    .evaluateResource(pod, { operation: 'CREATE' });
  t.equal(ev3.allowed, true, ev3.message ?? '');
  t.same(ev3.rules.map((r) => r.policy), ['iv-x', 'iv-y'], 'ImageValidatingPolicy results in policy order');
  t.equal(overlap, 2, 'two ImageValidatingPolicies verify at the same time');
});
