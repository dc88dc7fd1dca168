// sigward's CEL engine: the syntax tree of cel-parser.ts compiled once into
// JavaScript closures that evaluate directly on the value model of
// cel-values.ts (plain objects from JSON are read in place, nothing is
// converted per evaluation). References are resolved when compiling: every
// free identifier must be a declared variable or a type name and every
// function must exist, so a typo in a policy is reported when it is loaded.
//
// Every evaluation is metered (cel-runtime.ts: one unit per function call and
// per comprehension iteration, size-proportional operations by size) and ends
// with CelCostLimitExceeded past its limit. Comprehensions are loops, not
// recursion, so lists of any length do not grow the stack.

import { CelCompileError, CelCostLimitExceeded, CelEvalError } from './cel-engine.ts';
import { getGoRegexError } from '../go-regex.ts';
import type {
  CelEngine,
  CelEngineCompileOptions,
  CelEvalOptions,
  CelEvalStats,
  CelFunctionDecl,
  CelProgram,
} from './cel-engine.ts';
import { CelSyntaxError, parseCel, qualifiedName } from './cel-parser.ts';
import type { CelNode } from './cel-parser.ts';
import {
  add,
  celCompare,
  CelCostLimitError,
  celEquals,
  CelError,
  charge,
  contains,
  div,
  durationFromNanos,
  err,
  fromInput,
  isMap,
  isObjectMap,
  mapEntries,
  mapGet,
  mapKey,
  meter,
  mod,
  mul,
  neg,
  noOverload,
  sub,
  timestampFromNanos,
  TYPE_NAMES,
  typeValue,
} from './cel-runtime.ts';
import {
  ENCODERS_EXTENSION,
  LISTS_EXTENSION,
  MATH_EXTENSION,
  OPTIONAL_FUNCTIONS,
  STANDARD_FUNCTIONS,
  STRINGS_EXTENSION,
} from './cel-stdlib.ts';
import type { CelFn, CelFunctionTable } from './cel-stdlib.ts';
import { K8S_FUNCTIONS } from './cel-k8s.ts';
import { CelOptional, CelTimestamp, celTypeName, CelUint } from './cel-values.ts';

type Frame = { vars: Record<string, unknown>; slots: unknown[] };
type Ev = (f: Frame) => unknown;

/** Functions whose pattern argument is a Go regular expression (CEL matches, Kubernetes find / findAll). */
const REGEX_FUNCTIONS = new Set(['matches', 'find', 'findAll']);

/** Every function of the engine (standard library, cel-go extensions, Kubernetes libraries). */
export const BASE_FUNCTIONS: CelFunctionTable = Object.freeze({
  ...STANDARD_FUNCTIONS,
  ...STRINGS_EXTENSION,
  ...MATH_EXTENSION,
  ...ENCODERS_EXTENSION,
  ...OPTIONAL_FUNCTIONS,
  ...LISTS_EXTENSION,
  ...K8S_FUNCTIONS,
});

const TYPE_IDENTS = new Set(TYPE_NAMES);

function wrapper(
  check: (v: unknown) => unknown,
  zero: unknown,
): { fields: string[]; make: (v: Record<string, unknown>) => unknown } {
  return { fields: ['value'], make: (v) => ('value' in v ? check(v.value) : zero) };
}
function typed(name: string, ok: (v: unknown) => boolean): (v: unknown) => unknown {
  return (v) => {
    if (!ok(v)) throw err(`${name}: invalid value of type ${celTypeName(v)}`);
    return v;
  };
}
const isInt = (v: unknown) => typeof v === 'bigint';
const isU = (v: unknown) => v instanceof CelUint;

