// Kyverno attestation conditions (verifyImages[].attestations[].conditions):
//
//   conditions: [ {any: [cond...], all: [cond...]}, ... ]   blocks are ANDed
//   cond: {key, operator, value, message?}
//
// Keys and values may hold `{{ jmespath }}` variables, substituted innermost
// first (so `'{{ builder.id }}'` inside an outer expression is replaced before
// the outer one runs). A string that is exactly one `{{ }}` keeps the type of
// the result; embedded results are stringified (JSON for non-strings). `\{{`
// escapes a variable. JMESPath runs with Kyverno's functions and strictness
// (lib/conditions/jmespath.ts) over a context where the predicate is merged at
// the root (`{{ repo.uri }}` is predicate.repo.uri) next to the variables
// passed in (image, request, ...; those win over predicate fields of the same
// name).
//
// Errors: a malformed block, an unknown operator, a JMESPath syntax error or
// an unknown function is reported when compiling (SigwardError
// CONDITION_INVALID with its location). At evaluation an error (e.g. `Unknown
// key "x" in path`) is a failure with the reason, and the conditions do not
// pass (Kyverno fails the attestation on such errors too).

import { SigwardError } from '../errors.ts';
import { compileJmespath, JmespathCompileError, searchJmespath, withJmespathClock } from './jmespath.ts';
import { DEPRECATED_OPERATORS, evaluateOperator, isKyvernoOperator, KYVERNO_OPERATORS } from './kyverno-operators.ts';
import type { KyvernoOperator } from './kyverno-operators.ts';

export interface KyvernoCondition {
  key: unknown;
  operator: string;
  value?: unknown;
  message?: string;
}

export interface KyvernoConditionBlock {
  any?: KyvernoCondition[];
  all?: KyvernoCondition[];
}

export interface KyvernoConditionsResult {
  passed: boolean;
  /** a condition could not be evaluated (not merely false): Kyverno reports a rule error */
  error?: boolean;
  /** One entry per failed block (or condition error), in Kyverno-like words. */
  failures: string[];
}

export interface CompileKyvernoConditionsOptions {
  /** Where the conditions come from, for messages, e.g. "policy/rule/attestations[0]". */
  where?: string;
}

export interface EvaluateKyvernoConditionsOptions {
  /** Clock for time_now()/time_since() (injected). */
  now: Date;
}

export interface CompiledKyvernoConditions {
  readonly where: string;
  readonly blocks: readonly KyvernoConditionBlock[];
  /** Deprecation notes (In, NotIn, Equal, NotEqual). */
  readonly warnings: readonly string[];
  evaluate(context: Record<string, unknown>, opts: EvaluateKyvernoConditionsOptions): KyvernoConditionsResult;
}

// ---------------------------------------------------------------------------
// Variables

/** Innermost `{{ ... }}` (single braces allowed inside, for JMESPath hashes), not preceded by a backslash. */
const VARIABLE = /(^|[^\\])(\{\{(?:\{[^{}]*\}|[^{}])*\}\})/g;
const ESCAPED_VARIABLE = /\\(\{\{(?:\{[^{}]*\}|[^{}])*\}\})/g;
const MAX_SUBSTITUTION_ROUNDS = 16;

function innermostVariables(s: string): { full: string; prefix: string; variable: string }[] {
  const out: { full: string; prefix: string; variable: string }[] = [];
  VARIABLE.lastIndex = 0;
  for (let m = VARIABLE.exec(s); m; m = VARIABLE.exec(s)) {
    out.push({ full: m[0], prefix: m[1], variable: m[2] });
  }
  return out;
}

function expressionOf(variable: string): string {
  return variable.slice(2, -2).trim();
}

function stringify(v: unknown): string {
  if (typeof v === 'string') return v;
  return JSON.stringify(v) ?? 'null';
}

class SubstitutionError extends Error {}

/** Substitutes the variables of one string (Kyverno's substituteVariablesIfAny). */
function substituteString(text: string, context: Record<string, unknown>): unknown {
  let value = text;
  for (let round = 0;; round++) {
    const vars = innermostVariables(value);
    if (vars.length === 0) break;
    if (round >= MAX_SUBSTITUTION_ROUNDS) throw new SubstitutionError(`too many nested variables in "${text}"`);
    const original = value;
    for (const { full, prefix, variable } of vars) {
      const expr = expressionOf(variable);
      let result: unknown;
      try {
        result = searchJmespath(compileJmespath(expr), context);
      } catch (e) {
        const reason = e instanceof JmespathCompileError
          ? `invalid JMESPath expression: ${e.message}`
          : (e as Error).message;
        throw new SubstitutionError(`failed to resolve ${expr}: ${reason}`);
      }
      if (original === variable) return result;
      value = value.split(full).join(prefix + stringify(result));
    }
  }
  return value.replace(ESCAPED_VARIABLE, '$1');
}

