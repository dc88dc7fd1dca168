import t from 'tap';
import { readdirSync } from 'node:fs';
import { IN_TOTO_PAYLOAD_TYPE, toEnvelope, toPAE, verifyInTotoPayloadType } from '../../lib/attest/dsse.ts';
import { toStatement, verifyPredicateType, verifySubjectDigest } from '../../lib/attest/statement.ts';
import { toPredicateType } from '../../lib/attest/predicates.ts';
import { parsePublicKey, verifySignatureBytes } from '../../lib/cosign/keys.ts';
import { makeKey, signBytes } from '../helpers/cosign.ts';
import { mustReadVector, SHARED } from '../helpers/fixtures.ts';

t.test('PAE is the DSSE v1 encoding with byte lengths', async (t) => {
  const pae = toPAE('application/vnd.in-toto+json', Buffer.from('héllo'));
  t.equal(pae.toString('utf8'), 'DSSEv1 28 application/vnd.in-toto+json 6 héllo');
});

t.test('cosign shortcuts expand, URIs pass through', async (t) => {
  t.equal(toPredicateType('slsaprovenance'), 'https://slsa.dev/provenance/v0.2');
  t.equal(toPredicateType('slsaprovenance1'), 'https://slsa.dev/provenance/v1');
  t.equal(toPredicateType('cyclonedx'), 'https://cyclonedx.org/bom');
  t.equal(toPredicateType('spdxjson'), 'https://spdx.dev/Document');
  t.equal(toPredicateType('vuln'), 'https://cosign.sigstore.dev/attestation/vuln/v1');
  t.equal(toPredicateType('custom'), 'https://cosign.sigstore.dev/attestation/v1');
  t.equal(toPredicateType('https://example.com/p/v1'), 'https://example.com/p/v1');
});

t.test('statements from the in-toto examples parse; subject and type checks bite', async (t) => {
  const dir = `${SHARED}/intoto-examples`;
  let n = 0;
  for (const f of readdirSync(dir)) {
    const bytes = mustReadVector(`intoto-examples/${f}`);
    const j = JSON.parse(bytes.toString());
    if (!j._type) continue; // predicates only
    const st = toStatement(bytes);
    n++;
    t.ok(st.subject.length > 0, `${f} has subjects`);
    verifyPredicateType(st, j.predicateType);
    t.throws(() => verifyPredicateType(st, 'https://slsa.dev/provenance/v1-not'), { code: 'ATTESTATION_INVALID' });
  }
  t.ok(n >= 5, `parsed ${n} statements`);
  const d = 'sha256:' + 'c'.repeat(64);
  const st = toStatement(
    Buffer.from(
      JSON.stringify({
        _type: 'https://in-toto.io/Statement/v0.1',
        subject: [{ name: 'x', digest: { sha256: 'c'.repeat(64) } }],
        predicateType: 'p',
        predicate: {},
      }),
    ),
  );
  t.doesNotThrow(() => verifySubjectDigest(st, d));
  t.throws(() => verifySubjectDigest(st, 'sha256:' + 'd'.repeat(64)), {
    code: 'ATTESTATION_INVALID',
    message: /subject mismatch/,
  });
  for (
    const bad of [
      '{}',
      '{"_type":"https://in-toto.io/Statement/v2","subject":[{"digest":{}}],"predicateType":"p"}',
      '{"_type":"https://in-toto.io/Statement/v1","subject":[],"predicateType":"p"}',
      '{"_type":"https://in-toto.io/Statement/v1","subject":[{"name":"a"}],"predicateType":"p"}',
      'null',
    ]
  ) {
    t.throws(() => toStatement(Buffer.from(bad)), { code: 'ATTESTATION_INVALID' }, bad);
  }
});

t.test('a cosign v3 bundle DSSE envelope parses and its PAE is what was signed', async (t) => {
  const b = JSON.parse(mustReadVector('sigstore-bundles/cosign-oci-attestation.sigstore.json').toString());
  const env = toEnvelope(Buffer.from(JSON.stringify(b.dsseEnvelope)));
  verifyInTotoPayloadType(env);
  const st = toStatement(env.payload);
  t.equal(st.predicateType, 'https://cosign.sigstore.dev/attestation/v1');
  const cert = Buffer.from(b.verificationMaterial.certificate.rawBytes, 'base64');
  const pem = `-----BEGIN CERTIFICATE-----\n${cert.toString('base64')}\n-----END CERTIFICATE-----\n`;
  const key = parsePublicKey(pem);
  t.ok(
    verifySignatureBytes(key.key, toPAE(env.payloadType, env.payload), env.signatures[0]!.sig),
    'signature over PAE verifies with the bundle certificate key',
  );
  t.notOk(verifySignatureBytes(key.key, env.payload, env.signatures[0]!.sig), 'signature is not over the raw payload');
});

t.test('payload type other than in-toto is refused', async (t) => {
  const k = makeKey();
  const payload = Buffer.from('{}');
  const env = toEnvelope(
    Buffer.from(
      JSON.stringify({
        payloadType: 'text/plain',
        payload: payload.toString('base64'),
        signatures: [{ keyid: '', sig: signBytes(k, toPAE('text/plain', payload)).toString('base64') }],
      }),
    ),
  );
  t.throws(() => verifyInTotoPayloadType(env), { code: 'ATTESTATION_INVALID', message: /payload type/ });
  t.equal(IN_TOTO_PAYLOAD_TYPE, 'application/vnd.in-toto+json');
  for (
    const bad of [
      'x',
      '{}',
      '{"payloadType":"a","payload":"!!","signatures":[{"sig":"AA=="}]}',
      '{"payloadType":"a","payload":"AA==","signatures":[]}',
    ]
  ) {
    t.throws(() => toEnvelope(Buffer.from(bad)), { code: 'ATTESTATION_INVALID' }, bad);
  }
});
