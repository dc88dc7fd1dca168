// A tiny reverse proxy placed in front of the real registry, to play a misbehaving or
// hostile server (rewritten bodies, 5xx/429, resets, redirects, pagination).

import * as http from 'node:http';

export interface ProxyResponse {
  status: number;
  headers?: Record<string, string | string[]>;
  body?: Uint8Array | string;
}

export interface Upstream {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

export interface ProxyHooks {
  /** answer without asking the registry; 'reset' destroys the connection */
  before?: (
    req: http.IncomingMessage,
    url: URL,
    body: Buffer,
  ) => ProxyResponse | 'reset' | undefined | Promise<ProxyResponse | 'reset' | undefined>;
  /** rewrite the registry's answer */
  after?: (req: http.IncomingMessage, url: URL, up: Upstream) => Upstream | Promise<Upstream>;
}

export interface Proxy {
  host: string;
  url: string;
  /** "METHOD /path?query" of every request received */
  log: string[];
  /** Authorization header (or '') of every request received */
  auth: string[];
  hooks: ProxyHooks;
  stop(): Promise<void>;
}

export function forward(upstream: string, req: http.IncomingMessage, body: Buffer, path?: string): Promise<Upstream> {
  return new Promise((resolve, reject) => {
    const u = new URL(path ?? req.url!, upstream);
    const headers = { ...req.headers };
    const r = http.request(u, { method: req.method, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    r.on('error', reject);
    r.end(body);
  });
}

export async function startProxy(upstream: string, hooks: ProxyHooks = {}): Promise<Proxy> {
  const log: string[] = [];
  const auth: string[] = [];
  const proxy: Partial<Proxy> = { log, auth, hooks };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      void (async () => {
        const body = Buffer.concat(chunks);
        const url = new URL(req.url!, `http://${req.headers.host}`);
        log.push(`${req.method} ${url.pathname}${url.search}`);
        auth.push(String(req.headers.authorization ?? ''));
        try {
          const early = await proxy.hooks!.before?.(req, url, body);
          if (early === 'reset') {
            req.socket.destroy();
            return;
          }
          if (early) {
            res.writeHead(early.status, early.headers ?? {});
            res.end(
              early.body === undefined
                ? undefined
                : typeof early.body === 'string'
                ? early.body
                : Buffer.from(early.body),
            );
            return;
          }
          let up = await forward(upstream, req, body);
          if (proxy.hooks!.after) up = await proxy.hooks!.after(req, url, up);
          const headers = { ...up.headers };
          const upstreamLength = headers['content-length'];
          delete headers['content-length'];
          delete headers['transfer-encoding'];
          delete headers.connection;
          if (req.method !== 'HEAD') headers['content-length'] = String(up.body.length);
          else if (upstreamLength !== undefined) headers['content-length'] = upstreamLength;
          res.writeHead(up.status, headers as http.OutgoingHttpHeaders);
          res.end(req.method === 'HEAD' ? undefined : up.body);
        } catch (e) {
          res.writeHead(599);
          res.end(String(e));
        }
      })();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as { port: number }).port;
  proxy.host = `127.0.0.1:${port}`;
  proxy.url = `http://127.0.0.1:${port}`;
  proxy.stop = () =>
    new Promise<void>((r) => {
      server.closeAllConnections();
      server.close(() => r());
    });
  return proxy as Proxy;
}

/** A plain HTTP server on 127.0.0.1 for redirect targets and token realms. */
export async function startServer(
  handler: http.RequestListener,
): Promise<{ host: string; url: string; stop(): Promise<void> }> {
  const server = http.createServer(handler);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as { port: number }).port;
  return {
    host: `127.0.0.1:${port}`,
    url: `http://127.0.0.1:${port}`,
    stop: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
