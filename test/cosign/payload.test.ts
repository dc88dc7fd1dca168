import t from 'tap';
import { makeSimpleSigningPayload, toSimpleSigningPayload, verifyPayloadClaims } from '../../lib/cosign/payload.ts';
import { mustReadVector, parseContainersImageSignature } from '../helpers/fixtures.ts';

const D1 = 'sha256:' + 'a'.repeat(64);
const D2 = 'sha256:' + 'b'.repeat(64);

t.test('claims: digest, type and annotations', async (t) => {
  const p = toSimpleSigningPayload(makeSimpleSigningPayload('r.example/app', D1, { env: 'prod', n: 3 }));
  t.doesNotThrow(() => verifyPayloadClaims(p, { digest: D1 }));
  t.throws(() => verifyPayloadClaims(p, { digest: D2 }), {
    code: 'MANIFEST_DIGEST_MISMATCH',
    message: /manifest digest mismatch/,
  });
  t.doesNotThrow(() => verifyPayloadClaims(p, { digest: D1, annotations: { env: 'prod' } }));
  t.throws(() => verifyPayloadClaims(p, { digest: D1, annotations: { env: 'dev' } }), { code: 'ANNOTATION_MISMATCH' });
  t.throws(() => verifyPayloadClaims(p, { digest: D1, annotations: { team: 'a' } }), { code: 'ANNOTATION_MISMATCH' });
  const bare = toSimpleSigningPayload(makeSimpleSigningPayload('r.example/app', D1, null));
  t.throws(() => verifyPayloadClaims(bare, { digest: D1, annotations: { env: 'prod' } }), {
    code: 'ANNOTATION_MISMATCH',
  });
  const wrongType = toSimpleSigningPayload(
    Buffer.from(
      JSON.stringify({
        critical: {
          identity: { 'docker-reference': 'x' },
          image: { 'docker-manifest-digest': D1 },
          type: 'atomic container signature',
        },
        optional: null,
      }),
    ),
  );
  t.throws(() => verifyPayloadClaims(wrongType, { digest: D1 }), { code: 'PAYLOAD_INVALID', message: /type/ });
});

t.test('malformed payloads are PAYLOAD_INVALID', async (t) => {
  for (
    const bad of [
      '',
      'not json',
      '[]',
      '{"critical":null}',
      '{"critical":{"image":{}}}',
      '{"critical":{"image":{"docker-manifest-digest":"x"}}}',
      '{"critical":{"image":{"docker-manifest-digest":"x"},"type":"t"},"optional":"s"}',
    ]
  ) {
    t.throws(() => toSimpleSigningPayload(Buffer.from(bad)), { code: 'PAYLOAD_INVALID' }, JSON.stringify(bad));
  }
  t.throws(() => toSimpleSigningPayload(Buffer.from([0xff, 0xfe])), { code: 'PAYLOAD_INVALID' });
});

t.test('skopeo-written payloads (tag in docker-reference, creator/timestamp) pass the claims', async (t) => {
  const s = parseContainersImageSignature(
    mustReadVector('cosign-legacy/containers-image/dir-img-cosign-valid-with-tag/signature-1'),
  );
  const p = toSimpleSigningPayload(s.payload);
  t.equal(p.critical.identity['docker-reference'], '192.168.64.2:5000/skopeo-signed:tag');
  t.doesNotThrow(() =>
    verifyPayloadClaims(p, { digest: 'sha256:634a8f35b5f16dcf4aaa0822adc0b1964bb786fca12f6831de8ddc45e5986a00' })
  );
});
