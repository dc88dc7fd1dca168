// The operations of sigward's CEL engine on the value model of
// lib/conditions/cel-values.ts, used as they come (plain objects and Maps are
// CEL maps, arrays lists, bigint int, number double, ...): errors, the cost
// meter, equality and ordering, arithmetic with CEL's overflow rules, map
// access, type values and conversions.

import { CelDuration, CelObject, CelOptional, CelTimestamp, celTypeName, CelTypeValue, CelUint } from './cel-values.ts';

/** A CEL evaluation error (a value in CEL: `false && err` is false). */
export class CelError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CelError';
  }
}

/** The cost limit was reached: ends the evaluation; never absorbed by && or ||. */
export class CelCostLimitError extends Error {
  readonly limit: number;
  constructor(limit: number) {
    super(`cost limit exceeded: the evaluation needed more than ${limit} cost units`);
    this.name = 'CelCostLimitError';
    this.limit = limit;
  }
}

// ---------------------------------------------------------------------------
// Cost meter: one unit per operation (call, field or index access, iteration,
// element built), strings, bytes and lists charged by size as Kubernetes does
// (ceil(size * 0.1)). Evaluation is synchronous, so one meter serves all.

export const meter = { remaining: Infinity, limit: Infinity };

export function costExceeded(): never {
  throw new CelCostLimitError(meter.limit);
}

/** Charges n units. */
export function charge(n: number): void {
  if ((meter.remaining -= n) < 0) costExceeded();
}

/** Charges for work proportional to a size (string length, list length). */
export function chargeSize(size: number): void {
  if ((meter.remaining -= 1 + Math.ceil(size * 0.1)) < 0) costExceeded();
}

// ---------------------------------------------------------------------------

export const INT_MIN = -(2n ** 63n);
export const INT_MAX = 2n ** 63n - 1n;
export const UINT_MAX = 2n ** 64n - 1n;

export function err(message: string): CelError {
  return new CelError(message);
}

export function noOverload(fn: string, ...args: unknown[]): CelError {
  return new CelError(`no matching overload for '${fn}' applied to (${args.map(celTypeName).join(', ')})`);
}

export function checkInt(v: bigint): bigint {
  if (v < INT_MIN || v > INT_MAX) throw err('int overflow');
  return v;
}

export function checkUint(v: bigint): CelUint {
  if (v < 0n || v > UINT_MAX) throw err('uint overflow');
  return new CelUint(v);
}

/** A CEL map as a plain object (JSON input) — string keys only. */
export function isObjectMap(v: unknown): v is Record<string, unknown> {
  if (typeof v !== 'object' || v === null) return false;
  const p = Object.getPrototypeOf(v);
  return p === Object.prototype || p === null;
}

export function isMap(v: unknown): v is Map<unknown, unknown> | Record<string, unknown> {
  return v instanceof Map || isObjectMap(v);
}

/** Normalizes a value read from input: Date is a timestamp, undefined is absent. */
export function fromInput(v: unknown): unknown {
  return v instanceof Date ? CelTimestamp.fromDate(v) : v;
}

export function mapSize(m: Map<unknown, unknown> | Record<string, unknown>): number {
  if (m instanceof Map) return m.size;
  let n = 0;
  for (const k in m) if (m[k] !== undefined) n++;
  return n;
}

/** Entries of a CEL map (keys as CEL values). */
export function* mapEntries(m: Map<unknown, unknown> | Record<string, unknown>): Iterable<[unknown, unknown]> {
  if (m instanceof Map) {
    yield* m;
    return;
  }
  for (const k in m) {
    const v = m[k];
    if (v !== undefined) yield [k, fromInput(v)];
  }
}

export function mapKeys(m: Map<unknown, unknown> | Record<string, unknown>): unknown[] {
  if (m instanceof Map) return [...m.keys()];
  const out: string[] = [];
  for (const k in m) if (m[k] !== undefined) out.push(k);
  return out;
}

function isKeyType(k: unknown): boolean {
  const t = typeof k;
  return t === 'string' || t === 'boolean' || t === 'bigint' || k instanceof CelUint || t === 'number';
}

