// Evaluations per second, for each CEL engine behind sigward's interface (the
// same compiled expression, the same input, through CompiledCel.evaluate), of
//   - a typical attestation gate: a vulnerability scan with 200 findings, "no
//     CRITICAL finding" through a severity filter (plus the equivalent Kyverno
//     JMESPath condition);
//   - a simple field comparison: predicate.repo.branch == "main".
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
    scanner: {
      uri: 'pkg:github/aquasecurity/trivy@0.49.1',
      version: '0.49.1',
      result: { SchemaVersion: 2, Results: results },
    },
    metadata: { scanStartedOn: '2024-03-01T10:00:00Z', scanFinishedOn: '2024-03-01T10:02:13Z' },
  };
}

const EXPR =
  "predicate.scanner.result.Results.all(r, size(r.Vulnerabilities.filter(v, v.Severity == 'CRITICAL')) == 0)";
const now = new Date('2024-03-02T00:00:00Z');
const statement = (critical: boolean) => ({
  _type: 'https://in-toto.io/Statement/v1',
  subject: [],
  predicateType: 'https://cosign.sigstore.dev/attestation/vuln/v1',
  predicate: scanPredicate(critical),
});
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
  simplePerSecond?: number;
  correct: string;
}

const SIMPLE = 'predicate.repo.branch == "main"';
const simpleVars = getAttestationVariables({
  statement: {
    _type: 'https://in-toto.io/Statement/v1',
    subject: [],
    predicateType: 'https://example.com/ci/v1',
    predicate: { repo: { url: 'https://github.com/org/app', branch: 'main' }, run: 42 },
  },
  now,
});

const rows: Row[] = [];
for (const [name, engine] of Object.entries(CEL_ENGINES)) {
  let program;
  let simple;
  try {
    program = compileCelWithEngine(engine, EXPR);
    simple = compileCelWithEngine(engine, SIMPLE);
  } catch (e) {
    rows.push({ name: `CEL ${name}`, correct: `compile error: ${(e as Error).message.slice(-70)}` });
    continue;
  }
  let correct: string;
  try {
    const a = program.evaluateBool(clean);
    const b = program.evaluateBool(dirty);
    const c = simple.evaluateBool(simpleVars);
    correct = a === true && b === false && c === true ? 'yes' : `WRONG (${a}, ${b}, ${c})`;
  } catch (e) {
    rows.push({ name: `CEL ${name}`, correct: `error: ${(e as Error).message.slice(-70)}` });
    continue;
  }
  const p = program;
  const q = simple;
  rows.push({
    name: `CEL ${name}${name === 'sigward' ? ' (used)' : ''}`,
    perSecond: measure(() => p.evaluate(clean)),
    simplePerSecond: measure(() => q.evaluate(simpleVars)),
    correct,
  });
}

// the same check as a Kyverno condition
const kyverno = compileKyvernoConditions([
  {
    all: [{
      key: "{{ scanner.result.Results[].Vulnerabilities[?Severity == 'CRITICAL'][] | length(@) }}",
      operator: 'Equals',
      value: 0,
    }],
  },
]);
const kClean = getKyvernoConditionContext((clean.statement as { predicate: unknown }).predicate);
const kDirty = getKyvernoConditionContext((dirty.statement as { predicate: unknown }).predicate);
const kOk = kyverno.evaluate(kClean, { now }).passed && !kyverno.evaluate(kDirty, { now }).passed;
const kSimple = compileKyvernoConditions([{ all: [{ key: '{{ repo.branch }}', operator: 'Equals', value: 'main' }] }]);
const kSimpleCtx = getKyvernoConditionContext((simpleVars.statement as { predicate: unknown }).predicate);
rows.push({
  name: 'Kyverno JMESPath condition',
  perSecond: measure(() => kyverno.evaluate(kClean, { now })),
  simplePerSecond: measure(() => kSimple.evaluate(kSimpleCtx, { now })),
  correct: kOk && kSimple.evaluate(kSimpleCtx, { now }).passed ? 'yes' : 'WRONG',
});

console.log(`gate:   ${EXPR}`);
console.log('        input: 4 results x 50 findings = 200 findings');
console.log(`simple: ${SIMPLE}`);
console.log('same compiled expression, same input for every engine');
console.log('');
const fmt = (v?: number) => (v === undefined ? '-' : Math.round(v).toLocaleString('en-US'));
const us = (v?: number) => (v === undefined ? '-' : (1e6 / v).toFixed(v > 100_000 ? 3 : 1));
console.log(
  `${'engine'.padEnd(32)} ${'gate evals/s'.padStart(13)} ${'µs/eval'.padStart(8)} ${'simple evals/s'.padStart(15)} ${
    'µs/eval'.padStart(8)
  }  correct`,
);
for (const r of rows) {
  console.log(
    `${r.name.padEnd(32)} ${fmt(r.perSecond).padStart(13)} ${us(r.perSecond).padStart(8)} ${
      fmt(r.simplePerSecond).padStart(15)
    } ${us(r.simplePerSecond).padStart(8)}  ${r.correct}`,
  );
}