/** The protobuf well-known types a CEL expression may construct, as the CEL values they stand for. */
const WELL_KNOWN: Record<string, { fields: string[]; make: (v: Record<string, unknown>) => unknown }> = {
  'google.protobuf.BoolValue': wrapper(typed('BoolValue', (v) => typeof v === 'boolean'), false),
  'google.protobuf.StringValue': wrapper(typed('StringValue', (v) => typeof v === 'string'), ''),
  'google.protobuf.BytesValue': wrapper(typed('BytesValue', (v) => v instanceof Uint8Array), new Uint8Array(0)),
  'google.protobuf.DoubleValue': wrapper(typed('DoubleValue', (v) => typeof v === 'number'), 0),
  'google.protobuf.FloatValue': wrapper(
    (v) => Math.fround(typed('FloatValue', (x) => typeof x === 'number')(v) as number),
    0,
  ),
  'google.protobuf.Int64Value': wrapper(typed('Int64Value', isInt), 0n),
  'google.protobuf.Int32Value': wrapper((v) => {
    const x = typed('Int32Value', isInt)(v) as bigint;
    if (x < -(2n ** 31n) || x >= 2n ** 31n) throw err('Int32Value: int32 overflow');
    return x;
  }, 0n),
  'google.protobuf.UInt64Value': wrapper(typed('UInt64Value', isU), new CelUint(0n)),
  'google.protobuf.UInt32Value': wrapper((v) => {
    const x = typed('UInt32Value', isU)(v) as CelUint;
    if (x.value >= 2n ** 32n) throw err('UInt32Value: uint32 overflow');
    return x;
  }, new CelUint(0n)),
  'google.protobuf.ListValue': {
    fields: ['values'],
    make: (v) => ('values' in v ? typed('ListValue', Array.isArray)(v.values) : []),
  },
  'google.protobuf.Struct': {
    fields: ['fields'],
    make: (v) => ('fields' in v ? typed('Struct', isMap)(v.fields) : new Map()),
  },
  'google.protobuf.Value': {
    fields: ['null_value', 'number_value', 'string_value', 'bool_value', 'struct_value', 'list_value'],
    make: (v) => {
      const keys = Object.keys(v);
      if (keys.length === 0 || keys[0] === 'null_value') return null;
      const x = v[keys[0]];
      return x;
    },
  },
  'google.protobuf.Timestamp': {
    fields: ['seconds', 'nanos'],
    make: (v) => {
      const s = v.seconds ?? 0n;
      const n = v.nanos ?? 0n;
      if (typeof s !== 'bigint' || typeof n !== 'bigint') {
        throw err('google.protobuf.Timestamp: seconds and nanos must be ints');
      }
      return timestampFromNanos(s * 1_000_000_000n + n);
    },
  },
  'google.protobuf.Duration': {
    fields: ['seconds', 'nanos'],
    make: (v) => {
      const s = v.seconds ?? 0n;
      const n = v.nanos ?? 0n;
      if (typeof s !== 'bigint' || typeof n !== 'bigint') {
        throw err('google.protobuf.Duration: seconds and nanos must be ints');
      }
      return durationFromNanos(s * 1_000_000_000n + n);
    },
  },
};

// ---------------------------------------------------------------------------
// Field and index access

function noSuchKey(k: unknown): CelError {
  return err(`no such key: ${typeof k === 'string' ? k : String(k instanceof CelUint ? k.value : k)}`);
}

function getField(o: unknown, f: string): unknown {
  if (typeof o === 'object' && o !== null) {
    if (o instanceof Map) {
      const v = o.get(f);
      if (v !== undefined) return v;
      throw noSuchKey(f);
    }
    if (!Array.isArray(o) && isObjectMap(o)) {
      const v = o[f];
      if (v !== undefined && Object.hasOwn(o, f)) {
        return typeof v === 'object' && v instanceof Date ? CelTimestamp.fromDate(v) : v;
      }
      throw noSuchKey(f);
    }
    if (o instanceof CelOptional) return o.hasValue ? optField(o.value, f) : o;
  }
  throw err(`type '${celTypeName(o)}' does not support field selection (.${f})`);
}

function hasField(o: unknown, f: string): boolean {
  if (typeof o === 'object' && o !== null) {
    if (o instanceof Map) return o.has(f);
    if (!Array.isArray(o) && isObjectMap(o)) return o[f] !== undefined && Object.hasOwn(o, f);
    if (o instanceof CelOptional) return o.hasValue && hasField(o.value, f);
  }
  throw err(`type '${celTypeName(o)}' does not support field selection (has(.${f}))`);
}

function optField(o: unknown, f: string): CelOptional {
  if (o instanceof CelOptional) return o.hasValue ? optField(o.value, f) : o;
  if (isMap(o)) {
    const v = mapGet(o, f);
    return v === undefined ? CelOptional.NONE : CelOptional.of(v);
  }
  throw err(`type '${celTypeName(o)}' does not support field selection (.?${f})`);
}

