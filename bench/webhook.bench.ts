// AdmissionReviews per second and latency of `sigward serve` (dist/sigward,
// or `node cmd/main.ts` with SIGWARD_TEST_FROM_SOURCE=1) on 127.0.0.1, with a
// local docker-registry holding signed images. A closed-loop load generator
// (node:https, keep-alive, N connections, each sending its next request when
// the previous answer arrives) drives POST /mutate for:
//   warm  the same signed image every request (verification cache hits)
//   cold  a distinct signed image every request (resolve, fetch the
//         signature, verify: nothing cached), until the pool is used up
//   nocache  the same image with --no-cache (every request verifies)
// Prints a markdown table, with the server's CPU time per review (from /proc,
// steadier than throughput on a shared machine). Load stays on loopback and is bounded.
//   node bench/webhook.bench.ts [--seconds 10] [--connections 8] [--images 400]

import * as https from 'node:https';
import { readFileSync, rmSync } from 'node:fs';
import { RegistryClient } from '../lib/oci/registry.ts';
import { pushImage, startRegistry } from '../test/helpers/registry.ts';
import { makeKey, signImage } from '../test/helpers/cosign.ts';
import {
  metricValue,
  policyYaml,
  type ServeHandle,
  startServe,
  tmpDir,
  toReview,
  writePolicy,
} from '../test/server/helpers.ts';

function arg(name: string, dflt: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
}
const SECONDS = arg('seconds', 10);
const CONNECTIONS = arg('connections', 8);
const POOL = arg('images', 400);

function pod(name: string, image: string): Record<string, unknown> {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: 'default', labels: { run: name } },
    spec: { containers: [{ name, image, resources: {} }], dnsPolicy: 'ClusterFirst', restartPolicy: 'Always' },
    status: {},
  };
}

interface RunResult {
  scenario: string;
  requests: number;
  seconds: number;
  latencies: number[];
  errors: number;
  denied: number;
  /** CPU the server process spent (ms), when /proc tells */
  cpuMs?: number;
}

/** User + system CPU of a process in ms (Linux /proc; undefined elsewhere). Steadier than throughput on a shared machine. */
function processCpuMs(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(fields[11]) + Number(fields[12])) * (1000 / 100);
  } catch {
    return undefined;
  }
}

/** Closed loop: `connections` workers, each posting its next review when the last one is answered. */
async function drive(
  srv: ServeHandle,
  scenario: string,
  next: (i: number) => string | undefined,
  seconds: number,
): Promise<RunResult> {
  const agent = new https.Agent({ keepAlive: true, maxSockets: CONNECTIONS });
  const latencies: number[] = [];
  let errors = 0;
  let denied = 0;
  let i = 0;
  const cpu0 = processCpuMs(srv.child.pid);
  const started = performance.now();
  const until = started + seconds * 1000;
  const post = (body: string) =>
    new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = https.request(`${srv.url}/mutate`, {
        method: 'POST',
        ca: srv.ca.caCertPem,
        agent,
        servername: 'localhost',
        headers: { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) },
      }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
      });
      req.on('error', reject);
      req.end(body);
    });
  await Promise.all(
    Array.from({ length: CONNECTIONS }, async () => {
      while (performance.now() < until) {
        const body = next(i++);
        if (body === undefined) return;
        const t0 = performance.now();
        try {
          const r = await post(body);
          latencies.push(performance.now() - t0);
          if (r.status !== 200) errors++;
          else if (!JSON.parse(r.body).response.allowed) denied++;
        } catch {
          errors++;
        }
      }
    }),
  );
  agent.destroy();
  const cpu1 = processCpuMs(srv.child.pid);
  const cpuMs = cpu0 !== undefined && cpu1 !== undefined ? cpu1 - cpu0 : undefined;
  return {
    scenario,
    requests: latencies.length,
    seconds: (performance.now() - started) / 1000,
    latencies,
    errors,
    denied,
    ...(cpuMs !== undefined ? { cpuMs } : {}),
  };
}

