// Fuzzing Sigstore bundles: real bundles (sigstore-js / cosign / sigstore-go
// test vectors, public-good Sigstore) and a message-signature bundle from a
// mock Sigstore, mutated. NO ALLOW: a change to any signed or signing part
// (signature, payload, payload type, certificate, SET, log entry body, time,
// index, log id, inclusion proof) never verifies. Structural garbage only
// ever yields SigwardError.

import t from 'tap';
import { readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { startSigstore } from '../helpers/sigstore.ts';
import {
  getEmbeddedTrustedRoot,
  parseBundle,
  parseTrustedRoot,
  toTrust,
  type Trust,
  verifyBundle,
} from '../../lib/trust/index.ts';
import { SHARED } from '../helpers/fixtures.ts';
import { bounded, fc, flipBase64, fuzz, onlySigwardError, SEED } from './helpers.ts';

const DIR = `${SHARED}/sigstore-bundles/`;
const REAL = [
  'bundleV01-dsse-no-proof.sigstore',
  'bundleV01-dsse-with-proof.sigstore',
  'bundleV01-intoto-with-proof.sigstore',
  'bundleV02-dsse.sigstore',
  'bundleV03-dsse.sigstore',
  'bundleV03-intoto.sigstore',
  'cosign-oci-attestation.sigstore.json',
  'sigstore.js@2.0.0-provenance.sigstore.json',
];

interface Sample {
  name: string;
  json: any;
  trust: Trust;
  /** sha256 digest pinned for verification, when the bundle's subject/message has one */
  digest?: string;
}

/** Paths (into the bundle JSON) of the values whose change must break verification. */
function cryptoPaths(b: any): string[][] {
  const p: string[][] = [];
  const vm = b.verificationMaterial;
  if (b.dsseEnvelope) {
    p.push(['dsseEnvelope', 'payload'], ['dsseEnvelope', 'signatures', '0', 'sig'], ['dsseEnvelope', 'payloadType']);
  }
  if (b.messageSignature) p.push(['messageSignature', 'signature'], ['messageSignature', 'messageDigest', 'digest']);
  if (vm.certificate) p.push(['verificationMaterial', 'certificate', 'rawBytes']);
  if (vm.x509CertificateChain) {
    p.push(['verificationMaterial', 'x509CertificateChain', 'certificates', '0', 'rawBytes']);
  }
  const e = ['verificationMaterial', 'tlogEntries', '0'];
  p.push([...e, 'canonicalizedBody'], [...e, 'integratedTime'], [...e, 'logIndex'], [...e, 'logId', 'keyId'], [
    ...e,
    'inclusionPromise',
    'signedEntryTimestamp',
  ]);
  return p;
}

function get(o: any, path: string[]): any {
  return path.reduce((x, k) => x?.[k], o);
}
function set(o: any, path: string[], v: unknown): void {
  const parent = get(o, path.slice(0, -1));
  parent[path[path.length - 1]!] = v;
}

function mutateValue(v: unknown, at: number): unknown {
  if (typeof v === 'string' && /^\d+$/.test(v)) {
    return String(BigInt(v) + BigInt((at % 1000) + 1) * (at % 2 ? 1n : -1n));
  }
  if (typeof v === 'string' && v.startsWith('application/')) return v.replace('in-toto', at % 2 ? 'in-totO' : 'intoto');
  if (typeof v === 'string') return flipBase64(v, at);
  return v;
}

t.comment(`fast-check seed ${SEED}`);

t.test('bundles', async (t) => {
  const publicGood = toTrust(getEmbeddedTrustedRoot());
  const samples: Sample[] = REAL.map((name) => {
    const json = JSON.parse(readFileSync(DIR + name, 'utf8'));
    const st = JSON.parse(Buffer.from(json.dsseEnvelope.payload, 'base64').toString());
    const sha = st.subject?.[0]?.digest?.sha256;
    return { name, json, trust: publicGood, ...(sha ? { digest: `sha256:${sha}` } : {}) };
  });
  const mock = await startSigstore({ aheadMs: 60_000 });
  const artifact = Buffer.from('a message signed with the mock Sigstore');
  const msg = await mock.signKeyless(artifact);
  samples.push({
    name: 'mock message signature',
    json: msg.bundle,
    trust: toTrust(parseTrustedRoot(mock.trustedRoot)),
    digest: 'sha256:' + createHash('sha256').update(artifact).digest('hex'),
  });

  const verify = (s: Sample, json: unknown) =>
    bounded(
      () =>
        onlySigwardError(
          () => verifyBundle(json as object, { trust: s.trust, policy: {}, ...(s.digest ? { digest: s.digest } : {}) }),
          `verifyBundle(${s.name})`,
        ),
      3000,
      'verifyBundle',
    );

  for (const s of samples) t.ok(verify(s, s.json).value, `control: ${s.name} verifies`);

  await t.test('no allow: one change to a signed or signing value', async (t) => {
    const arb = fc.constantFrom(...samples).chain((s) =>
      fc.tuple(fc.constant(s), fc.constantFrom(...cryptoPaths(s.json)), fc.nat())
    );
    await fuzz(t, 'crypto mutations', arb, ([s, path, at]) => {
      const json = structuredClone(s.json);
      const before = get(json, path);
      const after = mutateValue(before, at);
      if (after === before) return;
      set(json, path, after);
      const r = verify(s, json);
      if (r.value) {
        throw new Error(
          `${s.name}: ${path.join('.')} changed (${String(before).slice(0, 40)} -> ${
            String(after).slice(0, 40)
          }) and it still verified`,
        );
      }
    }, 200);
  });

  await t.test('no allow: inclusion proof changes (bundles with a proof)', async (t) => {
    const withProof = samples.filter((s) =>
      s.json.verificationMaterial.tlogEntries?.[0]?.inclusionProof?.hashes?.length
    );
    // the proof is checked against the SIGNED checkpoint (its size and root hash): the
    // unsigned rootHash / treeSize fields beside it are not used, so changing them is no
    // attack; the hashes and the checkpoint are what must not be altered
    const arb = fc.tuple(fc.constantFrom(...withProof), fc.constantFrom('hashes', 'checkpoint'), fc.nat());
    await fuzz(t, 'proof mutations', arb, ([s, field, at]) => {
      const json = structuredClone(s.json);
      const proof = json.verificationMaterial.tlogEntries[0].inclusionProof;
      if (field === 'hashes') {
        proof.hashes[at % proof.hashes.length] = flipBase64(proof.hashes[at % proof.hashes.length], at);
      } else if (field === 'checkpoint') {
        proof.checkpoint.envelope = proof.checkpoint.envelope.replace(
          /\n([A-Za-z0-9+/=]{20,})\n/,
          (_m: string, h: string) => `\n${flipBase64(h, at)}\n`,
        );
      } else proof[field] = mutateValue(proof[field], at);
      // a bundle whose proof is wrong is wrong, even when its SET would do
      const r = verify(s, json);
      if (r.value) throw new Error(`${s.name}: inclusionProof.${field} changed and it still verified`);
    }, 80);
  });

  await t.test('structural garbage: only SigwardError', async (t) => {
    const replacement = fc.oneof(
      fc.constant(undefined),
      fc.jsonValue({ maxDepth: 2 }),
      fc.constantFrom('', 'AAAA', '0', -1, [], {}, null),
    );
    const arb = fc.tuple(fc.constantFrom(...samples), fc.array(fc.nat(), { minLength: 1, maxLength: 5 }), replacement);
    await fuzz(t, 'structural mutations', arb, ([s, path, r]) => {
      const json = structuredClone(s.json);
      let node: any = json;
      for (let i = 0; i < path.length; i++) {
        if (!node || typeof node !== 'object') break;
        const keys = Object.keys(node);
        if (!keys.length) break;
        const k = keys[path[i]! % keys.length]!;
        if (i === path.length - 1 || !node[k] || typeof node[k] !== 'object') {
          if (r === undefined) delete node[k];
          else node[k] = r;
          break;
        }
        node = node[k];
      }
      verify(s, json);
    }, 600);
    await fuzz(
      t,
      'arbitrary JSON and bytes',
      fc.oneof(fc.jsonValue({ maxDepth: 3 }), fc.uint8Array({ maxLength: 200 })),
      (v) => {
        onlySigwardError(() => parseBundle(v instanceof Uint8Array ? v : (v as object)), 'parseBundle');
        verify(samples[0]!, v);
      },
      500,
    );
  });
});
