// OCI Distribution (Registry HTTP API v2) client: resolve, fetch and verify manifests and
// blobs, list tags, discover referrers (API, then the `sha256-<hex>` tag schema), push.
// Transport is node:http/node:https with keep-alive agents (custom CAs, insecure hosts).

import { SigwardError } from '../errors.ts';
import type { ErrorCode } from '../errors.ts';
import { raceAbort, type SharedWork, shareWork, toAbandonedError } from '../abort.ts';
import {
  basicAuthorization,
  mergeScopes,
  parseWwwAuthenticate,
  pickChallenge,
  repositoryScope,
  TokenCache,
  toTokenResponse,
} from './auth.ts';
import type { Challenge } from './auth.ts';
import type { Credential, CredentialProvider } from './credentials.ts';
import { computeDigest, digestTag, isDigest, parseDigest, verifyDigest } from '../digest.ts';
import { baseMediaType, isImageIndex, isManifestMediaType, MANIFEST_ACCEPT, toManifest } from './manifest.ts';
import {
  abortError,
  BodyTooLargeError,
  createAgents,
  describeTransportError,
  destroyAgents,
  header,
  httpRequest,
  isNotTlsError,
  MAX_CONNECTIONS_PER_HOST,
  parseRetryAfter,
  TransportError,
} from './transport.ts';
import { createSemaphore, type Semaphore } from '../semaphore.ts';
import type { Agents, ClientTls, HttpResponse } from './transport.ts';
import { MEDIA_TYPES } from './types.ts';
import type { Descriptor, FetchedManifest, GetOptions, ImageIndex, OciStore, RepositoryRef } from './types.ts';

export interface RegistryLogger {
  debug(obj: Record<string, unknown>, msg?: string): void;
}

export interface RegistryClientOptions {
  /** hosts (`host` or `host:port`) allowed plain HTTP or unverified TLS */
  insecureRegistries?: string[];
  /** allow plain HTTP for every registry (cosign --allow-http-registry) */
  allowHttp?: boolean;
  /** skip TLS verification and allow plain HTTP for every registry (cosign --allow-insecure-registry) */
  allowInsecure?: boolean;
  /** extra trusted CA certificates (PEM), added to the default roots */
  caCerts?: string[];
  /** client certificate, key and server name for TLS (see ClientTls) */
  clientTls?: ClientTls;
  credentials?: CredentialProvider;
  /** per-request inactivity timeout, default 10 000 ms */
  timeoutMs?: number;
  /**
   * requests in flight per host, default 16; more wait in the client's queue
   * and leave it when their signal fires (a host that never answers holds at
   * most this many connections, and never delays requests to other hosts)
   */
  maxConnectionsPerHost?: number;
  /** overall deadline (epoch ms) for every request of this client */
  deadline?: number;
  /** retries on 408/429/5xx and connection resets, default 3 */
  retries?: number;
  /** first backoff step, default 250 ms (doubled each retry, with jitter) */
  retryBaseMs?: number;
  /** longest single wait (also caps Retry-After), default 20 000 ms */
  retryMaxMs?: number;
  /** default 4 MiB */
  maxManifestBytes?: number;
  /** default 128 MiB (cosign's limit) */
  maxBlobBytes?: number;
  userAgent?: string;
  /** `n` for tag listing pages (default: let the registry decide) */
  tagsPageSize?: number;
  /** keep the `sha256-<hex>` referrers tag index up to date when pushing a manifest with a subject to a registry without the referrers API (default true) */
  updateReferrersTag?: boolean;
  logger?: RegistryLogger;
}

export const DEFAULT_MAX_MANIFEST_BYTES = 4 * 1024 * 1024;
export const DEFAULT_MAX_BLOB_BYTES = 128 * 1024 * 1024;
export const DEFAULT_USER_AGENT = 'sigward/0.1';

const RETRY_STATUS = new Set([408, 429, 500, 502, 503, 504]);
const RETRY_CODES = new Set(['ECONNRESET', 'EPIPE', 'ECONNABORTED', 'EAI_AGAIN']);
const REDIRECT_STATUS = new Set([301, 302, 303, 307, 308]);
const REFERRERS_FALLBACK_STATUS = new Set([400, 404, 405, 406]);
const REPO_RE = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$/;
const TAG_RE = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$/;

/** The host serving the API for a registry name (`docker.io` -> `registry-1.docker.io`). */
export function apiHost(registry: string): string {
  const r = registry.toLowerCase();
  return r === 'docker.io' || r === 'index.docker.io' ? 'registry-1.docker.io' : r;
}

/** localhost, *.localhost, 127.0.0.0/8, ::1 (with or without a port). */
export function isLoopbackHost(host: string): boolean {
  let h = host.toLowerCase();
  if (h.startsWith('[')) h = h.slice(1, h.indexOf(']'));
  else if (h.split(':').length === 2) h = h.split(':')[0]!;
  return h === 'localhost' || h.endsWith('.localhost') || /^127(\.\d{1,3}){3}$/.test(h) || h === '::1';
}

