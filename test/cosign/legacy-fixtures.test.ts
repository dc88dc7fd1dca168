// The real cosign/skopeo signatures from ../shared/testvectors/cosign-legacy,
// loaded into the real registry (Debian docker-registry) and into an OCI
// layout, verified by the sigward binary with each expected outcome.
// Image manifests whose blobs are not in the fixtures are verified by digest
// (cosign does not fetch the image for a digest reference).

import t, { type Test } from 'tap';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RegistryClient } from '../../lib/oci/registry.ts';
import { LayoutStore } from '../../lib/oci/layout.ts';
import type { OciStore, RepositoryRef } from '../../lib/oci/types.ts';
import { attachLayer } from '../../lib/cosign/attach.ts';
import { ANNOTATION } from '../../lib/cosign/annotations.ts';
import { withRegistry } from '../helpers/registry.ts';
import { runSigward } from '../helpers/cli.ts';
import { makeKey, signBytes } from '../helpers/cosign.ts';
import { mustReadVector, parseContainersImageSignature, SHARED } from '../helpers/fixtures.ts';

const CI = 'cosign-legacy/containers-image';
const CONN = 'cosign-legacy/connaisseur/securesystemsengineering/testimage';
const VALID_DIGEST = 'sha256:634a8f35b5f16dcf4aaa0822adc0b1964bb786fca12f6831de8ddc45e5986a00';
const MODIFIED_DIGEST = 'sha256:d9dcafdb480aa7c475e91737b96925e45844213dcb0290b4a90017459121f71f';
const KEY_REKOR_DIGEST = 'sha256:0489474da8ea22426ece86ace6c1c0026ab2fd3cdfbbd62b7e94650266c37d9a';

interface Layer {
  mediaType: string;
  payload: Uint8Array;
  annotations: Record<string, string>;
}

function ciLayer(rel: string): Layer {
  const s = parseContainersImageSignature(mustReadVector(`${CI}/${rel}`));
  return { mediaType: s.mimeType, payload: s.payload, annotations: s.annotations };
}

async function attach(store: OciStore, repo: RepositoryRef, digest: string, layers: Layer[]): Promise<void> {
  let first = true;
  for (const l of layers) {
    await attachLayer({
      store,
      repository: repo,
      digest,
      suffix: 'sig',
      payload: l.payload,
      mediaType: l.mediaType,
      annotations: l.annotations,
      replace: first,
    });
    first = false;
  }
}

/** connaisseur dumps hold the real `.sig` manifests: push their layers verbatim. */
function connLayers(sigDigest: string): Layer[] {
  const m = JSON.parse(mustReadVector(`${CONN}/manifests/sha256-${sigDigest}.sig.json`).toString());
  return m.layers.map((l: { mediaType: string; digest: string; annotations: Record<string, string> }) => ({
    mediaType: l.mediaType,
    payload: mustReadVector(`${CONN}/blobs/${l.digest}.json`),
    annotations: l.annotations,
  }));
}

const keyFile = (rel: string) => join(SHARED, rel);

interface Case {
  name: string;
  repo: string;
  digest: string;
  layers: () => Layer[];
  key: string;
  ignoreTlog: boolean;
  code: number;
  reason?: RegExp;
}

