// A gate over verified in-toto statements: a CEL condition, a CEL policy
// file, or a built-in rule with parameters. Compiled once, evaluated per
// statement; only statements whose signature verified are ever evaluated.

import { SigwardError } from '../errors.ts';
import { type CelImageInfo, type CelSignerInfo, compileCel, getAttestationVariables } from '../conditions/cel.ts';
import { compileRule, evaluateRule, type RuleParamInput, verifyRulePredicateType } from './rules.ts';
import type { Statement } from './statement.ts';

export interface GateResult {
  passed: boolean;
  failures: string[];
}

export interface Gate {
  /** what is checked, for output */
  describe: string;
  evaluate(input: { statement: Statement; image?: CelImageInfo; signer?: CelSignerInfo; now: Date }): GateResult;
}

/** One CEL expression that must evaluate to true. */
export function toCelGate(expression: string, source = 'condition'): Gate {
  const compiled = compileCel(expression);
  return {
    describe: `CEL ${source}: ${expression.length > 80 ? expression.slice(0, 77) + '...' : expression}`,
    evaluate(input) {
      try {
        return compiled.evaluateBool(getAttestationVariables(input))
          ? { passed: true, failures: [] }
          : { passed: false, failures: [`${source} is false: ${expression}`] };
      } catch (e) {
        return { passed: false, failures: [`${source} failed: ${(e as Error).message}`] };
      }
    },
  };
}

/** A built-in rule (rules/), its parameters validated and coerced at compile time. */
export function toRuleGate(name: string, params: RuleParamInput, predicateType?: string): Gate {
  const compiled = compileRule(name, params);
  if (predicateType) verifyRulePredicateType(compiled.rule, predicateType);
  return {
    describe: `rule ${name}`,
    evaluate(input) {
      const r = evaluateRule(compiled, getAttestationVariables(input));
      return { passed: r.passed, failures: r.failures };
    },
  };
}

/** `k=v` pairs (lists comma separated, repeated keys accumulate). */
export function parseParams(list: readonly string[] = []): RuleParamInput {
  const out: Record<string, string | string[]> = {};
  for (const p of list) {
    const i = p.indexOf('=');
    if (i <= 0) throw new SigwardError('CONFIG_INVALID', `invalid --param "${p}": expected key=value`);
    const k = p.slice(0, i);
    const v = p.slice(i + 1);
    const prev = out[k];
    out[k] = prev === undefined ? v : [...(Array.isArray(prev) ? prev : [prev]), v];
  }
  return out;
}
