import t from 'tap';
import { SigwardError } from '../../lib/errors.ts';
import {
  type ImageReference,
  isValidReference,
  parseImageFromPodSpec,
  parseReference,
  type ParseReferenceOptions,
} from '../../lib/reference/index.ts';

const H64 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';
const H128 =
  'cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e';
const D = `sha256:${H64}`;

interface Ok {
  in: string;
  registry: string;
  repository: string;
  tag?: string;
  digest?: string;
  opts?: ParseReferenceOptions;
}

// Valid references and their normalised form (distribution ParseNormalizedNamed + TagNameOnly).
const valid: Ok[] = [
  { in: 'nginx', registry: 'docker.io', repository: 'library/nginx', tag: 'latest' },
  { in: 'nginx:1.25', registry: 'docker.io', repository: 'library/nginx', tag: '1.25' },
  { in: 'user/app', registry: 'docker.io', repository: 'user/app', tag: 'latest' },
  { in: 'user/app:v2', registry: 'docker.io', repository: 'user/app', tag: 'v2' },
  { in: 'docker.io/nginx', registry: 'docker.io', repository: 'library/nginx', tag: 'latest' },
  { in: 'docker.io/library/nginx', registry: 'docker.io', repository: 'library/nginx', tag: 'latest' },
  { in: 'docker.io/library/nginx:alpine', registry: 'docker.io', repository: 'library/nginx', tag: 'alpine' },
  { in: 'docker.io/user/app', registry: 'docker.io', repository: 'user/app', tag: 'latest' },
  { in: 'index.docker.io/x', registry: 'docker.io', repository: 'library/x', tag: 'latest' },
  { in: 'index.docker.io/user/x:1', registry: 'docker.io', repository: 'user/x', tag: '1' },
  // distribution leaves registry-1.docker.io alone
  { in: 'registry-1.docker.io/x', registry: 'registry-1.docker.io', repository: 'x', tag: 'latest' },
  { in: 'localhost/foo', registry: 'localhost', repository: 'foo', tag: 'latest' },
  { in: 'localhost:5000/a/b:tag', registry: 'localhost:5000', repository: 'a/b', tag: 'tag' },
  { in: '127.0.0.1:5000/x', registry: '127.0.0.1:5000', repository: 'x', tag: 'latest' },
  { in: '[::1]:5000/x', registry: '[::1]:5000', repository: 'x', tag: 'latest' },
  { in: '[2001:db8::1]/team/app:v1', registry: '[2001:db8::1]', repository: 'team/app', tag: 'v1' },
  { in: 'registry.example.com/a/b/c:v1', registry: 'registry.example.com', repository: 'a/b/c', tag: 'v1' },
  {
    in: 'ghcr.io/kyverno/test-verify-image:signed',
    registry: 'ghcr.io',
    repository: 'kyverno/test-verify-image',
    tag: 'signed',
  },
  {
    in: 'gcr.io/distroless/static-debian12:nonroot',
    registry: 'gcr.io',
    repository: 'distroless/static-debian12',
    tag: 'nonroot',
  },
  {
    in: '123456789012.dkr.ecr.eu-west-1.amazonaws.com/team/app:1.0.0',
    registry: '123456789012.dkr.ecr.eu-west-1.amazonaws.com',
    repository: 'team/app',
    tag: '1.0.0',
  },
  {
    in: 'my-registry.local:8443/a_b/c__d/e--f/g.h',
    registry: 'my-registry.local:8443',
    repository: 'a_b/c__d/e--f/g.h',
    tag: 'latest',
  },
  // uppercase in the first component makes it a registry (distribution)
  { in: 'Foo/bar', registry: 'Foo', repository: 'bar', tag: 'latest' },
  { in: 'REG.EXAMPLE.COM/x:TAG', registry: 'REG.EXAMPLE.COM', repository: 'x', tag: 'TAG' },
  // digest-only: no default tag
  { in: `nginx@${D}`, registry: 'docker.io', repository: 'library/nginx', digest: D },
  { in: `ghcr.io/a/b@${D}`, registry: 'ghcr.io', repository: 'a/b', digest: D },
  // tag and digest both kept
  { in: `repo:tag@${D}`, registry: 'docker.io', repository: 'library/repo', tag: 'tag', digest: D },
  { in: `localhost:5000/a:v1@${D}`, registry: 'localhost:5000', repository: 'a', tag: 'v1', digest: D },
  { in: `quay.io/a/b@sha512:${H128}`, registry: 'quay.io', repository: 'a/b', digest: `sha512:${H128}` },
  // a registry-less name with a port-like tag is a Docker Hub image (no '/')
  { in: 'localhost:5000', registry: 'docker.io', repository: 'library/localhost', tag: '5000' },
  { in: 'example.com:5000', registry: 'docker.io', repository: 'library/example.com', tag: '5000' },
  // `oci` is just an image name when layouts are not allowed
  { in: 'oci:1.0', registry: 'docker.io', repository: 'library/oci', tag: '1.0', opts: { allowLayout: false } },
  // tags: 128 chars max, may start with '_' or uppercase
  { in: `a:${'T'.repeat(128)}`, registry: 'docker.io', repository: 'library/a', tag: 'T'.repeat(128) },
  { in: 'a:_x.Y-z', registry: 'docker.io', repository: 'library/a', tag: '_x.Y-z' },
  // name of exactly 255 characters (docker.io/library/ counts)
  {
    in: 'a'.repeat(255 - 'docker.io/library/'.length),
    registry: 'docker.io',
    repository: `library/${'a'.repeat(237)}`,
    tag: 'latest',
  },
  // defaultRegistry (Kyverno ConfigMap)
  { in: 'nginx', registry: 'gcr.io', repository: 'nginx', tag: 'latest', opts: { defaultRegistry: 'gcr.io' } },
  {
    in: 'user/app',
    registry: 'mirror.local:5000',
    repository: 'user/app',
    tag: 'latest',
    opts: { defaultRegistry: 'mirror.local:5000' },
  },
  {
    in: 'nginx',
    registry: 'registry.example.com',
    repository: 'hub/nginx',
    tag: 'latest',
    opts: { defaultRegistry: 'registry.example.com/hub' },
  },
  { in: 'ghcr.io/a/b', registry: 'ghcr.io', repository: 'a/b', tag: 'latest', opts: { defaultRegistry: 'gcr.io' } },
  {
    in: 'nginx',
    registry: 'docker.io',
    repository: 'library/nginx',
    tag: 'latest',
    opts: { defaultRegistry: 'index.docker.io' },
  },
];

