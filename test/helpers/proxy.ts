// The tests' one hostile / flaky HTTP proxy in front of the real
// docker-registry (registry client, attack and fault-injection suites). Each
// request is shown to a rule that decides what the client gets: the
// registry's answer (as is, rewritten, delayed, dripped, truncated), a
// made-up answer (errors, redirects, pages), a connection reset, or no answer
// at all. Also a plain server for redirect targets and token realms.
// Listens on 127.0.0.1 only.

import * as http from 'node:http';
import type { Socket } from 'node:net';

export interface Upstream {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

export interface FaultRequest {
  method: string;
  /** path + query */
  path: string;
  /** the same, parsed (pathname, searchParams) */
  url: URL;
  headers: http.IncomingHttpHeaders;
  /** the request body */
  body: Buffer;
  /** 0-based count of earlier requests with the same method and path */
  seen: number;
  /** 0-based index among all requests */
  index: number;
}

export type Fault =
  /** forward to the registry unchanged */
  | { kind: 'pass' }
  /** answer without asking the registry */
  | { kind: 'respond'; status: number; headers?: Record<string, string>; body?: string | Uint8Array }
  /** destroy the connection before answering */
  | { kind: 'reset' }
  /** accept the request and never answer (the socket stays open until the proxy stops) */
  | { kind: 'hang' }
  /** wait, then apply `then` (default: pass) */
  | { kind: 'delay'; ms: number; then?: Fault }
  /** forward, rewrite the registry's answer */
  | { kind: 'rewrite'; fn: (up: Upstream) => Upstream | Promise<Upstream> }
  /** forward, send the real headers (Content-Length included) but only `bytes` body bytes, then close */
  | { kind: 'truncate'; bytes: number; chunked?: boolean }
  /** forward, send the body `chunk` bytes at a time every `intervalMs` */
  | { kind: 'drip'; chunk: number; intervalMs: number }
  /** answer `status` with a generated body of `size` bytes (streamed; Content-Length unless chunked) */
  | { kind: 'flood'; status?: number; headers?: Record<string, string>; size: number; chunked?: boolean };

export type FaultRule = (req: FaultRequest) => Fault | undefined | Promise<Fault | undefined>;

/** A rule forwarding every request and rewriting the registry's answer to it. */
export const rewriting =
  (fn: (req: FaultRequest, up: Upstream) => Upstream | Promise<Upstream>): FaultRule => (req) => ({
    kind: 'rewrite',
    fn: (up) => fn(req, up),
  });

export interface FaultProxy {
  host: string;
  url: string;
  /** "METHOD /path" (no query) of every request */
  log: string[];
  /** method, path + query and headers of every request, in order */
  requests: { method: string; path: string; headers: http.IncomingHttpHeaders }[];
  /** current rule (replace freely between tests); undefined = pass everything */
  rule: FaultRule | undefined;
  reset(): void;
  stop(): Promise<void>;
}

const HOP_BY_HOP = ['connection', 'keep-alive', 'transfer-encoding', 'content-length', 'proxy-connection', 'upgrade'];

export function forwardTo(
  upstream: string,
  method: string,
  path: string,
  headers: http.IncomingHttpHeaders,
  body: Buffer,
): Promise<Upstream> {
  return new Promise((resolve, reject) => {
    const h = { ...headers };
    delete h.connection;
    const r = http.request(new URL(path, upstream), { method, headers: h, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on(
        'end',
        () => resolve({ status: res.statusCode ?? 502, headers: res.headers, body: Buffer.concat(chunks) }),
      );
      res.on('error', reject);
    });
    r.on('error', reject);
    r.end(body);
  });
}

function outHeaders(h: http.IncomingHttpHeaders): http.OutgoingHttpHeaders {
  const out: http.OutgoingHttpHeaders = {};
  for (const [k, v] of Object.entries(h)) if (v !== undefined && !HOP_BY_HOP.includes(k)) out[k] = v;
  return out;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Starts the proxy in front of `upstream` (http://127.0.0.1:port). */
export async function startFaultProxy(upstream: string, rule?: FaultRule): Promise<FaultProxy> {
  const log: string[] = [];
  const requests: FaultProxy['requests'] = [];
  const counts = new Map<string, number>();
  const sockets = new Set<Socket>();
  let stopped = false;
  const proxy = { log, requests, rule } as FaultProxy;

  async function apply(
    f: Fault,
    req: http.IncomingMessage,
    res: http.ServerResponse,
    path: string,
    body: Buffer,
  ): Promise<void> {
    const method = req.method ?? 'GET';
    const head = method === 'HEAD';
    switch (f.kind) {
      case 'pass':
      case 'rewrite': {
        let up = await forwardTo(upstream, method, path, req.headers, body);
        if (f.kind === 'rewrite') up = await f.fn(up);
        const h = outHeaders(up.headers);
        if (head) {
          if (up.headers['content-length'] !== undefined) h['content-length'] = up.headers['content-length'];
        } else h['content-length'] = String(up.body.length);
        res.writeHead(up.status, h);
        res.end(head ? undefined : up.body);
        return;
      }
      case 'respond': {
        const b = f.body === undefined ? Buffer.alloc(0) : Buffer.from(f.body);
        res.writeHead(f.status, { 'content-length': String(b.length), ...f.headers });
        res.end(head ? undefined : b);
        return;
      }
      case 'reset':
        req.socket.destroy();
        return;
      case 'hang':
        return;
      case 'delay':
        await sleep(f.ms);
        if (stopped || req.socket.destroyed) return;
        return apply(f.then ?? { kind: 'pass' }, req, res, path, body);
      case 'truncate': {
        const up = await forwardTo(upstream, method, path, req.headers, body);
        const h = outHeaders(up.headers);
        if (!f.chunked) h['content-length'] = String(up.body.length);
        res.writeHead(up.status, h);
        res.write(up.body.subarray(0, f.bytes));
        if (f.chunked) {
          // a clean end of a chunked body: the client sees fewer bytes and no error
          res.end();
        } else {
          await sleep(20);
          req.socket.destroy();
        }
        return;
      }
      case 'drip': {
        const up = await forwardTo(upstream, method, path, req.headers, body);
        const h = outHeaders(up.headers);
        if (!head) h['content-length'] = String(up.body.length);
        res.writeHead(up.status, h);
        if (head) {
          res.end();
          return;
        }
        for (let i = 0; i < up.body.length; i += f.chunk) {
          if (stopped || req.socket.destroyed) return;
          res.write(up.body.subarray(i, i + f.chunk));
          await sleep(f.intervalMs);
        }
        res.end();
        return;
      }
      case 'flood': {
        const h: http.OutgoingHttpHeaders = { 'content-type': 'application/octet-stream', ...f.headers };
        if (!f.chunked) h['content-length'] = String(f.size);
        res.writeHead(f.status ?? 200, h);
        if (head) {
          res.end();
          return;
        }
        const block = Buffer.alloc(64 * 1024, 0x41);
        let sent = 0;
        while (sent < f.size) {
          if (stopped || req.socket.destroyed || res.destroyed) return;
          const n = Math.min(block.length, f.size - sent);
          const ok = res.write(block.subarray(0, n));
          sent += n;
          if (!ok) {
            await new Promise<void>((r) => {
              res.once('drain', r);
              res.once('close', r);
            });
          }
        }
        res.end();
        return;
      }
    }
  }

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      void (async () => {
        const method = req.method ?? 'GET';
        const path = req.url ?? '/';
        const url = new URL(path, 'http://x');
        const key = `${method} ${url.pathname}`;
        const seen = counts.get(key) ?? 0;
        counts.set(key, seen + 1);
        log.push(key);
        requests.push({ method, path, headers: req.headers });
        try {
          const body = Buffer.concat(chunks);
          const f =
            (await proxy.rule?.({ method, path, url, headers: req.headers, body, seen, index: log.length - 1 })) ??
              { kind: 'pass' };
          await apply(f, req, res, path, body);
        } catch (e) {
          if (!res.headersSent) {
            res.writeHead(599, { 'content-type': 'text/plain' });
            res.end(String(e));
          } else req.socket.destroy();
        }
      })();
    });
  });
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as { port: number }).port;
  proxy.host = `127.0.0.1:${port}`;
  proxy.url = `http://127.0.0.1:${port}`;
  proxy.reset = () => {
    log.length = 0;
    requests.length = 0;
    counts.clear();
    proxy.rule = undefined;
    for (const s of sockets) s.destroy();
  };
  proxy.stop = () =>
    new Promise<void>((r) => {
      stopped = true;
      for (const s of sockets) s.destroy();
      server.close(() => r());
    });
  return proxy;
}

