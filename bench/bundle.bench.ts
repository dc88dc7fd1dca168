// Sigstore bundle verification throughput and keyless image verification
// latency. Prints a markdown table.
//   1. verifications per second over the public-good test-vector bundles:
//      sigward's verifyBundle (identity policy, EKU, Rekor body binding, ...)
//      vs @sigstore/verify's Verifier called directly, same trust material;
//   2. in-process latency (median of N) of `verifyImage` for a keyless image
//      in the local registry (Debian docker-registry, no referrers API),
//      signed by the mock Sigstore in the legacy and/or bundle format;
//   3. one process per verification, as a script or the conformance suite
//      runs them: `dist/sigward verify-bundle` against sigstore-go 1.3.0's
//      `sigstore-go-verification` (the real peer from scripts/peers.sh), the
//      same bundles in digest mode and the same trusted_root.json file,
//      alternating, R runs of each bundle (hyperfine-style: wall time from
//      spawn to exit, after one warm-up run of each).
// About 30-60 seconds:  node bench/bundle.bench.ts [--ms 1500] [--n 25] [--proc-runs 5]

import { SIGSTORE_JS_BUNDLES } from '../test/helpers/fixtures.ts';
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { bundleFromJSON } from '@sigstore/bundle';
import { toSignedEntity, Verifier } from '@sigstore/verify';
import {
  getEmbeddedTrustedRoot,
  type IdentityPolicy,
  loadTrustMaterial,
  toTrust,
  verifyBundle,
} from '../lib/trust/index.ts';
import { type Attestor, toLayerCheck } from '../lib/cosign/checks.ts';
import { toBundleCheck } from '../lib/cosign/bundles.ts';
import { verifyImage } from '../lib/cosign/image.ts';
import { RegistryClient } from '../lib/oci/index.ts';
import { parseReference } from '../lib/reference/index.ts';
import { pushImageDetailed, startRegistry } from '../test/helpers/registry.ts';
import {
  DEFAULT_ISSUER,
  IN_TOTO,
  pushBundleReferrer,
  pushLegacySignature,
  startSigstoreMock,
  toImageSignatureStatement,
} from '../test/helpers/sigstore.ts';
import { SHARED } from '../test/helpers/fixtures.ts';
import { BINARY } from '../test/helpers/cli.ts';
import { SIGSTORE_GO } from '../test/helpers/peer-paths.ts';

