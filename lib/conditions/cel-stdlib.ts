// The functions of sigward's CEL engine: cel-spec's standard library and
// cel-go's extensions that Kubernetes enables (strings, math, encoders,
// optionals, lists, sets). Kubernetes' own libraries are in cel-k8s.ts.
//
// A library is a table keyed `name/arity` (global functions, e.g. `size/1`,
// `math.greatest/*` for variadic ones) or `.name/arity` (methods; the receiver
// is the first argument). Implementations take and return values of the model
// of cel-values.ts and throw CelError (runtime.ts) for CEL errors.

import { compileGoRegex, type GoRegex, GoRegexSyntaxError } from '../go-regex.ts';
import { parseGoDuration } from './go-duration.ts';
import {
  celCompare,
  celEquals,
  CelError,
  charge,
  chargeSize,
  checkInt,
  checkTimestamp,
  compareStrings,
  durationFromNanos,
  err,
  formatDouble,
  fromInput,
  INT_MAX,
  INT_MIN,
  isMap,
  mapEntries,
  mapKeys,
  mapSize,
  noOverload,
  timestampFromNanos,
  TS_MAX,
  TS_MIN,
  typeOf,
  UINT_MAX,
} from './cel-runtime.ts';
import { CelDuration, CelObject, CelOptional, CelTimestamp, celTypeName, CelTypeValue, CelUint } from './cel-values.ts';
import { goReplace } from './go-strings.ts';

export type CelFn = (...args: any[]) => unknown; // eslint-disable-line @typescript-eslint/no-explicit-any
export type CelFunctionTable = Record<string, CelFn>;

const utf8Decoder = new TextDecoder('utf-8', { fatal: true });
const utf8Encoder = new TextEncoder();

function str(v: unknown, fn: string): string {
  if (typeof v !== 'string') throw noOverload(fn, v);
  return v;
}
function int(v: unknown, fn: string): bigint {
  if (typeof v !== 'bigint') throw noOverload(fn, v);
  return v;
}
function list(v: unknown, fn: string): unknown[] {
  if (!Array.isArray(v)) throw noOverload(fn, v);
  return v;
}
function ts(v: unknown, fn: string): CelTimestamp {
  if (v instanceof CelTimestamp) return v;
  if (v instanceof Date) return CelTimestamp.fromDate(v);
  throw noOverload(fn, v);
}

/** Code points of a string (CEL indexes strings by code point). */
function codePoints(s: string): string[] {
  return Array.from(s);
}
function isAscii(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 0x7f) return false;
  return true;
}
function cpLength(s: string): number {
  if (isAscii(s)) return s.length;
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0xd800 || c > 0xdbff) n++;
  }
  return n;
}

// ---------------------------------------------------------------------------
// Regular expressions: RE2 (linear time), compiled once per pattern

/** A CEL pattern as a Go regexp (lib/go-regex.ts: RE2, cached); a syntax error is a CEL error. */
export function celRegex(pattern: string): GoRegex {
  try {
    return compileGoRegex(pattern);
  } catch (e) {
    if (e instanceof GoRegexSyntaxError) {
      throw err(`invalid regular expression ${JSON.stringify(pattern)}: ${e.message}`);
    }
    throw e;
  }
}

function matches(s: unknown, pattern: unknown): boolean {
  const text = str(s, 'matches');
  const p = str(pattern, 'matches');
  chargeSize(text.length + p.length);
  return celRegex(p).test(text);
}

// ---------------------------------------------------------------------------
// Conversions

const GO_BOOL: Record<string, boolean> = {
  '1': true,
  t: true,
  T: true,
  TRUE: true,
  true: true,
  True: true,
  '0': false,
  f: false,
  F: false,
  FALSE: false,
  false: false,
  False: false,
};

function toInt(v: unknown): bigint {
  if (typeof v === 'bigint') return v;
  if (v instanceof CelUint) {
    if (v.value > INT_MAX) throw err('range error converting uint to int');
    return v.value;
  }
  if (typeof v === 'number') {
    if (!(v > -9223372036854775808 && v < 9223372036854775807)) throw err('range error converting double to int');
    return BigInt(Math.trunc(v));
  }
  if (typeof v === 'string') {
    if (!/^[+-]?\d+$/.test(v)) throw err(`cannot convert string ${JSON.stringify(v)} to int`);
    return checkRange(BigInt(v), INT_MIN, INT_MAX, 'int');
  }
  if (v instanceof CelTimestamp || v instanceof Date) return ts(v, 'int').seconds;
  throw noOverload('int', v);
}

function checkRange(v: bigint, lo: bigint, hi: bigint, what: string): bigint {
  if (v < lo || v > hi) throw err(`range error converting to ${what}`);
  return v;
}

function toUint(v: unknown): CelUint {
  if (v instanceof CelUint) return v;
  if (typeof v === 'bigint') {
    if (v < 0n) throw err('range error converting int to uint');
    return new CelUint(v);
  }
  if (typeof v === 'number') {
    if (!(v >= 0 && v < 18446744073709551616)) throw err('range error converting double to uint');
    return new CelUint(BigInt(Math.trunc(v)));
  }
  if (typeof v === 'string') {
    if (!/^\d+$/.test(v)) throw err(`cannot convert string ${JSON.stringify(v)} to uint`);
    return new CelUint(checkRange(BigInt(v), 0n, UINT_MAX, 'uint'));
  }
  throw noOverload('uint', v);
}

