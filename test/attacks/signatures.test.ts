// Attack suite, key-signed images: real images signed with a real key in the
// real registry, then altered the way an attacker with push access to the
// registry (but not the signing key) would. `sigward verify` (the binary)
// must deny every one, naming the reason, and report the digest it looked at.

import t from 'tap';
import { RegistryClient } from '../../lib/oci/registry.ts';
import { attachLayer } from '../../lib/cosign/attach.ts';
import { ANNOTATION } from '../../lib/cosign/annotations.ts';
import { makeSimpleSigningPayload } from '../../lib/cosign/payload.ts';
import { digestTag } from '../../lib/digest.ts';
import { type ImageManifest, MEDIA_TYPES, type RepositoryRef } from '../../lib/oci/types.ts';
import { pushImage, pushImageDetailed, pushIndex, withRegistry } from '../helpers/registry.ts';
import { attestImage, makeKey, signBytes, signImage, type TestKey } from '../helpers/cosign.ts';
import { AttackLog, type Expect, imageEntry, reserialise, scratch, sigwardJson } from './helpers.ts';

t.test('key-signed images altered by an attacker', async (t) => {
  const reg = await withRegistry(t);
  const store = new RegistryClient();
  t.teardown(() => store.close());
  const s = scratch(t);
  const victim = makeKey();
  const attacker = makeKey();
  const pub = s.file('cosign.pub', victim.publicPem);
  const log = new AttackLog('attacks/signatures');
  const base = ['verify', '--key', pub, '--insecure-ignore-tlog'];

  const repo = (name: string): RepositoryRef => reg.ref(name);
  const ref = (name: string, tagOrDigest: string) =>
    `${reg.host}/${name}${tagOrDigest.startsWith('sha256:') ? '@' : ':'}${tagOrDigest}`;
  const sign = (
    name: string,
    digest: string,
    key: TestKey = victim,
    o: Partial<Parameters<typeof signImage>[0]> = {},
  ) => signImage({ store, repository: repo(name), digest, key, identity: `${reg.host}/${name}`, ...o });
  /** appends a layer to `digest`'s .sig tag in `name` */
  const attach = (
    name: string,
    digest: string,
    payload: Uint8Array,
    annotations: Record<string, string>,
    mediaType?: string,
  ) =>
    attachLayer({
      store,
      repository: repo(name),
      digest,
      suffix: 'sig',
      payload,
      annotations,
      ...(mediaType ? { mediaType } : {}),
    });
  /** copies a manifest and its blobs from one repository to another (as `crane copy` would) */
  const copy = async (from: RepositoryRef, to: RepositoryRef, reference: string, tag?: string) => {
    const m = await store.getManifest(from, reference);
    const im = m.manifest as ImageManifest;
    for (const d of [im.config, ...im.layers]) {
      await store.putBlob(to, await store.getBlob(from, d.digest), d.mediaType);
    }
    return store.putManifest(to, m.bytes, m.descriptor.mediaType, tag);
  };

  type Case = { name: string; image: string; expect: Expect };
  const cases: Case[] = [];
  const allowed: { name: string; image: string; digest: string }[] = [];

  // control: the unaltered signed image verifies, so every denial below is the alteration's doing
  const good = await pushImage(store, repo('k/good'), { tag: 'v1' });
  await sign('k/good', good);
  allowed.push({ name: 'control: unaltered signed image', image: ref('k/good', 'v1'), digest: good });

  // --- the image changes under the signature
  {
    const signed = await pushImage(store, repo('k/swap'), { tag: 'v1' });
    await sign('k/swap', signed);
    const swapped = await pushImage(store, repo('k/swap'), { tag: 'v1' }); // v1 now names another manifest
    cases.push({
      name: 'manifest swapped after signing (tag moved to an unsigned manifest)',
      image: ref('k/swap', 'v1'),
      expect: { code: 'SIGNATURE_NOT_FOUND', reason: /^signature not found$/, digest: swapped },
    });
  }
  {
    const signed = await pushImage(store, repo('k/swap-copy'), { tag: 'v1' });
    await sign('k/swap-copy', signed);
    const swapped = await pushImage(store, repo('k/swap-copy'), { tag: 'v1' });
    // the old .sig manifest copied, byte for byte, to the new digest's signature tag
    await copy(repo('k/swap-copy'), repo('k/swap-copy'), digestTag(signed, 'sig'), digestTag(swapped, 'sig'));
    cases.push({
      name: 'manifest swapped after signing, old signature copied to the new digest',
      image: ref('k/swap-copy', 'v1'),
      expect: {
        code: 'MANIFEST_DIGEST_MISMATCH',
        reason: new RegExp(`manifest digest mismatch: signature is for ${signed}, image is ${swapped}`),
        digest: swapped,
      },
    });
  }
  {
    const signed = await pushImage(store, repo('k/replay'), { tag: 'signed' });
    const other = await pushImage(store, repo('k/replay'), { tag: 'other' });
    const { payload, signatureB64 } = await sign('k/replay', signed);
    await attach('k/replay', other, payload, { [ANNOTATION.signature]: signatureB64 });
    cases.push({
      name: 'signature replayed onto another digest',
      image: ref('k/replay', 'other'),
      expect: { code: 'MANIFEST_DIGEST_MISMATCH', reason: /manifest digest mismatch/, digest: other },
    });
  }
  {
    const signed = await pushImage(store, repo('k/origin'), { tag: 'v1' });
    const { payload, signatureB64 } = await sign('k/origin', signed);
    const target = await pushImage(store, repo('k/elsewhere'), { tag: 'v1' });
    await attach('k/elsewhere', target, payload, { [ANNOTATION.signature]: signatureB64 });
    cases.push({
      name: 'signature replayed onto another repository (another digest)',
      image: ref('k/elsewhere', 'v1'),
      expect: { code: 'MANIFEST_DIGEST_MISMATCH', reason: /manifest digest mismatch/, digest: target },
    });
    // The same manifest (same digest) copied to another repository with its signature IS
    // accepted, as by cosign: the signature binds content (the digest), not a location;
    // docker-reference is not checked. Not an attack on the image: it is the signed image.
    await copy(repo('k/origin'), repo('k/mirror'), signed, 'v1');
    await copy(repo('k/origin'), repo('k/mirror'), digestTag(signed, 'sig'), digestTag(signed, 'sig'));
    allowed.push({
      name: 'documented: same digest mirrored to another repository with its signature',
      image: ref('k/mirror', 'v1'),
      digest: signed,
    });
  }

  // --- the signed payload, signature or layer are altered
  for (const how of ['indent', 'reorder', 'escape'] as const) {
    const name = `k/reserialised-${how}`;
    const d = await pushImage(store, repo(name), { tag: 'v1' });
    const payload = makeSimpleSigningPayload(`${reg.host}/${name}`, d, null);
    const sig = signBytes(victim, payload).toString('base64');
    await attach(name, d, reserialise(payload, how), { [ANNOTATION.signature]: sig });
    const what = { indent: 'whitespace', reorder: 'key order', escape: 'string escapes' }[how];
    cases.push({
      name: `payload re-serialised (${what}) under the original signature`,
      image: ref(name, 'v1'),
      expect: { code: 'SIGNATURE_INVALID', reason: /^invalid signature$/, digest: d },
    });
  }
  {
    const d = await pushImage(store, repo('k/attacker-key'), { tag: 'v1' });
    await sign('k/attacker-key', d, attacker);
    cases.push({
      name: "signed with the attacker's own key",
      image: ref('k/attacker-key', 'v1'),
      expect: { code: 'SIGNATURE_INVALID', reason: /invalid signature/, digest: d },
    });
  }
  {
    const d = await pushImage(store, repo('k/bitflip'), { tag: 'v1' });
    const payload = makeSimpleSigningPayload(`${reg.host}/k/bitflip`, d, null);
    const sig = signBytes(victim, payload);
    sig[sig.length - 3] ^= 0x01;
    await attach('k/bitflip', d, payload, { [ANNOTATION.signature]: sig.toString('base64') });
    cases.push({
      name: 'signature bytes altered (one bit)',
      image: ref('k/bitflip', 'v1'),
      expect: { code: 'SIGNATURE_INVALID', reason: /invalid signature/, digest: d },
    });
  }
  {
    // the key signed a JSON document for another protocol that names this digest
    const d = await pushImage(store, repo('k/other-type'), { tag: 'v1' });
    const doc = {
      critical: {
        identity: { 'docker-reference': `${reg.host}/k/other-type` },
        image: { 'docker-manifest-digest': d },
        type: 'atomic container signature',
      },
      optional: null,
    };
    const payload = Buffer.from(JSON.stringify(doc));
    await attach('k/other-type', d, payload, { [ANNOTATION.signature]: signBytes(victim, payload).toString('base64') });
    cases.push({
      name: 'signed payload of another type (cross-protocol)',
      image: ref('k/other-type', 'v1'),
      expect: { code: 'PAYLOAD_INVALID', reason: /payload type is "atomic container signature"/, digest: d },
    });
  }
  {
    const d = await pushImage(store, repo('k/empty-sig'), { tag: 'v1' });
    await attach('k/empty-sig', d, makeSimpleSigningPayload(`${reg.host}/k/empty-sig`, d, null), {
      [ANNOTATION.signature]: '',
    });
    cases.push({
      name: 'empty signature annotation',
      image: ref('k/empty-sig', 'v1'),
      expect: { code: 'PAYLOAD_INVALID', reason: /no signature annotation/, digest: d },
    });
  }
  {
    // a DSSE attestation the key really made for this image, relabelled as a simple-signing layer
    const d = await pushImage(store, repo('k/dsse-as-sig'), { tag: 'v1' });
    const envelope = await attestImage({
      store,
      repository: repo('k/dsse-as-sig'),
      digest: d,
      key: victim,
      predicateType: 'https://slsa.dev/provenance/v0.2',
      predicate: {},
    });
    const sig = JSON.parse(Buffer.from(envelope).toString()).signatures[0].sig as string;
    await attach('k/dsse-as-sig', d, envelope, { [ANNOTATION.signature]: sig }, MEDIA_TYPES.cosignSimpleSigning);
    cases.push({
      name: 'simple-signing media type over a DSSE envelope blob',
      image: ref('k/dsse-as-sig', 'v1'),
      expect: { code: 'SIGNATURE_INVALID', reason: /invalid signature/, digest: d },
    });
  }
  {
    // the same attestation copied into the .sig tag with its own media type
    const d = await pushImage(store, repo('k/att-as-sig'), { tag: 'v1' });
    const envelope = await attestImage({
      store,
      repository: repo('k/att-as-sig'),
      digest: d,
      key: victim,
      predicateType: 'https://slsa.dev/provenance/v0.2',
      predicate: {},
    });
    await attach('k/att-as-sig', d, envelope, { [ANNOTATION.signature]: '' }, MEDIA_TYPES.dsseEnvelope);
    cases.push({
      name: 'attestation presented as a signature',
      image: ref('k/att-as-sig', 'v1'),
      expect: { code: 'SIGNATURE_NOT_FOUND', reason: /signature not found \(layer is not a signature/, digest: d },
    });
  }
  {
    // the .sig tag holds an index whose child is a valid signature manifest
    const d = await pushImage(store, repo('k/sig-index'), { tag: 'v1' });
    await sign('k/sig-index', d);
    const sigTag = digestTag(d, 'sig');
    const sigManifest = await store.getManifest(repo('k/sig-index'), sigTag);
    await pushIndex(store, repo('k/sig-index'), [{ descriptor: sigManifest.descriptor }], { tag: sigTag });
    cases.push({
      name: 'signature tag holds an index instead of a manifest',
      image: ref('k/sig-index', 'v1'),
      expect: { code: 'MANIFEST_INVALID', reason: /is not an image manifest/, digest: d },
    });
  }
  {
    const d = await pushImageDetailed(store, repo('k/huge-layer'), { tag: 'v1' });
    const payload = makeSimpleSigningPayload(`${reg.host}/k/huge-layer`, d.digest, null);
    const blob = await store.putBlob(repo('k/huge-layer'), payload, MEDIA_TYPES.cosignSimpleSigning);
    const config = await store.putBlob(repo('k/huge-layer'), Buffer.from('{}'), MEDIA_TYPES.ociConfig);
    // the descriptor claims 200 MiB: refused before a byte is read
    const m = {
      schemaVersion: 2,
      mediaType: MEDIA_TYPES.ociManifest,
      config,
      layers: [{
        ...blob,
        size: 200 * 1024 * 1024,
        annotations: { [ANNOTATION.signature]: signBytes(victim, payload).toString('base64') },
      }],
    };
    await store.putManifest(
      repo('k/huge-layer'),
      Buffer.from(JSON.stringify(m)),
      MEDIA_TYPES.ociManifest,
      digestTag(d.digest, 'sig'),
    );
    cases.push({
      name: 'signature layer above the size cap',
      image: ref('k/huge-layer', 'v1'),
      expect: { code: 'CONTENT_TOO_LARGE', reason: /above the 134217728 byte limit/, digest: d.digest },
    });
  }
  {
    // the unsigned child of a signed multi-arch index
    const amd = await pushImageDetailed(store, repo('k/multi'), {
      tag: false,
      platform: { os: 'linux', architecture: 'amd64' },
    });
    const arm = await pushImageDetailed(store, repo('k/multi'), {
      tag: false,
      platform: { os: 'linux', architecture: 'arm64' },
    });
    const index = await pushIndex(store, repo('k/multi'), [
      { descriptor: amd.descriptor, platform: { os: 'linux', architecture: 'amd64' } },
      { descriptor: arm.descriptor, platform: { os: 'linux', architecture: 'arm64' } },
    ], { tag: 'v1' });
    await sign('k/multi', index.digest);
    allowed.push({
      name: 'control: the signed index itself (cosign: signing the index does not sign its children)',
      image: ref('k/multi', 'v1'),
      digest: index.digest,
    });
    cases.push({
      name: 'unsigned child manifest of a signed multi-arch index',
      image: ref('k/multi', arm.digest),
      expect: { code: 'SIGNATURE_NOT_FOUND', reason: /^signature not found$/, digest: arm.digest },
    });
    // and the other way round: a signed child does not make its index signed
    const c1 = await pushImageDetailed(store, repo('k/multi-child'), { tag: false });
    const idx2 = await pushIndex(store, repo('k/multi-child'), [{
      descriptor: c1.descriptor,
      platform: { os: 'linux', architecture: 'amd64' },
    }], { tag: 'v1' });
    await sign('k/multi-child', c1.digest);
    cases.push({
      name: 'unsigned index whose only child is signed',
      image: ref('k/multi-child', 'v1'),
      expect: { code: 'SIGNATURE_NOT_FOUND', reason: /^signature not found$/, digest: idx2.digest },
    });
  }

  const images = [...allowed.map((a) => a.image), ...cases.map((c) => c.image)];
  const r = await sigwardJson([...base, ...images]);
  t.equal(r.code, 1, 'exit 1: denied');
  for (const a of allowed) {
    const e = imageEntry(r.doc, a.image);
    t.equal(e.verified, true, `${a.name}: verified`);
    t.equal(e.digest, a.digest, `${a.name}: digest`);
  }
  for (const c of cases) log.denied(t, c.name, imageEntry(r.doc, c.image), c.expect);

  await t.test('annotation tricks (-a env=prod -a approved=true)', async (t) => {
    // -a takes a list: it goes after the images
    const annotations = ['-a', 'env=prod', '-a', 'approved=true'];
    const mk = async (
      name: string,
      optional: Record<string, unknown> | null,
      layerAnnotations: Record<string, string> = {},
    ) => {
      const d = await pushImage(store, repo(name), { tag: 'v1' });
      await sign(name, d, victim, {
        annotations: optional as Record<string, string> | null,
        extraAnnotations: layerAnnotations,
      });
      return { image: ref(name, 'v1'), digest: d };
    };
    const ok = await mk('k/annot-ok', { env: 'prod', approved: 'true' });
    const list: [string, { image: string; digest: string }, RegExp][] = [
      [
        'annotation value is a list holding the value',
        await mk('k/annot-list', { env: ['prod'], approved: 'true' }),
        /env=prod \(payload has env=\["prod"\]\)/,
      ],
      [
        'annotation value with a trailing space',
        await mk('k/annot-space', { env: 'prod ', approved: 'true' }),
        /env=prod \(payload has env=prod \)/,
      ],
      [
        'annotation value of another JSON type (boolean true for "true")',
        await mk('k/annot-bool', { env: 'prod', approved: true }),
        /approved=true/,
      ],
      [
        'annotation only in the unsigned layer annotations',
        await mk('k/annot-layer', null, { env: 'prod', approved: 'true' }),
        /env=prod \(payload has none\)/,
      ],
    ];
    const r = await sigwardJson([...base, ok.image, ...list.map(([, x]) => x.image), ...annotations]);
    t.equal(r.code, 1);
    t.equal(imageEntry(r.doc, ok.image).verified, true, 'control: exact string annotations verify');
    for (const [name, x, reason] of list) {
      log.denied(t, name, imageEntry(r.doc, x.image), { code: 'ANNOTATION_MISMATCH', reason, digest: x.digest });
    }
  });

  await t.test('signature-repository redirect (COSIGN_REPOSITORY)', async (t) => {
    const d = await pushImage(store, repo('k/redirected'), { tag: 'v1' });
    await sign('k/redirected', d); // the real signature, in the image's repository
    // the attacker's repository: a signature by the attacker's key for this very digest
    await sign('evil/sigs', d, attacker, { identity: `${reg.host}/k/redirected` });
    // ... and the victim's real signature of another image, replayed for this digest
    const d2 = await pushImage(store, repo('k/redirected2'), { tag: 'v1' });
    const other = await pushImage(store, repo('k/redirected2'), { tag: 'other' });
    const { payload, signatureB64 } = await sign('k/redirected2', other);
    await attach('evil/sigs', d2, payload, { [ANNOTATION.signature]: signatureB64 });
    const r = await sigwardJson([...base, ref('k/redirected', 'v1'), ref('k/redirected2', 'v1')], {
      env: { COSIGN_REPOSITORY: `${reg.host}/evil/sigs` },
    });
    t.equal(r.code, 1);
    log.denied(
      t,
      'signature repository redirected to an attacker repository (attacker key)',
      imageEntry(r.doc, ref('k/redirected', 'v1')),
      { code: 'SIGNATURE_INVALID', reason: /invalid signature/, digest: d },
    );
    log.denied(
      t,
      'signature repository redirected to a replayed signature of another digest',
      imageEntry(r.doc, ref('k/redirected2', 'v1')),
      { code: 'MANIFEST_DIGEST_MISMATCH', reason: /manifest digest mismatch/, digest: d2 },
    );
  });

  await t.test('a signature list with 3000 layers: bounded work, denied', async (t) => {
    const name = 'k/many-layers';
    const d = await pushImage(store, repo(name), { tag: 'v1' });
    const payload = makeSimpleSigningPayload(`${reg.host}/${name}`, d, null);
    const blob = await store.putBlob(repo(name), payload, MEDIA_TYPES.cosignSimpleSigning);
    const config = await store.putBlob(repo(name), Buffer.from('{}'), MEDIA_TYPES.ociConfig);
    const junk = { ...blob, annotations: { [ANNOTATION.signature]: signBytes(attacker, payload).toString('base64') } };
    const layers = Array.from({ length: 3000 }, () => junk);
    // the one valid signature sits beyond the examined window: sigward fails closed
    layers[2000] = { ...blob, annotations: { [ANNOTATION.signature]: signBytes(victim, payload).toString('base64') } };
    const m = { schemaVersion: 2, mediaType: MEDIA_TYPES.ociManifest, config, layers };
    await store.putManifest(repo(name), Buffer.from(JSON.stringify(m)), MEDIA_TYPES.ociManifest, digestTag(d, 'sig'));
    const r = await sigwardJson([...base, ref(name, 'v1')]);
    t.equal(r.code, 1);
    const e = imageEntry(r.doc, ref(name, 'v1'));
    log.denied(t, 'signature list with 3000 layers (bounded work)', e, {
      code: 'SIGNATURE_INVALID',
      reason: /invalid signature/,
      digest: d,
    });
    t.equal(e.error.detail.rejected.length, 256, 'only the first 256 layers are examined');
    t.ok(r.ms < 30_000, `decided in ${r.ms} ms`);
  });

  log.report(t);
});
