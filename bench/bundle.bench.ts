// Sigstore bundle verification throughput and keyless image verification
// latency. Prints a markdown table.
//   1. verifications per second over the public-good test-vector bundles:
//      sigward's verifyBundle (identity policy, EKU, Rekor body binding, ...)
//      vs @sigstore/verify's Verifier called directly, same trust material;
//   2. in-process latency (median of N) of `verifyImage` for a keyless image
//      in the local registry (Debian docker-registry, no referrers API),
//      signed by the mock Sigstore in the legacy and/or bundle format.
// About 10-20 seconds:  node bench/bundle.bench.ts [--ms 1500] [--n 25]

import { SIGSTORE_JS_BUNDLES } from '../test/helpers/fixtures.ts';
import { readFileSync } from 'node:fs';
import { bundleFromJSON } from '@sigstore/bundle';
import { Verifier, toSignedEntity } from '@sigstore/verify';
import { getEmbeddedTrustedRoot, loadTrustMaterial, toTrust, verifyBundle, type IdentityPolicy } from '../lib/trust/index.ts';
import { toLayerCheck, type Attestor } from '../lib/cosign/checks.ts';
import { toBundleCheck } from '../lib/cosign/bundles.ts';
import { verifyImage } from '../lib/cosign/image.ts';
import { RegistryClient } from '../lib/oci/index.ts';
import { parseReference } from '../lib/reference/index.ts';
import { pushImageDetailed, startRegistry } from '../test/helpers/registry.ts';
import { DEFAULT_ISSUER, IN_TOTO, pushBundleReferrer, pushLegacySignature, startSigstoreMock, toImageSignatureStatement } from '../test/helpers/sigstore-mock.ts';
import { SHARED } from '../test/helpers/fixtures.ts';

const arg = (name: string, dflt: number) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
};
const BUDGET_MS = arg('--ms', 1500);
const N = arg('--n', 25);

// ------------------------------------------------------------- bundles

const SB = `${SHARED}/sigstore-bundles`;
interface Vector {
  file: string;
  json: object;
  policy: IdentityPolicy;
  digest?: string;
}
const brian: IdentityPolicy = { subject: 'brian@dehamer.com', issuer: 'https://github.com/login/oauth' };
const vectors: Vector[] = [
  ...SIGSTORE_JS_BUNDLES.map((file) => ({ file, json: JSON.parse(readFileSync(`${SB}/${file}`, 'utf8')), policy: brian })),
  {
    file: 'sigstore.js@2.0.0-provenance.sigstore.json',
    json: JSON.parse(readFileSync(`${SB}/sigstore.js@2.0.0-provenance.sigstore.json`, 'utf8')),
    policy: { subject: 'https://github.com/sigstore/sigstore-js/.github/workflows/release.yml@refs/heads/main', issuer: 'https://token.actions.githubusercontent.com' },
  },
  {
    file: 'cosign-oci-attestation.sigstore.json',
    json: JSON.parse(readFileSync(`${SB}/cosign-oci-attestation.sigstore.json`, 'utf8')),
    policy: { subject: 'cody@soyland.com', issuer: 'https://github.com/login/oauth' },
    digest: 'sha256:732112270d7e59418a8c080b134b24cabd67d250d0d0147a97ed95ba5c280aa4',
  },
];
const trust = toTrust(getEmbeddedTrustedRoot());
const verifier = new Verifier(trust.material);
const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

const ours = (v: Vector) => verifyBundle(v.json, { trust, policy: v.policy, ...(v.digest ? { digest: v.digest } : {}) });
// @sigstore/verify: parse + entity + verify; its SAN match is a regexp, so anchor it
const theirs = (v: Vector) =>
  verifier.verify(toSignedEntity(bundleFromJSON(v.json)), {
    subjectAlternativeName: new RegExp(`^${escape(v.policy.subject!)}$`),
    extensions: { issuer: v.policy.issuer! },
  });