/** A plain HTTP server on 127.0.0.1 (redirect targets, token realms) recording every request. */
export async function startServer(handler: (req: http.IncomingMessage, res: http.ServerResponse) => void): Promise<{
  host: string;
  url: string;
  requests: { method: string; path: string; headers: http.IncomingHttpHeaders }[];
  stop(): Promise<void>;
}> {
  const requests: { method: string; path: string; headers: http.IncomingHttpHeaders }[] = [];
  const server = http.createServer((req, res) => {
    requests.push({ method: req.method ?? 'GET', path: req.url ?? '/', headers: req.headers });
    handler(req, res);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as { port: number }).port;
  return {
    host: `127.0.0.1:${port}`,
    url: `http://127.0.0.1:${port}`,
    requests,
    stop: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

/** True for manifest requests (`/v2/<name>/manifests/<ref>`), optionally only for this ref. */
export function isManifest(req: FaultRequest, ref?: string): boolean {
  const m = /^\/v2\/.+\/manifests\/([^/?]+)/.exec(req.path);
  return !!m && (ref === undefined || m[1] === ref);
}

/** True for blob requests, optionally only for this digest. */
export function isBlob(req: FaultRequest, digest?: string): boolean {
  const m = /^\/v2\/.+\/blobs\/([^/?]+)/.exec(req.path);
  return !!m && (digest === undefined || m[1] === digest);
}

/**
 * The deadline bound for a `--timeout 5` run: 8 s, plus whatever process
 * start-up costs beyond the single binary's usual second (running from
 * sources, or on a very loaded machine). `startupMs` is a measured
 * `sigward version`.
 */
export function deadlineBound(startupMs: number, boundMs = 8000): number {
  return boundMs + Math.max(0, startupMs - 1000);
}
