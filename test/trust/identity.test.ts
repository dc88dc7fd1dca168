import t from 'tap';
import {
  getCertificateIdentity,
  getUnanchoredRegExpWarning,
  toIdentityRegExp,
  validateIdentityPolicy,
  verifyCodeSigningUsage,
  verifyIdentity,
} from '../../lib/trust/index.ts';
import { readConnaisseurKeyless, readText, TV } from '../helpers/fixtures.ts';
import { mintCert } from '../helpers/sigstore.ts';

const bundleCert = (file: string): Buffer => {
  const b = JSON.parse(readText(`${TV}sigstore-bundles/${file}`));
  const vm = b.verificationMaterial;
  return Buffer.from((vm.certificate ?? vm.x509CertificateChain.certificates[0]).rawBytes, 'base64');
};

const GH_SAN = 'https://github.com/sigstore/sigstore-js/.github/workflows/release.yml@refs/heads/main';
const GH_ISSUER = 'https://token.actions.githubusercontent.com';

t.test('reads email SAN and both issuer extensions', async (t) => {
  const pem = readConnaisseurKeyless().annotations['dev.sigstore.cosign/certificate'];
  const id = getCertificateIdentity(pem);
  t.equal(id.san, 'philipp.belitz@securesystems.de');
  t.equal(id.sanType, 'email');
  t.equal(id.issuer, 'https://github.com/login/oauth');
  t.equal(id.extensions.issuerV1, 'https://github.com/login/oauth', '.1.1 raw');
  t.equal(id.extensions.issuer, 'https://github.com/login/oauth', '.1.8 DER UTF8String');
});

t.test('reads URI SAN and GitHub extensions (.2-.6 raw, .8+ DER)', async (t) => {
  const id = getCertificateIdentity(bundleCert('sigstore.js@2.0.0-provenance.sigstore.json'));
  t.equal(id.san, GH_SAN);
  t.equal(id.sanType, 'uri');
  t.equal(id.issuer, GH_ISSUER);
  t.equal(id.extensions.githubWorkflowTrigger, 'push');
  t.equal(id.extensions.githubWorkflowSha, 'f0b49a04e5a62250e0f60fb128004a73110fe311');
  t.equal(id.extensions.githubWorkflowRepository, 'sigstore/sigstore-js');
  t.equal(id.extensions.buildSignerURI, GH_SAN);
  t.equal(id.extensions.sourceRepositoryURI, 'https://github.com/sigstore/sigstore-js');
  t.equal(id.extensions.runnerEnvironment, 'github-hosted');
  t.equal(id.extensions.sourceRepositoryVisibilityAtSigning, 'public');
  t.equal(id.extensions.runInvocationURI, 'https://github.com/sigstore/sigstore-js/actions/runs/5904696764/attempts/1');
});

t.test('reads the Fulcio OtherName SAN', async (t) => {
  const id = getCertificateIdentity(bundleCert('othername.sigstore.json'));
  t.equal(id.san, 'foo!oidc.local');
  t.equal(id.sanType, 'otherName');
  t.equal(id.issuer, 'http://oidc.local:8080');
  t.doesNotThrow(() => verifyIdentity(id, { subject: 'foo!oidc.local', issuer: 'http://oidc.local:8080' }));
});

t.test('subject and issuer matching is exact or anchored', async (t) => {
  const cert = bundleCert('sigstore.js@2.0.0-provenance.sigstore.json');
  const ok = (p: Parameters<typeof verifyIdentity>[1], name: string) =>
    t.doesNotThrow(() => verifyIdentity(cert, p), name);
  const bad = (p: Parameters<typeof verifyIdentity>[1], name: string, re?: RegExp) =>
    t.throws(() => verifyIdentity(cert, p), { code: 'IDENTITY_MISMATCH', ...(re ? { message: re } : {}) }, name);

  ok({ subject: GH_SAN, issuer: GH_ISSUER }, 'exact');
  ok(
    { subjectRegExp: 'https://github\\.com/sigstore/.*', issuerRegExp: 'https://token\\.actions\\..*' },
    'anchored regex',
  );
  ok({ subjectWildcard: 'https://github.com/sigstore/*@refs/heads/main', issuer: GH_ISSUER }, 'wildcard');
  ok({ subjectRegExp: '(?i)HTTPS://GITHUB\\.COM/SIGSTORE/.*' }, 'RE2 case-insensitive flag');
  bad(
    { subject: 'https://github.com/sigstore/sigstore-js' },
    'prefix is not the identity',
    /expected subject "https:\/\/github.com\/sigstore\/sigstore-js", got/,
  );
  bad({ subject: GH_SAN.toUpperCase() }, 'exact is case-sensitive');
  // as cosign (Go's regexp.MatchString): an unanchored regex matches a substring; anchored, the whole value
  ok({ subjectRegExp: 'github\\.com/sigstore' }, 'unanchored regex matches a substring, as in cosign');
  bad({ subjectRegExp: '^github\\.com/sigstore' }, 'anchored at the start: the SAN starts with https://');
  ok(
    { subjectRegExp: 'https://github.com/sigstore/sigstore-js/.github/workflows/release.yml@refs/heads/mai' },
    'unanchored: a prefix matches',
  );
  bad(
    { subjectRegExp: '^https://github.com/sigstore/sigstore-js/.github/workflows/release.yml@refs/heads/mai$' },
    'anchored: must match to the end',
  );
  bad({ subjectWildcard: 'https://github.com/sigstore/*' + '@refs/heads/dev' }, 'wildcard');
  bad({ subject: GH_SAN, issuer: 'https://token.actions.githubusercontent.co' }, 'issuer prefix', /expected issuer/);
  ok({ subject: GH_SAN, issuerRegExp: 'token\\.actions' }, 'unanchored issuer regex: a substring, as in cosign');
  bad({ subject: GH_SAN, issuerRegExp: '^token\\.actions' }, 'anchored issuer regex');
});