interface Bad {
  in: string;
  error: RegExp;
  opts?: ParseReferenceOptions;
}

const invalid: Bad[] = [
  { in: '', error: /at least one component/ },
  { in: 'NGINX', error: /must be lowercase/ },
  { in: 'user/App', error: /must be lowercase/ },
  { in: 'ghcr.io/Org/app', error: /must be lowercase/ },
  { in: 'localhost:5000/Foo', error: /must be lowercase/ },
  { in: H64, error: /64-byte hexadecimal/ },
  { in: 'a'.repeat(238), error: /not be more than 255 characters/ },
  { in: `registry.example.com/${'a/'.repeat(120)}b`, error: /not be more than 255 characters/ },
  { in: `a:${'t'.repeat(129)}`, error: /invalid tag format/ },
  { in: 'nginx:', error: /invalid tag format/ },
  { in: 'nginx:-dash', error: /invalid tag format/ },
  { in: 'nginx:a/b', error: /invalid reference format: registry "nginx:a"/ }, // 'nginx:a' is taken as host:port
  { in: 'nginx:tag:more', error: /invalid tag format/ },
  { in: 'nginx@', error: /invalid checksum digest format/ },
  { in: 'nginx@sha256:abc', error: /invalid checksum digest length/ },
  { in: `nginx@sha256:${H64}00`, error: /invalid checksum digest length/ },
  { in: `nginx@sha256:${H64.toUpperCase()}`, error: /invalid checksum digest format/ },
  { in: `nginx@sha256:${'g'.repeat(64)}`, error: /invalid checksum digest format/ },
  { in: `nginx@sha512:${H64}`, error: /invalid checksum digest length/ },
  { in: `nginx@md5:${'a'.repeat(32)}`, error: /unsupported digest algorithm "md5"/ },
  { in: `nginx@sha384:${'a'.repeat(96)}`, error: /unsupported digest algorithm "sha384"/ },
  { in: `nginx@${H64}`, error: /invalid checksum digest format/ },
  { in: `nginx@${D}@${D}`, error: /invalid checksum digest/ },
  { in: 'a..b/c', error: /invalid reference format/ },
  { in: 'user//app', error: /empty component/ },
  { in: 'user/app/', error: /empty component/ },
  { in: '/app', error: /empty component/ },
  { in: 'ghcr.io/', error: /empty component/ },
  { in: 'user/-app', error: /invalid reference format/ },
  { in: 'user/app-', error: /invalid reference format/ },
  { in: 'user/a...b', error: /invalid reference format/ },
  { in: 'user/a___b', error: /invalid reference format/ },
  { in: 'nginx latest', error: /invalid tag format|invalid reference format/ },
  { in: ' nginx', error: /invalid reference format/ },
  { in: 'ngi\u00f1x', error: /invalid reference format/ },
  { in: 'example.com:abc/x', error: /invalid reference format: registry/ },
  { in: '[::1/x', error: /invalid reference format/ },
  { in: '-bad.example.com/x', error: /invalid reference format: registry/ },
  { in: 'my_registry.com/x', error: /invalid reference format: registry/ },
  { in: 'docker://nginx', error: /invalid reference format/ },
  { in: 'https://ghcr.io/a/b', error: /invalid reference format/ },
];