function toDouble(v: unknown): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'bigint') return Number(v);
  if (v instanceof CelUint) return Number(v.value);
  if (typeof v === 'string') {
    const t = v.trim() === v ? v : '';
    if (/^[+-]?(inf|infinity)$/i.test(t)) return t.startsWith('-') ? -Infinity : Infinity;
    if (/^[+-]?nan$/i.test(t)) return NaN;
    if (!/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(t)) {
      throw err(`cannot convert string ${JSON.stringify(v)} to double`);
    }
    const d = Number(t);
    if (!Number.isFinite(d)) throw err(`range error converting string ${JSON.stringify(v)} to double`);
    return d;
  }
  throw noOverload('double', v);
}

export function toCelString(v: unknown): string {
  switch (typeof v) {
    case 'string':
      return v;
    case 'bigint':
      return v.toString();
    case 'number':
      return formatDouble(v);
    case 'boolean':
      return v ? 'true' : 'false';
  }
  if (v instanceof CelUint) return v.value.toString();
  if (v instanceof Uint8Array) {
    try {
      return utf8Decoder.decode(v);
    } catch {
      throw err('invalid UTF-8 in bytes converted to string');
    }
  }
  if (v instanceof Date) return CelTimestamp.fromDate(v).toString();
  if (v instanceof CelTimestamp || v instanceof CelDuration) return v.toString();
  if (v instanceof CelObject && 'toString' in v) return String(v);
  if (v instanceof CelTypeValue) return v.name;
  throw noOverload('string', v);
}

function toBytes(v: unknown): Uint8Array {
  if (v instanceof Uint8Array) return v;
  if (typeof v === 'string') return utf8Encoder.encode(v);
  throw noOverload('bytes', v);
}

function toBool(v: unknown): boolean {
  if (typeof v === 'boolean') return v;
  if (typeof v === 'string') {
    const b = GO_BOOL[v];
    if (b === undefined) throw err(`cannot convert string ${JSON.stringify(v)} to bool`);
    return b;
  }
  throw noOverload('bool', v);
}

function toDuration(v: unknown): CelDuration {
  if (v instanceof CelDuration) return v;
  if (typeof v === 'string') {
    const ns = parseGoDuration(v);
    if (ns === undefined) throw err(`invalid duration ${JSON.stringify(v)}`);
    return durationFromNanos(ns);
  }
  throw noOverload('duration', v);
}

function toTimestamp(v: unknown): CelTimestamp {
  if (v instanceof CelTimestamp) return checkTimestamp(v);
  if (v instanceof Date) return checkTimestamp(CelTimestamp.fromDate(v));
  if (typeof v === 'string') {
    let t: CelTimestamp;
    try {
      t = CelTimestamp.parse(v);
    } catch {
      throw err(`invalid timestamp ${JSON.stringify(v)}`);
    }
    return checkTimestamp(t);
  }
  if (typeof v === 'bigint') {
    if (v < TS_MIN || v > TS_MAX) throw err('timestamp out of range');
    return new CelTimestamp(v, 0);
  }
  throw noOverload('timestamp', v);
}

// ---------------------------------------------------------------------------
// Timestamp fields in a time zone

interface LocalTime {
  year: number;
  month: number; // 0-11
  day: number; // 1-31
  hour: number;
  minute: number;
  second: number;
  weekday: number; // 0 = Sunday
  yday: number; // 0-365
}

const zoneFormats = new Map<string, Intl.DateTimeFormat>();

function zoneOffsetSeconds(seconds: bigint, tz: string | undefined): number {
  if (tz === undefined || tz === 'UTC' || tz === 'Z') return 0;
  const fixed = /^([+-]?)(\d{1,2}):(\d{2})$/.exec(tz);
  if (fixed) return (fixed[1] === '-' ? -1 : 1) * (Number(fixed[2]) * 3600 + Number(fixed[3]) * 60);
  let f = zoneFormats.get(tz);
  if (!f) {
    try {
      f = new Intl.DateTimeFormat('en-US', {
        timeZone: tz,
        hourCycle: 'h23',
        year: 'numeric',
        month: 'numeric',
        day: 'numeric',
        hour: 'numeric',
        minute: 'numeric',
        second: 'numeric',
        era: 'short',
      });
    } catch {
      throw err(`unknown time zone ${JSON.stringify(tz)}`);
    }
    zoneFormats.set(tz, f);
  }
  const ms = Number(seconds) * 1000;
  const parts: Record<string, string> = {};
  for (const p of f.formatToParts(new Date(ms))) parts[p.type] = p.value;
  let year = Number(parts.year);
  if (parts.era === 'BC' || parts.era === 'B') year = 1 - year;
  const local = Date.UTC(
    year,
    Number(parts.month) - 1,
    Number(parts.day),
    Number(parts.hour),
    Number(parts.minute),
    Number(parts.second),
  );
  const d = new Date(0);
  d.setUTCFullYear(year, Number(parts.month) - 1, Number(parts.day));
  d.setUTCHours(Number(parts.hour), Number(parts.minute), Number(parts.second), 0);
  void local;
  return Math.round((d.getTime() - Math.floor(ms / 1000) * 1000) / 1000);
}

