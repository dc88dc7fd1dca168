// The engine selects once per request which rules and policies apply to an
// object, with which of its images, in Kyverno's order (match, images the
// entries select, then context and preconditions); the webhook passes that
// selection back to the evaluation. Offline: selection reads no registry, and
// the stores below fail any request.

import t from 'tap';
import { loadPolicies } from '../../lib/policy/index.ts';
import { createEngine } from '../../lib/engine/index.ts';
import { loadTrustMaterial } from '../../lib/trust/index.ts';
import { SigwardError } from '../../lib/errors.ts';
import type { OciStore } from '../../lib/oci/types.ts';
import { makeKey } from '../helpers/cosign.ts';
import { kubectl, kubectlPod } from '../helpers/kubectl.ts';
import { keyImageValidatingPolicy, keyPolicy } from '../helpers/policies.ts';

const key = makeKey();
const noRegistry = (): OciStore => {
  throw new SigwardError('REGISTRY_ERROR', 'this test has no registry');
};

const apiContext = {
  context: [{ name: 'ns', apiCall: { urlPath: '/api/v1/namespaces/default', jmesPath: 'metadata.labels' } }],
};

t.test('selection: rules, images and failures, in Kyverno order', async (t) => {
  const text = [
    keyPolicy({ key: key.publicPem, name: 'selects-a', refs: ['reg.example/*'] }),
    // no image selected: the rule does not apply, its context is never loaded (Kyverno builds no handler)
    keyPolicy({ key: key.publicPem, name: 'selects-nothing', refs: ['nomatch.example/*'], rule: apiContext }),
    // images selected, context cannot be loaded here: the rule fails
    keyPolicy({ key: key.publicPem, name: 'context-fails', refs: ['other.example/*'], rule: apiContext }),
    keyPolicy({
      key: key.publicPem,
      name: 'deployments-only',
      rule: { match: { any: [{ resources: { kinds: ['Deployment'] } }] } },
    }),
    keyPolicy({
      key: key.publicPem,
      name: 'precondition-false',
      rule: { preconditions: { all: [{ key: '{{ request.object.metadata.name }}', operator: 'Equals', value: 'x' }] } },
    }),
    keyPolicy({
      key: key.publicPem,
      name: 'extractor-fails',
      entry: { mutateDigest: false },
      rule: {
        imageExtractors: { Pod: [{ path: '/spec/containers/*', value: 'image', jmesPath: 'length(@)' }] },
      },
    }),
  ].join('\n---\n');
  const { policies } = loadPolicies(text);
  const engine = createEngine({ policies, stores: noRegistry, trust: await loadTrustMaterial({}) });
  const pod = kubectlPod('app', 'reg.example/a:v1') as { spec: { containers: { name: string; image: string }[] } };
  pod.spec.containers.push({ name: 'b', image: 'other.example/b:v1' });
  const req = { operation: 'CREATE', namespace: 'default' };

  const sel = engine.selectResource(pod, req);
  const byName = new Map(sel.rules.map((r) => [r.policy.metadata.name, r]));
  t.same(
    [...byName.keys()],
    ['selects-a', 'context-fails', 'extractor-fails'],
    'selected: the rules that match and select an image, and those that cannot be evaluated',
  );
  t.same(byName.get('selects-a')!.images.map((i) => i.image), ['reg.example/a:v1'], 'only the images it selects');
  t.equal(byName.get('selects-a')!.failure, undefined);
  t.equal(byName.get('context-fails')!.failure?.status, 'fail', 'a context that cannot be loaded fails the rule');
  t.match(byName.get('context-fails')!.failure?.message, /apiCall/);
  t.equal(byName.get('extractor-fails')!.failure?.status, 'error', 'images that cannot be extracted: an error');
  t.match(byName.get('extractor-fails')!.failure?.message, /must produce a string/);
  t.same(sel.registries, ['other.example', 'reg.example'], 'registry hosts of the selected images');
  t.equal(sel.imageCount, 2);
  t.equal(sel.info.namespace, 'default');

  const ev = await engine.evaluateResource(pod, req, sel);
  t.same(
    ev.rules.map((r) => `${r.policy}:${r.status}`),
    ['selects-a:fail', 'context-fails:fail', 'extractor-fails:error'],
    'the evaluation reports every selected rule',
  );
  t.equal(ev.allowed, false);
  const narrowed = await engine.evaluateResource(pod, req, {
    ...sel,
    rules: sel.rules.filter((r) => r.policy.metadata.name === 'context-fails'),
  });
  t.same(narrowed.rules.map((r) => r.policy), ['context-fails'], 'the evaluation takes the selection it is given');
  const own = await engine.evaluateResource(pod, req);
  t.same(own.rules.map((r) => r.policy), ev.rules.map((r) => r.policy), 'without one it selects the same itself');

  const dep = kubectl(['create', 'deployment', 'app', '--image=reg.example/a:v1']);
  t.same(
    engine.selectResource(dep, req).rules.map((r) => r.policy.metadata.name),
    ['selects-a', 'deployments-only', 'precondition-false', 'extractor-fails'],
    'a Deployment: autogen rules, the Deployment-only rule, and preconditions read from it',
  );
});

t.test('selection: other policy formats', async (t) => {
  const ivpol = (name: string, spec: Record<string, unknown> = {}) =>
    keyImageValidatingPolicy({
      name,
      key: key.publicPem,
      glob: 'reg.example/*',
      resourceRules: [{ apiGroups: ['*'], apiVersions: ['*'], operations: ['CREATE'], resources: ['*'] }],
      validations: [{ expression: 'images.containers.all(i, verifyImageSignatures(i, [attestors.k]) > 0)' }],
      spec,
    });
  const { policies } = loadPolicies([
    ivpol('pod-images'),
    ivpol('own-images', { images: [{ name: 'extra', expression: '[object.data.image]' }] }),
  ].join('\n---\n'));
  const engine = createEngine({ policies, stores: noRegistry, trust: await loadTrustMaterial({}) });
  const pod = kubectlPod('app', 'reg.example/a:v1');
  const sel = engine.selectResource(pod, { operation: 'CREATE' });
  t.same(sel.otherPolicies.map((p) => p.metadata.name), ['pod-images', 'own-images'], 'a Pod: both');
  t.same(sel.resourceImages.map((i) => i.jsonPointer), ['/spec/containers/0/image'], 'its images, extracted once');
  t.same(sel.registries, ['reg.example']);

  const cm = kubectl(['create', 'configmap', 'c', '--from-literal=image=reg.example/a:v1']);
  const cmSel = engine.selectResource(cm, { operation: 'CREATE' });
  t.same(
    cmSel.otherPolicies.map((p) => p.metadata.name),
    ['own-images'],
    'an object without pod images: only the policy that names images of its own',
  );
  const ev = await engine.evaluateResource(cm, { operation: 'CREATE' }, cmSel);
  t.same(ev.rules.map((r) => r.policy), ['own-images'], 'and it is evaluated');
  t.equal(ev.allowed, false, 'its image cannot be verified here: denied');
});
