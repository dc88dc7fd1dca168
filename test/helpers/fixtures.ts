// Access to ../shared/testvectors. Some files there are git symlinks that
// became text files holding the relative target path; resolve those.

import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const SHARED = resolve(ROOT, '../shared/testvectors');

/** Reads a test vector; follows "symlink as text" pointers. Returns undefined if the target is missing. */
export function readVector(rel: string): Buffer | undefined {
  let p = join(SHARED, rel);
  for (let hops = 0; hops < 4; hops++) {
    if (!existsSync(p) || !statSync(p).isFile()) return undefined;
    const b = readFileSync(p);
    const s = b.length < 200 ? b.toString('utf8') : '';
    if (s.startsWith('../') && !s.includes('\n')) {
      p = resolve(dirname(p), s.trim());
      continue;
    }
    return b;
  }
  return undefined;
}

export function mustReadVector(rel: string): Buffer {
  const b = readVector(rel);
  if (!b) throw new Error(`test vector missing: ${rel}`);
  return b;
}

export interface ContainersImageSignature {
  mimeType: string;
  payload: Buffer;
  annotations: Record<string, string>;
}

/** containers/image "dir" signature files: `\0sigstore-json\n` + JSON {mimeType, payload (b64), annotations}. */
export function parseContainersImageSignature(b: Buffer): ContainersImageSignature {
  const header = Buffer.from('\0sigstore-json\n');
  if (!b.subarray(0, header.length).equals(header)) throw new Error('not a containers/image sigstore signature file');
  const j = JSON.parse(b.subarray(header.length).toString('utf8')) as {
    mimeType: string;
    payload: string;
    annotations: Record<string, string>;
  };
  return { mimeType: j.mimeType, payload: Buffer.from(j.payload, 'base64'), annotations: j.annotations ?? {} };
}

/** sigstore-js test-vector bundles (v0.1-v0.3, DSSE and intoto), all signed keylessly by brian@dehamer.com (GitHub OAuth). */
export const SIGSTORE_JS_BUNDLES: readonly string[] = [
  'bundleV01-dsse-no-proof.sigstore',
  'bundleV01-dsse-with-proof.sigstore',
  'bundleV01-full-cert-chain.sigstore',
  'bundleV01-intoto-no-proof.sigstore',
  'bundleV01-intoto-with-proof.sigstore',
  'bundleV02-dsse.sigstore',
  'bundleV02-intoto.sigstore',
  'bundleV03-dsse.sigstore',
  'bundleV03-intoto.sigstore',
  'dsse.sigstore.json',
];

/** ../shared/testvectors/ and testdata/trust/, with a trailing slash (the trust tests join file names to them). */
export const TV = `${SHARED}/`;
export const TD = `${ROOT}/testdata/trust/`;
export const CI = `${TV}cosign-legacy/containers-image/`;
export const CONNAISSEUR = `${TV}cosign-legacy/connaisseur/securesystemsengineering/testimage/`;

export const readText = (p: string): string => readFileSync(p, 'utf8');

/** signature-N of a containers/image "dir" copy under cosign-legacy/containers-image/. */
export function readContainersImageSignature(dir: string, n = 1): ContainersImageSignature {
  return parseContainersImageSignature(readFileSync(`${CI}${dir}/signature-${n}`));
}

/** The keyless cosign layer from the Connaisseur registry dump. */
export function readConnaisseurKeyless(): { payload: Buffer; annotations: Record<string, string> } {
  const m = JSON.parse(
    readText(
      `${CONNAISSEUR}manifests/sha256-31dc72a13a0c34b40eb95419d2b2fd67320c856baf3b72da518023ee8d370aee.sig.json`,
    ),
  );
  const layer = m.layers[0];
  return { payload: readFileSync(`${CONNAISSEUR}blobs/${layer.digest}.json`), annotations: layer.annotations };
}