function localTime(t: CelTimestamp, tz: unknown): LocalTime {
  if (tz !== undefined && typeof tz !== 'string') throw noOverload('timestamp accessor', t, tz);
  const s = t.seconds + BigInt(zoneOffsetSeconds(t.seconds, tz as string | undefined));
  const d = new Date(Number(s) * 1000);
  const start = new Date(0);
  start.setUTCFullYear(d.getUTCFullYear(), 0, 1);
  start.setUTCHours(0, 0, 0, 0);
  return {
    year: d.getUTCFullYear(),
    month: d.getUTCMonth(),
    day: d.getUTCDate(),
    hour: d.getUTCHours(),
    minute: d.getUTCMinutes(),
    second: d.getUTCSeconds(),
    weekday: d.getUTCDay(),
    yday: Math.floor((d.getTime() - start.getTime()) / 86_400_000),
  };
}

function timeAccessor(field: keyof LocalTime | 'ms', name: string, durationDiv?: bigint): CelFn {
  return (v: unknown, tz?: unknown) => {
    if (v instanceof CelDuration && tz === undefined && durationDiv !== undefined) return v.toNanos() / durationDiv;
    const t = ts(v, name);
    if (field === 'ms') {
      if (tz !== undefined && typeof tz !== 'string') throw noOverload(name, v, tz);
      if (typeof tz === 'string') zoneOffsetSeconds(t.seconds, tz); // validates the zone
      return BigInt(Math.floor(t.nanos / 1_000_000));
    }
    return BigInt(localTime(t, tz)[field]);
  };
}

// ---------------------------------------------------------------------------
// strings extension (code point indices, as cel-go)

function indexOutOfRange(i: bigint | number, len: number): CelError {
  return err(`index out of range: ${i}`);
}

function charAt(s: unknown, i: unknown): string {
  const cps = codePoints(str(s, 'charAt'));
  const n = Number(int(i, 'charAt'));
  if (n < 0 || n > cps.length) throw indexOutOfRange(n, cps.length);
  return cps[n] ?? '';
}

function indexOf(s: unknown, sub: unknown, start?: unknown): bigint {
  if (Array.isArray(s)) return listIndexOf(s, sub, false);
  const text = codePoints(str(s, 'indexOf'));
  const needle = codePoints(str(sub, 'indexOf'));
  chargeSize(text.length);
  const from = start === undefined ? 0 : Number(int(start, 'indexOf'));
  if (from < 0 || from > text.length) throw indexOutOfRange(from, text.length);
  outer: for (let i = from; i + needle.length <= text.length; i++) {
    for (let j = 0; j < needle.length; j++) if (text[i + j] !== needle[j]) continue outer;
    return BigInt(i);
  }
  return -1n;
}

function lastIndexOf(s: unknown, sub: unknown, start?: unknown): bigint {
  if (Array.isArray(s)) return listIndexOf(s, sub, true);
  const text = codePoints(str(s, 'lastIndexOf'));
  const needle = codePoints(str(sub, 'lastIndexOf'));
  chargeSize(text.length);
  const from = start === undefined ? text.length : Number(int(start, 'lastIndexOf'));
  if (from < 0 || from > text.length) throw indexOutOfRange(from, text.length);
  outer: for (let i = Math.min(from, text.length - needle.length); i >= 0; i--) {
    for (let j = 0; j < needle.length; j++) if (text[i + j] !== needle[j]) continue outer;
    return BigInt(i);
  }
  return -1n;
}

function substring(s: unknown, start: unknown, end?: unknown): string {
  const cps = codePoints(str(s, 'substring'));
  const a = Number(int(start, 'substring'));
  const b = end === undefined ? cps.length : Number(int(end, 'substring'));
  if (a < 0 || a > cps.length) throw indexOutOfRange(a, cps.length);
  if (b < 0 || b > cps.length) throw indexOutOfRange(b, cps.length);
  if (a > b) throw err(`invalid substring range. start: ${a}, end: ${b}`);
  return cps.slice(a, b).join('');
}

function replace(s: unknown, old: unknown, repl: unknown, n?: unknown): string {
  const text = str(s, 'replace');
  const o = str(old, 'replace');
  const r = str(repl, 'replace');
  // charged by the largest result it can build, before building it
  const growth = Math.max(0, r.length - o.length) * (o === '' ? text.length + 1 : Math.floor(text.length / o.length));
  chargeSize(text.length + growth);
  return goReplace(text, o, r, n === undefined ? -1 : Number(int(n, 'replace')));
}

function split(s: unknown, sep: unknown, n?: unknown): string[] {
  const text = str(s, 'split');
  const sp = str(sep, 'split');
  chargeSize(text.length);
  const limit = n === undefined ? -1 : Number(int(n, 'split'));
  if (limit === 0) return [];
  if (sp === '') {
    const cps = codePoints(text);
    if (limit < 0 || limit >= cps.length) return cps;
    return [...cps.slice(0, limit - 1), cps.slice(limit - 1).join('')];
  }
  const parts = text.split(sp);
  if (limit < 0 || limit >= parts.length) return parts;
  return [...parts.slice(0, limit - 1), parts.slice(limit - 1).join(sp)];
}

