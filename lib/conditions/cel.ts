// CEL conditions over attestations, behind an interface of our own so the
// engine can be swapped. The engine is sigward's own (lib/conditions/
// cel-compile.ts), chosen by measurement against @bufbuild/cel,
// @marcbachmann/cel-js and cel-js: it passes every runnable cel-spec case
// through this very interface (scripts/conformance-cel.ts), extensions
// included, and is the fastest of them (bench/cel.bench.ts).
//
// Numbers: every JS number is a CEL double, so numbers read from JSON
// predicates are doubles whether or not they are integral (as in Kyverno's
// CEL, which decodes JSON into float64). Comparisons and equality across
// int/uint/double are defined by CEL, so `predicate.x > 3`, `predicate.x == 3`
// and `predicate.x in [1, 2, 3]` work for 3, 3.0 and 3.5 alike. Arithmetic
// does not mix types in CEL: write `int(predicate.x) + 1` or `predicate.x + 1.0`.
// A bigint passed in is a CEL int.
//
// Cost: every evaluation is metered as Kubernetes meters CEL (one unit per
// call and per comprehension iteration, strings and lists by size) and stops
// at CEL_EXPRESSION_COST_LIMIT, or earlier when a CelCostBudget shared by the
// expressions of one policy runs out (CEL_POLICY_COST_BUDGET): the
// evaluation fails with CONDITION_FAILED, so the rule fails.
//
// Values in and out: see lib/conditions/cel-values.ts (maps come out as Map,
// timestamps as CelTimestamp; Date is accepted as a timestamp).

import { SigwardError } from '../errors.ts';
import { sigwardEngine } from './cel-compile.ts';
import { CelCompileError, CelCostLimitExceeded, CelEvalError } from './cel-engine.ts';
import type { CelEngine, CelEvalStats, CelFunctionDecl, CelProgram } from './cel-engine.ts';
import { CelTimestamp, celTypeName } from './cel-values.ts';

/** Variables available to attestation conditions (see getAttestationVariables). */
export const ATTESTATION_VARIABLES: readonly string[] = Object.freeze([
  'predicate',
  'statement',
  'subject',
  'image',
  'signer',
  'now',
]);

/** A named set of extra CEL functions (the name keys the compile cache). */
export interface CelFunctionLibrary {
  readonly id: string;
  readonly functions: readonly CelFunctionDecl[];
}

export interface CompileCelOptions {
  /** Names of the free variables the expression may use. Default: ATTESTATION_VARIABLES. */
  variables?: readonly string[];
  /** Extra functions available to the expression (e.g. Kyverno's image verification library). */
  library?: CelFunctionLibrary;
}

/** Kubernetes' runtime cost limit for one CEL expression (PerCallLimit). */
export const CEL_EXPRESSION_COST_LIMIT = 1_000_000;
/** Kubernetes' runtime cost budget for all CEL expressions of one policy evaluation (RuntimeCELCostBudget). */
export const CEL_POLICY_COST_BUDGET = 10_000_000;

/** A cost budget shared by the expressions of one policy evaluation; each evaluation spends from it. */
export class CelCostBudget {
  readonly total: number;
  remaining: number;
  constructor(total = CEL_POLICY_COST_BUDGET) {
    if (!(total > 0)) throw new RangeError('cost budget must be positive');
    this.total = total;
    this.remaining = total;
  }
}

export interface CelEvaluateOptions {
  /** The policy's budget (default: none, only the per-expression limit). */
  budget?: CelCostBudget;
  /** Per-expression limit (default CEL_EXPRESSION_COST_LIMIT). */
  costLimit?: number;
}

export interface CompiledCel {
  readonly expression: string;
  readonly variables: readonly string[];
  /** Evaluates; throws SigwardError CONDITION_FAILED when CEL reports an error or the cost limit is reached. */
  evaluate(vars: Record<string, unknown>, options?: CelEvaluateOptions): unknown;
  /** Like evaluate, and the result must be a bool (otherwise CONDITION_FAILED). */
  evaluateBool(vars: Record<string, unknown>, options?: CelEvaluateOptions): boolean;
}

