// The webhook's warm path driven by wrk (a load generator outside Node), next
// to its limit in the same run: a bare node:https server on the same Node
// version that parses the same AdmissionReview and answers a fixed response.
// `sigward serve` (dist/sigward) answers a one-container Pod whose signed
// image is in its verification cache (warm), then with --no-cache (every
// review verified against the local docker-registry). The warm row runs at
// --log-level warn and again at info (deploy/deployment.yaml's level). Each
// row also gives the server's CPU time per review (from /proc), which a
// shared machine's load moves less than throughput.
//   bash scripts/bench-tools.sh && node bench/webhook-wrk.bench.ts [--seconds 10] [--connections 8] [--threads 2] [--quick]
// SIGWARD_BENCH_CPU_PROF=DIR writes a V8 CPU profile of each server into DIR.

import { execFile, spawn } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { RegistryClient } from '../lib/oci/registry.ts';
import { freePort, generateTls, pushImage, startRegistry } from '../test/helpers/registry.ts';
import { makeKey, signImage } from '../test/helpers/cosign.ts';
import { policyYaml, startServe, tmpDir, toReview, writePolicy } from '../test/server/helpers.ts';
import { ROOT } from '../test/helpers/fixtures.ts';

const run = promisify(execFile);
const arg = (name: string, dflt: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
};
const SECONDS = arg('seconds', 10);
const CONNECTIONS = arg('connections', 8);
const THREADS = arg('threads', 2);
/** --quick: the bare server and the warm row only */
const QUICK = process.argv.includes('--quick');
/**
 * Registry requests of one verification of the bench's image (serve --log-level debug): HEAD the tag, GET the
 * `.sig` manifest and its signature blob, GET the referrers tag index (docker-registry has no referrers API).
 */
const REGISTRY_REQUESTS_PER_VERIFICATION = 4;
const TOOLS = join(ROOT, '.cache/bench-tools/root');
const WRK = join(TOOLS, 'usr/bin/wrk');
const LIBS = readdirSync(join(TOOLS, 'usr/lib')).map((d) => join(TOOLS, 'usr/lib', d)).join(':');

const PROFILE_DIR = process.env.SIGWARD_BENCH_CPU_PROF;

interface WrkResult {
  rps: number;
  p50: string;
  p99: string;
  non2xx: number;
  requests: number;
  /** server CPU (user + system) per request, µs */
  cpuUs?: number;
}

/** User + system CPU of a process in ms (Linux /proc; undefined elsewhere). */
function processCpuMs(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(fields[11]) + Number(fields[12])) * (1000 / 100);
  } catch {
    return undefined;
  }
}

/** wrk POSTs `body` as JSON, or (body undefined) GETs an OCI manifest. */
async function wrk(url: string, body: string | undefined, dir: string, pid: number | undefined): Promise<WrkResult> {
  const script = join(dir, `req-${Date.now()}.lua`);
  writeFileSync(
    script,
    body === undefined
      ? `wrk.method = "GET"\nwrk.headers["Accept"] = "application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json"\n`
      : `wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\nwrk.body = ${JSON.stringify(body)}\n`,
  );
  const cpu0 = processCpuMs(pid);
  const { stdout } = await run(WRK, [
    '-t',
    String(THREADS),
    '-c',
    String(CONNECTIONS),
    '-d',
    `${SECONDS}s`,
    '--latency',
    '-s',
    script,
    url,
  ], {
    env: { LD_LIBRARY_PATH: LIBS },
    maxBuffer: 1 << 20,
  });
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(stdout)?.[1] ?? 0);
  const pct = (p: string) => new RegExp(`\\s${p}%\\s+(\\S+)`).exec(stdout)?.[1] ?? '?';
  const cpu1 = processCpuMs(pid);
  const non2xx = Number(/Non-2xx or 3xx responses:\s+(\d+)/.exec(stdout)?.[1] ?? 0);
  const requests = Number(/(\d+) requests in/.exec(stdout)?.[1] ?? 0);
  const cpuUs = cpu0 !== undefined && cpu1 !== undefined && requests ? ((cpu1 - cpu0) * 1000) / requests : undefined;
  return { rps, p50: pct('50'), p99: pct('99'), non2xx, requests, ...(cpuUs !== undefined ? { cpuUs } : {}) };
}

