// LayoutStore: OCI image layout read/write round trip, tags, referrers, digest checks,
// and interop with skopeo (a real producer/consumer of layouts).

import t from 'tap';
import { execFile } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import {
  computeDigest,
  digestTag,
  LayoutStore,
  MEDIA_TYPES,
  REF_NAME_ANNOTATION,
  RegistryClient,
} from '../../lib/oci/index.ts';
import type { ImageIndex, ImageManifest, RepositoryRef } from '../../lib/oci/index.ts';
import { pushImageDetailed, pushIndex, withRegistry } from '../helpers/registry.ts';
import { enc, rejectsCode } from './util.ts';

const run = promisify(execFile);

async function tempLayout(t: { teardown(fn: () => unknown): void }): Promise<RepositoryRef> {
  const d = await mkdtemp(join(tmpdir(), 'sigward-layout-'));
  t.teardown(() => rm(d, { recursive: true, force: true }));
  return { transport: 'oci-layout', registry: join(d, 'layout'), repository: '' };
}

t.test('write and read back', async (t) => {
  const store = new LayoutStore();
  const ref = await tempLayout(t);
  const img = await pushImageDetailed(store, ref, { tag: 'v1', layers: 2 });
  t.same(JSON.parse(await readFile(join(ref.registry, 'oci-layout'), 'utf8')), { imageLayoutVersion: '1.0.0' });
  const index = JSON.parse(await readFile(join(ref.registry, 'index.json'), 'utf8')) as ImageIndex;
  t.same(index.manifests, [{ ...img.descriptor, annotations: { [REF_NAME_ANNOTATION]: 'v1' } }]);
  const blobs = await readdir(join(ref.registry, 'blobs', 'sha256'));
  t.equal(blobs.length, 4, 'manifest + config + 2 layers');
  t.equal((await readdir(ref.registry)).filter((f) => f.includes('.tmp-')).length, 0, 'no temp files left');

  t.same(await store.resolve(ref, 'v1'), img.descriptor);
  t.same(await store.resolve(ref, img.digest), img.descriptor);
  t.same(await store.resolve(ref, ''), img.descriptor, 'single manifest without a tag');
  const m = await store.getManifest(ref, 'v1');
  t.same(Buffer.from(m.bytes), Buffer.from(img.bytes));
  t.same((m.manifest as ImageManifest).layers, img.layers);
  for (const l of img.layers) t.equal(computeDigest(await store.getBlob(ref, l.digest, { size: l.size })), l.digest);
  t.same(await store.listTags(ref), ['v1']);

  // a second tag, then moving v1
  const img2 = await pushImageDetailed(store, ref, { tag: 'v2' });
  await rejectsCode(t, store.resolve(ref, ''), 'REFERENCE_INVALID', /holds 2 manifests; give a tag/);
  await store.putManifest(ref, img2.bytes, MEDIA_TYPES.ociManifest, 'v1');
  t.equal((await store.resolve(ref, 'v1')).digest, img2.digest, 'tag moved');
  t.same((await store.listTags(ref)).sort(), ['v1', 'v2']);
  t.equal((await store.resolve(ref, img.digest)).digest, img.digest, 'old manifest still readable by digest');
  await rejectsCode(t, store.resolve(ref, 'v9'), 'MANIFEST_UNKNOWN', /manifest unknown: oci:.*:v9 not found/);
  await rejectsCode(t, store.getBlob(ref, computeDigest(enc('x'))), 'BLOB_UNKNOWN');
  // concurrent writers keep every entry
  await Promise.all(
    ['c1', 'c2', 'c3', 'c4'].map((tag) => store.putManifest(ref, img.bytes, MEDIA_TYPES.ociManifest, tag)),
  );
  t.same((await store.listTags(ref)).sort(), ['c1', 'c2', 'c3', 'c4', 'v1', 'v2']);
});

t.test('index with children', async (t) => {
  const store = new LayoutStore();
  const ref = await tempLayout(t);
  const a = await pushImageDetailed(store, ref, { tag: false });
  const idx = await pushIndex(store, ref, [{
    descriptor: a.descriptor,
    platform: { os: 'linux', architecture: 'amd64' },
  }], { tag: 'multi' });
  const got = await store.getManifest(ref, 'multi');
  t.equal(got.descriptor.mediaType, MEDIA_TYPES.ociIndex);
  t.equal(got.descriptor.digest, idx.digest);
  // the child is not at the top level of index.json (untagged entries are listed though)
  t.equal((await store.getManifest(ref, a.digest)).descriptor.digest, a.digest);
});

