// OCI image layout directories (oci-layout, index.json, blobs/<alg>/<hex>) as an OciStore.
// Tags are `org.opencontainers.image.ref.name` annotations in index.json; referrers are
// found by scanning the listed manifests for a matching `subject` and via the
// `sha256-<hex>` tag schema. Every read is digest-checked; writes are atomic (temp + rename).

import { randomBytes } from 'node:crypto';
import { mkdir, open, readFile, rename, stat, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { SigwardError } from '../errors.ts';
import { computeDigest, digestTag, isDigest, parseDigest, verifyDigest } from '../digest.ts';
import { isImageIndex, isManifestMediaType, toManifest } from './manifest.ts';
import { DEFAULT_MAX_BLOB_BYTES, DEFAULT_MAX_MANIFEST_BYTES, referrerDescriptor } from './registry.ts';
import { MEDIA_TYPES } from './types.ts';
import type { Descriptor, FetchedManifest, GetOptions, ImageIndex, OciStore, RepositoryRef } from './types.ts';

export const REF_NAME_ANNOTATION = 'org.opencontainers.image.ref.name';

// `cosign save --dir DIR IMAGE` writes an OCI layout whose index.json names
// its entries by a `kind` annotation instead of tags: the image (or image
// index), and the manifests cosign keeps under the `.sig` and `.att` tags.
const COSIGN_KIND_ANNOTATION = 'kind';
const COSIGN_IMAGE_KINDS = new Set(['dev.cosignproject.cosign/image', 'dev.cosignproject.cosign/imageIndex']);
const COSIGN_ATTACHMENT_KINDS: Record<string, string> = {
  'dev.cosignproject.cosign/sigs': '.sig',
  'dev.cosignproject.cosign/atts': '.att',
};

/** The entries of a layout written by `cosign save`: its one image, and its attachments by tag suffix. */
function cosignSaveEntries(index: ImageIndex): { image?: Descriptor; attachments: Map<string, Descriptor> } {
  const images = index.manifests.filter((d) => COSIGN_IMAGE_KINDS.has(d.annotations?.[COSIGN_KIND_ANNOTATION] ?? ''));
  const attachments = new Map<string, Descriptor>();
  for (const d of index.manifests) {
    const suffix = COSIGN_ATTACHMENT_KINDS[d.annotations?.[COSIGN_KIND_ANNOTATION] ?? ''];
    if (suffix) attachments.set(suffix, d);
  }
  // several images in one layout: cosign's kinds do not say which attachment is whose
  return images.length === 1 ? { image: images[0]!, attachments } : { attachments: new Map() };
}
const TAG_RE = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$/;

export interface LayoutStoreOptions {
  maxManifestBytes?: number;
  maxBlobBytes?: number;
}

export class LayoutStore implements OciStore {
  #maxManifest: number;
  #maxBlob: number;
  /** per-directory write queue (index.json updates are read-modify-write) */
  #locks = new Map<string, Promise<unknown>>();

  constructor(opts: LayoutStoreOptions = {}) {
    this.#maxManifest = opts.maxManifestBytes ?? DEFAULT_MAX_MANIFEST_BYTES;
    this.#maxBlob = opts.maxBlobBytes ?? DEFAULT_MAX_BLOB_BYTES;
  }

  // ---------------------------------------------------------------- reads

  /** Tag, digest, or '' for the only manifest of the layout. */
  async resolve(repo: RepositoryRef, tagOrDigest: string, opts: GetOptions = {}): Promise<Descriptor> {
    const dir = layoutDir(repo);
    const index = await readIndex(dir);
    if (isDigest(tagOrDigest)) {
      const listed = index.manifests.find((d) => d.digest === tagOrDigest);
      if (listed) return stripRefName(listed);
      // not listed at top level: any manifest blob present in the layout
      let bytes: Uint8Array;
      try {
        bytes = await this.#readBlob(
          dir,
          tagOrDigest,
          opts.maxBytes ?? this.#maxManifest,
          `manifest ${dir}@${tagOrDigest}`,
        );
      } catch (e) {
        if (e instanceof SigwardError && e.code === 'BLOB_UNKNOWN') throw manifestUnknown(dir, tagOrDigest);
        throw e;
      }
      const { mediaType } = toManifest(bytes);
      return { mediaType, digest: tagOrDigest, size: bytes.byteLength };
    }
    if (tagOrDigest === '') {
      const saved = cosignSaveEntries(index);
      if (saved.image) return stripRefName(saved.image);
      if (index.manifests.length !== 1) {
        throw new SigwardError(
          'REFERENCE_INVALID',
          `OCI layout ${dir} holds ${index.manifests.length} manifests; give a tag (oci:${dir}:TAG) or a digest`,
        );
      }
      return stripRefName(index.manifests[0]!);
    }
    if (!TAG_RE.test(tagOrDigest)) {
      throw new SigwardError('REFERENCE_INVALID', `invalid tag or digest ${JSON.stringify(tagOrDigest)}`);
    }
    const hits = index.manifests.filter((d) => d.annotations?.[REF_NAME_ANNOTATION] === tagOrDigest);
    if (hits.length === 0) {
      const saved = cosignSaveEntries(index);
      const prefix = saved.image ? digestTag(saved.image.digest) : undefined;
      const attachment = prefix && tagOrDigest.startsWith(prefix)
        ? saved.attachments.get(tagOrDigest.slice(prefix.length))
        : undefined;
      if (attachment) return stripRefName(attachment);
      throw manifestUnknown(dir, tagOrDigest);
    }
    return stripRefName(hits[hits.length - 1]!);
  }

  async getManifest(repo: RepositoryRef, tagOrDigest: string, opts: GetOptions = {}): Promise<FetchedManifest> {
    const dir = layoutDir(repo);
    const desc = await this.resolve(repo, tagOrDigest, opts);
    if (!isManifestMediaType(desc.mediaType)) {
      throw new SigwardError(
        'MANIFEST_INVALID',
        `invalid manifest: ${dir}@${desc.digest} has media type ${desc.mediaType}`,
      );
    }
    const limit = opts.maxBytes ?? this.#maxManifest;
    const what = `manifest ${dir}@${desc.digest}`;
    if (desc.size > limit) throw tooLarge(what, desc.size, limit);
    const bytes = await this.#readBlob(dir, desc.digest, limit, what);
    if (bytes.byteLength !== desc.size) {
      throw new SigwardError(
        'CONTENT_DIGEST_MISMATCH',
        `${what}: size mismatch, index.json says ${desc.size} bytes, blob has ${bytes.byteLength}`,
      );
    }
    const { mediaType, manifest } = toManifest(bytes, desc.mediaType);
    return { descriptor: { mediaType, digest: desc.digest, size: bytes.byteLength }, bytes, manifest };
  }

  async getBlob(repo: RepositoryRef, digest: string, opts: GetOptions & { size?: number } = {}): Promise<Uint8Array> {
    const dir = layoutDir(repo);
    const limit = opts.maxBytes ?? this.#maxBlob;
    const what = `blob ${dir}@${digest}`;
    if (opts.size !== undefined && opts.size > limit) throw tooLarge(what, opts.size, limit);
    const bytes = await this.#readBlob(dir, digest, limit, what);
    if (opts.size !== undefined && bytes.byteLength !== opts.size) {
      throw new SigwardError(
        'CONTENT_DIGEST_MISMATCH',
        `${what}: size mismatch, expected ${opts.size} bytes, got ${bytes.byteLength}`,
      );
    }
    return bytes;
  }

  async listTags(repo: RepositoryRef): Promise<string[]> {
    const index = await readIndex(layoutDir(repo));
    const tags: string[] = [];
    for (const d of index.manifests) {
      const t = d.annotations?.[REF_NAME_ANNOTATION];
      if (t !== undefined && !tags.includes(t)) tags.push(t);
    }
    return tags;
  }

  async referrers(
    repo: RepositoryRef,
    digest: string,
    opts: GetOptions & { artifactType?: string } = {},
  ): Promise<Descriptor[]> {
    const dir = layoutDir(repo);
    parseDigest(digest);
    const index = await readIndex(dir);
    const out: Descriptor[] = [];
    const seen = new Set<string>();
    for (const d of index.manifests) {
      if (!isManifestMediaType(d.mediaType) || seen.has(d.digest)) continue;
      const got = await this.getManifest(repo, d.digest, opts);
      if (got.manifest.subject?.digest !== digest) continue;
      seen.add(d.digest);
      out.push(
        referrerDescriptor(
          got.descriptor,
          got.manifest as { artifactType?: string; config?: Descriptor; annotations?: Record<string, string> },
        ),
      );
    }
    const tag = digestTag(digest);
    if (index.manifests.some((d) => d.annotations?.[REF_NAME_ANNOTATION] === tag)) {
      const got = await this.getManifest(repo, tag, opts);
      if (isImageIndex(got.manifest)) {
        for (const d of got.manifest.manifests) {
          if (!seen.has(d.digest)) {
            seen.add(d.digest);
            out.push(d);
          }
        }
      }
    }
    return opts.artifactType === undefined ? out : out.filter((d) => d.artifactType === opts.artifactType);
  }

  // ---------------------------------------------------------------- writes

  async putBlob(repo: RepositoryRef, bytes: Uint8Array, mediaType = 'application/octet-stream'): Promise<Descriptor> {
    const dir = layoutDir(repo);
    await this.#locked(dir, () => ensureLayout(dir));
    const digest = computeDigest(bytes);
    await writeBlob(dir, digest, bytes);
    return { mediaType, digest, size: bytes.byteLength };
  }

  /** Writes the manifest blob and lists it in index.json (under `tag` when given; a tag moves). */
  async putManifest(repo: RepositoryRef, bytes: Uint8Array, mediaType: string, tag?: string): Promise<Descriptor> {
    const dir = layoutDir(repo);
    if (tag !== undefined && !TAG_RE.test(tag)) {
      throw new SigwardError('REFERENCE_INVALID', `invalid tag ${JSON.stringify(tag)}`);
    }
    const { manifest } = toManifest(bytes, mediaType);
    await this.#locked(dir, () => ensureLayout(dir));
    const digest = computeDigest(bytes);
    await writeBlob(dir, digest, bytes);
    const desc: Descriptor = { mediaType, digest, size: bytes.byteLength };
    const entry: Descriptor = { ...desc };
    if (manifest.artifactType) entry.artifactType = manifest.artifactType;
    if (tag !== undefined) entry.annotations = { [REF_NAME_ANNOTATION]: tag };
    await this.#locked(dir, async () => {
      const index = await readIndex(dir);
      let manifests = index.manifests;
      if (tag !== undefined) {
        manifests = manifests.filter(
          (d) =>
            d.annotations?.[REF_NAME_ANNOTATION] !== tag &&
            !(d.digest === digest && d.annotations?.[REF_NAME_ANNOTATION] === undefined),
        );
        manifests.push(entry);
      } else if (!manifests.some((d) => d.digest === digest)) {
        manifests = [...manifests, entry];
      } else {
        return;
      }
      await writeAtomic(
        join(dir, 'index.json'),
        new TextEncoder().encode(JSON.stringify({ ...index, manifests }, null, 2)),
      );
    });
    return desc;
  }

  // ---------------------------------------------------------------- internals

  async #locked<T>(dir: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.#locks.get(dir) ?? Promise.resolve();
    const run = prev.then(fn, fn);
    const tail = run.catch(() => undefined);
    this.#locks.set(dir, tail);
    try {
      return await run;
    } finally {
      if (this.#locks.get(dir) === tail) this.#locks.delete(dir);
    }
  }

  async #readBlob(dir: string, digest: string, limit: number, what: string): Promise<Uint8Array> {
    const p = blobPath(dir, digest);
    let fh;
    try {
      fh = await open(p, 'r');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') {
        throw new SigwardError('BLOB_UNKNOWN', `blob unknown: ${dir}@${digest} not found`);
      }
      throw layoutError(`cannot read ${p}: ${(e as Error).message}`, e);
    }
    try {
      const st = await fh.stat();
      if (st.size > limit) throw tooLarge(what, st.size, limit);
      const bytes = new Uint8Array(await fh.readFile());
      verifyDigest(bytes, digest, what);
      return bytes;
    } finally {
      await fh.close();
    }
  }
}