const GO_SPACE = '[\\t\\n\\v\\f\\r \\u0085\\u00A0\\u1680\\u2000-\\u200A\\u2028\\u2029\\u202F\\u205F\\u3000]';
const TRIM = new RegExp(`^${GO_SPACE}+|${GO_SPACE}+$`, 'g');

function join(l: unknown, sep?: unknown): string {
  const items = list(l, 'join');
  const s = sep === undefined ? '' : str(sep, 'join');
  chargeSize(items.length);
  for (const x of items) if (typeof x !== 'string') throw noOverload('join', l);
  return items.join(s);
}

function quote(s: unknown): string {
  const text = str(s, 'strings.quote');
  let out = '"';
  for (const ch of text) {
    const c = ch.codePointAt(0) as number;
    switch (ch) {
      case '\x07':
        out += '\\a';
        break;
      case '\b':
        out += '\\b';
        break;
      case '\f':
        out += '\\f';
        break;
      case '\n':
        out += '\\n';
        break;
      case '\r':
        out += '\\r';
        break;
      case '\t':
        out += '\\t';
        break;
      case '\v':
        out += '\\v';
        break;
      case '\\':
        out += '\\\\';
        break;
      case '"':
        out += '\\"';
        break;
      default:
        out += c === 0xfffd ? '\ufffd' : ch;
    }
  }
  return out + '"';
}

function reverse(v: unknown): unknown {
  if (typeof v === 'string') {
    chargeSize(v.length);
    return codePoints(v).reverse().join('');
  }
  if (Array.isArray(v)) {
    chargeSize(v.length);
    return [...v].reverse();
  }
  throw noOverload('reverse', v);
}

// format: cel-go's string.format (ext.Strings, version 4 behaviour)

function formatValue(v: unknown): string {
  if (typeof v === 'string') return v;
  if (typeof v === 'number') {
    if (Number.isNaN(v)) return 'NaN';
    if (!Number.isFinite(v)) return v > 0 ? 'Infinity' : '-Infinity';
    return formatDouble(v);
  }
  if (v instanceof Uint8Array) return toCelString(v);
  if (v === null) return 'null';
  if (Array.isArray(v)) return `[${v.map((x) => formatValue(fromInput(x))).join(', ')}]`;
  if (v instanceof CelTypeValue) return v.name;
  if (isMap(v)) {
    const entries = [...mapEntries(v)].map(([k, x]) => [formatValue(k), formatValue(x)] as const);
    entries.sort((a, b) => compareStrings(a[0], b[0]));
    return `{${entries.map(([k, x]) => `${k}: ${x}`).join(', ')}}`;
  }
  return toCelString(v);
}

/** toFixed with Go's rounding (ties to even on the exact binary value). */
function toFixedEven(d: number, precision: number): string {
  const s = d.toFixed(precision);
  if (precision > 80) return s;
  const exact = d.toFixed(Math.min(100, precision + 20));
  const dot = exact.indexOf('.');
  const tail = exact.slice(dot + 1 + precision);
  if (!/^50*$/.test(tail)) return s;
  // a tie: round the kept digits to even
  const kept = exact.slice(0, dot + 1 + precision).replace(/\.$/, '');
  const lastDigit = Number(kept.replace('.', '').slice(-1));
  if (lastDigit % 2 === 0) return kept;
  return s;
}

function formatFixed(v: unknown, precision: number, clause: string): string {
  let d: number;
  if (typeof v === 'number') d = v;
  else if (typeof v === 'bigint' || v instanceof CelUint) d = Number(v instanceof CelUint ? v.value : v);
  else if (typeof v === 'string') {
    if (/^[+-]?(inf|infinity)$/i.test(v)) d = v.startsWith('-') ? -Infinity : Infinity;
    else if (/^nan$/i.test(v)) d = NaN;
    else {throw err(
        `error during formatting: fixed-point clause can only be used on doubles, was given ${celTypeName(v)}`,
      );}
  } else {throw err(
      `error during formatting: ${clause} clause can only be used on doubles, was given ${celTypeName(v)}`,
    );}
  if (Number.isNaN(d)) return 'NaN';
  if (!Number.isFinite(d)) return d > 0 ? 'Infinity' : '-Infinity';
  return clause === 'scientific' ? goExponent(d, precision) : toFixedEven(d, precision);
}

function goExponent(d: number, precision: number): string {
  const e = d.toExponential(precision);
  return e.replace(/e([+-])(\d)$/, 'e$10$2');
}

function formatInteger(v: unknown, radix: number, clause: string, upper = false): string {
  let n: bigint;
  if (typeof v === 'bigint') n = v;
  else if (v instanceof CelUint) n = v.value;
  else if (clause === 'binary' && typeof v === 'boolean') n = v ? 1n : 0n;
  else if (radix === 16 && typeof v === 'string') n = -1n;
  else if (radix === 16 && v instanceof Uint8Array) n = -1n;
  else if (radix === 16 && typeof v === 'number') {
    throw err(
      `error during formatting: only integers, byte buffers, and strings can be formatted as hex, was given ${
        celTypeName(v)
      }`,
    );
  } else if (clause === 'decimal') {
    throw err(`error during formatting: decimal clause can only be used on integers, was given ${celTypeName(v)}`);
  } else {throw err(
      `error during formatting: ${clause} clause can only be used on integers, was given ${celTypeName(v)}`,
    );}
  let out: string;
  if (radix === 16 && (typeof v === 'string' || v instanceof Uint8Array)) {
    const bytes = typeof v === 'string' ? utf8Encoder.encode(v) : v;
    out = Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
  } else out = n < 0n ? '-' + (-n).toString(radix) : n.toString(radix);
  return upper ? out.toUpperCase() : out;
}

