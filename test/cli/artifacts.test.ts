// `sigward tree` and `sigward download` against the real cosign 3.1.1 on the
// same images (both signature formats, attestations, an image with nothing
// attached): the same tree, the same downloaded signatures and attestations,
// the same exit codes.

import t from 'tap';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RegistryClient } from '../../lib/oci/registry.ts';
import { pushImage, withRegistry } from '../helpers/registry.ts';
import { cosignRunner, createOfflineSigningConfig, withRealCosign } from '../helpers/peers.ts';
import { runSigward } from '../helpers/cli.ts';

withRealCosign(main);

function main(): void {
  t.test('tree and download agree with cosign', async (t) => {
    const tmp = mkdtempSync(join(tmpdir(), 'sigward-artifacts-'));
    t.teardown(() => rmSync(tmp, { recursive: true, force: true }));
    const cosign = cosignRunner(tmp, { COSIGN_PASSWORD: 'pw', HOME: tmp, PATH: process.env.PATH ?? '/usr/bin:/bin' });
    const reg = await withRegistry(t);
    const store = new RegistryClient();
    t.teardown(() => store.close());
    t.equal((await cosign(['generate-key-pair'])).code, 0);
    t.equal(await createOfflineSigningConfig(cosign), 0, 'cosign signing-config create (offline)');
    writeFileSync(join(tmp, 'pred.json'), JSON.stringify({ reviewed: true }));
    const legacy = ['--use-signing-config=false', '--tlog-upload=false', '--new-bundle-format=false'];
    const img = async (name: string) =>
      `${reg.host}/artifacts/${name}@${await pushImage(store, reg.ref(`artifacts/${name}`), { tag: 'v1' })}`;
    const images = { both: await img('both'), legacy: await img('legacy'), none: await img('none') };
    for (
      const [flags, types] of [[legacy, ['https://example.com/a/v1']], [['--signing-config', 'sc.json'], [
        'https://example.com/b/v1',
      ]]] as const
    ) {
      t.equal(
        (await cosign(['sign', '--key', 'cosign.key', ...flags, '--allow-insecure-registry', '--yes', images.both]))
          .code,
        0,
      );
      for (const type of types) {
        t.equal(
          (await cosign([
            'attest',
            '--key',
            'cosign.key',
            ...flags,
            '--allow-insecure-registry',
            '--yes',
            '--type',
            type,
            '--predicate',
            'pred.json',
            images.both,
          ])).code,
          0,
        );
      }
    }
    t.equal(
      (await cosign([
        'sign',
        '--key',
        'cosign.key',
        ...legacy,
        '--allow-insecure-registry',
        '--yes',
        '-a',
        'team=web',
        images.legacy,
      ])).code,
      0,
    );
    t.equal(
      (await cosign([
        'attest',
        '--key',
        'cosign.key',
        ...legacy,
        '--allow-insecure-registry',
        '--yes',
        '--type',
        'https://example.com/a/v1',
        '--predicate',
        'pred.json',
        images.legacy,
      ])).code,
      0,
    );

    let decided = 0;
    for (const [name, image] of Object.entries(images)) {
      const c = await cosign(['tree', '--allow-insecure-registry', image]);
      const s = await runSigward(['tree', '--allow-insecure-registry', image]);
      t.equal(s.code, c.code, `tree ${name}: same exit code`);
      if (name === 'none') t.match(s.stdout, /No Supply Chain Security Related Artifacts found/);
      else {
        // cosign prints the sections in no fixed order (seen both ways on the same image): compare them as a set
        const sections = (out: string) => out.split(/\n(?=└── )/).map((x) => x.trim()).sort();
        t.same(sections(s.stdout), sections(c.stdout), `tree ${name}: the same tree as cosign`);
      }
      decided++;
      for (const what of ['signature', 'attestation']) {
        for (
          const extra of what === 'attestation'
            ? [[], ['--predicate-type', 'https://example.com/a/v1'], [
              '--predicate-type',
              'https://example.com/none/v1',
            ]]
            : [[]]
        ) {
          const label = `download ${what} ${extra.join(' ')} ${name}`;
          const cd = await cosign(['download', what, '--allow-insecure-registry', ...extra, image]);
          const sd = await runSigward(['download', what, '--allow-insecure-registry', ...extra, image]);
          t.equal(sd.code, cd.code, `${label}: same exit code (${sd.stderr.trim()})`);
          const lines = (out: string) => out.split('\n').filter(Boolean).map((l) => JSON.parse(l));
          const mine = lines(sd.stdout);
          const theirs = lines(cd.stdout);
          // cosign prints x509 certificates as Go structs; key-signed layers have none, so the documents compare whole
          t.same(mine, theirs, `${label}: the same documents as cosign (${theirs.length})`);
          decided++;
        }
      }
    }
    t.comment(`${decided} cases decided by real cosign`);
  });
}
