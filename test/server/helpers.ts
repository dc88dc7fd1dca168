// Test harness for `sigward serve`: runs the real binary (dist/sigward, or
// `node cmd/main.ts` with SIGWARD_TEST_FROM_SOURCE=1) on 127.0.0.1 over TLS
// with a throwaway CA, and talks to it as the API server does.

import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import * as https from 'node:https';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { sigwardCommand, sigwardEnv } from '../helpers/cli.ts';
import { ROOT } from '../helpers/fixtures.ts';
import { freePort, generateTls, type TestCA } from '../helpers/registry.ts';

export interface ServeHandle {
  port: number;
  url: string;
  child: ChildProcess;
  ca: TestCA;
  /** JSON log lines seen so far on stderr */
  logs(): Record<string, unknown>[];
  stderr(): string;
  post(path: string, body: string | Buffer, headers?: Record<string, string>): Promise<HttpResult>;
  get(path: string): Promise<HttpResult>;
  /** POST /mutate or /validate with a review, expect 200, return the AdmissionResponse */
  review(path: '/mutate' | '/validate', review: unknown): Promise<AdmissionResponseJson>;
  /** waits for a log line matching */
  waitForLog(pred: (l: Record<string, unknown>) => boolean, timeoutMs?: number): Promise<Record<string, unknown>>;
  /** sends a signal and waits for the exit code */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
  exited: Promise<number | null>;
}

export interface HttpResult {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

export interface AdmissionResponseJson {
  uid: string;
  allowed: boolean;
  status?: { status: string; message?: string; code?: number };
  patch?: string;
  patchType?: string;
  warnings?: string[];
  apiVersion: string;
}

const children = new Set<ChildProcess>();
process.on('exit', () => {
  for (const c of children) c.kill('SIGKILL');
});

export function tmpDir(prefix = 'sigward-serve-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export function httpsRequest(
  url: string,
  opts: {
    method: string;
    ca: string;
    body?: string | Buffer;
    headers?: Record<string, string>;
    agent?: https.Agent;
    timeoutMs?: number;
    servername?: string;
  },
): Promise<HttpResult> {
  return new Promise((resolve, reject) => {
    const req = https.request(url, {
      method: opts.method,
      ca: opts.ca,
      headers: { ...(opts.body !== undefined ? { 'Content-Type': 'application/json' } : {}), ...opts.headers },
      agent: opts.agent ?? false,
      servername: opts.servername ?? 'localhost',
    }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on(
        'end',
        () =>
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }),
      );
      res.on('error', reject);
    });
    req.on('error', reject);
    req.setTimeout(opts.timeoutMs ?? 30_000, () => req.destroy(new Error('client timeout')));
    req.end(opts.body);
  });
}

export interface StartServeOptions {
  policyDir: string;
  extraArgs?: string[];
  env?: Record<string, string>;
  /** reuse a CA/cert (cert reload tests) */
  ca?: TestCA;
  /** default info (the tests read the JSON log lines) */
  logLevel?: string;
}

