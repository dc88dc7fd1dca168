// Registry authentication: WWW-Authenticate challenges (RFC 7235) and the Docker
// token protocol (anonymous / basic GET, OAuth2 refresh-token POST), with a token cache.

export interface Challenge {
  /** lower-case scheme: 'bearer', 'basic', ... */
  scheme: string;
  /** parameter names lower-cased */
  params: Record<string, string>;
}

const TOKEN_CHAR = /[A-Za-z0-9!#$%&'*+.^_`|~-]/;

/** Parses one or more challenges from a WWW-Authenticate value (several headers joined by ", "). */
export function parseWwwAuthenticate(value: string | string[] | undefined): Challenge[] {
  if (value === undefined) return [];
  if (Array.isArray(value)) return value.flatMap((v) => parseWwwAuthenticate(v));
  const s = value;
  let i = 0;
  const out: Challenge[] = [];
  const skipWs = (): void => {
    while (i < s.length && (s[i] === ' ' || s[i] === '\t')) i++;
  };
  const readToken = (): string => {
    const start = i;
    while (i < s.length && TOKEN_CHAR.test(s[i]!)) i++;
    return s.slice(start, i);
  };
  const readQuoted = (): string => {
    // s[i] === '"'
    i++;
    let v = '';
    while (i < s.length && s[i] !== '"') {
      if (s[i] === '\\' && i + 1 < s.length) i++;
      v += s[i];
      i++;
    }
    i++; // closing quote
    return v;
  };
  let current: Challenge | undefined;
  while (i < s.length) {
    skipWs();
    if (s[i] === ',') {
      i++;
      continue;
    }
    const start = i;
    const tok = readToken();
    if (!tok) {
      i++; // skip garbage
      continue;
    }
    const afterTok = i;
    skipWs();
    if (current && s[i] === '=' && s[i + 1] !== '=') {
      // auth-param of the current challenge
      i++;
      skipWs();
      const v = s[i] === '"' ? readQuoted() : readToken();
      current.params[tok.toLowerCase()] = v;
      continue;
    }
    // a new challenge: scheme [token68 | params]
    i = afterTok;
    current = { scheme: tok.toLowerCase(), params: {} };
    out.push(current);
    skipWs();
    // token68?
    const m = /^[A-Za-z0-9\-._~+/]+=*(?=\s*(,|$))/.exec(s.slice(i));
    if (m && !/^[A-Za-z0-9!#$%&'*+.^_`|~-]+\s*=[^=]/.test(s.slice(i))) {
      current.params[''] = m[0];
      i += m[0].length;
    }
    if (i === start) i++;
  }
  return out;
}

/** The challenge sigward answers: Bearer preferred over Basic; others ignored. */
export function pickChallenge(challenges: Challenge[]): Challenge | undefined {
  return challenges.find((c) => c.scheme === 'bearer') ?? challenges.find((c) => c.scheme === 'basic');
}

/** `repository:<repo>:pull` or `repository:<repo>:pull,push` */
export function repositoryScope(repository: string, push = false): string {
  return `repository:${repository}:${push ? 'pull,push' : 'pull'}`;
}

/** Union of scopes; actions of the same resource are merged (`pull` + `push` -> `pull,push`). */
export function mergeScopes(scopes: string[]): string[] {
  const byResource = new Map<string, Set<string>>();
  const order: string[] = [];
  for (const sc of scopes.flatMap((x) => x.split(' ')).filter(Boolean)) {
    const k = sc.lastIndexOf(':');
    const resource = k > 0 ? sc.slice(0, k) : sc;
    const actions = k > 0 ? sc.slice(k + 1).split(',').filter(Boolean) : [];
    let set = byResource.get(resource);
    if (!set) {
      set = new Set();
      byResource.set(resource, set);
      order.push(resource);
    }
    for (const a of actions) set.add(a);
  }
  return order.map((r) => {
    const acts = [...byResource.get(r)!];
    return acts.length ? `${r}:${acts.join(',')}` : r;
  });
}

export interface TokenResponse {
  token: string;
  /** epoch ms after which the token is not reused */
  expiresAt: number;
}

/** Reads the token server's JSON answer (`token` or `access_token`, `expires_in` default 60 s). */
export function toTokenResponse(body: unknown, now = Date.now()): TokenResponse | undefined {
  if (typeof body !== 'object' || body === null) return undefined;
  const o = body as Record<string, unknown>;
  const token = typeof o.token === 'string' && o.token
    ? o.token
    : typeof o.access_token === 'string'
    ? o.access_token
    : '';
  if (!token) return undefined;
  const expiresIn = typeof o.expires_in === 'number' && o.expires_in > 0 ? o.expires_in : 60;
  // reuse for at most the lifetime minus a safety margin
  const margin = Math.min(30, expiresIn * 0.1);
  return { token, expiresAt: now + (expiresIn - margin) * 1000 };
}

/** A small TTL cache for bearer tokens keyed by registry + scopes. */
export class TokenCache {
  #entries = new Map<string, TokenResponse>();
  #now: () => number;
  constructor(now: () => number = Date.now) {
    this.#now = now;
  }
  static key(registry: string, scopes: string[]): string {
    return `${registry}|${[...scopes].sort().join(' ')}`;
  }
  get(key: string): string | undefined {
    const e = this.#entries.get(key);
    if (!e) return undefined;
    if (e.expiresAt <= this.#now()) {
      this.#entries.delete(key);
      return undefined;
    }
    return e.token;
  }
  set(key: string, t: TokenResponse): void {
    this.#entries.set(key, t);
  }
  delete(key: string): void {
    this.#entries.delete(key);
  }
  clear(): void {
    this.#entries.clear();
  }
}

export function basicAuthorization(username: string, password: string): string {
  return `Basic ${Buffer.from(`${username}:${password}`, 'utf8').toString('base64')}`;
}
