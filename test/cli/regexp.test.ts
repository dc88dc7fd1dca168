// Regular expressions from policies and flags through the built binary: Go's
// RE2 (linear time) as Kyverno and cosign run them. The patterns below take a
// backtracking engine 2^n steps on the given values (the issue's label of 30
// a's and a '!': about 39 s; an identity of 40 characters: hours); each run
// here must answer within seconds (the CLI runs are killed at 20 s, so the old
// engine fails the test instead of hanging it). Patterns Go refuses are an
// error naming Go's reason (a failed rule, a policy or usage error), never a
// match.

import t from 'tap';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RegistryClient } from '../../lib/oci/registry.ts';
import { pushImageDetailed, withRegistry } from '../helpers/registry.ts';
import { runSigward } from '../helpers/cli.ts';
import { kubectlPod } from '../helpers/kubectl.ts';
import { DEFAULT_ISSUER, pushLegacySignature, withSigstoreMock } from '../helpers/sigstore.ts';

const tmp = mkdtempSync(join(tmpdir(), 'sigward-regexp-'));
let n = 0;
const file = (text: string, ext = 'yaml') => {
  const p = join(tmp, `f${n++}.${ext}`);
  writeFileSync(p, text);
  return p;
};

const CATASTROPHIC = '^([a-z0-9]+[-_.]?)+$';
const EVIL_LABEL = 'a'.repeat(30) + '!';
const DEADLINE_MS = 20_000;