function listIndex(l: unknown[], k: unknown): number {
  let i: number;
  if (typeof k === 'bigint') i = Number(k);
  else if (k instanceof CelUint) i = Number(k.value);
  else if (typeof k === 'number' && Number.isInteger(k)) i = k;
  else throw err(`invalid list index of type ${celTypeName(k)}`);
  return i;
}

function getIndex(o: unknown, k: unknown): unknown {
  if (Array.isArray(o)) {
    const i = listIndex(o, k);
    if (i < 0 || i >= o.length) throw err(`index out of bounds: ${i}`);
    return fromInput(o[i]);
  }
  if (isMap(o)) {
    const v = mapGet(o, k);
    if (v === undefined) throw noSuchKey(k);
    return v;
  }
  if (o instanceof CelOptional) return o.hasValue ? optIndex(o.value, k) : o;
  throw err(`type '${celTypeName(o)}' does not support indexing`);
}

function optIndex(o: unknown, k: unknown): CelOptional {
  if (o instanceof CelOptional) return o.hasValue ? optIndex(o.value, k) : o;
  if (Array.isArray(o)) {
    const i = listIndex(o, k);
    return i >= 0 && i < o.length ? CelOptional.of(fromInput(o[i])) : CelOptional.NONE;
  }
  if (isMap(o)) {
    const v = mapGet(o, k);
    return v === undefined ? CelOptional.NONE : CelOptional.of(v);
  }
  throw err(`type '${celTypeName(o)}' does not support indexing ([?])`);
}

// ---------------------------------------------------------------------------
// Output: plain objects become Maps (the model's "out: always a Map")

function toOutput(v: unknown): unknown {
  if (typeof v !== 'object' || v === null) return v;
  if (Array.isArray(v)) {
    let out: unknown[] | undefined;
    for (let i = 0; i < v.length; i++) {
      const x = toOutput(v[i] === undefined ? null : v[i]);
      if (x !== v[i]) (out ??= v.slice())[i] = x;
    }
    return out ?? v;
  }
  if (v instanceof Map) {
    let changed = false;
    const m = new Map<unknown, unknown>();
    for (const [k, x] of v) {
      const y = toOutput(x);
      if (y !== x) changed = true;
      m.set(k, y);
    }
    return changed ? m : v;
  }
  if (v instanceof Date) return CelTimestamp.fromDate(v);
  if (isObjectMap(v)) {
    const m = new Map<unknown, unknown>();
    for (const k in v) if (v[k] !== undefined) m.set(k, toOutput(v[k]));
    return m;
  }
  return v;
}

// ---------------------------------------------------------------------------
// Compiler

interface Scope {
  readonly names: ReadonlyMap<string, number>;
}

class Compiler {
  readonly declared: ReadonlySet<string>;
  readonly fns: Record<string, CelFn>;
  readonly unavailable: ReadonlyMap<string, string>;
  slots = 0;
  constructor(declared: ReadonlySet<string>, fns: Record<string, CelFn>, unavailable: ReadonlyMap<string, string>) {
    this.declared = declared;
    this.fns = fns;
    this.unavailable = unavailable;
  }

  fail(msg: string, n: CelNode): never {
    throw new CelCompileError(msg, n.pos);
  }

  bindVar(scope: Scope, name: string): [Scope, number] {
    const slot = this.slots++;
    const names = new Map(scope.names);
    names.set(name, slot);
    return [{ names }, slot];
  }