function hostnameOf(host: string): string {
  if (host.startsWith('[')) return host.slice(0, host.indexOf(']') + 1);
  const parts = host.split(':');
  return parts.length === 2 ? parts[0]! : host;
}

interface Ctx {
  /** registry name as given (for credentials and messages) */
  registry: string;
  /** API host[:port] */
  host: string;
  repository: string;
  push: boolean;
  signal?: AbortSignal;
}

interface Req {
  method: string;
  /** path (+query) on the registry, or an absolute URL */
  path: string;
  headers?: Record<string, string>;
  body?: Uint8Array;
  maxBytes: number;
  /** read at most maxBytes and cut the rest instead of failing (error bodies) */
  truncate?: boolean;
  followRedirects?: boolean;
  /** for messages: "manifest foo:1" */
  what: string;
  signal?: AbortSignal;
}

interface Sent {
  res: HttpResponse;
  retried: number;
}

export class RegistryClient implements OciStore {
  readonly options: Readonly<RegistryClientOptions>;
  #agents: Agents;
  #connections: Semaphore;
  #schemes = new Map<string, 'https' | 'http'>();
  #challenges = new Map<string, Challenge>();
  #tokens = new TokenCache();
  #inflightTokens = new Map<string, SharedWork<string>>();
  #creds = new Map<string, { at: number; value: Promise<Credential | undefined> }>();
  #noReferrersApi = new Set<string>();
  #insecure: Set<string>;
  #timeoutMs: number;
  #retries: number;
  #maxManifest: number;
  #maxBlob: number;

