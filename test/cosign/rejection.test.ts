import t from 'tap';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LayoutStore } from '../../lib/oci/layout.ts';
import type { RepositoryRef } from '../../lib/oci/types.ts';
import { verifyImageSignatures } from '../../lib/cosign/verify.ts';
import { pushImage } from '../helpers/registry.ts';
import { makeKey, signImage } from '../helpers/cosign.ts';

t.test('an unexpected exception while checking a layer rejects it (deny), never "could not decide"', async (t) => {
  const store = new LayoutStore();
  const repo: RepositoryRef = {
    transport: 'oci-layout',
    registry: join(mkdtempSync(join(tmpdir(), 'sigward-rej-')), 'l'),
    repository: '',
  };
  const digest = await pushImage(store, repo);
  await signImage({ store, repository: repo, digest, key: makeKey() });
  const check = async () => {
    throw new TypeError("Cannot read properties of undefined (reading 'subarray')");
  };
  const err = await verifyImageSignatures({ store, signatureRepository: repo, digest, check }).then(
    () => ({ code: 'none', outcome: 'allowed', message: 'verified' }),
    (e: unknown) => e as { code: string; outcome: string; message: string },
  );
  t.equal(err.outcome, 'deny');
  t.equal(err.code, 'SIGNATURE_INVALID');
  t.match(err.message, /signature could not be verified/);
});
