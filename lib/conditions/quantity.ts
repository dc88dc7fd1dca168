// Kubernetes resource quantities ("100Mi", "1Gi", "500m", "1.5", "2e3"), as
// parsed by k8s.io/apimachinery resource.ParseQuantity, held as an exact
// fraction so comparisons and sums are exact.

export type QuantityFormat = 'DecimalSI' | 'BinarySI' | 'DecimalExponent';

export interface Quantity {
  /** value = num / den, den > 0 */
  readonly num: bigint;
  readonly den: bigint;
  readonly format: QuantityFormat;
}

const DECIMAL_SUFFIX: Record<string, number> = { n: -9, u: -6, m: -3, '': 0, k: 3, M: 6, G: 9, T: 12, P: 15, E: 18 };
const BINARY_SUFFIX: Record<string, number> = { Ki: 1, Mi: 2, Gi: 3, Ti: 4, Pi: 5, Ei: 6 };
const DECIMAL_BY_EXP: Record<number, string> = {
  [-9]: 'n',
  [-6]: 'u',
  [-3]: 'm',
  0: '',
  3: 'k',
  6: 'M',
  9: 'G',
  12: 'T',
  15: 'P',
  18: 'E',
};
const BINARY_BY_EXP = ['', 'Ki', 'Mi', 'Gi', 'Ti', 'Pi', 'Ei'];

function gcd(a: bigint, b: bigint): bigint {
  a = a < 0n ? -a : a;
  while (b) [a, b] = [b, a % b];
  return a;
}

function make(num: bigint, den: bigint, format: QuantityFormat): Quantity {
  if (den < 0n) {
    num = -num;
    den = -den;
  }
  const g = gcd(num, den) || 1n;
  return { num: num / g, den: den / g, format };
}

function pow10(e: number): [bigint, bigint] {
  return e >= 0 ? [10n ** BigInt(e), 1n] : [1n, 10n ** BigInt(-e)];
}

/** resource.ParseQuantity; undefined when `text` is not a quantity. */
export function parseQuantity(text: string): Quantity | undefined {
  const m = /^([+-]?)(\d+(?:\.\d*)?|\.\d+)(.*)$/.exec(text);
  if (!m) return undefined;
  const [, sign, number, suffix] = m;
  const [intPart, fracPart = ''] = number.split('.');
  let num = BigInt((intPart || '0') + fracPart);
  let den = 10n ** BigInt(fracPart.length);
  if (sign === '-') num = -num;
  let format: QuantityFormat;
  if (suffix in DECIMAL_SUFFIX) {
    format = 'DecimalSI';
    const [a, b] = pow10(DECIMAL_SUFFIX[suffix]);
    num *= a;
    den *= b;
  } else if (suffix in BINARY_SUFFIX) {
    format = 'BinarySI';
    num *= 1024n ** BigInt(BINARY_SUFFIX[suffix]);
  } else {
    const e = /^[eE]([+-]?\d+)$/.exec(suffix);
    if (!e) return undefined;
    const exp = Number(e[1]);
    if (!Number.isSafeInteger(exp) || Math.abs(exp) > 1000) return undefined;
    format = 'DecimalExponent';
    const [a, b] = pow10(exp);
    num *= a;
    den *= b;
  }
  return make(num, den, format);
}

export function compareQuantities(a: Quantity, b: Quantity): -1 | 0 | 1 {
  const l = a.num * b.den;
  const r = b.num * a.den;
  return l < r ? -1 : l > r ? 1 : 0;
}

export function addQuantities(a: Quantity, b: Quantity): Quantity {
  return make(a.num * b.den + b.num * a.den, a.den * b.den, a.format);
}

export function subtractQuantities(a: Quantity, b: Quantity): Quantity {
  return make(a.num * b.den - b.num * a.den, a.den * b.den, a.format);
}

/** Quantity times a number given as its exact decimal text. */
export function multiplyQuantity(a: Quantity, factor: number): Quantity {
  const f = parseQuantity(String(factor)) ?? parseQuantity(factor.toFixed(20).replace(/0+$/, ''));
  if (!f) throw new RangeError(`not a finite number: ${factor}`);
  return make(a.num * f.num, a.den * f.den, a.format);
}

export function quantityToNumber(q: Quantity): number {
  return Number(q.num) / Number(q.den);
}

/** True when the quantity is a whole number. */
export function isWholeQuantity(q: Quantity): boolean {
  return q.den === 1n;
}

/** Decimal text of num/den rounded up (away from zero) to `scale` decimal digits of precision (10^-9 for nano). */
function roundUpToNanos(q: Quantity): bigint {
  const n = q.num * 1_000_000_000n;
  const quo = n / q.den;
  const rem = n % q.den;
  if (rem === 0n) return quo;
  return n > 0n ? quo + 1n : quo - 1n;
}

/** Canonical text, as resource.Quantity.String() prints it. */
export function formatQuantity(q: Quantity): string {
  if (q.num === 0n) return '0';
  let format = q.format;
  if (format === 'BinarySI') {
    const absNum = q.num < 0n ? -q.num : q.num;
    if (absNum < 1024n * q.den || q.den !== 1n) format = 'DecimalSI';
    else {
      let v = q.num;
      let exp = 0;
      while (exp < 6 && v % 1024n === 0n) {
        v /= 1024n;
        exp++;
      }
      return `${v}${BINARY_BY_EXP[exp]}`;
    }
  }
  // decimal: mantissa in nano units, then strip groups of three zeros
  let v = roundUpToNanos(q);
  let exp = -9;
  while (v % 1000n === 0n && exp < 18) {
    v /= 1000n;
    exp += 3;
  }
  if (format === 'DecimalExponent') return exp === 0 ? `${v}` : `${v}e${exp}`;
  return `${v}${DECIMAL_BY_EXP[exp]}`;
}
