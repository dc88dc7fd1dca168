// Library-neutral CEL values. Whatever CEL engine runs underneath, sigward's CEL
// interface takes and returns values in this model:
//
//   CEL type        JS value (in and out)
//   null_type       null
//   bool            boolean
//   int             bigint
//   uint            CelUint
//   double          number            (every JS number is a double, as in JSON)
//   string          string
//   bytes           Uint8Array
//   list            Array             (out: always a plain array)
//   map             Map               (in: also plain objects with string keys;
//                                      out: always a Map, keys keep their CEL type)
//   timestamp       CelTimestamp      (in: also Date)
//   duration        CelDuration
//   type            CelTypeValue      (out only, e.g. the result of type(x))
//   other messages  CelMessageValue   (out only; sigward declares no message types)
//   optional_type   CelOptional       (out only)
//   library types   CelObject         (net.IP, kubernetes.Quantity, ...)

const NANOS_PER_SECOND = 1_000_000_000n;

/** A CEL uint (unsigned 64-bit integer). */
export class CelUint {
  readonly value: bigint;
  constructor(value: bigint) {
    if (value < 0n || value > 0xffff_ffff_ffff_ffffn) throw new RangeError(`uint out of range: ${value}`);
    this.value = value;
  }
  toString(): string {
    return `${this.value}u`;
  }
}

/** Seconds plus nanoseconds: what CEL timestamps and durations are made of. */
abstract class CelSecondsNanos {
  readonly seconds: bigint;
  readonly nanos: number;
  constructor(seconds: bigint, nanos = 0) {
    this.seconds = seconds;
    this.nanos = nanos;
  }
  /** Total nanoseconds (since the epoch, for a timestamp). */
  toNanos(): bigint {
    return this.seconds * NANOS_PER_SECOND + BigInt(this.nanos);
  }
}

/** A CEL timestamp: seconds since the Unix epoch plus nanoseconds (0..999,999,999). */
export class CelTimestamp extends CelSecondsNanos {
  static fromDate(d: Date): CelTimestamp {
    const ms = d.getTime();
    if (!Number.isFinite(ms)) throw new RangeError('invalid Date');
    const secs = Math.floor(ms / 1000);
    return new CelTimestamp(BigInt(secs), (ms - secs * 1000) * 1_000_000);
  }
  /** Parses an RFC 3339 timestamp ("2024-01-01T00:00:00Z", "...+02:00", up to 9 fraction digits). */
  static parse(text: string): CelTimestamp {
    const m = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?([Zz]|[+-]\d{2}:\d{2})$/.exec(text);
    if (!m) throw new RangeError(`invalid RFC 3339 timestamp: ${text}`);
    const [, y, mo, d, h, mi, s, frac = '', tz] = m;
    const date = new Date(0);
    date.setUTCFullYear(Number(y), Number(mo) - 1, Number(d));
    date.setUTCHours(Number(h), Number(mi), Number(s), 0);
    const base = date.getTime();
    if (
      !Number.isFinite(base) ||
      date.getUTCMonth() !== Number(mo) - 1 ||
      date.getUTCDate() !== Number(d) ||
      Number(h) > 23 ||
      Number(mi) > 59 ||
      Number(s) > 59
    ) {
      throw new RangeError(`invalid RFC 3339 timestamp: ${text}`);
    }
    let offset = 0;
    if (tz !== 'Z' && tz !== 'z') {
      const sign = tz[0] === '-' ? -1 : 1;
      offset = sign * (Number(tz.slice(1, 3)) * 3600 + Number(tz.slice(4, 6)) * 60);
    }
    return new CelTimestamp(BigInt(base / 1000 - offset), Number(frac.padEnd(9, '0') || '0'));
  }
  toDate(): Date {
    return new Date(Number(this.seconds) * 1000 + Math.floor(this.nanos / 1_000_000));
  }
  override toString(): string {
    const iso = new Date(Number(this.seconds) * 1000).toISOString().slice(0, 19);
    const frac = this.nanos ? '.' + String(this.nanos).padStart(9, '0').replace(/0+$/, '') : '';
    return `${iso}${frac}Z`;
  }
}

/** A CEL duration: seconds plus nanoseconds, both with the same sign. */
export class CelDuration extends CelSecondsNanos {
  static fromNanos(total: bigint): CelDuration {
    return new CelDuration(total / NANOS_PER_SECOND, Number(total % NANOS_PER_SECOND));
  }
  override toString(): string {
    const total = this.toNanos();
    const neg = total < 0n;
    const abs = neg ? -total : total;
    const secs = abs / NANOS_PER_SECOND;
    const frac = abs % NANOS_PER_SECOND;
    const f = frac ? '.' + String(frac).padStart(9, '0').replace(/0+$/, '') : '';
    return `${neg ? '-' : ''}${secs}${f}s`;
  }
}

/** A CEL type value, e.g. the result of `type(1)` is CelTypeValue('int'). */
export class CelTypeValue {
  readonly name: string;
  constructor(name: string) {
    this.name = name;
  }
  toString(): string {
    return this.name;
  }
}

/** A protobuf message value other than Timestamp/Duration (only produced, never accepted). */
export class CelMessageValue {
  readonly typeName: string;
  readonly value: unknown;
  constructor(typeName: string, value: unknown) {
    this.typeName = typeName;
    this.value = value;
  }
}

/** Name of the CEL type of a value in the model above (for messages: "expected bool, got map"). */
export function celTypeName(v: unknown): string {
  if (v === null || v === undefined) return 'null_type';
  switch (typeof v) {
    case 'boolean':
      return 'bool';
    case 'bigint':
      return 'int';
    case 'number':
      return 'double';
    case 'string':
      return 'string';
  }
  if (v instanceof CelUint) return 'uint';
  if (v instanceof Uint8Array) return 'bytes';
  if (Array.isArray(v)) return 'list';
  if (v instanceof CelTimestamp || v instanceof Date) return 'google.protobuf.Timestamp';
  if (v instanceof CelDuration) return 'google.protobuf.Duration';
  if (v instanceof CelTypeValue) return 'type';
  if (v instanceof CelMessageValue) return v.typeName;
  if (v instanceof CelOptional) return 'optional_type';
  if (v instanceof CelObject) return v.celType;
  return 'map';
}

/**
 * A value of a library type (Kubernetes' IP, CIDR, URL, Quantity, Semver, ...):
 * its CEL type name, equality, and the string conversion.
 */
export abstract class CelObject {
  abstract readonly celType: string;
  abstract equals(other: CelObject): boolean;
}

/** A CEL optional value (optional.of(x), optional.none(), `a.?b`); out only. */
export class CelOptional {
  static readonly NONE = new CelOptional(false, undefined);
  readonly hasValue: boolean;
  readonly value: unknown;
  private constructor(hasValue: boolean, value: unknown) {
    this.hasValue = hasValue;
    this.value = value;
  }
  static of(value: unknown): CelOptional {
    return new CelOptional(true, value);
  }
  toString(): string {
    return this.hasValue ? `optional.of(${String(this.value)})` : 'optional.none()';
  }
}
