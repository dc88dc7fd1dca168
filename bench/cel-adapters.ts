// Adapters that put each candidate CEL library behind sigward's CelEngine
// contract (lib/conditions/cel-engine.ts), converting values to and from the
// model of lib/conditions/cel-values.ts. Used only for measurement
// (scripts/conformance-cel.ts --library X, bench/cel.bench.ts); sigward itself
// runs @bufbuild/cel (lib/conditions/cel-bufbuild.ts).

import { Environment } from '@marcbachmann/cel-js';
import { evaluate as celJsEvaluate, parse as celJsParse } from 'cel-js';
import { bufbuildEngine } from './cel-bufbuild.ts';
import { sigwardEngine } from '../lib/conditions/cel-compile.ts';
import { CelCompileError, CelEvalError } from '../lib/conditions/cel-engine.ts';
import type { CelEngine, CelProgram } from '../lib/conditions/cel-engine.ts';
import { CelDuration, CelTimestamp, CelTypeValue, CelUint } from '../lib/conditions/cel-values.ts';

function isPlainObject(v: object): v is Record<string, unknown> {
  const p = Object.getPrototypeOf(v);
  return p === Object.prototype || p === null;
}

function errMessage(e: unknown): string {
  return e instanceof Error ? e.message.split('\n')[0] : String(e);
}

// ---------------------------------------------------------------------------
// @marcbachmann/cel-js 8: ints are bigint, doubles number, uint its own class,
// timestamps Date (millisecond precision), durations its own class, maps come
// out as plain objects (non-string keys are stringified).

const marcOptions = { unlistedVariablesAreDyn: false, homogeneousAggregateLiterals: false, enableOptionalTypes: true };
const probe = new Environment(marcOptions);
const MarcUint = (probe.evaluate('0u') as object).constructor as new (v: bigint) => object;
const MarcDuration = (probe.evaluate("duration('0s')") as object).constructor as new (s: bigint, n: number) => object;

function toMarc(v: unknown): unknown {
  if (v === null || typeof v !== 'object') return v;
  if (v instanceof Uint8Array || v instanceof Date) return v;
  if (Array.isArray(v)) {
    let out: unknown[] | undefined;
    for (let i = 0; i < v.length; i++) {
      const c = toMarc(v[i]);
      if (c !== v[i]) (out ??= v.slice())[i] = c;
    }
    return out ?? v;
  }
  if (v instanceof CelUint) return new MarcUint(v.value);
  if (v instanceof CelTimestamp) return v.toDate();
  if (v instanceof CelDuration) return new MarcDuration(v.seconds, v.nanos);
  if (v instanceof Map) {
    const m = new Map<unknown, unknown>();
    for (const [k, x] of v) m.set(k instanceof CelUint ? k.value : k, toMarc(x));
    return m;
  }
  if (isPlainObject(v)) {
    let out: Record<string, unknown> | undefined;
    for (const k in v) {
      const x = v[k];
      const c = x === undefined ? undefined : toMarc(x);
      if (c !== x || x === undefined) {
        out ??= { ...v };
        if (x === undefined) delete out[k];
        else out[k] = c;
      }
    }
    return out ?? v;
  }
  return v;
}

function fromMarc(v: unknown): unknown {
  if (v === null || v === undefined || typeof v !== 'object') return v ?? null;
  if (v instanceof Uint8Array) return v;
  if (v instanceof Date) return CelTimestamp.fromDate(v);
  if (Array.isArray(v)) return v.map(fromMarc);
  if (v instanceof MarcUint) return new CelUint((v as { value: bigint }).value);
  if (v instanceof MarcDuration) {
    const d = v as { seconds: bigint; nanos: number };
    return new CelDuration(d.seconds, d.nanos);
  }
  if (v instanceof Map) {
    const m = new Map<unknown, unknown>();
    for (const [k, x] of v) m.set(k instanceof MarcUint ? new CelUint((k as { value: bigint }).value) : k, fromMarc(x));
    return m;
  }
  const tag = Object.prototype.toString.call(v);
  if (tag.startsWith('[object Type<')) return new CelTypeValue((v as { name: string }).name);
  if (isPlainObject(v)) {
    const m = new Map<unknown, unknown>();
    for (const k in v) m.set(k, fromMarc(v[k]));
    return m;
  }
  throw new CelEvalError(`unsupported result value ${tag}`);
}