t.test('extension constraints by name or OID', async (t) => {
  const cert = bundleCert('sigstore.js@2.0.0-provenance.sigstore.json');
  t.doesNotThrow(() =>
    verifyIdentity(cert, {
      extensions: {
        githubWorkflowTrigger: 'push',
        githubWorkflowSha: 'f0b49a04e5a62250e0f60fb128004a73110fe311',
        buildSignerURI: GH_SAN,
        '1.3.6.1.4.1.57264.1.12': 'https://github.com/sigstore/sigstore-js',
        issuer: GH_ISSUER,
        sourcerepositoryref: 'refs/heads/main',
      },
    })
  );
  t.throws(() => verifyIdentity(cert, { extensions: { githubWorkflowTrigger: 'pull_request' } }), {
    code: 'IDENTITY_MISMATCH',
    message: /githubWorkflowTrigger mismatch: expected "pull_request", got "push"/,
  });
  t.throws(() => verifyIdentity(cert, { extensions: { deploymentEnvironment: 'prod' } }), {
    code: 'IDENTITY_MISMATCH',
    message: /got \(absent\)/,
  });
  t.throws(() => verifyIdentity(cert, { extensions: { githubWorkflowSha: 'f0b49a04' } }), {
    code: 'IDENTITY_MISMATCH',
  });
});

t.test('invalid policies are usage errors', async (t) => {
  t.throws(() => validateIdentityPolicy({ subjectRegExp: '(' }), { code: 'POLICY_INVALID' });
  t.throws(() => validateIdentityPolicy({ extensions: { noSuchThing: 'x' } }), { code: 'POLICY_INVALID' });
  // Go RE2 syntax: what Go's regexp refuses is refused, with Go's reason; what it takes is taken
  for (const p of ['(a)\\1', '^(?=.*@corp)', '(?<!evil)@corp\\.example$', 'a++', 'a\\Z']) {
    t.throws(() => validateIdentityPolicy({ subjectRegExp: p }), {
      code: 'POLICY_INVALID',
      message: /subjectRegExp: invalid regular expression .*\(Go RE2 syntax\): error parsing regexp: /,
    }, p);
    t.throws(
      () => validateIdentityPolicy({ issuerRegExp: p }),
      { code: 'POLICY_INVALID', message: /issuerRegExp: / },
      p,
    );
  }
  t.ok(toIdentityRegExp('(?U)a+').test('aaa'), '(?U) is Go syntax (ungreedy)');
  t.ok(toIdentityRegExp('a(?i)BC').test('abc'), 'a flag group in the middle');
  t.ok(toIdentityRegExp('(?P<user>[a-z]+)@corp\\.example').test('dev@corp.example'));
  t.doesNotThrow(() => validateIdentityPolicy({ subject: 'a', extensions: { '1.2.3.4': 'x' } }));
});