/** Substitutes `{{ }}` variables in every string of a JSON value (Kyverno's SubstituteAll); throws on an expression that cannot be evaluated. */
export function substituteVariables(v: unknown, context: Record<string, unknown>): unknown {
  return substitute(v, context);
}

/** Substitutes variables in every string of a JSON value. */
function substitute(v: unknown, context: Record<string, unknown>): unknown {
  if (typeof v === 'string') return v.includes('{{') ? substituteString(v, context) : v;
  if (Array.isArray(v)) return v.map((x) => substitute(x, context));
  if (typeof v === 'object' && v !== null) {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) out[k] = substitute(x, context);
    return out;
  }
  return v;
}

/** Every string inside a JSON value, with its path suffix. */
function strings(v: unknown, path: string, out: { path: string; text: string }[]): void {
  if (typeof v === 'string') out.push({ path, text: v });
  else if (Array.isArray(v)) v.forEach((x, i) => strings(x, `${path}[${i}]`, out));
  else if (typeof v === 'object' && v !== null) {
    for (const [k, x] of Object.entries(v)) strings(x, `${path}.${k}`, out);
  }
}

// ---------------------------------------------------------------------------
// Compile

function show(v: unknown): string {
  return typeof v === 'string' ? JSON.stringify(v) : (JSON.stringify(v) ?? String(v));
}

/** "policy/rule/attestations[0]" + "conditions[0].all[1]" -> "policy/rule/attestations[0].conditions[0].all[1]" */
function at(where: string, path: string): string {
  return where ? `${where}.${path}` : path;
}

