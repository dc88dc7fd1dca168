// JMESPath as Kyverno evaluates it: @jmespath-community/jmespath on a private
// interpreter (the library's global function registry is left untouched) with
// Kyverno's custom functions and Kyverno's strictness:
//   - a field missing from an object is an error `Unknown key "x" in path`
//     (inside projections, filters and expression references it is null, and
//     `a || b` falls back to b when a is missing);
//   - only own properties of objects are visible.
// Functions that need the time read an injected clock (withJmespathClock).
//
// Not implemented (reported as unknown functions): x509_decode (needs a
// certificate decoder producing Go's struct dump), random (non-deterministic),
// image_normalize (needs the cluster's default registry), is_external_url (needs DNS).

import * as jp from '@jmespath-community/jmespath';
import type { InputSignature, JSONValue } from '@jmespath-community/jmespath';
import { md5 } from '@noble/hashes/legacy.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex } from '@noble/hashes/utils.js';
import { parse as parseYaml } from 'yaml';
import { formatGoDuration, parseGoDuration } from './go-duration.ts';
import { formatRFC3339, fromDate, parseGoLayout, parseRFC3339, parseTimeWithLayout, timeFields } from './go-time.ts';
import type { GoTime } from './go-time.ts';
import {
  addQuantities,
  formatQuantity,
  isWholeQuantity,
  multiplyQuantity,
  parseQuantity,
  quantityToNumber,
  subtractQuantities,
} from './quantity.ts';
import type { Quantity } from './quantity.ts';
import { semverSatisfies } from './semver.ts';
import { getGoRegexError, goRegexMatch, goRegexReplaceAll, GoRegexSyntaxError } from '../go-regex.ts';
import { matchesPattern } from '../wildcard.ts';
import { goReplace } from './go-strings.ts';

const { TYPE_ANY, TYPE_ARRAY, TYPE_NUMBER, TYPE_OBJECT, TYPE_STRING } = jp;

/** A JMESPath evaluation error that names the missing key (Kyverno's NotFoundError). */
export class JmespathNotFoundError extends Error {
  readonly key: string;
  constructor(key: string) {
    super(`Unknown key "${key}" in path`);
    this.name = 'JmespathNotFoundError';
    this.key = key;
  }
}

/** Errors raised by Kyverno's custom functions. */
export class JmespathFunctionError extends Error {
  constructor(fn: string, message: string) {
    super(`JMESPath function '${fn}': ${message}`);
    this.name = 'JmespathFunctionError';
  }
}

type AstNode = ReturnType<typeof jp.compile>;
type Node = { type: string; [k: string]: unknown };

interface Interpreter {
  search(node: AstNode, value: JSONValue): JSONValue;
  visit(node: unknown, value: unknown): unknown;
  runtime: {
    registerFunction(
      name: string,
      fn: (args: unknown[]) => unknown,
      sig: InputSignature[],
      opts?: { override?: boolean },
    ): void;
    _functionTable: Record<string, { _signature: InputSignature[] }>;
  };
}

const InterpreterCtor = (jp.TreeInterpreter as unknown as { constructor: new () => Interpreter }).constructor;
const interp = new InterpreterCtor();
const baseVisit = Object.getPrototypeOf(interp).visit as (this: Interpreter, node: unknown, value: unknown) => unknown;