function format(fmt: unknown, args: unknown): string {
  const f = str(fmt, 'format');
  const a = list(args, 'format');
  chargeSize(f.length);
  let out = '';
  let argi = 0;
  for (let i = 0; i < f.length; i++) {
    const c = f[i];
    if (c !== '%') {
      out += c;
      continue;
    }
    i++;
    if (f[i] === '%') {
      out += '%';
      continue;
    }
    let precision: number | undefined;
    if (f[i] === '.') {
      let j = i + 1;
      while (j < f.length && f[j] >= '0' && f[j] <= '9') j++;
      precision = Number(f.slice(i + 1, j));
      i = j;
    }
    const verb = f[i];
    if (verb === undefined) throw err('error during formatting: unexpected end of format string');
    if (argi >= a.length) throw err(`error during formatting: index ${argi} out of range`);
    const v = fromInput(a[argi++]);
    switch (verb) {
      case 's':
        out += formatValue(v);
        break;
      case 'd':
        if (typeof v === 'number' && !Number.isFinite(v)) out += formatValue(v);
        else out += formatInteger(v, 10, 'decimal');
        break;
      case 'f':
        out += formatFixed(v, precision ?? 6, 'fixed-point');
        break;
      case 'e':
        out += formatFixed(v, precision ?? 6, 'scientific');
        break;
      case 'b':
        out += formatInteger(v, 2, 'binary');
        break;
      case 'o':
        out += formatInteger(v, 8, 'octal');
        break;
      case 'x':
        out += formatInteger(v, 16, 'hex');
        break;
      case 'X':
        out += formatInteger(v, 16, 'hex', true);
        break;
      default:
        throw err(`error during formatting: unrecognized formatting clause "${verb}"`);
    }
  }
  if (argi < a.length) {
    // cel-go ignores extra arguments
  }
  return out;
}

// ---------------------------------------------------------------------------
// math extension

function numericArgs(args: unknown[], fn: string): unknown[] {
  const items = args.length === 1 && Array.isArray(args[0]) ? (args[0] as unknown[]).map(fromInput) : args;
  if (items.length === 0) throw err(`${fn}(list) argument must not be empty`);
  for (const x of items) {
    if (typeof x !== 'number' && typeof x !== 'bigint' && !(x instanceof CelUint)) throw noOverload(fn, ...args);
  }
  return items;
}

function greatest(...args: unknown[]): unknown {
  const items = numericArgs(args, 'math.greatest');
  let best = items[0];
  for (const x of items) {
    if (celCompare(x, best, 'math.greatest') > 0 || (typeof x === 'number' && Number.isNaN(x))) best = x;
  }
  return best;
}

function least(...args: unknown[]): unknown {
  const items = numericArgs(args, 'math.least');
  let best = items[0];
  for (const x of items) {
    if (celCompare(x, best, 'math.least') < 0 || (typeof x === 'number' && Number.isNaN(x))) best = x;
  }
  return best;
}

function dbl(v: unknown, fn: string): number {
  if (typeof v !== 'number') throw noOverload(fn, v);
  return v;
}

function goRound(x: number): number {
  if (!Number.isFinite(x)) return x;
  const t = Math.trunc(x);
  return Math.abs(x - t) >= 0.5 ? t + Math.sign(x) : t === 0 ? (Object.is(x, -0) || x < 0 ? -0 : 0) : t;
}

function bitOp(fn: string, op: (a: bigint, b: bigint) => bigint): CelFn {
  return (a: unknown, b: unknown) => {
    if (typeof a === 'bigint' && typeof b === 'bigint') return BigInt.asIntN(64, op(a, b));
    if (a instanceof CelUint && b instanceof CelUint) return new CelUint(BigInt.asUintN(64, op(a.value, b.value)));
    throw noOverload(fn, a, b);
  };
}

function shift(fn: string, left: boolean): CelFn {
  return (a: unknown, n: unknown) => {
    const k = int(n, fn);
    if (k < 0n) throw err(`math.${left ? 'bitShiftLeft' : 'bitShiftRight'}() negative offset: ${k}`);
    const bits = k > 64n ? 64n : k;
    if (typeof a === 'bigint') {
      if (bits >= 64n) return 0n;
      return left ? BigInt.asIntN(64, a << bits) : BigInt.asIntN(64, BigInt.asUintN(64, a) >> bits);
    }
    if (a instanceof CelUint) {
      if (bits >= 64n) return new CelUint(0n);
      return new CelUint(left ? BigInt.asUintN(64, a.value << bits) : a.value >> bits);
    }
    throw noOverload(fn, a, n);
  };
}

// ---------------------------------------------------------------------------
// optionals

function isZeroValue(v: unknown): boolean {
  if (v === null || v === false || v === 0 || v === 0n || v === '') return true;
  if (v instanceof CelUint) return v.value === 0n;
  if (v instanceof Uint8Array) return v.length === 0;
  if (Array.isArray(v)) return v.length === 0;
  if (v instanceof CelDuration) return v.toNanos() === 0n;
  if (v instanceof CelTimestamp) return v.seconds === 0n && v.nanos === 0;
  if (v instanceof CelOptional) return false;
  if (isMap(v)) return mapSize(v) === 0;
  return false;
}

