// containerd's bindir verifier protocol (containerd >= 2.0,
// pkg/imageverifier/bindir): every executable in bin_dir runs as
//   <bin> -name <image ref> -digest <sha256:...> -stdin-media-type application/vnd.oci.descriptor.v1+json
// with the resolved image's OCI descriptor (JSON + newline) on stdin.
// Exit 0 allows the pull; anything else blocks it, stdout (<= 32 KiB) being the reason.

import { SigwardError } from '../errors.ts';
import { getGoDigestError } from '../digest.ts';
import { type Descriptor, MEDIA_TYPES } from '../oci/types.ts';

export const DESCRIPTOR_MEDIA_TYPE = 'application/vnd.oci.descriptor.v1+json';
/** containerd keeps at most this much of a verifier's stdout */
export const MAX_REASON_BYTES = 32 * 1024;

/** Media types of what containerd resolves an image name to. */
export const IMAGE_MEDIA_TYPES: readonly string[] = [
  MEDIA_TYPES.ociManifest,
  MEDIA_TYPES.ociIndex,
  MEDIA_TYPES.dockerManifest,
  MEDIA_TYPES.dockerManifestList,
];

export interface ContainerdRequest {
  /** image name as containerd resolved it (normalised, with tag or digest) */
  name: string;
  /** manifest (or index) digest containerd is about to pull */
  digest: string;
  descriptor: Descriptor;
}

/** containerd passes go-digest digests; sha384 is well formed here and fails later as unsupported (lib/digest.ts). */
function verifyDigestString(digest: string, what: string): void {
  const reason = getGoDigestError(digest);
  if (reason !== undefined) {
    throw new SigwardError('REFERENCE_INVALID', `invalid ${what} ${JSON.stringify(digest.slice(0, 200))}: ${reason}`);
  }
}

/**
 * Checks a containerd invocation and the descriptor it sent on stdin:
 * the media type flag, the descriptor's shape, its digest equal to -digest,
 * and an image media type.
 */
export function toContainerdRequest(
  input: { name?: string; digest?: string; stdinMediaType?: string; stdin: string },
): ContainerdRequest {
  const name = input.name?.trim();
  if (!name) throw new SigwardError('REFERENCE_INVALID', 'missing -name (containerd passes the image reference)');
  if (!input.digest) {
    throw new SigwardError('REFERENCE_INVALID', 'missing -digest (containerd passes the resolved manifest digest)');
  }
  verifyDigestString(input.digest, '-digest');
  if (input.stdinMediaType !== DESCRIPTOR_MEDIA_TYPE) {
    throw new SigwardError(
      'CONFIG_INVALID',
      `unsupported -stdin-media-type ${JSON.stringify(input.stdinMediaType ?? '')}: expected ${DESCRIPTOR_MEDIA_TYPE}`,
    );
  }
  const text = input.stdin.trim();
  if (!text) throw new SigwardError('MANIFEST_INVALID', 'no image descriptor on stdin');
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw new SigwardError('MANIFEST_INVALID', `image descriptor on stdin is not JSON: ${(e as Error).message}`, {
      cause: e,
    });
  }
  if (!doc || typeof doc !== 'object' || Array.isArray(doc)) {
    throw new SigwardError('MANIFEST_INVALID', 'image descriptor on stdin is not a JSON object');
  }
  const d = doc as Record<string, unknown>;
  if (typeof d.mediaType !== 'string') throw new SigwardError('MANIFEST_INVALID', 'image descriptor has no mediaType');
  if (typeof d.digest !== 'string') throw new SigwardError('MANIFEST_INVALID', 'image descriptor has no digest');
  if (typeof d.size !== 'number' || !Number.isSafeInteger(d.size) || d.size < 0) {
    throw new SigwardError('MANIFEST_INVALID', 'image descriptor has no valid size');
  }
  if (d.digest !== input.digest) {
    throw new SigwardError(
      'MANIFEST_DIGEST_MISMATCH',
      `manifest digest mismatch: -digest ${input.digest} but the descriptor on stdin has ${d.digest}`,
    );
  }
  if (!IMAGE_MEDIA_TYPES.includes(d.mediaType)) {
    throw new SigwardError(
      'MANIFEST_INVALID',
      `unsupported image media type ${JSON.stringify(d.mediaType)}: expected one of ${IMAGE_MEDIA_TYPES.join(', ')}`,
    );
  }
  if (
    d.annotations !== undefined &&
    (typeof d.annotations !== 'object' || d.annotations === null || Array.isArray(d.annotations))
  ) {
    throw new SigwardError('MANIFEST_INVALID', 'image descriptor annotations must be an object');
  }
  return { name, digest: input.digest, descriptor: d as unknown as Descriptor };
}

/**
 * The pulled image as reasons name it: containerd's name, plus the digest it
 * resolved unless the name already pins one (in a reference, `@` only ever
 * introduces the digest).
 */
export function toImageLabel(req: Pick<ContainerdRequest, 'name' | 'digest'>): string {
  return req.name.includes('@') ? req.name : `${req.name}@${req.digest}`;
}

/**
 * One line for containerd: newlines folded, at most MAX_REASON_BYTES bytes
 * of UTF-8 (cut on a character boundary, marked with an ellipsis).
 */
export function toReasonLine(text: string, max = MAX_REASON_BYTES): string {
  const line = text.replace(/\s*\n\s*/g, ' ').trim();
  const bytes = Buffer.from(line, 'utf8');
  if (bytes.length + 1 <= max) return line + '\n';
  let cut = max - 5; // room for "…\n" (4 bytes)
  while (cut > 0 && (bytes[cut]! & 0xc0) === 0x80) cut--;
  return bytes.subarray(0, cut).toString('utf8') + '…\n';
}
