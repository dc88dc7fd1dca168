import t from 'tap';
import {
  findMatchingPattern,
  imageVariable,
  matchesAnyPattern,
  parseReference,
  type ParseReferenceOptions,
  toKyvernoDigestPatchValue,
  toKyvernoMatchString,
} from '../../lib/reference/index.ts';
import { matchesPattern } from '../../lib/wildcard.ts';

const H = 'b31bfb4d0213f254d361e0079deaaebefa4f82ba7aa76ef82e90b4935ad5b105';
const D = `sha256:${H}`;

t.test('matchesPattern: * and ? wildcards, everything else literal', async (t) => {
  const rows: Array<[pattern: string, text: string, want: boolean]> = [
    ['*', '', true],
    ['*', 'ghcr.io/a/b:v1', true],
    ['', '', true],
    ['', 'x', false],
    ['abc', 'abc', true],
    ['abc', 'abcd', false],
    ['abc*', 'abc', true],
    ['*abc', 'xxabc', true],
    ['*abc', 'abcx', false],
    // `*` crosses `/` and `:`
    ['ghcr.io/*', 'ghcr.io/org/team/app:v1', true],
    ['ghcr.io/org/*', 'ghcr.io/org/app@sha256:abc', true],
    ['ghcr.io/org/*', 'ghcr.io/other/app:v1', false],
    ['*/app:*', 'reg.example.com:5000/team/app:v1', true],
    ['docker.io/*', 'docker.io/nginx:latest', true],
    ['docker.io/*', 'ghcr.io/docker.io/x:1', false],
    // `?` is exactly one character (also `/` and `:`)
    ['ghcr.io/a/b:v?', 'ghcr.io/a/b:v1', true],
    ['ghcr.io/a/b:v?', 'ghcr.io/a/b:v', false],
    ['ghcr.io/a/b:v?', 'ghcr.io/a/b:v12', false],
    ['ghcr.io/a?b:v1', 'ghcr.io/a/b:v1', true],
    ['my-?-bucket/abc*', 'my--bucket/abc', false],
    ['my-?-bucket/abc*', 'my-1-bucket/abc', true],
    ['my??bucket/abc*', 'mybucket/abc', false],
    ['my-bucket/mnop*?', 'my-bucket/mnop', false],
    ['my-bucket/mnop*?', 'my-bucket/mnopq', true],
    ['my-bucket/mnop*?and', 'my-bucket/mnopand', false],
    ['my-bucket/mnop*?and?', 'my-bucket/mnopqanda', true],
    ['my-bucket/In*/Ka*/Ban', 'my-bucket/India/State1/Karnataka/Area1/Ban', true],
    ['my-bucket/In*/Ka*/Ban', 'my-bucket/India/Karnataka/Bangalore', false],
    // no regex semantics: `.`, `+`, `[`, `(`, `\`, `^`, `$`, `|` are literal
    ['ghcr.io/*', 'ghcrXio/a:1', false],
    ['a.b', 'aXb', false],
    ['a+', 'aa', false],
    ['a+', 'a+', true],
    ['[ab]', 'a', false],
    ['[ab]', '[ab]', true],
    ['(a|b)*', 'a', false],
    ['^a$', 'a', false],
    ['a\\*', 'a\\xyz', true],
    ['a\\*', 'a*', false],
    ['.*', 'anything', false],
    ['{a,b}', 'a', false],
    // `?` consumes one character, not half of a surrogate pair
    ['x?y', 'x\u{1F600}y', true],
  ];
  for (const [p, s, want] of rows) t.equal(matchesPattern(p, s), want, `${JSON.stringify(p)} vs ${JSON.stringify(s)}`);
});

