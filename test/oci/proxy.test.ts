// The registry client facing a hostile or flaky server: a small proxy in front of the real
// docker-registry rewrites bodies, injects 5xx/429/resets, redirects blobs, paginates.

import t from 'tap';
import { computeDigest, MEDIA_TYPES, RegistryClient } from '../../lib/oci/index.ts';
import type { ImageManifest, RepositoryRef } from '../../lib/oci/index.ts';
import { pushImageDetailed, withRegistry } from '../helpers/registry.ts';
import { type Fault, type FaultProxy, forwardTo, rewriting, startFaultProxy, startServer } from '../helpers/proxy.ts';
import { enc, rejectsCode } from './util.ts';

t.test('through a proxy', async (t) => {
  const reg = await withRegistry(t);
  const direct = new RegistryClient();
  t.teardown(() => direct.close());
  const proxy: FaultProxy = await startFaultProxy(reg.url);
  t.teardown(() => proxy.stop());
  const repoVia = (name: string): RepositoryRef => ({ transport: 'registry', registry: proxy.host, repository: name });
  const img = await pushImageDetailed(direct, reg.ref('app/img'), { tag: 'v1' });
  const fast = { retries: 3, retryBaseMs: 5 };

  t.beforeEach(() => {
    proxy.rule = undefined;
    proxy.log.length = 0;
    proxy.requests.length = 0;
  });

  t.test('a lying registry: rewritten manifest body is detected', async (t) => {
    const client = new RegistryClient(fast);
    t.teardown(() => client.close());
    const forged: ImageManifest = { ...img.manifest, annotations: { evil: 'yes' } };
    const forgedBytes = Buffer.from(JSON.stringify(forged));
    proxy.rule = rewriting((req, up) =>
      req.url.pathname.includes('/manifests/') && req.method === 'GET' ? { ...up, body: forgedBytes } : up
    );
    // by digest: content must hash to the digest asked for
    await rejectsCode(
      t,
      client.getManifest(repoVia('app/img'), img.digest),
      'CONTENT_DIGEST_MISMATCH',
      /digest mismatch/,
    );
    // by tag: the body must match the registry's own Docker-Content-Digest
    await rejectsCode(t, client.getManifest(repoVia('app/img'), 'v1'), 'CONTENT_DIGEST_MISMATCH');
    // a consistent liar (header rewritten too) is caught as soon as a digest is pinned
    proxy.rule = rewriting((req, up) => {
      if (!req.url.pathname.includes('/manifests/') || req.method !== 'GET') return up;
      return {
        ...up,
        body: forgedBytes,
        headers: { ...up.headers, 'docker-content-digest': computeDigest(forgedBytes) },
      };
    });
    const byTag = await client.getManifest(repoVia('app/img'), 'v1');
    t.equal(byTag.descriptor.digest, computeDigest(forgedBytes), 'tag fetch reports the digest of what was served');
    t.not(byTag.descriptor.digest, img.digest);
    await rejectsCode(t, client.getManifest(repoVia('app/img'), img.digest), 'CONTENT_DIGEST_MISMATCH');
    // HEAD lies about the digest of a digest reference
    proxy.rule = rewriting((req, up) =>
      req.method === 'HEAD'
        ? { ...up, headers: { ...up.headers, 'docker-content-digest': computeDigest(forgedBytes) } }
        : up
    );
    await rejectsCode(t, client.resolve(repoVia('app/img'), img.digest), 'CONTENT_DIGEST_MISMATCH');
  });

  t.test('a lying registry: rewritten blob is detected', async (t) => {
    const client = new RegistryClient(fast);
    t.teardown(() => client.close());
    proxy.rule = rewriting((req, up) => {
      if (!req.url.pathname.includes('/blobs/')) return up;
      const b = Buffer.from(up.body);
      b[0] = b[0]! ^ 0xff;
      return { ...up, body: b };
    });
    const layer = img.layers[0]!;
    await rejectsCode(
      t,
      client.getBlob(repoVia('app/img'), layer.digest, { size: layer.size }),
      'CONTENT_DIGEST_MISMATCH',
      /blob .* digest mismatch/,
    );
  });

  t.test('retry on 503 then success; 429 honours Retry-After', async (t) => {
    const client = new RegistryClient(fast);
    t.teardown(() => client.close());
    let n = 0;
    proxy.rule = () => (n++ < 2 ? { kind: 'respond', status: 503, body: 'busy' } : undefined);
    const m = await client.getManifest(repoVia('app/img'), img.digest);
    t.equal(m.descriptor.digest, img.digest);
    t.equal(proxy.log.length, 3, 'two 503 answers, then the real one');

    n = 0;
    proxy.log.length = 0;
    proxy.rule = () => (n++ < 1 ? { kind: 'respond', status: 429, headers: { 'Retry-After': '1' } } : undefined);
    const t0 = Date.now();
    await client.getBlob(repoVia('app/img'), img.config.digest);
    t.ok(Date.now() - t0 >= 900, `waited ${Date.now() - t0} ms for Retry-After: 1`);
    t.equal(proxy.log.length, 2);
  });

  t.test('persistent 429 -> REGISTRY_RATE_LIMITED, 500 -> REGISTRY_ERROR', async (t) => {
    const client = new RegistryClient({ retries: 2, retryBaseMs: 1 });
    t.teardown(() => client.close());
    proxy.rule = () => ({
      kind: 'respond',
      status: 429,
      body: '{"errors":[{"code":"TOOMANYREQUESTS","message":"slow down"}]}',
    });
    const e = await rejectsCode(
      t,
      client.getManifest(repoVia('app/img'), 'v1'),
      'REGISTRY_RATE_LIMITED',
      /after 2 retries/,
    );
    t.equal(e.outcome, 'undecided');
    t.equal(proxy.log.length, 3);
    proxy.rule = () => ({ kind: 'respond', status: 500, body: 'oops' });
    await rejectsCode(t, client.getManifest(repoVia('app/img'), 'v1'), 'REGISTRY_ERROR', /500/);
    proxy.rule = () => ({ kind: 'respond', status: 418, body: '{"errors":[{"code":"DENIED","message":"teapot"}]}' });
    await rejectsCode(t, client.getManifest(repoVia('app/img'), 'v1'), 'REGISTRY_ERROR', /DENIED: teapot/);
  });

  t.test('connection reset is retried', async (t) => {
    const client = new RegistryClient(fast);
    t.teardown(() => client.close());
    let n = 0;
    proxy.rule = () => (n++ < 1 ? { kind: 'reset' } : undefined);
    const m = await client.getManifest(repoVia('app/img'), 'v1');
    t.equal(m.descriptor.digest, img.digest);
    t.equal(n, 2);
    n = -100;
    const none = new RegistryClient({ retries: 0 });
    t.teardown(() => none.close());
    await rejectsCode(
      t,
      none.getManifest(repoVia('app/img'), 'v1'),
      'REGISTRY_UNREACHABLE',
      /connection reset|socket hang up/,
    );
  });

  t.test('timeouts and deadline', async (t) => {
    proxy.rule = () => ({ kind: 'delay', ms: 600, then: { kind: 'respond', status: 200, body: '{}' } });
    const slow = new RegistryClient({ timeoutMs: 150, retries: 0 });
    t.teardown(() => slow.close());
    await rejectsCode(t, slow.getManifest(repoVia('app/img'), 'v1'), 'REGISTRY_UNREACHABLE', /timed out after 150 ms/);
    const dl = new RegistryClient({ deadline: Date.now() + 150 });
    t.teardown(() => dl.close());
    await rejectsCode(t, dl.getManifest(repoVia('app/img'), 'v1'), 'REGISTRY_UNREACHABLE', /deadline exceeded/);
    const ac = new AbortController();
    const c = new RegistryClient();
    t.teardown(() => c.close());
    setTimeout(() => ac.abort(), 100);
    await rejectsCode(
      t,
      c.getManifest(repoVia('app/img'), 'v1', { signal: ac.signal }),
      'REGISTRY_UNREACHABLE',
      /aborted/,
    );
  });

  t.test('HEAD without Docker-Content-Digest: resolve falls back to GET and hashes', async (t) => {
    const client = new RegistryClient(fast);
    t.teardown(() => client.close());
    proxy.rule = rewriting((req, up) => {
      if (req.method !== 'HEAD') return up;
      const headers = { ...up.headers };
      delete headers['docker-content-digest'];
      return { ...up, headers };
    });
    const d = await client.resolve(repoVia('app/img'), 'v1');
    t.same(d, { mediaType: MEDIA_TYPES.ociManifest, digest: img.digest, size: img.bytes.byteLength });
    t.same(proxy.log.map((l) => l.split(' ')[0]), ['HEAD', 'GET']);
  });

  t.test('schema1 answer is refused', async (t) => {
    const client = new RegistryClient(fast);
    t.teardown(() => client.close());
    proxy.rule = () => ({
      kind: 'respond',
      status: 200,
      headers: { 'Content-Type': 'application/vnd.docker.distribution.manifest.v1+prettyjws' },
      body: JSON.stringify({ schemaVersion: 1, name: 'app/img', tag: 'v1', fsLayers: [], history: [] }),
    });
    await rejectsCode(t, client.getManifest(repoVia('app/img'), 'v1'), 'MANIFEST_INVALID', /schema 1/);
  });

  t.test('tag pagination with n and Link (as registries that paginate do)', async (t) => {
    for (const tag of ['a', 'b', 'c', 'd']) {
      await direct.putManifest(reg.ref('app/img'), img.bytes, MEDIA_TYPES.ociManifest, tag);
    }
    proxy.rule = async ({ method, url, headers: h, body }): Promise<Fault | undefined> => {
      if (!url.pathname.endsWith('/tags/list')) return undefined;
      const up = await forwardTo(reg.url, method, url.pathname, h, body);
      const all = (JSON.parse(up.body.toString()) as { tags: string[] }).tags.sort();
      const n = Number(url.searchParams.get('n') ?? all.length);
      const last = url.searchParams.get('last');
      const rest = last ? all.filter((x) => x > last) : all;
      const page = rest.slice(0, n);
      const headers: Record<string, string> = { 'Content-Type': 'application/json' };
      if (rest.length > n) headers.Link = `<${url.pathname}?n=${n}&last=${page[page.length - 1]}>; rel="next"`;
      return { kind: 'respond', status: 200, headers, body: JSON.stringify({ name: 'app/img', tags: page }) };
    };
    const client = new RegistryClient({ ...fast, tagsPageSize: 2 });
    t.teardown(() => client.close());
    const tags = await client.listTags(repoVia('app/img'));
    t.same(tags, ['a', 'b', 'c', 'd', 'v1']);
    t.same(proxy.requests.map((r) => `${r.method} ${r.path}`), [
      'GET /v2/app/img/tags/list?n=2',
      'GET /v2/app/img/tags/list?n=2&last=b',
      'GET /v2/app/img/tags/list?n=2&last=d',
    ]);
  });

  t.test('referrers API when the registry has one (no fallback), paginated', async (t) => {
    const client = new RegistryClient(fast);
    t.teardown(() => client.close());
    const d1 = {
      mediaType: MEDIA_TYPES.ociManifest,
      digest: computeDigest(enc(1)),
      size: 1,
      artifactType: MEDIA_TYPES.sigstoreBundleV03,
    };
    const d2 = {
      mediaType: MEDIA_TYPES.ociManifest,
      digest: computeDigest(enc(2)),
      size: 2,
      artifactType: 'application/other',
    };
    proxy.rule = ({ url }) => {
      if (!url.pathname.includes('/referrers/')) return undefined;
      const second = url.searchParams.get('page') === '2';
      return {
        kind: 'respond',
        status: 200,
        headers: {
          'Content-Type': MEDIA_TYPES.ociIndex,
          ...(second ? {} : { Link: `<${url.pathname}?page=2>; rel="next"` }),
        },
        body: JSON.stringify({ schemaVersion: 2, mediaType: MEDIA_TYPES.ociIndex, manifests: second ? [d2] : [d1] }),
      };
    };
    t.same(await client.referrers(repoVia('app/img'), img.digest), [d1, d2]);
    t.same(await client.referrers(repoVia('app/img'), img.digest, { artifactType: 'application/other' }), [d2]);
    t.notOk(proxy.log.some((l) => l.includes('/manifests/sha256-')), 'tag schema not consulted');
  });

  t.test('blob redirect to storage: followed, Authorization dropped on another host', async (t) => {
    const seen: string[] = [];
    const storage = await startServer((req, res) => {
      seen.push(String(req.headers.authorization ?? ''));
      if (req.url === '/loop') {
        res.writeHead(302, { Location: '/loop' });
        res.end();
        return;
      }
      const digest = req.url!.slice(1);
      void forwardTo(reg.url, req.method ?? 'GET', `/v2/app/img/blobs/${digest}`, req.headers, Buffer.alloc(0)).then(
        (up) => {
          res.writeHead(up.status, { 'Content-Type': 'application/octet-stream' });
          res.end(up.body);
        },
      );
    });
    t.teardown(() => storage.stop());
    // the proxy demands basic auth (as a private registry would) and redirects blob GETs
    const good = `Basic ${Buffer.from('u:p').toString('base64')}`;
    let target = (digest: string): string => `${storage.url}/${digest}`;
    proxy.rule = (req): Fault | undefined => {
      if (req.headers.authorization !== good) {
        return { kind: 'respond', status: 401, headers: { 'WWW-Authenticate': 'Basic realm="test"' } };
      }
      const m = /\/blobs\/(sha256:[a-f0-9]+)$/.exec(req.url.pathname);
      if (m && req.method === 'GET') return { kind: 'respond', status: 307, headers: { Location: target(m[1]!) } };
      return undefined;
    };
    const client = new RegistryClient({ ...fast, credentials: async () => ({ username: 'u', password: 'p' }) });
    t.teardown(() => client.close());
    const layer = img.layers[0]!;
    const b = await client.getBlob(repoVia('app/img'), layer.digest, { size: layer.size });
    t.equal(computeDigest(b), layer.digest);
    t.same(seen, [''], 'storage host got no Authorization header');
    t.ok(proxy.requests.some((r) => r.headers.authorization === good), 'registry got the credentials');

    target = () => 'ftp://127.0.0.1/x';
    await rejectsCode(t, client.getBlob(repoVia('app/img'), layer.digest), 'REGISTRY_ERROR', /refusing redirect/);
    target = () => `${storage.url}/loop`;
    await rejectsCode(t, client.getBlob(repoVia('app/img'), layer.digest), 'REGISTRY_ERROR', /too many redirects/);
  });
});