  compile(n: CelNode, scope: Scope): Ev {
    switch (n.k) {
      case 'lit': {
        const v = n.v;
        return () => v;
      }
      case 'ident':
        return this.ident(n, scope);
      case 'select':
        return this.select(n, scope);
      case 'index': {
        const o = this.compile(n.obj, scope);
        const k = this.compile(n.idx, scope);
        return n.opt ? (f) => optIndex(o(f), k(f)) : (f) => getIndex(o(f), k(f));
      }
      case 'call':
        return this.call(n, scope);
      case 'list':
        return this.list(n, scope);
      case 'map':
        return this.map(n, scope);
      case 'struct':
        return this.struct(n, scope);
      case 'cond': {
        const c = this.compile(n.c, scope);
        const t = this.compile(n.t, scope);
        const e = this.compile(n.f, scope);
        return (f) => {
          const v = c(f);
          if (v === true) return t(f);
          if (v === false) return e(f);
          throw noOverload('_?_:_', v);
        };
      }
      case 'and':
        return this.logic(n.l, n.r, scope, false);
      case 'or':
        return this.logic(n.l, n.r, scope, true);
      case 'compr':
        return this.comprehension(n, scope);
      case 'bind': {
        const init = this.compile(n.init, scope);
        const [inner, slot] = this.bindVar(scope, n.name);
        const body = this.compile(n.body, inner);
        return (f) => {
          f.slots[slot] = init(f);
          return body(f);
        };
      }
      case 'block':
        return this.block(n, scope);
      case 'optMap': {
        const target = this.compile(n.target, scope);
        const [inner, slot] = this.bindVar(scope, n.v);
        const expr = this.compile(n.expr, inner);
        const flat = n.flat;
        const name = flat ? 'optFlatMap' : 'optMap';
        return (f) => {
          const o = target(f);
          if (!(o instanceof CelOptional)) throw noOverload(name, o);
          if (!o.hasValue) return o;
          f.slots[slot] = o.value;
          const r = expr(f);
          if (!flat) return CelOptional.of(r);
          if (!(r instanceof CelOptional)) throw noOverload(name, r);
          return r;
        };
      }
    }
  }

  ident(n: Extract<CelNode, { k: 'ident' }>, scope: Scope): Ev {
    const name = n.name;
    if (!n.abs) {
      const slot = scope.names.get(name);
      if (slot !== undefined) return (f) => f.slots[slot];
      if (name.startsWith('@')) {
        this.fail(`undeclared reference to '${name.startsWith('@index') ? `cel.index(${name.slice(6)})` : name}'`, n);
      }
    }
    if (this.declared.has(name)) return this.variable(name);
    if (TYPE_IDENTS.has(name)) {
      const t = typeValue(name);
      return () => t;
    }
    this.fail(`undeclared reference to '${name}'`, n);
  }

  variable(name: string): Ev {
    return (f) => {
      const v = f.vars[name];
      if (v === undefined) throw err(`no value bound for variable '${name}'`);
      return typeof v === 'object' && v instanceof Date ? CelTimestamp.fromDate(v) : v;
    };
  }

  /** Resolves `a.b.c` to the longest declared variable (or type) name, when `a` is not a local variable. */
  qualified(n: CelNode, scope: Scope): Ev | undefined {
    const q = qualifiedName(n);
    if (q === undefined) return undefined;
    const abs = q.startsWith('.');
    const parts = (abs ? q.slice(1) : q).split('.');
    if (parts.length < 2 || (!abs && scope.names.has(parts[0]))) return undefined;
    for (let i = parts.length; i > 1; i--) {
      const name = parts.slice(0, i).join('.');
      let ev: Ev | undefined;
      if (this.declared.has(name)) ev = this.variable(name);
      else if (TYPE_IDENTS.has(name)) {
        const t = typeValue(name);
        ev = () => t;
      }
      if (ev) {
        for (const field of parts.slice(i)) {
          const o: Ev = ev;
          ev = (f: Frame): unknown => getField(o(f), field);
        }
        return ev;
      }
    }
    return undefined;
  }

  select(n: Extract<CelNode, { k: 'select' }>, scope: Scope): Ev {
    if (!n.test && !n.opt) {
      const q = this.qualified(n, scope);
      if (q) return q;
    }
    const o = this.compile(n.obj, scope);
    const field = n.field;
    if (n.test) return (f) => hasField(o(f), field);
    if (n.opt) return (f) => optField(o(f), field);
    return (f) => getField(o(f), field);
  }

  logic(ln: CelNode, rn: CelNode, scope: Scope, isOr: boolean): Ev {
    const l = this.compile(ln, scope);
    const r = this.compile(rn, scope);
    const stop = isOr; // the value that decides
    const op = isOr ? '_||_' : '_&&_';
    return (f) => {
      let lv: unknown;
      let le: unknown;
      try {
        lv = l(f);
      } catch (e) {
        if (!(e instanceof CelError)) throw e;
        le = e;
      }
      if (lv === stop) return stop;
      let rv: unknown;
      try {
        rv = r(f);
      } catch (e) {
        if (!(e instanceof CelError)) throw e;
        if (le) throw le;
        if (lv !== !stop) throw noOverload(op, lv);
        throw e;
      }
      if (rv === stop) return stop;
      if (le) throw le;
      if (lv !== !stop || rv !== !stop) throw noOverload(op, lv, rv);
      return !stop;
    };
  }

