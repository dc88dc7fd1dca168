// A small structural schema for policy documents: reports unknown fields
// (with a did-you-mean hint) and wrong types at their exact location, and
// returns a cleaned copy (unknown fields and ill-typed values removed) that
// the typed conversion can read without further type checks.

import type { DiagnosticCollector } from './diagnostics.ts';
import { childPath, indexPath } from './yaml.ts';

export type Schema =
  | { type: 'string'; enum?: readonly string[] }
  | { type: 'boolean' }
  | { type: 'integer'; min?: number; max?: number }
  | { type: 'array'; items: Schema }
  | { type: 'object'; fields: Record<string, Schema>; deprecated?: Record<string, string> }
  | { type: 'map'; values: Schema }
  | { type: 'any' }
  | { type: 'lazy'; get: () => Schema }
  | { type: 'union'; options: Schema[] };

export const s = {
  str: (values?: readonly string[]): Schema => (values ? { type: 'string', enum: values } : { type: 'string' }),
  bool: (): Schema => ({ type: 'boolean' }),
  int: (min?: number, max?: number): Schema => {
    const r: { type: 'integer'; min?: number; max?: number } = { type: 'integer' };
    if (min !== undefined) r.min = min;
    if (max !== undefined) r.max = max;
    return r;
  },
  arr: (items: Schema): Schema => ({ type: 'array', items }),
  obj: (fields: Record<string, Schema>, deprecated?: Record<string, string>): Schema =>
    deprecated ? { type: 'object', fields, deprecated } : { type: 'object', fields },
  map: (values: Schema): Schema => ({ type: 'map', values }),
  any: (): Schema => ({ type: 'any' }),
  lazy: (get: () => Schema): Schema => ({ type: 'lazy', get }),
  union: (...options: Schema[]): Schema => ({ type: 'union', options }),
  strList: (): Schema => ({ type: 'array', items: { type: 'string' } }),
  strMap: (): Schema => ({ type: 'map', values: { type: 'string' } }),
};

export type Obj = Record<string, unknown>;

export function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Date);
}

/** Short description of a value for messages: `string "yes"`, `a list`, `a map`. */
export function describeValue(v: unknown): string {
  if (v === null || v === undefined) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (v instanceof Date) return `timestamp ${v.toISOString()}`;
  if (typeof v === 'object') return 'a map';
  if (typeof v === 'string') return `string ${JSON.stringify(v.length > 60 ? v.slice(0, 57) + '...' : v)}`;
  return `${typeof v} ${String(v)}`;
}

function expected(schema: Schema): string {
  switch (schema.type) {
    case 'string':
      return 'a string';
    case 'boolean':
      return 'a boolean (true or false)';
    case 'integer':
      return 'an integer';
    case 'array':
      return 'a list';
    case 'object':
    case 'map':
      return 'a map';
    case 'any':
      return 'a value';
    case 'lazy':
      return expected(schema.get());
    case 'union':
      return schema.options.map(expected).join(' or ');
  }
}

function matchesBaseType(v: unknown, schema: Schema): boolean {
  switch (schema.type) {
    case 'string':
      return typeof v === 'string';
    case 'boolean':
      return typeof v === 'boolean';
    case 'integer':
      return typeof v === 'number';
    case 'array':
      return Array.isArray(v);
    case 'object':
    case 'map':
      return isObj(v);
    case 'any':
      return true;
    case 'lazy':
      return matchesBaseType(v, schema.get());
    case 'union':
      return schema.options.some((o) => matchesBaseType(v, o));
  }
}

/** Levenshtein distance (small strings only). */
export function editDistance(a: string, b: string): number {
  const m = a.length;
  const n = b.length;
  let prev = Array.from({ length: n + 1 }, (_, j) => j);
  for (let i = 1; i <= m; i++) {
    const cur = [i];
    for (let j = 1; j <= n; j++) {
      cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = cur;
  }
  return prev[n]!;
}

/** The closest candidate to `word`, if it is close enough to be a plausible typo. */
export function didYouMean(word: string, candidates: Iterable<string>): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  const lower = word.toLowerCase();
  for (const c of candidates) {
    const d = c.toLowerCase() === lower ? 0 : editDistance(lower, c.toLowerCase());
    if (d < bestDistance) {
      best = c;
      bestDistance = d;
    }
  }
  const limit = Math.max(1, Math.min(3, Math.floor(word.length / 3)));
  return bestDistance <= limit ? best : undefined;
}

/**
 * Checks `value` against `schema`, reporting problems at `path`. Returns the
 * cleaned value, or undefined when the value is absent (null) or ill-typed.
 */