  constructor(options: RegistryClientOptions = {}) {
    this.options = options;
    this.#agents = createAgents(options.caCerts, options.clientTls);
    const perHost = Math.min(options.maxConnectionsPerHost ?? MAX_CONNECTIONS_PER_HOST, MAX_CONNECTIONS_PER_HOST);
    this.#connections = createSemaphore(Infinity, Infinity, {
      keyLimit: Math.max(1, perHost),
      keyQueue: Infinity,
      name: 'registry connection',
    });
    this.#insecure = new Set((options.insecureRegistries ?? []).map((h) => h.toLowerCase()));
    this.#timeoutMs = options.timeoutMs ?? 10_000;
    this.#retries = options.retries ?? 3;
    this.#maxManifest = options.maxManifestBytes ?? DEFAULT_MAX_MANIFEST_BYTES;
    this.#maxBlob = options.maxBlobBytes ?? DEFAULT_MAX_BLOB_BYTES;
  }

  /** Closes idle keep-alive connections. */
  close(): void {
    destroyAgents(this.#agents);
  }

  // ---------------------------------------------------------------- OciStore

  async resolve(repo: RepositoryRef, tagOrDigest: string, opts: GetOptions = {}): Promise<Descriptor> {
    const ctx = this.#ctx(repo, opts);
    checkReference(tagOrDigest);
    const what = `manifest ${refString(ctx, tagOrDigest)}`;
    const { res, retried } = await this.#send(ctx, {
      method: 'HEAD',
      path: `/v2/${ctx.repository}/manifests/${tagOrDigest}`,
      headers: { Accept: MANIFEST_ACCEPT.join(', ') },
      maxBytes: 0,
      what,
    });
    if (res.status === 200) {
      const digest = header(res.headers, 'docker-content-digest');
      const mediaType = baseMediaType(header(res.headers, 'content-type'));
      const size = Number(header(res.headers, 'content-length'));
      if (
        digest && isDigest(digest) && mediaType && isManifestMediaType(mediaType) && Number.isSafeInteger(size) &&
        size > 0
      ) {
        if (isDigest(tagOrDigest) && digest !== tagOrDigest) {
          throw new SigwardError('CONTENT_DIGEST_MISMATCH', `${what}: registry answered with digest ${digest}`, {
            detail: { expected: tagOrDigest, actual: digest },
          });
        }
        return { mediaType, digest, size };
      }
    } else if (res.status === 404) {
      throw this.#statusError(ctx, res, what, 'manifest', retried);
    } else if ([401, 403, 429].includes(res.status)) {
      throw this.#statusError(ctx, res, what, 'manifest', retried);
    }
    // HEAD unsupported or incomplete: fetch and hash
    return (await this.getManifest(repo, tagOrDigest, opts)).descriptor;
  }

  async getManifest(repo: RepositoryRef, tagOrDigest: string, opts: GetOptions = {}): Promise<FetchedManifest> {
    const ctx = this.#ctx(repo, opts);
    checkReference(tagOrDigest);
    const what = `manifest ${refString(ctx, tagOrDigest)}`;
    const { res, retried } = await this.#send(ctx, {
      method: 'GET',
      path: `/v2/${ctx.repository}/manifests/${tagOrDigest}`,
      headers: { Accept: MANIFEST_ACCEPT.join(', ') },
      maxBytes: opts.maxBytes ?? this.#maxManifest,
      what,
    });
    if (res.status !== 200) throw this.#statusError(ctx, res, what, 'manifest', retried);
    const bytes = res.body;
    let digest: string;
    if (isDigest(tagOrDigest)) {
      verifyDigest(bytes, tagOrDigest, what);
      digest = tagOrDigest;
    } else {
      digest = computeDigest(bytes);
      const claimed = header(res.headers, 'docker-content-digest');
      if (claimed && isDigest(claimed)) verifyDigest(bytes, claimed, `${what} (Docker-Content-Digest)`);
    }
    const { mediaType, manifest } = toManifest(bytes, header(res.headers, 'content-type'));
    return { descriptor: { mediaType, digest, size: bytes.byteLength }, bytes, manifest };
  }

  async getBlob(repo: RepositoryRef, digest: string, opts: GetOptions & { size?: number } = {}): Promise<Uint8Array> {
    const ctx = this.#ctx(repo, opts);
    parseDigest(digest);
    const what = `blob ${ctx.registry}/${ctx.repository}@${digest}`;
    const limit = opts.maxBytes ?? this.#maxBlob;
    const size = opts.size;
    if (size !== undefined && size > limit) {
      throw new SigwardError('CONTENT_TOO_LARGE', `${what} is ${size} bytes, over the limit of ${limit} bytes`, {
        detail: { size, limit },
      });
    }
    let sent: Sent;
    try {
      sent = await this.#send(ctx, {
        method: 'GET',
        path: `/v2/${ctx.repository}/blobs/${digest}`,
        maxBytes: size ?? limit,
        followRedirects: true,
        what,
      });
    } catch (e) {
      if (size !== undefined && e instanceof SigwardError && e.code === 'CONTENT_TOO_LARGE') {
        throw new SigwardError(
          'CONTENT_DIGEST_MISMATCH',
          `${what}: size mismatch, registry sent more than the expected ${size} bytes`,
        );
      }
      throw e;
    }
    const { res, retried } = sent;
    if (res.status !== 200) throw this.#statusError(ctx, res, what, 'blob', retried);
    if (size !== undefined && res.body.byteLength !== size) {
      throw new SigwardError(
        'CONTENT_DIGEST_MISMATCH',
        `${what}: size mismatch, expected ${size} bytes, got ${res.body.byteLength}`,
        { detail: { expected: size, actual: res.body.byteLength } },
      );
    }
    verifyDigest(res.body, digest, what);
    return res.body;
  }

  async listTags(repo: RepositoryRef, opts: GetOptions = {}): Promise<string[]> {
    const ctx = this.#ctx(repo, opts);
    const what = `tags of ${ctx.registry}/${ctx.repository}`;
    const n = this.options.tagsPageSize;
    let path: string | undefined = `/v2/${ctx.repository}/tags/list${n ? `?n=${n}` : ''}`;
    const tags: string[] = [];
    for (let page = 0; path !== undefined; page++) {
      if (page >= 10_000) throw new SigwardError('REGISTRY_ERROR', `${what}: too many pages`);
      const { res, retried } = await this.#send(ctx, {
        method: 'GET',
        path,
        headers: { Accept: 'application/json' },
        maxBytes: opts.maxBytes ?? this.#maxManifest,
        what,
      });
      if (res.status !== 200) throw this.#statusError(ctx, res, what, 'repository', retried);
      const body = parseJson(res.body, what) as { tags?: unknown };
      if (body.tags !== null && body.tags !== undefined) {
        if (!Array.isArray(body.tags) || body.tags.some((t) => typeof t !== 'string')) {
          throw new SigwardError('REGISTRY_ERROR', `${what}: malformed tag list`);
        }
        tags.push(...(body.tags as string[]));
      }
      path = nextLink(res);
    }
    return tags;
  }

  async referrers(
    repo: RepositoryRef,
    digest: string,
    opts: GetOptions & { artifactType?: string } = {},
  ): Promise<Descriptor[]> {
    const ctx = this.#ctx(repo, opts);
    parseDigest(digest);
    const what = `referrers of ${ctx.registry}/${ctx.repository}@${digest}`;
    const filter = (ds: Descriptor[]): Descriptor[] =>
      opts.artifactType === undefined ? ds : ds.filter((d) => d.artifactType === opts.artifactType);
    const apiKey = `${ctx.host}/${ctx.repository}`;
    if (!this.#noReferrersApi.has(apiKey)) {
      const q = opts.artifactType ? `?artifactType=${encodeURIComponent(opts.artifactType)}` : '';
      let path: string | undefined = `/v2/${ctx.repository}/referrers/${digest}${q}`;
      const out: Descriptor[] = [];
      let supported = true;
      for (let page = 0; path !== undefined && page < 1000; page++) {
        const { res, retried } = await this.#send(ctx, {
          method: 'GET',
          path,
          headers: { Accept: MEDIA_TYPES.ociIndex },
          maxBytes: opts.maxBytes ?? this.#maxManifest,
          what,
        });
        if (res.status === 200 && baseMediaType(header(res.headers, 'content-type')) === MEDIA_TYPES.ociIndex) {
          const { manifest } = toManifest(res.body, MEDIA_TYPES.ociIndex);
          if (!isImageIndex(manifest)) break;
          out.push(...manifest.manifests);
          path = nextLink(res);
          continue;
        }
        if (page === 0 && (res.status === 200 || REFERRERS_FALLBACK_STATUS.has(res.status))) {
          supported = false;
          break;
        }
        throw this.#statusError(ctx, res, what, 'manifest', retried);
      }
      if (supported) return filter(out);
      this.#noReferrersApi.add(apiKey);
    }
    // referrers tag schema
    let fetched: FetchedManifest;
    try {
      fetched = await this.getManifest(repo, digestTag(digest), opts);
    } catch (e) {
      if (e instanceof SigwardError && e.code === 'MANIFEST_UNKNOWN') return [];
      throw e;
    }
    return isImageIndex(fetched.manifest) ? filter(fetched.manifest.manifests) : [];
  }

  async putBlob(repo: RepositoryRef, bytes: Uint8Array, mediaType = 'application/octet-stream'): Promise<Descriptor> {
    const ctx = this.#ctx(repo, {}, true);
    const digest = computeDigest(bytes);
    const desc: Descriptor = { mediaType, digest, size: bytes.byteLength };
    const what = `blob upload ${ctx.registry}/${ctx.repository}@${digest}`;
    const head = await this.#send(ctx, {
      method: 'HEAD',
      path: `/v2/${ctx.repository}/blobs/${digest}`,
      maxBytes: 0,
      what,
    });
    if (head.res.status === 200) return desc;
    if ([401, 403].includes(head.res.status)) throw this.#statusError(ctx, head.res, what, 'upload', head.retried);
    const start = await this.#send(ctx, {
      method: 'POST',
      path: `/v2/${ctx.repository}/blobs/uploads/`,
      body: new Uint8Array(0),
      maxBytes: 64 * 1024,
      truncate: true,
      what,
    });
    const location = header(start.res.headers, 'location');
    if (start.res.status !== 202 || !location) throw this.#statusError(ctx, start.res, what, 'upload', start.retried);
    const url = new URL(location, start.res.url);
    url.searchParams.set('digest', digest);
    const put = await this.#send(ctx, {
      method: 'PUT',
      path: url.host === start.res.url.host ? `${url.pathname}${url.search}` : url.href,
      headers: { 'Content-Type': 'application/octet-stream' },
      body: bytes,
      maxBytes: 64 * 1024,
      truncate: true,
      what,
    });
    if (put.res.status !== 201) throw this.#statusError(ctx, put.res, what, 'upload', put.retried);
    const got = header(put.res.headers, 'docker-content-digest');
    if (got && got !== digest) {
      throw new SigwardError('CONTENT_DIGEST_MISMATCH', `${what}: registry stored digest ${got}`);
    }
    return desc;
  }

  async putManifest(repo: RepositoryRef, bytes: Uint8Array, mediaType: string, tag?: string): Promise<Descriptor> {
    const ctx = this.#ctx(repo, {}, true);
    const { manifest } = toManifest(bytes, mediaType);
    const digest = computeDigest(bytes);
    if (tag !== undefined && !TAG_RE.test(tag)) {
      throw new SigwardError('REFERENCE_INVALID', `invalid tag ${JSON.stringify(tag)}`);
    }
    const ref = tag ?? digest;
    const what = `manifest upload ${refString(ctx, ref)}`;
    const { res, retried } = await this.#send(ctx, {
      method: 'PUT',
      path: `/v2/${ctx.repository}/manifests/${ref}`,
      headers: { 'Content-Type': mediaType },
      body: bytes,
      maxBytes: 64 * 1024,
      truncate: true,
      what,
    });
    if (res.status !== 201 && res.status !== 200) throw this.#statusError(ctx, res, what, 'upload', retried);
    const got = header(res.headers, 'docker-content-digest');
    if (got && got !== digest) {
      throw new SigwardError('CONTENT_DIGEST_MISMATCH', `${what}: registry stored digest ${got}, expected ${digest}`);
    }
    const desc: Descriptor = { mediaType, digest, size: bytes.byteLength };
    if (manifest.subject && !header(res.headers, 'oci-subject') && this.options.updateReferrersTag !== false) {
      await this.#addToReferrersTag(repo, manifest.subject.digest, referrerDescriptor(desc, manifest));
    }
    return desc;
  }

  /** Deletes a manifest by digest (registries may refuse: REGISTRY_ERROR). */
  async deleteManifest(repo: RepositoryRef, digest: string): Promise<void> {
    const ctx = this.#ctx(repo, {}, true);
    parseDigest(digest);
    const what = `manifest ${refString(ctx, digest)}`;
    const { res, retried } = await this.#send(ctx, {
      method: 'DELETE',
      path: `/v2/${ctx.repository}/manifests/${digest}`,
      maxBytes: 64 * 1024,
      truncate: true,
      what,
    });
    if (res.status !== 202 && res.status !== 200) throw this.#statusError(ctx, res, what, 'manifest', retried);
  }

  // ---------------------------------------------------------------- internals

  async #addToReferrersTag(repo: RepositoryRef, subject: string, desc: Descriptor): Promise<void> {
    const tag = digestTag(subject);
    let index: ImageIndex = { schemaVersion: 2, mediaType: MEDIA_TYPES.ociIndex, manifests: [] };
    try {
      const got = await this.getManifest(repo, tag);
      if (isImageIndex(got.manifest)) index = got.manifest;
    } catch (e) {
      if (!(e instanceof SigwardError && e.code === 'MANIFEST_UNKNOWN')) throw e;
    }
    if (index.manifests.some((d) => d.digest === desc.digest)) return;
    index = { ...index, manifests: [...index.manifests, desc] };
    const bytes = new TextEncoder().encode(JSON.stringify(index));
    await this.putManifest(repo, bytes, MEDIA_TYPES.ociIndex, tag);
  }

  #ctx(repo: RepositoryRef, opts: GetOptions, push = false): Ctx {
    if (repo.transport !== 'registry') {
      throw new SigwardError('REFERENCE_INVALID', `RegistryClient cannot open ${repo.transport} ${repo.registry}`);
    }
    if (!repo.registry || /[\s/?#@]/.test(repo.registry)) {
      throw new SigwardError('REFERENCE_INVALID', `invalid registry ${JSON.stringify(repo.registry)}`);
    }
    if (!REPO_RE.test(repo.repository)) {
      throw new SigwardError('REFERENCE_INVALID', `invalid repository name ${JSON.stringify(repo.repository)}`);
    }
    return {
      registry: repo.registry,
      host: apiHost(repo.registry),
      repository: repo.repository,
      push,
      signal: opts.signal,
    };
  }

  #httpAllowed(host: string): boolean {
    const h = host.toLowerCase();
    return (
      !!this.options.allowHttp ||
      !!this.options.allowInsecure ||
      isLoopbackHost(h) ||
      this.#insecure.has(h) ||
      this.#insecure.has(hostnameOf(h))
    );
  }

  #skipVerify(host: string): boolean {
    const h = host.toLowerCase();
    return !!this.options.allowInsecure || this.#insecure.has(h) || this.#insecure.has(hostnameOf(h));
  }

  async #sleep(ms: number, signal?: AbortSignal): Promise<void> {
    await new Promise<void>((resolve) => {
      const t = setTimeout(done, ms);
      function done(): void {
        clearTimeout(t);
        signal?.removeEventListener('abort', done);
        resolve();
      }
      signal?.addEventListener('abort', done, { once: true });
    });
  }

  /** Wait before retry `attempt` (0-based); false when the deadline does not allow it. */
  async #backoff(attempt: number, retryAfterMs: number | undefined, signal?: AbortSignal): Promise<boolean> {
    const base = this.options.retryBaseMs ?? 250;
    const max = this.options.retryMaxMs ?? 20_000;
    let ms = retryAfterMs ?? base * 2 ** attempt * (0.5 + Math.random() * 0.5);
    ms = Math.min(ms, max);
    const deadline = this.options.deadline;
    if (deadline !== undefined && Date.now() + ms >= deadline) return false;
    if (signal?.aborted) return false;
    await this.#sleep(ms, signal);
    return !signal?.aborted;
  }

  /** Retries around one logical request. */
  async #withRetries(ctx: Ctx, what: string, fn: () => Promise<HttpResponse>): Promise<Sent> {
    for (let attempt = 0;; attempt++) {
      let res: HttpResponse;
      try {
        res = await fn();
      } catch (e) {
        if (e instanceof BodyTooLargeError) {
          throw new SigwardError('CONTENT_TOO_LARGE', `${what} exceeds the size limit of ${e.limit} bytes`, {
            detail: { limit: e.limit },
          });
        }
        if (e instanceof TransportError) {
          if (
            RETRY_CODES.has(e.code) && attempt < this.#retries && (await this.#backoff(attempt, undefined, ctx.signal))
          ) continue;
          const host = (e as TransportError & { host?: string }).host ?? ctx.host;
          throw new SigwardError(
            'REGISTRY_UNREACHABLE',
            `registry unreachable: ${host}: ${describeTransportError(e)}`,
            {
              cause: e,
              detail: { host, code: e.code },
            },
          );
        }
        throw e;
      }
      if (RETRY_STATUS.has(res.status) && attempt < this.#retries) {
        const ra = res.status === 429 || res.status === 503
          ? parseRetryAfter(header(res.headers, 'retry-after'))
          : undefined;
        this.options.logger?.debug({ status: res.status, attempt, retryAfterMs: ra }, 'registry retry');
        if (await this.#backoff(attempt, ra, ctx.signal)) continue;
      }
      return { res, retried: attempt };
    }
  }

  async #send(ctx: Ctx, req: Req): Promise<Sent> {
    const r = { ...req, signal: ctx.signal };
    return this.#withRetries(ctx, req.what, () => this.#sendOnce(ctx, r));
  }

  /** One request with authentication (answering one 401 challenge) and redirects. */
  async #sendOnce(ctx: Ctx, req: Req): Promise<HttpResponse> {
    let authz = await this.#authorization(ctx, false);
    let res = await this.#toRegistry(ctx, req, authz);
    if (res.status === 401) {
      const ch = pickChallenge(parseWwwAuthenticate(res.headers['www-authenticate']));
      if (ch) {
        this.#challenges.set(ctx.host, ch);
        const next = await this.#authorization(ctx, true, ch.params.scope);
        if (next !== undefined && next !== authz) {
          authz = next;
          res = await this.#toRegistry(ctx, req, authz);
        }
      }
    }
    if (!req.followRedirects) return res;
    for (let hops = 0; REDIRECT_STATUS.has(res.status); hops++) {
      const loc = header(res.headers, 'location');
      if (!loc) break;
      if (hops >= 5) throw new SigwardError('REGISTRY_ERROR', `${req.what}: too many redirects`);
      const next = new URL(loc, res.url);
      if (next.protocol !== 'https:' && next.protocol !== 'http:') {
        throw new SigwardError('REGISTRY_ERROR', `${req.what}: refusing redirect to ${next.protocol} URL`);
      }
      if (next.protocol === 'http:' && res.url.protocol === 'https:' && !this.#httpAllowed(next.host)) {
        throw new SigwardError(
          'REGISTRY_ERROR',
          `${req.what}: refusing redirect from https to plain http (${next.host})`,
        );
      }
      const keepAuth = next.host === ctx.host;
      res = await this.#http(
        next,
        { ...req, method: req.method === 'HEAD' ? 'HEAD' : 'GET', body: undefined },
        keepAuth ? authz : undefined,
      );
    }
    return res;
  }

  /** Sends to the registry host, choosing https or (when allowed) http. */
  async #toRegistry(ctx: Ctx, req: Req, authz: string | undefined): Promise<HttpResponse> {
    const known = this.#schemes.get(ctx.host);
    const scheme = known ?? 'https';
    const url = new URL(req.path, `${scheme}://${ctx.host}`);
    const sameHost = url.host === new URL(`${scheme}://${ctx.host}`).host;
    try {
      const res = await this.#http(url, req, sameHost ? authz : undefined);
      if (!known) this.#schemes.set(ctx.host, scheme);
      return res;
    } catch (e) {
      if (!known && e instanceof TransportError && isNotTlsError(e) && this.#httpAllowed(ctx.host)) {
        this.options.logger?.debug({ host: ctx.host }, 'registry does not speak TLS; using plain http');
        this.#schemes.set(ctx.host, 'http');
        return this.#http(new URL(req.path, `http://${ctx.host}`), req, sameHost ? authz : undefined);
      }
      throw e;
    }
  }

  async #http(url: URL, req: Req, authz: string | undefined): Promise<HttpResponse> {
    const headers: Record<string, string> = {
      'User-Agent': this.options.userAgent ?? DEFAULT_USER_AGENT,
      ...req.headers,
    };
    if (authz) headers.Authorization = authz;
    const agent = url.protocol === 'http:'
      ? this.#agents.http
      : this.#skipVerify(url.host)
      ? this.#agents.httpsInsecure
      : this.#agents.https;
    const signal = this.#signal(req.signal);
    let release: () => void;
    try {
      release = await this.#connections.acquire(signal, [`${url.protocol}//${url.host}`]);
    } catch (e) {
      const err = signal?.aborted ? abortError(signal) : new TransportError('EUNKNOWN', (e as Error).message, e);
      (err as TransportError & { host?: string }).host = url.host;
      throw err;
    }
    const t0 = Date.now();
    try {
      const res = await httpRequest({
        method: req.method,
        url,
        headers,
        body: req.body,
        agent,
        timeoutMs: this.#timeoutMs,
        signal,
        maxBytes: req.maxBytes,
        truncate: req.truncate || req.method === 'HEAD',
      });
      this.options.logger?.debug(
        { method: req.method, url: `${url.origin}${url.pathname}`, status: res.status, ms: Date.now() - t0 },
        'registry request',
      );
      res.authSent = authz !== undefined;
      return res;
    } catch (e) {
      if (e instanceof TransportError) (e as TransportError & { host?: string }).host = url.host;
      throw e;
    } finally {
      release();
    }
  }

  #signal(user: AbortSignal | undefined): AbortSignal | undefined {
    const d = this.options.deadline;
    const signals: AbortSignal[] = [];
    if (user) signals.push(user);
    if (d !== undefined) signals.push(AbortSignal.timeout(Math.max(0, d - Date.now())));
    if (signals.length === 0) return undefined;
    return signals.length === 1 ? signals[0] : AbortSignal.any(signals);
  }

  async #credential(ctx: Ctx): Promise<Credential | undefined> {
    const provider = this.options.credentials;
    if (!provider) return undefined;
    const key = `${ctx.registry}/${ctx.repository}`;
    const hit = this.#creds.get(key);
    // a credential helper has its own timeout; a request that gives up meanwhile does not wait for it
    if (hit && Date.now() - hit.at < 60_000) return raceAbort(hit.value, ctx.signal);
    const value = provider(ctx.registry, ctx.repository);
    this.#creds.set(key, { at: Date.now(), value });
    value.catch(() => this.#creds.get(key)?.value === value && this.#creds.delete(key));
    return raceAbort(value, ctx.signal);
  }

  /** The Authorization header for the host's known challenge (undefined: send none). */
  async #authorization(ctx: Ctx, fresh: boolean, challengeScope?: string): Promise<string | undefined> {
    const ch = this.#challenges.get(ctx.host);
    if (!ch) return undefined;
    const cred = await this.#credential(ctx);
    if (ch.scheme === 'basic') {
      return cred && 'username' in cred ? basicAuthorization(cred.username, cred.password) : undefined;
    }
    if (cred && 'registryToken' in cred) return `Bearer ${cred.registryToken}`;
    const scopes = mergeScopes([
      repositoryScope(ctx.repository, ctx.push),
      ...(challengeScope ? [challengeScope] : []),
    ]);
    const key = TokenCache.key(ctx.host, scopes);
    if (!fresh) {
      const cached = this.#tokens.get(key);
      if (cached) return `Bearer ${cached}`;
    } else {
      this.#tokens.delete(key);
    }
    // one token fetch for every request that needs it; a request that gives up
    // leaves it to the others, and it is aborted when none waits any more
    if (ctx.signal?.aborted) throw toAbandonedError(ctx.signal);
    let w = this.#inflightTokens.get(key);
    if (!w || w.abandoned) {
      const work = shareWork((signal) => this.#fetchToken({ ...ctx, signal }, ch, scopes, cred));
      work.promise.then(
        () => this.#inflightTokens.get(key) === work && this.#inflightTokens.delete(key),
        () => this.#inflightTokens.get(key) === work && this.#inflightTokens.delete(key),
      );
      this.#inflightTokens.set(key, w = work);
    }
    return `Bearer ${await w.join(ctx.signal)}`;
  }

  async #fetchToken(ctx: Ctx, ch: Challenge, scopes: string[], cred: Credential | undefined): Promise<string> {
    const realm = ch.params.realm;
    let url: URL;
    try {
      url = new URL(realm ?? '');
    } catch {
      throw new SigwardError(
        'REGISTRY_ERROR',
        `registry ${ctx.registry} sent a bearer challenge without a valid realm`,
      );
    }
    if (url.protocol !== 'https:' && url.protocol !== 'http:') {
      throw new SigwardError(
        'REGISTRY_ERROR',
        `registry ${ctx.registry}: unsupported token realm scheme ${url.protocol}`,
      );
    }
    if (url.protocol === 'http:' && cred && !this.#httpAllowed(url.host)) {
      throw new SigwardError(
        'REGISTRY_UNAUTHORIZED',
        `registry ${ctx.registry}: refusing to send credentials to a plain-http token realm (${url.host})`,
      );
    }
    const service = ch.params.service;
    const what = `token for ${ctx.registry}/${ctx.repository}`;
    let res: HttpResponse;
    let retried = 0;
    const getToken = async (basic: string | undefined): Promise<Sent> => {
      const u = new URL(url);
      if (service) u.searchParams.set('service', service);
      for (const s of scopes) u.searchParams.append('scope', s);
      return this.#withRetries(
        ctx,
        what,
        () =>
          this.#http(u, {
            method: 'GET',
            path: u.href,
            maxBytes: 1024 * 1024,
            what,
            headers: { Accept: 'application/json' },
            signal: ctx.signal,
          }, basic),
      );
    };
    if (cred && 'identityToken' in cred) {
      const form = new URLSearchParams({
        grant_type: 'refresh_token',
        refresh_token: cred.identityToken,
        client_id: 'sigward',
      });
      if (service) form.set('service', service);
      form.set('scope', scopes.join(' '));
      const sent = await this.#withRetries(ctx, what, () =>
        this.#http(
          url,
          {
            method: 'POST',
            path: url.href,
            headers: { 'Content-Type': 'application/x-www-form-urlencoded', Accept: 'application/json' },
            body: new TextEncoder().encode(form.toString()),
            maxBytes: 1024 * 1024,
            what,
            signal: ctx.signal,
          },
          undefined,
        ));
      ({ res, retried } = sent);
      if (res.status === 404 || res.status === 405) ({ res, retried } = await getToken(undefined));
    } else {
      ({ res, retried } = await getToken(
        cred && 'username' in cred ? basicAuthorization(cred.username, cred.password) : undefined,
      ));
    }
    if (res.status !== 200) {
      if (res.status === 401 || res.status === 403) {
        throw new SigwardError(
          'REGISTRY_UNAUTHORIZED',
          `unauthorized: token server ${url.host} refused ${
            cred ? 'the credentials' : 'anonymous access'
          } for ${ctx.registry}/${ctx.repository} (${res.status})`,
          { detail: { registry: ctx.registry, status: res.status } },
        );
      }
      throw this.#statusError(ctx, res, what, 'token', retried);
    }
    const tr = toTokenResponse(parseJson(res.body, what));
    if (!tr) throw new SigwardError('REGISTRY_ERROR', `${what}: token server answered without a token`);
    this.#tokens.set(TokenCache.key(ctx.host, scopes), tr);
    return tr.token;
  }

  #statusError(
    ctx: Ctx,
    res: HttpResponse,
    what: string,
    kind: 'manifest' | 'blob' | 'repository' | 'upload' | 'token',
    retried: number,
  ): SigwardError {
    const errs = registryErrors(res.body);
    const summary = errs.length
      ? errs.map((e) => `${e.code}: ${e.message}`).join('; ')
      : `${res.status} ${res.statusText}`.trim();
    const detail = { registry: ctx.registry, repository: ctx.repository, status: res.status, errors: errs };
    const mk = (code: ErrorCode, msg: string): SigwardError => new SigwardError(code, msg, { detail });
    const name = `${ctx.registry}/${ctx.repository}`;
    switch (true) {
      case res.status === 401 || res.status === 403: {
        const hint = !this.options.credentials
          ? '; no registry credentials configured'
          : res.authSent
          ? '; the credentials were rejected or lack permission'
          : `; no credentials found for ${ctx.registry}`;
        return mk('REGISTRY_UNAUTHORIZED', `unauthorized: access to ${name} denied (${summary})${hint}`);
      }
      case res.status === 404: {
        const codes = errs.map((e) => e.code);
        if (kind === 'blob' || codes.includes('BLOB_UNKNOWN')) {
          return mk('BLOB_UNKNOWN', `blob unknown: ${what.replace(/^blob /, '')} not found`);
        }
        if (kind === 'repository' || (codes.includes('NAME_UNKNOWN') && kind !== 'manifest')) {
          return mk('MANIFEST_UNKNOWN', `repository unknown: ${name} not found`);
        }
        if (kind === 'manifest') {
          return mk('MANIFEST_UNKNOWN', `manifest unknown: ${what.replace(/^manifest /, '')} not found`);
        }
        return mk('REGISTRY_ERROR', `${what}: ${summary}`);
      }
      case res.status === 429:
        return mk(
          'REGISTRY_RATE_LIMITED',
          `registry rate limit exceeded: ${ctx.registry} answered 429 to ${what}${
            retried ? ` after ${retried} retries` : ''
          }`,
        );
      case res.status >= 500:
        return mk(
          'REGISTRY_ERROR',
          `registry error: ${ctx.registry} answered ${summary} to ${what}${retried ? ` after ${retried} retries` : ''}`,
        );
      default:
        return mk('REGISTRY_ERROR', `registry error: unexpected answer to ${what}: ${summary}`);
    }
  }
}

