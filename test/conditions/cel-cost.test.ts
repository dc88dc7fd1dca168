// The CEL runtime cost limit (Kubernetes' per-expression limit and per-policy
// budget), large attestations and deep expressions: every evaluation ends,
// within bounded time, with a result or a clear error that fails the rule.
import t from 'tap';
import {
  CEL_EXPRESSION_COST_LIMIT,
  CelCostBudget,
  compileCel,
  getAttestationVariables,
} from '../../lib/conditions/cel.ts';
import { toCelGate } from '../../lib/attest/gate.ts';
import { isSigwardError } from '../../lib/errors.ts';

const NOW = new Date('2024-03-02T00:00:00Z');
const SEVERITIES = ['LOW', 'MEDIUM', 'HIGH', 'UNKNOWN'];

function scan(findings: number, critical = false): unknown {
  return {
    _type: 'https://in-toto.io/Statement/v1',
    subject: [],
    predicateType: 'https://cosign.sigstore.dev/attestation/vuln/v1',
    predicate: {
      scanner: {
        result: {
          Results: [
            {
              Target: 'app',
              Vulnerabilities: Array.from({ length: findings }, (_, i) => ({
                VulnerabilityID: `CVE-2024-${i}`,
                PkgName: `pkg-${i % 500}`,
                Severity: critical && i === findings - 1 ? 'CRITICAL' : SEVERITIES[i % 4],
              })),
            },
          ],
        },
      },
    },
  };
}

function thrown(fn: () => unknown): any {
  try {
    fn();
  } catch (e) {
    return e;
  }
  throw new Error('did not throw');
}

t.test('a runaway comprehension over a large attestation ends at the cost limit with a clear error', async (t) => {
  const vars = getAttestationVariables({ statement: scan(5000), now: NOW });
  // 5,000 x 5,000 = 25 million iterations: refused after one million cost units
  const expr =
    'predicate.scanner.result.Results[0].Vulnerabilities.all(a, predicate.scanner.result.Results[0].Vulnerabilities.exists(b, b.PkgName == a.PkgName))';
  const started = performance.now();
  const e = thrown(() => compileCel(expr).evaluateBool(vars));
  const ms = performance.now() - started;
  t.ok(isSigwardError(e), 'a SigwardError');
  t.equal(e.code, 'CONDITION_FAILED');
  t.match(e.message, /exceeded its CEL cost limit \(1000000\)/);
  t.equal(e.detail.reason, 'cost limit exceeded');
  t.ok(ms < 5000, `stopped in ${ms.toFixed(0)} ms`);

  // the same through an attestation gate: the rule fails, it does not pass
  const gate = toCelGate(expr);
  const r = gate.evaluate({ statement: scan(5000) as never, now: NOW });
  t.equal(r.passed, false);
  t.match(r.failures[0], /cost limit/);

  // a smaller input under the same expression is evaluated
  t.equal(compileCel(expr).evaluateBool(getAttestationVariables({ statement: scan(300), now: NOW })), true);
  // and an explicit per-expression limit is honoured
  const low = thrown(() =>
    compileCel('predicate.scanner.result.Results[0].Vulnerabilities.all(v, v.Severity != "CRITICAL")').evaluate(vars, {
      costLimit: 100,
    })
  );
  t.match(low.message, /cost limit \(100\)/);
});

t.test('an expression cannot build a huge string within its budget', async (t) => {
  const s = 'x'.repeat(20_000);
  const e = thrown(() =>
    compileCel("s.replace('', s).replace('', s).size() > 0", { variables: ['s'] }).evaluate({ s })
  );
  t.equal(e.code, 'CONDITION_FAILED');
  t.match(e.message, /cost limit/, 'refused before 400 million characters are built');
  t.equal(
    compileCel("s.replace('x', 'yy').size()", { variables: ['s'] }).evaluate({ s }),
    40_000n,
    'an ordinary replace is fine',
  );
});

