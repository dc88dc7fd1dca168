// Fuzzing Notary envelopes: toNotaryEnvelope / verifyNotarySignature on
// arbitrary bytes and on bit flips of valid JWS and COSE envelopes (only
// SigwardError), and NO ALLOW: a valid envelope with any bit changed never
// verifies (a flip in an unsigned, unchecked attribute such as the signing
// agent may leave it valid; then it must still sign the same artifact).

import t from 'tap';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { toNotaryEnvelope, toNotaryTrust, verifyNotarySignature } from '../../lib/notary/index.ts';
import { forgeEnvelope } from '../helpers/notary.ts';
import { fc, flipBit, fuzz, onlySigwardError, SEED } from './helpers.ts';

t.comment(`fast-check seed ${SEED}`);

const dir = mkdtempSync(join(tmpdir(), 'sigward-notary-fuzz-'));
const openssl = (args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', 'k.pem']);
openssl([
  'req',
  '-x509',
  '-new',
  '-key',
  'k.pem',
  '-subj',
  '/C=US/ST=WA/O=fuzz/CN=fuzz',
  '-days',
  '2',
  '-out',
  'c.pem',
  '-addext',
  'basicConstraints=CA:FALSE',
  '-addext',
  'keyUsage=critical,digitalSignature',
  '-addext',
  'extendedKeyUsage=codeSigning',
]);
const keyPem = readFileSync(join(dir, 'k.pem'), 'utf8');
const certPem = readFileSync(join(dir, 'c.pem'), 'utf8');
const trust = toNotaryTrust([certPem], 'fuzz');
const artifact = {
  mediaType: 'application/vnd.oci.image.manifest.v1+json',
  digest: `sha256:${'ab'.repeat(32)}`,
  size: 1234,
};

t.test('valid envelopes verify (control)', async (t) => {
  for (const format of ['jws', 'cose'] as const) {
    const env = forgeEnvelope({ format, keyPem, chainPem: certPem, target: artifact });
    t.equal(
      verifyNotarySignature(env.bytes, env.mediaType, { trust, artifact }).payload.targetArtifact.digest,
      artifact.digest,
      `${format} verifies`,
    );
  }
});

t.test('arbitrary bytes: only SigwardError', async (t) => {
  await fuzz(
    t,
    'random blobs',
    fc.tuple(fc.uint8Array({ maxLength: 600 }), fc.constantFrom('application/jose+json', 'application/cose', 'x')),
    ([bytes, mt]) => {
      onlySigwardError(() => toNotaryEnvelope(bytes, mt), 'toNotaryEnvelope');
      onlySigwardError(() => verifyNotarySignature(bytes, mt, { trust, artifact }), 'verifyNotarySignature');
    },
    400,
  );
  await fuzz(t, 'JSON-shaped JWS', fc.jsonValue({ maxDepth: 3 }), (v) => {
    onlySigwardError(
      () =>
        verifyNotarySignature(new TextEncoder().encode(JSON.stringify(v)), 'application/jose+json', {
          trust,
          artifact,
        }),
      'verifyNotarySignature',
    );
  }, 300);
});

t.test('bit flips of valid envelopes: never an allow for anything else', async (t) => {
  for (const format of ['jws', 'cose'] as const) {
    const env = forgeEnvelope({ format, keyPem, chainPem: certPem, target: artifact });
    await fuzz(t, `${format} bit flips`, fc.nat({ max: env.bytes.length * 8 - 1 }), (bit) => {
      const r = onlySigwardError(
        () => verifyNotarySignature(flipBit(env.bytes, bit), env.mediaType, { trust, artifact }),
        'verifyNotarySignature',
      );
      if (r.value) {
        t.same(
          r.value.payload.targetArtifact,
          artifact,
          `a flip that still verifies (bit ${bit}) signs the same artifact`,
        );
      }
    }, 500);
  }
});
