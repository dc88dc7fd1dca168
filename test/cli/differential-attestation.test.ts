// Differential, attestations: for the same images and flags, the real cosign
// 3.1.1 `verify-attestation` and sigward's must agree on allow/deny. Images
// attested by cosign itself in both storage formats, with the right key, the
// wrong key and another predicate type, checked by digest and by tag.

import t from 'tap';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RegistryClient } from '../../lib/oci/registry.ts';
import { pushImage, withRegistry } from '../helpers/registry.ts';
import { runSigward } from '../helpers/cli.ts';
import { cosignRunner, createOfflineSigningConfig, withRealCosign } from '../helpers/peers.ts';

withRealCosign(main);

function main(): void {
  t.test('cosign verify-attestation and sigward verify-attestation agree', async (t) => {
    const tmp = mkdtempSync(join(tmpdir(), 'sigward-differential-att-'));
    t.teardown(() => rmSync(tmp, { recursive: true, force: true }));
    const env = { COSIGN_PASSWORD: 'pw', HOME: tmp, PATH: process.env.PATH ?? '/usr/bin:/bin' };
    const cosign = cosignRunner(tmp, env);
    const other = join(tmp, 'other');
    mkdirSync(other);
    const cosignOther = cosignRunner(other, env);
    const reg = await withRegistry(t);
    const store = new RegistryClient();
    t.teardown(() => store.close());
    t.equal((await cosign(['generate-key-pair'])).code, 0);
    t.equal((await cosignOther(['generate-key-pair'])).code, 0);
    t.equal(await createOfflineSigningConfig(cosign), 0);
    t.equal(await createOfflineSigningConfig(cosignOther), 0);
    writeFileSync(
      join(tmp, 'provenance.json'),
      JSON.stringify({ buildType: 'https://example.com/build/v1', builder: { id: 'ci' } }),
    );
    writeFileSync(
      join(other, 'provenance.json'),
      JSON.stringify({ buildType: 'https://example.com/build/v1', builder: { id: 'evil' } }),
    );
    const formats: Record<string, string[]> = {
      legacy: ['--use-signing-config=false', '--tlog-upload=false', '--new-bundle-format=false'],
      bundle: ['--signing-config', 'sc.json'],
    };
    const images: { name: string; ref: string }[] = [];
    for (const [format, flags] of Object.entries(formats)) {
      for (const [kind, run] of [['attested', cosign], ['wrong-key', cosignOther]] as const) {
        const name = `${format}-${kind}`;
        const ref = `${reg.host}/att/${name}@${await pushImage(store, reg.ref(`att/${name}`), { tag: 'v1' })}`;
        const a = await run([
          'attest',
          '--key',
          'cosign.key',
          ...flags,
          '--allow-insecure-registry',
          '--yes',
          '--type',
          'slsaprovenance',
          '--predicate',
          'provenance.json',
          ref,
        ]);
        t.equal(a.code, 0, `cosign attest ${name}: ${a.stderr}`);
        images.push({ name, ref });
      }
    }
    images.push({
      name: 'unattested',
      ref: `${reg.host}/att/none@${await pushImage(store, reg.ref('att/none'), { tag: 'v1' })}`,
    });
    let decided = 0;
    const disagreements: string[] = [];
    for (const img of images) {
      for (const ref of [img.ref, img.ref.replace(/@sha256:[0-9a-f]+$/, ':v1')]) {
        for (const type of ['slsaprovenance', 'https://example.com/other/v1']) {
          const args = [
            'verify-attestation',
            '--key',
            join(tmp, 'cosign.pub'),
            '--type',
            type,
            '--insecure-ignore-tlog',
            '--allow-insecure-registry',
            ref,
          ];
          const theirs = await cosign(args);
          const ours = await runSigward(args);
          t.not(
            ours.code,
            2,
            `${img.name} ${type}: sigward takes cosign's command line (${ours.stderr.trim().slice(0, 200)})`,
          );
          const what = `${img.name} --type ${type} by ${ref.includes('@') ? 'digest' : 'tag'}`;
          decided++;
          if ((theirs.code === 0) !== (ours.code === 0)) {
            disagreements.push(`${what}: cosign exit ${theirs.code}, sigward exit ${ours.code}`);
          }
          t.equal(
            ours.code === 0,
            theirs.code === 0,
            `${what}: same verdict as cosign (${theirs.code === 0 ? 'allow' : 'deny'})`,
          );
        }
      }
    }
    t.comment(
      `${decided} cases decided by real cosign; ${disagreements.length} disagreements${
        disagreements.length ? ':\n' + disagreements.join('\n') : ''
      }`,
    );
  });
}