export const marcbachmannEngine: CelEngine = {
  name: '@marcbachmann/cel-js',
  compile(expr: string, variables: readonly string[]): CelProgram {
    const env = new Environment(marcOptions);
    for (const v of variables) env.registerVariable(v, 'dyn');
    let program: (ctx: Record<string, unknown>) => unknown;
    try {
      program = env.parse(expr) as unknown as typeof program;
      const checked = (program as unknown as { check(): { valid: boolean; error?: Error } }).check();
      if (!checked.valid) throw checked.error ?? new Error('type check failed');
    } catch (e) {
      throw new CelCompileError(errMessage(e));
    }
    return (vars) => {
      const ctx: Record<string, unknown> = {};
      for (const k in vars) if (vars[k] !== undefined) ctx[k] = toMarc(vars[k]);
      let r: unknown;
      try {
        r = program(ctx);
      } catch (e) {
        throw new CelEvalError(errMessage(e));
      }
      if (r instanceof Promise) throw new CelEvalError('asynchronous result');
      return fromMarc(r);
    };
  },
};

// ---------------------------------------------------------------------------
// cel-js 0.8: one JS number type for int, uint and double; no bytes,
// timestamps or durations. Integral numbers are reported as int and the rest
// as double (the most favourable reading of its results).

function toCelJs(v: unknown): unknown {
  if (v === null || typeof v !== 'object') return typeof v === 'bigint' ? Number(v) : v;
  if (Array.isArray(v)) return v.map(toCelJs);
  if (v instanceof CelUint) return Number(v.value);
  if (v instanceof Map) {
    const o: Record<string, unknown> = {};
    for (const [k, x] of v) o[String(k instanceof CelUint ? k.value : k)] = toCelJs(x);
    return o;
  }
  if (isPlainObject(v)) {
    const o: Record<string, unknown> = {};
    for (const k in v) if (v[k] !== undefined) o[k] = toCelJs(v[k]);
    return o;
  }
  return v;
}

function fromCelJs(v: unknown): unknown {
  if (v === undefined) return null;
  if (typeof v === 'number') return Number.isInteger(v) && Math.abs(v) <= Number.MAX_SAFE_INTEGER ? BigInt(v) : v;
  if (v === null || typeof v !== 'object') return v;
  if (Array.isArray(v)) return v.map(fromCelJs);
  if (isPlainObject(v)) {
    const m = new Map<unknown, unknown>();
    for (const k in v) m.set(k, fromCelJs(v[k]));
    return m;
  }
  throw new CelEvalError('unsupported result value');
}

export const celJsEngine: CelEngine = {
  name: 'cel-js',
  compile(expr: string, _variables: readonly string[]): CelProgram {
    let parsed: ReturnType<typeof celJsParse>;
    try {
      parsed = celJsParse(expr);
    } catch (e) {
      throw new CelCompileError(errMessage(e));
    }
    if (!parsed.isSuccess) throw new CelCompileError(parsed.errors.join('; '));
    const cst = parsed.cst;
    return (vars) => {
      const ctx: Record<string, unknown> = {};
      for (const k in vars) if (vars[k] !== undefined) ctx[k] = toCelJs(vars[k]);
      try {
        return fromCelJs(celJsEvaluate(cst, ctx));
      } catch (e) {
        throw new CelEvalError(errMessage(e));
      }
    };
  },
};

export const CEL_ENGINES: Record<string, CelEngine> = {
  sigward: sigwardEngine,
  '@bufbuild/cel': bufbuildEngine,
  '@marcbachmann/cel-js': marcbachmannEngine,
  'cel-js': celJsEngine,
};
