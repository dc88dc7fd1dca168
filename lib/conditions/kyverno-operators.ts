// Kyverno condition operators, evaluated on substituted keys and values with
// Kyverno's type rules:
//   - Equals/NotEquals: a string value is a wildcard pattern (`*`, `?`) for a
//     string key; durations ("1h" vs 3600), quantities ("1Gi" vs "1024Mi") and
//     numbers in strings compare by value; maps and lists compare deeply.
//   - AnyIn/AllIn/AnyNotIn/AllNotIn (and deprecated In/NotIn): the key is a
//     value or a list, the value a list, a single string, a JSON list in a
//     string, or a numeric range "1-10" / "1!-10"; wildcards match in both
//     directions.
//   - GreaterThan[OrEquals]/LessThan[OrEquals]: numbers, durations,
//     quantities, numbers in strings and semantic versions.
//   - Duration{GreaterThan,LessThan}[OrEquals]: durations, numbers as seconds.
// A key of an unsupported type (e.g. null) makes every operator false.

import { parseGoDuration, secondsToNanos } from './go-duration.ts';
import { compareQuantities, parseQuantity } from './quantity.ts';
import { compareSemver, parseSemver } from './semver.ts';
import { matchesPattern } from '../wildcard.ts';

export const KYVERNO_OPERATORS = [
  'Equals',
  'NotEquals',
  'Equal',
  'NotEqual',
  'In',
  'NotIn',
  'AnyIn',
  'AllIn',
  'AnyNotIn',
  'AllNotIn',
  'GreaterThan',
  'GreaterThanOrEquals',
  'LessThan',
  'LessThanOrEquals',
  'DurationGreaterThan',
  'DurationGreaterThanOrEquals',
  'DurationLessThan',
  'DurationLessThanOrEquals',
] as const;

export type KyvernoOperator = (typeof KYVERNO_OPERATORS)[number];

export const DEPRECATED_OPERATORS: Partial<Record<KyvernoOperator, string>> = {
  Equal: 'Equals',
  NotEqual: 'NotEquals',
  In: 'AllIn or AnyIn',
  NotIn: 'AllNotIn or AnyNotIn',
};

export function isKyvernoOperator(op: unknown): op is KyvernoOperator {
  return typeof op === 'string' && (KYVERNO_OPERATORS as readonly string[]).includes(op);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a)) return Array.isArray(b) && a.length === b.length && a.every((x, i) => deepEqual(x, b[i]));
  if (isObject(a)) {
    if (!isObject(b)) return false;
    const ka = Object.keys(a);
    return ka.length === Object.keys(b).length && ka.every((k) => Object.hasOwn(b, k) && deepEqual(a[k], b[k]));
  }
  return false;
}

/** Go strconv.ParseFloat (decimal forms). */
function parseFloatStrict(s: string): number | undefined {
  if (!/^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/.test(s)) return undefined;
  return Number(s);
}

/** fmt.Sprint of a JSON value, as Kyverno stringifies set members. */
export function goSprint(v: unknown): string {
  if (typeof v === 'string') return v;
  if (typeof v === 'number') {
    if (Number.isInteger(v) && Math.abs(v) < 1e21) return v.toFixed(0);
    return String(v).replace(/e\+?/, (m) => (m === 'e' ? 'e' : 'e+'));
  }
  if (v === null || v === undefined) return '<nil>';
  if (typeof v === 'boolean') return String(v);
  return JSON.stringify(v);
}

/**
 * Kyverno's parseDuration(key, value): when at least one side is a duration
 * string (other than "0"), both sides as nanoseconds (numbers are seconds).
 */
function durationPair(key: unknown, value: unknown): [bigint, bigint] | undefined {
  const asDur = (v: unknown) => (typeof v === 'string' && v !== '0' ? parseGoDuration(v) : undefined);
  let k = asDur(key);
  let v = asDur(value);
  if (k === undefined && v === undefined) return undefined;
  if (k === undefined) {
    if (typeof key !== 'number') return undefined;
    k = secondsToNanos(key);
  }
  if (v === undefined) {
    if (typeof value !== 'number') return undefined;
    v = secondsToNanos(value);
  }
  return [k, v];
}

// ---------------------------------------------------------------------------
// Equals

/** Equals; `undefined` when the comparison is not possible (Kyverno then answers false for both Equals and NotEquals). */
function equals(key: unknown, value: unknown): boolean | undefined {
  if (typeof key === 'boolean') return typeof value === 'boolean' ? key === value : false;
  if (typeof key === 'number') {
    if (typeof value === 'number') return key === value;
    if (typeof value === 'string') {
      const f = parseFloatStrict(value);
      return f === undefined ? undefined : f === key;
    }
    return false;
  }
  if (typeof key === 'string') {
    const d = durationPair(key, value);
    if (d) return d[0] === d[1];
    const kq = parseQuantity(key);
    if (kq && typeof value === 'string') {
      const vq = parseQuantity(value);
      if (!vq) return undefined;
      return compareQuantities(kq, vq) === 0;
    }
    if (typeof value === 'string') return matchesPattern(value, key);
    return false;
  }
  if (Array.isArray(key)) return Array.isArray(value) ? deepEqual(key, value) : false;
  if (isObject(key)) return isObject(value) ? deepEqual(key, value) : false;
  return undefined;
}

// ---------------------------------------------------------------------------
// Set membership

function parseRange(value: string): { lo: number; hi: number; negate: boolean } | undefined {
  const m = /^\s*(-?\d+(?:\.\d+)?)\s*(!?-)\s*(-?\d+(?:\.\d+)?)\s*$/.exec(value);
  if (!m) return undefined;
  return { lo: Number(m[1]), hi: Number(m[3]), negate: m[2] === '!-' };
}