function pct(sorted: number[], p: number): number {
  if (!sorted.length) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

async function main(): Promise<void> {
  const reg = await startRegistry();
  const store = new RegistryClient();
  const dirs: string[] = [];
  const servers: ServeHandle[] = [];
  try {
    const key = makeKey();
    process.stderr.write(`bench: pushing and signing ${POOL + 1} images...\n`);
    const t0 = performance.now();
    const warm = await pushImage(store, reg.ref('bench/warm'), { tag: 'v1' });
    await signImage({ store, repository: reg.ref('bench/warm'), digest: warm, key });
    const cold: string[] = [];
    for (let b = 0; b < POOL; b += 8) {
      await Promise.all(
        Array.from({ length: Math.min(8, POOL - b) }, async (_, k) => {
          const repo = `bench/cold${b + k}`;
          const d = await pushImage(store, reg.ref(repo), { tag: 'v1' });
          await signImage({ store, repository: reg.ref(repo), digest: d, key });
          cold[b + k] = `${reg.host}/${repo}:v1`;
        }),
      );
    }
    process.stderr.write(`bench: registry ready in ${((performance.now() - t0) / 1000).toFixed(1)} s\n`);

    const policies = tmpDir('sigward-bench-policies-');
    dirs.push(policies);
    writePolicy(policies, 'policy.yaml', policyYaml({ name: 'require-signed', images: [`${reg.host}/bench/*`], key }));

    const results: RunResult[] = [];
    const srv = await startServe({ policyDir: policies, logLevel: 'warn', extraArgs: ['--max-concurrent', '64'] });
    servers.push(srv);
    const warmBody = JSON.stringify(toReview(pod('warm', `${reg.host}/bench/warm:v1`)));
    // one request to fill the cache, then the warm run
    await drive(srv, 'prime', (i) => (i === 0 ? warmBody : undefined), 5);
    results.push(await drive(srv, `warm cache (same signed image)`, () => warmBody, SECONDS));
    const coldBodies = cold.map((img, i) => JSON.stringify(toReview(pod(`c${i}`, img))));
    const before = metricValue((await srv.get('/metrics')).body, 'sigward_verifications_performed_total');
    const coldRun = await drive(srv, `cold cache (distinct signed image per request)`, (i) => coldBodies[i], SECONDS);
    const after = metricValue((await srv.get('/metrics')).body, 'sigward_verifications_performed_total');
    results.push(coldRun);
    process.stderr.write(
      `bench: cold run performed ${after - before} verifications for ${coldRun.requests} requests\n`,
    );
    await srv.stop('SIGTERM');

    const nocache = await startServe({
      policyDir: policies,
      logLevel: 'warn',
      extraArgs: ['--max-concurrent', '64', '--no-cache'],
    });
    servers.push(nocache);
    results.push(await drive(nocache, `no cache (same image, verified every request)`, () => warmBody, SECONDS));
    await nocache.stop('SIGTERM');

    const lines = [
      `sigward serve on 127.0.0.1, ${CONNECTIONS} keep-alive connections (closed loop), POST /mutate of a one-container Pod, local docker-registry:`,
      '',
      '| scenario | requests | AdmissionReviews/s | p50 ms | p99 ms | server CPU ms/review | errors | denied |',
      '|---|---:|---:|---:|---:|---:|---:|---:|',
      ...results.map((r) => {
        const s = [...r.latencies].sort((a, b) => a - b);
        const cpu = r.cpuMs !== undefined && r.requests ? (r.cpuMs / r.requests).toFixed(3) : '-';
        return `| ${r.scenario} | ${r.requests} | ${(r.requests / r.seconds).toFixed(0)} | ${pct(s, 50).toFixed(1)} | ${
          pct(s, 99).toFixed(1)
        } | ${cpu} | ${r.errors} | ${r.denied} |`;
      }),
    ];
    process.stdout.write(lines.join('\n') + '\n');
  } finally {
    for (const s of servers) await s.stop('SIGKILL');
    store.close();
    await reg.stop();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`bench failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exitCode = 1;
});