function isFalse(v: unknown): boolean {
  return (
    v === null ||
    v === false ||
    v === '' ||
    (Array.isArray(v) && v.length === 0) ||
    (typeof v === 'object' && v !== null && !Array.isArray(v) && Object.keys(v).length === 0)
  );
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

let lenient = 0;

function lenientVisit(node: unknown, value: unknown): unknown {
  lenient++;
  try {
    return interp.visit(node, value);
  } finally {
    lenient--;
  }
}

interp.visit = function (node: unknown, value: unknown): unknown {
  const n = node as Node;
  if ((n as { expref?: boolean }).expref) return lenientVisit({ ...n, expref: undefined }, value);
  switch (n.type) {
    case 'Field': {
      const name = n.name as string;
      if (!isObject(value)) return null;
      if (Object.hasOwn(value, name)) return value[name] ?? null;
      if (lenient > 0) return null;
      throw new JmespathNotFoundError(name);
    }
    case 'OrExpression': {
      let left: unknown;
      try {
        left = interp.visit(n.left, value);
      } catch (e) {
        if (!(e instanceof JmespathNotFoundError)) throw e;
        left = null;
      }
      return isFalse(left) ? interp.visit(n.right, value) : left;
    }
    case 'Projection': {
      const left = n.left as Node;
      const base = interp.visit(left, value);
      if (left.type === 'IndexExpression' && (left.right as Node).type === 'Slice' && typeof base === 'string') {
        return lenientVisit(n.right, base);
      }
      if (!Array.isArray(base)) return null;
      const out: unknown[] = [];
      for (const e of base) {
        const c = lenientVisit(n.right, e);
        if (c !== null) out.push(c);
      }
      return out;
    }
    case 'ValueProjection': {
      const base = interp.visit(n.left, value);
      if (!isObject(base)) return null;
      const out: unknown[] = [];
      for (const e of Object.values(base)) {
        const c = lenientVisit(n.right, e);
        if (c !== null) out.push(c);
      }
      return out;
    }
    case 'FilterProjection': {
      const base = interp.visit(n.left, value);
      if (!Array.isArray(base)) return null;
      const out: unknown[] = [];
      for (const e of base) {
        if (isFalse(lenientVisit(n.condition, e))) continue;
        const c = lenientVisit(n.right, e);
        if (c !== null) out.push(c);
      }
      return out;
    }
    default:
      return baseVisit.call(interp, node, value);
  }
};

// ---------------------------------------------------------------------------
// Clock

let clock: () => Date = () => new Date();

/** Runs fn with time_now()/time_since() reading `now`. */
export function withJmespathClock<T>(now: Date, fn: () => T): T {
  const saved = clock;
  clock = () => now;
  try {
    return fn();
  } finally {
    clock = saved;
  }
}

// ---------------------------------------------------------------------------
// Kyverno functions

function register(name: string, sig: InputSignature[], fn: (args: unknown[]) => unknown): void {
  interp.runtime.registerFunction(name, fn, sig, { override: true });
}

const S = { types: [TYPE_STRING] };
const N = { types: [TYPE_NUMBER] };
const A = { types: [TYPE_ANY] };
const SN = { types: [TYPE_STRING, TYPE_NUMBER] };

/** Go strconv.FormatFloat(f, 'f', -1, 64)-like text of a number argument. */
function numText(v: unknown): string {
  if (typeof v === 'string') return v;
  if (typeof v === 'number') {
    if (Number.isInteger(v) && Math.abs(v) < 1e21) return v.toFixed(0);
    return String(v);
  }
  if (typeof v === 'boolean') return String(v);
  throw new TypeError('expected string or number');
}

function time(fn: string, text: string): GoTime {
  try {
    return parseRFC3339(text);
  } catch (e) {
    throw new JmespathFunctionError(fn, (e as Error).message);
  }
}

function duration(fn: string, text: string): bigint {
  const d = parseGoDuration(text);
  if (d === undefined) throw new JmespathFunctionError(fn, `time: invalid duration "${text}"`);
  return d;
}

const NS = 1_000_000_000n;

register('compare', [S, S], ([a, b]) => ((a as string) < (b as string) ? -1 : (a as string) > (b as string) ? 1 : 0));
register('equal_fold', [S, S], ([a, b]) => {
  const x = a as string;
  const y = b as string;
  return x.toLowerCase() === y.toLowerCase() || x.toUpperCase() === y.toUpperCase();
});
register(
  'replace',
  [S, S, S, N],
  ([s, o, n, count]) => goReplace(s as string, o as string, n as string, Math.trunc(count as number)),
);
register('replace_all', [S, S, S], ([s, o, n]) => goReplace(s as string, o as string, n as string, -1));
register('to_upper', [S], ([s]) => (s as string).toUpperCase());
register('to_lower', [S], ([s]) => (s as string).toLowerCase());
register('trim', [S, S], ([s, cut]) => {
  const set = new Set(Array.from(cut as string));
  const cps = Array.from(s as string);
  let i = 0;
  let j = cps.length;
  while (i < j && set.has(cps[i])) i++;
  while (j > i && set.has(cps[j - 1])) j--;
  return cps.slice(i, j).join('');
});
register(
  'trim_prefix',
  [S, S],
  ([s, p]) => ((s as string).startsWith(p as string) ? (s as string).slice((p as string).length) : s),
);
register(
  'split',
  [S, S],
  ([s, sep]) => ((sep as string) === '' ? Array.from(s as string) : (s as string).split(sep as string)),
);
register(
  'regex_replace_all',
  [S, SN, SN],
  ([re, src, repl]) =>
    regexCall('regex_replace_all', () => goRegexReplaceAll(re as string, numText(src), numText(repl), false)),
);
register(
  'regex_replace_all_literal',
  [S, SN, SN],
  ([re, src, repl]) =>
    regexCall('regex_replace_all_literal', () => goRegexReplaceAll(re as string, numText(src), numText(repl), true)),
);
register(
  'regex_match',
  [S, SN],
  ([re, src]) => regexCall('regex_match', () => goRegexMatch(re as string, numText(src))),
);
register('pattern_match', [S, SN], ([p, src]) => matchesPattern(p as string, numText(src)));
register('label_match', [{ types: [TYPE_OBJECT] }, { types: [TYPE_OBJECT] }], ([a, b]) => {
  const x = a as Record<string, unknown>;
  const y = b as Record<string, unknown>;
  return Object.keys(x).every((k) => Object.hasOwn(y, k) && y[k] === x[k]);
});
register('base64_decode', [S], ([s]) => {
  const t = (s as string).replace(/[\r\n]/g, '');
  if (t.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(t)) {
    throw new JmespathFunctionError('base64_decode', 'illegal base64 data');
  }
  const bin = atob(t);
  return new TextDecoder().decode(Uint8Array.from(bin, (c) => c.charCodeAt(0)));
});
register('base64_encode', [S], ([s]) => {
  const bytes = new TextEncoder().encode(s as string);
  let bin = '';
  for (const b of bytes) bin += String.fromCharCode(b);
  return btoa(bin);
});
register('sha256', [S], ([s]) => bytesToHex(sha256(new TextEncoder().encode(s as string))));
register('md5', [S], ([s]) => bytesToHex(md5(new TextEncoder().encode(s as string))));
register('to_boolean', [S], ([s]) => {
  const v = (s as string).toLowerCase();
  if (v === 'true') return true;
  if (v === 'false') return false;
  throw new JmespathFunctionError('to_boolean', `lowercase argument must be 'true' or 'false' (provided: '${s}')`);
});
register('truncate', [S, N], ([s, n]) => {
  const len = Math.max(0, Math.trunc(n as number));
  const cps = Array.from(s as string);
  return cps.length > len ? cps.slice(0, len).join('') : s;
});
register('path_canonicalize', [S], ([s]) => cleanPath(s as string));
register('parse_json', [S], ([s]) => {
  try {
    return JSON.parse(s as string);
  } catch (e) {
    throw new JmespathFunctionError('parse_json', (e as Error).message);
  }
});
register('parse_yaml', [S], ([s]) => {
  try {
    return JSON.parse(JSON.stringify(parseYaml(s as string) ?? null));
  } catch (e) {
    throw new JmespathFunctionError('parse_yaml', (e as Error).message);
  }
});
register('items', [{ types: [TYPE_OBJECT, TYPE_ARRAY] }, S, S], ([input, kName, vName]) => {
  const k = kName as string;
  const v = vName as string;
  if (Array.isArray(input)) return input.map((x, i) => ({ [k]: i, [v]: x }));
  const o = input as Record<string, unknown>;
  return Object.keys(o)
    .sort()
    .map((key) => ({ [k]: key, [v]: o[key] }));
});
register('object_from_lists', [{ types: [TYPE_ARRAY] }, { types: [TYPE_ARRAY] }], ([keys, values]) => {
  const out: Record<string, unknown> = {};
  const vs = values as unknown[];
  (keys as unknown[]).forEach((key, i) => {
    if (typeof key !== 'string') {
      throw new JmespathFunctionError('object_from_lists', `key at index ${i} is not a string`);
    }
    out[key] = i < vs.length ? vs[i] : null;
  });
  return out;
});
register('lookup', [{ types: [TYPE_OBJECT, TYPE_ARRAY] }, { types: [TYPE_STRING, TYPE_NUMBER] }], ([c, key]) => {
  if (Array.isArray(c)) {
    if (typeof key !== 'number' || !Number.isInteger(key)) {
      throw new JmespathFunctionError('lookup', 'argument #2 must be an integer index');
    }
    return key >= 0 && key < c.length ? c[key] : null;
  }
  if (typeof key !== 'string') throw new JmespathFunctionError('lookup', 'argument #2 must be a string key');
  const o = c as Record<string, unknown>;
  return Object.hasOwn(o, key) ? o[key] : null;
});
register('semver_compare', [S, S], ([v, r]) => {
  try {
    return semverSatisfies(v as string, r as string);
  } catch (e) {
    throw new JmespathFunctionError('semver_compare', (e as Error).message);
  }
});
register('round', [N, N], ([x, d]) => {
  const digits = d as number;
  if (!Number.isInteger(digits)) throw new JmespathFunctionError('round', 'Integer expected for argument 2');
  const f = 10 ** digits;
  const v = x as number;
  return (Math.sign(v) * Math.round(Math.abs(v) * f)) / f;
});

// arithmetic on numbers, quantities ('10Mi') and durations ('1h')
type Operand = { kind: 'scalar'; n: number } | { kind: 'quantity'; q: Quantity } | { kind: 'duration'; d: bigint };

function operand(fn: string, v: unknown): Operand {
  if (typeof v === 'number') return { kind: 'scalar', n: v };
  if (typeof v === 'string') {
    const q = parseQuantity(v);
    if (q) return { kind: 'quantity', q };
    const d = parseGoDuration(v);
    if (d !== undefined) return { kind: 'duration', d };
  }
  throw new JmespathFunctionError(fn, 'invalid operands');
}

function mismatch(fn: string): never {
  throw new JmespathFunctionError(fn, 'types mismatch');
}

function zeroDivisor(fn: string): never {
  throw new JmespathFunctionError(fn, 'Zero divisor passed');
}

function arith(fn: 'add' | 'subtract' | 'multiply' | 'divide' | 'modulo', a: Operand, b: Operand): unknown {
  switch (fn) {
    case 'add':
    case 'subtract': {
      const sub = fn === 'subtract';
      if (a.kind === 'scalar' && b.kind === 'scalar') return sub ? a.n - b.n : a.n + b.n;
      if (a.kind === 'quantity' && b.kind === 'quantity') {
        return formatQuantity(sub ? subtractQuantities(a.q, b.q) : addQuantities(a.q, b.q));
      }
      if (a.kind === 'duration' && b.kind === 'duration') return formatGoDuration(sub ? a.d - b.d : a.d + b.d);
      return mismatch(fn);
    }
    case 'multiply': {
      if (a.kind === 'scalar' && b.kind !== 'scalar') [a, b] = [b, a];
      if (b.kind !== 'scalar') return mismatch(fn);
      if (a.kind === 'scalar') return a.n * b.n;
      if (a.kind === 'quantity') return formatQuantity(multiplyQuantity(a.q, b.n));
      return formatGoDuration(BigInt(Math.trunc(Number(a.d) * b.n)));
    }
    case 'divide': {
      if (a.kind === 'scalar') {
        if (b.kind !== 'scalar') return mismatch(fn);
        if (b.n === 0) return zeroDivisor(fn);
        return a.n / b.n;
      }
      if (a.kind === 'quantity') {
        if (b.kind === 'quantity') {
          const div = quantityToNumber(b.q);
          if (div === 0) return zeroDivisor(fn);
          return quantityToNumber(a.q) / div;
        }
        if (b.kind !== 'scalar') return mismatch(fn);
        if (b.n === 0) return zeroDivisor(fn);
        return formatQuantity(multiplyQuantity(a.q, 1 / b.n));
      }
      if (b.kind === 'duration') {
        if (b.d === 0n) return zeroDivisor(fn);
        return Number(a.d) / Number(b.d);
      }
      if (b.kind !== 'scalar') return mismatch(fn);
      if (b.n === 0) return zeroDivisor(fn);
      return formatGoDuration(BigInt(Math.trunc(Number(a.d) / b.n)));
    }
    case 'modulo': {
      if (a.kind === 'scalar' && b.kind === 'scalar') {
        if (!Number.isInteger(a.n) || !Number.isInteger(b.n)) {
          throw new JmespathFunctionError(fn, 'Non-integer argument(s) passed for modulo');
        }
        if (b.n === 0) return zeroDivisor(fn);
        return a.n % b.n;
      }
      if (a.kind === 'quantity' && b.kind === 'quantity') {
        if (!isWholeQuantity(a.q) || !isWholeQuantity(b.q)) {
          throw new JmespathFunctionError(fn, 'Non-integer argument(s) passed for modulo');
        }
        if (b.q.num === 0n) return zeroDivisor(fn);
        return formatQuantity({ num: a.q.num % b.q.num, den: 1n, format: a.q.format });
      }
      if (a.kind === 'duration' && b.kind === 'duration') {
        if (b.d === 0n) return zeroDivisor(fn);
        return formatGoDuration(a.d % b.d);
      }
      return mismatch(fn);
    }
  }
}

for (const fn of ['add', 'subtract', 'multiply', 'divide', 'modulo'] as const) {
  register(fn, [A, A], ([a, b]) => arith(fn, operand(fn, a), operand(fn, b)));
}

register('sum', [{ types: [TYPE_ARRAY] }], ([list]) => {
  const items = list as unknown[];
  if (items.length === 0) throw new JmespathFunctionError('sum', 'at least one element in the array is required');
  const ops = items.map((x) => operand('sum', x));
  const kind = ops[0].kind;
  if (ops.some((o) => o.kind !== kind)) return mismatch('sum');
  if (kind === 'scalar') return ops.reduce((n, o) => n + (o as { n: number }).n, 0);
  if (kind === 'quantity') {
    let q = (ops[0] as { q: Quantity }).q;
    for (const o of ops.slice(1)) q = addQuantities(q, (o as { q: Quantity }).q);
    return formatQuantity(q);
  }
  return formatGoDuration(ops.reduce((d, o) => d + (o as { d: bigint }).d, 0n));
});

// time
register('time_now', [], () => formatRFC3339(fromDate(clock(), 0)));
register('time_now_utc', [], () => formatRFC3339(fromDate(clock(), 0)));
register('time_since', [S, S, S], ([layout, t1, t2]) => {
  const parse = (v: string) => {
    try {
      return parseTimeWithLayout(layout as string, v);
    } catch (e) {
      throw new JmespathFunctionError('time_since', (e as Error).message);
    }
  };
  const a = parse(t1 as string);
  const b = (t2 as string) === '' ? fromDate(clock()) : parse(t2 as string);
  return formatGoDuration(b.ns - a.ns);
});
register('time_add', [S, S], ([t, d]) => {
  const a = time('time_add', t as string);
  return formatRFC3339({ ns: a.ns + duration('time_add', d as string), offset: a.offset });
});
register('time_parse', [S, S], ([layout, value]) => {
  const l = layout as string;
  const v = value as string;
  if (/^\d+$/.test(l)) {
    if (!/^-?\d+$/.test(v)) throw new JmespathFunctionError('time_parse', `invalid epoch time "${v}"`);
    return formatRFC3339({ ns: BigInt(v) * NS, offset: 0 });
  }
  try {
    return formatRFC3339(l === '' ? parseRFC3339(v) : parseGoLayout(l, v));
  } catch (e) {
    throw new JmespathFunctionError('time_parse', (e as Error).message);
  }
});
register('time_to_cron', [S], ([t]) => {
  const f = timeFields(time('time_to_cron', t as string));
  return `${f.minute} ${f.hour} ${f.day} ${f.month} ${f.weekday}`;
});
register('time_after', [S, S], ([a, b]) => time('time_after', a as string).ns > time('time_after', b as string).ns);
register('time_before', [S, S], ([a, b]) => time('time_before', a as string).ns < time('time_before', b as string).ns);
register('time_between', [S, S, S], ([t, s, e]) => {
  const x = time('time_between', t as string).ns;
  return x > time('time_between', s as string).ns && x < time('time_between', e as string).ns;
});
register(
  'time_diff',
  [S, S],
  ([a, b]) => formatGoDuration(time('time_diff', b as string).ns - time('time_diff', a as string).ns),
);
register('time_truncate', [S, S], ([t, d]) => {
  const a = time('time_truncate', t as string);
  const dur = duration('time_truncate', d as string);
  if (dur <= 0n) return formatRFC3339(a);
  // Go truncates the absolute time since year 1, not since the Unix epoch
  const ZERO_TO_UNIX = 62_135_596_800n * NS;
  const abs = a.ns + ZERO_TO_UNIX;
  const truncated = abs - (((abs % dur) + dur) % dur) - ZERO_TO_UNIX;
  return formatRFC3339({ ns: truncated, offset: a.offset });
});
register('time_utc', [S], ([t]) => formatRFC3339({ ns: time('time_utc', t as string).ns, offset: 0 }));

function regexCall<T>(fn: string, f: () => T): T {
  try {
    return f();
  } catch (e) {
    if (e instanceof GoRegexSyntaxError) throw new JmespathFunctionError(fn, e.message);
    throw e;
  }
}

/** Go path.Clean / filepath.Clean (Unix). */
function cleanPath(p: string): string {
  if (p === '') return '.';
  const rooted = p.startsWith('/');
  const out: string[] = [];
  for (const part of p.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') {
      if (out.length > 0 && out[out.length - 1] !== '..') out.pop();
      else if (!rooted) out.push('..');
      continue;
    }
    out.push(part);
  }
  const joined = out.join('/');
  return rooted ? `/${joined}` : joined || '.';
}