const otherKey = makeKey();
const cases: Case[] = [
  {
    name: 'containers-image valid',
    repo: 'ci/valid',
    digest: VALID_DIGEST,
    layers: () => [ciLayer('dir-img-cosign-valid/signature-1')],
    key: keyFile(`${CI}/cosign.pub`),
    ignoreTlog: true,
    code: 0,
  },
  {
    name: 'containers-image valid-2 (two signatures)',
    repo: 'ci/valid2',
    digest: VALID_DIGEST,
    layers: () => [ciLayer('dir-img-cosign-valid-2/signature-1'), ciLayer('dir-img-cosign-valid-2/signature-2')],
    key: keyFile(`${CI}/cosign.pub`),
    ignoreTlog: true,
    code: 0,
  },
  {
    name: 'containers-image valid-with-tag (skopeo)',
    repo: 'ci/withtag',
    digest: VALID_DIGEST,
    layers: () => [ciLayer('dir-img-cosign-valid-with-tag/signature-1')],
    key: keyFile(`${CI}/cosign.pub`),
    ignoreTlog: true,
    code: 0,
  },
  // signed by cosign2.pub (its Rekor entry says so); the SET is from the public-good Rekor, verified with the embedded root
  {
    name: 'containers-image key-rekor-valid, tlog verified',
    repo: 'ci/keyrekor',
    digest: KEY_REKOR_DIGEST,
    layers: () => [ciLayer('dir-img-cosign-key-rekor-valid/signature-1')],
    key: keyFile(`${CI}/cosign2.pub`),
    ignoreTlog: false,
    code: 0,
  },
  {
    name: 'containers-image key-rekor-valid with cosign.pub',
    repo: 'ci/keyrekor-wrong',
    digest: KEY_REKOR_DIGEST,
    layers: () => [ciLayer('dir-img-cosign-key-rekor-valid/signature-1')],
    key: keyFile(`${CI}/cosign.pub`),
    ignoreTlog: false,
    code: 1,
    reason: /invalid signature/,
  },
  {
    name: 'containers-image key-rekor-valid with a forged SET',
    repo: 'ci/keyrekor-forged',
    digest: KEY_REKOR_DIGEST,
    layers: () => {
      const l = ciLayer('dir-img-cosign-key-rekor-valid/signature-1');
      const b = JSON.parse(l.annotations[ANNOTATION.bundle]!);
      b.Payload.integratedTime += 1;
      return [{ ...l, annotations: { ...l.annotations, [ANNOTATION.bundle]: JSON.stringify(b) } }];
    },
    key: keyFile(`${CI}/cosign2.pub`),
    ignoreTlog: false,
    code: 1,
    reason: /transparency log|SET|signed entry timestamp/i,
  },
  {
    name: 'containers-image valid, wrong key (cosign2.pub)',
    repo: 'ci/valid-wrongkey',
    digest: VALID_DIGEST,
    layers: () => [ciLayer('dir-img-cosign-valid/signature-1')],
    key: keyFile(`${CI}/cosign2.pub`),
    ignoreTlog: true,
    code: 1,
    reason: /invalid signature/,
  },
  {
    name: 'containers-image valid, tlog required but absent',
    repo: 'ci/valid-tlog',
    digest: VALID_DIGEST,
    layers: () => [ciLayer('dir-img-cosign-valid/signature-1')],
    key: keyFile(`${CI}/cosign.pub`),
    ignoreTlog: false,
    code: 1,
    reason: /transparency log/,
  },
  {
    name: 'containers-image modified-manifest (signature for another digest)',
    repo: 'ci/modified',
    digest: MODIFIED_DIGEST,
    layers: () => [ciLayer('dir-img-cosign-modified-manifest/signature-1')],
    key: keyFile(`${CI}/cosign.pub`),
    ignoreTlog: true,
    code: 1,
    reason: /manifest digest mismatch/,
  },
  {
    name: 'containers-image mixed (foreign-key signature + valid one)',
    repo: 'ci/mixed',
    digest: VALID_DIGEST,
    layers: () => {
      const valid = ciLayer('dir-img-cosign-mixed/signature-2');
      const foreign = {
        ...valid,
        annotations: { [ANNOTATION.signature]: signBytes(otherKey, valid.payload).toString('base64') },
      };
      return [foreign, valid];
    },
    key: keyFile(`${CI}/cosign.pub`),
    ignoreTlog: true,
    code: 0,
  },
  {
    name: 'containers-image other-attachment (not a signature)',
    repo: 'ci/other',
    digest: VALID_DIGEST,
    layers: () => [ciLayer('dir-img-cosign-other-attachment/signature-1')],
    key: keyFile(`${CI}/cosign.pub`),
    ignoreTlog: true,
    code: 1,
    reason: /signature not found/,
  },
  {
    name: 'connaisseur alice-bob-charlie with alice',
    repo: 'conn/testimage-abc-a',
    digest: 'sha256:bfec161fecb0a887df7cb85e4da327c65986ccda7060cf3cd92171c6c90d7533',
    layers: () => connLayers('bfec161fecb0a887df7cb85e4da327c65986ccda7060cf3cd92171c6c90d7533'),
    key: keyFile('cosign-legacy/connaisseur/alice.key'),
    ignoreTlog: true,
    code: 0,
  },
  {
    name: 'connaisseur alice-bob-charlie with bob',
    repo: 'conn/testimage-abc-b',
    digest: 'sha256:bfec161fecb0a887df7cb85e4da327c65986ccda7060cf3cd92171c6c90d7533',
    layers: () => connLayers('bfec161fecb0a887df7cb85e4da327c65986ccda7060cf3cd92171c6c90d7533'),
    key: keyFile('cosign-legacy/connaisseur/bob.key'),
    ignoreTlog: true,
    code: 0,
  },
  {
    name: 'connaisseur alice-bob-charlie with charlie',
    repo: 'conn/testimage-abc-c',
    digest: 'sha256:bfec161fecb0a887df7cb85e4da327c65986ccda7060cf3cd92171c6c90d7533',
    layers: () => connLayers('bfec161fecb0a887df7cb85e4da327c65986ccda7060cf3cd92171c6c90d7533'),
    key: keyFile('cosign-legacy/connaisseur/charlie.key'),
    ignoreTlog: true,
    code: 0,
  },
  {
    name: 'connaisseur alice-bob-charlie with default key',
    repo: 'conn/testimage-abc-d',
    digest: 'sha256:bfec161fecb0a887df7cb85e4da327c65986ccda7060cf3cd92171c6c90d7533',
    layers: () => connLayers('bfec161fecb0a887df7cb85e4da327c65986ccda7060cf3cd92171c6c90d7533'),
    key: keyFile('cosign-legacy/connaisseur/default.key'),
    ignoreTlog: true,
    code: 1,
    reason: /invalid signature/,
  },
  {
    name: 'connaisseur alice-only with alice',
    repo: 'conn/testimage-a-a',
    digest: 'sha256:071bf7a986f1ca9cb2a1f0bc8392822a7777f90d58f2d2c6f271913e08de7c81',
    layers: () => connLayers('071bf7a986f1ca9cb2a1f0bc8392822a7777f90d58f2d2c6f271913e08de7c81'),
    key: keyFile('cosign-legacy/connaisseur/alice.key'),
    ignoreTlog: true,
    code: 0,
  },
  {
    name: 'connaisseur alice-only with bob',
    repo: 'conn/testimage-a-b',
    digest: 'sha256:071bf7a986f1ca9cb2a1f0bc8392822a7777f90d58f2d2c6f271913e08de7c81',
    layers: () => connLayers('071bf7a986f1ca9cb2a1f0bc8392822a7777f90d58f2d2c6f271913e08de7c81'),
    key: keyFile('cosign-legacy/connaisseur/bob.key'),
    ignoreTlog: true,
    code: 1,
    reason: /invalid signature/,
  },
  {
    name: 'connaisseur keyless signature with a key',
    repo: 'conn/keyless-key',
    digest: 'sha256:31dc72a13a0c34b40eb95419d2b2fd67320c856baf3b72da518023ee8d370aee',
    layers: () => connLayers('31dc72a13a0c34b40eb95419d2b2fd67320c856baf3b72da518023ee8d370aee'),
    key: keyFile('cosign-legacy/connaisseur/alice.key'),
    ignoreTlog: true,
    code: 1,
    reason: /invalid signature/,
  },
];