/** Looks a key up; `undefined` when absent. Numeric keys match across int, uint and double. */
export function mapGet(m: Map<unknown, unknown> | Record<string, unknown>, key: unknown): unknown {
  if (!(m instanceof Map)) {
    if (typeof key !== 'string') {
      if (!isKeyType(key)) throw err(`unsupported key type: ${celTypeName(key)}`);
      return undefined;
    }
    return Object.hasOwn(m, key) ? fromInput(m[key]) : undefined;
  }
  const t = typeof key;
  if (t === 'string' || t === 'boolean') return m.get(key);
  if (t === 'bigint') {
    const v = m.get(key);
    if (v !== undefined || m.size === 0) return v;
  } else if (!(key instanceof CelUint) && t !== 'number') throw err(`unsupported key type: ${celTypeName(key)}`);
  if (t === 'number' && !Number.isInteger(key)) return undefined;
  const n = numericValue(key);
  for (const [k, v] of m) {
    if (typeof k === 'bigint' ? k === n : k instanceof CelUint && k.value === n) return v;
  }
  return undefined;
}

function numericValue(k: unknown): bigint {
  if (typeof k === 'bigint') return k;
  if (k instanceof CelUint) return k.value;
  return BigInt(k as number);
}

/** Validates a key for a map literal and normalizes it (double keys are not allowed). */
export function mapKey(k: unknown): unknown {
  const t = typeof k;
  if (t === 'string' || t === 'boolean' || t === 'bigint' || k instanceof CelUint) return k;
  throw err(`unsupported key type: ${celTypeName(k)}`);
}

export function mapHas(m: Map<unknown, unknown> | Record<string, unknown>, key: unknown): boolean {
  return mapGet(m, key) !== undefined;
}

// ---------------------------------------------------------------------------
// Equality and ordering

function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function isNumeric(v: unknown): boolean {
  const t = typeof v;
  return t === 'number' || t === 'bigint' || v instanceof CelUint;
}

function num(v: unknown): number | bigint {
  return v instanceof CelUint ? v.value : (v as number | bigint);
}

/** CEL equality (heterogeneous: values of different types are not equal; numbers compare by value). */
export function celEquals(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  const ta = typeof a;
  if (ta === 'string' || ta === 'boolean' || a === null || b === null || b === undefined || a === undefined) {
    return false;
  }
  if (isNumeric(a)) {
    if (!isNumeric(b)) return false;
    // eslint-disable-next-line eqeqeq
    return num(a) == num(b);
  }
  if (ta !== 'object' || typeof b !== 'object') return false;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!celEquals(fromInput(a[i]), fromInput(b[i]))) return false;
    return true;
  }
  if (a instanceof Uint8Array) return b instanceof Uint8Array && bytesEqual(a, b);
  if (a instanceof Date) return celEquals(CelTimestamp.fromDate(a), b);
  if (b instanceof Date) return celEquals(a, CelTimestamp.fromDate(b));
  if (a instanceof CelTimestamp) return b instanceof CelTimestamp && a.seconds === b.seconds && a.nanos === b.nanos;
  if (a instanceof CelDuration) return b instanceof CelDuration && a.seconds === b.seconds && a.nanos === b.nanos;
  if (a instanceof CelTypeValue) return b instanceof CelTypeValue && a.name === b.name;
  if (a instanceof CelOptional) {
    if (!(b instanceof CelOptional) || a.hasValue !== b.hasValue) return false;
    return !a.hasValue || celEquals(a.value, b.value);
  }
  if (a instanceof CelObject) return b instanceof CelObject && a.celType === b.celType && a.equals(b);
  if (isMap(a)) {
    if (!isMap(b) || mapSize(a) !== mapSize(b)) return false;
    for (const [k, v] of mapEntries(a)) {
      const w = mapGet(b, k);
      if (w === undefined || !celEquals(v, w)) return false;
    }
    return true;
  }
  return false;
}

/** Compares strings by code point (JS compares UTF-16 units). */
export function compareStrings(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x !== y) {
      if (x >= 0xd800 || y >= 0xd800) {
        const cx = a.codePointAt(i) as number;
        const cy = b.codePointAt(i) as number;
        return cx < cy ? -1 : cx > cy ? 1 : 0;
      }
      return x < y ? -1 : 1;
    }
  }
  return a.length < b.length ? -1 : a.length > b.length ? 1 : 0;
}

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i] < b[i] ? -1 : 1;
  return a.length - b.length < 0 ? -1 : a.length > b.length ? 1 : 0;
}

/**
 * Orders two values: -1, 0, 1, or NaN when unordered (a NaN operand).
 * Throws "no such overload" for types that cannot be ordered together.
 */