// ---------------------------------------------------------------------------
// Compile, validate, search

const astCache = new Map<string, AstNode>();
const AST_CACHE_LIMIT = 1000;

export class JmespathCompileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'JmespathCompileError';
  }
}

interface FunctionCall {
  name: string;
  argc: number;
  /** the first argument when it is a literal */
  literal?: unknown;
}

function walkFunctions(node: unknown, out: FunctionCall[]): void {
  if (Array.isArray(node)) {
    for (const x of node) walkFunctions(x, out);
    return;
  }
  if (typeof node !== 'object' || node === null) return;
  const n = node as Node;
  if (n.type === 'Function') {
    const children = n.children as Node[];
    out.push({
      name: n.name as string,
      argc: children.length,
      ...(children[0]?.type === 'Literal' ? { literal: children[0].value } : {}),
    });
  }
  if (n.type === 'Literal') return;
  for (const v of Object.values(n)) if (typeof v === 'object') walkFunctions(v, out);
}

const REGEX_FUNCTIONS = new Set(['regex_match', 'regex_replace_all', 'regex_replace_all_literal']);

/**
 * Compiles a JMESPath expression (cached) and checks that every function it
 * calls exists with a valid number of arguments, and that every literal
 * regular expression is one Go accepts. Throws JmespathCompileError.
 */