t.test('regular expressions in sigward check and verify', async (t) => {
  const reg = await withRegistry(t);
  const mock = await withSigstoreMock(t);
  const store = new RegistryClient();
  t.teardown(() => store.close());
  const repo = reg.ref('regexp/app');
  const img = await pushImageDetailed(store, repo, { tag: 'v1' });
  // an identity of 40 word characters and a '!': no match for the pattern below, after 2^40 steps of backtracking
  const longIdentity = `${'a'.repeat(40)}!@corp.example`;
  await pushLegacySignature(
    store,
    repo,
    img.digest,
    await mock.signLegacy(img.digest, `${reg.host}/regexp/app`, { identity: longIdentity }),
  );
  const ref = `${reg.host}/regexp/app@${img.digest}`;
  const trusted = ['--trusted-root', mock.trustedRootPath];

  const check = async (policy: string, pod: Record<string, unknown>) => {
    const started = Date.now();
    const r = await runSigward([
      'check',
      '--policy',
      file(policy),
      '--resource',
      file(JSON.stringify(pod), 'json'),
      ...trusted,
      '-o',
      'json',
    ], { timeoutMs: DEADLINE_MS });
    return { ...r, ms: Date.now() - started };
  };
  const pod = (labels: Record<string, string>) => {
    const p = kubectlPod('app', `${reg.host}/regexp/app:v1`);
    (p.metadata as Record<string, unknown>).labels = labels;
    return p;
  };

  await t.test("the issue's precondition: regex_match on a label of 30 a's and a '!'", async (t) => {
    const policy = `apiVersion: kyverno.io/v1
kind: ClusterPolicy
metadata:
  name: team-images
spec:
  validationFailureAction: Enforce
  rules:
    - name: verify-team
      match:
        any:
          - resources:
              kinds: [Pod]
      preconditions:
        all:
          - key: "{{ regex_match('${CATASTROPHIC}', request.object.metadata.labels.team) }}"
            operator: Equals
            value: true
      verifyImages:
        - imageReferences: ["${reg.host}/regexp/*"]
          attestors:
            - entries:
                - keyless:
                    subject: "dev@corp.example"
                    issuer: "${DEFAULT_ISSUER}"
`;
    const evil = await check(policy, pod({ team: EVIL_LABEL }));
    t.equal(
      evil.code,
      0,
      `no match: the precondition does not hold, the rule is skipped (${evil.ms} ms)\n${evil.stderr}`,
    );
    t.ok(evil.ms < DEADLINE_MS / 2, `answered in ${evil.ms} ms`);
    t.equal(JSON.parse(evil.stdout).results[0].allowed, true);
    const team = await check(policy, pod({ team: 'platform-team' }));
    t.equal(team.code, 1, 'a match: the precondition holds and the image (signed by another identity) is blocked');
    t.match(team.stdout, /identity mismatch/);
    const broken = await check(policy.replace(CATASTROPHIC, '^(a)\\\\1$'), pod({ team: 'aa' }));
    t.equal(broken.code, 1, 'a backreference (Go refuses it): the rule fails, never a match or a skip');
    t.match(JSON.parse(broken.stdout).results[0], {
      allowed: false,
      rules: [{ status: 'fail', message: /regex_match\(\): error parsing regexp: invalid escape sequence: `\\1`/ }],
    });
  });

  const keylessPolicy = (field: string) =>
    `apiVersion: kyverno.io/v1
kind: ClusterPolicy
metadata:
  name: keyless-regexp
spec:
  validationFailureAction: Enforce
  rules:
    - name: keyless
      match:
        any:
          - resources:
              kinds: [Pod]
      verifyImages:
        - imageReferences: ["${reg.host}/regexp/*"]
          attestors:
            - entries:
                - keyless:
                    ${field}
                    issuer: "${DEFAULT_ISSUER}"
                    rekor:
                      url: ${mock.url}
`;

  await t.test('keyless subjectRegExp with a catastrophic pattern', async (t) => {
    const r = await check(keylessPolicy(`subjectRegExp: '^([a-z0-9]+[-_.]?)+@corp\\.example$'`), pod({}));
    t.equal(r.code, 1, `the '!' in the identity does not match: blocked (${r.ms} ms)\n${r.stderr}`);
    t.match(r.stdout, /certificate identity mismatch/);
    t.ok(r.ms < DEADLINE_MS / 2, `answered in ${r.ms} ms`);
    const ok = await check(keylessPolicy(`subjectRegExp: '^([a-z0-9!]+[-_.]?)+@corp\\.example$'`), pod({}));
    t.equal(ok.code, 0, `the same shape of pattern that matches: allowed\n${ok.stdout}${ok.stderr}`);
    const lookahead = await check(keylessPolicy(`subjectRegExp: '^(?=a).*@corp\\.example$'`), pod({}));
    t.equal(lookahead.code, 2, 'a lookahead (Go refuses it) is a policy error');
    t.match(JSON.parse(lookahead.stdout).error, {
      code: 'POLICY_INVALID',
      message: /keyless\.subjectRegExp: error parsing regexp: invalid or unsupported Perl syntax: `\(\?=`/,
    });
  });

  await t.test('--certificate-identity-regexp / --certificate-oidc-issuer-regexp', async (t) => {
    const verify = async (args: string[]) => {
      const started = Date.now();
      const r = await runSigward(['verify', ref, ...trusted, ...args], { timeoutMs: DEADLINE_MS });
      return { ...r, out: r.stdout + r.stderr, ms: Date.now() - started };
    };
    const slow = await verify([
      '--certificate-identity-regexp',
      '^([a-z0-9]+[-_.]?)+@corp\\.example$',
      '--certificate-oidc-issuer',
      DEFAULT_ISSUER,
    ]);
    t.equal(slow.code, 1, `no match: denied (${slow.ms} ms)\n${slow.stderr}`);
    t.match(slow.out, /certificate identity mismatch/);
    t.ok(slow.ms < DEADLINE_MS / 2, `answered in ${slow.ms} ms`);
    const issuer = await verify([
      '--certificate-identity',
      longIdentity,
      '--certificate-oidc-issuer-regexp',
      '^https://(o|i|d|c|oi|dc)+\\.sigward\\.(test!|example)$',
    ]);
    t.equal(issuer.code, 1, `issuer regexp: no match, denied (${issuer.ms} ms)`);
    t.match(issuer.out, /issuer mismatch/);
    const both = await verify([
      '--certificate-identity-regexp',
      '(?i)^(?P<user>[A-Z!]+)@corp\\.example$',
      '--certificate-oidc-issuer-regexp',
      '^https://(o|i|d|c|oi|dc)+\\.sigward\\.test$',
    ]);
    t.equal(both.code, 0, `Go syntax ((?i), (?P<name>)) that matches: verified\n${both.stderr}`);
    for (
      const [flag, pattern, reason] of [
        ['--certificate-identity-regexp', '(a)\\1', /invalid escape sequence: `\\1`/],
        ['--certificate-oidc-issuer-regexp', '(?<!evil)\\.sigward\\.test$', /invalid named capture/],
      ] as const
    ) {
      const other = flag === '--certificate-identity-regexp'
        ? ['--certificate-oidc-issuer', DEFAULT_ISSUER]
        : ['--certificate-identity', longIdentity];
      const r = await verify([flag, pattern, ...other]);
      t.equal(r.code, 2, `${flag} ${pattern}: a usage error`);
      t.match(r.stderr, /invalid regular expression .*\(Go RE2 syntax\): error parsing regexp: /);
      t.match(r.stderr, reason);
      t.equal(r.stdout, '', 'nothing that reads like a verdict');
    }
  });
});
