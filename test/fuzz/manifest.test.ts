// Fuzzing manifest parsing: toManifest on arbitrary bytes, arbitrary JSON and
// mutated real manifests (image, index, Docker, cosign signature manifests);
// platform selection on whatever it accepted.

import t from 'tap';
import { isDigest, isImageIndex, MEDIA_TYPES, selectPlatform, toManifest } from '../../lib/oci/index.ts';
import { bounded, fc, flipBit, fuzz, onlySigwardError, SEED } from './helpers.ts';

const d = (c: string) => 'sha256:' + c.repeat(64);
const SAMPLES: unknown[] = [
  {
    schemaVersion: 2,
    mediaType: MEDIA_TYPES.ociManifest,
    config: { mediaType: MEDIA_TYPES.ociConfig, digest: d('a'), size: 2 },
    layers: [{
      mediaType: MEDIA_TYPES.cosignSimpleSigning,
      digest: d('b'),
      size: 243,
      annotations: { 'dev.cosignproject.cosign/signature': 'MEUCIQ==' },
    }],
  },
  {
    schemaVersion: 2,
    mediaType: MEDIA_TYPES.ociIndex,
    manifests: [{
      mediaType: MEDIA_TYPES.ociManifest,
      digest: d('c'),
      size: 500,
      platform: { os: 'linux', architecture: 'amd64' },
    }, {
      mediaType: MEDIA_TYPES.ociManifest,
      digest: d('e'),
      size: 501,
      platform: { os: 'linux', architecture: 'arm64', variant: 'v8' },
    }],
  },
  {
    schemaVersion: 2,
    mediaType: MEDIA_TYPES.dockerManifest,
    config: { mediaType: MEDIA_TYPES.dockerConfig, digest: d('1'), size: 1469 },
    layers: [{ mediaType: 'application/vnd.docker.image.rootfs.diff.tar.gzip', digest: d('2'), size: 2 }],
  },
  {
    schemaVersion: 2,
    mediaType: MEDIA_TYPES.dockerManifestList,
    manifests: [{
      mediaType: MEDIA_TYPES.dockerManifest,
      digest: d('3'),
      size: 7,
      platform: { os: 'linux', architecture: 'arm', variant: 'v7' },
    }],
  },
  {
    schemaVersion: 2,
    mediaType: MEDIA_TYPES.ociManifest,
    artifactType: MEDIA_TYPES.sigstoreBundleV03,
    config: { mediaType: MEDIA_TYPES.ociEmpty, digest: d('4'), size: 2 },
    layers: [{ mediaType: MEDIA_TYPES.sigstoreBundleV03, digest: d('5'), size: 9 }],
    subject: { mediaType: MEDIA_TYPES.ociManifest, digest: d('6'), size: 3 },
  },
];
const CONTENT_TYPES = [
  undefined,
  MEDIA_TYPES.ociManifest,
  MEDIA_TYPES.ociIndex,
  MEDIA_TYPES.dockerManifest,
  'application/vnd.docker.distribution.manifest.v1+prettyjws',
  'text/html',
  'application/json; charset=utf-8',
];

function check(bytes: Uint8Array, contentType: string | undefined): void {
  const { value, error } = bounded(
    () => onlySigwardError(() => toManifest(bytes, contentType), 'toManifest'),
    1000,
    'toManifest',
  );
  if (error && error.code !== 'MANIFEST_INVALID') throw new Error(`unexpected code ${error.code}`);
  if (!value) return;
  const m = value.manifest;
  const descriptors = isImageIndex(m) ? m.manifests : [m.config, ...m.layers];
  for (const x of descriptors) {
    if (!isDigest(x.digest) || !Number.isSafeInteger(x.size) || x.size < 0 || typeof x.mediaType !== 'string') {
      throw new Error(`accepted a bad descriptor ${JSON.stringify(x)}`);
    }
  }
  if (isImageIndex(m)) selectPlatform(m, { os: 'linux', architecture: 'arm64' });
}

/** JSON mutations: replace, delete or retype one value somewhere in the document. */
function mutateJson(v: unknown, path: number[], replacement: unknown): unknown {
  if (path.length === 0 || v === null || typeof v !== 'object') return replacement;
  const entries = Array.isArray(v)
    ? v.map((x, i) => [String(i), x] as const)
    : Object.entries(v as Record<string, unknown>);
  if (entries.length === 0) return replacement;
  const [k, child] = entries[path[0]! % entries.length]!;
  const copy: any = Array.isArray(v) ? [...v] : { ...(v as object) };
  const next = mutateJson(child, path.slice(1), replacement);
  if (next === undefined) {
    if (Array.isArray(copy)) copy.splice(Number(k), 1);
    else delete copy[k];
  } else copy[k] = next;
  return copy;
}

t.comment(`fast-check seed ${SEED}`);

t.test('toManifest: arbitrary bytes and JSON', async (t) => {
  await fuzz(
    t,
    'bytes',
    fc.tuple(fc.uint8Array({ maxLength: 300 }), fc.constantFrom(...CONTENT_TYPES)),
    ([b, ct]) => check(b, ct),
    2000,
  );
  await fuzz(
    t,
    'json values',
    fc.tuple(fc.jsonValue({ maxDepth: 4 }), fc.constantFrom(...CONTENT_TYPES)),
    ([v, ct]) => check(Buffer.from(JSON.stringify(v) ?? 'null'), ct),
    2000,
  );
});

t.test('toManifest: mutated real manifests', async (t) => {
  const replacement = fc.oneof(
    fc.constant(undefined),
    fc.jsonValue({ maxDepth: 2 }),
    fc.constantFrom(-1, 2 ** 60, 1.5, '', 'sha256:x', [], {}, null, '\u0000', 'sha256:' + 'A'.repeat(64)),
  );
  await fuzz(
    t,
    'structural mutations',
    fc.tuple(
      fc.constantFrom(...SAMPLES),
      fc.array(fc.nat(), { minLength: 1, maxLength: 5 }),
      replacement,
      fc.constantFrom(...CONTENT_TYPES),
    ),
    ([m, path, r, ct]) => check(Buffer.from(JSON.stringify(mutateJson(m, path, r)) ?? 'null'), ct),
    3000,
  );
  await fuzz(
    t,
    'bit flips',
    fc.tuple(fc.constantFrom(...SAMPLES), fc.nat(), fc.constantFrom(...CONTENT_TYPES)),
    ([m, at, ct]) => check(flipBit(Buffer.from(JSON.stringify(m)), at), ct),
    2000,
  );
});

t.test('regression (found by this fuzzer): a platform that is not {os, architecture} strings', async (t) => {
  // selectPlatform crashed with a TypeError on {"os": [...]} from a registry's index
  for (
    const platform of [{ os: ['linux'], architecture: 'amd64' }, { os: 'linux' }, 'linux/amd64', {
      os: 'linux',
      architecture: 'arm64',
      variant: 8,
    }]
  ) {
    const bytes = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: MEDIA_TYPES.ociIndex,
        manifests: [{ mediaType: MEDIA_TYPES.ociManifest, digest: d('c'), size: 1, platform }],
      }),
    );
    t.throws(
      () => toManifest(bytes),
      { code: 'MANIFEST_INVALID', message: /manifests\[0\] has an invalid platform/ },
      JSON.stringify(platform),
    );
  }
});
