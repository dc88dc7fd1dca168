import t from 'tap';
import { join } from 'node:path';
import { readdirSync } from 'node:fs';
import { runSigward } from '../helpers/cli.ts';
import { ROOT, SHARED } from '../helpers/fixtures.ts';

t.test('policy lint points at the exact line and column of a broken field', async (t) => {
  const r = await runSigward(['policy', 'lint', join(ROOT, 'testdata/policy/broken/misspelled-field.yaml')]);
  t.equal(r.code, 1);
  t.match(
    r.stdout,
    /misspelled-field\.yaml:17:11: error: unknown field "spec\.rules\[0\]\.verifyImages\[0\]\.atestors" \(did you mean "attestors"\?\)/,
  );
  const j = await runSigward(['policy', 'lint', join(ROOT, 'testdata/policy/broken'), '-o', 'json']);
  t.equal(j.code, 1);
  const doc = JSON.parse(j.stdout);
  t.equal(doc.valid, false);
  t.ok(doc.errors >= 5, `${doc.errors} errors across the broken fixtures`);
  t.ok(
    doc.diagnostics.every((d: { line: number; column: number }) => d.line > 0 && d.column > 0),
    'every diagnostic has a position',
  );
});

t.test('every public policy-library policy and every seed policy lints', async (t) => {
  const lib = await runSigward(['policy', 'lint', join(SHARED, 'kyverno-policies'), '-o', 'json']);
  t.equal(lib.code, 0, 'the policy library has no errors');
  t.equal(JSON.parse(lib.stdout).policies.length, 12);
  // seeds reuse policy names across guides: lint each on its own
  for (const f of readdirSync(join(ROOT, 'testdata/policy/seeds')).filter((f) => f.endsWith('.yaml'))) {
    const r = await runSigward(['policy', 'lint', join(ROOT, 'testdata/policy/seeds', f)]);
    // 000-3 sets mutateDigest: true with Audit, which Kyverno itself rejects
    t.equal(r.code, f.startsWith('000-3') ? 1 : 0, `${f}`);
  }
});
