// The small contract every CEL engine must meet to sit behind sigward's CEL
// interface (lib/conditions/cel.ts). The engine used by sigward is its own
// (lib/conditions/cel-compile.ts); adapters for the candidate libraries live
// in bench/cel-adapters.ts and are only used to measure them
// (scripts/conformance-cel.ts, bench/cel.bench.ts).
//
// Values in and out follow the model of lib/conditions/cel-values.ts.

/** Thrown by CelEngine.compile for a syntax or reference error. */
export class CelCompileError extends Error {
  /** 0-based character offset of the error in the expression, when known. */
  readonly offset?: number;
  constructor(message: string, offset?: number) {
    super(message);
    this.name = 'CelCompileError';
    this.offset = offset;
  }
}

/** Thrown by a compiled program when evaluation produces a CEL error. */
export class CelEvalError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CelEvalError';
  }
}

/** Thrown by a compiled program when the evaluation reached its cost limit. */
export class CelCostLimitExceeded extends CelEvalError {
  readonly limit: number;
  constructor(limit: number) {
    super(`evaluation cost limit (${limit}) exceeded`);
    this.name = 'CelCostLimitExceeded';
    this.limit = limit;
  }
}

export interface CelEvalOptions {
  /** Stop with CelCostLimitExceeded past this many cost units (engines that cannot meter ignore it). */
  costLimit?: number;
}

/** Filled in by engines that meter cost. */
export interface CelEvalStats {
  cost: number;
}

export type CelProgram = (vars: Record<string, unknown>, options?: CelEvalOptions, stats?: CelEvalStats) => unknown;

/**
 * An extra function (or method) for one compile. Arguments and the result are
 * values of the model of cel-values.ts; throwing makes the call a CEL error
 * (so `false && f()` still evaluates to false, as CEL error semantics say).
 */
export interface CelFunctionDecl {
  name: string;
  /** number of arguments (without the receiver) */
  arity: number;
  /** a method (`x.name(...)`): the receiver is passed first to impl */
  member?: boolean;
  impl: (...args: unknown[]) => unknown;
  /**
   * Set for a function sigward knows but cannot answer (e.g. Kyverno's http.Get
   * to an arbitrary host): compiling an expression that calls it is an error
   * with this reason, never a silent pass.
   */
  unavailable?: string;
}

export interface CelEngineCompileOptions {
  /** functions added to the standard library for this compile */
  functions?: readonly CelFunctionDecl[];
}

export interface CelEngine {
  readonly name: string;
  /**
   * Parses (and checks what the engine can check) an expression whose free
   * variables are `variables`. Throws CelCompileError. The returned program
   * throws CelEvalError for CEL evaluation errors.
   */
  compile(expr: string, variables: readonly string[], opts?: CelEngineCompileOptions): CelProgram;
}