function inRange(member: string, range: { lo: number; hi: number; negate: boolean }): boolean {
  const q = parseQuantity(member);
  const n = q ? Number(q.num) / Number(q.den) : NaN;
  if (Number.isNaN(n)) return false;
  const inside = n >= range.lo && n <= range.hi;
  return range.negate ? !inside : inside;
}

type Membership = (member: string) => boolean;

/** How a single member of the key is looked up in the operator's value; undefined for an unusable value. */
function membership(value: unknown): Membership | undefined {
  if (Array.isArray(value)) {
    const vals = value.map(goSprint);
    return (m) => vals.some((v) => matchesPattern(v, m) || matchesPattern(m, v));
  }
  if (typeof value === 'number') {
    const v = goSprint(value);
    return (m) => matchesPattern(v, m) || matchesPattern(m, v);
  }
  if (typeof value === 'string') {
    const range = parseRange(value);
    if (range) return (m) => inRange(m, range);
    let list: string[] | undefined;
    if (value.trimStart().startsWith('[')) {
      try {
        const parsed: unknown = JSON.parse(value);
        if (Array.isArray(parsed) && parsed.every((x) => typeof x === 'string')) list = parsed;
        else return undefined;
      } catch {
        return undefined;
      }
    }
    if (list) {
      const l = list;
      return (m) => l.some((v) => matchesPattern(v, m) || matchesPattern(m, v));
    }
    return (m) => matchesPattern(value, m) || matchesPattern(m, value);
  }
  return undefined;
}

function keyMembers(key: unknown): string[] | undefined {
  if (typeof key === 'string') return [key];
  if (typeof key === 'number' || typeof key === 'boolean') return [goSprint(key)];
  if (Array.isArray(key)) return key.map(goSprint);
  return undefined;
}

type SetMode = 'anyIn' | 'allIn' | 'anyNotIn' | 'allNotIn';

function setOperator(mode: SetMode, key: unknown, value: unknown): boolean {
  const members = keyMembers(key);
  if (!members) return false;
  const has = membership(value);
  if (!has) return false;
  switch (mode) {
    case 'anyIn':
      return members.some(has);
    case 'allIn':
      return members.every(has);
    case 'anyNotIn':
      return members.some((m) => !has(m));
    case 'allNotIn':
      return !members.some(has);
  }
}

// ---------------------------------------------------------------------------
// Ordering

type Cmp = (c: number) => boolean;

function numericCompare(key: unknown, value: unknown, test: Cmp): boolean {
  const d = durationPair(key, value);
  if (d) return test(d[0] < d[1] ? -1 : d[0] > d[1] ? 1 : 0);
  if (typeof key === 'number') {
    if (typeof value === 'number') return test(Math.sign(key - value));
    if (typeof value === 'string') {
      const f = parseFloatStrict(value);
      return f === undefined ? false : test(Math.sign(key - f));
    }
    return false;
  }
  if (typeof key === 'string') {
    if (typeof value === 'string') {
      const kq = parseQuantity(key);
      const vq = parseQuantity(value);
      if (kq && vq) return test(compareQuantities(kq, vq));
    }
    const kf = parseFloatStrict(key);
    if (kf !== undefined) return numericCompare(kf, value, test);
    const kv = parseSemver(key);
    if (kv && typeof value === 'string') {
      const vv = parseSemver(value);
      return vv ? test(compareSemver(kv, vv)) : false;
    }
  }
  return false;
}

function durationCompare(key: unknown, value: unknown, test: Cmp): boolean {
  const asNanos = (v: unknown): bigint | undefined =>
    typeof v === 'number' ? secondsToNanos(v) : typeof v === 'string' ? parseGoDuration(v) : undefined;
  const k = asNanos(key);
  const v = asNanos(value);
  if (k === undefined || v === undefined) return false;
  return test(k < v ? -1 : k > v ? 1 : 0);
}

// ---------------------------------------------------------------------------

/** Evaluates one operator on a substituted key and value. */
export function evaluateOperator(op: KyvernoOperator, key: unknown, value: unknown): boolean {
  switch (op) {
    case 'Equals':
    case 'Equal':
      return equals(key, value) ?? false;
    case 'NotEquals':
    case 'NotEqual': {
      const e = equals(key, value);
      return e === undefined ? false : !e;
    }
    case 'AnyIn':
      return setOperator('anyIn', key, value);
    case 'AllIn':
    case 'In':
      return setOperator('allIn', key, value);
    case 'AnyNotIn':
    case 'NotIn':
      return setOperator('anyNotIn', key, value);
    case 'AllNotIn':
      return setOperator('allNotIn', key, value);
    case 'GreaterThan':
      return numericCompare(key, value, (c) => c > 0);
    case 'GreaterThanOrEquals':
      return numericCompare(key, value, (c) => c >= 0);
    case 'LessThan':
      return numericCompare(key, value, (c) => c < 0);
    case 'LessThanOrEquals':
      return numericCompare(key, value, (c) => c <= 0);
    case 'DurationGreaterThan':
      return durationCompare(key, value, (c) => c > 0);
    case 'DurationGreaterThanOrEquals':
      return durationCompare(key, value, (c) => c >= 0);
    case 'DurationLessThan':
      return durationCompare(key, value, (c) => c < 0);
    case 'DurationLessThanOrEquals':
      return durationCompare(key, value, (c) => c <= 0);
  }
}
