// Key-based image verification latency, and a registry round trip next to
// Debian skopeo as the peer, against a local docker-registry on 127.0.0.1.
//   in process: verifyImage (resolve tag, fetch .sig, verify) vs a bare
//               manifest GET with the same client, median of N
//   process:    `dist/sigward verify --key` vs `skopeo inspect --raw` (one
//               manifest round trip) vs `node -e 0`, median of M
//   node bench/verify.bench.ts [--runs 50] [--procs 15]

import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RegistryClient } from '../lib/oci/registry.ts';
import { parseReference } from '../lib/reference/index.ts';
import { verifyImage } from '../lib/cosign/image.ts';
import { toLayerCheck } from '../lib/cosign/checks.ts';
import { parsePublicKeys } from '../lib/cosign/keys.ts';
import { loadTrustMaterial } from '../lib/trust/index.ts';
import { pushImage, startRegistry } from '../test/helpers/registry.ts';
import { makeKey, signImage } from '../test/helpers/cosign.ts';
import { BINARY } from '../test/helpers/cli.ts';

function arg(name: string, dflt: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
}
const RUNS = arg('runs', 50);
const PROCS = arg('procs', 15);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function timeAsync(n: number, fn: () => Promise<unknown>): Promise<number> {
  const xs: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    await fn();
    xs.push(performance.now() - t0);
  }
  return median(xs);
}

function timeProc(n: number, file: string, args: string[]): number {
  const xs: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    execFileSync(file, args, { stdio: 'ignore' });
    xs.push(performance.now() - t0);
  }
  return median(xs);
}

async function main(): Promise<void> {
  const reg = await startRegistry();
  const dir = mkdtempSync(join(tmpdir(), 'sigward-vbench-'));
  const store = new RegistryClient();
  try {
    const key = makeKey();
    const pub = join(dir, 'k.pub');
    writeFileSync(pub, key.publicPem);
    const repo = reg.ref('bench/app');
    const digest = await pushImage(store, repo, { tag: 'v1' });
    await signImage({ store, repository: repo, digest, key });
    const ref = parseReference(`${reg.host}/bench/app:v1`);
    const trust = await loadTrustMaterial({});
    const check = toLayerCheck({ kind: 'key', keys: parsePublicKeys(key.publicPem), ignoreTlog: true }, trust);
    const stores = () => store;
    await verifyImage(ref, { stores, check }); // warm the connection
    const inProc = await timeAsync(RUNS, () => verifyImage(ref, { stores, check }));
    const bareGet = await timeAsync(RUNS, () => store.getManifest(repo, 'v1'));
    const cli = timeProc(PROCS, BINARY, ['verify', `${reg.host}/bench/app:v1`, '--key', pub, '--insecure-ignore-tlog']);
    const skopeo = timeProc(PROCS, 'skopeo', [
      'inspect',
      '--raw',
      '--tls-verify=false',
      `docker://${reg.host}/bench/app:v1`,
    ]);
    const node = timeProc(PROCS, process.execPath, ['-e', '0']);
    process.stdout.write(
      [
        `Key-based verification against a local docker-registry (127.0.0.1), medians:`,
        '',
        '| what | median |',
        '|---|---:|',
        `| in process: \`verifyImage\` (resolve tag, fetch .sig manifest and layer, verify ECDSA P-256), ${RUNS} runs | ${
          inProc.toFixed(1)
        } ms |`,
        `| in process: one manifest GET with the same client (peer) | ${bareGet.toFixed(1)} ms |`,
        `| process: \`dist/sigward verify --key\`, ${PROCS} runs | ${cli.toFixed(0)} ms |`,
        `| process: \`skopeo inspect --raw\` (one manifest round trip, Debian skopeo) | ${skopeo.toFixed(0)} ms |`,
        `| process: \`node -e 0\` (same Node 24) | ${node.toFixed(0)} ms |`,
      ].join('\n') + '\n',
    );
  } finally {
    store.close();
    await reg.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`bench failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exitCode = 1;
});