export function compileJmespath(expr: string): AstNode {
  const hit = astCache.get(expr);
  if (hit) return hit;
  let ast: AstNode;
  try {
    ast = jp.compile(expr);
  } catch (e) {
    throw new JmespathCompileError((e as Error).message);
  }
  const calls: FunctionCall[] = [];
  walkFunctions(ast, calls);
  for (const { name, argc, literal } of calls) {
    const entry = interp.runtime._functionTable[name];
    if (!entry) throw new JmespathCompileError(`unknown function: ${name}()`);
    const sig = entry._signature;
    const variadic = sig.some((s) => s.variadic);
    const min = sig.filter((s) => !s.optional && !s.variadic).length;
    const max = variadic ? Infinity : sig.length;
    if (argc < min || argc > max) {
      const expected = min === max ? `${min}` : max === Infinity ? `at least ${min}` : `${min} to ${max}`;
      throw new JmespathCompileError(`function ${name}() expects ${expected} argument(s), got ${argc}`);
    }
    // a literal pattern is compiled now, so a policy Go's regexp would refuse is refused when it is loaded
    if (REGEX_FUNCTIONS.has(name) && typeof literal === 'string') {
      const error = getGoRegexError(literal);
      if (error !== undefined) throw new JmespathCompileError(`function ${name}(): ${error}`);
    }
  }
  astCache.set(expr, ast);
  if (astCache.size > AST_CACHE_LIMIT) astCache.delete(astCache.keys().next().value as string);
  return ast;
}

/** Evaluates a compiled expression over `data` with Kyverno's functions and strictness. */
export function searchJmespath(ast: AstNode, data: unknown): unknown {
  lenient = 0;
  return interp.search(ast, data as JSONValue);
}

/** Names of the functions available to expressions (JMESPath built-ins and Kyverno's). */
export function getJmespathFunctionNames(): string[] {
  return Object.keys(interp.runtime._functionTable).sort();
}