  list(n: Extract<CelNode, { k: 'list' }>, scope: Scope): Ev {
    const elems = n.elems.map((e) => this.compile(e, scope));
    const optional = n.opt;
    if (!optional.some(Boolean)) {
      if (n.elems.every((e) => e.k === 'lit')) {
        const v = elems.map((e) => e({ vars: {}, slots: [] }));
        return () => v;
      }
      return (f) => {
        const out = new Array<unknown>(elems.length);
        for (let i = 0; i < elems.length; i++) out[i] = elems[i](f);
        return out;
      };
    }
    return (f) => {
      const out: unknown[] = [];
      for (let i = 0; i < elems.length; i++) {
        const v = elems[i](f);
        if (!optional[i]) out.push(v);
        else {
          if (!(v instanceof CelOptional)) {
            throw err(`optional list element of type ${celTypeName(v)} is not an optional`);
          }
          if (v.hasValue) out.push(v.value);
        }
      }
      return out;
    };
  }

  map(n: Extract<CelNode, { k: 'map' }>, scope: Scope): Ev {
    const entries = n.entries.map((e) => ({
      key: this.compile(e.key, scope),
      value: this.compile(e.value, scope),
      opt: e.opt,
    }));
    return (f) => {
      const m = new Map<unknown, unknown>();
      for (const e of entries) {
        const k = mapKey(e.key(f));
        let v = e.value(f);
        if (e.opt) {
          if (!(v instanceof CelOptional)) {
            throw err(`optional map entry value of type ${celTypeName(v)} is not an optional`);
          }
          if (!v.hasValue) continue;
          v = v.value;
        }
        if (mapGet(m, k) !== undefined) {
          throw err(`Failed with repeated key: ${String(k instanceof CelUint ? k.value : k)}`);
        }
        m.set(k, v);
      }
      return m;
    };
  }

  /** Messages: only the well-known types that are plain CEL values (wrappers, JSON values, Timestamp, Duration). */
  struct(n: Extract<CelNode, { k: 'struct' }>, scope: Scope): Ev {
    const name = n.name.replace(/^\./, '');
    const build = WELL_KNOWN[name];
    if (!build) {
      this.fail(
        `message construction (${n.name}{...}) is not supported: sigward declares no protobuf message types`,
        n,
      );
    }
    const fields = n.fields.map((fl) => {
      if (fl.opt) this.fail(`optional field ${fl.name} in ${name}{...} is not supported`, n);
      if (!build.fields.includes(fl.name)) this.fail(`no such field '${fl.name}' in ${name}`, n);
      return { name: fl.name, ev: this.compile(fl.value, scope) };
    });
    return (f) => {
      const values: Record<string, unknown> = {};
      for (const fl of fields) values[fl.name] = fl.ev(f);
      return build.make(values);
    };
  }

  block(n: Extract<CelNode, { k: 'block' }>, scope: Scope): Ev {
    let s = scope;
    const slotEvs: Ev[] = [];
    const slotIds: number[] = [];
    for (let i = 0; i < n.slots.length; i++) {
      // slot i sees the slots before it
      const ev = this.compile(n.slots[i], s);
      const slot = this.slots++;
      slotEvs.push(ev);
      slotIds.push(slot);
      const names = new Map(s.names);
      // the reference evaluates the slot once, when first used
      const cache = this.slots++;
      names.set(`@index${i}`, cache);
      s = { names };
      void slot;
      slotIds[i] = cache;
    }
    const body = this.compile(n.body, s);
    return (f) => {
      for (let i = 0; i < slotEvs.length; i++) f.slots[slotIds[i]] = slotEvs[i](f);
      return body(f);
    };
  }

