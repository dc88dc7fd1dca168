import t from 'tap';
import {
  familiarName,
  familiarString,
  formatReference,
  parseReference,
  referenceToString,
  repositoryName,
  toCosignDockerReference,
  toDigestReference,
  toTaggedReference,
} from '../../lib/reference/index.ts';
import { digestTag, getDigestError, isDigest, parseDigest } from '../../lib/digest.ts';

const H = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';
const D = `sha256:${H}`;

t.test('formatReference and friends', async (t) => {
  const rows: Array<[input: string, full: string, repo: string, familiar: string, familiarStr: string]> = [
    ['nginx', 'docker.io/library/nginx:latest', 'docker.io/library/nginx', 'nginx', 'nginx:latest'],
    ['docker.io/library/nginx:1', 'docker.io/library/nginx:1', 'docker.io/library/nginx', 'nginx', 'nginx:1'],
    ['user/app', 'docker.io/user/app:latest', 'docker.io/user/app', 'user/app', 'user/app:latest'],
    [
      'index.docker.io/library/busybox',
      'docker.io/library/busybox:latest',
      'docker.io/library/busybox',
      'busybox',
      'busybox:latest',
    ],
    [
      'docker.io/library/a/b',
      'docker.io/library/a/b:latest',
      'docker.io/library/a/b',
      'library/a/b',
      'library/a/b:latest',
    ],
    [`ghcr.io/a/b:v1@${D}`, `ghcr.io/a/b:v1@${D}`, 'ghcr.io/a/b', 'ghcr.io/a/b', `ghcr.io/a/b:v1@${D}`],
    [`localhost:5000/x@${D}`, `localhost:5000/x@${D}`, 'localhost:5000/x', 'localhost:5000/x', `localhost:5000/x@${D}`],
    ['[::1]:5000/x:t', '[::1]:5000/x:t', '[::1]:5000/x', '[::1]:5000/x', '[::1]:5000/x:t'],
    ['oci:./layout:v1', 'oci:./layout:v1', 'oci:./layout', 'oci:./layout', 'oci:./layout:v1'],
    [`oci:/tmp/l@${D}`, `oci:/tmp/l@${D}`, 'oci:/tmp/l', 'oci:/tmp/l', `oci:/tmp/l@${D}`],
  ];
  for (const [input, full, repo, familiar, familiarStr] of rows) {
    const r = parseReference(input);
    t.equal(formatReference(r), full, `${input} formatReference`);
    t.equal(referenceToString(r), full, `${input} referenceToString`);
    t.equal(repositoryName(r), repo, `${input} repositoryName`);
    t.equal(familiarName(r), familiar, `${input} familiarName`);
    t.equal(familiarString(r), familiarStr, `${input} familiarString`);
    // formatting is stable: the formatted string parses back to the same reference
    const again = parseReference(full);
    t.same(
      [again.registry, again.repository, again.tag, again.digest],
      [r.registry, r.repository, r.tag, r.digest],
      `${input} round trip`,
    );
  }
  const r = parseReference(`ghcr.io/a/b:v1@${D}`);
  t.equal(formatReference(r, { withTag: false }), `ghcr.io/a/b@${D}`);
  t.equal(formatReference(r, { withDigest: false }), 'ghcr.io/a/b:v1');
  t.equal(formatReference(r, { withTag: false, withDigest: false }), 'ghcr.io/a/b');
});

t.test('cosign docker-reference spells Docker Hub index.docker.io', async (t) => {
  t.equal(toCosignDockerReference(parseReference('alpine')), 'index.docker.io/library/alpine');
  t.equal(toCosignDockerReference(parseReference('user/app:1')), 'index.docker.io/user/app');
  t.equal(toCosignDockerReference(parseReference(`ghcr.io/a/b:v1@${D}`)), 'ghcr.io/a/b');
});

t.test('derived references', async (t) => {
  const r = parseReference(`ghcr.io/a/b:v1@${D}`);
  const sig = toTaggedReference(r, digestTag(D, 'sig'));
  t.equal(formatReference(sig), `ghcr.io/a/b:sha256-${H}.sig`);
  t.equal(sig.digest, undefined);
  t.equal(sig.original, `ghcr.io/a/b:sha256-${H}.sig`);
  t.equal(r.tag, 'v1', 'input not mutated');
  t.throws(() => toTaggedReference(r, 'bad/tag'), { code: 'REFERENCE_INVALID' });

  const pinned = toDigestReference(parseReference('nginx'), D);
  t.equal(formatReference(pinned), `docker.io/library/nginx:latest@${D}`);
  t.equal(formatReference(toDigestReference(parseReference('nginx'), D, false)), `docker.io/library/nginx@${D}`);
  t.throws(() => toDigestReference(r, 'sha256:abc'), { code: 'REFERENCE_INVALID' });
});

t.test('digestTag', async (t) => {
  t.equal(digestTag(D, 'sig'), `sha256-${H}.sig`);
  t.equal(digestTag(D, 'att'), `sha256-${H}.att`);
  t.equal(digestTag(D, 'sbom'), `sha256-${H}.sbom`);
  t.equal(digestTag(D, ''), `sha256-${H}`);
  const d512 = `sha512:${'a'.repeat(128)}`;
  t.equal(digestTag(d512, 'sig'), `sha512-${'a'.repeat(128)}.sig`);
  t.throws(() => digestTag('sha256:xyz', 'sig'), { code: 'REFERENCE_INVALID', message: /invalid digest/ });
  t.throws(() => digestTag(H, 'sig'), { code: 'REFERENCE_INVALID' });
});

t.test('digest checks', async (t) => {
  t.ok(isDigest(D));
  t.same(parseDigest(D), { algorithm: 'sha256', hex: H });
  t.notOk(isDigest(`sha256:${H.toUpperCase()}`));
  t.notOk(isDigest(`sha256:${H}0`));
  t.notOk(isDigest(`:${H}`));
  t.notOk(isDigest('sha256:'));
  t.match(getDigestError(`sha1:${'a'.repeat(40)}`), /unsupported digest algorithm "sha1"/);
  t.match(getDigestError(`9sha:${'a'.repeat(40)}`), /invalid checksum digest format/);
  t.equal(getDigestError(D), undefined);
});
