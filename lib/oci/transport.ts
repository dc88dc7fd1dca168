// Minimal HTTP(S) transport on node:http / node:https: keep-alive agents, custom CAs,
// an idle timeout, abort signals and a hard cap on body bytes (checked while streaming).

import * as http from 'node:http';
import * as https from 'node:https';
import * as tls from 'node:tls';

export interface HttpResponse {
  status: number;
  statusText: string;
  headers: http.IncomingHttpHeaders;
  body: Uint8Array;
  url: URL;
  /** whether an Authorization header was sent (set by the registry client) */
  authSent?: boolean;
}

export interface HttpRequest {
  method: string;
  url: URL;
  headers?: Record<string, string>;
  body?: Uint8Array;
  agent: http.Agent;
  /** socket inactivity timeout */
  timeoutMs: number;
  signal?: AbortSignal;
  /** body cap; over it the request fails with BodyTooLargeError (or the body is cut when truncate) */
  maxBytes: number;
  truncate?: boolean;
}

/** A network-level failure; `code` is the Node/OpenSSL error code when known. */
export class TransportError extends Error {
  readonly code: string;
  constructor(code: string, message: string, cause?: unknown) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = 'TransportError';
    this.code = code;
  }
}

export class BodyTooLargeError extends Error {
  readonly limit: number;
  readonly seen: number;
  constructor(limit: number, seen: number) {
    super(`body larger than ${limit} bytes`);
    this.name = 'BodyTooLargeError';
    this.limit = limit;
    this.seen = seen;
  }
}

export interface Agents {
  http: http.Agent;
  https: https.Agent;
  /** TLS without certificate verification, for hosts marked insecure */
  httpsInsecure: https.Agent;
}

/** TLS client settings for registries beyond the CA pool (cosign --registry-client-cert/-key, --registry-server-name). */
export interface ClientTls {
  /** PEM client certificate and its private key, for registries that ask for mutual TLS */
  cert?: string;
  key?: string;
  /** name the server certificate must be valid for (TLS SNI and verification), instead of the host */
  serverName?: string;
}

/** Registry requests in flight per host (the client queues the rest, abortably). */
export const MAX_CONNECTIONS_PER_HOST = 16;

export function createAgents(caCerts?: string[], clientTls: ClientTls = {}): Agents {
  const common = {
    keepAlive: true,
    // above the client's own per-host bound: a request never waits inside the
    // agent, where an aborted request would still be given a new connection
    maxSockets: MAX_CONNECTIONS_PER_HOST + 4,
    // every connection a burst opened stays open for the next burst (a cold
    // verification asks for several manifests and blobs at once; with 4 kept,
    // 5 bursts of 12 opened 56 connections, now the first burst's 24); most recently used
    // first, so the spare ones are the ones a registry closes when idle
    maxFreeSockets: MAX_CONNECTIONS_PER_HOST + 4,
    scheduling: 'lifo' as const,
    ...(clientTls.cert ? { cert: clientTls.cert, key: clientTls.key } : {}),
    ...(clientTls.serverName ? { servername: clientTls.serverName } : {}),
  };
  let ca: string[] | undefined;
  if (caCerts && caCerts.length > 0) {
    const getCA = (tls as unknown as { getCACertificates?: (t?: string) => string[] }).getCACertificates;
    const defaults = getCA ? getCA('default') : [...tls.rootCertificates];
    ca = [...defaults, ...caCerts];
  }
  return {
    http: new http.Agent(common),
    https: new https.Agent({ ...common, ...(ca ? { ca } : {}) }),
    httpsInsecure: new https.Agent({ ...common, ...(ca ? { ca } : {}), rejectUnauthorized: false }),
  };
}

export function destroyAgents(a: Agents): void {
  a.http.destroy();
  a.https.destroy();
  a.httpsInsecure.destroy();
}

const ERROR_BODY_MAX = 64 * 1024;

