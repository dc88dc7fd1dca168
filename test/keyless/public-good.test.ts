// Real keyless / PKI cosign signatures from ../shared/testvectors, pushed to
// the real registry as cosign stored them, verified OFFLINE by the sigward
// binary: public-good Fulcio + Rekor + CT with the EMBEDDED trusted root (no
// --trusted-root), and a private PKI with cosign's --ca-roots /
// --ca-intermediates / --certificate-chain flags.

import t from 'tap';
import { RegistryClient } from '../../lib/oci/registry.ts';
import type { OciStore, RepositoryRef } from '../../lib/oci/types.ts';
import { attachLayer } from '../../lib/cosign/attach.ts';
import { withRegistry } from '../helpers/registry.ts';
import { runSigward } from '../helpers/cli.ts';
import { mustReadVector, parseContainersImageSignature, SHARED } from '../helpers/fixtures.ts';

const CI = 'cosign-legacy/containers-image';
const CONN = 'cosign-legacy/connaisseur/securesystemsengineering/testimage';
const CONN_KEYLESS = '31dc72a13a0c34b40eb95419d2b2fd67320c856baf3b72da518023ee8d370aee';
const FULCIO_REKOR_DIGEST = 'sha256:0489474da8ea22426ece86ace6c1c0026ab2fd3cdfbbd62b7e94650266c37d9a';
const PKI_DIGEST = 'sha256:253c890b744fe3efa923b68e3a1be07bd007eb44ba29da1e7deb1d4c53b3e212';
const GITHUB_OAUTH = 'https://github.com/login/oauth';

interface Layer {
  mediaType: string;
  payload: Uint8Array;
  annotations: Record<string, string>;
}

async function attach(store: OciStore, repo: RepositoryRef, digest: string, layers: Layer[]): Promise<void> {
  for (const l of layers) {
    await attachLayer({
      store,
      repository: repo,
      digest,
      suffix: 'sig',
      payload: l.payload,
      mediaType: l.mediaType,
      annotations: l.annotations,
    });
  }
}

function ciLayer(dir: string): Layer {
  const s = parseContainersImageSignature(mustReadVector(`${CI}/${dir}/signature-1`));
  return { mediaType: s.mimeType, payload: s.payload, annotations: s.annotations };
}

/** the `.sig` manifest of the Connaisseur dump, layers verbatim */
function connaisseurKeyless(): Layer[] {
  const m = JSON.parse(mustReadVector(`${CONN}/manifests/sha256-${CONN_KEYLESS}.sig.json`).toString());
  return m.layers.map((l: { mediaType: string; digest: string; annotations: Record<string, string> }) => ({
    mediaType: l.mediaType,
    payload: mustReadVector(`${CONN}/blobs/${l.digest}.json`),
    annotations: l.annotations,
  }));
}

async function verify(args: string[], env: Record<string, string> = {}) {
  const r = await runSigward(['verify', ...args, '-o', 'json'], { env });
  let doc: any;
  try {
    doc = JSON.parse(r.stdout);
  } catch {
    throw new Error(`sigward printed no JSON (exit ${r.code}): ${r.stdout}\n${r.stderr}`);
  }
  return { code: r.code, doc, stderr: r.stderr };
}

const file = (rel: string) => `${SHARED}/${rel}`;

