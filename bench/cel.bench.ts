// Evaluations per second of a typical attestation condition — a vulnerability
// scan with 200 findings, "no CRITICAL finding" through a severity filter —
// for each CEL engine behind sigward's interface (the same compiled
// expression, the same input), plus the equivalent Kyverno JMESPath condition.
// A few seconds in total:  node bench/cel.bench.ts [--ms 700]

import { CEL_ENGINES } from './cel-adapters.ts';
import { compileCelWithEngine, getAttestationVariables } from '../lib/conditions/cel.ts';
import { compileKyvernoConditions, getKyvernoConditionContext } from '../lib/conditions/kyverno.ts';

const msArg = process.argv.indexOf('--ms');
const BUDGET_MS = msArg > 0 ? Number(process.argv[msArg + 1]) : 700;

const SEVERITIES = ['LOW', 'MEDIUM', 'HIGH', 'UNKNOWN'];

function scanPredicate(critical: boolean): unknown {
  const results = [0, 1, 2, 3].map((r) => ({
    Target: `target-${r}`,
    Class: r === 0 ? 'os-pkgs' : 'lang-pkgs',
    Vulnerabilities: Array.from({ length: 50 }, (_, i) => ({
      VulnerabilityID: `CVE-2024-${1000 + r * 50 + i}`,
      PkgName: `pkg-${i}`,
      InstalledVersion: `1.${i}.0`,
      FixedVersion: `1.${i}.1`,
      Severity: critical && r === 3 && i === 49 ? 'CRITICAL' : SEVERITIES[(r + i) % SEVERITIES.length],
      CVSS: { nvd: { V3Score: ((r * 50 + i) % 89) / 10 } },
    })),
  }));
  return {
    scanner: { uri: 'pkg:github/aquasecurity/trivy@0.49.1', version: '0.49.1', result: { SchemaVersion: 2, Results: results } },
    metadata: { scanStartedOn: '2024-03-01T10:00:00Z', scanFinishedOn: '2024-03-01T10:02:13Z' },
  };
}

const EXPR = "predicate.scanner.result.Results.all(r, size(r.Vulnerabilities.filter(v, v.Severity == 'CRITICAL')) == 0)";
const now = new Date('2024-03-02T00:00:00Z');
const statement = (critical: boolean) => ({ _type: 'https://in-toto.io/Statement/v1', subject: [], predicateType: 'https://cosign.sigstore.dev/attestation/vuln/v1', predicate: scanPredicate(critical) });
const clean = getAttestationVariables({ statement: statement(false), now });
const dirty = getAttestationVariables({ statement: statement(true), now });

function measure(fn: () => unknown): number {
  const warm = performance.now();
  while (performance.now() - warm < BUDGET_MS / 4) fn();
  let n = 0;
  const start = performance.now();
  let elapsed = 0;
  while (elapsed < BUDGET_MS) {
    for (let i = 0; i < 10; i++) fn();
    n += 10;
    elapsed = performance.now() - start;
  }
  return (n * 1000) / elapsed;
}

interface Row {
  name: string;
  perSecond?: number;
  correct: string;
}

const rows: Row[] = [];
for (const [name, engine] of Object.entries(CEL_ENGINES)) {
  let program;
  try {
    program = compileCelWithEngine(engine, EXPR);
  } catch (e) {
    rows.push({ name: `CEL ${name}`, correct: `compile error: ${(e as Error).message.slice(-70)}` });
    continue;
  }
  let correct: string;
  try {
    const a = program.evaluateBool(clean);
    const b = program.evaluateBool(dirty);
    correct = a === true && b === false ? 'yes' : `WRONG (${a}, ${b})`;
  } catch (e) {
    rows.push({ name: `CEL ${name}`, correct: `error: ${(e as Error).message.slice(-70)}` });
    continue;
  }
  rows.push({ name: `CEL ${name}${name === '@bufbuild/cel' ? ' (sigward)' : ''}`, perSecond: measure(() => program.evaluate(clean)), correct });
}

// the same check as a Kyverno condition
const kyverno = compileKyvernoConditions([
  { all: [{ key: "{{ scanner.result.Results[].Vulnerabilities[?Severity == 'CRITICAL'][] | length(@) }}", operator: 'Equals', value: 0 }] },
]);
const kClean = getKyvernoConditionContext((clean.statement as { predicate: unknown }).predicate);
const kDirty = getKyvernoConditionContext((dirty.statement as { predicate: unknown }).predicate);
const kOk = kyverno.evaluate(kClean, { now }).passed && !kyverno.evaluate(kDirty, { now }).passed;
rows.push({ name: 'Kyverno JMESPath condition', perSecond: measure(() => kyverno.evaluate(kClean, { now })), correct: kOk ? 'yes' : 'WRONG' });

console.log(`condition: ${EXPR}`);
console.log('input: 4 results x 50 findings = 200 findings; same compiled expression, same input');
console.log('');
console.log(`${'engine'.padEnd(36)} ${'evals/s'.padStart(10)} ${'µs/eval'.padStart(9)}  correct`);
for (const r of rows) {
  const ps = r.perSecond === undefined ? '-' : Math.round(r.perSecond).toLocaleString('en-US');
  const us = r.perSecond === undefined ? '-' : (1e6 / r.perSecond).toFixed(1);
  console.log(`${r.name.padEnd(36)} ${ps.padStart(10)} ${us.padStart(9)}  ${r.correct}`);
}