/** Line and column (1-based) of a 0-based offset. */
function lineColumn(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let start = 0;
  for (let i = 0; i < offset && i < text.length; i++) {
    if (text[i] === '\n') {
      line++;
      start = i + 1;
    }
  }
  return { line, column: offset - start + 1 };
}

function snippet(text: string, offset: number): string {
  const { line, column } = lineColumn(text, offset);
  const src = text.split('\n')[line - 1] ?? '';
  return ` | ${src}\n | ${'.'.repeat(Math.max(0, column - 1))}^`;
}

class Compiled implements CompiledCel {
  readonly expression: string;
  readonly variables: readonly string[];
  readonly #program: CelProgram;
  constructor(expression: string, variables: readonly string[], program: CelProgram) {
    this.expression = expression;
    this.variables = variables;
    this.#program = program;
  }
  evaluate(vars: Record<string, unknown>, options?: CelEvaluateOptions): unknown {
    const perExpression = options?.costLimit ?? CEL_EXPRESSION_COST_LIMIT;
    const budget = options?.budget;
    const limit = budget ? Math.min(perExpression, Math.max(0, budget.remaining)) : perExpression;
    const stats: CelEvalStats = { cost: 0 };
    try {
      return this.#program(vars, { costLimit: limit }, stats);
    } catch (e) {
      if (e instanceof CelCostLimitExceeded) {
        const policyBound = budget !== undefined && limit < perExpression;
        const reason = policyBound
          ? `the policy's CEL cost budget (${budget.total}) is exhausted`
          : `the expression exceeded its CEL cost limit (${perExpression}), as Kubernetes limits one CEL expression`;
        throw new SigwardError('CONDITION_FAILED', `CEL expression "${this.expression}" failed: ${reason}`, {
          detail: {
            expression: this.expression,
            reason: 'cost limit exceeded',
            limit: policyBound ? budget.total : perExpression,
          },
        });
      }
      const reason = e instanceof Error ? e.message : String(e);
      throw new SigwardError('CONDITION_FAILED', `CEL expression "${this.expression}" failed: ${reason}`, {
        cause: e instanceof CelEvalError ? undefined : e,
        detail: { expression: this.expression, reason },
      });
    } finally {
      if (budget) budget.remaining -= stats.cost;
    }
  }
  evaluateBool(vars: Record<string, unknown>, options?: CelEvaluateOptions): boolean {
    const v = this.evaluate(vars, options);
    if (typeof v !== 'boolean') {
      throw new SigwardError(
        'CONDITION_FAILED',
        `CEL expression "${this.expression}": expression must evaluate to bool, got ${celTypeName(v)}`,
        { detail: { expression: this.expression, reason: 'expression must evaluate to bool', type: celTypeName(v) } },
      );
    }
    return v;
  }
}

/**
 * Compiles with a given engine, without the cache. Used by compileCel and by
 * the measurement scripts (scripts/conformance-cel.ts, bench/cel.bench.ts),
 * which pass the adapters of the candidate libraries.
 */
export function compileCelWithEngine(engine: CelEngine, expr: string, opts: CompileCelOptions = {}): CompiledCel {
  const variables = Object.freeze([...(opts.variables ?? ATTESTATION_VARIABLES)]);
  if (typeof expr !== 'string' || expr.trim() === '') {
    throw new SigwardError('CONDITION_INVALID', 'invalid CEL expression: expression is empty', {
      detail: { expression: expr },
    });
  }
  try {
    const program = opts.library
      ? engine.compile(expr, variables, { functions: opts.library.functions })
      : engine.compile(expr, variables);
    return new Compiled(expr, variables, program);
  } catch (e) {
    if (e instanceof SigwardError) throw e;
    const reason = e instanceof Error ? e.message : String(e);
    const offset = e instanceof CelCompileError ? e.offset : undefined;
    const detail: Record<string, unknown> = { expression: expr, reason };
    let where = '';
    if (offset !== undefined) {
      const { line, column } = lineColumn(expr, offset);
      Object.assign(detail, { offset, line, column, snippet: snippet(expr, offset) });
      where = ` at line ${line}, column ${column}`;
    }
    throw new SigwardError('CONDITION_INVALID', `invalid CEL expression "${expr}": ${reason}${where}`, {
      cause: e instanceof CelCompileError ? undefined : e,
      detail,
    });
  }
}