export function httpRequest(req: HttpRequest): Promise<HttpResponse> {
  return new Promise<HttpResponse>((resolve, reject) => {
    const { url, signal } = req;
    if (signal?.aborted) {
      reject(abortError(signal));
      return;
    }
    const mod = url.protocol === 'https:' ? https : http;
    const headers: Record<string, string> = { ...req.headers };
    if (req.body) headers['Content-Length'] = String(req.body.byteLength);
    let settled = false;
    const done = (err: unknown, res?: HttpResponse): void => {
      if (settled) return;
      settled = true;
      signal?.removeEventListener('abort', onAbort);
      if (err) reject(err);
      else resolve(res!);
    };
    const r = mod.request(url, { method: req.method, headers, agent: req.agent }, (res) => {
      const status = res.statusCode ?? 0;
      // error and redirect bodies are only read for messages: cut them, never fail on them
      const ok = status >= 200 && status < 300;
      const maxBytes = ok ? req.maxBytes : ERROR_BODY_MAX;
      const truncate = !ok || req.truncate;
      const len = Number(res.headers['content-length']);
      if (!truncate && req.method !== 'HEAD' && Number.isFinite(len) && len > maxBytes) {
        res.destroy();
        r.destroy();
        done(new BodyTooLargeError(maxBytes, len));
        return;
      }
      const chunks: Buffer[] = [];
      let seen = 0;
      res.on('data', (c: Buffer) => {
        if (settled) return;
        seen += c.length;
        if (seen > maxBytes) {
          if (truncate) {
            const keep = c.length - (seen - maxBytes);
            if (keep > 0) chunks.push(c.subarray(0, keep));
            finish();
          } else {
            done(new BodyTooLargeError(maxBytes, seen));
          }
          res.destroy();
          r.destroy();
          return;
        }
        chunks.push(c);
      });
      const finish = (): void => {
        const buf = Buffer.concat(chunks);
        done(undefined, {
          status,
          statusText: res.statusMessage ?? '',
          headers: res.headers,
          body: new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength),
          url,
        });
      };
      res.on('end', finish);
      res.on('error', (e) => done(toTransportError(e)));
      res.on('aborted', () => done(new TransportError('ECONNRESET', 'connection closed while reading the response')));
    });
    const onAbort = (): void => {
      done(abortError(signal!));
      // A request destroyed before the agent hands it its socket gives that
      // socket back to the agent's free pool, still connecting: to a host that
      // never answers it would stay open. Destroy once the socket is there.
      if (r.socket) r.destroy();
      else r.once('socket', () => r.destroy());
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    r.setTimeout(req.timeoutMs, () => {
      r.destroy();
      done(new TransportError('ETIMEDOUT', `timed out after ${req.timeoutMs} ms`));
    });
    r.on('error', (e) => done(toTransportError(e)));
    r.end(req.body ? Buffer.from(req.body.buffer, req.body.byteOffset, req.body.byteLength) : undefined);
  });
}

/** The TransportError of a request given up by its signal (DEADLINE for a timeout, else ABORTED). */
export function abortError(signal: AbortSignal): TransportError {
  const reason = signal.reason as unknown;
  if (reason instanceof Error && reason.name === 'TimeoutError') {
    return new TransportError('DEADLINE', 'deadline exceeded', reason);
  }
  return new TransportError('ABORTED', 'request aborted', reason);
}

function toTransportError(e: unknown): TransportError {
  if (e instanceof TransportError || e instanceof BodyTooLargeError) return e as TransportError;
  const err = e as NodeJS.ErrnoException;
  return new TransportError(err.code ?? 'EUNKNOWN', err.message ?? String(e), e);
}

const CERT_CODES = /CERT|SELF_SIGNED|UNABLE_TO_(GET|VERIFY|DECRYPT)|ALTNAME|HOSTNAME/;

/** True for TLS certificate verification failures (as opposed to network failures). */
export function isCertificateError(e: TransportError): boolean {
  return CERT_CODES.test(e.code);
}

/** True when the peer apparently does not speak TLS (so plain HTTP may be tried). */
export function isNotTlsError(e: TransportError): boolean {
  return (
    e.code === 'EPROTO' ||
    e.code.startsWith('ERR_SSL_') ||
    (e.code === 'ECONNRESET' && /socket|TLS|secure/i.test(e.message))
  );
}

const CERT_REASONS: Record<string, string> = {
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: 'certificate signed by unknown authority',
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: 'certificate signed by unknown authority',
  UNABLE_TO_GET_ISSUER_CERT: 'certificate signed by unknown authority',
  SELF_SIGNED_CERT_IN_CHAIN: 'certificate signed by unknown authority (self-signed root)',
  DEPTH_ZERO_SELF_SIGNED_CERT: 'self-signed certificate',
  CERT_HAS_EXPIRED: 'certificate has expired',
  CERT_NOT_YET_VALID: 'certificate is not yet valid',
  ERR_TLS_CERT_ALTNAME_INVALID: 'certificate is not valid for this host name',
};

/** A short human reason for a transport failure. */
export function describeTransportError(e: TransportError): string {
  switch (e.code) {
    case 'ECONNREFUSED':
      return 'connection refused';
    case 'ENOTFOUND':
      return 'no such host';
    case 'EAI_AGAIN':
      return 'DNS lookup failed (temporary failure)';
    case 'ECONNRESET':
      return 'connection reset by peer';
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return 'no route to host';
    case 'ETIMEDOUT':
    case 'DEADLINE':
    case 'ABORTED':
      return e.message;
  }
  if (isCertificateError(e)) {
    const why = CERT_REASONS[e.code] ?? e.message.split(';')[0];
    return `TLS certificate verification failed: ${why} (${e.code}); provide the registry's CA certificate or mark the registry insecure`;
  }
  if (isNotTlsError(e)) return `TLS handshake failed (${e.message})`;
  return e.message;
}

/** Retry-After header: delta-seconds or an HTTP date; returns ms or undefined. */
export function parseRetryAfter(v: string | undefined, now = Date.now()): number | undefined {
  if (!v) return undefined;
  const s = v.trim();
  if (/^\d+$/.test(s)) return Number(s) * 1000;
  const t = Date.parse(s);
  return Number.isNaN(t) ? undefined : Math.max(0, t - now);
}

export function header(h: http.IncomingHttpHeaders, name: string): string | undefined {
  const v = h[name.toLowerCase()];
  return Array.isArray(v) ? v[0] : v;
}
