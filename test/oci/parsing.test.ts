// Pure parts: WWW-Authenticate parsing, scopes, token responses, manifest parsing,
// platform selection, digests, Link headers, store factory, signature repository override.

import t from 'tap';
import { mergeScopes, TokenCache, toTokenResponse } from '../../lib/oci/auth.ts';
import {
  apiHost,
  computeDigest,
  digestTag,
  isLoopbackHost,
  LayoutStore,
  MEDIA_TYPES,
  openStore,
  parsePlatform,
  parseWwwAuthenticate,
  RegistryClient,
  selectPlatform,
  signatureRepository,
  toManifest,
  verifyDigest,
} from '../../lib/oci/index.ts';
import type { ImageIndex } from '../../lib/oci/index.ts';
import { nextLink } from '../../lib/oci/registry.ts';
import type { HttpResponse } from '../../lib/oci/transport.ts';
import { parseRetryAfter } from '../../lib/oci/transport.ts';
import { enc } from './util.ts';

t.test('WWW-Authenticate', async (t) => {
  t.same(
    parseWwwAuthenticate(
      'Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/nginx:pull"',
    ),
    [
      {
        scheme: 'bearer',
        params: {
          realm: 'https://auth.docker.io/token',
          service: 'registry.docker.io',
          scope: 'repository:library/nginx:pull',
        },
      },
    ],
  );
  t.same(parseWwwAuthenticate('Basic realm="Registry Realm"'), [{
    scheme: 'basic',
    params: { realm: 'Registry Realm' },
  }]);
  t.same(
    parseWwwAuthenticate('Basic realm="a, b", Bearer realm="https://x/token", service=svc, error="invalid_token"'),
    [
      { scheme: 'basic', params: { realm: 'a, b' } },
      { scheme: 'bearer', params: { realm: 'https://x/token', service: 'svc', error: 'invalid_token' } },
    ],
  );
  t.same(parseWwwAuthenticate(['Negotiate', 'BEARER Realm="r\\"q"']), [
    { scheme: 'negotiate', params: {} },
    { scheme: 'bearer', params: { realm: 'r"q' } },
  ]);
  t.same(
    parseWwwAuthenticate('Bearer realm="https://x/t",scope="repository:a/b:pull,push repository:c:pull"')[0]!.params
      .scope,
    'repository:a/b:pull,push repository:c:pull',
  );
  t.same(parseWwwAuthenticate('Negotiate abc123=='), [{ scheme: 'negotiate', params: { '': 'abc123==' } }]);
  t.same(parseWwwAuthenticate(undefined), []);
  t.same(parseWwwAuthenticate(''), []);
});

t.test('scopes and tokens', async (t) => {
  t.same(mergeScopes(['repository:a:pull', 'repository:a:push', 'repository:b:pull']), [
    'repository:a:pull,push',
    'repository:b:pull',
  ]);
  t.same(mergeScopes(['repository:a:pull', 'repository:a:pull repository:c:pull']), [
    'repository:a:pull',
    'repository:c:pull',
  ]);
  t.same(mergeScopes(['repository:host:5000/a:pull']), ['repository:host:5000/a:pull']);
  const now = 1_000_000;
  t.same(toTokenResponse({ token: 'x' }, now), { token: 'x', expiresAt: now + 54_000 }, 'default 60 s minus margin');
  t.same(toTokenResponse({ access_token: 'y', expires_in: 300 }, now), { token: 'y', expiresAt: now + 270_000 });
  t.equal(toTokenResponse({}, now), undefined);
  let clock = now;
  const cache = new TokenCache(() => clock);
  const key = TokenCache.key('h', ['b', 'a']);
  t.equal(key, TokenCache.key('h', ['a', 'b']));
  cache.set(key, toTokenResponse({ token: 'z', expires_in: 60 }, now)!);
  t.equal(cache.get(key), 'z');
  clock = now + 59_000;
  t.equal(cache.get(key), undefined, 'expired before the server says so');
});

