// Differential: for the same images and flags, the real cosign 3.1.1 and
// sigward must agree on allow/deny. The corpus is made by cosign itself
// (test/helpers/cosign-images.ts: both storage formats; signed, wrong key,
// tampered, replayed, multi-arch with every part signed or not), checked by
// digest and by tag, with and without a required annotation. A disagreement
// is a sigward bug or a deliberate difference the README names; this file
// allows none.

import t from 'tap';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RegistryClient } from '../../lib/oci/registry.ts';
import { withRegistry } from '../helpers/registry.ts';
import { runSigward } from '../helpers/cli.ts';
import { COSIGN, withRealPeers } from '../helpers/peers.ts';
import { makeCosignImages } from '../helpers/cosign-images.ts';

withRealPeers({ 'cosign 3.1.1': COSIGN }, main);

function main(): void {
  t.test('cosign verify and sigward verify agree on every case', async (t) => {
    const tmp = mkdtempSync(join(tmpdir(), 'sigward-differential-'));
    t.teardown(() => rmSync(tmp, { recursive: true, force: true }));
    const reg = await withRegistry(t);
    const store = new RegistryClient();
    t.teardown(() => store.close());
    const fx = await makeCosignImages({ reg, store, dir: join(tmp, 'cosign') });
    const flagSets: [string, string[]][] = [
      ['--key', ['--key', fx.publicKeyPath]],
      ['--key -a', ['--key', fx.publicKeyPath, '-a', 'team=none']],
    ];
    let decided = 0;
    const disagreements: string[] = [];
    for (const c of fx.cases) {
      const repo = c.image.replace(/:[^:/]+$/, '');
      for (const ref of [`${repo}@${c.digest}`, c.image]) {
        for (const [label, flags] of flagSets) {
          const args = ['verify', ...flags, '--insecure-ignore-tlog', '--allow-insecure-registry', ref];
          const theirs = await fx.cosign(args);
          const ours = await runSigward(args);
          t.not(
            ours.code,
            2,
            `${c.id} ${label} ${ref === c.image ? 'tag' : 'digest'}: sigward takes cosign's command line`,
          );
          const cosignAllows = theirs.code === 0;
          const sigwardAllows = ours.code === 0;
          decided++;
          const what = `${c.id} (${c.how}) ${label} by ${ref === c.image ? 'tag' : 'digest'}`;
          if (cosignAllows !== sigwardAllows) {
            disagreements.push(
              `${what}: cosign ${cosignAllows ? 'allows' : 'denies'}, sigward ${sigwardAllows ? 'allows' : 'denies'} (${
                ours.stdout.trim().slice(0, 200)
              } | ${theirs.stderr.trim().slice(0, 200)})`,
            );
          }
          t.equal(sigwardAllows, cosignAllows, `${what}: same verdict as cosign (${cosignAllows ? 'allow' : 'deny'})`);
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