function layoutDir(repo: RepositoryRef): string {
  if (repo.transport !== 'oci-layout') {
    throw new SigwardError('REFERENCE_INVALID', `LayoutStore cannot open ${repo.transport} ${repo.registry}`);
  }
  if (!repo.registry) throw new SigwardError('REFERENCE_INVALID', 'OCI layout reference without a directory');
  return repo.registry;
}

function blobPath(dir: string, digest: string): string {
  const { algorithm, hex } = parseDigest(digest);
  return join(dir, 'blobs', algorithm, hex);
}

function layoutError(msg: string, cause?: unknown): SigwardError {
  return new SigwardError('LAYOUT_INVALID', msg, cause === undefined ? {} : { cause });
}

function tooLarge(what: string, size: number, limit: number): SigwardError {
  return new SigwardError('CONTENT_TOO_LARGE', `${what} is ${size} bytes, over the limit of ${limit} bytes`, {
    detail: { size, limit },
  });
}

function manifestUnknown(dir: string, ref: string): SigwardError {
  return new SigwardError(
    'MANIFEST_UNKNOWN',
    `manifest unknown: oci:${dir}${isDigest(ref) ? '@' : ':'}${ref} not found`,
  );
}

function stripRefName(d: Descriptor): Descriptor {
  if (!d.annotations || !(REF_NAME_ANNOTATION in d.annotations)) return { ...d };
  const { [REF_NAME_ANNOTATION]: _drop, ...rest } = d.annotations;
  const out: Descriptor = { ...d };
  if (Object.keys(rest).length) out.annotations = rest;
  else delete out.annotations;
  return out;
}

