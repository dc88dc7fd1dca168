// Flag value types shared by every command: how a repeatable flag and a
// duration are written on the command line, the way cosign (Go's pflag) reads
// them, so that a cosign user's command line works unchanged.
//
// - Repeatable flags take exactly one value per occurrence (`-a k=v IMAGE`
//   leaves IMAGE a positional, as pflag does); a value may also list several
//   items separated by commas where cosign's flag is a string slice.
// - Durations are Go durations (`3m`, `1h30m`, `500ms`); a bare number is
//   seconds, as sigward has always read it.

import { SigwardError } from '../lib/errors.ts';
import { parseGoDuration } from '../lib/conditions/go-duration.ts';

interface RepeatableOptions {
  describe: string;
  alias?: string;
  /** split each value on commas (pflag StringSlice), default false */
  commas?: boolean;
  demandOption?: boolean;
}

/** A flag that may be given several times, one value each time; always an array. */
export function repeatable(o: RepeatableOptions) {
  return {
    type: 'string' as const,
    requiresArg: true,
    nargs: 1,
    describe: o.describe,
    ...(o.alias ? { alias: o.alias } : {}),
    ...(o.demandOption ? { demandOption: true } : {}),
    coerce: (v: unknown): string[] => {
      const list = (Array.isArray(v) ? v : v === undefined ? [] : [v]).map(String);
      return o.commas ? list.flatMap((x) => x.split(',')).filter((x) => x !== '') : list;
    },
  };
}

/** Seconds from a Go duration (`90s`, `3m`, `1h`) or a plain number of seconds. */
export function toSeconds(value: unknown, flag: string): number {
  if (typeof value === 'number') {
    if (!Number.isFinite(value) || value < 0) {
      throw new SigwardError('CONFIG_INVALID', `--${flag} must be a non-negative duration, got ${value}`);
    }
    return value;
  }
  const text = String(value).trim();
  if (/^\d+(\.\d+)?$/.test(text)) return Number(text);
  const ns = parseGoDuration(text);
  if (ns === undefined || ns < 0n) {
    throw new SigwardError(
      'CONFIG_INVALID',
      `--${flag} ${JSON.stringify(text)} is not a duration: give seconds or a Go duration such as 90s, 3m or 1h30m`,
    );
  }
  return Number(ns) / 1e9;
}

/** A duration flag: a Go duration or seconds, converted to seconds and checked before anything runs. */
export function duration(describe: string, defaultSeconds: number, flag: string) {
  return {
    type: 'string' as const,
    requiresArg: true,
    default: String(defaultSeconds),
    defaultDescription: `${defaultSeconds}s`,
    describe: `${describe} (Go duration such as 90s or 3m, or seconds)`,
    coerce: (v: unknown): number => toSeconds(Array.isArray(v) ? v[v.length - 1] : v, flag),
  };
}

const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'silent'];

/**
 * Whether the context's logger (cli.ts toContext: --verbose means debug, else
 * --log-level) writes at `level`: a command that would only log below it need
 * not make the logger (the logging library costs 2-3 ms to load and set up).
 */
export function logsAt(args: Record<string, unknown>, level: 'trace' | 'debug' | 'info'): boolean {
  const current = args.verbose === true ? 'debug' : String(args['log-level'] ?? 'warn');
  const i = LOG_LEVELS.indexOf(current);
  return i < 0 || i <= LOG_LEVELS.indexOf(level);
}

/** `-a key=value` annotations (cosign's `--annotations`); the last value of a key wins. */
export function parseAnnotations(list: readonly string[] | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const a of list ?? []) {
    const i = a.indexOf('=');
    if (i <= 0) throw new SigwardError('CONFIG_INVALID', `invalid annotation "${a}": expected key=value`);
    out[a.slice(0, i)] = a.slice(i + 1);
  }
  return out;
}
