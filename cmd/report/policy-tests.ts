// Policy tests in the shape of `kyverno test` files (kyverno-test.yaml,
// cli.kyverno.io/v1alpha1 Test): the policies and resources to load, and the
// result expected per policy, rule and resource. Pure: parsing takes text,
// comparing takes evaluations; the command (cmd/commands/test.ts) does the I/O.

import { dirname, isAbsolute, join } from 'node:path';
import { parse } from 'yaml';
import { SigwardError } from '../../lib/errors.ts';
import type { Evaluation } from '../../lib/engine/index.ts';

export type ExpectedStatus = 'pass' | 'fail' | 'skip' | 'error' | 'warn';
const STATUSES: readonly ExpectedStatus[] = ['pass', 'fail', 'skip', 'error', 'warn'];

export interface ExpectedResult {
  /** `name`, or `namespace/name` for a namespaced Policy */
  policy: string;
  rule: string;
  /** resource names, or `namespace/name` */
  resources: string[];
  kind?: string;
  result: ExpectedStatus;
}

export interface PolicyTest {
  file: string;
  name: string;
  /** absolute paths */
  policies: string[];
  resources: string[];
  results: ExpectedResult[];
}

const TOP_LEVEL = new Set(['apiVersion', 'kind', 'metadata', 'name', 'policies', 'resources', 'results']);
/** Fields of kyverno test files that sigward cannot honour: refused, never ignored. */
const UNSUPPORTED: Record<string, string> = {
  variables: 'variable values files',
  values: 'variable values',
  userinfo: 'request user info files',
  exceptions: 'policy exceptions',
  checks: 'checks (assertion trees)',
  targetResources: 'target resources',
  paramResources: 'parameter resources',
  clusterResources: 'cluster resources',
  context: 'a context file',
};
const RESULT_FIELDS = new Set(['policy', 'rule', 'resource', 'resources', 'kind', 'result', 'status', 'namespace']);

function invalid(file: string, message: string): SigwardError {
  return new SigwardError('CONFIG_INVALID', `${file}: ${message}`);
}

function strList(file: string, v: unknown, field: string): string[] {
  if (v === undefined) return [];
  if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) {
    throw invalid(file, `${field} must be a list of strings`);
  }
  return v as string[];
}

/** Parses one test file; paths are resolved against its directory. Throws CONFIG_INVALID. */
export function parsePolicyTest(text: string, file: string): PolicyTest {
  let doc: unknown;
  try {
    doc = parse(text);
  } catch (e) {
    throw invalid(file, `not YAML: ${(e as Error).message}`);
  }
  if (!doc || typeof doc !== 'object' || Array.isArray(doc)) throw invalid(file, 'a test file is a YAML mapping');
  const o = doc as Record<string, unknown>;
  if (o.kind !== undefined && o.kind !== 'Test') throw invalid(file, `kind ${JSON.stringify(o.kind)} is not Test`);
  for (const k of Object.keys(o)) {
    if (UNSUPPORTED[k]) throw invalid(file, `${k}: ${UNSUPPORTED[k]} are not supported by sigward test`);
    if (!TOP_LEVEL.has(k)) throw invalid(file, `unknown field ${JSON.stringify(k)}`);
  }
  const at = (p: string) => (isAbsolute(p) ? p : join(dirname(file), p));
  const policies = strList(file, o.policies, 'policies').map(at);
  const resources = strList(file, o.resources, 'resources').map(at);
  if (!policies.length) throw invalid(file, 'policies: at least one policy file is required');
  if (!Array.isArray(o.results) || o.results.length === 0) {
    throw invalid(file, 'results: at least one expected result is required');
  }
  const results = o.results.map((r, i): ExpectedResult => {
    const where = `results[${i}]`;
    if (!r || typeof r !== 'object') throw invalid(file, `${where} is not a mapping`);
    const x = r as Record<string, unknown>;
    for (const k of Object.keys(x)) {
      if (!RESULT_FIELDS.has(k)) throw invalid(file, `${where}: unknown field ${JSON.stringify(k)}`);
    }
    const result = (x.result ?? x.status) as ExpectedStatus;
    if (!STATUSES.includes(result)) throw invalid(file, `${where}.result must be one of ${STATUSES.join(', ')}`);
    if (typeof x.policy !== 'string' || !x.policy) throw invalid(file, `${where}.policy is required`);
    if (typeof x.rule !== 'string' || !x.rule) throw invalid(file, `${where}.rule is required`);
    const names = [
      ...strList(file, x.resources, `${where}.resources`),
      ...(typeof x.resource === 'string' ? [x.resource] : []),
    ];
    if (!names.length) throw invalid(file, `${where}: resources (or resource) is required`);
    const ns = typeof x.namespace === 'string' ? x.namespace : undefined;
    return {
      policy: x.policy,
      rule: x.rule,
      resources: ns ? names.map((n) => (n.includes('/') ? n : `${ns}/${n}`)) : names,
      result,
      ...(typeof x.kind === 'string' ? { kind: x.kind } : {}),
    };
  });
  const name = typeof o.name === 'string'
    ? o.name
    : typeof (o.metadata as { name?: unknown } | undefined)?.name === 'string'
    ? String((o.metadata as { name: string }).name)
    : file;
  return { file, name, policies, resources, results };
}

export interface TestCaseResult {
  policy: string;
  rule: string;
  resource: string;
  expected: ExpectedStatus;
  /** what sigward decided; 'none' when the rule did not apply to the resource */
  actual: ExpectedStatus | 'none' | 'missing resource';
  ok: boolean;
  message?: string;
}

/** The status a rule result reads as in a test: Audit failures are `fail` (and also satisfy `warn`). */
function readStatus(status: string): ExpectedStatus {
  return status === 'pass' || status === 'fail' || status === 'skip' || status === 'error' ? status : 'error';
}

/** Compares the expected results with the evaluations of the test's resources. */
export function comparePolicyTest(test: PolicyTest, evals: Evaluation[]): TestCaseResult[] {
  const out: TestCaseResult[] = [];
  for (const exp of test.results) {
    const [policyNs, policyName] = exp.policy.includes('/') ? exp.policy.split('/', 2) : [undefined, exp.policy];
    for (const want of exp.resources) {
      const [ns, name] = want.includes('/') ? want.split('/', 2) : [undefined, want];
      const matching = evals.filter((e) =>
        e.resource.name === name && (ns === undefined || e.resource.namespace === ns) &&
        (!exp.kind || e.resource.kind === exp.kind)
      );
      const base = { policy: exp.policy, rule: exp.rule, resource: want, expected: exp.result };
      if (!matching.length) {
        out.push({
          ...base,
          actual: 'missing resource',
          ok: false,
          message: `no resource ${exp.kind ? exp.kind + ' ' : ''}${want} in the test's resources`,
        });
        continue;
      }
      for (const e of matching) {
        const r = e.rules.find((x) =>
          x.policy === policyName && x.rule === exp.rule && (policyNs === undefined || x.policyNamespace === policyNs)
        );
        if (!r) {
          // a rule that does not apply (match, preconditions) has no result; kyverno test reports it skipped
          out.push({
            ...base,
            actual: 'none',
            ok: exp.result === 'skip',
            message: 'the rule does not apply to this resource',
          });
          continue;
        }
        const actual = readStatus(r.status);
        const ok = actual === exp.result || (exp.result === 'warn' && actual === 'fail' && r.action === 'Audit');
        out.push({ ...base, actual, ok, ...(r.message ? { message: r.message } : {}) });
      }
    }
  }
  return out;
}