function perSecond(fn: (v: Vector) => unknown): number {
  let i = 0;
  const warm = performance.now();
  while (performance.now() - warm < BUDGET_MS / 4) fn(vectors[i++ % vectors.length]!);
  let n = 0;
  const start = performance.now();
  let elapsed = 0;
  while (elapsed < BUDGET_MS) {
    for (let k = 0; k < vectors.length; k++) fn(vectors[(i + k) % vectors.length]!);
    n += vectors.length;
    elapsed = performance.now() - start;
  }
  return (n * 1000) / elapsed;
}

for (const v of vectors) {
  ours(v);
  theirs(v);
}
const oursRate = perSecond(ours);
const theirsRate = perSecond(theirs);

// ---------------------------------------------------------- image latency

const reg = await startRegistry();
const mock = await startSigstoreMock();
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const rows: { name: string; median: number; p90: number }[] = [];
try {
  const push = new RegistryClient();
  const identity = 'ci@example.com';
  const setups = {
    legacy: ['legacy'],
    bundle: ['bundle'],
    'legacy + bundle': ['legacy', 'bundle'],
  } as const;
  const mockTrust = await loadTrustMaterial({ trustedRootPath: mock.trustedRootPath });
  const attestor: Attestor = { kind: 'keyless', policy: { subject: identity, issuer: DEFAULT_ISSUER } };
  const check = toLayerCheck(attestor, mockTrust);
  const bundleCheck = toBundleCheck(attestor, mockTrust);
  for (const [name, formats] of Object.entries(setups)) {
    const repo = reg.ref(`bench/${name.replace(/\W+/g, '-')}`);
    const img = await pushImageDetailed(push, repo, { tag: 'v1' });
    for (const f of formats) {
      if (f === 'legacy') await pushLegacySignature(push, repo, img.digest, await mock.signLegacy(img.digest, `${repo.registry}/${repo.repository}`, { identity }));
      else await pushBundleReferrer(push, repo, img.descriptor, await mock.signDSSE(toImageSignatureStatement(img.digest), IN_TOTO, { identity }));
    }
    const ref = parseReference(`${reg.host}/${repo.repository}:v1`);
    const reader = new RegistryClient();
    const stores = () => reader;
    const times: number[] = [];
    for (let i = 0; i < N + 3; i++) {
      const t0 = performance.now();
      const v = await verifyImage(ref, { stores, check, bundleCheck });
      const dt = performance.now() - t0;
      if (v.verified.length + (v.bundles?.verified.length ?? 0) !== formats.length) throw new Error(`${name}: expected ${formats.length} verified signatures`);
      if (i >= 3) times.push(dt); // first runs: connection set-up, JIT
    }
    const sorted = [...times].sort((a, b) => a - b);
    rows.push({ name, median: median(times), p90: sorted[Math.floor(sorted.length * 0.9)]! });
    reader.close();
  }
  push.close();
} finally {
  await mock.close();
  await reg.stop();
}

const fmt = (x: number) => x.toFixed(x >= 100 ? 0 : 1);
const out: string[] = [];
out.push(`Bundle verification, ${vectors.length} public-good test-vector bundles (v0.1-v0.3, DSSE/intoto, digest mode), embedded trusted root, ${BUDGET_MS} ms each:`);
out.push('');
out.push('| verifier | verifications / s | relative |');
out.push('|---|---:|---:|');
out.push(`| sigward verifyBundle | ${fmt(oursRate)} | ${(oursRate / theirsRate).toFixed(2)} |`);
out.push(`| @sigstore/verify Verifier (direct) | ${fmt(theirsRate)} | 1.00 |`);
out.push('');
out.push(`Keyless image verification in-process (verifyImage: resolve tag, .sig tag + referrers lookup, fetch, verify), local registry, median of ${N}:`);
out.push('');
out.push('| signatures on the image | median ms | p90 ms |');
out.push('|---|---:|---:|');
for (const r of rows) out.push(`| ${r.name} | ${fmt(r.median)} | ${fmt(r.p90)} |`);
console.log(out.join('\n'));
