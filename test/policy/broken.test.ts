// Broken fixtures: each error points at the exact line and column, and every
// error of a file is collected (not just the first).

import t from 'tap';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { isSigwardError, type SigwardError } from '../../lib/errors.ts';
import { loadPolicies, loadPolicyPaths, type PolicyDiagnostic } from '../../lib/policy/index.ts';
import { brief, noSecrets, TESTDATA } from './helpers.ts';

const dir = join(TESTDATA, 'broken');

function failure(name: string): SigwardError {
  const text = readFileSync(join(dir, name), 'utf8');
  try {
    loadPolicies(text, { file: name, resolveSecret: noSecrets });
  } catch (e) {
    if (isSigwardError(e)) return e;
    throw e;
  }
  throw new Error(`${name} loaded without error`);
}

const errors = (e: SigwardError): PolicyDiagnostic[] => e.detail?.['errors'] as PolicyDiagnostic[];

t.test('misspelled field: at the key, with a did-you-mean', async (t) => {
  const e = failure('misspelled-field.yaml');
  t.equal(e.code, 'POLICY_INVALID');
  t.equal(e.outcome, 'usage');
  t.equal(
    e.message,
    'misspelled-field.yaml:17:11: unknown field "spec.rules[0].verifyImages[0].atestors" (did you mean "attestors"?)',
  );
  t.equal(errors(e).length, 1, 'no follow-up noise');
  t.same(errors(e)[0], {
    file: 'misspelled-field.yaml',
    line: 17,
    column: 11,
    severity: 'error',
    message: 'unknown field "spec.rules[0].verifyImages[0].atestors" (did you mean "attestors"?)',
    path: 'spec.rules[0].verifyImages[0].atestors',
  });
});

t.test('wrong types: at the value, both reported', async (t) => {
  const e = failure('wrong-type.yaml');
  t.same(errors(e).map(brief), [
    '15:28 spec.rules[0].verifyImages[0].imageReferences: expected a list, got string "ghcr.io/kyverno/test-verify-image*"',
    '16:25 spec.rules[0].verifyImages[0].mutateDigest: expected a boolean (true or false), got string "yes"',
  ]);
});

t.test('bad count: at the count value', async (t) => {
  const e = failure('bad-count.yaml');
  t.same(errors(e).map(brief), [
    '18:22 spec.rules[0].verifyImages[0].attestors[0].count: Invalid value: 3: Count cannot exceed length of entries (2)',
  ]);
});

t.test('variable in imageReferences: at the offending item', async (t) => {
  const e = failure('variable-image-reference.yaml');
  t.same(errors(e).map(brief), [
    '17:15 spec.rules[0].verifyImages[0].imageReferences[1]: variables are not allowed in image reference',
  ]);
});

t.test('several errors in two documents: all collected, in order', async (t) => {
  const e = failure('several-errors.yaml');
  t.same(errors(e).map(brief), [
    '8:26 spec.webhookTimeoutSeconds: Invalid value: 45: the timeout value must be between 1 and 30 seconds',
    '19:25 spec.rules[0].verifyImages[0].mutateDigest: Invalid value: true: mutateDigest must be set to false for ‘Audit’ failure action',
    '20:11 unknown field "spec.rules[0].verifyImages[0].requried" (did you mean "required"?)',
    '22:22 spec.rules[0].verifyImages[0].attestors[0].count: Invalid value: 0: must be greater than or equal to 1',
    '24:19 spec.rules[0].verifyImages[0].attestors[0].entries[0]: keys, certificates, keyless, or a nested attestor is required (found keys, keyless: use one per entry)',
    '43:19 spec.rules[0].match.any[0].resources.kinds[0]: wildcard policy does not support rule type',
    '50:19 spec.rules[0].verifyImages[0].attestors[0].entries[0]: keys, certificates, keyless, or a nested attestor is required',
  ]);
  t.equal(e.message.split('\n').length, 7, 'one message line per error');
  t.match(e.message.split('\n')[0], /^several-errors\.yaml:8:26: /);
});

t.test('invalid YAML: reported with a position, not thrown raw', async (t) => {
  const e = failure('invalid-yaml.yaml');
  t.ok(errors(e).length >= 1);
  t.match(errors(e)[0]!.message, /^invalid YAML: /);
  t.equal(errors(e)[0]!.line, 9);
});

t.test('a directory with broken files: every file reported', async (t) => {
  try {
    loadPolicyPaths([dir], { resolveSecret: noSecrets });
    t.fail('should throw');
  } catch (e) {
    if (!isSigwardError(e)) throw e;
    const files = new Set(errors(e).map((d) => d.file?.split('/').pop()));
    t.same([...files].sort(), [
      'bad-count.yaml',
      'invalid-yaml.yaml',
      'misspelled-field.yaml',
      'several-errors.yaml',
      'variable-image-reference.yaml',
      'wrong-type.yaml',
    ]);
  }
});
