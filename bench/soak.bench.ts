// Soak: `sigward serve` (dist/sigward) at a fixed request rate for minutes,
// with a mix of cached and uncached images, on 127.0.0.1 against a local
// docker-registry. Reports throughput, p50/p99/p999 latency, errors and the
// server's resident memory (RSS from /proc) at start, end and peak, sampled
// every 5 s. Open loop: requests are sent on a fixed schedule whatever the
// answers, so slow answers show up as latency, not as a lower rate.
// The V8 heap (used), external memory and ArrayBuffers are read from the
// server's own /metrics (prom-client default metrics) at the same times, so a
// rise in RSS can be told apart from a rise in live JavaScript objects.
// With --snapshots DIR the server writes a V8 heap snapshot (SIGUSR2) after
// the first minute and at the end, for comparison with scripts/heap-diff.mjs.
// --server-env NAME=VALUE (repeatable) sets the server's environment, e.g.
// MALLOC_ARENA_MAX=2 to see how much of the RSS is glibc arenas; --timeline
// prints every 5 s sample. --cache-size N sets the server's result cache
// size: below the cold pool (e.g. 200 with --cold 300) the cold images are
// evicted before they come round again, so they stay uncached for the whole
// run instead of only until the pool is exhausted.
//   node bench/soak.bench.ts [--minutes 2] [--rate 40] [--warm 10] [--cold 300] [--cold-share 0.2] [--cache-size N] [--snapshots DIR] [--server-env NAME=VALUE] [--timeline]

import * as https from 'node:https';
import { mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { resolve as resolvePath } from 'node:path';
import { RegistryClient } from '../lib/oci/registry.ts';
import { pushImage, startRegistry } from '../test/helpers/registry.ts';
import { makeKey, signImage } from '../test/helpers/cosign.ts';
import { policyYaml, type ServeHandle, startServe, tmpDir, toReview, writePolicy } from '../test/server/helpers.ts';

function arg(name: string, dflt: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
}
const MINUTES = arg('minutes', 2);
const RATE = arg('rate', 40);
const WARM = arg('warm', 10);
const COLD = arg('cold', 300);
const COLD_SHARE = arg('cold-share', 0.2);
const CACHE_SIZE = arg('cache-size', 0);
const snapIdx = process.argv.indexOf('--snapshots');
const SNAPSHOTS = snapIdx > 0 ? resolvePath(process.argv[snapIdx + 1]!) : undefined;
const SERVER_ENV: Record<string, string> = {};
process.argv.forEach((a, i) => {
  if (a !== '--server-env') return;
  const [name, ...value] = (process.argv[i + 1] ?? '').split('=');
  if (name) SERVER_ENV[name] = value.join('=');
});
const TIMELINE = process.argv.includes('--timeline');

interface Sample {
  t: number;
  rss: number;
  heap: number;
  external: number;
  buffers: number;
  /** committed size of V8's young generation (semi-spaces) and old space */
  newSpace: number;
  oldSpace: number;
}

/** MiB of one prom-client default metric in a /metrics text (NaN when absent) */
function metricMiB(text: string, name: string): number {
  const m = new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'm').exec(text);
  return m ? Number(m[1]) / 1024 / 1024 : NaN;
}

function rssMiB(pid: number | undefined): number {
  if (!pid) return NaN;
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

function pod(name: string, image: string): Record<string, unknown> {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: 'default' },
    spec: { containers: [{ name: 'app', image }] },
  };
}

/** Least-squares slope of y over t, per minute. */
function slopePerMinute(xs: Sample[], y: (x: Sample) => number): number {
  const n = xs.length;
  if (n < 2) return NaN;
  const mt = xs.reduce((a, x) => a + x.t, 0) / n;
  const my = xs.reduce((a, x) => a + y(x), 0) / n;
  let num = 0;
  let den = 0;
  for (const x of xs) {
    num += (x.t - mt) * (y(x) - my);
    den += (x.t - mt) ** 2;
  }
  return (num / den) * 60;
}

const pct = (s: number[], p: number) => (s.length ? s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]! : NaN);

