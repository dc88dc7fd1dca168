// The clock reaches the checks: a certificate signature with nothing that
// attests its signing time (no transparency log) is checked at the `now` the
// caller passes (the engine's injected clock), not at the machine's time.

import t from 'tap';
import { toSignatureCheck } from '../../lib/cosign/signature-check.ts';
import { makeSimpleSigningPayload } from '../../lib/cosign/payload.ts';
import { ANNOTATION } from '../../lib/cosign/annotations.ts';
import { MEDIA_TYPES } from '../../lib/oci/types.ts';
import { loadTrustMaterial } from '../../lib/trust/index.ts';
import { mintCert, signWith } from '../helpers/sigstore.ts';

const HOUR = 3600_000;

t.test('certificate checks read the clock they are given', async (t) => {
  const now = Date.now();
  const root = await mintCert({
    name: 'clock root',
    ca: true,
    notBefore: new Date(now - HOUR),
    notAfter: new Date(now + 10 * HOUR),
  });
  const leaf = await mintCert({
    name: 'clock leaf',
    issuer: root,
    email: 'ci@example.com',
    notBefore: new Date(now - HOUR),
    notAfter: new Date(now + HOUR),
  });
  const digest = `sha256:${'c'.repeat(64)}`;
  const payload = makeSimpleSigningPayload('registry.example/app', digest);
  const layer = {
    blob: payload,
    mediaType: MEDIA_TYPES.cosignSimpleSigning,
    annotations: {
      [ANNOTATION.signature]: signWith(leaf.keys, payload).toString('base64'),
      [ANNOTATION.certificate]: leaf.pem,
      [ANNOTATION.chain]: root.pem,
    },
  };
  const trust = await loadTrustMaterial({ env: {} });
  const checks = {
    'certificates.cert with certChain': toSignatureCheck(
      { kind: 'certificate', cert: leaf.pem, chain: root.pem, ignoreTlog: true, ignoreSCT: true },
      trust,
    ).check,
    'certificates.certChain only':
      toSignatureCheck({ kind: 'certificate', chain: root.pem, ignoreTlog: true, ignoreSCT: true }, trust).check,
    'keyless with private roots': toSignatureCheck({
      kind: 'keyless',
      policy: { subject: 'ci@example.com' },
      roots: root.pem,
      ignoreTlog: true,
      ignoreSCT: true,
    }, trust).check,
  };
  for (const [name, check] of Object.entries(checks)) {
    const signer = await check(layer, new Date(now));
    t.equal(signer.kind === 'keyless' || signer.kind === 'certificate', true, `${name}: valid at the given time`);
    await t.rejects(
      check(layer, new Date(now + 2 * HOUR)),
      { code: 'CERTIFICATE_INVALID' },
      `${name}: expired at a later given time`,
    );
    await t.rejects(
      check(layer, new Date(now - 2 * HOUR)),
      { code: 'CERTIFICATE_INVALID' },
      `${name}: not yet valid at an earlier given time`,
    );
    t.ok(await check(layer), `${name}: no clock given: the real one`);
  }
});
