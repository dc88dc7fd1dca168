import t from 'tap';
import {
  formatAttestationChecksFailedMessage,
  formatAttestationCountMessage,
  formatAttestationsNotFoundMessage,
  formatBlockedMessage,
  formatDigestUpdateFailedMessage,
  formatMissingDigestMessage,
  formatSkipImageMessage,
  formatUnverifiedImageMessage,
  formatValidateDenyMessage,
  formatVerifiedMessage,
  formatVerifyFailedMessage,
  formatWebhookDenial,
  toGoYaml,
} from '../../lib/admission/index.ts';

const HEAD = (id: string): string => `\n\nresource ${id} was blocked due to the following policies \n\n`;

t.test('blocked message: Kyverno unit-test shapes', async (t) => {
  const r = { kind: 'foo', namespace: 'bar', name: 'baz' };
  t.equal(
    formatBlockedMessage(r, [{ policy: 'test', rule: 'rule-fail', message: 'message fail' }]),
    '\n\nresource foo/bar/baz was blocked due to the following policies \n\ntest:\n  rule-fail: message fail\n',
  );
  t.equal(
    formatBlockedMessage(r, [
      { policy: 'test', rule: 'rule-fail', message: 'message fail', status: 'fail' },
      { policy: 'test', rule: 'rule-error', message: 'message error', status: 'error' },
    ]),
    '\n\nresource foo/bar/baz was blocked due to the following policies \n\ntest:\n  rule-error: message error\n  rule-fail: message fail\n',
    'rules sorted',
  );
  t.equal(
    formatBlockedMessage({ kind: 'Namespace', namespace: '', name: 'prod' }, [{
      policy: 'p',
      rule: 'r',
      message: 'm',
    }]),
    `${HEAD('Namespace//prod')}p:\n  r: m\n`,
    'cluster-scoped resource: empty namespace part',
  );
  t.equal(
    formatBlockedMessage({ kind: 'ClusterRole' }, [{ policy: 'p', rule: 'r', message: 'm' }]),
    `${HEAD('ClusterRole//')}p:\n  r: m\n`,
  );
  t.equal(
    formatBlockedMessage(r, [
      { policy: 'a', rule: 'ok', message: 'fine', status: 'pass' },
      { policy: 'a', rule: 's', message: 'skipped', status: 'skip' },
      { policy: 'b', rule: 'pre', message: 'preconditions not met', status: 'error' },
    ]),
    '',
    'pass, skip and "preconditions not met" are left out',
  );
  t.equal(
    formatBlockedMessage(r, [
      { policy: 'a', rule: 'ok', message: 'fine', status: 'pass' },
      { policy: 'a', rule: 'bad', message: 'broken' },
    ]),
    `${HEAD('foo/bar/baz')}a:\n  bad: broken\n`,
  );
});

t.test('blocked message: folding as in real Kyverno denials', async (t) => {
  t.equal(
    formatBlockedMessage({ kind: 'Pod', namespace: 'default', name: 'demo' }, [
      {
        policy: 'sigstore-image-verification',
        rule: 'sigstore-image-verification',
        message: formatVerifyFailedMessage(
          'docker.io/nginx:latest',
          '.attestors[0].entries[0].keyless: sigstore bundle verification failed: no matching signatures found',
        ),
      },
    ]),
    HEAD('Pod/default/demo') +
      'sigstore-image-verification:\n' +
      "  sigstore-image-verification: 'failed to verify image docker.io/nginx:latest: .attestors[0].entries[0].keyless:\n" +
      "    sigstore bundle verification failed: no matching signatures found'\n",
  );
  t.equal(
    formatBlockedMessage({ kind: 'Deployment', namespace: 'default', name: 'inflate' }, [
      {
        policy: 'require-labels',
        rule: 'autogen-check-for-labels',
        message:
          'validation error: The label `app.kubernetes.io/name` is required. Rule autogen-check-for-labels failed at path /spec/template/metadata/labels/app.kubernetes.io/name/',
      },
    ]),
    HEAD('Deployment/default/inflate') +
      'require-labels:\n' +
      "  autogen-check-for-labels: 'validation error: The label `app.kubernetes.io/name`\n" +
      "    is required. Rule autogen-check-for-labels failed at path /spec/template/metadata/labels/app.kubernetes.io/name/'\n",
  );
  t.equal(
    formatBlockedMessage({ kind: 'Deployment', namespace: 'default', name: 'nginx-deployment' }, [
      {
        policy: 'james-require-labels',
        rule: 'check-required-labels-james-1',
        message:
          'validation error: Required labels (app, version, environment) must be present. rule check-required-labels-james-1 failed at path /metadata/labels/environment/',
      },
      {
        policy: 'james-disallow-privileged-containers',
        rule: 'check-privileged-james-1',
        message:
          'validation error: Privileged containers are not allowed. rule check-privileged-james-1 failed at path /spec/containers/',
      },
    ]),
    HEAD('Deployment/default/nginx-deployment') +
      'james-disallow-privileged-containers:\n' +
      "  check-privileged-james-1: 'validation error: Privileged containers are not allowed.\n" +
      "    rule check-privileged-james-1 failed at path /spec/containers/'\n" +
      'james-require-labels:\n' +
      "  check-required-labels-james-1: 'validation error: Required labels (app, version,\n" +
      '    environment) must be present. rule check-required-labels-james-1 failed at path\n' +
      "    /metadata/labels/environment/'\n",
    'two policies, sorted, each folded',
  );
});

