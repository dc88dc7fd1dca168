// Attack suite, digest spellings and wildcard forms: an image that a matching
// verifyImages rule cannot parse or verify must fail that rule (Enforce
// denies), never vanish as "no policy applies"; and every wildcard form Kyverno
// takes (`*` and `?`) must select in every place a policy takes a wildcard.
// Real images and signatures in the real registry, Pods from kubectl, checked
// with the sigward binary.

import t, { type Test } from 'tap';
import { RegistryClient } from '../../lib/oci/registry.ts';
import { pushImage, withRegistry } from '../helpers/registry.ts';
import { makeKey, signImage, type TestKey } from '../helpers/cosign.ts';
import { kubectlPod } from '../helpers/kubectl.ts';
import { AttackLog, scratch, sigwardJson } from './helpers.ts';

function indent(text: string, n: number): string {
  return text.trim().split('\n').map((l) => ' '.repeat(n) + l).join('\n');
}

interface PolicyOptions {
  refs: string[];
  skip?: string[];
  action?: 'Enforce' | 'Audit';
  overrides?: { action: string; namespaces?: string[]; namespaceSelector?: unknown }[];
  namespaces?: string[];
  names?: string[];
}

function policy(key: TestKey, o: PolicyOptions): string {
  const resources = {
    kinds: ['Pod'],
    ...(o.namespaces ? { namespaces: o.namespaces } : {}),
    ...(o.names ? { names: o.names } : {}),
  };
  return `apiVersion: kyverno.io/v1
kind: ClusterPolicy
metadata: {name: wild}
spec:
  validationFailureAction: ${o.action ?? 'Enforce'}
${o.overrides ? `  validationFailureActionOverrides: ${JSON.stringify(o.overrides)}\n` : ''}  rules:
    - name: verify
      match: {any: [{resources: ${JSON.stringify(resources)}}]}
      verifyImages:
        - imageReferences: ${JSON.stringify(o.refs)}
${o.skip ? `          skipImageReferences: ${JSON.stringify(o.skip)}\n` : ''}          attestors:
            - entries:
                - keys:
                    publicKeys: |-
${indent(key.publicPem, 22)}
                    rekor: {ignoreTlog: true}
`;
}

