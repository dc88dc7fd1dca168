// sigward's CEL engine passes every runnable cel-spec conformance case
// (scripts/conformance-cel.ts, the suite shipped by @bufbuild/cel-spec),
// extension suites included: a regression here is a change of CEL semantics.
import t from 'tap';
import { execFileSync } from 'node:child_process';

t.test("cel-spec conformance through sigward's CEL interface", async (t) => {
  const script = new URL('../../scripts/conformance-cel.ts', import.meta.url).pathname;
  const out = execFileSync(process.execPath, [script, '--library', 'sigward', '--by-suite', '--verbose', '--strict'], {
    encoding: 'utf8',
  });
  const last = out.trim().split('\n').pop() ?? '';
  const m = /^(\d+) passed, (\d+) failed, (\d+) skipped$/.exec(last);
  t.ok(m, last);
  t.equal(Number(m?.[2]), 0, `no failure: ${out.split('\n').filter((l) => l.startsWith('FAIL')).join('\n')}`);
  t.ok(Number(m?.[1]) >= 1714, `${m?.[1]} cases pass`);
  for (const suite of ['optionals', 'math_ext', 'macros2', 'bindings_ext', 'block_ext', 'encoders_ext', 'string_ext']) {
    const row = new RegExp(`^\\s+${suite}\\s+(\\d+)/0$`, 'm').exec(out);
    t.ok(row && Number(row[1]) > 0, `${suite}: ${row?.[0]?.trim()}`);
  }
});
