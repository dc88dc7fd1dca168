// A Kyverno rule's `context` and its preconditions: the variables a rule's
// preconditions and conditions may read, and whether the rule applies.
// One home for both, used by the engine and by the webhook's rule selection.
//
// Offline, sigward honours `variable` entries (value, jmesPath, default) and
// `configMap` entries (read from the ConfigMap directory, see
// createFileConfigMapResolver). `apiCall`, `imageRegistry` and
// `globalReference` need a live cluster or registry lookup: such a rule fails
// (a condition is never evaluated with a variable sigward could not load,
// which would read as null and could skip the rule or pass a deny).

import { SigwardError } from '../errors.ts';
import {
  type CompiledKyvernoConditions,
  compileKyvernoConditions,
  substituteVariables,
} from '../conditions/kyverno.ts';
import { compileJmespath, searchJmespath } from '../conditions/jmespath.ts';
import { compileCel } from '../conditions/cel.ts';
import { CEL_PRECONDITION_VARIABLES, OFFLINE_UNSUPPORTED_CONTEXT } from '../policy/kyverno.ts';
import type { KyvernoRule, SecretResolver } from '../policy/types.ts';

export interface RuleContextOptions {
  /** ConfigMaps by namespace and name (default: none found) */
  configMaps?: SecretResolver;
}

/** The variables of `rule.context`, loaded in order over `base` (each entry sees the ones before). Throws SigwardError. */
export function loadRuleContext(
  rule: KyvernoRule,
  base: Record<string, unknown>,
  opts: RuleContextOptions = {},
): Record<string, unknown> {
  const vars: Record<string, unknown> = { ...base };
  for (const [i, entry] of rule.context.entries()) {
    const where = `rule ${rule.name} context[${i}] (${entry.name})`;
    const unsupported = OFFLINE_UNSUPPORTED_CONTEXT.find((k) => entry[k] !== undefined);
    if (unsupported) {
      throw new SigwardError(
        'NOT_IMPLEMENTED',
        `${where}: ${unsupported} context entries need a live cluster or registry, which sigward does not query`,
      );
    }
    try {
      if (entry['variable'] !== undefined) {
        vars[entry.name] = loadVariable(entry['variable'] as Record<string, unknown>, vars);
      } else if (entry['configMap'] !== undefined) {
        vars[entry.name] = loadConfigMap(entry['configMap'] as Record<string, unknown>, vars, opts.configMaps);
      } else {throw new SigwardError(
          'POLICY_INVALID',
          'no variable, configMap, apiCall, imageRegistry or globalReference',
        );}
    } catch (e) {
      if (e instanceof SigwardError && e.code === 'NOT_IMPLEMENTED') throw e;
      throw new SigwardError('CONDITION_INVALID', `${where}: ${(e as Error).message}`, { cause: e });
    }
  }
  return vars;
}

function loadVariable(v: Record<string, unknown>, vars: Record<string, unknown>): unknown {
  const value = v['value'] === undefined ? undefined : substituteVariables(v['value'], vars);
  let out = value;
  if (typeof v['jmesPath'] === 'string' && v['jmesPath'] !== '') {
    const path = String(substituteVariables(v['jmesPath'], vars));
    out = searchJmespath(compileJmespath(path), value === undefined ? vars : value);
  }
  if ((out === null || out === undefined) && v['default'] !== undefined) out = substituteVariables(v['default'], vars);
  if (out === undefined) throw new Error('the variable has no value, jmesPath result or default');
  return out;
}

function loadConfigMap(
  c: Record<string, unknown>,
  vars: Record<string, unknown>,
  configMaps: SecretResolver | undefined,
): unknown {
  const name = String(substituteVariables(c['name'] ?? '', vars));
  const namespace = String(substituteVariables(c['namespace'] ?? 'default', vars) || 'default');
  const data = configMaps?.(namespace, name);
  if (!data) {
    throw new Error(
      `ConfigMap ${namespace}/${name} not found: mount it so that $SIGWARD_CONFIGMAPS_DIR/${namespace}/${name}/<key> holds its keys`,
    );
  }
  return { data, metadata: { name, namespace } };
}

const compiledPreconditions = new WeakMap<KyvernoRule, CompiledKyvernoConditions>();

export interface PreconditionRequest {
  object: unknown;
  oldObject?: unknown;
  operation?: string;
  namespace?: string;
  userInfo?: unknown;
}

/**
 * Whether the rule applies after its preconditions (JMESPath `preconditions`
 * and CEL `celPreconditions`), with its context loaded. Throws SigwardError
 * when the context cannot be loaded or a precondition cannot be evaluated:
 * the rule must then fail, never be skipped.
 */
export function checkPreconditions(
  rule: KyvernoRule,
  req: PreconditionRequest,
  now: Date,
  opts: RuleContextOptions = {},
): { holds: boolean; variables: Record<string, unknown> } {
  const request = {
    object: req.object,
    oldObject: req.oldObject ?? null,
    operation: req.operation ?? 'CREATE',
    namespace: req.namespace,
    userInfo: req.userInfo ?? {},
  };
  const variables = loadRuleContext(rule, { request }, opts);
  for (const c of rule.celPreconditions ?? []) {
    const r = compileCel(c.expression, { variables: CEL_PRECONDITION_VARIABLES }).evaluate({
      object: req.object,
      oldObject: req.oldObject ?? null,
      request,
      namespaceObject: null,
    });
    if (typeof r !== 'boolean') {
      throw new SigwardError(
        'CONDITION_INVALID',
        `rule ${rule.name} celPreconditions ${c.name}: the expression must return a boolean, got ${typeof r}`,
      );
    }
    if (!r) return { holds: false, variables };
  }
  if (!rule.preconditions) return { holds: true, variables };
  let c = compiledPreconditions.get(rule);
  if (!c) {
    c = compileKyvernoConditions([rule.preconditions], { where: `rule ${rule.name} preconditions` });
    compiledPreconditions.set(rule, c);
  }
  const r = c.evaluate(variables, { now });
  if (r.error) {
    throw new SigwardError('CONDITION_INVALID', `failed to evaluate preconditions: ${r.failures.join('; ')}`);
  }
  return { holds: r.passed, variables };
}
