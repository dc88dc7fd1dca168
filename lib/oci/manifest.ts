// Parsing and checking of manifest bytes (OCI image manifest / index, Docker schema2
// manifest / list), and platform selection in an index.

import { SigwardError } from '../errors.ts';
import { isDigest } from '../digest.ts';
import { MEDIA_TYPES } from './types.ts';
import type { Descriptor, ImageIndex, ImageManifest, Platform } from './types.ts';

/** What we ask registries for (schema1 deliberately absent). */
export const MANIFEST_ACCEPT = [
  MEDIA_TYPES.ociManifest,
  MEDIA_TYPES.ociIndex,
  MEDIA_TYPES.dockerManifest,
  MEDIA_TYPES.dockerManifestList,
] as const;

const INDEX_TYPES = new Set<string>([MEDIA_TYPES.ociIndex, MEDIA_TYPES.dockerManifestList]);
const IMAGE_TYPES = new Set<string>([MEDIA_TYPES.ociManifest, MEDIA_TYPES.dockerManifest]);
const SCHEMA1_TYPES = new Set<string>([
  'application/vnd.docker.distribution.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.v1+prettyjws',
]);

export function isIndexMediaType(mediaType: string): boolean {
  return INDEX_TYPES.has(mediaType);
}

export function isManifestMediaType(mediaType: string): boolean {
  return INDEX_TYPES.has(mediaType) || IMAGE_TYPES.has(mediaType);
}

export function isImageIndex(m: ImageManifest | ImageIndex): m is ImageIndex {
  return Array.isArray((m as ImageIndex).manifests);
}

/** Strips parameters from a Content-Type value. */
export function baseMediaType(contentType: string | undefined): string | undefined {
  if (!contentType) return undefined;
  const v = contentType.split(';')[0]!.trim().toLowerCase();
  return v || undefined;
}

function invalid(msg: string): SigwardError {
  return new SigwardError('MANIFEST_INVALID', `invalid manifest: ${msg}`);
}

function checkDescriptor(d: unknown, where: string): Descriptor {
  if (typeof d !== 'object' || d === null || Array.isArray(d)) throw invalid(`${where} is not a descriptor object`);
  const o = d as Record<string, unknown>;
  if (typeof o.mediaType !== 'string' || o.mediaType === '') throw invalid(`${where} has no mediaType`);
  if (typeof o.digest !== 'string' || !isDigest(o.digest)) {
    throw invalid(`${where} has an invalid digest ${JSON.stringify(o.digest)}`);
  }
  if (typeof o.size !== 'number' || !Number.isSafeInteger(o.size) || o.size < 0) {
    throw invalid(`${where} has an invalid size`);
  }
  if (o.annotations !== undefined) {
    if (typeof o.annotations !== 'object' || o.annotations === null || Array.isArray(o.annotations)) {
      throw invalid(`${where} has invalid annotations`);
    }
    for (const v of Object.values(o.annotations)) {
      if (typeof v !== 'string') throw invalid(`${where} has a non-string annotation`);
    }
  }
  if (o.platform !== undefined) {
    const p = o.platform as Record<string, unknown> | null;
    if (
      typeof p !== 'object' || p === null || Array.isArray(p) || typeof p.os !== 'string' ||
      typeof p.architecture !== 'string' || (p.variant !== undefined && typeof p.variant !== 'string')
    ) {
      throw invalid(`${where} has an invalid platform`);
    }
  }
  return o as unknown as Descriptor;
}

/**
 * Parses manifest bytes into an image manifest or index and returns its media type.
 * `contentType` is what the server (or the referring descriptor) said; the body's own
 * `mediaType` wins when present. Docker schema1 is refused.
 */
