// Fuzzing cosign signature layers through verifyImageSignatures with an
// in-memory store: random layers (annotations, payload bytes, media types)
// never crash it, and NO mutation of a really signed layer (a bit of the
// payload, the signature, the certificate, the Rekor SET and what it signs)
// ever verifies, key-based or keyless.

import t from 'tap';
import { createHash } from 'node:crypto';
import { MEDIA_TYPES, type RepositoryRef } from '../../lib/oci/types.ts';
import { MemoryStore } from './memory-store.ts';
import { ANNOTATION } from '../../lib/cosign/annotations.ts';
import { makeSimpleSigningPayload } from '../../lib/cosign/payload.ts';
import { verifyImageSignatures } from '../../lib/cosign/verify.ts';
import { toLayerCheck } from '../../lib/cosign/checks.ts';
import { parsePublicKeys } from '../../lib/cosign/keys.ts';
import { parseTrustedRoot, toTrust } from '../../lib/trust/index.ts';
import { makeKey, signBytes } from '../helpers/cosign.ts';
import { type LegacyLayer, startSigstore } from '../helpers/sigstore.ts';
import { boundedAsync, fc, flipBase64, flipBit, fuzz, onlySigwardErrorAsync, SEED } from './helpers.ts';

const REPO: RepositoryRef = { transport: 'registry', registry: 'registry.example', repository: 'app' };
const DIGEST = 'sha256:' + createHash('sha256').update('the image').digest('hex');

t.comment(`fast-check seed ${SEED}`);

