// Soak: `sigward serve` (dist/sigward) at a fixed request rate for minutes,
// with a mix of cached and uncached images, on 127.0.0.1 against a local
// docker-registry. Reports throughput, p50/p99/p999 latency, errors and the
// server's resident memory (RSS from /proc) at start, end and peak, sampled
// every 5 s. Open loop: requests are sent on a fixed schedule whatever the
// answers, so slow answers show up as latency, not as a lower rate.
//   node bench/soak.bench.ts [--minutes 2] [--rate 40] [--warm 10] [--cold 300] [--cold-share 0.2]

import * as https from 'node:https';
import { readFileSync, rmSync } from 'node:fs';
import { RegistryClient } from '../lib/oci/registry.ts';
import { startRegistry, pushImage } from '../test/helpers/registry.ts';
import { makeKey, signImage } from '../test/helpers/cosign.ts';
import { startServe, toReview, policyYaml, writePolicy, tmpDir, type ServeHandle } from '../test/server/helpers.ts';

function arg(name: string, dflt: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
}
const MINUTES = arg('minutes', 2);
const RATE = arg('rate', 40);
const WARM = arg('warm', 10);
const COLD = arg('cold', 300);
const COLD_SHARE = arg('cold-share', 0.2);

function rssMiB(pid: number | undefined): number {
  if (!pid) return NaN;
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

function pod(name: string, image: string): Record<string, unknown> {
  return { apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: 'default' }, spec: { containers: [{ name: 'app', image }] } };
}

const pct = (s: number[], p: number) => (s.length ? s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]! : NaN);

async function pushSigned(store: RegistryClient, reg: Awaited<ReturnType<typeof startRegistry>>, prefix: string, n: number, key: ReturnType<typeof makeKey>): Promise<string[]> {
  const out: string[] = [];
  for (let b = 0; b < n; b += 8) {
    await Promise.all(
      Array.from({ length: Math.min(8, n - b) }, async (_, k) => {
        const repo = `soak/${prefix}${b + k}`;
        const d = await pushImage(store, reg.ref(repo), { tag: 'v1' });
        await signImage({ store, repository: reg.ref(repo), digest: d, key });
        out[b + k] = `${reg.host}/${repo}:v1`;
      }),
    );
  }
  return out;
}

async function main(): Promise<void> {
  const reg = await startRegistry();
  const store = new RegistryClient();
  const policies = tmpDir('sigward-soak-');
  let srv: ServeHandle | undefined;
  try {
    const key = makeKey();
    process.stderr.write(`soak: pushing ${WARM + COLD} signed images...\n`);
    const warm = await pushSigned(store, reg, 'warm', WARM, key);
    const cold = await pushSigned(store, reg, 'cold', COLD, key);
    writePolicy(policies, 'policy.yaml', policyYaml({ name: 'require-signed', images: [`${reg.host}/soak/*`], key }));
    srv = await startServe({ policyDir: policies, logLevel: 'error', extraArgs: ['--max-concurrent', '64'] });
    const pid = srv.child.pid;
    const agent = new https.Agent({ keepAlive: true, maxSockets: 64 });
    const post = (body: string) =>
      new Promise<number>((resolve, reject) => {
        const req = https.request(`${srv!.url}/mutate`, { method: 'POST', ca: srv!.ca.caCertPem, agent, servername: 'localhost', headers: { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) } }, (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode ?? 0));
        });
        req.on('error', reject);
        req.end(body);
      });
    // warm-up: every warm image once
    for (const img of warm) await post(JSON.stringify(toReview(pod('w', img))));
    const rss: { t: number; mib: number }[] = [{ t: 0, mib: rssMiB(pid) }];
    const latencies: number[] = [];
    let errors = 0;
    let sent = 0;
    let coldNext = 0;
    const inflight = new Set<Promise<void>>();
    const started = performance.now();
    const end = started + MINUTES * 60_000;
    const sampler = setInterval(() => rss.push({ t: (performance.now() - started) / 1000, mib: rssMiB(pid) }), 5000);
    while (performance.now() < end) {
      const due = started + (sent * 1000) / RATE;
      const wait = due - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      const isCold = Math.random() < COLD_SHARE;
      const image = isCold ? cold[coldNext++ % cold.length]! : warm[sent % warm.length]!;
      const body = JSON.stringify(toReview(pod(`p${sent}`, image)));
      sent++;
      const t0 = performance.now();
      const p = post(body)
        .then((status) => {
          latencies.push(performance.now() - t0);
          if (status !== 200) errors++;
        })
        .catch(() => {
          errors++;
        })
        .finally(() => inflight.delete(p));
      inflight.add(p);
    }
    await Promise.all(inflight);
    clearInterval(sampler);
    rss.push({ t: (performance.now() - started) / 1000, mib: rssMiB(pid) });
    agent.destroy();
    const seconds = (performance.now() - started) / 1000;
    const s = [...latencies].sort((a, b) => a - b);
    const mibs = rss.map((r) => r.mib);
    const mid = rss[Math.floor(rss.length / 2)]!.mib;
    process.stdout.write(
      [
        `sigward serve soak: ${MINUTES} min at ${RATE} req/s (open loop), ${Math.round(COLD_SHARE * 100)}% cold images (pool ${COLD}, reused once exhausted), ${WARM} warm images:`,
        '',
        '| requests | req/s | p50 ms | p99 ms | p999 ms | errors | RSS start MiB | RSS mid MiB | RSS end MiB | RSS peak MiB |',
        '|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
        `| ${latencies.length} | ${(latencies.length / seconds).toFixed(1)} | ${pct(s, 50).toFixed(1)} | ${pct(s, 99).toFixed(1)} | ${pct(s, 99.9).toFixed(1)} | ${errors} | ${mibs[0]!.toFixed(0)} | ${mid.toFixed(0)} | ${mibs[mibs.length - 1]!.toFixed(0)} | ${Math.max(...mibs).toFixed(0)} |`,
      ].join('\n') + '\n',
    );
  } finally {
    if (srv) await srv.stop('SIGKILL');
    store.close();
    await reg.stop();
    rmSync(policies, { recursive: true, force: true });
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`soak failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exitCode = 1;
});
