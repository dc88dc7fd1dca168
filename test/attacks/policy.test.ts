// Attack suite, Kyverno policies: real signed and unsigned images in the real
// registry, Kubernetes objects written the way an attacker would to slip an
// unsigned image past a verifyImages rule, checked with `sigward check` (the
// binary). Every attempt must be blocked, and the result must name the digest
// that was verified.

import t, { type Test } from 'tap';
import { RegistryClient } from '../../lib/oci/registry.ts';
import { matchesAnyPattern, parseImageFromPodSpec, toKyvernoMatchString } from '../../lib/reference/index.ts';
import { pushImage, withRegistry } from '../helpers/registry.ts';
import { attestImage, makeKey, signImage, type TestKey } from '../helpers/cosign.ts';
import { kubectlCreate, kubectlPod } from '../helpers/kubectl.ts';
import { AttackLog, scratch, sigwardJson } from './helpers.ts';
import { startSigstore } from '../helpers/sigstore.ts';
import { attachLayer } from '../../lib/cosign/attach.ts';
import { ANNOTATION } from '../../lib/cosign/annotations.ts';
import { makeSimpleSigningPayload } from '../../lib/cosign/payload.ts';
import { signBytes } from '../helpers/cosign.ts';

function indent(text: string, n: number): string {
  return text.trim().split('\n').map((l) => ' '.repeat(n) + l).join('\n');
}

/** A `keys` attestor entry; without `rekorPem` the transparency log is ignored, with it that Rekor is required. */
function keysEntry(k: TestKey, at: number, rekorPem?: string): string {
  const sp = ' '.repeat(at);
  const rekor = rekorPem ? `rekor:\n${sp}      pubkey: |-\n${indent(rekorPem, at + 8)}` : 'rekor: {ignoreTlog: true}';
  return `${sp}- keys:\n${sp}    publicKeys: |-\n${indent(k.publicPem, at + 6)}\n${sp}    ${rekor}`;
}

/** A ClusterPolicy verifying `refs` with the given keys (count: all unless set). */
function policy(
  name: string,
  refs: string[],
  keys: TestKey[],
  o: { count?: number; attestation?: string; rekorPem?: string } = {},
): string {
  return `apiVersion: kyverno.io/v1
kind: ClusterPolicy
metadata: {name: ${name}}
spec:
  validationFailureAction: Enforce
  rules:
    - name: verify
      match: {any: [{resources: {kinds: [Pod]}}]}
      verifyImages:
        - imageReferences: ${JSON.stringify(refs)}
          mutateDigest: true
          attestors:
            - ${o.count ? `count: ${o.count}\n              ` : ''}entries:
${keys.map((k) => keysEntry(k, 16, o.rekorPem)).join('\n')}
${o.attestation ?? ''}`;
}