t.test('regex and wildcard helpers', async (t) => {
  // cosign and Kyverno: Go's regexp.MatchString, a match anywhere in the value
  const re = toIdentityRegExp('a|b');
  t.ok(re.test('a'));
  t.ok(re.test('xbx'), 'unanchored, as cosign: a match anywhere');
  t.notOk(toIdentityRegExp('^(?:a|b)$').test('ab'), 'an anchored pattern matches the whole value only');
  t.ok(
    toIdentityRegExp('corp\\.example').test('https://evil.example/?corp.example'),
    'the reason to anchor: cosign accepts this too',
  );
  t.notOk(toIdentityRegExp('^a$').test('a\nb'), '$ is the end of the text (no (?m))');
  t.ok(toIdentityRegExp('(?m)^a$').test('b\na'), '(?m) makes ^ and $ match at lines, as in Go');
  t.ok(toIdentityRegExp('^a.c$').test('a\rc'), ". is Go's: only \\n is excluded");
  t.notOk(toIdentityRegExp('^a.c$').test('a\nc'));
  t.equal(
    getUnanchoredRegExpWarning('^https://github\\.com/org/.*$', 'subjectRegExp'),
    undefined,
    'an anchored pattern: no warning',
  );
  t.match(
    getUnanchoredRegExpWarning('https://github\\.com/org/.*', 'subjectRegExp'),
    /is not anchored.*"\^\(\?:https:\/\/github\\\\\.com\/org\/\.\*\)\$"/,
    'unanchored: a warning with the anchored form',
  );
  t.match(getUnanchoredRegExpWarning('^a', 'issuerRegExp'), /"\^\(\?:a\)\$"/, 'half anchored: completed');
  const w = (subjectWildcard: string, san: string) =>
    verifyIdentity({ sans: [{ type: 'uri', value: san }], extensions: {} } as never, { subjectWildcard });
  t.doesNotThrow(() => w('https://x.io/*.yml?', 'https://x.io/a/b.yml!'));
  t.throws(() => w('https://x.io/*.yml?', 'https://xxio/a.yml!'), { code: 'IDENTITY_MISMATCH' }, 'dot is literal');
  t.throws(
    () => w('https://x.io/*.yml?', 'https://x.io/a.yml'),
    { code: 'IDENTITY_MISMATCH' },
    '? needs one character',
  );
});

// A backtracking engine needs 2^n steps for these (hours for the 60-character
// values); cosign's Go regexp and sigward's RE2 answer in linear time.
t.test('identity regular expressions run in linear time', async (t) => {
  const longSAN = `https://github.com/${'a'.repeat(60)}!`;
  const id = { sans: [{ type: 'uri', value: longSAN }], issuer: `https://${'a'.repeat(60)}!`, extensions: {} } as never;
  const started = performance.now();
  t.throws(() => verifyIdentity(id, { subjectRegExp: '^https://github\\.com/([a-z0-9]+[-_.]?)+$' }), {
    code: 'IDENTITY_MISMATCH',
  });
  t.throws(() => verifyIdentity(id, { subjectRegExp: '(.*a){25}x' }), { code: 'IDENTITY_MISMATCH' });
  t.throws(() => verifyIdentity(id, { subject: longSAN, issuerRegExp: '^https://(a|aa)+$' }), {
    code: 'IDENTITY_MISMATCH',
    message: /issuer mismatch/,
  });
  t.doesNotThrow(() =>
    verifyIdentity(id, {
      subjectRegExp: '^https://github\\.com/([a-z0-9]+[-_.!]?)+$',
      issuerRegExp: 'https://(a|aa)+!',
    })
  );
  const ms = performance.now() - started;
  t.ok(ms < 500, `four checks in ${ms.toFixed(1)} ms`);
});

t.test('code-signing extended key usage', async (t) => {
  const ca = await mintCert({ name: 'root', ca: true });
  const codeSigning = await mintCert({ name: 'leaf', issuer: ca, email: 'a@b.c' });
  const serverAuth = await mintCert({ name: 'tls', issuer: ca, eku: ['1.3.6.1.5.5.7.3.1'] });
  const noEKU = await mintCert({ name: 'plain', issuer: ca, eku: null });
  const anyEKU = await mintCert({ name: 'any', issuer: ca, eku: ['2.5.29.37.0'] });
  t.doesNotThrow(() => verifyCodeSigningUsage(codeSigning.der));
  t.doesNotThrow(() => verifyCodeSigningUsage(anyEKU.pem));
  t.throws(() => verifyCodeSigningUsage(serverAuth.der), { code: 'CERTIFICATE_INVALID', message: /code signing/ });
  t.doesNotThrow(() => verifyCodeSigningUsage(noEKU.der), 'no EKU extension = unrestricted (Go x509)');
  t.throws(() => verifyCodeSigningUsage(noEKU.der, true), { code: 'CERTIFICATE_INVALID' });
  t.doesNotThrow(() =>
    verifyCodeSigningUsage(readConnaisseurKeyless().annotations['dev.sigstore.cosign/certificate'], true)
  );
});