t.test('pathological patterns finish quickly', async (t) => {
  const text = 'a'.repeat(20000);
  const patterns = ['*a*a*a*a*a*a*a*a*a*b', '*?*?*?*?*?*?*?*?*b', `${'*a'.repeat(200)}b`, `*${'a'.repeat(300)}b*`];
  const start = performance.now();
  for (const p of patterns) t.equal(matchesPattern(p, text), false, p.slice(0, 30));
  t.equal(matchesPattern('*a*a*a*a*a*a*a*a*a*a', text), true);
  const ms = performance.now() - start;
  t.ok(ms < 2000, `took ${ms.toFixed(0)} ms`);
});

t.test('toKyvernoMatchString: Kyverno naming, tag dropped when a digest is present', async (t) => {
  const rows: Array<[input: string, opts: ParseReferenceOptions, want: string]> = [
    ['nginx', {}, 'docker.io/nginx:latest'],
    ['nginx:v10.3', {}, 'docker.io/nginx:v10.3'],
    ['docker.io/test/nginx:v10.3', {}, 'docker.io/test/nginx:v10.3'],
    ['docker.io/library/nginx', {}, 'docker.io/library/nginx:latest'],
    ['test/nginx', {}, 'docker.io/test/nginx:latest'],
    ['index.docker.io/nginx', {}, 'index.docker.io/nginx:latest'],
    ['localhost:4443/test/nginx', {}, 'localhost:4443/test/nginx:latest'],
    [`docker.io/test/centos@${D}`, {}, `docker.io/test/centos@${D}`],
    [`ghcr.io/a/b:v1@${D}`, {}, `ghcr.io/a/b@${D}`],
    ['test/nginx', { defaultRegistry: 'gcr.io' }, 'gcr.io/test/nginx:latest'],
    ['test/nginx', { defaultRegistry: 'gcr.io', enableDefaultRegistryMutation: false }, 'test/nginx:latest'],
    ['nginx:1', { defaultRegistry: 'reg.example.com/hub' }, 'reg.example.com/hub/nginx:1'],
    [`oci:./layout@${D}`, {}, `oci:./layout@${D}`],
    ['oci:./layout', {}, 'oci:./layout'],
  ];
  for (const [input, opts, want] of rows) t.equal(toKyvernoMatchString(parseReference(input, opts)), want, input);
  // a hand-built reference without the Kyverno view falls back to registry/repository
  t.equal(
    toKyvernoMatchString({ transport: 'registry', registry: 'ghcr.io', repository: 'a/b', original: 'x' }),
    'ghcr.io/a/b:latest',
  );
});

