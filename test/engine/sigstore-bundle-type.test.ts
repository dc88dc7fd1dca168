// Kyverno `verifyImages[].type: SigstoreBundle` reads Sigstore bundles only:
// an image whose only signature (or attestation) is a legacy `.sig` / `.att`
// made by the real cosign must fail such a rule, while `type: Cosign` (the
// default) accepts either format. Signed and attested by cosign 3.1.1 in both
// formats, checked with the sigward binary (`check` on kubectl Pods).

import t from 'tap';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RegistryClient } from '../../lib/oci/registry.ts';
import { pushImage, withRegistry } from '../helpers/registry.ts';
import { cosignRunner, createOfflineSigningConfig, withRealCosign } from '../helpers/peers.ts';
import { kubectlPod } from '../helpers/kubectl.ts';
import { runSigward } from '../helpers/cli.ts';
import { keyAttestor, keyPolicy } from '../helpers/policies.ts';

withRealCosign(main);

function policy(type: string | undefined, pub: string, attest: boolean): string {
  const entry: Record<string, unknown> = { mutateDigest: false, verifyDigest: false, ...(type ? { type } : {}) };
  if (attest) {
    entry.attestations = [{
      type: 'https://example.com/review/v1',
      attestors: [{ entries: [keyAttestor(pub)] }],
      conditions: [{ all: [{ key: '{{ approved }}', operator: 'Equals', value: true }] }],
    }];
  }
  return keyPolicy({ key: pub, name: 'bundles', entry, attestors: !attest });
}

function main(): void {
  t.test('type: SigstoreBundle reads bundles only', async (t) => {
    const tmp = mkdtempSync(join(tmpdir(), 'sigward-bundle-type-'));
    t.teardown(() => rmSync(tmp, { recursive: true, force: true }));
    const cosign = cosignRunner(tmp, { COSIGN_PASSWORD: 'pw', HOME: tmp, PATH: process.env.PATH ?? '/usr/bin:/bin' });
    const reg = await withRegistry(t);
    const store = new RegistryClient();
    t.teardown(() => store.close());
    t.equal((await cosign(['generate-key-pair'])).code, 0, 'cosign generate-key-pair');
    t.equal(await createOfflineSigningConfig(cosign), 0, 'cosign signing-config create (offline)');
    const pub = readFileSync(join(tmp, 'cosign.pub'), 'utf8');
    writeFileSync(join(tmp, 'review.json'), JSON.stringify({ approved: true }));
    const legacyFlags = ['--use-signing-config=false', '--tlog-upload=false', '--new-bundle-format=false'];
    const images: Record<string, string> = {};
    for (const [name, flags] of [['bundle', ['--signing-config', 'sc.json']], ['legacy', legacyFlags]] as const) {
      const img = `${reg.host}/types/${name}@${await pushImage(store, reg.ref(`types/${name}`), { tag: 'v1' })}`;
      const s = await cosign(['sign', '--key', 'cosign.key', ...flags, '--allow-insecure-registry', '--yes', img]);
      t.equal(s.code, 0, `cosign sign (${name}): ${s.stderr}`);
      const a = await cosign([
        'attest',
        '--key',
        'cosign.key',
        ...flags,
        '--allow-insecure-registry',
        '--yes',
        '--type',
        'https://example.com/review/v1',
        '--predicate',
        'review.json',
        img,
      ]);
      t.equal(a.code, 0, `cosign attest (${name}): ${a.stderr}`);
      images[name] = img;
    }
    const check = async (type: string | undefined, image: string, attest: boolean) => {
      const p = join(tmp, `p-${type}-${attest}.yaml`);
      writeFileSync(p, policy(type, pub, attest));
      const r = join(tmp, 'pod.json');
      writeFileSync(r, JSON.stringify(kubectlPod('web', image)));
      return runSigward(['check', '--policy', p, '--resource', r]);
    };
    for (const attest of [false, true]) {
      const what = attest ? 'attestation' : 'signature';
      for (const type of [undefined, 'Cosign']) {
        t.equal(
          (await check(type, images.bundle!, attest)).code,
          0,
          `type ${type ?? '(default)'}: a bundle ${what} passes`,
        );
        t.equal(
          (await check(type, images.legacy!, attest)).code,
          0,
          `type ${type ?? '(default)'}: a legacy ${what} passes`,
        );
      }
      t.equal(
        (await check('SigstoreBundle', images.bundle!, attest)).code,
        0,
        `type SigstoreBundle: a bundle ${what} passes`,
      );
      const legacy = await check('SigstoreBundle', images.legacy!, attest);
      t.equal(legacy.code, 1, `type SigstoreBundle: a legacy ${what} alone is denied`);
      t.match(legacy.stdout, attest ? /no attestations found|not found/ : /signature not found/, 'with the reason');
    }
  });
}
