// `sigward serve` with regular expressions a backtracking engine takes 2^n
// steps on: the issue's precondition regex_match('^([a-z0-9]+[-_.]?)+$', label)
// with a label of 30 a's and a '!' (39 s of a blocked event loop before), and a
// keyless subjectRegExp of the same shape against a long identity. While the
// review is in flight /healthz must keep answering within a second, and the
// review must be answered well inside the webhook deadline (client timeouts
// turn a hang into a failure).

import t from 'tap';
import { rmSync } from 'node:fs';
import { RegistryClient } from '../../lib/oci/registry.ts';
import { pushImageDetailed, withRegistry } from '../helpers/registry.ts';
import { kubectlPod } from '../helpers/kubectl.ts';
import { DEFAULT_ISSUER, pushLegacySignature, withSigstoreMock } from '../helpers/sigstore.ts';
import {
  type AdmissionResponseJson,
  httpsRequest,
  type ServeHandle,
  startServe,
  tmpDir,
  toReview,
  unfold,
  writePolicy,
} from './helpers.ts';

const REVIEW_TIMEOUT_MS = 15_000;

/** POSTs a review and probes /healthz every 200 ms until it is answered; returns the response and the slowest probe. */
async function reviewWhileProbing(
  srv: ServeHandle,
  review: unknown,
): Promise<{ response: AdmissionResponseJson; ms: number; slowestProbeMs: number; failedProbes: number }> {
  const started = Date.now();
  let done = false;
  let slowestProbeMs = 0;
  let failedProbes = 0;
  const probing = (async () => {
    while (!done) {
      const t0 = Date.now();
      try {
        const r = await httpsRequest(`${srv.url}/healthz`, { method: 'GET', ca: srv.ca.caCertPem, timeoutMs: 1000 });
        if (r.status !== 200) failedProbes++;
      } catch {
        failedProbes++;
      }
      slowestProbeMs = Math.max(slowestProbeMs, Date.now() - t0);
      await new Promise((r) => setTimeout(r, 200));
    }
  })();
  try {
    const r = await httpsRequest(`${srv.url}/mutate`, {
      method: 'POST',
      ca: srv.ca.caCertPem,
      body: JSON.stringify(review),
      timeoutMs: REVIEW_TIMEOUT_MS,
    });
    if (r.status !== 200) throw new Error(`/mutate answered HTTP ${r.status}: ${r.body}`);
    return {
      response: (JSON.parse(r.body) as { response: AdmissionResponseJson }).response,
      ms: Date.now() - started,
      slowestProbeMs,
      failedProbes,
    };
  } finally {
    done = true;
    await probing;
  }
}

t.test('sigward serve: regular expressions run in linear time', async (t) => {
  const reg = await withRegistry(t);
  const mock = await withSigstoreMock(t);
  const store = new RegistryClient();
  t.teardown(() => store.close());
  const repo = reg.ref('regexp/app');
  const img = await pushImageDetailed(store, repo, { tag: 'v1' });
  const longIdentity = `${'a'.repeat(40)}!@corp.example`;
  await pushLegacySignature(
    store,
    repo,
    img.digest,
    await mock.signLegacy(img.digest, `${reg.host}/regexp/app`, { identity: longIdentity }),
  );

  const policies = tmpDir('sigward-serve-regexp-');
  t.teardown(() => rmSync(policies, { recursive: true, force: true }));
  const rule = (name: string, images: string, extra: string, keyless: string) =>
    `apiVersion: kyverno.io/v1
kind: ClusterPolicy
metadata:
  name: ${name}
spec:
  validationFailureAction: Enforce
  failurePolicy: Fail
  rules:
    - name: ${name}
      match:
        any:
          - resources:
              kinds: [Pod]
${extra}      verifyImages:
        - imageReferences: ["${images}"]
          mutateDigest: false
          attestors:
            - entries:
                - keyless:
                    ${keyless}
                    issuer: "${DEFAULT_ISSUER}"
                    rekor:
                      url: ${mock.url}
`;
  writePolicy(
    policies,
    'team.yaml',
    rule(
      'team-images',
      `${reg.host}/regexp/team*`,
      `      preconditions:
        all:
          - key: "{{ regex_match('^([a-z0-9]+[-_.]?)+$', request.object.metadata.labels.team) }}"
            operator: Equals
            value: true
`,
      'subject: "dev@corp.example"',
    ),
  );
  writePolicy(
    policies,
    'identity.yaml',
    rule('identity-regexp', `${reg.host}/regexp/app*`, '', `subjectRegExp: '^([a-z0-9]+[-_.]?)+@corp\\.example$'`),
  );
  const srv = await startServe({ policyDir: policies, extraArgs: ['--trusted-root', mock.trustedRootPath] });
  t.teardown(() => srv.stop('SIGKILL'));

  const pod = (image: string, labels: Record<string, string> = {}) => {
    const p = kubectlPod('app', image);
    (p.metadata as Record<string, unknown>).labels = labels;
    return toReview(p);
  };

  await t.test("precondition regex_match on a label of 30 a's and a '!'", async (t) => {
    const r = await reviewWhileProbing(srv, pod(`${reg.host}/regexp/team:v1`, { team: 'a'.repeat(30) + '!' }));
    t.equal(r.response.allowed, true, 'no match: the precondition does not hold, no rule applies');
    t.ok(r.ms < 5_000, `answered in ${r.ms} ms`);
    t.equal(r.failedProbes, 0, '/healthz answered throughout');
    t.ok(r.slowestProbeMs < 1_000, `slowest /healthz: ${r.slowestProbeMs} ms`);
    const matching = await reviewWhileProbing(srv, pod(`${reg.host}/regexp/team:v1`, { team: 'platform' }));
    t.equal(
      matching.response.allowed,
      false,
      'a match: the precondition holds, the image (absent from the registry) is denied',
    );
  });

  await t.test('keyless subjectRegExp against a 55-character identity', async (t) => {
    const r = await reviewWhileProbing(srv, pod(`${reg.host}/regexp/app:v1`));
    t.equal(r.response.allowed, false, 'no match: denied');
    t.match(unfold(r.response.status?.message), /certificate identity mismatch/);
    t.ok(r.ms < 5_000, `answered in ${r.ms} ms`);
    t.equal(r.failedProbes, 0, '/healthz answered throughout');
    t.ok(r.slowestProbeMs < 1_000, `slowest /healthz: ${r.slowestProbeMs} ms`);
  });
});
