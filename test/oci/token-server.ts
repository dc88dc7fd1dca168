// A Docker token server (https://distribution.github.io/distribution/spec/auth/token/)
// for tests: issues ES256 JWTs with an x5c header that docker-registry's `auth.token`
// verifies against `rootcertbundle`. GET with optional Basic auth, POST refresh_token grant.

import { createPrivateKey, randomBytes, sign, X509Certificate } from 'node:crypto';
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { startServer } from '../helpers/proxy.ts';

const run = promisify(execFile);

export interface TokenRequest {
  method: string;
  user?: string;
  grantType?: string;
  scopes: string[];
}

export interface TokenServer {
  realm: string;
  service: string;
  issuer: string;
  rootCertPem: string;
  requests: TokenRequest[];
  stop(): Promise<void>;
}

const b64url = (b: Buffer | string): string => Buffer.from(b).toString('base64url');

export async function startTokenServer(opts: {
  dir: string;
  users?: Record<string, string>;
  refreshTokens?: Record<string, string>;
  anonymousPull?: boolean;
  expiresIn?: number;
  /** answer token requests this much later (a slow token server) */
  delayMs?: number;
}): Promise<TokenServer> {
  const keyPath = join(opts.dir, 'token.key');
  const certPath = join(opts.dir, 'token.pem');
  await run('openssl', [
    'req',
    '-x509',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:P-256',
    '-nodes',
    '-keyout',
    keyPath,
    '-out',
    certPath,
    '-days',
    '2',
    '-subj',
    '/CN=sigward-test-token-signer',
  ]);
  const key = createPrivateKey(await readFile(keyPath));
  const rootCertPem = await readFile(certPath, 'utf8');
  const x5c = [new X509Certificate(rootCertPem).raw.toString('base64')];
  const service = 'sigward-test-registry';
  const issuer = 'sigward-test-issuer';
  const requests: TokenRequest[] = [];

  const issue = (subject: string, scopes: string[], authenticated: boolean): string => {
    const access = scopes
      .flatMap((s) => s.split(' '))
      .filter(Boolean)
      .map((s) => {
        const [type, ...rest] = s.split(':');
        const actions = rest.pop()!.split(',');
        const granted = authenticated ? actions : opts.anonymousPull ? actions.filter((a) => a === 'pull') : [];
        return { type, name: rest.join(':'), actions: granted };
      });
    const now = Math.floor(Date.now() / 1000);
    const header = b64url(JSON.stringify({ typ: 'JWT', alg: 'ES256', x5c }));
    const claims = b64url(
      JSON.stringify({
        iss: issuer,
        sub: subject,
        aud: service,
        exp: now + 300,
        nbf: now - 5,
        iat: now,
        jti: randomBytes(8).toString('hex'),
        access,
      }),
    );
    const sig = sign('sha256', Buffer.from(`${header}.${claims}`), { key, dsaEncoding: 'ieee-p1363' });
    return `${header}.${claims}.${b64url(sig)}`;
  };

  const server = await startServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const url = new URL(req.url!, 'http://x');
      const reply = (status: number, body: unknown): void => {
        const send = () => {
          res.writeHead(status, { 'Content-Type': 'application/json' });
          res.end(JSON.stringify(body));
        };
        if (opts.delayMs) setTimeout(send, opts.delayMs);
        else send();
      };
      if (url.pathname !== '/token') return reply(404, { error: 'not found' });
      if (req.method === 'POST') {
        const form = new URLSearchParams(Buffer.concat(chunks).toString());
        const scopes = (form.get('scope') ?? '').split(' ').filter(Boolean);
        const rt = form.get('refresh_token') ?? '';
        const user = opts.refreshTokens?.[rt];
        requests.push({ method: 'POST', user, grantType: form.get('grant_type') ?? undefined, scopes });
        if (form.get('grant_type') !== 'refresh_token' || !user || form.get('service') !== service) {
          return reply(401, { error: 'invalid_grant' });
        }
        return reply(200, {
          access_token: issue(user, scopes, true),
          expires_in: opts.expiresIn ?? 300,
          refresh_token: rt,
        });
      }
      const scopes = url.searchParams.getAll('scope');
      let user: string | undefined;
      const h = req.headers.authorization;
      if (h) {
        const [u, p] = Buffer.from(h.replace(/^Basic /, ''), 'base64').toString().split(':');
        if (!h.startsWith('Basic ') || !u || opts.users?.[u] !== p) {
          requests.push({ method: 'GET', user: u, scopes });
          return reply(401, { errors: [{ code: 'UNAUTHORIZED', message: 'bad credentials' }] });
        }
        user = u;
      }
      requests.push({ method: 'GET', user, scopes });
      if (url.searchParams.get('service') !== service) return reply(400, { error: 'wrong service' });
      return reply(200, { token: issue(user ?? 'anonymous', scopes, !!user), expires_in: opts.expiresIn ?? 300 });
    });
  });
  return { realm: `${server.url}/token`, service, issuer, rootCertPem, requests, stop: server.stop };
}