function opt(v: unknown, fn: string): CelOptional {
  if (!(v instanceof CelOptional)) throw noOverload(fn, v);
  return v;
}

// ---------------------------------------------------------------------------
// lists (cel-go ext.Lists and Kubernetes' lists library)

function listIndexOf(l: unknown[], x: unknown, last: boolean): bigint {
  chargeSize(l.length);
  if (last) {
    for (let i = l.length - 1; i >= 0; i--) if (celEquals(fromInput(l[i]), x)) return BigInt(i);
  } else for (let i = 0; i < l.length; i++) if (celEquals(fromInput(l[i]), x)) return BigInt(i);
  return -1n;
}

function comparableList(l: unknown, fn: string): unknown[] {
  const items = list(l, fn).map(fromInput);
  chargeSize(items.length);
  return items;
}

function sortList(l: unknown): unknown[] {
  const items = comparableList(l, 'sort');
  if (items.length > 0) {
    const t = celTypeName(items[0]);
    for (const x of items) if (celTypeName(x) !== t) throw err('sort: list elements must have the same type');
  }
  return [...items].sort((a, b) => celCompare(a, b, 'sort'));
}

function flatten(l: unknown, depth?: unknown): unknown[] {
  const d = depth === undefined ? 1 : Number(int(depth, 'flatten'));
  if (d < 0) throw err('flatten: level must be non-negative');
  const out: unknown[] = [];
  const walk = (xs: unknown[], level: number) => {
    chargeSize(xs.length);
    for (const x of xs) {
      if (Array.isArray(x) && level > 0) walk(x, level - 1);
      else out.push(fromInput(x));
    }
  };
  walk(list(l, 'flatten'), d);
  return out;
}

function distinct(l: unknown): unknown[] {
  const items = comparableList(l, 'distinct');
  const out: unknown[] = [];
  for (const x of items) {
    charge(out.length);
    if (!out.some((y) => celEquals(x, y))) out.push(x);
  }
  return out;
}

function slice(l: unknown, start: unknown, end: unknown): unknown[] {
  const items = list(l, 'slice');
  const a = int(start, 'slice');
  const b = int(end, 'slice');
  if (a < 0n || b < 0n) throw err(`cannot slice(${a}, ${b}), negative indexes not supported`);
  if (a > b) throw err(`cannot slice(${a}, ${b}), start index must be less than or equal to end index`);
  if (b > BigInt(items.length)) throw err(`cannot slice(${a}, ${b}), list is length ${items.length}`);
  chargeSize(Number(b - a));
  return items.slice(Number(a), Number(b));
}

function listRange(n: unknown): bigint[] {
  const k = int(n, 'lists.range');
  chargeSize(Number(k > 0n ? k : 0n));
  const out: bigint[] = [];
  for (let i = 0n; i < k; i++) out.push(i);
  return out;
}

function isSorted(l: unknown): boolean {
  const items = comparableList(l, 'isSorted');
  for (let i = 1; i < items.length; i++) if (celCompare(items[i - 1], items[i], 'isSorted') > 0) return false;
  return true;
}

function sum(l: unknown): unknown {
  const items = comparableList(l, 'sum');
  if (items.length === 0) return 0n;
  let acc: unknown = items[0];
  for (let i = 1; i < items.length; i++) {
    const x = items[i];
    if (typeof acc === 'number' && typeof x === 'number') acc = acc + x;
    else if (typeof acc === 'bigint' && typeof x === 'bigint') acc = checkInt(acc + x);
    else if (acc instanceof CelUint && x instanceof CelUint) acc = new CelUint(acc.value + x.value);
    else if (acc instanceof CelDuration && x instanceof CelDuration) {
      acc = durationFromNanos(acc.toNanos() + x.toNanos());
    } else throw noOverload('sum', l);
  }
  return acc;
}

function minMax(fn: 'min' | 'max'): CelFn {
  return (l: unknown) => {
    const items = comparableList(l, fn);
    if (items.length === 0) throw err(`${fn} of an empty list`);
    let best = items[0];
    for (const x of items) {
      const c = celCompare(x, best, fn);
      if (fn === 'min' ? c < 0 : c > 0) best = x;
    }
    return best;
  };
}

// sets (cel-go ext.Sets)
function setContains(a: unknown, b: unknown): boolean {
  const xs = comparableList(a, 'sets.contains');
  const ys = comparableList(b, 'sets.contains');
  charge(xs.length * ys.length * 0.1);
  return ys.every((y) => xs.some((x) => celEquals(x, y)));
}
function setIntersects(a: unknown, b: unknown): boolean {
  const xs = comparableList(a, 'sets.intersects');
  const ys = comparableList(b, 'sets.intersects');
  charge(xs.length * ys.length * 0.1);
  return ys.some((y) => xs.some((x) => celEquals(x, y)));
}

// ---------------------------------------------------------------------------
// base64 (cel-go ext.Encoders)