// ---------------------------------------------------------------------------
// Compile cache: bounded LRU keyed by the variable list and the expression text.

const DEFAULT_CACHE_LIMIT = 1000;
let cacheLimit = DEFAULT_CACHE_LIMIT;
const cache = new Map<string, CompiledCel>();

/**
 * Compiles a CEL expression (cached). Throws SigwardError CONDITION_INVALID with
 * the expression and the position of the problem for syntax errors, undeclared
 * variables and unknown functions.
 */
export function compileCel(expr: string, opts: CompileCelOptions = {}): CompiledCel {
  const variables = opts.variables ?? ATTESTATION_VARIABLES;
  const key = `${opts.library ? opts.library.id + '\u0001' : ''}${variables.join(',')}\u0000${expr}`;
  const hit = cache.get(key);
  if (hit) {
    cache.delete(key);
    cache.set(key, hit);
    return hit;
  }
  const compiled = compileCelWithEngine(sigwardEngine, expr, {
    variables,
    ...(opts.library ? { library: opts.library } : {}),
  });
  cache.set(key, compiled);
  while (cache.size > cacheLimit) cache.delete(cache.keys().next().value as string);
  return compiled;
}

/** Number of compiled expressions held by the cache. */
export function getCelCacheSize(): number {
  return cache.size;
}

/** Empties the compile cache and optionally changes its bound (default 1000). */
export function resetCelCache(limit = DEFAULT_CACHE_LIMIT): void {
  if (!Number.isInteger(limit) || limit < 1) throw new RangeError('cache limit must be a positive integer');
  cacheLimit = limit;
  cache.clear();
}

// ---------------------------------------------------------------------------
// Attestation variables

export interface CelImageInfo {
  registry?: string;
  repository?: string;
  tag?: string;
  digest?: string;
}

export interface CelSignerInfo {
  /** Certificate identity (SAN) or key id. */
  identity?: string;
  /** OIDC issuer. */
  issuer?: string;
  /** Fulcio extensions by name (githubWorkflowRepository, ...). */
  extensions?: Record<string, string>;
}

export interface AttestationCelInput {
  /** The whole in-toto statement (JSON). */
  statement: unknown;
  image?: CelImageInfo;
  signer?: CelSignerInfo;
  /** The evaluation time (injected clock). */
  now: Date | CelTimestamp;
}

/**
 * Builds the variables of an attestation condition: `predicate`, `statement`,
 * `subject`, `image` {registry, repository, tag, digest}, `signer` {identity,
 * issuer, extensions} and `now` (a timestamp). Missing image/signer fields are
 * empty strings (an empty map for extensions), so `image.tag == ''` works
 * instead of failing with "no such key".
 */
export function getAttestationVariables(input: AttestationCelInput): Record<string, unknown> {
  const st = (typeof input.statement === 'object' && input.statement !== null ? input.statement : {}) as Record<
    string,
    unknown
  >;
  return {
    predicate: st.predicate ?? null,
    statement: input.statement,
    subject: st.subject ?? [],
    image: {
      registry: input.image?.registry ?? '',
      repository: input.image?.repository ?? '',
      tag: input.image?.tag ?? '',
      digest: input.image?.digest ?? '',
    },
    signer: {
      identity: input.signer?.identity ?? '',
      issuer: input.signer?.issuer ?? '',
      extensions: { ...(input.signer?.extensions ?? {}) },
    },
    now: input.now instanceof CelTimestamp ? input.now : CelTimestamp.fromDate(input.now),
  };
}