function invalid(where: string, path: string, message: string, detail: Record<string, unknown> = {}): SigwardError {
  return new SigwardError('CONDITION_INVALID', `invalid condition at ${at(where, path)}: ${message}`, {
    detail: { where: at(where, path), ...detail },
  });
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

interface PreparedCondition {
  path: string;
  key: unknown;
  operator: KyvernoOperator;
  value: unknown;
  message?: string;
}

interface PreparedBlock {
  path: string;
  any?: PreparedCondition[];
  all?: PreparedCondition[];
}

function prepareCondition(c: unknown, where: string, path: string, warnings: string[]): PreparedCondition {
  if (!isObject(c)) throw invalid(where, path, 'a condition must be an object with key, operator and value');
  for (const k of Object.keys(c)) {
    if (!['key', 'operator', 'value', 'message'].includes(k)) throw invalid(where, path, `unknown field "${k}"`);
  }
  if (!('key' in c)) throw invalid(where, path, 'missing "key"');
  if (!isKyvernoOperator(c.operator)) {
    throw invalid(
      where,
      `${path}.operator`,
      `unknown operator ${show(c.operator)}; one of ${KYVERNO_OPERATORS.join(', ')}`,
    );
  }
  if (c.message !== undefined && typeof c.message !== 'string') {
    throw invalid(where, `${path}.message`, 'message must be a string');
  }
  const alt = DEPRECATED_OPERATORS[c.operator];
  if (alt) warnings.push(`${at(where, path)}: operator ${c.operator} is deprecated, use ${alt}`);
  // check every variable that can be compiled now (the innermost ones; outer ones depend on their results)
  const texts: { path: string; text: string }[] = [];
  strings(c.key, `${path}.key`, texts);
  strings(c.value, `${path}.value`, texts);
  for (const { path: p, text } of texts) {
    for (const { variable } of innermostVariables(text)) {
      const expr = expressionOf(variable);
      if (expr === '') throw invalid(where, p, `empty variable in ${show(text)}`, { expression: expr });
      try {
        compileJmespath(expr);
      } catch (e) {
        throw invalid(where, p, `invalid JMESPath expression "${expr}": ${(e as Error).message}`, { expression: expr });
      }
    }
  }
  return { path, key: c.key, operator: c.operator, value: c.value ?? null, message: c.message as string | undefined };
}

/**
 * Validates and prepares attestation conditions. Throws SigwardError
 * CONDITION_INVALID naming `where` and the offending path.
 */
export function compileKyvernoConditions(
  conditions: unknown,
  opts: CompileKyvernoConditionsOptions = {},
): CompiledKyvernoConditions {
  const where = opts.where ?? '';
  const warnings: string[] = [];
  if (conditions === undefined || conditions === null) conditions = [];
  if (!Array.isArray(conditions)) throw invalid(where, 'conditions', 'conditions must be a list of {any, all} blocks');
  const blocks: PreparedBlock[] = conditions.map((b, i) => {
    const path = `conditions[${i}]`;
    if (!isObject(b)) throw invalid(where, path, 'a block must be an object with "any" and/or "all"');
    for (const k of Object.keys(b)) {
      if (k !== 'any' && k !== 'all') {
        throw invalid(where, path, `unknown field "${k}" (a block holds "any" and/or "all" lists of conditions)`);
      }
    }
    const out: PreparedBlock = { path };
    for (const kind of ['any', 'all'] as const) {
      const list = b[kind];
      if (list === undefined || list === null) continue;
      if (!Array.isArray(list)) throw invalid(where, `${path}.${kind}`, `"${kind}" must be a list of conditions`);
      out[kind] = list.map((c, j) => prepareCondition(c, where, `${path}.${kind}[${j}]`, warnings));
    }
    return out;
  });
  const frozen = Object.freeze(
    blocks.map((b) => ({
      ...(b.any ? { any: b.any.map(publicCondition) } : {}),
      ...(b.all ? { all: b.all.map(publicCondition) } : {}),
    })),
  );
  return {
    where,
    blocks: frozen,
    warnings: Object.freeze(warnings),
    evaluate: (context, evalOpts) => evaluateBlocks(blocks, where, context, evalOpts),
  };
}

function publicCondition(c: PreparedCondition): KyvernoCondition {
  return {
    key: c.key,
    operator: c.operator,
    value: c.value,
    ...(c.message !== undefined ? { message: c.message } : {}),
  };
}

// ---------------------------------------------------------------------------
// Evaluate

type Outcome = { ok: true } | { ok: false; message: string; error: boolean };

function evaluateCondition(c: PreparedCondition, where: string, context: Record<string, unknown>): Outcome {
  let key: unknown;
  let value: unknown;
  try {
    key = substitute(c.key, context);
  } catch (e) {
    return {
      ok: false,
      error: true,
      message: `${at(where, c.path)}: failed to substitute variables in condition key: ${(e as Error).message}`,
    };
  }
  try {
    value = substitute(c.value, context);
  } catch (e) {
    return {
      ok: false,
      error: true,
      message: `${at(where, c.path)}: failed to substitute variables in condition value: ${(e as Error).message}`,
    };
  }
  if (evaluateOperator(c.operator, key, value)) return { ok: true };
  const message = c.message ??
    `condition ${show(c.key)} ${c.operator} ${show(c.value)} is false (key resolved to ${show(key)}${
      show(value) === show(c.value) ? '' : `, value to ${show(value)}`
    })`;
  return { ok: false, error: false, message };
}

function evaluateBlocks(
  blocks: readonly PreparedBlock[],
  where: string,
  context: Record<string, unknown>,
  opts: EvaluateKyvernoConditionsOptions,
): KyvernoConditionsResult {
  return withJmespathClock(opts.now, () => {
    const failures: string[] = [];
    let errored = false;
    for (const b of blocks) {
      if (b.any) {
        const falses: string[] = [];
        let passed = false;
        let blockError = false;
        for (const c of b.any) {
          const r = evaluateCondition(c, where, context);
          if (r.ok) {
            passed = true;
            break;
          }
          if (r.error) {
            // like Kyverno, an error ends the evaluation of the block as a failure
            errored = blockError = true;
            failures.push(r.message);
            break;
          }
          falses.push(r.message);
        }
        if (!passed && !blockError) {
          failures.push(
            falses.length > 1
              ? `none of the "any" conditions passed: ${falses.join('; ')}`
              : falses[0] ?? 'no "any" condition passed',
          );
        }
      }
      if (b.all) {
        for (const c of b.all) {
          const r = evaluateCondition(c, where, context);
          if (!r.ok) {
            if (r.error) errored = true;
            failures.push(r.message);
            break;
          }
        }
      }
    }
    return { passed: failures.length === 0 && !errored, failures, ...(errored ? { error: true } : {}) };
  });
}

/** Evaluates compiled conditions; see CompiledKyvernoConditions.evaluate. */
export function evaluateKyvernoConditions(
  compiled: CompiledKyvernoConditions,
  context: Record<string, unknown>,
  opts: EvaluateKyvernoConditionsOptions,
): KyvernoConditionsResult {
  return compiled.evaluate(context, opts);
}

/**
 * The evaluation context of attestation conditions: the predicate's fields at
 * the root, plus `variables` (image, request, element, ...), which win over
 * predicate fields with the same name.
 */
export function getKyvernoConditionContext(
  predicate: unknown,
  variables: Record<string, unknown> = {},
): Record<string, unknown> {
  const base = isObject(predicate) ? predicate : {};
  return { ...base, ...variables };
}