export function celCompare(a: unknown, b: unknown, op: string): number {
  const ta = typeof a;
  if (ta === 'string' && typeof b === 'string') return compareStrings(a as string, b);
  if (isNumeric(a) && isNumeric(b)) {
    // as cel-go: an int or uint compared with a double is compared as a double
    let x = num(a);
    let y = num(b);
    if (typeof x === 'number' && typeof y === 'bigint') y = Number(y);
    else if (typeof y === 'number' && typeof x === 'bigint') x = Number(x);
    return x < y ? -1 : x > y ? 1 : x == y ? 0 : NaN; // eslint-disable-line eqeqeq
  }
  if (ta === 'boolean' && typeof b === 'boolean') return a === b ? 0 : a ? 1 : -1;
  if (a instanceof Date) a = CelTimestamp.fromDate(a);
  if (b instanceof Date) b = CelTimestamp.fromDate(b);
  if (
    (a instanceof CelTimestamp && b instanceof CelTimestamp) || (a instanceof CelDuration && b instanceof CelDuration)
  ) {
    const x = a.toNanos();
    const y = b.toNanos();
    return x < y ? -1 : x > y ? 1 : 0;
  }
  if (a instanceof Uint8Array && b instanceof Uint8Array) return compareBytes(a, b);
  if (a instanceof CelObject && b instanceof CelObject && a.celType === b.celType && 'compareTo' in a) {
    return (a as unknown as { compareTo(o: unknown): number }).compareTo(b);
  }
  throw noOverload(op, a, b);
}

// ---------------------------------------------------------------------------
// Timestamps and durations

const NS = 1_000_000_000n;
/** 0001-01-01T00:00:00Z and 9999-12-31T23:59:59Z in Unix seconds. */
export const TS_MIN = -62135596800n;
export const TS_MAX = 253402300799n;
/** cel-go's duration range: what fits an int64 of nanoseconds. */
export const DUR_MAX_NS = INT_MAX;
export const DUR_MIN_NS = INT_MIN;

export function timestampFromNanos(total: bigint): CelTimestamp {
  let s = total / NS;
  let n = total % NS;
  if (n < 0n) {
    n += NS;
    s -= 1n;
  }
  if (s < TS_MIN || s > TS_MAX) throw err('timestamp out of range');
  return new CelTimestamp(s, Number(n));
}

export function durationFromNanos(total: bigint): CelDuration {
  if (total < DUR_MIN_NS || total > DUR_MAX_NS) throw err('duration out of range');
  return CelDuration.fromNanos(total);
}

export function checkTimestamp(t: CelTimestamp): CelTimestamp {
  if (t.seconds < TS_MIN || t.seconds > TS_MAX) throw err('timestamp out of range');
  return t;
}

// ---------------------------------------------------------------------------
// Arithmetic

export function add(a: unknown, b: unknown): unknown {
  const ta = typeof a;
  if (typeof a === 'number' && typeof b === 'number') return a + b;
  if (ta === 'string' && typeof b === 'string') {
    chargeSize((a as string).length + b.length);
    return (a as string) + b;
  }
  if (ta === 'bigint' && typeof b === 'bigint') return checkInt((a as bigint) + b);
  if (a instanceof CelUint && b instanceof CelUint) return checkUint(a.value + b.value);
  if (Array.isArray(a) && Array.isArray(b)) {
    chargeSize(a.length + b.length);
    return a.length === 0 ? b : b.length === 0 ? a : a.concat(b);
  }
  if (a instanceof Uint8Array && b instanceof Uint8Array) {
    chargeSize(a.length + b.length);
    const out = new Uint8Array(a.length + b.length);
    out.set(a);
    out.set(b, a.length);
    return out;
  }
  if (a instanceof Date) a = CelTimestamp.fromDate(a);
  if (b instanceof Date) b = CelTimestamp.fromDate(b);
  if (a instanceof CelTimestamp && b instanceof CelDuration) return timestampFromNanos(a.toNanos() + b.toNanos());
  if (a instanceof CelDuration && b instanceof CelTimestamp) return timestampFromNanos(a.toNanos() + b.toNanos());
  if (a instanceof CelDuration && b instanceof CelDuration) return durationFromNanos(a.toNanos() + b.toNanos());
  throw noOverload('_+_', a, b);
}