  comprehension(n: Extract<CelNode, { k: 'compr' }>, scope: Scope): Ev {
    const range = this.compile(n.range, scope);
    const [s1, slot1] = this.bindVar(scope, n.v1);
    let inner = s1;
    let slot2 = -1;
    if (n.v2 !== undefined) [inner, slot2] = this.bindVar(s1, n.v2);
    const pred = n.pred ? this.compile(n.pred, inner) : undefined;
    const expr = n.expr ? this.compile(n.expr, inner) : undefined;
    const two = slot2 >= 0;
    const kind = n.kind;

    // iterate(f, visit): visit returns true to stop
    const iterate = (f: Frame, visit: () => boolean): void => {
      const r = range(f);
      const slots = f.slots;
      if (Array.isArray(r)) {
        for (let i = 0; i < r.length; i++) {
          if (--meter.remaining < 0) charge(0);
          const x = r[i];
          const v = typeof x === 'object' && x instanceof Date ? CelTimestamp.fromDate(x) : x;
          if (two) {
            slots[slot1] = BigInt(i);
            slots[slot2] = v;
          } else slots[slot1] = v;
          if (visit()) return;
        }
        return;
      }
      if (isMap(r)) {
        for (const [k, v] of mapEntries(r)) {
          if (--meter.remaining < 0) charge(0);
          slots[slot1] = k;
          if (two) slots[slot2] = v;
          if (visit()) return;
        }
        return;
      }
      throw err(`expression of type '${celTypeName(r)}' cannot be the range of a comprehension (${kind})`);
    };
    const isTrue = (f: Frame): boolean => {
      const v = (pred as Ev)(f);
      if (typeof v !== 'boolean') throw noOverload(kind, v);
      return v;
    };

    switch (kind) {
      case 'all':
      case 'exists': {
        const decisive = kind === 'exists';
        return (f) => {
          let error: unknown;
          let result = !decisive;
          iterate(f, () => {
            let v: unknown;
            try {
              v = (pred as Ev)(f);
            } catch (e) {
              if (!(e instanceof CelError)) throw e;
              error ??= e;
              return false;
            }
            if (v === decisive) {
              result = decisive;
              return true;
            }
            if (v !== !decisive) error ??= noOverload(kind, v);
            return false;
          });
          if (result === decisive) return result;
          if (error) throw error;
          return result;
        };
      }
      case 'existsOne':
        return (f) => {
          let count = 0;
          iterate(f, () => {
            if (isTrue(f)) count++;
            return false;
          });
          return count === 1;
        };
      case 'map':
      case 'transformList':
        return (f) => {
          const out: unknown[] = [];
          iterate(f, () => {
            if (!pred || isTrue(f)) out.push((expr as Ev)(f));
            return false;
          });
          return out;
        };
      case 'filter':
        return (f) => {
          const out: unknown[] = [];
          iterate(f, () => {
            if (isTrue(f)) out.push(f.slots[two ? slot2 : slot1]);
            return false;
          });
          return out;
        };
      case 'transformMap':
        return (f) => {
          const out = new Map<unknown, unknown>();
          iterate(f, () => {
            if (!pred || isTrue(f)) out.set(mapKey(f.slots[slot1]), (expr as Ev)(f));
            return false;
          });
          return out;
        };
      case 'transformMapEntry':
        return (f) => {
          const out = new Map<unknown, unknown>();
          iterate(f, () => {
            if (pred && !isTrue(f)) return false;
            const entry = (expr as Ev)(f);
            if (!isMap(entry)) throw err(`transformMapEntry: the expression must be a map, got ${celTypeName(entry)}`);
            for (const [k, v] of mapEntries(entry)) {
              if (mapGet(out, k) !== undefined) {
                throw err(`insert failed: key ${String(k instanceof CelUint ? k.value : k)} already exists`);
              }
              out.set(k, v);
            }
            return false;
          });
          return out;
        };
    }
  }

