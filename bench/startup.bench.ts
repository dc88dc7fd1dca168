// Process start-up where users and containerd wait, each next to its peer in
// the same run (issue 16):
//   - `sigward verify --key` of one image signed by the REAL cosign 3.1.1, next
//     to `cosign verify` of the same image (both --insecure-ignore-tlog, local
//     docker-registry on 127.0.0.1, legacy .sig and v3 bundle signatures);
//   - the containerd verifier answered from its on-disk verdict cache
//     (`sigward -name REF -digest D -stdin-media-type ...`), next to `node -e 0`
//     with the Node binary sigward is built from;
//   - `sigward --version` (the executable's own start-up floor).
// Uses hyperfine (bash scripts/bench-tools.sh unpacks Debian's into .cache/)
// through `sh` so that the descriptor can be redirected to stdin; hyperfine
// subtracts the shell's own start. Without hyperfine, a spawn loop that
// alternates the commands. Prints a markdown table and the load average.
//
//   node bench/startup.bench.ts [--runs 40] [--warmup 3] [--baseline BIN] [--hold]
//   --baseline BIN: also time another build of sigward (e.g. main's) in the same run
//   --hold: set up, print the commands, and keep the registry up until Ctrl-C

import { execFile, execFileSync, spawn, spawnSync } from 'node:child_process';
import { promisify } from 'node:util';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { RegistryClient } from '../lib/oci/registry.ts';
import { pushImageDetailed, startRegistry } from '../test/helpers/registry.ts';
import { BINARY } from '../test/helpers/cli.ts';
import { ROOT } from '../test/helpers/fixtures.ts';
import { COSIGN, offlineSigningConfigArgs } from '../test/helpers/peer-paths.ts';

function arg(name: string, dflt: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
}
const RUNS = arg('runs', 40);
const WARMUP = arg('warmup', 3);
const HOLD = process.argv.includes('--hold');
const BASELINE = process.argv.includes('--baseline') ? process.argv[process.argv.indexOf('--baseline') + 1] : undefined;
const NODE = join(ROOT, 'node_modules/.bin/node');
const DESCRIPTOR_MEDIA_TYPE = 'application/vnd.oci.descriptor.v1+json';

function findHyperfine(): string | undefined {
  const local = join(ROOT, '.cache/bench-tools/root/usr/bin/hyperfine');
  if (existsSync(local)) return local;
  const r = spawnSync('sh', ['-c', 'command -v hyperfine'], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : undefined;
}

const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

interface Bench {
  name: string;
  /** a sh command line */
  cmd: string;
}

interface Stats {
  median: number;
  mean: number;
  min: number;
  p90: number;
}

function stats(xs: number[]): Stats {
  const s = [...xs].sort((a, b) => a - b);
  const at = (p: number) => s[Math.min(s.length - 1, Math.floor(p * s.length))]!;
  const median = s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
  return { median, mean: s.reduce((a, b) => a + b, 0) / s.length, min: s[0]!, p90: at(0.9) };
}

// Both run asynchronously: the registry is this process's child, and a blocked
// event loop would stop draining its pipes (and stall it mid-benchmark).
// hyperfine runs all runs of one command before the next: on a shared machine
// whose load drifts, that biases the comparison. So it is called in rounds of
// ROUND runs of every command, and the rounds' times are pooled.
const ROUND = 10;
async function withHyperfine(hf: string, benches: Bench[], dir: string): Promise<Stats[]> {
  const json = join(dir, 'hyperfine.json');
  const times: number[][] = benches.map(() => []);
  for (let done = 0; done < RUNS; done += ROUND) {
    const runs = Math.max(2, Math.min(ROUND, RUNS - done));
    await promisify(execFile)(hf, [
      '--style',
      'none',
      '-S',
      'sh',
      '--warmup',
      String(WARMUP),
      '--runs',
      String(runs),
      '--export-json',
      json,
      ...benches.map((b) => b.cmd),
    ], { maxBuffer: 1 << 24 });
    const doc = JSON.parse(readFileSync(json, 'utf8')) as { results: { times: number[] }[] };
    doc.results.forEach((r, i) => times[i]!.push(...r.times.map((t) => t * 1000)));
  }
  return times.map(stats);
}

function timeSh(cmd: string): Promise<number> {
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const c = spawn('sh', ['-c', cmd], { stdio: 'ignore' });
    c.on('error', reject);
    c.on('exit', () => resolve(performance.now() - t0));
  });
}