t.test('matchesAnyPattern: Kyverno documentation cases', async (t) => {
  const m = (patterns: string[], image: string, opts?: ParseReferenceOptions) =>
    matchesAnyPattern(patterns, parseReference(image, opts));
  t.ok(m(['ghcr.io/a/b:v1*'], 'ghcr.io/a/b:v1'));
  t.ok(m(['ghcr.io/a/b:v1*'], 'ghcr.io/a/b:v1.2.3'));
  t.notOk(m(['ghcr.io/a/b:v1*'], `ghcr.io/a/b:v1@${D}`), 'tag is dropped once a digest is present');
  t.ok(m(['ghcr.io/a/b*'], `ghcr.io/a/b:v1@${D}`));
  t.ok(m(['ghcr.io/a/b@sha256:*'], `ghcr.io/a/b:v1@${D}`));
  t.ok(m(['*'], 'nginx'));
  t.ok(m(['*'], `localhost:5000/x@${D}`));
  t.ok(m(['ghcr.io/org/*'], 'ghcr.io/org/team/app:1'), '* crosses /');
  t.notOk(m(['ghcr.io/org/*'], 'ghcr.io/org2/app:1'));
  t.ok(m(['docker.io/*'], 'nginx'), 'short names get docker.io');
  t.ok(m(['docker.io/*'], 'user/app:1'));
  t.ok(
    m(['docker.io/*'], 'index.docker.io/nginx'),
    'Kyverno keeps index.docker.io as written; sigward also matches the docker.io spelling (containerd normalises to it)',
  );
  t.ok(m(['index.docker.io/*'], 'index.docker.io/nginx'), 'the name as written matches');
  t.ok(m(['ghcr.io/kyverno/test-verify-image*'], 'ghcr.io/kyverno/test-verify-image:signed'));
  t.ok(m(['ghcr.io/kyverno/test-verify-image:signe?'], 'ghcr.io/kyverno/test-verify-image:signed'));
  // patterns are not normalised
  t.notOk(m(['nginx*'], 'nginx'), 'a registry-less pattern does not match the normalised string');
  t.ok(
    m(['docker.io/library/nginx*'], 'nginx'),
    'Kyverno does not add library/, containerd does: sigward matches both spellings',
  );
  t.notOk(m(['docker.io/library/nginx*'], 'ghcr.io/library/nginx'), 'only Docker Hub names have other spellings');
  t.notOk(m(['docker.io/library/*'], 'bitnami/nginx'), 'library/ is added to official images only');
  t.ok(m(['docker.io/library/nginx*'], 'docker.io/library/nginx:1'));
  t.ok(m(['docker.io/nginx*'], 'nginx'));
  t.ok(m(['*/nginx:*'], 'nginx:1.25'));
  t.ok(m(['gcr.io/*'], 'nginx', { defaultRegistry: 'gcr.io' }), 'defaultRegistry is used for matching');
  t.notOk(m(['docker.io/*'], 'nginx', { defaultRegistry: 'gcr.io' }));
  t.notOk(m([], 'nginx'), 'no patterns, no match');
  t.equal(findMatchingPattern(['quay.io/*', 'ghcr.io/*', '*'], parseReference('ghcr.io/a/b')), 'ghcr.io/*');
  t.equal(findMatchingPattern(['quay.io/*'], parseReference('ghcr.io/a/b')), undefined);
});

t.test('imageVariable mirrors Kyverno image info', async (t) => {
  t.same(imageVariable(parseReference('nginx')), {
    reference: 'docker.io/nginx:latest',
    referenceWithTag: 'docker.io/nginx:latest',
    registry: 'docker.io',
    path: 'nginx',
    name: 'nginx',
    tag: 'latest',
    digest: '',
  });
  t.same(imageVariable(parseReference(`docker.io/test/centos@${D}`)), {
    reference: `docker.io/test/centos@${D}`,
    referenceWithTag: 'docker.io/test/centos:',
    registry: 'docker.io',
    path: 'test/centos',
    name: 'centos',
    tag: '',
    digest: D,
  });
  t.same(imageVariable(parseReference(`ghcr.io/kyverno/test-verify-image:signed@${D}`)), {
    reference: `ghcr.io/kyverno/test-verify-image@${D}`,
    referenceWithTag: 'ghcr.io/kyverno/test-verify-image:signed',
    registry: 'ghcr.io',
    path: 'kyverno/test-verify-image',
    name: 'test-verify-image',
    tag: 'signed',
    digest: D,
  });
  t.same(
    imageVariable(parseReference('test/nginx', { defaultRegistry: 'gcr.io', enableDefaultRegistryMutation: false })),
    {
      reference: 'test/nginx:latest',
      referenceWithTag: 'test/nginx:latest',
      registry: '',
      path: 'test/nginx',
      name: 'nginx',
      tag: 'latest',
      digest: '',
    },
  );
  t.same(
    imageVariable(parseReference('localhost:4443/test/nginx')).referenceWithTag,
    'localhost:4443/test/nginx:latest',
  );
});

t.test('mutateDigest patch value keeps the tag and adds the registry', async (t) => {
  t.equal(toKyvernoDigestPatchValue(parseReference('nginx'), D), `docker.io/nginx:latest@${D}`);
  t.equal(
    toKyvernoDigestPatchValue(parseReference('ghcr.io/kyverno/test-verify-image:signed'), D),
    `ghcr.io/kyverno/test-verify-image:signed@${D}`,
  );
});