  call(n: Extract<CelNode, { k: 'call' }>, scope: Scope): Ev {
    const fn = n.fn;
    const args = n.args;
    // operators
    if (!n.target) {
      if (args.length === 2) {
        const op = this.binary(fn, args[0], args[1], scope);
        if (op) return op;
      }
      if (args.length === 1 && (fn === '!_' || fn === '-_')) {
        const a = this.compile(args[0], scope);
        if (fn === '-_') return (f) => neg(a(f));
        return (f) => {
          const v = a(f);
          if (typeof v !== 'boolean') throw noOverload('!_', v);
          return !v;
        };
      }
    }
    // namespaced functions: math.greatest(...), optional.of(...), base64.encode(...)
    let impl: CelFn | undefined;
    let name = fn;
    let member = false;
    if (n.target) {
      const q = qualifiedName(n.target);
      const root = q?.replace(/^\./, '').split('.')[0];
      if (q !== undefined && root !== undefined && !scope.names.has(root) && !this.declared.has(root)) {
        const qn = `${q.replace(/^\./, '')}.${fn}`;
        this.checkAvailable(qn, n);
        impl = this.fns[`${qn}/${args.length}`] ?? this.fns[`${qn}/*`];
        if (impl !== undefined) name = qn;
        else if (this.known(qn)) {
          this.fail(`no overload of function '${qn}' takes ${args.length} argument${args.length === 1 ? '' : 's'}`, n);
        }
      }
      if (!impl) {
        member = true;
        this.checkAvailable(fn, n);
        impl = this.fns[`.${fn}/${args.length}`];
        if (!impl) {
          if (this.known(`.${fn}`)) {
            this.fail(`no overload of method '${fn}' takes ${args.length} argument${args.length === 1 ? '' : 's'}`, n);
          }
          if (this.known(fn)) {
            this.fail(`'${fn}' is a function, not a method: write ${fn}(x, ...) instead of x.${fn}(...)`, n);
          }
          this.fail(`undeclared reference to function '${fn}'`, n);
        }
      }
    } else {
      this.checkAvailable(fn, n);
      impl = this.fns[`${fn}/${args.length}`] ?? this.fns[`${fn}/*`];
      if (!impl) {
        if (this.known(fn)) {
          this.fail(`no overload of function '${fn}' takes ${args.length} argument${args.length === 1 ? '' : 's'}`, n);
        }
        if (this.known(`.${fn}`)) this.fail(`'${fn}' is a method: write x.${fn}(...)`, n);
        this.fail(`undeclared reference to function '${fn}'`, n);
      }
    }
    if (REGEX_FUNCTIONS.has(name)) {
      // a constant pattern is compiled now (as cel-go does): one Go's regexp refuses fails the policy when it is loaded
      const p = member ? args[0] : args[1];
      const error = p?.k === 'lit' && typeof p.v === 'string' ? getGoRegexError(p.v) : undefined;
      if (error !== undefined) this.fail(`invalid regular expression in ${name}(): ${error}`, p!);
    }
    const evs = (member ? [n.target as CelNode, ...args] : args).map((a) => this.compile(a, scope));
    const f0 = impl;
    const wrap = (call: Ev): Ev => (f) => {
      if (--meter.remaining < 0) charge(0);
      try {
        return call(f);
      } catch (e) {
        if (e instanceof CelError || e instanceof CelCostLimitError) throw e;
        throw err(`${name}: ${e instanceof Error ? e.message : String(e)}`);
      }
    };
    // lazy optionals: the alternative is evaluated only when needed
    if (member && (fn === 'or' || fn === 'orValue') && evs.length === 2) {
      const [t, a] = evs;
      return wrap((f) => {
        const o = t(f);
        if (o instanceof CelOptional && o.hasValue) return fn === 'or' ? o : o.value;
        return f0(o, a(f));
      });
    }
    switch (evs.length) {
      case 0:
        return wrap(() => f0());
      case 1: {
        const [a] = evs;
        return wrap((f) => f0(a(f)));
      }
      case 2: {
        const [a, b] = evs;
        return wrap((f) => f0(a(f), b(f)));
      }
      case 3: {
        const [a, b, c] = evs;
        return wrap((f) => f0(a(f), b(f), c(f)));
      }
      default:
        return wrap((f) => f0(...evs.map((e) => e(f))));
    }
  }

  known(prefix: string): boolean {
    for (const k in this.fns) if (k.slice(0, k.lastIndexOf('/')) === prefix) return true;
    return false;
  }

  checkAvailable(name: string, n: CelNode): void {
    const why = this.unavailable.get(name);
    if (why !== undefined) this.fail(`function '${name}' is not available: ${why}`, n);
  }

