// `sigward policy lint`: diagnostics with positions, lint-only checks, text format.

import t from 'tap';
import { join } from 'node:path';
import {
  formatDiagnostic,
  formatDiagnostics,
  formatLintSummary,
  lintPolicyPaths,
  lintPolicyText,
} from '../../lib/policy/index.ts';
import { indent, noSecrets, policyWith, TEST_KEY, TESTDATA, VECTORS } from './helpers.ts';

t.test('lint of a directory: errors, warnings and notes with file:line:col', async (t) => {
  const r = lintPolicyPaths([join(TESTDATA, 'broken'), join(VECTORS, 'verify-image-gcpkms.yaml')], {
    resolveSecret: noSecrets,
  });
  t.equal(r.policies.length, 1, 'only the valid policy loads');
  t.equal(r.errors, 14);
  const text = formatDiagnostics(r.diagnostics);
  const lines = text.split('\n');
  t.ok(
    lines.includes(
      `${
        join(TESTDATA, 'broken', 'bad-count.yaml')
      }:18:22: error: spec.rules[0].verifyImages[0].attestors[0].count: Invalid value: 3: Count cannot exceed length of entries (2)`,
    ),
  );
  t.ok(
    lines.some((l) =>
      l.endsWith(
        'verify-image-gcpkms.yaml:35:20: warning: spec.rules[0].verifyImages[0].attestors[0].entries[0].keys.kms: KMS key gcpkms://projects/omni-163105/locations/asia-south1/keyRings/first-ring/cryptoKeys/jerry/versions/1 cannot be used offline: provide the public key with publicKeys',
      )
    ),
    'KMS is a warning at lint time',
  );
  t.notOk(lines.some((l) => l.includes(': note: ')), 'notes hidden by default');
  t.ok(formatDiagnostics(r.diagnostics, { notes: true }).includes(': note: '));
  t.match(formatLintSummary(r), /^1 policy loaded, 14 errors, \d+ warnings?$/);
});

t.test('format of one diagnostic', async (t) => {
  t.equal(
    formatDiagnostic({ file: 'a.yaml', line: 3, column: 7, severity: 'error', message: 'boom' }),
    'a.yaml:3:7: error: boom',
  );
  t.equal(formatDiagnostic({ line: 1, column: 1, severity: 'info', message: 'fyi' }), '<input>:1:1: note: fyi');
});

t.test('lint-only checks', async (t) => {
  const lint = (entry: string) => lintPolicyText(policyWith(entry), { file: 'p.yaml', resolveSecret: noSecrets });
  const keys = (pem: string) =>
    `imageReferences: ["ghcr.io/org/*"]
          attestors:
            - entries:
                - keys:
                    publicKeys: |-
                      ${indent(pem, 22)}`;
  t.same(lint(keys(TEST_KEY)).diagnostics, [], 'a good key: nothing to say');
  const bad = lint(keys(TEST_KEY.replace('MFkw', 'AAAA')));
  t.equal(bad.warnings, 1);
  t.match(bad.diagnostics[0], {
    line: 18,
    column: 33,
    severity: 'warning',
    message: /keys\.publicKeys: public key: cannot parse PUBLIC KEY/,
  });
  const split = lint(keys(`${TEST_KEY}\n${TEST_KEY.replace('MFkw', 'AAAA')}`));
  t.match(split.diagnostics[0]?.message, /publicKeys \(key #2\): public key: cannot parse/);

  const noRegistry = lint(
    'imageReferences: ["nginx:*", "library/busybox*", "*/app:*", "localhost:5000/app*"]\n          attestors: [{entries: [{keys: {publicKeys: "{{ k }}"}}]}]',
  );
  t.same(
    noRegistry.diagnostics.map((d) => `${d.severity} ${d.path}`),
    [
      'warning spec.rules[0].verifyImages[0].imageReferences[0]',
      'warning spec.rules[0].verifyImages[0].imageReferences[1]',
    ],
  );
  t.match(noRegistry.diagnostics[0]?.message, /"nginx:\*" has no registry: .* write "docker\.io\/nginx:\*"/);

  const tagged = lint(
    'imageReferences: ["ghcr.io/org/app:v1"]\n          attestors: [{entries: [{keys: {publicKeys: "{{ k }}"}}]}]',
  );
  t.same(tagged.diagnostics.map((d) => d.severity), ['info']);

  const cert = lint(
    'imageReferences: ["ghcr.io/*"]\n          attestors: [{entries: [{certificates: {certChain: "not a cert"}}]}]',
  );
  t.match(cert.diagnostics[0]?.message, /certificates\.certChain: no PEM certificate found/);
});