export function sub(a: unknown, b: unknown): unknown {
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  if (typeof a === 'bigint' && typeof b === 'bigint') return checkInt(a - b);
  if (a instanceof CelUint && b instanceof CelUint) return checkUint(a.value - b.value);
  if (a instanceof Date) a = CelTimestamp.fromDate(a);
  if (b instanceof Date) b = CelTimestamp.fromDate(b);
  if (a instanceof CelTimestamp && b instanceof CelTimestamp) return durationFromNanos(a.toNanos() - b.toNanos());
  if (a instanceof CelTimestamp && b instanceof CelDuration) return timestampFromNanos(a.toNanos() - b.toNanos());
  if (a instanceof CelDuration && b instanceof CelDuration) return durationFromNanos(a.toNanos() - b.toNanos());
  throw noOverload('_-_', a, b);
}

export function mul(a: unknown, b: unknown): unknown {
  if (typeof a === 'number' && typeof b === 'number') return a * b;
  if (typeof a === 'bigint' && typeof b === 'bigint') return checkInt(a * b);
  if (a instanceof CelUint && b instanceof CelUint) return checkUint(a.value * b.value);
  throw noOverload('_*_', a, b);
}

export function div(a: unknown, b: unknown): unknown {
  if (typeof a === 'number' && typeof b === 'number') return a / b;
  if (typeof a === 'bigint' && typeof b === 'bigint') {
    if (b === 0n) throw err('division by zero');
    return checkInt(a / b);
  }
  if (a instanceof CelUint && b instanceof CelUint) {
    if (b.value === 0n) throw err('division by zero');
    return new CelUint(a.value / b.value);
  }
  throw noOverload('_/_', a, b);
}

export function mod(a: unknown, b: unknown): unknown {
  if (typeof a === 'bigint' && typeof b === 'bigint') {
    if (b === 0n) throw err('modulus by zero');
    return a % b;
  }
  if (a instanceof CelUint && b instanceof CelUint) {
    if (b.value === 0n) throw err('modulus by zero');
    return new CelUint(a.value % b.value);
  }
  throw noOverload('_%_', a, b);
}

export function neg(a: unknown): unknown {
  if (typeof a === 'number') return -a;
  if (typeof a === 'bigint') return checkInt(-a);
  if (a instanceof CelDuration) return durationFromNanos(-a.toNanos());
  throw noOverload('-_', a);
}

export function contains(container: unknown, x: unknown): boolean {
  if (Array.isArray(container)) {
    chargeSize(container.length);
    for (const e of container) if (celEquals(fromInput(e), x)) return true;
    return false;
  }
  if (isMap(container)) {
    const t = typeof x;
    if (t !== 'string' && t !== 'bigint' && t !== 'boolean' && t !== 'number' && !(x instanceof CelUint)) return false;
    return mapGet(container, x) !== undefined;
  }
  throw noOverload('@in', x, container);
}

// ---------------------------------------------------------------------------
// Types

export const TYPE_NAMES = [
  'int',
  'uint',
  'double',
  'bool',
  'string',
  'bytes',
  'list',
  'map',
  'null_type',
  'type',
  'optional_type',
  'google.protobuf.Timestamp',
  'google.protobuf.Duration',
];

const typeValues = new Map<string, CelTypeValue>();
export function typeValue(name: string): CelTypeValue {
  let t = typeValues.get(name);
  if (!t) {
    t = new CelTypeValue(name);
    typeValues.set(name, t);
  }
  return t;
}

export function typeOf(v: unknown): CelTypeValue {
  return typeValue(celTypeName(v));
}

// ---------------------------------------------------------------------------
// Go's %g formatting of doubles (cel-go's string(double))

export function formatDouble(d: number): string {
  if (Number.isNaN(d)) return 'NaN';
  if (d === Infinity) return '+Inf';
  if (d === -Infinity) return '-Inf';
  if (d === 0) return Object.is(d, -0) ? '-0' : '0';
  const e = d.toExponential(); // shortest round-trip digits
  const m = /^(-?)(\d)(?:\.(\d+))?e([+-]\d+)$/.exec(e);
  if (!m) return String(d);
  const [, sign, first, rest = '', expText] = m;
  const exp = Number(expText);
  const digits = first + rest;
  if (exp < -4 || exp >= 6) {
    const mant = rest ? `${first}.${rest}` : first;
    const ae = Math.abs(exp);
    return `${sign}${mant}e${exp < 0 ? '-' : '+'}${ae < 10 ? '0' : ''}${ae}`;
  }
  if (exp < 0) return `${sign}0.${'0'.repeat(-exp - 1)}${digits}`;
  if (digits.length <= exp + 1) return `${sign}${digits}${'0'.repeat(exp + 1 - digits.length)}`;
  return `${sign}${digits.slice(0, exp + 1)}.${digits.slice(exp + 1)}`;
}