function b64encode(v: unknown): string {
  if (!(v instanceof Uint8Array)) throw noOverload('base64.encode', v);
  chargeSize(v.length);
  let bin = '';
  for (let i = 0; i < v.length; i++) bin += String.fromCharCode(v[i]);
  return btoa(bin);
}

function b64decode(v: unknown): Uint8Array {
  const s = str(v, 'base64.decode');
  chargeSize(s.length);
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(s) || s.length % 4 === 1 || (s.includes('=') && s.length % 4 !== 0)) {
    throw err('base64.decode: illegal base64 data');
  }
  let bin: string;
  try {
    bin = atob(s);
  } catch {
    throw err('base64.decode: illegal base64 data');
  }
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

// ---------------------------------------------------------------------------

function size(v: unknown): bigint {
  if (typeof v === 'string') return BigInt(cpLength(v));
  if (Array.isArray(v)) return BigInt(v.length);
  if (v instanceof Uint8Array) return BigInt(v.length);
  if (isMap(v)) return BigInt(mapSize(v));
  throw noOverload('size', v);
}

export const STANDARD_FUNCTIONS: CelFunctionTable = {
  'size/1': size,
  '.size/0': size,
  '.contains/1': (s: unknown, sub: unknown) => {
    const t = str(s, 'contains');
    chargeSize(t.length);
    return t.includes(str(sub, 'contains'));
  },
  '.startsWith/1': (s: unknown, p: unknown) => str(s, 'startsWith').startsWith(str(p, 'startsWith')),
  '.endsWith/1': (s: unknown, p: unknown) => str(s, 'endsWith').endsWith(str(p, 'endsWith')),
  '.matches/1': matches,
  'matches/2': matches,
  'int/1': toInt,
  'uint/1': toUint,
  'double/1': toDouble,
  'string/1': toCelString,
  'bytes/1': toBytes,
  'bool/1': toBool,
  'duration/1': toDuration,
  'timestamp/1': toTimestamp,
  'dyn/1': (v: unknown) => v,
  'type/1': typeOf,
  '.getFullYear/0': timeAccessor('year', 'getFullYear'),
  '.getFullYear/1': timeAccessor('year', 'getFullYear'),
  '.getMonth/0': timeAccessor('month', 'getMonth'),
  '.getMonth/1': timeAccessor('month', 'getMonth'),
  '.getDate/0': timeAccessor('day', 'getDate'),
  '.getDate/1': timeAccessor('day', 'getDate'),
  '.getDayOfMonth/0': (v: unknown, tz?: unknown) => (timeAccessor('day', 'getDayOfMonth')(v, tz) as bigint) - 1n,
  '.getDayOfMonth/1': (v: unknown, tz?: unknown) => (timeAccessor('day', 'getDayOfMonth')(v, tz) as bigint) - 1n,
  '.getDayOfWeek/0': timeAccessor('weekday', 'getDayOfWeek'),
  '.getDayOfWeek/1': timeAccessor('weekday', 'getDayOfWeek'),
  '.getDayOfYear/0': timeAccessor('yday', 'getDayOfYear'),
  '.getDayOfYear/1': timeAccessor('yday', 'getDayOfYear'),
  '.getHours/0': timeAccessor('hour', 'getHours', 3_600_000_000_000n),
  '.getHours/1': timeAccessor('hour', 'getHours'),
  '.getMinutes/0': timeAccessor('minute', 'getMinutes', 60_000_000_000n),
  '.getMinutes/1': timeAccessor('minute', 'getMinutes'),
  '.getSeconds/0': timeAccessor('second', 'getSeconds', 1_000_000_000n),
  '.getSeconds/1': timeAccessor('second', 'getSeconds'),
  '.getMilliseconds/0': (
    v: unknown,
  ) => (v instanceof CelDuration
    ? (v.toNanos() % 1_000_000_000n) / 1_000_000n
    : timeAccessor('ms', 'getMilliseconds')(v)),
  '.getMilliseconds/1': timeAccessor('ms', 'getMilliseconds'),
};

/** cel-go's strings extension. */
export const STRINGS_EXTENSION: CelFunctionTable = {
  '.charAt/1': charAt,
  '.indexOf/1': indexOf,
  '.indexOf/2': indexOf,
  '.lastIndexOf/1': lastIndexOf,
  '.lastIndexOf/2': lastIndexOf,
  '.lowerAscii/0': (s: unknown) => str(s, 'lowerAscii').replace(/[A-Z]+/g, (m) => m.toLowerCase()),
  '.upperAscii/0': (s: unknown) => str(s, 'upperAscii').replace(/[a-z]+/g, (m) => m.toUpperCase()),
  '.replace/2': replace,
  '.replace/3': replace,
  '.split/1': split,
  '.split/2': split,
  '.substring/1': substring,
  '.substring/2': substring,
  '.trim/0': (s: unknown) => str(s, 'trim').replace(TRIM, ''),
  '.join/0': join,
  '.join/1': join,
  '.format/1': format,
  'strings.quote/1': quote,
  '.reverse/0': reverse,
};