t.test('manifests', async (t) => {
  const desc = { mediaType: MEDIA_TYPES.ociConfig, digest: computeDigest(enc({})), size: 2 };
  const m = toManifest(enc({ schemaVersion: 2, config: desc, layers: [] }));
  t.equal(m.mediaType, MEDIA_TYPES.ociManifest, 'inferred');
  t.equal(toManifest(enc({ schemaVersion: 2, manifests: [] })).mediaType, MEDIA_TYPES.ociIndex);
  t.equal(
    toManifest(enc({ schemaVersion: 2, config: desc, layers: [] }), `${MEDIA_TYPES.dockerManifest}; charset=utf-8`)
      .mediaType,
    MEDIA_TYPES.dockerManifest,
  );
  const bad: Array<[unknown, RegExp]> = [
    [{ schemaVersion: 1, fsLayers: [] }, /schema 1/],
    [{ schemaVersion: 3 }, /schemaVersion/],
    [{ schemaVersion: 2, mediaType: MEDIA_TYPES.ociManifest, layers: [] }, /config/],
    [
      { schemaVersion: 2, mediaType: MEDIA_TYPES.ociManifest, config: { ...desc, digest: 'sha256:xyz' }, layers: [] },
      /invalid digest/,
    ],
    [{ schemaVersion: 2, mediaType: MEDIA_TYPES.ociIndex }, /manifests array/],
    [{ schemaVersion: 2, mediaType: 'text/plain', manifests: [] }, /unsupported manifest media type/],
    [{ schemaVersion: 2, config: desc, layers: [{ ...desc, size: -1 }] }, /invalid size/],
    [[1], /not a JSON object/],
  ];
  for (const [o, re] of bad) {
    t.throws(() => toManifest(enc(o)), { code: 'MANIFEST_INVALID', message: re }, JSON.stringify(o));
  }
  t.throws(() => toManifest(new Uint8Array([0xff, 0xfe])), { code: 'MANIFEST_INVALID' });
  t.throws(
    () =>
      toManifest(
        enc({ schemaVersion: 2, config: desc, layers: [] }),
        'application/vnd.docker.distribution.manifest.v1+prettyjws',
      ),
    { message: /schema 1/ },
  );
});

t.test('platform selection', async (t) => {
  const d = (n: number, platform?: object, annotations?: Record<string, string>) => ({
    mediaType: MEDIA_TYPES.ociManifest,
    digest: computeDigest(enc(n)),
    size: n,
    ...(platform ? { platform } : {}),
    ...(annotations ? { annotations } : {}),
  });
  const index = {
    schemaVersion: 2,
    manifests: [
      d(1, { os: 'unknown', architecture: 'unknown' }, { 'vnd.docker.reference.type': 'attestation-manifest' }),
      d(2, { os: 'linux', architecture: 'arm', variant: 'v6' }),
      d(3, { os: 'linux', architecture: 'arm', variant: 'v7' }),
      d(4, { os: 'linux', architecture: 'amd64' }),
      d(5, { os: 'linux', architecture: 'arm64' }),
      d(6, { os: 'windows', architecture: 'amd64', 'os.version': '10.0.17763.1' }),
      d(7),
    ],
  } as ImageIndex;
  t.equal(selectPlatform(index)?.size, 4);
  t.equal(selectPlatform(index, { os: 'linux', architecture: 'x86_64' })?.size, 4);
  t.equal(selectPlatform(index, { architecture: 'arm64', variant: 'v8' })?.size, 5);
  t.equal(selectPlatform(index, { architecture: 'arm' })?.size, 3, 'arm defaults to v7');
  t.equal(selectPlatform(index, { architecture: 'arm', variant: 'v6' })?.size, 2);
  t.equal(selectPlatform(index, { os: 'windows' })?.size, 6);
  t.equal(selectPlatform(index, { architecture: 'riscv64' }), undefined);
  t.same(parsePlatform('linux/arm64/v8'), { os: 'linux', architecture: 'arm64', variant: 'v8' });
  t.same(parsePlatform('linux/amd64'), { os: 'linux', architecture: 'amd64' });
  t.throws(() => parsePlatform('linux'), { code: 'REFERENCE_INVALID' });
});