t.test('signature layers', async (t) => {
  const store = new MemoryStore();
  const key = makeKey();
  const ms = await startSigstore({ withX509CA: true });
  const trust = toTrust(parseTrustedRoot(ms.trustedRoot));
  const keyCheck = toLayerCheck({ kind: 'key', keys: parsePublicKeys(key.publicPem) }, trust);
  const keyCheckNoTlog = toLayerCheck({ kind: 'key', keys: parsePublicKeys(key.publicPem), ignoreTlog: true }, trust);
  const USER = 'user@example.com';
  const ISSUER = 'https://oidc.example.test';
  const keylessCheck = toLayerCheck({ kind: 'keyless', policy: { subject: USER, issuer: ISSUER } }, trust);
  const payload = makeSimpleSigningPayload('registry.example/app', DIGEST, { env: 'prod' });

  // the real thing, once: key-signed (no tlog) and keyless (Fulcio-style cert, SCT, SET)
  const keyLayer: LegacyLayer = {
    payload,
    annotations: { [ANNOTATION.signature]: signBytes(key, payload).toString('base64') },
  };
  const keylessLayer = await ms.signLegacy(payload, await ms.fulcioLeaf({ san: USER, issuer: ISSUER }));
  const verify = async (
    layers: { blob: Uint8Array; mediaType: string; annotations: Record<string, unknown> }[],
    check: typeof keyCheck,
  ) => {
    store.setSignatures(DIGEST, layers);
    return boundedAsync(
      () =>
        onlySigwardErrorAsync(() =>
          verifyImageSignatures({
            store,
            signatureRepository: REPO,
            digest: DIGEST,
            check,
            annotations: { env: 'prod' },
          }), 'verifyImageSignatures'),
      3000,
      'verifyImageSignatures',
    );
  };
  const asLayer = (l: LegacyLayer) => ({
    blob: l.payload,
    mediaType: MEDIA_TYPES.cosignSimpleSigning,
    annotations: l.annotations,
  });
  t.ok((await verify([asLayer(keyLayer)], keyCheckNoTlog)).value, 'control: the key-signed layer verifies');
  t.ok((await verify([asLayer(keylessLayer)], keylessCheck)).value, 'control: the keyless layer verifies');

  const annotationKeys = fc.constantFrom(...Object.values(ANNOTATION), 'env', 'x');
  const annotationValue = fc.oneof(
    fc.string({ maxLength: 40 }),
    fc.constantFrom(
      '',
      'AAAA',
      '{}',
      '{"SignedEntryTimestamp":"","Payload":{}}',
      keylessLayer.annotations[ANNOTATION.certificate]!,
      keylessLayer.annotations[ANNOTATION.bundle]!,
    ),
    fc.jsonValue({ maxDepth: 2 }).map((v) => JSON.stringify(v)),
  );
  const randomLayer = fc.record({
    blob: fc.oneof(
      fc.uint8Array({ maxLength: 200 }),
      fc.constant(payload),
      fc.jsonValue({ maxDepth: 3 }).map((v) => Buffer.from(JSON.stringify(v) ?? 'null')),
    ),
    mediaType: fc.constantFrom(
      MEDIA_TYPES.cosignSimpleSigning,
      MEDIA_TYPES.dsseEnvelope,
      'application/octet-stream',
      '',
    ),
    annotations: fc.dictionary(annotationKeys, annotationValue, { maxKeys: 5 }),
  });

  await t.test('random layers: only SigwardError, never verified', async (t) => {
    await fuzz(
      t,
      'random layers (key check)',
      fc.array(randomLayer, { minLength: 1, maxLength: 3 }),
      async (layers) => {
        const r = await verify(layers, keyCheck);
        if (r.value) throw new Error('random layers verified');
      },
      300,
    );
    await fuzz(
      t,
      'random layers (keyless check)',
      fc.array(randomLayer, { minLength: 1, maxLength: 3 }),
      async (layers) => {
        const r = await verify(layers, keylessCheck);
        if (r.value) throw new Error('random layers verified');
      },
      300,
    );
  });

  await t.test('no allow: one-bit mutations of a key-signed layer', async (t) => {
    const target = fc.constantFrom('payload', 'signature');
    await fuzz(t, 'key-signed mutations', fc.tuple(target, fc.nat()), async ([what, at]) => {
      const l = structuredClone(keyLayer);
      if (what === 'payload') l.payload = flipBit(l.payload, at);
      else l.annotations[ANNOTATION.signature] = flipBase64(l.annotations[ANNOTATION.signature]!, at);
      const r = await verify([asLayer(l)], keyCheckNoTlog);
      if (r.value) throw new Error(`mutated ${what} (bit ${at}) verified`);
    }, 400);
  });

  await t.test('no allow: mutations of a keyless layer (payload, signature, certificate, SET)', async (t) => {
    const set = JSON.parse(keylessLayer.annotations[ANNOTATION.bundle]!);
    const certB64 = (pem: string) => pem.replace(/-----[A-Z ]+-----/g, '').replace(/\s+/g, '');
    const certPem = (b64: string) =>
      `-----BEGIN CERTIFICATE-----\n${b64.match(/.{1,64}/g)!.join('\n')}\n-----END CERTIFICATE-----\n`;
    const mutations: Record<string, (l: LegacyLayer, at: number) => void> = {
      payload: (l, at) => void (l.payload = flipBit(l.payload, at)),
      signature: (l, at) =>
        void (l.annotations[ANNOTATION.signature] = flipBase64(l.annotations[ANNOTATION.signature]!, at)),
      certificate: (l, at) =>
        void (l.annotations[ANNOTATION.certificate] = certPem(
          flipBase64(certB64(l.annotations[ANNOTATION.certificate]!), at),
        )),
      'SET signature': (l, at) =>
        void (l.annotations[ANNOTATION.bundle] = JSON.stringify({
          ...set,
          SignedEntryTimestamp: flipBase64(set.SignedEntryTimestamp, at),
        })),
      'SET body': (l, at) =>
        void (l.annotations[ANNOTATION.bundle] = JSON.stringify({
          ...set,
          Payload: { ...set.Payload, body: flipBase64(set.Payload.body, at) },
        })),
      'SET integratedTime': (l, at) =>
        void (l.annotations[ANNOTATION.bundle] = JSON.stringify({
          ...set,
          Payload: {
            ...set.Payload,
            integratedTime: set.Payload.integratedTime + ((at % 1000) + 1) * (at % 2 ? 1 : -1),
          },
        })),
      'SET logIndex': (l, at) =>
        void (l.annotations[ANNOTATION.bundle] = JSON.stringify({
          ...set,
          Payload: { ...set.Payload, logIndex: set.Payload.logIndex ^ ((at % 1023) + 1) },
        })),
      'SET logID': (l, at) => {
        const id = Buffer.from(set.Payload.logID, 'hex');
        l.annotations[ANNOTATION.bundle] = JSON.stringify({
          ...set,
          Payload: { ...set.Payload, logID: Buffer.from(flipBit(id, at)).toString('hex') },
        });
      },
      'no SET': (l) => void delete l.annotations[ANNOTATION.bundle],
      'no certificate': (l) => void delete l.annotations[ANNOTATION.certificate],
    };
    await fuzz(
      t,
      'keyless mutations',
      fc.tuple(fc.constantFrom(...Object.keys(mutations)), fc.nat()),
      async ([what, at]) => {
        const l = structuredClone(keylessLayer);
        mutations[what]!(l, at);
        const r = await verify([asLayer(l)], keylessCheck);
        if (r.value) throw new Error(`mutated ${what} (bit ${at}) verified`);
      },
      400,
    );
    // the chain annotation is untrusted path-building material: mutating it must not crash (it may still verify)
    await fuzz(t, 'chain annotation mutations (no crash)', fc.nat(), async (at) => {
      const l = structuredClone(keylessLayer);
      l.annotations[ANNOTATION.chain] = certPem(flipBase64(certB64(l.annotations[ANNOTATION.chain]!), at));
      await verify([asLayer(l)], keylessCheck);
    }, 100);
  });
});