  binary(fn: string, ln: CelNode, rn: CelNode, scope: Scope): Ev | undefined {
    let op: ((a: unknown, b: unknown) => unknown) | undefined;
    switch (fn) {
      case '_==_':
      case '_!=_': {
        const ne = fn === '_!=_';
        const l = this.compile(ln, scope);
        const r = this.compile(rn, scope);
        if (rn.k === 'lit' && (typeof rn.v === 'string' || typeof rn.v === 'boolean')) {
          const c = rn.v;
          const t = typeof c;
          return ne
            ? (f) => {
              const v = l(f);
              return typeof v === t ? v !== c : !celEquals(v, c);
            }
            : (f) => {
              const v = l(f);
              return typeof v === t ? v === c : celEquals(v, c);
            };
        }
        return ne ? (f) => !celEquals(l(f), r(f)) : (f) => celEquals(l(f), r(f));
      }
      case '_<_':
        return this.ordering(ln, rn, scope, fn, (c) => c < 0);
      case '_<=_':
        return this.ordering(ln, rn, scope, fn, (c) => c <= 0);
      case '_>_':
        return this.ordering(ln, rn, scope, fn, (c) => c > 0);
      case '_>=_':
        return this.ordering(ln, rn, scope, fn, (c) => c >= 0);
      case '_+_':
        op = add;
        break;
      case '_-_':
        op = sub;
        break;
      case '_*_':
        op = mul;
        break;
      case '_/_':
        op = div;
        break;
      case '_%_':
        op = mod;
        break;
      case '@in': {
        const l = this.compile(ln, scope);
        const r = this.compile(rn, scope);
        return (f) => contains(r(f), l(f));
      }
      default:
        return undefined;
    }
    const l = this.compile(ln, scope);
    const r = this.compile(rn, scope);
    const o = op;
    return (f) => o(l(f), r(f));
  }

  ordering(ln: CelNode, rn: CelNode, scope: Scope, fn: string, test: (c: number) => boolean): Ev {
    const l = this.compile(ln, scope);
    const r = this.compile(rn, scope);
    return (f) => {
      const a = l(f);
      const b = r(f);
      if (typeof a === 'number' && typeof b === 'number') return test(a < b ? -1 : a > b ? 1 : a === b ? 0 : NaN);
      return test(celCompare(a, b, fn));
    };
  }
}

// ---------------------------------------------------------------------------
// The engine

interface Library {
  fns: Record<string, CelFn>;
  unavailable: Map<string, string>;
}

function toLibraryArg(v: unknown): unknown {
  return toOutput(v);
}

const libraries = new WeakMap<readonly CelFunctionDecl[], Library>();
const baseLibrary: Library = { fns: BASE_FUNCTIONS, unavailable: new Map() };

function libraryFor(decls: readonly CelFunctionDecl[] | undefined): Library {
  if (!decls?.length) return baseLibrary;
  let lib = libraries.get(decls);
  if (!lib) {
    const fns: Record<string, CelFn> = { ...BASE_FUNCTIONS };
    const unavailable = new Map<string, string>();
    for (const d of decls) {
      if (d.unavailable !== undefined) {
        unavailable.set(d.name, d.unavailable);
        continue;
      }
      const impl = d.impl;
      fns[`${d.member ? '.' : ''}${d.name}/${d.arity}`] = (...args: unknown[]) => impl(...args.map(toLibraryArg));
    }
    lib = { fns, unavailable };
    libraries.set(decls, lib);
  }
  return lib;
}

const NO_SLOTS: unknown[] = [];

export const sigwardEngine: CelEngine = {
  name: 'sigward',
  compile(expr: string, variables: readonly string[], opts: CelEngineCompileOptions = {}): CelProgram {
    let ast: CelNode;
    try {
      ast = parseCel(expr);
    } catch (e) {
      if (e instanceof CelSyntaxError) throw new CelCompileError(`syntax error: ${e.message}`, e.offset);
      throw e;
    }
    const lib = libraryFor(opts.functions);
    const c = new Compiler(new Set(variables), lib.fns, lib.unavailable);
    const ev = c.compile(ast, { names: new Map() });
    const nslots = c.slots;
    return (vars: Record<string, unknown>, options?: CelEvalOptions, stats?: CelEvalStats): unknown => {
      const limit = options?.costLimit ?? Number.MAX_SAFE_INTEGER;
      const savedRemaining = meter.remaining;
      const savedLimit = meter.limit;
      meter.remaining = limit;
      meter.limit = limit;
      try {
        return toOutput(ev({ vars, slots: nslots ? new Array(nslots) : NO_SLOTS }));
      } catch (e) {
        if (e instanceof CelError) throw new CelEvalError(e.message);
        if (e instanceof CelCostLimitError) throw new CelCostLimitExceeded(limit);
        if (e instanceof RangeError && /call stack/i.test(e.message)) {
          throw new CelEvalError('expression too deeply nested to evaluate');
        }
        throw e;
      } finally {
        if (stats) stats.cost = limit - meter.remaining;
        meter.remaining = savedRemaining;
        meter.limit = savedLimit;
      }
    };
  },
};
