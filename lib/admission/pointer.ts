// RFC 6901 JSON pointers and small JSON helpers shared by the admission modules.

import { SigwardError } from '../errors.ts';
import type { JsonObject, JsonValue } from './types.ts';

/** Escapes one reference token: `~` -> `~0`, `/` -> `~1`. */
export function escapePointerSegment(segment: string): string {
  if (!segment.includes('~') && !segment.includes('/')) return segment;
  return segment.replace(/~/g, '~0').replace(/\//g, '~1');
}

/** Builds a pointer from raw (unescaped) segments: ['spec','containers',0] -> '/spec/containers/0'. */
export function toJsonPointer(segments: readonly (string | number)[]): string {
  let out = '';
  for (const s of segments) out += '/' + escapePointerSegment(String(s));
  return out;
}

/** Splits a pointer into raw segments. '' is the whole document. Throws ADMISSION_INVALID. */
export function parseJsonPointer(pointer: string): string[] {
  if (typeof pointer !== 'string') {
    throw new SigwardError('ADMISSION_INVALID', `invalid JSON pointer: expected a string`);
  }
  if (pointer === '') return [];
  if (pointer[0] !== '/') {
    throw new SigwardError('ADMISSION_INVALID', `invalid JSON pointer "${pointer}": must start with "/"`);
  }
  return pointer
    .slice(1)
    .split('/')
    .map((tok) => {
      if (/~(?![01])/.test(tok)) {
        throw new SigwardError('ADMISSION_INVALID', `invalid JSON pointer "${pointer}": bad escape in "${tok}"`);
      }
      return tok.replace(/~1/g, '/').replace(/~0/g, '~');
    });
}

export function isJsonObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Own-property read (never walks the prototype chain, so `__proto__` is just a key). */
export function getOwn(obj: JsonObject, key: string): JsonValue | undefined {
  return Object.hasOwn(obj, key) ? obj[key] : undefined;
}

/** Own-property write that is safe for keys like `__proto__`. */
export function setOwn(obj: JsonObject, key: string, value: JsonValue): void {
  // `__proto__` is the only key whose assignment does not make an own data property
  // (Object.prototype's accessor); an own property of that name is redefined, not assigned
  if (key !== '__proto__') {
    obj[key] = value;
    return;
  }
  Object.defineProperty(obj, key, { value, writable: true, enumerable: true, configurable: true });
}

/** Deep copy of a JSON value (objects keep key order; `__proto__` keys stay plain keys). */
export function cloneJson<T extends JsonValue>(value: T): T {
  if (Array.isArray(value)) return value.map((v) => cloneJson(v)) as T;
  if (isJsonObject(value)) {
    const out: JsonObject = {};
    for (const k of Object.keys(value)) setOwn(out, k, cloneJson(value[k]));
    return out as T;
  }
  return value;
}

/** JSON equality: key order ignored, numbers compared by value. */
export function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!jsonEqual(a[i], b[i])) return false;
    return true;
  }
  if (isJsonObject(a)) {
    if (!isJsonObject(b)) return false;
    const ka = Object.keys(a);
    if (ka.length !== Object.keys(b).length) return false;
    for (const k of ka) {
      if (!Object.hasOwn(b, k) || !jsonEqual(a[k], b[k])) return false;
    }
    return true;
  }
  return false;
}

/** Code-point (= UTF-8 byte) order, as Go sorts map keys when marshalling JSON. */
export function compareCodePoints(a: string, b: string): number {
  // below the surrogates a UTF-16 unit is its code point: compare units up to the first difference
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x === y) continue;
    if (x < 0xd800 && y < 0xd800) return x < y ? -1 : 1;
    return compareFromCodePoints(a, b);
  }
  return a.length === b.length ? 0 : a.length < b.length ? -1 : 1;
}

function compareFromCodePoints(a: string, b: string): number {
  const ia = a[Symbol.iterator]();
  const ib = b[Symbol.iterator]();
  for (;;) {
    const x = ia.next();
    const y = ib.next();
    if (x.done) return y.done ? 0 : -1;
    if (y.done) return 1;
    const cx = x.value.codePointAt(0) as number;
    const cy = y.value.codePointAt(0) as number;
    if (cx !== cy) return cx < cy ? -1 : 1;
  }
}

/** What Go writes differently from JSON.stringify: `<`, `>`, `&`, U+2028, U+2029 and (lone) surrogates. */
const GO_ESCAPED = /[<>&\u2028\u2029\ud800-\udfff]/;
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

/**
 * JSON text as Go's encoding/json.Marshal writes it: object keys sorted, `<`, `>`, `&`,
 * U+2028 and U+2029 escaped, lone surrogates replaced by U+FFFD. Objects only from JSON values.
 */
export function toGoJson(value: JsonValue): string {
  if (typeof value === 'string') {
    if (!GO_ESCAPED.test(value)) return JSON.stringify(value);
    return JSON.stringify(value.replace(LONE_SURROGATE, '\ufffd'))
      .replace(/</g, '\\u003c')
      .replace(/>/g, '\\u003e')
      .replace(/&/g, '\\u0026')
      .replace(/\u2028/g, '\\u2028')
      .replace(/\u2029/g, '\\u2029');
  }
  if (Array.isArray(value)) return '[' + value.map((v) => toGoJson(v)).join(',') + ']';
  if (isJsonObject(value)) {
    const keys = Object.keys(value).sort(compareCodePoints);
    return '{' + keys.map((k) => toGoJson(k) + ':' + toGoJson(value[k])).join(',') + '}';
  }
  return JSON.stringify(value);
}
