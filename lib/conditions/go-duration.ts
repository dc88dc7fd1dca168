// Go time.Duration text: ParseDuration ("1h30m", "-1.5h", "300ms", "2h45m0.5s")
// and Duration.String() ("24h0m0s", "1.5s", "500ms", "0s"). Values are
// nanoseconds as bigint, limited to Go's int64 range.

const UNITS: Record<string, bigint> = {
  ns: 1n,
  us: 1_000n,
  'µs': 1_000n, // U+00B5 micro sign
  'μs': 1_000n, // U+03BC Greek mu
  ms: 1_000_000n,
  s: 1_000_000_000n,
  m: 60_000_000_000n,
  h: 3_600_000_000_000n,
};

const MAX_INT64 = 0x7fff_ffff_ffff_ffffn;

/** Go time.ParseDuration; undefined when `text` is not a duration. */
export function parseGoDuration(text: string): bigint | undefined {
  let s = text;
  let neg = false;
  if (s.startsWith('-') || s.startsWith('+')) {
    neg = s[0] === '-';
    s = s.slice(1);
  }
  if (s === '0') return 0n;
  if (s === '') return undefined;
  let total = 0n;
  while (s !== '') {
    const m = /^(\d*)(?:\.(\d*))?/.exec(s);
    if (!m || (m[1] === '' && (m[2] === undefined || m[2] === ''))) return undefined;
    s = s.slice(m[0].length);
    const u = /^[^\d.]+/.exec(s);
    if (!u) return undefined; // missing unit
    const unit = UNITS[u[0]];
    if (unit === undefined) return undefined;
    s = s.slice(u[0].length);
    const whole = BigInt(m[1] || '0');
    let part = whole * unit;
    const frac = m[2] ?? '';
    if (frac !== '') {
      // fraction of the unit, truncated to whole nanoseconds as Go does
      part += (BigInt(frac) * unit) / 10n ** BigInt(frac.length);
    }
    total += part;
    if (total > MAX_INT64 + (neg ? 1n : 0n)) return undefined;
  }
  return neg ? -total : total;
}

function fracDigits(n: bigint, width: number): string {
  const s = String(n).padStart(width, '0').replace(/0+$/, '');
  return s === '' ? '' : `.${s}`;
}

/** Go Duration.String(). */
export function formatGoDuration(ns: bigint): string {
  if (ns === 0n) return '0s';
  const neg = ns < 0n;
  const u = neg ? -ns : ns;
  const sign = neg ? '-' : '';
  if (u < 1_000_000_000n) {
    if (u < 1_000n) return `${sign}${u}ns`;
    if (u < 1_000_000n) return `${sign}${u / 1_000n}${fracDigits(u % 1_000n, 3)}µs`;
    return `${sign}${u / 1_000_000n}${fracDigits(u % 1_000_000n, 6)}ms`;
  }
  const secs = u / 1_000_000_000n;
  const sub = u % 1_000_000_000n;
  const h = secs / 3600n;
  const m = (secs % 3600n) / 60n;
  const s = secs % 60n;
  const tail = `${s}${fracDigits(sub, 9)}s`;
  if (h > 0n) return `${sign}${h}h${m}m${tail}`;
  if (m > 0n) return `${sign}${m}m${tail}`;
  return `${sign}${tail}`;
}

/** Seconds (a JSON number) as nanoseconds, truncated like Go's time.Duration(float64) * time.Second. */
export function secondsToNanos(seconds: number): bigint {
  return BigInt(Math.trunc(seconds)) * 1_000_000_000n;
}