function refString(ctx: Ctx, ref: string): string {
  return `${ctx.registry}/${ctx.repository}${isDigest(ref) ? '@' : ':'}${ref}`;
}

function checkReference(ref: string): void {
  if (isDigest(ref) || TAG_RE.test(ref)) return;
  if (ref.includes(':')) parseDigest(ref);
  throw new SigwardError('REFERENCE_INVALID', `invalid tag or digest ${JSON.stringify(ref)}`);
}

function parseJson(bytes: Uint8Array, what: string): unknown {
  try {
    return JSON.parse(new TextDecoder().decode(bytes));
  } catch (e) {
    throw new SigwardError('REGISTRY_ERROR', `${what}: registry answered with invalid JSON`, { cause: e });
  }
}

/** `{"errors":[{"code","message"}]}` from an error body (empty when absent). */
export function registryErrors(body: Uint8Array): Array<{ code: string; message: string }> {
  try {
    const o = JSON.parse(new TextDecoder().decode(body)) as { errors?: Array<{ code?: unknown; message?: unknown }> };
    if (!Array.isArray(o.errors)) return [];
    return o.errors.map((e) => ({ code: String(e.code ?? ''), message: String(e.message ?? '').slice(0, 300) }));
  } catch {
    return [];
  }
}

/** Path+query of the `Link: <...>; rel="next"` target, resolved against the response URL. */
export function nextLink(res: HttpResponse): string | undefined {
  const link = res.headers.link;
  const values = Array.isArray(link) ? link : link ? [link] : [];
  for (const v of values) {
    for (const part of v.split(/,(?=\s*<)/)) {
      const m = /^\s*<([^>]*)>(.*)$/.exec(part);
      if (m && /;\s*rel="?next"?/i.test(m[2]!)) {
        const u = new URL(m[1]!, res.url);
        return `${u.pathname}${u.search}`;
      }
    }
  }
  return undefined;
}

/** The descriptor a referrers listing shows for a manifest. */
export function referrerDescriptor(
  desc: Descriptor,
  manifest: { artifactType?: string; config?: Descriptor; annotations?: Record<string, string> },
): Descriptor {
  const artifactType = manifest.artifactType ??
    (manifest.config && manifest.config.mediaType !== MEDIA_TYPES.ociEmpty ? manifest.config.mediaType : undefined);
  return {
    mediaType: desc.mediaType,
    digest: desc.digest,
    size: desc.size,
    ...(artifactType ? { artifactType } : {}),
    ...(manifest.annotations ? { annotations: manifest.annotations } : {}),
  };
}