t.test('yaml.v2 scalar styles', async (t) => {
  const one = (msg: string): string => toGoYaml({ p: { r: msg } });
  const words = Array(12).fill('abcdefghi');
  t.equal(
    one(words.join(' ')),
    `p:\n  r: ${words.slice(0, 8).join(' ')}\n    ${words.slice(8).join(' ')}\n`,
    'plain folds after column 80',
  );
  const x75 = 'x'.repeat(75);
  t.equal(one(`${x75} a b`), `p:\n  r: ${x75} a\n    b\n`, 'a space at column 80 stays, one at column 82 breaks');
  const x72 = 'x'.repeat(72);
  t.equal(one(`'${x72} a b`), `p:\n  r: '''${x72} a\n    b'\n`, 'same for single-quoted text (quote doubled)');
  t.equal(one("it's: fine"), "p:\n  r: 'it''s: fine'\n", 'single quotes doubled');
  t.equal(one('true'), 'p:\n  r: "true"\n');
  t.equal(one('yes'), 'p:\n  r: "yes"\n', 'YAML 1.1 booleans');
  t.equal(one(''), 'p:\n  r: ""\n');
  t.equal(one('1.5'), 'p:\n  r: "1.5"\n');
  t.equal(one('0x1F'), 'p:\n  r: "0x1F"\n');
  t.equal(one('1:20'), 'p:\n  r: "1:20"\n', 'base 60');
  t.equal(one('2024-01-02'), 'p:\n  r: "2024-01-02"\n', 'timestamp');
  t.equal(one('1.2.3'), 'p:\n  r: 1.2.3\n');
  t.equal(one('a\tb'), 'p:\n  r: "a\\tb"\n', 'tab is escaped');
  t.equal(
    one('x"y\\z\u0001é😀'),
    'p:\n  r: x"y\\z\u0001é😀\n'.replace('x"y\\z\u0001é😀', '"x\\"y\\\\z\\x01é\\U0001F600"'),
  );
  t.equal(one('- dash'), "p:\n  r: '- dash'\n");
  t.equal(one(' lead'), "p:\n  r: ' lead'\n");
  t.equal(one('a #b'), "p:\n  r: 'a #b'\n");
  t.equal(one('a#b'), 'p:\n  r: a#b\n');
  t.equal(one('line one\nline two'), 'p:\n  r: |-\n    line one\n    line two\n', 'literal block');
  t.equal(one('ends\n'), 'p:\n  r: |\n    ends\n');
  t.equal(
    toGoYaml({ p: { '#x': 'm', true: 'n', k: 'v' } }),
    `p:\n  '#x': m\n  k: v\n  "true": "n"\n`,
    'keys quoted as needed',
  );
  t.equal(
    toGoYaml({ pol10: { r: 'x' }, pol9: { r: 'x' }, 'b-pol': { r: 'x' }, 'a-pol': { r: 'x' }, Zed: { r: 'x' } }),
    'Zed:\n  r: x\na-pol:\n  r: x\nb-pol:\n  r: x\npol9:\n  r: x\npol10:\n  r: x\n',
    'yaml.v2 natural key order',
  );
  t.equal(toGoYaml({}), '{}\n');
  t.equal(toGoYaml({ p: {} }), 'p: {}\n');
  const long = 'x'.repeat(100);
  t.equal(one(`a: ${long}`), `p:\n  r: 'a: ${long}'\n`, 'no break point, no fold');
  t.equal(one(`${long} a`), `p:\n  r: ${long}\n    a\n`);
});

t.test('rule messages', async (t) => {
  const img = 'ghcr.io/kyverno/test-verify-image:unsigned';
  t.equal(
    formatVerifyFailedMessage(img, '.attestors[0].entries[0].keys: no signatures found'),
    'failed to verify image ghcr.io/kyverno/test-verify-image:unsigned: .attestors[0].entries[0].keys: no signatures found',
  );
  t.equal(formatVerifiedMessage(img), 'verified image signatures for ghcr.io/kyverno/test-verify-image:unsigned');
  t.equal(
    formatSkipImageMessage(img, 'check-image', 'verify'),
    'skipping image reference image ghcr.io/kyverno/test-verify-image:unsigned, policy check-image ruleName verify',
  );
  t.equal(formatMissingDigestMessage('docker.io/nginx:latest'), 'missing digest for docker.io/nginx:latest');
  t.equal(formatUnverifiedImageMessage('docker.io/nginx@sha256:aa'), 'unverified image docker.io/nginx@sha256:aa');
  t.equal(formatDigestUpdateFailedMessage(), 'failed to update digest');
  t.equal(formatDigestUpdateFailedMessage('MANIFEST_UNKNOWN'), 'failed to update digest: MANIFEST_UNKNOWN');
  t.equal(
    formatAttestationCountMessage(0, 1, 'no matching attestations'),
    'image attestations verification failed, verifiedCount: 0, requiredCount: 1, error: no matching attestations',
  );
  t.equal(
    formatAttestationChecksFailedMessage(img, 'https://slsa.dev/provenance/v0.2', 'builder mismatch'),
    'attestation checks failed for ghcr.io/kyverno/test-verify-image:unsigned and predicate https://slsa.dev/provenance/v0.2: builder mismatch',
  );
  t.equal(
    formatAttestationsNotFoundMessage('https://cyclonedx.org/bom'),
    'attestions not found for predicate type https://cyclonedx.org/bom',
  );
  t.equal(formatValidateDenyMessage('critical CVEs'), 'validation in verifyImages failed: critical CVEs');
  t.equal(
    formatWebhookDenial(
      'mutate.kyverno.svc-fail',
      formatBlockedMessage({ kind: 'Pod', namespace: 'ns', name: 'p' }, [{ policy: 'pol', rule: 'r', message: 'm' }]),
    ),
    'admission webhook "mutate.kyverno.svc-fail" denied the request: \n\nresource Pod/ns/p was blocked due to the following policies \n\npol:\n  r: m\n',
    'spec §3 denial layout',
  );
});