t.test('digests, hosts, headers', async (t) => {
  const b = enc('hello');
  const dg = computeDigest(b);
  t.doesNotThrow(() => verifyDigest(b, dg));
  t.throws(() => verifyDigest(enc('hellO'), dg), { code: 'CONTENT_DIGEST_MISMATCH' });
  t.doesNotThrow(() => verifyDigest(b, computeDigest(b, 'sha512')));
  t.throws(() => verifyDigest(b, 'md5:abc'), { code: 'REFERENCE_INVALID' });
  t.equal(digestTag(dg, 'sig'), `sha256-${dg.slice(7)}.sig`);
  t.equal(apiHost('docker.io'), 'registry-1.docker.io');
  t.equal(apiHost('index.docker.io'), 'registry-1.docker.io');
  t.equal(apiHost('ghcr.io'), 'ghcr.io');
  for (const h of ['localhost', 'localhost:5000', 'reg.localhost:80', '127.0.0.1:1', '127.1.2.3', '[::1]:5000']) {
    t.ok(isLoopbackHost(h), h);
  }
  for (const h of ['example.com', '10.0.0.1:5000', 'localhost.example.com', '128.0.0.1']) t.notOk(isLoopbackHost(h), h);
  t.equal(parseRetryAfter('3'), 3000);
  t.equal(parseRetryAfter(new Date(Date.now() + 5000).toUTCString(), Date.now()) !== undefined, true);
  t.equal(parseRetryAfter('soon'), undefined);
  const res = (link: string): HttpResponse => ({
    status: 200,
    statusText: '',
    headers: { link },
    body: new Uint8Array(),
    url: new URL('http://r/v2/a/tags/list?n=2'),
  });
  t.equal(nextLink(res('</v2/a/tags/list?n=2&last=b>; rel="next"')), '/v2/a/tags/list?n=2&last=b');
  t.equal(nextLink(res('<https://r/v2/a/tags/list?last=c>; rel=next')), '/v2/a/tags/list?last=c');
  t.equal(nextLink(res('</x>; rel="prev"')), undefined);
});

t.test('openStore and signatureRepository', async (t) => {
  const opts = { retries: 1 };
  const a = openStore({ transport: 'registry' }, opts);
  t.ok(a instanceof RegistryClient);
  t.equal(openStore({ transport: 'registry' }, opts), a, 'one client per options object');
  t.not(openStore({ transport: 'registry' }, { retries: 1 }), a);
  t.equal(openStore({ transport: 'registry' }), openStore({ transport: 'registry' }), 'default options share a client');
  t.ok(openStore({ transport: 'oci-layout' }) instanceof LayoutStore);
  (a as RegistryClient).close();

  const img = { transport: 'registry' as const, registry: 'ghcr.io', repository: 'org/app' };
  t.same(signatureRepository(img), img);
  t.same(signatureRepository(img, ''), img);
  t.same(signatureRepository(img, 'registry.example.com:5000/sigs/app'), {
    transport: 'registry',
    registry: 'registry.example.com:5000',
    repository: 'sigs/app',
  });
  t.same(signatureRepository(img, 'myorg/sigs'), {
    transport: 'registry',
    registry: 'docker.io',
    repository: 'myorg/sigs',
  });
  t.same(signatureRepository(img, 'sigs'), {
    transport: 'registry',
    registry: 'docker.io',
    repository: 'library/sigs',
  });
  t.same(signatureRepository(img, 'localhost/sigs'), {
    transport: 'registry',
    registry: 'localhost',
    repository: 'sigs',
  });
  t.same(signatureRepository(img, 'oci:/tmp/sigs'), { transport: 'oci-layout', registry: '/tmp/sigs', repository: '' });
  for (const bad of ['ghcr.io/org/app:tag', 'ghcr.io/org/app@sha256:abc', 'ghcr.io/Org/App', 'a b']) {
    t.throws(() => signatureRepository(img, bad), { code: 'REFERENCE_INVALID' }, bad);
  }
});