const arg = (name: string, dflt: number) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
};
const BUDGET_MS = arg('--ms', 1500);
const N = arg('--n', 25);
const PROC_RUNS = arg('--proc-runs', 5);
const loadBefore = loadavg()[0]!;

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
  ...SIGSTORE_JS_BUNDLES.map((file) => ({
    file,
    json: JSON.parse(readFileSync(`${SB}/${file}`, 'utf8')),
    policy: brian,
  })),
  {
    file: 'sigstore.js@2.0.0-provenance.sigstore.json',
    json: JSON.parse(readFileSync(`${SB}/sigstore.js@2.0.0-provenance.sigstore.json`, 'utf8')),
    policy: {
      subject: 'https://github.com/sigstore/sigstore-js/.github/workflows/release.yml@refs/heads/main',
      issuer: 'https://token.actions.githubusercontent.com',
    },
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

const ours = (v: Vector) =>
  verifyBundle(v.json, { trust, policy: v.policy, ...(v.digest ? { digest: v.digest } : {}) });
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
      if (f === 'legacy') {
        await pushLegacySignature(
          push,
          repo,
          img.digest,
          await mock.signLegacy(img.digest, `${repo.registry}/${repo.repository}`, { identity }),
        );
      } else {await pushBundleReferrer(
          push,
          repo,
          img.descriptor,
          await mock.signDSSE(toImageSignatureStatement(img.digest), IN_TOTO, { identity }),
        );}
    }
    const ref = parseReference(`${reg.host}/${repo.repository}:v1`);
    const reader = new RegistryClient();
    const stores = () => reader;
    const times: number[] = [];
    for (let i = 0; i < N + 3; i++) {
      const t0 = performance.now();
      const v = await verifyImage(ref, { stores, check, bundleCheck });
      const dt = performance.now() - t0;
      if (v.verified.length + (v.bundles?.verified.length ?? 0) !== formats.length) {
        throw new Error(`${name}: expected ${formats.length} verified signatures`);
      }
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

// ------------------------------------------------------- one process each

const PUBLIC_GOOD_FILE = `${SHARED}/trust-roots/public-good-trusted_root.json`;
/** The digest each bundle signs (npm provenance: sha512 subjects). */
const signedDigest = (json: any): { algorithm: string; hex: string } => {
  const st = JSON.parse(Buffer.from(json.dsseEnvelope.payload, 'base64').toString('utf8'));
  const d = st.subject[0].digest;
  return d.sha256 ? { algorithm: 'sha256', hex: d.sha256 } : { algorithm: 'sha512', hex: d.sha512 };
};
const spawnMs = (file: string, args: string[]): Promise<number> =>
  new Promise((resolve, reject) => {
    const t0 = performance.now();
    execFile(
      file,
      args,
      { env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/root' } },
      (err, _out, stderr) => {
        if (err) reject(new Error(`${file} ${args.join(' ')}: ${stderr}`));
        else resolve(performance.now() - t0);
      },
    );
  });
const procs: { name: string; file: string; args: (v: Vector) => string[] }[] = [
  {
    name: 'sigward verify-bundle (dist/sigward)',
    file: BINARY,
    args: (v) => {
      const d = signedDigest(v.json);
      return [
        'verify-bundle',
        '--bundle',
        `${SB}/${v.file}`,
        '--trusted-root',
        PUBLIC_GOOD_FILE,
        '--certificate-identity',
        v.policy.subject!,
        '--certificate-oidc-issuer',
        v.policy.issuer!,
        `${d.algorithm}:${d.hex}`,
      ];
    },
  },
  {
    name: 'sigstore-go-verification 1.3.0',
    file: SIGSTORE_GO,
    args: (v) => {
      const d = signedDigest(v.json);
      return [
        '-trustedrootJSONpath',
        PUBLIC_GOOD_FILE,
        '-expectedSAN',
        v.policy.subject!,
        '-expectedIssuer',
        v.policy.issuer!,
        '-artifact-digest',
        d.hex,
        '-artifact-digest-algorithm',
        d.algorithm,
        `${SB}/${v.file}`,
      ];
    },
  },
];
// start-up alone, for reference: what a process costs before it verifies anything
const startup = { name: 'dist/sigward --version (start-up only)', file: BINARY, args: () => ['--version'] };
const missing = procs.filter((p) => !existsSync(p.file)).map((p) =>
  `${p.name} is missing at ${p.file} (npm run build / bash scripts/peers.sh)`
);
const procTimes: number[][] = procs.map(() => []);
const startupTimes: number[] = [];
if (missing.length === 0) {
  for (const v of vectors) for (const p of procs) await spawnMs(p.file, p.args(v)); // warm-up, and every one must verify
  for (let r = 0; r < PROC_RUNS; r++) {
    for (const v of vectors) {
      for (let i = 0; i < procs.length; i++) {
        // alternate which verifier goes first
        const p = procs[(i + r) % procs.length]!;
        procTimes[procs.indexOf(p)]!.push(await spawnMs(p.file, p.args(v)));
      }
      startupTimes.push(await spawnMs(startup.file, startup.args()));
    }
  }
}
const loadAfter = loadavg()[0]!;

const fmt = (x: number) => x.toFixed(x >= 100 ? 0 : 1);
const out: string[] = [];
out.push(
  `Bundle verification, ${vectors.length} public-good test-vector bundles (v0.1-v0.3, DSSE/intoto, digest mode), embedded trusted root, ${BUDGET_MS} ms each:`,
);
out.push('');
out.push('| verifier | verifications / s | relative |');
out.push('|---|---:|---:|');
out.push(`| sigward verifyBundle | ${fmt(oursRate)} | ${(oursRate / theirsRate).toFixed(2)} |`);
out.push(`| @sigstore/verify Verifier (direct) | ${fmt(theirsRate)} | 1.00 |`);
out.push('');
out.push(
  `Keyless image verification in-process (verifyImage: resolve tag, .sig tag + referrers lookup, fetch, verify), local registry, median of ${N}:`,
);
out.push('');
out.push('| signatures on the image | median ms | p90 ms |');
out.push('|---|---:|---:|');
for (const r of rows) out.push(`| ${r.name} | ${fmt(r.median)} | ${fmt(r.p90)} |`);
out.push('');
if (missing.length) {
  out.push(`One process per verification: skipped (${missing.join('; ')})`);
} else {
  const stats = (xs: number[]) => {
    const sorted = [...xs].sort((a, b) => a - b);
    return {
      median: median(xs),
      mean: xs.reduce((a, b) => a + b, 0) / xs.length,
      p90: sorted[Math.floor(sorted.length * 0.9)]!,
      min: sorted[0]!,
    };
  };
  const base = stats(procTimes[1]!).median;
  out.push(
    `One process per verification (spawn to exit), ${vectors.length} bundles in digest mode, trusted root from a file, ${PROC_RUNS} runs each after one warm-up, alternating:`,
  );
  out.push('');
  out.push('| process | median ms | mean ms | p90 ms | min ms | relative (median) |');
  out.push('|---|---:|---:|---:|---:|---:|');
  for (
    const [name, times] of [
      ...procs.map((p, i) => [p.name, procTimes[i]!] as const),
      [startup.name, startupTimes] as const,
    ]
  ) {
    const st = stats(times);
    out.push(
      `| ${name} | ${fmt(st.median)} | ${fmt(st.mean)} | ${fmt(st.p90)} | ${fmt(st.min)} | ${
        (st.median / base).toFixed(2)
      } |`,
    );
  }
}
out.push('');
out.push(
  `Conditions: ${cpus().length} cores (${cpus()[0]?.model ?? 'unknown CPU'}), load average ${
    loadBefore.toFixed(2)
  } before, ${loadAfter.toFixed(2)} after; Node ${process.version}; ${new Date().toISOString().slice(0, 10)}.`,
);
console.log(out.join('\n'));