/** cel-go's math extension. */
export const MATH_EXTENSION: CelFunctionTable = {
  'math.greatest/*': greatest,
  'math.least/*': least,
  'math.ceil/1': (x: unknown) => Math.ceil(dbl(x, 'math.ceil')),
  'math.floor/1': (x: unknown) => Math.floor(dbl(x, 'math.floor')),
  'math.round/1': (x: unknown) => goRound(dbl(x, 'math.round')),
  'math.trunc/1': (x: unknown) => Math.trunc(dbl(x, 'math.trunc')),
  'math.abs/1': (x: unknown) => {
    if (typeof x === 'number') return Math.abs(x);
    if (typeof x === 'bigint') return checkInt(x < 0n ? -x : x);
    if (x instanceof CelUint) return x;
    throw noOverload('math.abs', x);
  },
  'math.sign/1': (x: unknown) => {
    if (typeof x === 'number') return Number.isNaN(x) ? NaN : x > 0 ? 1 : x < 0 ? -1 : 0;
    if (typeof x === 'bigint') return x > 0n ? 1n : x < 0n ? -1n : 0n;
    if (x instanceof CelUint) return new CelUint(x.value > 0n ? 1n : 0n);
    throw noOverload('math.sign', x);
  },
  'math.isInf/1': (x: unknown) => {
    const d = dbl(x, 'math.isInf');
    return d === Infinity || d === -Infinity;
  },
  'math.isNaN/1': (x: unknown) => Number.isNaN(dbl(x, 'math.isNaN')),
  'math.isFinite/1': (x: unknown) => Number.isFinite(dbl(x, 'math.isFinite')),
  'math.bitAnd/2': bitOp('math.bitAnd', (a, b) => a & b),
  'math.bitOr/2': bitOp('math.bitOr', (a, b) => a | b),
  'math.bitXor/2': bitOp('math.bitXor', (a, b) => a ^ b),
  'math.bitNot/1': (x: unknown) => {
    if (typeof x === 'bigint') return ~x;
    if (x instanceof CelUint) return new CelUint(BigInt.asUintN(64, ~x.value));
    throw noOverload('math.bitNot', x);
  },
  'math.bitShiftLeft/2': shift('math.bitShiftLeft', true),
  'math.bitShiftRight/2': shift('math.bitShiftRight', false),
  'math.sqrt/1': (x: unknown) => {
    if (typeof x === 'number') return Math.sqrt(x);
    if (typeof x === 'bigint') return Math.sqrt(Number(x));
    if (x instanceof CelUint) return Math.sqrt(Number(x.value));
    throw noOverload('math.sqrt', x);
  },
};

/** cel-go's encoders extension. */
export const ENCODERS_EXTENSION: CelFunctionTable = {
  'base64.encode/1': b64encode,
  'base64.decode/1': b64decode,
};

/** Optional values (cel-go's optional types); `or`/`orValue` are evaluated lazily by the compiler. */
export const OPTIONAL_FUNCTIONS: CelFunctionTable = {
  'optional.of/1': (v: unknown) => CelOptional.of(v),
  'optional.ofNonZeroValue/1': (v: unknown) => (isZeroValue(v) ? CelOptional.NONE : CelOptional.of(v)),
  'optional.none/0': () => CelOptional.NONE,
  '.hasValue/0': (o: unknown) => opt(o, 'hasValue').hasValue,
  '.value/0': (o: unknown) => {
    const x = opt(o, 'value');
    if (!x.hasValue) throw err('optional.none() dereference');
    return x.value;
  },
  '.or/1': (o: unknown, other: unknown) => {
    const x = opt(o, 'or');
    if (x.hasValue) return x;
    return opt(other, 'or');
  },
  '.orValue/1': (o: unknown, other: unknown) => {
    const x = opt(o, 'orValue');
    return x.hasValue ? x.value : other;
  },
  'optional.unwrap/1': (l: unknown) =>
    list(l, 'optional.unwrap').filter((x) => opt(x, 'optional.unwrap').hasValue).map((x) => (x as CelOptional).value),
  '.unwrapOpt/0': (l: unknown) =>
    list(l, 'unwrapOpt').filter((x) => opt(x, 'unwrapOpt').hasValue).map((x) => (x as CelOptional).value),
  '.first/0': (l: unknown) => {
    const xs = list(l, 'first');
    return xs.length ? CelOptional.of(fromInput(xs[0])) : CelOptional.NONE;
  },
  '.last/0': (l: unknown) => {
    const xs = list(l, 'last');
    return xs.length ? CelOptional.of(fromInput(xs[xs.length - 1])) : CelOptional.NONE;
  },
};

/** cel-go's lists and sets extensions and Kubernetes' lists library. */
export const LISTS_EXTENSION: CelFunctionTable = {
  'lists.range/1': listRange,
  '.slice/2': slice,
  '.flatten/0': flatten,
  '.flatten/1': flatten,
  '.distinct/0': distinct,
  '.sort/0': sortList,
  '.isSorted/0': isSorted,
  '.sum/0': sum,
  '.min/0': minMax('min'),
  '.max/0': minMax('max'),
  'sets.contains/2': setContains,
  'sets.equivalent/2': (a: unknown, b: unknown) => setContains(a, b) && setContains(b, a),
  'sets.intersects/2': setIntersects,
};

/** Names of the map keys in a deterministic order (for iteration). */
export function orderedKeys(m: Map<unknown, unknown> | Record<string, unknown>): unknown[] {
  return mapKeys(m);
}

export { isZeroValue, timestampFromNanos, toBool, toBytes, toDouble, toDuration, toInt, toTimestamp, toUint };