/** A bare node:https server: parse the review, answer a fixed AdmissionReview (what any webhook must at least do). */
async function startBare(
  certPath: string,
  keyPath: string,
): Promise<{ url: string; pid: number | undefined; stop(): void }> {
  const port = await freePort();
  const src = `
const https = require('node:https'); const fs = require('node:fs');
https.createServer({ cert: fs.readFileSync(${JSON.stringify(certPath)}), key: fs.readFileSync(${
    JSON.stringify(keyPath)
  }) }, (req, res) => {
  const chunks = []; req.on('data', (c) => chunks.push(c)); req.on('end', () => {
    const review = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    const body = JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response: { uid: review.request.uid, allowed: true } });
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }); res.end(body);
  });
}).listen(${port}, '127.0.0.1', () => process.stdout.write('ready\\n'));
process.on('SIGTERM', () => process.exit(0));`;
  const prof = PROFILE_DIR ? ['--cpu-prof', `--cpu-prof-dir=${PROFILE_DIR}/bare`] : [];
  const child = spawn(process.execPath, [...prof, '-e', src], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve) => child.stdout!.once('data', () => resolve()));
  return { url: `https://127.0.0.1:${port}/mutate`, pid: child.pid, stop: () => child.kill() };
}

async function main(): Promise<void> {
  const reg = await startRegistry();
  const store = new RegistryClient();
  const key = makeKey();
  const digest = await pushImage(store, reg.ref('bench/warm'), { tag: 'v1' });
  await signImage({ store, repository: reg.ref('bench/warm'), digest, key });
  const policies = tmpDir('sigward-wrk-policies-');
  writePolicy(policies, 'policy.yaml', policyYaml({ name: 'require-signed', images: [`${reg.host}/bench/*`], key }));
  const body = JSON.stringify(
    toReview({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'warm', namespace: 'default' },
      spec: { containers: [{ name: 'warm', image: `${reg.host}/bench/warm:v1` }] },
    }),
  );
  const rows: [string, WrkResult][] = [];
  const serve = async (name: string, logLevel: string, extra: string[]) => {
    const srv = await startServe({
      policyDir: policies,
      logLevel,
      extraArgs: ['--max-concurrent', '64', ...extra],
      env: PROFILE_DIR ? { NODE_OPTIONS: `--cpu-prof --cpu-prof-dir=${PROFILE_DIR}/${name}` } : {},
    });
    try {
      await srv.post('/mutate', body);
      await srv.post('/mutate', body);
      return await wrk(`${srv.url}/mutate`, body, policies, srv.child.pid);
    } finally {
      await srv.stop();
    }
  };
  const tls = tmpDir('sigward-wrk-tls-');
  const ca = await generateTls(tls);
  const bare = await startBare(ca.certPath, ca.keyPath);
  const load0 = loadavg()[0]!;
  try {
    rows.push(['bare node:https (parse + fixed answer)', await wrk(bare.url, body, policies, bare.pid)]);
  } finally {
    bare.stop();
  }
  try {
    rows.push(['sigward serve, warm cache', await serve('warm', 'warn', [])]);
    if (!QUICK) {
      // the registry's bound for --no-cache: its own manifest GETs per second over the requests one verification makes
      rows.push([
        `docker-registry: GET the image manifest (bound for \`--no-cache\`: / ${REGISTRY_REQUESTS_PER_VERIFICATION})`,
        await wrk(`http://${reg.host}/v2/bench/warm/manifests/v1`, undefined, policies, undefined),
      ]);
      rows.push(['sigward serve, warm cache, --log-level info', await serve('warm-info', 'info', [])]);
      rows.push([
        'sigward serve, `--no-cache` (every review verified)',
        await serve('no-cache', 'warn', ['--no-cache']),
      ]);
    }
    const bareRps = rows[0]![1].rps;
    process.stdout.write(
      `\nwrk ${THREADS} threads, ${CONNECTIONS} connections, ${SECONDS} s each; load average ${load0.toFixed(1)} -> ${
        loadavg()[0]!.toFixed(1)
      }\n\n`,
    );
    process.stdout.write(
      '| server | reviews/s | p50 | p99 | vs bare | CPU µs/review | non-2xx |\n|---|---:|---:|---:|---:|---:|---:|\n',
    );
    for (const [name, r] of rows) {
      process.stdout.write(
        `| ${name} | ${Math.round(r.rps)} | ${r.p50} | ${r.p99} | ${(r.rps / bareRps).toFixed(2)}× | ${
          r.cpuUs === undefined ? '?' : Math.round(r.cpuUs)
        } | ${r.non2xx} |\n`,
      );
    }
    const registry = rows.find(([name]) => name.startsWith('docker-registry'))?.[1];
    const cold = rows.find(([name]) => name.startsWith('sigward serve, `--no-cache`'))?.[1];
    if (registry && cold) {
      const bound = registry.rps / REGISTRY_REQUESTS_PER_VERIFICATION;
      process.stdout.write(
        `\n\`--no-cache\`: ${Math.round(cold.rps)} reviews/s against the registry's bound of ${Math.round(bound)} (${
          (cold.rps / bound).toFixed(2)
        }×)\n`,
      );
    }
  } finally {
    store.close();
    await reg.stop();
  }
}

await main();