t.test('referrers: subject scan and the sha256-<hex> tag schema; cosign .sig tags', async (t) => {
  const store = new LayoutStore();
  const ref = await tempLayout(t);
  const subject = await pushImageDetailed(store, ref, { tag: 'app' });
  t.same(await store.referrers(ref, subject.digest), []);
  const bundleRef = await pushImageDetailed(store, ref, {
    tag: false,
    subject: subject.descriptor,
    artifactType: MEDIA_TYPES.sigstoreBundleV03,
    annotations: { 'dev.sigstore.bundle.predicateType': 'https://sigstore.dev/cosign/sign/v1' },
  });
  const other = await pushImageDetailed(store, ref, {
    tag: false,
    subject: subject.descriptor,
    artifactType: 'application/x-other',
  });
  // an extra referrer known only through the tag-schema index
  const viaTag = {
    mediaType: MEDIA_TYPES.ociManifest,
    digest: computeDigest(enc('elsewhere')),
    size: 9,
    artifactType: 'application/x-tag',
  };
  const tagIndex = {
    schemaVersion: 2,
    mediaType: MEDIA_TYPES.ociIndex,
    manifests: [viaTag, { ...bundleRef.descriptor, artifactType: MEDIA_TYPES.sigstoreBundleV03 }],
  };
  await store.putManifest(ref, enc(tagIndex), MEDIA_TYPES.ociIndex, digestTag(subject.digest));
  const refs = await store.referrers(ref, subject.digest);
  t.same(
    refs.map((d) => d.digest),
    [bundleRef.digest, other.digest, viaTag.digest],
    'deduplicated, subject scan first',
  );
  t.equal(refs[0]!.artifactType, MEDIA_TYPES.sigstoreBundleV03);
  t.same(refs[0]!.annotations, { 'dev.sigstore.bundle.predicateType': 'https://sigstore.dev/cosign/sign/v1' });
  t.same((await store.referrers(ref, subject.digest, { artifactType: 'application/x-other' })).map((d) => d.digest), [
    other.digest,
  ]);

  const sig = await pushImageDetailed(store, ref, { tag: digestTag(subject.digest, 'sig') });
  t.equal((await store.resolve(ref, digestTag(subject.digest, 'sig'))).digest, sig.digest);
  t.ok((await store.listTags(ref)).includes(`${digestTag(subject.digest)}.sig`));
});

t.test('every read checks digests and sizes', async (t) => {
  const store = new LayoutStore();
  const ref = await tempLayout(t);
  const img = await pushImageDetailed(store, ref, { tag: 'v1', layerSize: 4096 });
  const layer = img.layers[0]!;
  const layerPath = join(ref.registry, 'blobs', 'sha256', layer.digest.slice(7));
  const orig = await readFile(layerPath);
  const bad = Buffer.from(orig);
  bad[10] = bad[10]! ^ 1;
  await writeFile(layerPath, bad);
  await rejectsCode(t, store.getBlob(ref, layer.digest), 'CONTENT_DIGEST_MISMATCH');
  await writeFile(layerPath, orig);
  t.ok(await store.getBlob(ref, layer.digest));
  await rejectsCode(t, store.getBlob(ref, layer.digest, { maxBytes: 100 }), 'CONTENT_TOO_LARGE');
  await rejectsCode(t, store.getBlob(ref, layer.digest, { size: 10 }), 'CONTENT_DIGEST_MISMATCH', /size mismatch/);

  const mPath = join(ref.registry, 'blobs', 'sha256', img.digest.slice(7));
  const forged: ImageManifest = { ...img.manifest, annotations: { forged: 'yes' } };
  await writeFile(mPath, JSON.stringify(forged));
  await rejectsCode(t, store.getManifest(ref, 'v1'), 'CONTENT_DIGEST_MISMATCH');
  await rejectsCode(t, store.getManifest(ref, img.digest), 'CONTENT_DIGEST_MISMATCH');

  const missing: RepositoryRef = { ...ref, registry: join(ref.registry, 'nope') };
  await rejectsCode(t, store.resolve(missing, 'v1'), 'LAYOUT_INVALID', /no index\.json/);
  await rejectsCode(
    t,
    store.resolve({ transport: 'registry', registry: 'x', repository: 'y' }, 'v1'),
    'REFERENCE_INVALID',
  );
});

t.test('interop with skopeo: layout -> registry -> layout', async (t) => {
  const reg = await withRegistry(t);
  const store = new LayoutStore();
  const src = await tempLayout(t);
  const img = await pushImageDetailed(store, src, { tag: 'v1' });
  await run('skopeo', [
    'copy',
    '--quiet',
    '--preserve-digests',
    '--dest-tls-verify=false',
    `oci:${src.registry}:v1`,
    `docker://${reg.host}/interop/app:v1`,
  ]);
  const client = new RegistryClient();
  t.teardown(() => client.close());
  t.equal((await client.resolve(reg.ref('interop/app'), 'v1')).digest, img.digest, 'skopeo read our layout byte-exact');

  const dst = await tempLayout(t);
  await run('skopeo', [
    'copy',
    '--quiet',
    '--preserve-digests',
    '--dest-oci-accept-uncompressed-layers',
    '--src-tls-verify=false',
    `docker://${reg.host}/interop/app:v1`,
    `oci:${dst.registry}:copied`,
  ]);
  const back = await store.getManifest(dst, 'copied');
  t.equal(back.descriptor.digest, img.digest, "we read skopeo's layout");
  t.equal(computeDigest(await store.getBlob(dst, img.layers[0]!.digest)), img.layers[0]!.digest);
});