/** Reads and checks index.json (and oci-layout when present). */
export async function readIndex(dir: string): Promise<ImageIndex> {
  let layoutText: string | undefined;
  try {
    layoutText = await readFile(join(dir, 'oci-layout'), 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') {
      throw layoutError(`cannot read ${dir}/oci-layout: ${(e as Error).message}`, e);
    }
  }
  if (layoutText !== undefined) {
    let v: unknown;
    try {
      v = (JSON.parse(layoutText) as { imageLayoutVersion?: unknown }).imageLayoutVersion;
    } catch (e) {
      throw layoutError(`not an OCI image layout: ${dir}/oci-layout is not JSON`, e);
    }
    if (typeof v !== 'string' || !v.startsWith('1.')) {
      throw layoutError(`unsupported OCI image layout version ${JSON.stringify(v)} in ${dir}`);
    }
  }
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(await readFile(join(dir, 'index.json')));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') {
      throw layoutError(`not an OCI image layout: ${dir} has no index.json`, e);
    }
    throw layoutError(`cannot read ${dir}/index.json: ${(e as Error).message}`, e);
  }
  let parsed;
  try {
    parsed = toManifest(bytes, MEDIA_TYPES.ociIndex);
  } catch (e) {
    throw layoutError(`invalid ${dir}/index.json: ${(e as Error).message}`, e);
  }
  if (!isImageIndex(parsed.manifest)) throw layoutError(`invalid ${dir}/index.json: not an image index`);
  return parsed.manifest;
}