t.test('public-good keyless and private PKI signatures, offline', async (t) => {
  const reg = await withRegistry(t);
  const store = new RegistryClient();
  t.teardown(() => store.close());

  await attach(store, reg.ref('conn/keyless'), `sha256:${CONN_KEYLESS}`, connaisseurKeyless());
  await attach(store, reg.ref('ci/fulcio-rekor'), FULCIO_REKOR_DIGEST, [ciLayer('dir-img-cosign-fulcio-rekor-valid')]);
  await attach(store, reg.ref('ci/pki'), PKI_DIGEST, [ciLayer('dir-img-cosign-pki-valid')]);
  const conn = `${reg.host}/conn/keyless@sha256:${CONN_KEYLESS}`;
  const fr = `${reg.host}/ci/fulcio-rekor@${FULCIO_REKOR_DIGEST}`;
  const pki = `${reg.host}/ci/pki@${PKI_DIGEST}`;

  await t.test('public-good keyless with the embedded root', async (t) => {
    const r = await verify([
      conn,
      fr,
      '--certificate-identity-regexp',
      'philipp\\.belitz@securesystems\\.de|mitr@redhat\\.com',
      '--certificate-oidc-issuer',
      GITHUB_OAUTH,
    ]);
    t.equal(r.code, 0, r.stderr);
    const [c, f] = r.doc.images;
    t.equal(c.digest, `sha256:${CONN_KEYLESS}`);
    t.equal(c.signatures[0].format, 'legacy');
    t.equal(c.signatures[0].signer.identity.subject, 'philipp.belitz@securesystems.de');
    t.equal(c.signatures[0].signer.identity.issuer, GITHUB_OAUTH);
    t.same(c.signatures[0].signer.tlog, { logIndex: '98235800', integratedTime: '2024-05-30T15:18:17.000Z' });
    t.equal(f.signatures[0].signer.identity.subject, 'mitr@redhat.com');
    t.equal(f.signatures[0].signer.tlog.integratedTime, '2023-01-20T20:51:33.000Z');

    const exact = await verify([
      conn,
      '--certificate-identity',
      'philipp.belitz@securesystems.de',
      '--certificate-oidc-issuer',
      GITHUB_OAUTH,
    ]);
    t.equal(exact.code, 0, 'exact identity');
    const exact2 = await verify([
      fr,
      '--certificate-identity',
      'mitr@redhat.com',
      '--certificate-oidc-issuer',
      GITHUB_OAUTH,
    ]);
    t.equal(exact2.code, 0, 'containers/image fulcio-rekor-valid, exact identity');

    // the same public-good root from the shared file
    const file1 = await verify([
      conn,
      '--trusted-root',
      file('trust-roots/public-good-trusted_root.json'),
      '--certificate-identity',
      'philipp.belitz@securesystems.de',
      '--certificate-oidc-issuer',
      GITHUB_OAUTH,
    ]);
    t.equal(file1.code, 0, '--trusted-root public-good file');
  });

  await t.test('public-good keyless: denials', async (t) => {
    let r = await verify([
      conn,
      '--certificate-identity',
      'philipp.belitz@securesystems.de.evil.org',
      '--certificate-oidc-issuer',
      GITHUB_OAUTH,
    ]);
    t.equal(r.code, 1);
    t.equal(r.doc.images[0].error.code, 'IDENTITY_MISMATCH');
    r = await verify([
      conn,
      '--certificate-identity',
      'philipp.belitz@securesystems.de',
      '--certificate-oidc-issuer',
      'https://accounts.google.com',
    ]);
    t.equal(r.code, 1);
    t.match(r.doc.images[0].error.message, /issuer mismatch/);
    r = await verify([
      conn,
      '--certificate-identity-regexp',
      '^belitz@securesystems',
      '--certificate-oidc-issuer',
      GITHUB_OAUTH,
    ]);
    t.equal(r.code, 1, 'a regexp anchored at the start must match from the start');
    r = await verify([
      conn,
      '--certificate-identity-regexp',
      'belitz@securesystems',
      '--certificate-oidc-issuer',
      GITHUB_OAUTH,
    ]);
    t.equal(r.code, 0, 'unanchored: part of the identity matches, as in cosign');
    // GitHub's trusted root does not hold public-good Fulcio or Rekor
    r = await verify([
      conn,
      '--trusted-root',
      file('trust-roots/github-trusted_root.json'),
      '--certificate-identity',
      'philipp.belitz@securesystems.de',
      '--certificate-oidc-issuer',
      GITHUB_OAUTH,
    ]);
    t.equal(r.code, 1);
    t.match(r.doc.images[0].error.message, /transparency log|certificate authority/);
  });

  await t.test('fulcio-rekor-valid with SIGSTORE_ROOT_FILE (cosign env overrides)', async (t) => {
    const args = [fr, '--certificate-identity', 'mitr@redhat.com', '--certificate-oidc-issuer', GITHUB_OAUTH];
    // the Fulcio v1 root replaces the embedded CAs; Rekor and CT logs stay public-good
    const r = await verify(args, { SIGSTORE_ROOT_FILE: file(`${CI}/fulcio_v1.crt.pem`) });
    t.equal(r.code, 0, r.stderr);
    // a root that did not issue it
    const bad = await verify(args, { SIGSTORE_ROOT_FILE: file(`${CI}/pki_root_crts.pem`) });
    t.equal(bad.code, 1);
    t.equal(bad.doc.images[0].error.code, 'CERTIFICATE_INVALID');
  });

  await t.test('private PKI: --ca-roots / --ca-intermediates / --certificate-chain', async (t) => {
    // as cosign 3.1.1: certificate verification always names the identity
    const id = ['--certificate-identity', 'qiwan@redhat.com', '--certificate-oidc-issuer-regexp', '.*'];
    const insecure = ['--insecure-ignore-tlog', '--insecure-ignore-sct', ...id];
    const noId = await runSigward([
      'verify',
      pki,
      '--ca-roots',
      file(`${CI}/pki_root_crts.pem`),
      '--insecure-ignore-tlog',
      '--insecure-ignore-sct',
    ]);
    t.equal(noId.code, 2, 'no identity flags: a usage error, as cosign');
    t.match(noId.stderr, /--certificate-identity or --certificate-identity-regexp is required/);
    t.equal(noId.stdout, '', 'no verdict for a usage error');
    let r = await verify([
      pki,
      '--ca-roots',
      file(`${CI}/pki_root_crts.pem`),
      '--ca-intermediates',
      file(`${CI}/pki_intermediate_crts.pem`),
      ...insecure,
    ]);
    t.equal(r.code, 0, r.stderr);
    t.equal(r.doc.images[0].signatures[0].signer.kind, 'keyless');
    t.equal(r.doc.images[0].signatures[0].signer.identity.subject, 'qiwan@redhat.com');
    r = await verify([pki, '--certificate-chain', file(`${CI}/pki-chain`), ...insecure]);
    t.equal(r.code, 0, `--certificate-chain: ${r.stderr}`);
    // without the flags cosign requires for a PKI without Rekor/CT
    r = await verify([
      pki,
      '--ca-roots',
      file(`${CI}/pki_root_crts.pem`),
      '--ca-intermediates',
      file(`${CI}/pki_intermediate_crts.pem`),
      ...id,
    ]);
    t.equal(r.code, 1);
    t.match(r.doc.images[0].error.message, /transparency log|certificate transparency/);
    // the public-good Fulcio root did not issue it
    r = await verify([pki, '--ca-roots', file(`${CI}/fulcio_v1.crt.pem`), ...insecure]);
    t.equal(r.code, 1);
    t.equal(r.doc.images[0].error.code, 'CERTIFICATE_INVALID');
  });
});
