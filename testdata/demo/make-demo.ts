// Creates the demo OCI image layout shipped in testdata/demo/layout:
//   signed    a small image signed with a real ECDSA P-256 cosign key
//   unsigned  the same kind of image, never signed
// The key is generated here, saved as a cosign encrypted key file
// (password "sigward-demo") next to its public key, and used to sign.
// Run: node testdata/demo/make-demo.ts   (rewrites the layout)

import { rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateKeyPairSync, sign } from 'node:crypto';
import { LayoutStore } from '../../lib/oci/layout.ts';
import { MEDIA_TYPES, type RepositoryRef } from '../../lib/oci/types.ts';
import { attachLayer } from '../../lib/cosign/attach.ts';
import { ANNOTATION } from '../../lib/cosign/annotations.ts';
import { makeSimpleSigningPayload } from '../../lib/cosign/payload.ts';
import { encryptCosignPrivateKey, decryptCosignPrivateKey, publicKeyPem } from '../../lib/cosign/privatekey.ts';

const here = dirname(fileURLToPath(import.meta.url));
const layoutDir = join(here, 'layout');
rmSync(layoutDir, { recursive: true, force: true });
const store = new LayoutStore();
const repo: RepositoryRef = { transport: 'oci-layout', registry: layoutDir, repository: '' };

async function makeImage(name: string): Promise<string> {
  const enc = new TextEncoder();
  const layer = await store.putBlob(repo, enc.encode(`sigward demo image "${name}"\n`), 'application/vnd.oci.image.layer.v1.tar');
  const config = await store.putBlob(
    repo,
    enc.encode(JSON.stringify({ architecture: 'amd64', os: 'linux', config: { Labels: { 'org.opencontainers.image.title': `sigward-demo-${name}` } }, rootfs: { type: 'layers', diff_ids: [layer.digest] } })),
    MEDIA_TYPES.ociConfig,
  );
  const manifest = {
    schemaVersion: 2,
    mediaType: MEDIA_TYPES.ociManifest,
    config: { mediaType: MEDIA_TYPES.ociConfig, digest: config.digest, size: config.size },
    layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: layer.digest, size: layer.size }],
  };
  const d = await store.putManifest(repo, enc.encode(JSON.stringify(manifest)), MEDIA_TYPES.ociManifest, name);
  return d.digest;
}

const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const password = 'sigward-demo';
const keyFile = encryptCosignPrivateKey(privateKey, password);
writeFileSync(join(here, 'cosign.key'), keyFile);
writeFileSync(join(here, 'cosign.pub'), publicKeyPem(privateKey));

const signed = await makeImage('signed');
const unsigned = await makeImage('unsigned');
// sign with the key read back from the encrypted file, as cosign would
const signingKey = decryptCosignPrivateKey(keyFile, password);
const payload = makeSimpleSigningPayload('sigward.dev/demo/signed', signed, null);
const signature = sign('sha256', payload, signingKey).toString('base64');
await attachLayer({ store, repository: repo, digest: signed, suffix: 'sig', payload, annotations: { [ANNOTATION.signature]: signature } });
console.log(`signed   ${signed}\nunsigned ${unsigned}`);
