// Identity regexps decide as in cosign and Kyverno (a match anywhere in the
// value); the lint says when a pattern is not anchored, with the form to write.

import t from 'tap';
import { loadPolicies } from '../../lib/policy/index.ts';

const policy = (subjectRegExp: string, issuerRegExp: string) =>
  `apiVersion: kyverno.io/v1
kind: ClusterPolicy
metadata: {name: keyless}
spec:
  validationFailureAction: Enforce
  rules:
    - name: verify
      match: {any: [{resources: {kinds: [Pod]}}]}
      verifyImages:
        - imageReferences: ["ghcr.io/org/*"]
          attestors:
            - entries:
                - keyless:
                    subjectRegExp: '${subjectRegExp}'
                    issuerRegExp: '${issuerRegExp}'
                    rekor: {url: https://rekor.sigstore.dev}
`;

t.test('unanchored identity regexps are warned about', async (t) => {
  const warnings = (s: string, i: string) =>
    loadPolicies(policy(s, i)).warnings.map((w) => w.message).filter((m) => /not anchored/.test(m));
  const w = warnings('https://github\\.com/org/.*', 'https://token\\.actions\\.githubusercontent\\.com');
  t.equal(w.length, 2, 'both patterns');
  t.match(
    w[0],
    /subjectRegExp "https:\/\/github\\\\\.com\/org\/\.\*" is not anchored: like cosign and Kyverno.*write "\^\(\?:https:\/\/github\\\\\.com\/org\/\.\*\)\$"/,
  );
  t.same(
    warnings('^https://github\\.com/org/.*$', '^https://token\\.actions\\.githubusercontent\\.com$'),
    [],
    'anchored patterns: no warning',
  );
  t.equal(
    warnings('^https://github\\.com/org/', '(?i)^https://token\\.actions\\.githubusercontent\\.com$').length,
    1,
    'half anchored: warned',
  );
});
