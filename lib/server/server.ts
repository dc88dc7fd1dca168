// The HTTPS front of the webhook (node:https, TLS 1.2+):
//   POST /mutate, POST /validate   AdmissionReview admission.k8s.io/v1 or v1beta1
//   GET  /healthz                  the process answers
//   GET  /readyz                   trust root and policies loaded, not draining
//   GET  /metrics                  Prometheus text format
// A body that is not an AdmissionReview gets HTTP 400 with a JSON error (the
// API server then applies the webhook's own failurePolicy); anything
// unexpected gets 500 and a log line, never a crash. The certificate can be
// swapped at run time (setCertificate); close() stops accepting connections
// and waits for the requests in flight.

import {
  createServer as createHttpServer,
  type IncomingMessage,
  type Server as HttpServer,
  type ServerResponse,
} from 'node:http';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import { createSecureContext, type SecureContextOptions } from 'node:tls';
import type { AddressInfo } from 'node:net';
import { SigwardError, toSigwardError } from '../errors.ts';
import type { Logger } from '../log.ts';
import { parseAdmissionReview } from '../admission/review.ts';
import { parseGoDuration } from '../conditions/go-duration.ts';
import type { WebhookMetrics, WebhookOperation } from './metrics.ts';
import type { AdmissionHandler } from './webhook.ts';

export const DEFAULT_MAX_BODY_BYTES = 8 * 1024 * 1024;

export interface Readiness {
  ready: boolean;
  reason?: string;
}

export interface TlsMaterial {
  cert: string | Buffer;
  key: string | Buffer;
}

export interface WebhookServerOptions {
  handler: AdmissionHandler;
  metrics: WebhookMetrics;
  log: Logger;
  tls: TlsMaterial;
  readiness: () => Readiness;
  maxBodyBytes?: number;
  /** whole-request limit for slow clients, default 30 s */
  requestTimeoutMs?: number;
}

export interface WebhookServer {
  readonly server: HttpsServer;
  listen(port: number, host: string): Promise<AddressInfo>;
  /** validates and installs a new certificate/key for new connections; throws CONFIG_INVALID when they do not form a pair */
  setCertificate(tls: TlsMaterial): void;
  /** stops accepting connections, waits for requests in flight (at most drainMs), then closes every connection */
  close(drainMs?: number): Promise<void>;
  readonly inflight: number;
}

function toContextOptions(tls: TlsMaterial): SecureContextOptions {
  return { cert: tls.cert, key: tls.key, minVersion: 'TLSv1.2' };
}

/** Checks that cert and key load and belong together. */
export function checkTlsMaterial(tls: TlsMaterial): void {
  try {
    createSecureContext(toContextOptions(tls));
  } catch (e) {
    throw new SigwardError('CONFIG_INVALID', `invalid serving certificate or key: ${(e as Error).message}`, {
      cause: e,
    });
  }
}

class BodyError extends Error {
  status: number;
  constructor(status: number, message: string) {
    super(message);
    this.status = status;
  }
}

function readBody(req: IncomingMessage, max: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > max) {
    return Promise.reject(new BodyError(413, `request body larger than ${max} bytes`));
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    req.on('data', (c: Buffer) => {
      if (done) return;
      size += c.length;
      if (size > max) {
        done = true;
        reject(new BodyError(413, `request body larger than ${max} bytes`));
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => {
      if (!done) {
        done = true;
        resolve(Buffer.concat(chunks));
      }
    });
    req.on('error', (e) => {
      if (!done) {
        done = true;
        reject(new BodyError(400, `cannot read the request body: ${e.message}`));
      }
    });
  });
}

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  if (res.headersSent || res.destroyed) return;
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  res.writeHead(status, {
    'Content-Type': typeof body === 'string' ? 'text/plain; charset=utf-8' : 'application/json',
    'Content-Length': String(Buffer.byteLength(text)),
    ...headers,
  });
  res.end(text);
}

/** `?timeout=10s` as the API server adds it to webhook calls (Go duration), in seconds. */
export function parseTimeoutParam(v: string | null): number | undefined {
  if (!v) return undefined;
  const ns = parseGoDuration(v);
  if (ns === undefined || ns <= 0n) return undefined;
  return Number(ns) / 1e9;
}

const OPERATIONAL_PATHS = new Set(['/healthz', '/livez', '/readyz', '/metrics']);

/** /healthz, /readyz, /metrics: shared by the HTTPS server and the optional plain metrics port. */
export async function serveOperational(
  path: string,
  res: ServerResponse,
  metrics: WebhookMetrics,
  readiness: () => Readiness,
): Promise<boolean> {
  switch (path) {
    case '/healthz':
    case '/livez':
      send(res, 200, 'ok\n');
      return true;
    case '/readyz': {
      const r = readiness();
      metrics.ready.set(r.ready ? 1 : 0);
      send(res, r.ready ? 200 : 503, r.ready ? 'ok\n' : `not ready: ${r.reason ?? 'starting'}\n`);
      return true;
    }
    case '/metrics': {
      const r = readiness();
      metrics.ready.set(r.ready ? 1 : 0);
      const text = await metrics.registry.metrics();
      send(res, 200, text, { 'Content-Type': metrics.registry.contentType });
      return true;
    }
    default:
      return false;
  }
}