t.test('objects written to slip an unsigned image past a verifyImages rule', async (t) => {
  const reg = await withRegistry(t);
  const store = new RegistryClient();
  t.teardown(() => store.close());
  const s = scratch(t);
  const log = new AttackLog('attacks/policy');
  const k1 = makeKey();
  const k2 = makeKey();
  const host = reg.host;
  const port = host.split(':')[1]!;
  const signed = await pushImage(store, reg.ref('p/app'), { tag: 'signed' });
  await signImage({ store, repository: reg.ref('p/app'), digest: signed, key: k1 });
  const unsigned = await pushImage(store, reg.ref('p/app'), { tag: 'unsigned' });
  await pushImage(store, reg.ref('pevil/app'), { tag: 'v1' });
  let n = 0;
  const check = async (policyText: string | string[], resource: unknown, extra: string[] = []) => {
    const texts = Array.isArray(policyText) ? policyText : [policyText];
    const files = texts.flatMap((p) => ['--policy', s.file(`policy${n++}.yaml`, p)]);
    const r = await sigwardJson([
      'check',
      ...files,
      '--resource',
      s.file(`res${n++}.json`, JSON.stringify(resource)),
      ...extra,
    ]);
    return { ...r, result: r.doc.results?.[0] };
  };
  /** the run blocked the resource because of `image`, with the code (and digest) given */
  const blocked = (
    t: Test,
    name: string,
    r: Awaited<ReturnType<typeof check>>,
    image: string,
    code: string,
    digest?: string,
  ) => {
    t.equal(r.code, 1, `${name}: exit 1`);
    t.equal(r.result?.allowed, false, `${name}: blocked`);
    const hits = (r.result?.rules ?? []).flatMap((x: any) => x.images).filter((i: any) => i.image === image);
    const hit = hits.find((i: any) => i.status !== 'pass') ?? hits[0];
    t.ok(hit, `${name}: ${image} was verified`);
    t.equal(hit?.status, 'fail', `${name}: failed`);
    t.equal(hit?.code, code, `${name}: code ${code}`);
    if (digest) t.equal(hit?.digest, digest, `${name}: digest`);
    if (hits.every((i: any) => i.status !== 'pass')) {
      t.same(
        r.result?.patches?.filter((p: any) => String(p.value).includes(image)),
        [],
        `${name}: no digest patch for it`,
      );
    }
    log.record(name);
  };
  const strict = policy('signed-p', [`${host}/p/*`], [k1]);

  const ok = await check(strict, kubectlPod('web', `${host}/p/app:signed`));
  t.equal(ok.code, 0, 'control: the signed image is allowed');
  t.equal(ok.result.patches[0].value, `${host}/p/app:signed@${signed}`);

  await t.test('tag of a signed image, digest of an unsigned one', async (t) => {
    const image = `${host}/p/app:signed@${unsigned}`;
    blocked(
      t,
      'signed tag with the digest of an unsigned image (the digest is verified)',
      await check(strict, kubectlPod('web', image)),
      image,
      'SIGNATURE_NOT_FOUND',
      unsigned,
    );
  });

  await t.test('unsigned image beside signed ones', async (t) => {
    const bad = `${host}/p/app:unsigned`;
    const pod = kubectlPod('web', `${host}/p/app:signed`) as any;
    pod.spec.initContainers = [{ name: 'init', image: bad }];
    blocked(t, 'unsigned image in initContainers', await check(strict, pod), bad, 'SIGNATURE_NOT_FOUND', unsigned);
    const pod2 = kubectlPod('web', `${host}/p/app:signed`) as any;
    pod2.spec.ephemeralContainers = [{ name: 'debug', image: bad }];
    blocked(
      t,
      'unsigned image in ephemeralContainers',
      await check(strict, pod2),
      bad,
      'SIGNATURE_NOT_FOUND',
      unsigned,
    );
    const dep = kubectlCreate('deployment', 'web', bad);
    blocked(
      t,
      'unsigned image in a Deployment pod template (autogen)',
      await check(strict, dep),
      bad,
      'SIGNATURE_NOT_FOUND',
      unsigned,
    );
  });

  await t.test('count: two signatures by the same key are one attestor', async (t) => {
    const d = await pushImage(store, reg.ref('p/twice'), { tag: 'v1' });
    await signImage({ store, repository: reg.ref('p/twice'), digest: d, key: k1 });
    await signImage({ store, repository: reg.ref('p/twice'), digest: d, key: k1 });
    const image = `${host}/p/twice:v1`;
    blocked(
      t,
      'two signatures by one key against count: 2 of two keys',
      await check(policy('dual', [`${host}/p/*`], [k1, k2], { count: 2 }), kubectlPod('web', image)),
      image,
      'SIGNATURE_INVALID',
      d,
    );
  });

  await t.test('attestation conditions only see signed statements', async (t) => {
    const d = await pushImage(store, reg.ref('p/reviewed'), { tag: 'v1' });
    await signImage({ store, repository: reg.ref('p/reviewed'), digest: d, key: k1 });
    await attestImage({
      store,
      repository: reg.ref('p/reviewed'),
      digest: d,
      key: k1,
      predicateType: 'https://example.com/Review/v1',
      predicate: { approved: 'no' },
    });
    await attestImage({
      store,
      repository: reg.ref('p/reviewed'),
      digest: d,
      key: k2,
      predicateType: 'https://example.com/Review/v1',
      predicate: { approved: 'yes' },
    });
    const attestation = `          attestations:
            - type: https://example.com/Review/v1
              attestors:
                - entries:
${keysEntry(k1, 20)}
              conditions:
                - all:
                    - key: "{{ approved }}"
                      operator: Equals
                      value: "yes"
`;
    const image = `${host}/p/reviewed:v1`;
    blocked(
      t,
      'attacker-signed attestation satisfying the condition beside a signed one that does not',
      await check(policy('review', [`${host}/p/*`], [k1], { attestation }), kubectlPod('web', image)),
      image,
      'ATTESTATION_INVALID',
      d,
    );
  });

  await t.test('two policies trusting different Rekor logs do not share a verification', async (t) => {
    // signed with k1 and logged in Rekor A only; policy B requires Rekor B
    const rekorA = await startSigstore({ withX509CA: true });
    const rekorB = await startSigstore({ withX509CA: true });
    const d = await pushImage(store, reg.ref('p/logged'), { tag: 'v1' });
    const payload = makeSimpleSigningPayload(`${host}/p/logged`, d, null);
    const signature = signBytes(k1, payload);
    const set = await rekorA.logHashedRekord({ payload, signature, verifierPEM: k1.publicPem });
    await attachLayer({
      store,
      repository: reg.ref('p/logged'),
      digest: d,
      suffix: 'sig',
      payload,
      annotations: { [ANNOTATION.signature]: signature.toString('base64'), [ANNOTATION.bundle]: set },
    });
    const image = `${host}/p/logged:v1`;
    const a = policy('rekor-a', [`${host}/p/*`], [k1], { rekorPem: rekorA.rekorKeyPEM });
    const b = policy('rekor-b', [`${host}/p/*`], [k1], { rekorPem: rekorB.rekorKeyPEM });
    t.equal((await check(a, kubectlPod('web', image))).code, 0, 'control: logged in Rekor A, policy A allows');
    const onlyB = await check(b, kubectlPod('web', image));
    t.equal(onlyB.code, 1, 'control: policy B alone blocks');
    blocked(
      t,
      "policy B after policy A in the same evaluation (A's verification must not count for B)",
      await check([a, b], kubectlPod('web', image)),
      image,
      'TLOG_INVALID',
      d,
    );
  });

  await t.test('imageReferences evasion: another spelling of the registry, caught by a catch-all rule', async (t) => {
    const catchAll = policy('catch-all', ['*'], [k1]);
    const spellings: [string, string][] = [
      ['registry written as localhost instead of 127.0.0.1', `localhost:${port}/p/app:unsigned`],
      ['registry host in upper case', `LOCALHOST:${port}/p/app:unsigned`],
      ['repository sharing the pattern prefix without its slash', `${host}/pevil/app:v1`],
    ];
    for (const [name, image] of spellings) {
      const evaded = await check(strict, kubectlPod('web', image));
      t.equal(
        evaded.code,
        0,
        `${name}: the ${host}/p/* rule does not apply to ${image} (Kyverno matches patterns literally)`,
      );
      t.same(evaded.result.rules, [], `${name}: not verified by that rule`);
      blocked(
        t,
        `${name} (catch-all rule)`,
        await check([strict, catchAll], kubectlPod('web', image)),
        image,
        'SIGNATURE_NOT_FOUND',
      );
    }
    // a short name is completed with the default registry before matching
    blocked(
      t,
      'short image name completed with the default registry',
      await check(strict, kubectlPod('web', 'p/app:unsigned'), ['--default-registry', host]),
      'p/app:unsigned',
      'SIGNATURE_NOT_FOUND',
      unsigned,
    );
  });

  await t.test('imageReferences: which spellings a pattern matches (documented, no registry)', async (t) => {
    const m = (pattern: string, image: string) => matchesAnyPattern([pattern], parseImageFromPodSpec(image));
    t.equal(m('registry.company.com/*', 'registry.company.com/app:v1'), true);
    t.equal(
      m('registry.company.com/*', 'registry.company.com.evil.org/app:v1'),
      false,
      'a look-alike host is not the registry',
    );
    t.equal(
      m('registry.company.com/*', 'REGISTRY.company.com/app:v1'),
      false,
      'upper-case host: not matched (Kyverno compares as written): needs a catch-all rule',
    );
    t.equal(
      m('registry.company.com/*', 'registry.company.com:443/app:v1'),
      false,
      'explicit port: not matched (as Kyverno): needs a catch-all rule',
    );
    t.equal(
      m('docker.io/library/nginx*', 'nginx'),
      true,
      'Kyverno names nginx docker.io/nginx:latest, containerd docker.io/library/nginx:latest: sigward matches both spellings',
    );
    t.equal(m('docker.io/nginx*', 'nginx'), true);
    t.equal(m('docker.io/nginx*', 'docker.io/library/nginx'), true, 'and docker.io/library/nginx is the same image');
    t.equal(m('docker.io/nginx*', 'ghcr.io/library/nginx'), false, 'other registries have no second spelling');
    t.equal(
      toKyvernoMatchString(parseImageFromPodSpec('ghcr.io/a/b:signed@sha256:' + 'a'.repeat(64))),
      'ghcr.io/a/b@sha256:' + 'a'.repeat(64),
      'a tag beside a digest is dropped before matching',
    );
    t.equal(m('*', 'anything.example/x:y'), true, 'the catch-all matches every image');
  });

  log.report(t);
});