async function exists(p: string): Promise<boolean> {
  try {
    await stat(p);
    return true;
  } catch {
    return false;
  }
}

async function writeAtomic(path: string, bytes: Uint8Array): Promise<void> {
  const tmp = `${path}.tmp-${process.pid}-${randomBytes(6).toString('hex')}`;
  try {
    await writeFile(tmp, bytes, { flag: 'wx' });
    await rename(tmp, path);
  } catch (e) {
    await unlink(tmp).catch(() => undefined);
    throw layoutError(`cannot write ${path}: ${(e as Error).message}`, e);
  }
}

/** Creates oci-layout, index.json and blobs/ when missing. */
export async function ensureLayout(dir: string): Promise<void> {
  try {
    await mkdir(join(dir, 'blobs', 'sha256'), { recursive: true });
  } catch (e) {
    throw layoutError(`cannot create OCI layout ${dir}: ${(e as Error).message}`, e);
  }
  if (!(await exists(join(dir, 'oci-layout')))) {
    await writeAtomic(join(dir, 'oci-layout'), new TextEncoder().encode('{"imageLayoutVersion":"1.0.0"}'));
  }
  if (!(await exists(join(dir, 'index.json')))) {
    const empty = { schemaVersion: 2, mediaType: MEDIA_TYPES.ociIndex, manifests: [] };
    await writeAtomic(join(dir, 'index.json'), new TextEncoder().encode(JSON.stringify(empty, null, 2)));
  }
}

async function writeBlob(dir: string, digest: string, bytes: Uint8Array): Promise<void> {
  const p = blobPath(dir, digest);
  if (await exists(p)) return;
  await mkdir(join(p, '..'), { recursive: true });
  await writeAtomic(p, bytes);
}