async function runCases(
  t: Test,
  label: string,
  store: OciStore,
  repoOf: (name: string) => RepositoryRef,
  refOf: (name: string, digest: string) => string,
  extra: string[],
): Promise<void> {
  for (const c of cases) {
    const repo = repoOf(c.repo);
    await attach(store, repo, c.digest, c.layers());
    const args = [
      'verify',
      refOf(c.repo, c.digest),
      '--key',
      c.key,
      ...(c.ignoreTlog ? ['--insecure-ignore-tlog'] : []),
      ...extra,
      '-o',
      'json',
    ];
    const r = await runSigward(args);
    t.equal(r.code, c.code, `${label}: ${c.name}: exit ${c.code}`);
    const doc = JSON.parse(r.stdout);
    t.equal(doc.verified, c.code === 0, `${label}: ${c.name}: verified flag`);
    if (c.reason) t.match(doc.images[0].error.message, c.reason, `${label}: ${c.name}: reason`);
    else t.equal(doc.images[0].digest, c.digest, `${label}: ${c.name}: reports the verified digest`);
  }
}

t.test('fixtures in the real registry', async (t) => {
  const reg = await withRegistry(t);
  const store = new RegistryClient();
  t.teardown(() => store.close());
  await runCases(t, 'registry', store, (name) => reg.ref(name), (name, d) => `${reg.host}/${name}@${d}`, []);

  // no-manifest: a signature exists, the image tag does not
  await attach(store, reg.ref('ci/nomanifest'), VALID_DIGEST, [ciLayer('dir-img-cosign-no-manifest/signature-1')]);
  const r = await runSigward([
    'verify',
    `${reg.host}/ci/nomanifest:latest`,
    '--key',
    keyFile(`${CI}/cosign.pub`),
    '--insecure-ignore-tlog',
  ]);
  t.equal(r.code, 1, 'no-manifest: denied');
  t.match(r.stdout, /manifest unknown/, 'no-manifest: says the manifest is unknown');
});

t.test('fixtures in an OCI layout', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'sigward-layouts-'));
  t.teardown(() => {});
  const store = new LayoutStore();
  const layoutDir = (name: string) => join(dir, name.replace(/\//g, '_'));
  await runCases(
    t,
    'layout',
    store,
    (name) => ({ transport: 'oci-layout', registry: layoutDir(name), repository: '' }),
    (name, d) => `oci:${layoutDir(name)}@${d}`,
    [],
  );
  writeFileSync(join(dir, 'marker'), 'done');
});
