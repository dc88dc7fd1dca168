// Fuzzing DSSE envelopes and in-toto statements: toEnvelope / toStatement /
// subject and predicate checks on arbitrary input (only SigwardError), and
// NO ALLOW through verifyImageAttestations: a key-signed attestation whose
// payload, payload type or signature is changed in any way never verifies.

import t from 'tap';
import { createHash } from 'node:crypto';
import { MEDIA_TYPES, type RepositoryRef } from '../../lib/oci/types.ts';
import { ANNOTATION } from '../../lib/cosign/annotations.ts';
import { toEnvelope, toPAE } from '../../lib/attest/dsse.ts';
import { toStatement, verifyPredicateType, verifySubjectDigest } from '../../lib/attest/statement.ts';
import { verifyImageAttestations } from '../../lib/attest/verify.ts';
import { toLayerCheck } from '../../lib/cosign/checks.ts';
import { parsePublicKeys } from '../../lib/cosign/keys.ts';
import { getEmbeddedTrustedRoot, toTrust } from '../../lib/trust/index.ts';
import { makeKey, signBytes } from '../helpers/cosign.ts';
import { MemoryStore } from './memory-store.ts';
import {
  boundedAsync,
  fc,
  flipBase64,
  flipBit,
  fuzz,
  onlySigwardError,
  onlySigwardErrorAsync,
  SEED,
} from './helpers.ts';

const REPO: RepositoryRef = { transport: 'registry', registry: 'registry.example', repository: 'app' };
const DIGEST = 'sha256:' + createHash('sha256').update('the image').digest('hex');
const IN_TOTO = 'application/vnd.in-toto+json';
const SLSA = 'https://slsa.dev/provenance/v0.2';

const statementArb = fc.record(
  {
    _type: fc.constantFrom('https://in-toto.io/Statement/v0.1', 'https://in-toto.io/Statement/v1', 'x', ''),
    predicateType: fc.oneof(fc.constant(SLSA), fc.string({ maxLength: 10 }), fc.integer()),
    subject: fc.oneof(
      fc.array(
        fc.record({
          name: fc.string({ maxLength: 8 }),
          digest: fc.dictionary(
            fc.constantFrom('sha256', 'sha512', 'SHA256', '__proto__', 'constructor'),
            fc.oneof(
              fc.constant(DIGEST.slice(7)),
              fc.constant(DIGEST.slice(7).toUpperCase()),
              fc.string({ maxLength: 8 }),
              fc.integer(),
            ),
          ),
        }, { requiredKeys: [] }),
        { maxLength: 3 },
      ),
      fc.jsonValue({ maxDepth: 2 }),
    ),
    predicate: fc.jsonValue({ maxDepth: 2 }),
  },
  { requiredKeys: [] },
);

t.comment(`fast-check seed ${SEED}`);

t.test('envelopes and statements: arbitrary input', async (t) => {
  await fuzz(
    t,
    'toEnvelope on arbitrary JSON / bytes',
    fc.oneof(
      fc.uint8Array({ maxLength: 200 }),
      fc.jsonValue({ maxDepth: 3 }).map((v) => Buffer.from(JSON.stringify(v) ?? 'null')),
      fc.record({
        payloadType: fc.oneof(fc.string(), fc.integer()),
        payload: fc.oneof(fc.base64String(), fc.string(), fc.constant(null)),
        signatures: fc.oneof(
          fc.array(
            fc.record({
              keyid: fc.oneof(fc.string(), fc.integer()),
              sig: fc.oneof(fc.base64String(), fc.string(), fc.constant(undefined)),
            }, { requiredKeys: [] }),
          ),
          fc.jsonValue(),
        ),
      }, { requiredKeys: [] }).map((v) => Buffer.from(JSON.stringify(v))),
    ),
    (bytes) => {
      const { error } = onlySigwardError(() => toEnvelope(bytes), 'toEnvelope');
      if (error && error.code !== 'ATTESTATION_INVALID') throw new Error(`unexpected code ${error.code}`);
    },
    2000,
  );
  await fuzz(t, 'toStatement + subject/predicate checks', statementArb, (st) => {
    const { value, error } = onlySigwardError(() => toStatement(Buffer.from(JSON.stringify(st))), 'toStatement');
    if (error && error.code !== 'ATTESTATION_INVALID') throw new Error(`unexpected code ${error.code}`);
    if (!value) return;
    const subj = onlySigwardError(() => verifySubjectDigest(value, DIGEST), 'verifySubjectDigest');
    onlySigwardError(() => verifyPredicateType(value, SLSA), 'verifyPredicateType');
    // accepted only when some subject really carries the digest (hex compared case-insensitively)
    const has = Array.isArray(st.subject) &&
      st.subject.some((s: any) =>
        typeof s?.digest?.sha256 === 'string' && s.digest.sha256.toLowerCase() === DIGEST.slice(7)
      );
    if (!subj.error !== has) {
      throw new Error(`subject check ${subj.error ? 'refused' : 'accepted'} ${JSON.stringify(st.subject)}`);
    }
  }, 2000);
});