export function createWebhookServer(opts: WebhookServerOptions): WebhookServer {
  const { handler, metrics, log } = opts;
  const maxBody = opts.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  checkTlsMaterial(opts.tls);
  let inflight = 0;
  let closing = false;
  let drained: (() => void) | undefined;

  const server = createHttpsServer({ ...toContextOptions(opts.tls) });
  server.requestTimeout = opts.requestTimeoutMs ?? 30_000;
  server.headersTimeout = Math.min(server.requestTimeout, 10_000);
  server.keepAliveTimeout = 30_000; // the API server reuses connections
  server.on('tlsClientError', (e) => log.debug({ err: e.message }, 'TLS handshake failed'));
  server.on('clientError', (e, socket) => {
    log.debug({ err: e.message }, 'bad HTTP request');
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
    else socket.destroy();
  });

  async function admission(op: WebhookOperation, url: URL, req: IncomingMessage, res: ServerResponse): Promise<void> {
    const started = performance.now();
    const observe = (result: 'allowed' | 'denied' | 'error') =>
      metrics.requestDuration.observe({ operation: op, result }, (performance.now() - started) / 1000);
    let body: Buffer;
    try {
      body = await readBody(req, maxBody);
    } catch (e) {
      const status = e instanceof BodyError ? e.status : 400;
      observe('error');
      log.warn({ webhook: op, status, err: (e as Error).message }, 'rejected admission request');
      req.resume(); // discard the rest (bounded by requestTimeout) so the client reads the answer
      send(res, status, { error: (e as Error).message });
      return;
    }
    let request;
    try {
      request = parseAdmissionReview(body);
    } catch (e) {
      observe('error');
      const msg = toSigwardError(e).message;
      log.warn({ webhook: op, err: msg }, 'malformed AdmissionReview');
      send(res, 400, { error: msg });
      return;
    }
    let decision;
    if (op === 'mutate') {
      // a client that goes away (the API server gave up, the connection broke) cancels the evaluation
      const gone = new AbortController();
      const onClose = () => {
        if (!res.writableFinished) gone.abort(new Error('the client closed the connection'));
      };
      res.once('close', onClose);
      try {
        decision = await handler.mutate(request, {
          apiTimeoutSeconds: parseTimeoutParam(url.searchParams.get('timeout')),
          signal: gone.signal,
        });
      } finally {
        res.off('close', onClose);
      }
    } else {
      decision = await handler.validate(request);
    }
    observe(decision.result);
    send(res, 200, decision.review, closing ? { Connection: 'close' } : {});
  }

  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    inflight++;
    void (async () => {
      try {
        const url = new URL(req.url ?? '/', 'https://sigward.invalid');
        const path = url.pathname;
        if (path === '/mutate' || path === '/validate') {
          if (req.method !== 'POST') {
            req.resume();
            send(res, 405, { error: `${req.method} not allowed: POST an AdmissionReview` }, { Allow: 'POST' });
            return;
          }
          await admission(path === '/mutate' ? 'mutate' : 'validate', url, req, res);
          return;
        }
        req.resume();
        if (!OPERATIONAL_PATHS.has(path)) {
          send(res, 404, { error: `no such endpoint: ${path}` });
          return;
        }
        if (req.method !== 'GET' && req.method !== 'HEAD') {
          send(res, 405, { error: `${req.method} not allowed` }, { Allow: 'GET' });
          return;
        }
        await serveOperational(path, res, metrics, opts.readiness);
      } catch (e) {
        log.error(
          { err: e instanceof Error ? e.stack ?? e.message : String(e) },
          'internal error while handling a request',
        );
        send(res, 500, { error: 'internal error' });
      } finally {
        inflight--;
        if (closing && inflight === 0) drained?.();
      }
    })();
  });

  return {
    server,
    get inflight() {
      return inflight;
    },
    listen(port, host) {
      return new Promise((resolve, reject) => {
        const onError = (e: Error) =>
          reject(new SigwardError('CONFIG_INVALID', `cannot listen on ${host}:${port}: ${e.message}`, { cause: e }));
        server.once('error', onError);
        server.listen(port, host, () => {
          server.off('error', onError);
          resolve(server.address() as AddressInfo);
        });
      });
    },
    setCertificate(tls) {
      checkTlsMaterial(tls);
      server.setSecureContext(toContextOptions(tls));
    },
    async close(drainMs = 30_000) {
      closing = true;
      const closed = new Promise<void>((r) => server.close(() => r()));
      server.closeIdleConnections();
      if (inflight > 0) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, drainMs);
          timer.unref();
          drained = () => {
            clearTimeout(timer);
            resolve();
          };
        });
      }
      server.closeAllConnections();
      await closed;
    },
  };
}

/** Plain HTTP listener for /metrics, /healthz, /readyz (scrapers that do not speak TLS to the webhook). */
export function createMetricsServer(metrics: WebhookMetrics, readiness: () => Readiness, log: Logger): HttpServer {
  return createHttpServer((req, res) => {
    req.resume();
    const path = new URL(req.url ?? '/', 'http://sigward.invalid').pathname;
    serveOperational(path, res, metrics, readiness)
      .then((served) => {
        if (!served) send(res, 404, { error: `no such endpoint: ${path}` });
      })
      .catch((e: unknown) => {
        log.error({ err: (e as Error).message }, 'metrics endpoint failed');
        send(res, 500, { error: 'internal error' });
      });
  });
}