async function pushSigned(
  store: RegistryClient,
  reg: Awaited<ReturnType<typeof startRegistry>>,
  prefix: string,
  n: number,
  key: ReturnType<typeof makeKey>,
): Promise<string[]> {
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
    if (SNAPSHOTS) mkdirSync(SNAPSHOTS, { recursive: true });
    srv = await startServe({
      policyDir: policies,
      logLevel: 'error',
      extraArgs: ['--max-concurrent', '64', ...(CACHE_SIZE > 0 ? ['--cache-size', String(CACHE_SIZE)] : [])],
      env: {
        ...SERVER_ENV,
        ...(SNAPSHOTS ? { NODE_OPTIONS: `--heapsnapshot-signal=SIGUSR2 --diagnostic-dir=${SNAPSHOTS}` } : {}),
      },
    });
    const pid = srv.child.pid;
    const agent = new https.Agent({ keepAlive: true, maxSockets: 64 });
    const post = (body: string) =>
      new Promise<boolean>((resolve, reject) => {
        const req = https.request(`${srv!.url}/mutate`, {
          method: 'POST',
          ca: srv!.ca.caCertPem,
          agent,
          servername: 'localhost',
          headers: { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) },
        }, (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (c: string) => (text += c));
          // every image is signed: anything but HTTP 200 with allowed: true is an error
          res.on('end', () => resolve(res.statusCode === 200 && /"allowed":\s*true/.test(text)));
        });
        req.on('error', reject);
        req.end(body);
      });
    const metrics = () =>
      new Promise<string>((resolve, reject) => {
        https
          .get(`${srv!.url}/metrics`, { ca: srv!.ca.caCertPem, agent, servername: 'localhost' }, (res) => {
            let text = '';
            res.setEncoding('utf8');
            res.on('data', (c: string) => (text += c));
            res.on('end', () => resolve(text));
          })
          .on('error', reject);
      });
    const sample = async (t: number): Promise<Sample> => {
      const text = await metrics().catch(() => '');
      return {
        t,
        rss: rssMiB(pid),
        heap: metricMiB(text, 'sigward_nodejs_heap_size_used_bytes'),
        external: metricMiB(text, 'sigward_nodejs_external_memory_bytes'),
        buffers: metricMiB(text, 'sigward_nodejs_heap_space_size_used_bytes\\{space="large_object"\\}'),
        newSpace: metricMiB(text, 'sigward_nodejs_heap_space_size_total_bytes\\{space="new"\\}'),
        oldSpace: metricMiB(text, 'sigward_nodejs_heap_space_size_total_bytes\\{space="old"\\}'),
      };
    };
    const snapshot = async (): Promise<void> => {
      if (!SNAPSHOTS || !pid) return;
      const before = readdirSync(SNAPSHOTS).length;
      process.kill(pid, 'SIGUSR2');
      // the snapshot is written synchronously by the server; wait until the file appears and its size settles
      for (let i = 0; i < 600 && readdirSync(SNAPSHOTS).length === before; i++) {
        await new Promise((r) => setTimeout(r, 100));
      }
      await new Promise((r) => setTimeout(r, 2000));
      process.stderr.write(`soak: heap snapshot written to ${SNAPSHOTS}\n`);
    };
    // warm-up: every warm image once
    for (const img of warm) await post(JSON.stringify(toReview(pod('w', img))));
    const samples: Sample[] = [await sample(0)];
    let snapped = false;
    const latencies: number[] = [];
    const byKind: Record<'warm' | 'cold', number[]> = { warm: [], cold: [] };
    let errors = 0;
    let sent = 0;
    let coldNext = 0;
    const inflight = new Set<Promise<void>>();
    const started = performance.now();
    const end = started + MINUTES * 60_000;
    const sampler = setInterval(() => {
      void sample((performance.now() - started) / 1000).then((x) => samples.push(x));
    }, 5000);
    while (performance.now() < end) {
      const due = started + (sent * 1000) / RATE;
      if (!snapped && performance.now() - started > 60_000) {
        snapped = true;
        void snapshot();
      }
      const wait = due - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      const isCold = Math.random() < COLD_SHARE;
      const image = isCold ? cold[coldNext++ % cold.length]! : warm[sent % warm.length]!;
      const body = JSON.stringify(toReview(pod(`p${sent}`, image)));
      sent++;
      const t0 = performance.now();
      const p = post(body)
        .then((ok) => {
          const ms = performance.now() - t0;
          latencies.push(ms);
          byKind[isCold ? 'cold' : 'warm'].push(ms);
          if (!ok) errors++;
        })
        .catch(() => {
          errors++;
        })
        .finally(() => inflight.delete(p));
      inflight.add(p);
    }
    await Promise.all(inflight);
    clearInterval(sampler);
    const seconds = (performance.now() - started) / 1000;
    samples.push(await sample(seconds));
    await snapshot();
    agent.destroy();
    samples.sort((a, b) => a.t - b.t);
    const s = [...latencies].sort((a, b) => a - b);
    const at = (f: number) => samples[Math.min(samples.length - 1, Math.floor(f * samples.length))]!;
    const row = (label: string, x: Sample) =>
      `| ${label} | ${x.t.toFixed(0)} | ${x.rss.toFixed(0)} | ${x.heap.toFixed(1)} | ${x.external.toFixed(1)} | ${
        x.buffers.toFixed(1)
      } |`;
    process.stdout.write(
      [
        `sigward serve soak: ${MINUTES} min at ${RATE} req/s (open loop), ${
          Math.round(COLD_SHARE * 100)
        }% cold images (pool ${COLD}, reused once exhausted${
          CACHE_SIZE > 0
            ? `; server result cache ${CACHE_SIZE} entries, so they are evicted before they come round again`
            : ''
        }), ${WARM} warm images:`,
        '',
        '| requests | req/s | p50 ms | p99 ms | p999 ms | errors |',
        '|---:|---:|---:|---:|---:|---:|',
        `| ${latencies.length} | ${(latencies.length / seconds).toFixed(1)} | ${pct(s, 50).toFixed(1)} | ${
          pct(s, 99).toFixed(1)
        } | ${pct(s, 99.9).toFixed(1)} | ${errors} |`,
        '',
        '| images | requests | p50 ms | p99 ms | p999 ms |',
        '|---|---:|---:|---:|---:|',
        ...(['warm', 'cold'] as const).map((k) => {
          const xs = [...byKind[k]].sort((a, b) => a - b);
          return `| ${k} | ${xs.length} | ${pct(xs, 50).toFixed(1)} | ${pct(xs, 99).toFixed(1)} | ${
            pct(xs, 99.9).toFixed(1)
          } |`;
        }),
        '',
        'Server memory (MiB; heap = V8 heap used, external = memory held outside the V8 heap, large = V8 large-object space):',
        '',
        '| when | s | RSS | heap | external | large |',
        '|---|---:|---:|---:|---:|---:|',
        row('start', samples[0]!),
        row('1/4', at(0.25)),
        row('1/2', at(0.5)),
        row('3/4', at(0.75)),
        row('end', samples[samples.length - 1]!),
        `| peak RSS | | ${Math.max(...samples.map((x) => x.rss)).toFixed(0)} | | | |`,
        '',
        // the first minute fills the result cache with the cold pool; growth after it is what a leak would show
        ...(() => {
          const settled = samples.filter((x) => x.t >= 60);
          const f = (v: number) => (v >= 0 ? '+' : '') + v.toFixed(2);
          const range = (y: (x: Sample) => number) =>
            `${Math.min(...settled.map(y)).toFixed(1)}–${Math.max(...settled.map(y)).toFixed(1)}`;
          return settled.length < 2 ? [] : [
            `After the first minute (${settled.length} samples): RSS ${range((x) => x.rss)} MiB, trend ${
              f(slopePerMinute(settled, (x) => x.rss))
            } MiB/min; ` +
            `heap used ${range((x) => x.heap)} MiB, trend ${
              f(slopePerMinute(settled, (x) => x.heap))
            } MiB/min; external trend ${f(slopePerMinute(settled, (x) => x.external))} MiB/min.`,
          ];
        })(),
        ...(TIMELINE
          ? [
            '',
            'Every sample (new / old = committed size of the V8 young generation / old space):',
            '',
            '| s | RSS | heap | external | new | old |',
            '|---:|---:|---:|---:|---:|---:|',
            ...samples.map((x) =>
              `| ${x.t.toFixed(0)} | ${x.rss.toFixed(0)} | ${x.heap.toFixed(1)} | ${x.external.toFixed(1)} | ${
                x.newSpace.toFixed(1)
              } | ${x.oldSpace.toFixed(1)} |`
            ),
          ]
          : []),
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