async function withLoop(benches: Bench[]): Promise<Stats[]> {
  const times: number[][] = benches.map(() => []);
  const shell = [] as number[];
  for (let i = 0; i < WARMUP + RUNS; i++) {
    const sh = await timeSh(':');
    if (i >= WARMUP) shell.push(sh);
    for (const [j, b] of benches.entries()) {
      const ms = await timeSh(b.cmd);
      if (i >= WARMUP) times[j]!.push(ms);
    }
  }
  const sh = stats(shell).mean;
  return times.map((xs) => stats(xs.map((x) => Math.max(0, x - sh))));
}

async function main(): Promise<void> {
  if (!existsSync(BINARY)) throw new Error(`${BINARY} is missing: run npm run build`);
  if (!existsSync(COSIGN)) throw new Error(`real cosign is missing at ${COSIGN}: run bash scripts/peers.sh`);
  const reg = await startRegistry();
  const dir = mkdtempSync(join(tmpdir(), 'sigward-startup-'));
  const store = new RegistryClient();
  try {
    const env = { ...process.env, COSIGN_PASSWORD: 'pw', HOME: dir, DOCKER_CONFIG: join(dir, 'docker') };
    const cosign = (args: string[]) =>
      execFileSync(COSIGN, args, { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'], timeout: 60_000 });
    cosign(['generate-key-pair']);
    cosign(offlineSigningConfigArgs('sc.json'));
    const legacy = await pushImageDetailed(store, reg.ref('bench/legacy'), { tag: 'v1' });
    const bundle = await pushImageDetailed(store, reg.ref('bench/bundle'), { tag: 'v1' });
    const legacyImg = `${reg.host}/bench/legacy@${legacy.digest}`;
    const bundleImg = `${reg.host}/bench/bundle@${bundle.digest}`;
    cosign([
      'sign',
      '--key',
      'cosign.key',
      '--use-signing-config=false',
      '--tlog-upload=false',
      '--new-bundle-format=false',
      '--allow-insecure-registry',
      '--yes',
      legacyImg,
    ]);
    cosign([
      'sign',
      '--key',
      'cosign.key',
      '--signing-config',
      'sc.json',
      '--allow-insecure-registry',
      '--yes',
      bundleImg,
    ]);
    const pub = join(dir, 'cosign.pub');

    // the containerd verifier's configuration: one policy requiring that key, a verdict cache
    const cfg = join(dir, 'etc-sigward');
    mkdirSync(join(cfg, 'policies'), { recursive: true });
    const pem = readFileSync(pub, 'utf8').trim().split('\n').map((l) => ' '.repeat(22) + l).join('\n');
    writeFileSync(
      join(cfg, 'policies', 'require-signed.yaml'),
      `apiVersion: kyverno.io/v1
kind: ClusterPolicy
metadata:
  name: require-signed-images
spec:
  validationFailureAction: Enforce
  rules:
    - name: check-signatures
      match:
        any:
          - resources:
              kinds: [Pod]
      verifyImages:
        - imageReferences: ["${reg.host}/bench/*"]
          attestors:
            - entries:
                - keys:
                    publicKeys: |-
${pem}
                    rekor:
                      ignoreTlog: true
                    ctlog:
                      ignoreSCT: true
`,
    );
    writeFileSync(
      join(cfg, 'config.yaml'),
      'cache:\n  dir: cache\n  ttlSeconds: 86400\nregistry:\n  allowHttp: true\n',
    );
    const descFile = join(dir, 'descriptor.json');
    writeFileSync(
      descFile,
      JSON.stringify({
        mediaType: legacy.descriptor.mediaType,
        digest: legacy.descriptor.digest,
        size: legacy.descriptor.size,
      }) + '\n',
    );
    const name = `${reg.host}/bench/legacy:v1`;
    const containerdWith = (bin: string) =>
      `SIGWARD_CONFIG_DIR=${q(cfg)} ${q(bin)} -name ${
        q(name)
      } -digest ${legacy.digest} -stdin-media-type ${DESCRIPTOR_MEDIA_TYPE} < ${q(descFile)}`;
    const containerd = containerdWith(BINARY);

    // every command must do what it is measured for: verified, and the containerd call from the cache
    const check = (cmd: string, expect: RegExp) => {
      const r = spawnSync('sh', ['-c', cmd], { encoding: 'utf8', env: { ...process.env, HOME: dir } });
      if (r.status !== 0 || !expect.test(r.stdout + r.stderr)) {
        throw new Error(`${cmd}\nexited ${r.status}: ${r.stdout}${r.stderr}`);
      }
    };
    const cosignVerify = (img: string) =>
      `HOME=${q(dir)} ${q(COSIGN)} verify --allow-insecure-registry --key ${q(pub)} --insecure-ignore-tlog ${
        q(img)
      } >/dev/null 2>&1`;
    const sigwardVerify = (img: string, bin = BINARY) =>
      `HOME=${q(dir)} ${q(bin)} verify --key ${q(pub)} --insecure-ignore-tlog ${q(img)} >/dev/null 2>&1`;
    for (const bin of [BINARY, ...(BASELINE ? [BASELINE] : [])]) {
      check(containerdWith(bin), /verified image signatures|cached verdict/); // fills the cache (the stamp names the build)
      check(containerdWith(bin), /cached verdict/);
      for (const img of [legacyImg, bundleImg]) {
        check(sigwardVerify(img, bin).replace(/ >\/dev\/null 2>&1$/, ''), /verified|\{/);
      }
    }
    for (const img of [legacyImg, bundleImg]) check(cosignVerify(img).replace(/ >\/dev\/null 2>&1$/, ''), /./);

    const benches: Bench[] = [
      { name: '`sigward verify --key` (legacy `.sig`)', cmd: sigwardVerify(legacyImg) },
      { name: '`cosign verify --key` 3.1.1 (legacy `.sig`)', cmd: cosignVerify(legacyImg) },
      { name: '`sigward verify --key` (v3 bundle referrer)', cmd: sigwardVerify(bundleImg) },
      { name: '`cosign verify --key` 3.1.1 (v3 bundle referrer)', cmd: cosignVerify(bundleImg) },
      { name: 'containerd verifier, cached verdict', cmd: `${containerd} >/dev/null 2>&1` },
      { name: '`node -e 0` (same Node)', cmd: `${q(NODE)} -e 0` },
      { name: '`sigward --version`', cmd: `${q(BINARY)} --version >/dev/null` },
      ...(BASELINE
        ? [
          { name: 'baseline: `sigward verify --key` (legacy `.sig`)', cmd: sigwardVerify(legacyImg, BASELINE) },
          { name: 'baseline: `sigward verify --key` (v3 bundle referrer)', cmd: sigwardVerify(bundleImg, BASELINE) },
          { name: 'baseline: containerd verifier, cached verdict', cmd: `${containerdWith(BASELINE)} >/dev/null 2>&1` },
          { name: 'baseline: `sigward --version`', cmd: `${q(BASELINE)} --version >/dev/null` },
        ]
        : []),
    ];
    if (HOLD) {
      process.stdout.write(benches.map((b) => `# ${b.name}\n${b.cmd}\n`).join('') + '# Ctrl-C to stop the registry\n');
      await new Promise<void>((r) => process.once('SIGINT', () => r()));
      return;
    }

    const hf = findHyperfine();
    const load0 = loadavg();
    const results = hf ? await withHyperfine(hf, benches, dir) : await withLoop(benches);
    const load1 = loadavg();
    const by = (i: number) => results[i]!.median;
    const ratio = (a: number, b: number) => (by(a) / by(b)).toFixed(2);
    const f = (x: number) => x.toFixed(1);
    const node = process.versions.node;
    const lines = [
      `Process start-up, ${RUNS} runs (${
        hf
          ? `hyperfine through sh in rounds of ${ROUND} runs of each command, ${WARMUP} warm-up runs per round, shell start subtracted`
          : `spawn loop, alternating, ${WARMUP} warm-up runs, shell start subtracted`
      }), Node ${node}, ${cpus().length} CPUs, ` +
      `load average ${load0.map((x) => x.toFixed(1)).join(' ')} at the start, ${
        load1.map((x) => x.toFixed(1)).join(' ')
      } at the end:`,
      '',
      '| command | median | mean | p90 | min |',
      '|---|---:|---:|---:|---:|',
      ...benches.map((b, i) =>
        `| ${b.name} | ${f(results[i]!.median)} ms | ${f(results[i]!.mean)} ms | ${f(results[i]!.p90)} ms | ${
          f(results[i]!.min)
        } ms |`
      ),
      '',
      `Ratios of medians: verify legacy ${ratio(0, 1)}× cosign, verify bundle ${
        ratio(2, 3)
      }× cosign, cached containerd verdict ${ratio(4, 5)}× \`node -e 0\`, \`--version\` ${ratio(6, 5)}× \`node -e 0\`` +
      (BASELINE
        ? `; baseline: verify legacy ${ratio(7, 1)}× cosign, verify bundle ${
          ratio(8, 3)
        }× cosign, cached containerd verdict ${ratio(9, 5)}× \`node -e 0\`.`
        : '.'),
    ];
    process.stdout.write(lines.join('\n') + '\n');
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