t.test('the expressions of one policy share a budget', async (t) => {
  const vars = getAttestationVariables({ statement: scan(2000), now: NOW });
  const expr = compileCel(
    'predicate.scanner.result.Results[0].Vulnerabilities.filter(v, v.Severity == "HIGH").size() > 0',
  );
  const budget = new CelCostBudget(10_000);
  t.equal(expr.evaluateBool(vars, { budget }), true);
  const spent = budget.total - budget.remaining;
  t.ok(spent >= 2000 && spent < 10_000, `one evaluation spent ${spent} units`);
  let failed: any;
  for (let i = 0; i < 10 && !failed; i++) {
    try {
      expr.evaluateBool(vars, { budget });
    } catch (e) {
      failed = e;
    }
  }
  t.ok(failed, 'the budget runs out');
  t.equal(failed.code, 'CONDITION_FAILED');
  t.match(failed.message, /the policy's CEL cost budget \(10000\) is exhausted/);
  t.ok(CEL_EXPRESSION_COST_LIMIT === 1_000_000);
});

t.test('map and filter over long lists do not grow the stack', async (t) => {
  const n = 20_000;
  const items = Array.from({ length: n }, (_, i) => ({ id: i, ok: i % 3 !== 0 }));
  const vars = { items };
  const ev = (e: string) => compileCel(e, { variables: ['items'] }).evaluate(vars);
  t.equal(ev('items.map(i, i.id).size()'), BigInt(n));
  t.equal(ev('items.filter(i, i.ok).size()'), BigInt(items.filter((i) => i.ok).length));
  t.equal(ev('items.map(i, i.id * 2.0)[19999]'), 39998);
  t.equal(ev('items.all(i, i.id >= 0) && items.exists(i, i.id == 19999.0)'), true);
  t.equal(ev('items.transformList(k, v, v.id).size()'), BigInt(n));
  t.equal(ev('items.map(i, [i.id]).flatten().size()'), BigInt(n));
});

t.test('an attestation of 50,000 findings is evaluated within bounded time', async (t) => {
  const st = scan(50_000, true);
  const gate =
    "predicate.scanner.result.Results.all(r, size(r.Vulnerabilities.filter(v, v.Severity == 'CRITICAL')) == 0)";
  const started = performance.now();
  const ok = compileCel(gate).evaluateBool(getAttestationVariables({ statement: st, now: NOW }));
  const ms = performance.now() - started;
  t.equal(ok, false, 'the one CRITICAL finding is found');
  t.ok(ms < 2000, `50,000 findings in ${ms.toFixed(0)} ms`);
  const counts = compileCel('predicate.scanner.result.Results[0].Vulnerabilities.map(v, v.Severity).distinct()')
    .evaluate(
      getAttestationVariables({ statement: scan(50_000), now: NOW }),
    );
  t.same(counts, SEVERITIES);
});

t.test('deeply nested expressions are refused when compiling, never overflow the stack', async (t) => {
  for (
    const src of [
      '('.repeat(400) + '1' + ')'.repeat(400),
      '['.repeat(400) + ']'.repeat(400),
      '!'.repeat(100_001),
      '1' + ' + 1'.repeat(300),
    ]
  ) {
    const e = thrown(() => compileCel(src, { variables: [] }));
    t.equal(e.code, 'CONDITION_INVALID', `${src.slice(0, 12)}... is invalid`);
  }
  t.equal(
    compileCel('('.repeat(100) + '1' + ')'.repeat(100) + ' == 1', { variables: [] }).evaluate({}),
    true,
    '100 levels are fine',
  );
  // long flat expressions are not deep: a chain of 2,000 alternatives, a list of 300 comparisons
  const anyOf = compileCel(Array.from({ length: 2000 }, (_, i) => `x == ${i}`).join(' || '), { variables: ['x'] });
  t.equal(anyOf.evaluate({ x: 1999n }), true);
  t.equal(anyOf.evaluate({ x: 5000n }), false);
  t.same(
    compileCel(`[${Array.from({ length: 300 }, (_, i) => `${i} < 1`).join(', ')}][0]`, { variables: [] }).evaluate({}),
    true,
  );
});