t.test('digest spellings and wildcard forms', async (t) => {
  const reg = await withRegistry(t);
  const store = new RegistryClient();
  t.teardown(() => store.close());
  const s = scratch(t);
  const log = new AttackLog('attacks/wildcards-digests');
  const good = makeKey();
  const evil = makeKey();
  const host = reg.host;
  const signed = await pushImage(store, reg.ref('w/app'), { tag: 'v1' });
  await signImage({ store, repository: reg.ref('w/app'), digest: signed, key: good });
  const forged = await pushImage(store, reg.ref('w/app'), { tag: 'evil' });
  await signImage({ store, repository: reg.ref('w/app'), digest: forged, key: evil });
  let n = 0;
  const check = async (policyText: string, resource: unknown) => {
    const r = await sigwardJson([
      'check',
      '--policy',
      s.file(`p${n++}.yaml`, policyText),
      '--resource',
      s.file(`r${n++}.json`, JSON.stringify(resource)),
    ]);
    const rules = r.doc.results?.[0]?.rules ?? [];
    const images = rules.flatMap((x: any) => x.images);
    return { ...r, allowed: r.doc.results?.[0]?.allowed, images, rules };
  };
  /** blocked because of `image`: its own failing result, or (an image Kyverno cannot parse) the rule errs naming it */
  const denied = (t: Test, name: string, r: Awaited<ReturnType<typeof check>>, image: string) => {
    const hit = r.images.find((i: any) => i.image === image);
    const ruleError = r.rules.find((x: any) => x.status === 'error' && String(x.message).includes(image));
    // exit 1 (denied), or 3 (blocked, undecided) when the only result is a rule error
    t.equal(r.code, hit ? 1 : 3, `${name}: exit ${hit ? 1 : 3}`);
    t.equal(r.allowed, false, `${name}: denied`);
    t.ok(hit || ruleError, `${name}: the rule decided ${image} (it did not vanish)`);
    if (hit) t.not(hit.status, 'pass', `${name}: not passed`);
    log.record(name);
  };

  const ctl = await check(policy(good, { refs: [`${host}/w/*`] }), kubectlPod('web', `${host}/w/app@${signed}`));
  t.equal(ctl.code, 0, 'control: the signed image by digest is allowed');
  t.equal(ctl.images[0]?.status, 'pass', 'control: it was verified');

  await t.test('every digest spelling Kubernetes accepts is decided by a matching rule', async (t) => {
    // Kubernetes takes any image string; containerd (go-digest) pulls sha256, sha384 and sha512.
    const hex = (c: string, len: number) => c.repeat(len);
    const spellings: [string, string][] = [
      ['sha256 of an image signed by another key', forged],
      ['sha384 (valid for go-digest and containerd, not supported by sigward)', `sha384:${hex('a', 96)}`],
      ['sha512 of no image', `sha512:${hex('b', 128)}`],
      ['unknown algorithm', `md5:${hex('c', 32)}`],
      ['sha256 with uppercase hex', `sha256:${signed.slice(7).toUpperCase()}`],
      ['sha256 too short', `sha256:${hex('d', 63)}`],
      ['sha384 too long', `sha384:${hex('e', 97)}`],
    ];
    for (const [name, digest] of spellings) {
      for (const image of [`${host}/w/app@${digest}`, `${host}/w/app:v1@${digest}`]) {
        denied(
          t,
          `${name}: ${image.includes(':v1@') ? 'tag and digest' : 'digest only'}`,
          await check(policy(good, { refs: [`${host}/w/*`] }), kubectlPod('web', image)),
          image,
        );
      }
    }
  });

  await t.test('every wildcard form in every place a policy takes a wildcard', async (t) => {
    const bad = `${host}/w/app:evil`;
    const pod = (ns = 'team-a', name = 'web') => kubectlPod(name, bad, ns);
    const patterns = [
      `${host}/w/*`,
      `${host}/w/ap?:*`,
      `${host}/w/a*p:evil`,
      `${host}/?/app:evil`,
      `*/w/app:*`,
      `${host}/w/app:ev?l`,
    ];
    for (const p of patterns) denied(t, `imageReferences ${p}`, await check(policy(good, { refs: [p] }), pod()), bad);
    // skipImageReferences must skip only what it matches
    for (const p of [`${host}/w/ap?:other`, `${host}/x/*`, `${host}/w/app:evi`]) {
      denied(
        t,
        `skipImageReferences ${p} does not skip ${bad}`,
        await check(policy(good, { refs: [`${host}/w/*`], skip: [p] }), pod()),
        bad,
      );
    }
    const skipped = await check(policy(good, { refs: [`${host}/w/*`], skip: [`${host}/w/ap?:ev*`] }), pod());
    t.equal(
      skipped.images.find((i: any) => i.image === bad)?.status,
      'skip',
      'control: a matching skip pattern with ? skips',
    );
    for (const ns of ['team-?', 'team-*', 't?am-a', '*-a']) {
      denied(
        t,
        `match namespaces ${ns}`,
        await check(policy(good, { refs: [`${host}/w/*`], namespaces: [ns] }), pod()),
        bad,
      );
    }
    for (const name of ['w?b', 'w*', '???']) {
      denied(t, `match names ${name}`, await check(policy(good, { refs: [`${host}/w/*`], names: [name] }), pod()), bad);
    }
    for (const ns of ['team-?', 'team-*', 't?am-*', 'team-a']) {
      denied(
        t,
        `validationFailureActionOverrides namespaces ${ns} turn Audit into Enforce`,
        await check(
          policy(good, {
            refs: [`${host}/w/*`],
            action: 'Audit',
            overrides: [{ action: 'Enforce', namespaces: [ns] }],
          }),
          pod(),
        ),
        bad,
      );
    }
    const audit = await check(
      policy(good, {
        refs: [`${host}/w/*`],
        action: 'Audit',
        overrides: [{ action: 'Enforce', namespaces: ['team-?'] }],
      }),
      pod('team-ab'),
    );
    t.equal(audit.code, 0, 'control: ? matches exactly one character, team-ab stays under Audit');
  });

  await t.test('every override form Kyverno honours, and selectors sigward cannot read fail closed', async (t) => {
    const bad = `${host}/w/app:evil`;
    const pod = kubectlPod('web', bad, 'team-a');
    const audit = (overrides: PolicyOptions['overrides']) =>
      policy(good, { refs: [`${host}/w/*`], action: 'Audit', overrides });
    const name = (ns: string) => ({ matchLabels: { 'kubernetes.io/metadata.name': ns } });
    denied(
      t,
      'an Enforce override naming no namespace applies to every namespace',
      await check(audit([{ action: 'Enforce' }]), pod),
      bad,
    );
    denied(
      t,
      'an Enforce override with a namespaceSelector on the name label',
      await check(audit([{ action: 'Enforce', namespaceSelector: name('team-a') }]), pod),
      bad,
    );
    denied(
      t,
      'an Enforce override with matchExpressions on the name label',
      await check(
        audit([{
          action: 'Enforce',
          namespaceSelector: {
            matchExpressions: [{ key: 'kubernetes.io/metadata.name', operator: 'In', values: ['team-a', 'team-b'] }],
          },
        }]),
        pod,
      ),
      bad,
    );
    denied(
      t,
      'an Enforce override with namespaces and a selector, both matching',
      await check(audit([{ action: 'Enforce', namespaces: ['team-*'], namespaceSelector: name('team-a') }]), pod),
      bad,
    );
    denied(
      t,
      'an Enforce override on a label sigward cannot read: fails closed (Enforce)',
      await check(audit([{ action: 'Enforce', namespaceSelector: { matchLabels: { env: 'prod' } } }]), pod),
      bad,
    );
    const enforce = (overrides: PolicyOptions['overrides']) =>
      policy(good, { refs: [`${host}/w/*`], action: 'Enforce', overrides });
    denied(
      t,
      'an Audit override on a label sigward cannot read does not relax Enforce',
      await check(enforce([{ action: 'Audit', namespaceSelector: { matchLabels: { env: 'dev' } } }]), pod),
      bad,
    );
    const other = await check(audit([{ action: 'Enforce', namespaceSelector: name('team-b') }]), pod);
    t.equal(other.code, 0, 'control: a selector on another namespace name leaves team-a under Audit');
    const both = await check(
      audit([{ action: 'Enforce', namespaces: ['team-a'], namespaceSelector: name('team-b') }]),
      pod,
    );
    t.equal(both.code, 0, 'control: namespaces and selector must both match');
    const relaxed = await check(enforce([{ action: 'Audit', namespaceSelector: name('team-a') }]), pod);
    t.equal(relaxed.code, 0, 'control: an Audit override selected by name relaxes Enforce, as in Kyverno');
  });

  log.report(t);
});