export function toManifest(
  bytes: Uint8Array,
  contentType?: string,
): { mediaType: string; manifest: ImageManifest | ImageIndex } {
  const declared = baseMediaType(contentType);
  if (declared && SCHEMA1_TYPES.has(declared)) throw schema1Error();
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch (e) {
    throw new SigwardError('MANIFEST_INVALID', `invalid manifest: not valid JSON (${(e as Error).message})`, {
      cause: e,
    });
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw invalid('not a JSON object');
  const o = json as Record<string, unknown>;
  if (o.schemaVersion === 1) throw schema1Error();
  if (o.schemaVersion !== 2) throw invalid(`unsupported schemaVersion ${JSON.stringify(o.schemaVersion)}`);
  if (o.mediaType !== undefined && typeof o.mediaType !== 'string') throw invalid('mediaType is not a string');
  if (typeof o.mediaType === 'string' && SCHEMA1_TYPES.has(o.mediaType)) throw schema1Error();

  let mediaType = (o.mediaType as string | undefined) ??
    (declared && isManifestMediaType(declared) ? declared : undefined);
  if (!mediaType) {
    if (Array.isArray(o.manifests)) mediaType = MEDIA_TYPES.ociIndex;
    else if (o.config !== undefined && Array.isArray(o.layers)) mediaType = MEDIA_TYPES.ociManifest;
    else throw invalid('cannot tell whether it is an image manifest or an index');
  }
  if (o.artifactType !== undefined && typeof o.artifactType !== 'string') throw invalid('artifactType is not a string');
  if (o.subject !== undefined) checkDescriptor(o.subject, 'subject');
  if (INDEX_TYPES.has(mediaType)) {
    if (!Array.isArray(o.manifests)) throw invalid(`${mediaType} without a manifests array`);
    o.manifests.forEach((d, i) => checkDescriptor(d, `manifests[${i}]`));
  } else if (IMAGE_TYPES.has(mediaType)) {
    checkDescriptor(o.config, 'config');
    if (!Array.isArray(o.layers)) throw invalid(`${mediaType} without a layers array`);
    o.layers.forEach((d, i) => checkDescriptor(d, `layers[${i}]`));
  } else {
    throw invalid(`unsupported manifest media type ${JSON.stringify(mediaType)}`);
  }
  return { mediaType, manifest: o as unknown as ImageManifest | ImageIndex };
}

function schema1Error(): SigwardError {
  return new SigwardError(
    'MANIFEST_INVALID',
    'invalid manifest: Docker image manifest schema 1 is not supported (deprecated format); re-push the image with a current client',
  );
}

const ARCH_ALIASES: Record<string, string> = {
  x86_64: 'amd64',
  x86: '386',
  i386: '386',
  aarch64: 'arm64',
  armhf: 'arm',
  armel: 'arm',
};

function normArch(arch: string): string {
  return ARCH_ALIASES[arch.toLowerCase()] ?? arch.toLowerCase();
}

function normVariant(arch: string, variant: string | undefined): string | undefined {
  if (arch === 'arm64' && (variant === undefined || variant === '' || variant === 'v8')) return 'v8';
  if (arch === 'arm' && (variant === undefined || variant === '')) return 'v7';
  return variant || undefined;
}

/**
 * Picks the child manifest for a platform (default linux/amd64) from an index.
 * os and architecture must match; a requested variant must match (arm64 without a
 * variant counts as v8, arm as v7); an exact variant match is preferred.
 * Entries marked as Docker attestation manifests are skipped.
 */
export function selectPlatform(
  index: ImageIndex,
  want: { os?: string; architecture?: string; variant?: string } = {},
): Descriptor | undefined {
  const os = (want.os ?? 'linux').toLowerCase();
  const arch = normArch(want.architecture ?? 'amd64');
  const variant = normVariant(arch, want.variant);
  let loose: Descriptor | undefined;
  for (const d of index.manifests) {
    if (d.annotations?.['vnd.docker.reference.type'] === 'attestation-manifest') continue;
    const p: Platform | undefined = d.platform;
    if (!p || p.os?.toLowerCase() !== os || normArch(p.architecture ?? '') !== arch) continue;
    const v = normVariant(arch, p.variant);
    if (v === variant) return d;
    if (want.variant === undefined && loose === undefined) loose = d;
  }
  return loose;
}

/** "linux/arm64/v8" -> { os, architecture, variant } */
export function parsePlatform(s: string): { os: string; architecture: string; variant?: string } {
  const parts = s.split('/');
  if (parts.length < 2 || parts.length > 3 || parts.some((p) => p === '')) {
    throw new SigwardError('REFERENCE_INVALID', `invalid platform ${JSON.stringify(s)}: expected os/arch[/variant]`);
  }
  return { os: parts[0]!, architecture: parts[1]!, ...(parts[2] ? { variant: parts[2] } : {}) };
}