function pick(r: ImageReference) {
  const o: Record<string, unknown> = { registry: r.registry, repository: r.repository };
  if (r.tag !== undefined) o.tag = r.tag;
  if (r.digest !== undefined) o.digest = r.digest;
  return o;
}

t.test('valid references normalise like distribution', async (t) => {
  t.ok(valid.length + invalid.length >= 40, 'table has at least 40 rows');
  for (const row of valid) {
    const r = parseReference(row.in, row.opts);
    const want: Record<string, unknown> = { registry: row.registry, repository: row.repository };
    if (row.tag !== undefined) want.tag = row.tag;
    if (row.digest !== undefined) want.digest = row.digest;
    t.same(pick(r), want, JSON.stringify(row.in).slice(0, 80));
    t.equal(r.transport, 'registry');
    t.equal(r.original, row.in, 'original kept');
  }
});

t.test('invalid references throw REFERENCE_INVALID with the reason', async (t) => {
  for (const row of invalid) {
    let caught: unknown;
    try {
      parseReference(row.in, row.opts);
    } catch (e) {
      caught = e;
    }
    const name = JSON.stringify(row.in).slice(0, 80);
    t.ok(caught instanceof SigwardError, `${name} throws SigwardError`);
    if (!(caught instanceof SigwardError)) continue;
    t.equal(caught.code, 'REFERENCE_INVALID', `${name} code`);
    t.equal(caught.outcome, 'usage', `${name} outcome`);
    t.match(caught.message, /^invalid image reference "/, `${name} message prefix`);
    t.match(caught.message, row.error, `${name} reason`);
    t.notOk(isValidReference(row.in, row.opts), `${name} isValidReference false`);
  }
});

t.test('error messages quote the input safely and stay short', async (t) => {
  const long = `x/${'a'.repeat(5000)}`;
  t.throws(() => parseReference(long), { message: /\.\.\."/ });
  try {
    parseReference(long);
  } catch (e) {
    t.ok((e as Error).message.length < 600, 'message clipped');
  }
  t.throws(() => parseReference('a\nb'), { message: /"a\\nb"/ }, 'control characters are escaped');
});

t.test('digest-only references get no tag; bare names get latest', async (t) => {
  t.equal(parseReference(`nginx@${D}`).tag, undefined);
  t.equal(parseReference('nginx').tag, 'latest');
  t.equal(parseReference('nginx').digest, undefined);
});

t.test('defaultRegistry must be a host[:port][/path]', async (t) => {
  t.throws(() => parseReference('nginx', { defaultRegistry: 'not a host' }), { code: 'CONFIG_INVALID' });
  t.throws(() => parseReference('nginx', { defaultRegistry: 'reg.example.com/Bad' }), { code: 'CONFIG_INVALID' });
  t.equal(
    parseReference('nginx', { defaultRegistry: 'reg.example.com/' }).registry,
    'reg.example.com',
    'trailing slash ignored',
  );
  // library/ is only for Docker Hub
  t.equal(parseReference('nginx', { defaultRegistry: 'reg.example.com' }).repository, 'nginx');
});

t.test('OCI layout references', async (t) => {
  const cases: Array<[string, { dir: string; tag?: string; digest?: string }]> = [
    ['oci:./layout', { dir: './layout' }],
    ['oci:/tmp/images/app', { dir: '/tmp/images/app' }],
    ['oci:layout:v1', { dir: 'layout', tag: 'v1' }],
    ['oci:/tmp/a.b/c:1.0.0', { dir: '/tmp/a.b/c', tag: '1.0.0' }],
    [`oci:./layout@${D}`, { dir: './layout', digest: D }],
    [`oci:./layout:v1@${D}`, { dir: './layout', tag: 'v1', digest: D }],
    // only the LAST ':' can start a tag
    ['oci:dir:with:colons', { dir: 'dir:with', tag: 'colons' }],
    // what follows ':' is not a valid tag (contains '/'): part of the directory
    ['oci:host:5000/dir', { dir: 'host:5000/dir' }],
    ['oci:C:\\images\\app', { dir: 'C:\\images\\app' }],
    ['oci:./Upper/Case:Tag', { dir: './Upper/Case', tag: 'Tag' }],
    ['oci:/tmp/x:', { dir: '/tmp/x:' }],
  ];
  for (const [input, want] of cases) {
    const r = parseReference(input);
    t.equal(r.transport, 'oci-layout', `${input} transport`);
    t.equal(r.registry, want.dir, `${input} dir`);
    t.equal(r.repository, '', `${input} repository`);
    t.equal(r.tag, want.tag, `${input} tag (no default)`);
    t.equal(r.digest, want.digest, `${input} digest`);
    t.equal(r.original, input);
  }
  t.throws(() => parseReference('oci:'), { code: 'REFERENCE_INVALID', message: /needs a directory/ });
  t.throws(() => parseReference('oci::v1'), { code: 'REFERENCE_INVALID', message: /needs a directory/ });
  t.throws(() => parseReference('oci:./l@sha256:abc'), { code: 'REFERENCE_INVALID', message: /digest length/ });
  t.throws(() => parseReference(`oci:./l@md5:${'a'.repeat(32)}`), { message: /unsupported digest algorithm/ });
});

t.test('images from Kubernetes objects never become layouts', async (t) => {
  const r = parseImageFromPodSpec('oci:1.0');
  t.equal(r.transport, 'registry');
  t.equal(r.registry, 'docker.io');
  t.equal(r.repository, 'library/oci');
  t.throws(() => parseImageFromPodSpec('oci:/etc/secret'), { code: 'REFERENCE_INVALID' });
  t.throws(() => parseReference('oci:./x', { allowLayout: false }), { code: 'REFERENCE_INVALID' });
});

t.test('Kyverno view keeps the name as written', async (t) => {
  const cases: Array<[string, ParseReferenceOptions, { registry: string; path: string }]> = [
    ['nginx', {}, { registry: 'docker.io', path: 'nginx' }],
    ['docker.io/library/nginx', {}, { registry: 'docker.io', path: 'library/nginx' }],
    ['index.docker.io/nginx:1', {}, { registry: 'index.docker.io', path: 'nginx' }],
    [`test/centos@${D}`, {}, { registry: 'docker.io', path: 'test/centos' }],
    ['localhost:4443/test/nginx', {}, { registry: 'localhost:4443', path: 'test/nginx' }],
    ['test/nginx', { defaultRegistry: 'gcr.io' }, { registry: 'gcr.io', path: 'test/nginx' }],
    ['test/nginx', { defaultRegistry: 'gcr.io', enableDefaultRegistryMutation: false }, {
      registry: '',
      path: 'test/nginx',
    }],
    ['ghcr.io/a/b', { enableDefaultRegistryMutation: false }, { registry: 'ghcr.io', path: 'a/b' }],
    ['nginx', { defaultRegistry: 'reg.example.com/hub' }, { registry: 'reg.example.com', path: 'hub/nginx' }],
  ];
  for (const [input, opts, want] of cases) {
    const r = parseReference(input, opts);
    t.same(r.kyverno, want, input);
  }
  // the registry used for fetching is unaffected by enableDefaultRegistryMutation
  t.equal(parseReference('nginx', { enableDefaultRegistryMutation: false }).registry, 'docker.io');
});
