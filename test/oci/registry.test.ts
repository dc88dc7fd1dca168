// RegistryClient against the real docker-registry (distribution 2.8): push, resolve, fetch,
// indexes and platforms, tag pagination, referrers fallback, caps, unreachable registries.

import t from 'tap';
import { randomBytes } from 'node:crypto';
import {
  computeDigest,
  digestTag,
  isImageIndex,
  MEDIA_TYPES,
  RegistryClient,
  selectPlatform,
} from '../../lib/oci/index.ts';
import type { ImageIndex, ImageManifest } from '../../lib/oci/index.ts';
import { freePort, pushImageDetailed, pushIndex, withRegistry } from '../helpers/registry.ts';
import { enc, rejectsCode } from './util.ts';

t.test('registry client against docker-registry', async (t) => {
  const reg = await withRegistry(t);
  const client = new RegistryClient();
  t.teardown(() => client.close());

  t.test('OCI image: push, resolve by tag and digest, manifest and blobs', async (t) => {
    const repo = reg.ref('app/oci');
    const img = await pushImageDetailed(client, repo, { tag: 'v1', layers: 2 });
    const byTag = await client.resolve(repo, 'v1');
    t.same(byTag, { mediaType: MEDIA_TYPES.ociManifest, digest: img.digest, size: img.bytes.byteLength });
    t.same(await client.resolve(repo, img.digest), byTag);
    const m = await client.getManifest(repo, 'v1');
    t.equal(m.descriptor.digest, img.digest);
    t.same(Buffer.from(m.bytes), Buffer.from(img.bytes), 'bytes are stored byte-exact');
    t.same((m.manifest as ImageManifest).layers, img.layers);
    const byDigest = await client.getManifest(repo, img.digest);
    t.equal(byDigest.descriptor.digest, img.digest);
    for (const l of img.layers) {
      const b = await client.getBlob(repo, l.digest, { size: l.size });
      t.equal(computeDigest(b), l.digest);
    }
    const cfg = await client.getBlob(repo, img.config.digest);
    t.match(JSON.parse(new TextDecoder().decode(cfg)), { os: 'linux', architecture: 'amd64' });
  });

  t.test('Docker schema2 image', async (t) => {
    const repo = reg.ref('app/docker');
    const img = await pushImageDetailed(client, repo, { docker: true });
    const d = await client.resolve(repo, 'latest');
    t.equal(d.mediaType, MEDIA_TYPES.dockerManifest);
    t.equal(d.digest, img.digest);
    const m = await client.getManifest(repo, 'latest');
    t.equal(m.descriptor.mediaType, MEDIA_TYPES.dockerManifest);
    t.equal((m.manifest as ImageManifest).config.mediaType, MEDIA_TYPES.dockerConfig);
  });

  t.test('image index and platform selection (OCI and Docker list)', async (t) => {
    const repo = reg.ref('app/multi');
    const amd = await pushImageDetailed(client, repo, { tag: false, platform: { os: 'linux', architecture: 'amd64' } });
    const arm = await pushImageDetailed(client, repo, {
      tag: false,
      platform: { os: 'linux', architecture: 'arm64', variant: 'v8' },
    });
    const armv7 = await pushImageDetailed(client, repo, {
      tag: false,
      platform: { os: 'linux', architecture: 'arm', variant: 'v7' },
    });
    const idx = await pushIndex(client, repo, [
      { descriptor: amd.descriptor, platform: { os: 'linux', architecture: 'amd64' } },
      { descriptor: arm.descriptor, platform: { os: 'linux', architecture: 'arm64', variant: 'v8' } },
      { descriptor: armv7.descriptor, platform: { os: 'linux', architecture: 'arm', variant: 'v7' } },
    ], { tag: 'multi' });
    const got = await client.getManifest(repo, 'multi');
    t.equal(got.descriptor.digest, idx.digest);
    t.equal(got.descriptor.mediaType, MEDIA_TYPES.ociIndex);
    t.ok(isImageIndex(got.manifest));
    const index = got.manifest as ImageIndex;
    t.equal(selectPlatform(index)?.digest, amd.digest, 'default linux/amd64');
    t.equal(selectPlatform(index, { architecture: 'arm64' })?.digest, arm.digest, 'arm64 = arm64/v8');
    t.equal(selectPlatform(index, { architecture: 'aarch64' })?.digest, arm.digest, 'alias aarch64');
    t.equal(selectPlatform(index, { architecture: 'arm', variant: 'v7' })?.digest, armv7.digest);
    t.equal(selectPlatform(index, { architecture: 'arm', variant: 'v6' }), undefined);
    t.equal(selectPlatform(index, { os: 'windows' }), undefined);
    const child = await client.getManifest(repo, selectPlatform(index, { architecture: 'arm64' })!.digest);
    t.equal(child.descriptor.digest, arm.digest);

    const list = await pushIndex(client, repo, [
      { descriptor: amd.descriptor, platform: { os: 'linux', architecture: 'amd64' } },
    ], { tag: 'list', docker: true });
    const l = await client.resolve(repo, 'list');
    t.same(l, { mediaType: MEDIA_TYPES.dockerManifestList, digest: list.digest, size: list.bytes.byteLength });
  });

  t.test('tag listing', async (t) => {
    const repo = reg.ref('app/tags');
    const img = await pushImageDetailed(client, repo, { tag: 't0' });
    for (const n of ['t1', 't2', 'sha256-abc.sig']) {
      await client.putManifest(repo, img.bytes, MEDIA_TYPES.ociManifest, n);
    }
    t.same((await client.listTags(repo)).sort(), ['sha256-abc.sig', 't0', 't1', 't2']);
    await rejectsCode(t, client.listTags(reg.ref('app/nothing-here')), 'MANIFEST_UNKNOWN', /repository unknown/);
  });

  t.test('referrers: registry has no API, tag schema fallback', async (t) => {
    const repo = reg.ref('app/refs');
    const subject = await pushImageDetailed(client, repo, { tag: 'subject' });
    t.same(await client.referrers(repo, subject.digest), [], 'none yet');
    // a bundle-style referrer pushed by digest: the client maintains the sha256-<hex> index
    const empty = await client.putBlob(repo, enc({}), MEDIA_TYPES.ociEmpty);
    const bundle = await client.putBlob(
      repo,
      enc({ mediaType: MEDIA_TYPES.sigstoreBundleV03 }),
      MEDIA_TYPES.sigstoreBundleV03,
    );
    const refManifest: ImageManifest = {
      schemaVersion: 2,
      mediaType: MEDIA_TYPES.ociManifest,
      artifactType: MEDIA_TYPES.sigstoreBundleV03,
      config: empty,
      layers: [bundle],
      subject: subject.descriptor,
      annotations: { 'dev.sigstore.bundle.predicateType': 'https://sigstore.dev/cosign/sign/v1' },
    };
    const r1 = await client.putManifest(repo, enc(refManifest), MEDIA_TYPES.ociManifest);
    const other = await pushImageDetailed(client, repo, {
      tag: false,
      subject: subject.descriptor,
      artifactType: 'application/example',
    });
    const refs = await client.referrers(repo, subject.digest);
    t.same(refs.map((d) => d.digest), [r1.digest, other.digest]);
    t.equal(refs[0]!.artifactType, MEDIA_TYPES.sigstoreBundleV03);
    t.same(refs[0]!.annotations, refManifest.annotations);
    const only = await client.referrers(repo, subject.digest, { artifactType: MEDIA_TYPES.sigstoreBundleV03 });
    t.same(only.map((d) => d.digest), [r1.digest], 'artifactType filtered client-side');
    const tagIndex = await client.getManifest(repo, digestTag(subject.digest));
    t.equal(tagIndex.descriptor.mediaType, MEDIA_TYPES.ociIndex, 'fallback tag holds an OCI index');
    // pushing the same referrer again does not duplicate it
    await client.putManifest(repo, enc(refManifest), MEDIA_TYPES.ociManifest);
    t.equal((await client.referrers(repo, subject.digest)).length, 2);
  });

  t.test('unknown manifests and blobs', async (t) => {
    const repo = reg.ref('app/oci');
    await rejectsCode(
      t,
      client.resolve(repo, 'nope'),
      'MANIFEST_UNKNOWN',
      /manifest unknown: 127\.0\.0\.1:\d+\/app\/oci:nope not found/,
    );
    await rejectsCode(t, client.getManifest(repo, 'nope'), 'MANIFEST_UNKNOWN');
    const missing = computeDigest(randomBytes(8));
    await rejectsCode(t, client.getManifest(repo, missing), 'MANIFEST_UNKNOWN', /@sha256:/);
    await rejectsCode(t, client.getBlob(repo, missing), 'BLOB_UNKNOWN', /blob unknown/);
    await rejectsCode(t, client.getBlob(repo, missing, { size: 2 }), 'BLOB_UNKNOWN', /blob unknown/);
    await rejectsCode(t, client.resolve(repo, 'bad tag!'), 'REFERENCE_INVALID');
    await rejectsCode(t, client.getBlob(repo, 'sha256:../../etc'), 'REFERENCE_INVALID');
  });

  t.test('size caps', async (t) => {
    const repo = reg.ref('app/big');
    const img = await pushImageDetailed(client, repo, { layerSize: 64 * 1024 });
    const layer = img.layers[0]!;
    await rejectsCode(t, client.getBlob(repo, layer.digest, { maxBytes: 1024 }), 'CONTENT_TOO_LARGE');
    await rejectsCode(t, client.getBlob(repo, layer.digest, { maxBytes: 1024, size: layer.size }), 'CONTENT_TOO_LARGE');
    await rejectsCode(
      t,
      client.getBlob(repo, layer.digest, { size: layer.size - 1 }),
      'CONTENT_DIGEST_MISMATCH',
      /size mismatch/,
    );
    await rejectsCode(
      t,
      client.getBlob(repo, layer.digest, { size: layer.size + 1 }),
      'CONTENT_DIGEST_MISMATCH',
      /size mismatch/,
    );
    await rejectsCode(t, client.getManifest(repo, 'latest', { maxBytes: 100 }), 'CONTENT_TOO_LARGE');
    const small = new RegistryClient({ maxManifestBytes: 100, maxBlobBytes: 1000 });
    t.teardown(() => small.close());
    await rejectsCode(t, small.getManifest(repo, img.digest), 'CONTENT_TOO_LARGE');
    await rejectsCode(t, small.getBlob(repo, layer.digest), 'CONTENT_TOO_LARGE');
    t.equal((await client.getBlob(repo, layer.digest, { size: layer.size })).byteLength, 64 * 1024);
  });

  t.test('schema1 manifests are refused by the parser before anything else', async (t) => {
    const repo = reg.ref('app/oci');
    await rejectsCode(
      t,
      client.putManifest(
        repo,
        enc({ schemaVersion: 1, name: 'x', tag: 'y', fsLayers: [] }),
        'application/vnd.docker.distribution.manifest.v1+prettyjws',
      ),
      'MANIFEST_INVALID',
      /schema 1 is not supported/,
    );
  });

  t.test('delete manifest', async (t) => {
    const repo = reg.ref('app/delete');
    const img = await pushImageDetailed(client, repo, { tag: 'gone' });
    await client.deleteManifest(repo, img.digest);
    await rejectsCode(t, client.getManifest(repo, img.digest), 'MANIFEST_UNKNOWN');
  });
});

t.test('connection refused -> REGISTRY_UNREACHABLE', async (t) => {
  const port = await freePort();
  const client = new RegistryClient({ retries: 1, retryBaseMs: 10 });
  t.teardown(() => client.close());
  const e = await rejectsCode(
    t,
    client.resolve({ transport: 'registry', registry: `127.0.0.1:${port}`, repository: 'x' }, 'latest'),
    'REGISTRY_UNREACHABLE',
    new RegExp(`registry unreachable: 127\\.0\\.0\\.1:${port}: connection refused`),
  );
  t.equal(e.outcome, 'undecided');
  const d = await rejectsCode(
    t,
    client.resolve({ transport: 'registry', registry: 'nonexistent.invalid', repository: 'x' }, 'latest'),
    'REGISTRY_UNREACHABLE',
    /nonexistent\.invalid: (no such host|DNS)/,
  );
  t.ok(d);
});