t.test('no allow: key-signed attestations changed after signing', async (t) => {
  const store = new MemoryStore();
  const key = makeKey();
  const check = toLayerCheck(
    { kind: 'key', keys: parsePublicKeys(key.publicPem), ignoreTlog: true },
    toTrust(getEmbeddedTrustedRoot()),
  );
  const statement = Buffer.from(
    JSON.stringify({
      _type: 'https://in-toto.io/Statement/v0.1',
      predicateType: SLSA,
      subject: [{ name: 'registry.example/app', digest: { sha256: DIGEST.slice(7) } }],
      predicate: { builder: { id: 'ci' } },
    }),
  );
  const envelope = {
    payloadType: IN_TOTO,
    payload: statement.toString('base64'),
    signatures: [{ keyid: '', sig: signBytes(key, toPAE(IN_TOTO, statement)).toString('base64') }],
  };
  const run = (env: unknown) => {
    store.setSignatures(DIGEST, [{
      blob: Buffer.from(JSON.stringify(env)),
      mediaType: MEDIA_TYPES.dsseEnvelope,
      annotations: { [ANNOTATION.signature]: '', predicateType: SLSA },
    }], 'att');
    return boundedAsync(
      () =>
        onlySigwardErrorAsync(
          () =>
            verifyImageAttestations({ store, signatureRepository: REPO, digest: DIGEST, check, predicateType: SLSA }),
          'verifyImageAttestations',
        ),
      3000,
      'verifyImageAttestations',
    );
  };
  t.ok((await run(envelope)).value, 'control: the attestation verifies');
  const mutations: Record<string, (e: any, at: number) => void> = {
    'payload bit': (e, at) => void (e.payload = flipBase64(e.payload, at)),
    'signature bit': (e, at) => void (e.signatures[0].sig = flipBase64(e.signatures[0].sig, at)),
    'payload type': (e, at) =>
      void (e.payloadType =
        ['application/json', 'application/vnd.in-toto+JSON', IN_TOTO + ' ', 'text/plain', ''][at % 5]),
    'payload re-encoded as base64url with a changed statement': (e, at) =>
      void (e.payload = Buffer.from(flipBit(statement, at)).toString('base64url')),
    'signature from another key': (e) =>
      void (e.signatures[0].sig = signBytes(makeKey(), toPAE(IN_TOTO, statement)).toString('base64')),
    'extra signature before the real one': (e) =>
      void e.signatures.unshift({ keyid: '', sig: signBytes(makeKey(), toPAE(IN_TOTO, statement)).toString('base64') }),
  };
  await fuzz(
    t,
    'envelope mutations',
    fc.tuple(fc.constantFrom(...Object.keys(mutations)), fc.nat()),
    async ([what, at]) => {
      const e = structuredClone(envelope);
      mutations[what]!(e, at);
      const r = await run(e);
      if (r.value) throw new Error(`${what} (${at}) verified`);
    },
    300,
  );
});