export async function startServe(o: StartServeOptions): Promise<ServeHandle> {
  const dir = tmpDir('sigward-serve-tls-');
  const ca = o.ca ?? (await generateTls(dir));
  sigwardCommand([]); // a missing binary fails here, once
  let lastErr = '';
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    const args = [
      'serve',
      '--policy',
      o.policyDir,
      '--tls-cert',
      ca.certPath,
      '--tls-key',
      ca.keyPath,
      '--port',
      String(port),
      '--address',
      '127.0.0.1',
      '--log-level',
      o.logLevel ?? 'info',
      '--reload-interval',
      '0.2',
      ...(o.extraArgs ?? []),
    ];
    const { file, argv } = sigwardCommand(args);
    const child = spawn(file, argv, {
      cwd: ROOT,
      env: sigwardEnv(o.env),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.add(child);
    let err = '';
    const lines: Record<string, unknown>[] = [];
    const waiters: { pred: (l: Record<string, unknown>) => boolean; resolve: (l: Record<string, unknown>) => void }[] =
      [];
    let partial = '';
    child.stderr!.on('data', (c: Buffer) => {
      const s = c.toString();
      if (err.length < 2_000_000) err += s;
      partial += s;
      let i;
      while ((i = partial.indexOf('\n')) !== -1) {
        const line = partial.slice(0, i);
        partial = partial.slice(i + 1);
        try {
          const rec = JSON.parse(line) as Record<string, unknown>;
          lines.push(rec);
          for (const w of [...waiters]) {
            if (w.pred(rec)) {
              waiters.splice(waiters.indexOf(w), 1);
              w.resolve(rec);
            }
          }
        } catch {
          // not JSON
        }
      }
    });
    child.stdout!.resume();
    const exited = new Promise<number | null>((resolve) =>
      child.once('exit', (code) => {
        children.delete(child);
        resolve(code);
      })
    );
    const url = `https://127.0.0.1:${port}`;
    const agent = new https.Agent({ keepAlive: true, maxSockets: 8 });
    const handle: ServeHandle = {
      port,
      url,
      child,
      ca,
      exited,
      logs: () => lines,
      stderr: () => err,
      post: (path, body, headers) =>
        httpsRequest(url + path, { method: 'POST', ca: ca.caCertPem, body, headers, agent }),
      get: (path) => httpsRequest(url + path, { method: 'GET', ca: ca.caCertPem, agent }),
      async review(path, review) {
        const r = await handle.post(path, JSON.stringify(review));
        if (r.status !== 200) throw new Error(`${path} answered HTTP ${r.status}: ${r.body}`);
        const doc = JSON.parse(r.body) as { apiVersion: string; kind: string; response: AdmissionResponseJson };
        return { ...doc.response, apiVersion: doc.apiVersion };
      },
      waitForLog(pred, timeoutMs = 10_000) {
        const found = lines.find(pred);
        if (found) return Promise.resolve(found);
        return new Promise((resolve, reject) => {
          const timer = setTimeout(
            () => reject(new Error(`no matching log line within ${timeoutMs} ms; stderr:\n${err.slice(-3000)}`)),
            timeoutMs,
          );
          waiters.push({
            pred,
            resolve: (l) => {
              clearTimeout(timer);
              resolve(l);
            },
          });
        });
      },
      async stop(signal = 'SIGTERM') {
        agent.destroy();
        if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
        child.kill(signal);
        const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
        const code = await exited;
        clearTimeout(timer);
        return code;
      },
    };
    // wait until it answers
    const until = Date.now() + 20_000;
    let up = false;
    while (Date.now() < until && child.exitCode === null) {
      try {
        const r = await httpsRequest(url + '/healthz', { method: 'GET', ca: ca.caCertPem, timeoutMs: 1000 });
        if (r.status === 200) {
          up = true;
          break;
        }
      } catch {
        // not yet
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    if (up) return handle;
    lastErr = err;
    child.kill('SIGKILL');
    await exited;
    if (!/EADDRINUSE/.test(err)) break;
  }
  throw new Error(`sigward serve did not start: ${lastErr.slice(-3000)}`);
}

let uidCounter = 0;

/** An AdmissionReview request for an object, shaped as the API server sends it. */
export function toReview(
  object: Record<string, unknown>,
  o: {
    operation?: string;
    namespace?: string;
    dryRun?: boolean;
    apiVersion?: string;
    oldObject?: Record<string, unknown>;
  } = {},
): Record<string, unknown> {
  const apiVersion = String(object.apiVersion ?? 'v1');
  const [group, version] = apiVersion.includes('/') ? apiVersion.split('/') : ['', apiVersion];
  const kind = String(object.kind);
  const md = (object.metadata ?? {}) as { name?: string; namespace?: string };
  return {
    apiVersion: o.apiVersion ?? 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: {
      uid: `${randomUUID().slice(0, 8)}-${++uidCounter}`,
      kind: { group, version, kind },
      resource: { group, version, resource: kind.toLowerCase() + 's' },
      namespace: o.namespace ?? md.namespace ?? 'default',
      name: md.name,
      operation: o.operation ?? 'CREATE',
      userInfo: { username: 'kubernetes-admin', groups: ['system:masters', 'system:authenticated'] },
      object,
      oldObject: o.oldObject ?? null,
      dryRun: o.dryRun ?? false,
    },
  };
}

export function decodePatch(r: AdmissionResponseJson): any[] {
  if (!r.patch) return [];
  return JSON.parse(Buffer.from(r.patch, 'base64').toString('utf8'));
}

/** Kyverno folds long YAML lines of the blocked message: unfold for assertions. */
export function unfold(message: string | undefined): string {
  return (message ?? '').replace(/\n +/g, ' ').replace(/' '/g, '');
}

export interface PolicySpec {
  name: string;
  /** imageReferences */
  images: string[];
  /** the attestor's public key (a cosign key pair's, or a test key's) */
  key: { publicPem: string };
  action?: 'Enforce' | 'Audit';
  failurePolicy?: 'Fail' | 'Ignore';
  timeoutSeconds?: number;
  mutateDigest?: boolean;
  verifyDigest?: boolean;
  required?: boolean;
  kinds?: string[];
}

/** A Kyverno ClusterPolicy verifying `images` with a static key (no Rekor: signatures made offline). */
export function policyYaml(p: PolicySpec): string {
  const indent = (s: string, n: number) => s.trim().split('\n').map((l) => ' '.repeat(n) + l).join('\n');
  return [
    'apiVersion: kyverno.io/v1',
    'kind: ClusterPolicy',
    'metadata:',
    `  name: ${p.name}`,
    'spec:',
    `  validationFailureAction: ${p.action ?? 'Enforce'}`,
    `  failurePolicy: ${p.failurePolicy ?? 'Fail'}`,
    ...(p.timeoutSeconds ? [`  webhookTimeoutSeconds: ${p.timeoutSeconds}`] : []),
    '  background: false',
    '  rules:',
    '    - name: verify-signature',
    '      match:',
    '        any:',
    '          - resources:',
    `              kinds: [${(p.kinds ?? ['Pod']).join(', ')}]`,
    '      verifyImages:',
    '        - imageReferences:',
    ...p.images.map((i) => `            - "${i}"`),
    `          mutateDigest: ${p.mutateDigest ?? (p.action === 'Audit' ? false : true)}`,
    `          verifyDigest: ${p.verifyDigest ?? true}`,
    `          required: ${p.required ?? true}`,
    '          attestors:',
    '            - entries:',
    '                - keys:',
    '                    publicKeys: |-',
    indent(p.key.publicPem, 22),
    '                    rekor:',
    '                      ignoreTlog: true',
    '                    ctlog:',
    '                      ignoreSCT: true',
    '',
  ].join('\n');
}

export function writePolicy(dir: string, file: string, text: string): string {
  const p = join(dir, file);
  writeFileSync(p, text);
  return p;
}

/** A TCP server that accepts connections and never answers (a registry that hangs). */
export async function startBlackhole(): Promise<
  { host: string; open(): number; peak(): number; close(): Promise<void> }
> {
  const sockets = new Set<Socket>();
  let peak = 0;
  const server: Server = createServer((s) => {
    sockets.add(s);
    peak = Math.max(peak, sockets.size);
    s.resume(); // reads (and drops) what it is sent, so a client closing its side is seen
    s.on('error', () => {});
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as { port: number }).port;
  return {
    host: `127.0.0.1:${port}`,
    /** connections open now */
    open: () => sockets.size,
    /** most connections open at once */
    peak: () => peak,
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}

/** Reads a metric sample value from Prometheus text (sum over matching label sets). */
export function metricValue(text: string, name: string, labels: Record<string, string> = {}): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const m = /^([a-zA-Z_:][\w:]*)(\{[^}]*\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const ls = m[2] ?? '';
    if (Object.entries(labels).every(([k, v]) => ls.includes(`${k}="${v}"`))) sum += Number(m[3]);
  }
  return sum;
}

export interface CosignKey {
  /** the key pair's public half (PEM), for policies */
  publicPem: string;
  /** `cosign sign --key` an image by digest (legacy `.sig` format, no transparency log) */
  sign(imageWithDigest: string): Promise<void>;
}

/** A key pair made by the real cosign (`generate-key-pair`) in `dir`, signing with the real cosign. */
export async function realCosignKey(dir: string): Promise<CosignKey> {
  // imported here: peers.ts brings tap along, which the benchmarks (importing this file) must not load
  const { cosignRunner } = await import('../helpers/peers.ts');
  const env = {
    COSIGN_PASSWORD: 'pw',
    HOME: dir,
    DOCKER_CONFIG: join(dir, 'docker'),
    PATH: process.env.PATH ?? '/usr/bin:/bin',
  };
  const cosign = cosignRunner(dir, env);
  const g = await cosign(['generate-key-pair']);
  if (g.code !== 0) throw new Error(`cosign generate-key-pair: ${g.stderr}`);
  return {
    publicPem: readFileSync(join(dir, 'cosign.pub'), 'utf8'),
    async sign(image) {
      const r = await cosign([
        'sign',
        '--key',
        'cosign.key',
        '--use-signing-config=false',
        '--tlog-upload=false',
        '--new-bundle-format=false',
        '--allow-insecure-registry',
        '--yes',
        image,
      ]);
      if (r.code !== 0) throw new Error(`cosign sign ${image}: ${r.stderr}`);
    },
  };
}