export function checkSchema(value: unknown, schema: Schema, path: string, diag: DiagnosticCollector): unknown {
  if (value === null || value === undefined) return undefined;
  if (schema.type === 'lazy') return checkSchema(value, schema.get(), path, diag);
  if (schema.type === 'union') {
    const option = schema.options.find((o) => matchesBaseType(value, o));
    if (!option) {
      diag.error(path, `${path}: expected ${expected(schema)}, got ${describeValue(value)}`);
      diag.invalid.add(path);
      return undefined;
    }
    return checkSchema(value, option, path, diag);
  }
  if (!matchesBaseType(value, schema)) {
    diag.error(path, `${path}: expected ${expected(schema)}, got ${describeValue(value)}`);
    diag.invalid.add(path);
    return undefined;
  }
  switch (schema.type) {
    case 'any':
      return value;
    case 'string': {
      const v = value as string;
      if (schema.enum && !schema.enum.includes(v)) {
        diag.error(
          path,
          `${path}: unsupported value ${JSON.stringify(v)}: supported values: ${
            schema.enum.map((e) => JSON.stringify(e)).join(', ')
          }`,
        );
        diag.invalid.add(path);
        return undefined;
      }
      return v;
    }
    case 'boolean':
      return value;
    case 'integer': {
      const v = value as number;
      if (!Number.isInteger(v)) {
        diag.error(path, `${path}: expected an integer, got ${describeValue(v)}`);
        diag.invalid.add(path);
        return undefined;
      }
      if (schema.min !== undefined && v < schema.min) {
        diag.error(path, `${path}: Invalid value: ${v}: must be greater than or equal to ${schema.min}`);
        return undefined;
      }
      if (schema.max !== undefined && v > schema.max) {
        diag.error(path, `${path}: Invalid value: ${v}: must be less than or equal to ${schema.max}`);
        return undefined;
      }
      return v;
    }
    case 'array': {
      const out: unknown[] = [];
      (value as unknown[]).forEach((item, i) => {
        const p = indexPath(path, i);
        if (item === null || item === undefined) {
          diag.error(p, `${p}: expected ${expected(schema.items)}, got null`);
          return;
        }
        const v = checkSchema(item, schema.items, p, diag);
        if (v !== undefined) out.push(v);
      });
      return out;
    }
    case 'map': {
      const out: Obj = {};
      for (const [k, item] of Object.entries(value as Obj)) {
        const v = checkSchema(item, schema.values, childPath(path, k), diag);
        if (v !== undefined) out[k] = v;
      }
      return out;
    }
    case 'object': {
      const out: Obj = {};
      for (const [k, item] of Object.entries(value as Obj)) {
        const p = childPath(path, k);
        const fieldSchema = Object.hasOwn(schema.fields, k) ? schema.fields[k] : undefined;
        if (!fieldSchema) {
          const hint = didYouMean(k, Object.keys(schema.fields));
          diag.error(
            p,
            `unknown field ${JSON.stringify(p)}${hint ? ` (did you mean ${JSON.stringify(hint)}?)` : ''}`,
            true,
          );
          continue;
        }
        const dep = schema.deprecated?.[k];
        if (dep !== undefined && item !== null && item !== undefined) diag.info(p, `${p} is deprecated: ${dep}`, true);
        const v = checkSchema(item, fieldSchema, p, diag);
        if (v !== undefined) out[k] = v;
      }
      return out;
    }
  }
}

// Small typed readers for values that passed checkSchema.

export function getStr(o: Obj | undefined, k: string): string | undefined {
  const v = o?.[k];
  return typeof v === 'string' ? v : undefined;
}

export function getBool(o: Obj | undefined, k: string): boolean | undefined {
  const v = o?.[k];
  return typeof v === 'boolean' ? v : undefined;
}

export function getInt(o: Obj | undefined, k: string): number | undefined {
  const v = o?.[k];
  return typeof v === 'number' ? v : undefined;
}

export function getObj(o: Obj | undefined, k: string): Obj | undefined {
  const v = o?.[k];
  return isObj(v) ? v : undefined;
}

export function getArr(o: Obj | undefined, k: string): unknown[] {
  const v = o?.[k];
  return Array.isArray(v) ? v : [];
}

export function getObjArr(o: Obj | undefined, k: string): Obj[] {
  return getArr(o, k).filter(isObj);
}

export function getStrArr(o: Obj | undefined, k: string): string[] {
  return getArr(o, k).filter((x): x is string => typeof x === 'string');
}

export function getStrMap(o: Obj | undefined, k: string): Record<string, string> {
  const m = getObj(o, k);
  const out: Record<string, string> = {};
  if (m) { for (const [key, v] of Object.entries(m)) if (typeof v === 'string') out[key] = v; }
  return out;
}

export function has(o: Obj | undefined, k: string): boolean {
  return o !== undefined && Object.hasOwn(o, k) && o[k] !== undefined && o[k] !== null;
}
