// A verifyImages attestation's attestor sets, through `sigward check`, on an
// image attested by the real cosign 3.1.1 (SLSA provenance, legacy format,
// no transparency log): attestors tried in order until `count` of them
// verified statements that pass the conditions; each one that did not is
// named in the Kyverno-worded count failure; the predicate of a named
// attestation reaches validate.deny. The exact messages are pinned: the
// count, the set and entry paths and every reason.

import t from 'tap';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RegistryClient } from '../../lib/oci/registry.ts';
import { pushImage, withRegistry } from '../helpers/registry.ts';
import { runSigward } from '../helpers/cli.ts';
import { kubectlPod } from '../helpers/kubectl.ts';
import { keyAttestor, keyPolicy } from '../helpers/policies.ts';
import { cosignRunner, withRealCosign } from '../helpers/peers.ts';

const SLSA = 'https://slsa.dev/provenance/v0.2';

withRealCosign(main);

function main(): void {
  t.test('attestor sets of an attestation: count, order, reasons and the named predicate', async (t) => {
    const tmp = mkdtempSync(join(tmpdir(), 'sigward-attestation-sets-'));
    t.teardown(() => rmSync(tmp, { recursive: true, force: true }));
    const env = { COSIGN_PASSWORD: 'pw', HOME: tmp, PATH: process.env.PATH ?? '/usr/bin:/bin' };
    const cosign = cosignRunner(tmp, env);
    const reg = await withRegistry(t);
    const store = new RegistryClient();
    t.teardown(() => store.close());
    t.equal((await cosign(['generate-key-pair'])).code, 0);
    t.equal((await cosign(['generate-key-pair', '--output-key-prefix', 'other'])).code, 0);
    const signer = readFileSync(join(tmp, 'cosign.pub'), 'utf8');
    const stranger = readFileSync(join(tmp, 'other.pub'), 'utf8');
    writeFileSync(join(tmp, 'provenance.json'), JSON.stringify({ builder: { id: 'ci' } }));
    const digest = await pushImage(store, reg.ref('sets/app'), { tag: 'v1' });
    const image = `${reg.host}/sets/app@${digest}`;
    // offline: a key, the legacy format, no transparency log
    const offline = ['--key', 'cosign.key', '--use-signing-config=false', '--tlog-upload=false'];
    const push = ['--new-bundle-format=false', '--allow-insecure-registry', '--yes'];
    const a = await cosign([
      'attest',
      ...offline,
      ...push,
      '--type',
      'slsaprovenance',
      '--predicate',
      'provenance.json',
      image,
    ]);
    t.equal(a.code, 0, `cosign attest: ${a.stderr}`);
    const sig = await cosign(['sign', ...offline, ...push, image]);
    t.equal(sig.code, 0, `cosign sign: ${sig.stderr}`);
    const pod = join(tmp, 'pod.json');
    writeFileSync(pod, JSON.stringify(kubectlPod('app', image)));
    let n = 0;
    const check = async (entry: Record<string, unknown>, attestors = true) => {
      const policy = join(tmp, `policy-${n++}.yaml`);
      writeFileSync(
        policy,
        keyPolicy({
          key: signer,
          refs: [`${reg.host}/sets/*`],
          attestors,
          entry: { mutateDigest: false, verifyDigest: false, ...entry },
        }),
      );
      const r = await runSigward(['check', '--policy', policy, '--resource', pod, '-o', 'json']);
      const text = String(JSON.parse(r.stdout).results[0].message ?? '').replace(/\s*\n\s*/g, ' ');
      // the entry's own message, without the admission wording around it
      const m = /verify: 'failed to verify image [^ ]+: (.*)'\s*$/.exec(text);
      return { code: r.code, message: m ? m[1] : text.trim() };
    };
    const builderIs = (id: string) => [{ all: [{ key: '{{ builder.id }}', operator: 'Equals', value: id }] }];
    const att = (attestors: unknown[], extra: Record<string, unknown> = {}) => ({
      attestations: [{ type: SLSA, attestors, conditions: builderIs('ci'), ...extra }],
    });
    const entry = (k: number) => `.attestations[0].attestors[0].entries[${k}]`;
    const invalid = `no verified attestations for predicate type ${SLSA}: invalid signature`;
    const count = (verified: number, required: number, error: string) =>
      `image attestations verification failed, verifiedCount: ${verified}, requiredCount: ${required}, error: ${error}`;

    const all = await check(att([{ entries: [keyAttestor(stranger), keyAttestor(signer)] }]), false);
    t.equal(all.code, 1, 'no count: every entry must verify');
    t.equal(all.message, count(1, 2, `${entry(0)}.keys: ${invalid}`));

    const one = await check(att([{ count: 1, entries: [keyAttestor(stranger), keyAttestor(signer)] }]), false);
    t.equal(one.code, 0, 'count 1: the second entry verifies');

    const two = await check(att([{ count: 2, entries: [keyAttestor(signer), keyAttestor(stranger)] }]), false);
    t.equal(two.code, 1, 'count 2, one verifies: denied');
    t.equal(two.message, count(1, 2, `${entry(1)}.keys: ${invalid}`));

    const both = await check(
      att([{ entries: [keyAttestor(signer)] }, { count: 1, entries: [keyAttestor(stranger), keyAttestor(stranger)] }]),
      false,
    );
    t.equal(both.code, 1, 'every set must be satisfied: the second is not');
    t.equal(
      both.message,
      count(
        0,
        1,
        `.attestations[0].attestors[1].entries[0].keys: ${invalid}; .attestations[0].attestors[1].entries[1].keys: ${invalid}`,
      ),
    );

    const failing = await check(att([{ entries: [keyAttestor(signer)] }], { conditions: builderIs('evil') }), false);
    t.equal(failing.code, 1, 'the statement verifies but fails the conditions');
    t.equal(
      failing.message,
      count(
        0,
        1,
        `${entry(0)}.keys: attestation checks failed for ${image} and predicate ${SLSA}: ` +
          'condition "{{ builder.id }}" Equals "evil" is false (key resolved to "ci")',
      ),
    );

    const nested = await check(
      att([{ count: 1, entries: [{ attestor: { entries: [keyAttestor(signer)] } }, keyAttestor(signer)] }]),
      false,
    );
    t.equal(nested.code, 0, 'a nested attestor cannot be used for an attestation, the next entry can');
    const nestedOnly = await check(att([{ entries: [{ attestor: { entries: [keyAttestor(signer)] } }] }]), false);
    t.equal(nestedOnly.code, 1);
    t.equal(nestedOnly.message, count(0, 1, `${entry(0)}: nested attestors are not supported for attestations`));

    const inherited = await check({ attestations: [{ type: SLSA, conditions: builderIs('ci') }] });
    t.equal(inherited.code, 0, "an attestation without attestors is checked with the entry's (the signer key)");
    const inheritedFails = await check({ attestations: [{ type: SLSA, conditions: builderIs('evil') }] });
    t.equal(inheritedFails.code, 1);
    t.match(inheritedFails.message, `${entry(0)}.keys: attestation checks failed`, "the entry's attestor, by its path");

    const deny = (id: string) => ({
      ...att([{ entries: [keyAttestor(signer)] }], { name: 'prov' }),
      validate: { deny: { conditions: { any: [{ key: '{{ prov.builder.id }}', operator: 'Equals', value: id }] } } },
    });
    t.equal((await check(deny('evil'), false)).code, 0, 'the named predicate reaches validate.deny: ci is not evil');
    const denied = await check(deny('ci'), false);
    t.equal(denied.code, 1, 'validate.deny over the named predicate denies');
  });
}
