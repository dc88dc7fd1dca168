// Structured logs on stderr: JSON lines when stderr is not a TTY (for log
// collectors), a short human line on a TTY. Secrets never reach a log line:
// the redact list covers every field name that could carry one.

import { Writable } from 'node:stream';
import { type LevelWithSilent, type Logger, pino } from 'pino';

export type { Logger };

export const REDACT_PATHS = [
  'password',
  'secret',
  'token',
  'auth',
  'authorization',
  'identityToken',
  'headers.authorization',
  'credentials',
  '*.password',
  '*.secret',
  '*.token',
  '*.authorization',
  '*.identityToken',
];

const LEVEL_NAMES: Record<number, string> = {
  10: 'trace',
  20: 'debug',
  30: 'info',
  40: 'warn',
  50: 'error',
  60: 'fatal',
};

/** Formats pino JSON lines as `level: msg key=value` for a terminal. */
function ttyStream(out: NodeJS.WritableStream): Writable {
  return new Writable({
    write(chunk: Buffer, _enc, cb) {
      try {
        const rec = JSON.parse(chunk.toString('utf8')) as Record<string, unknown>;
        const { level, msg, time: _t, pid: _p, hostname: _h, ...rest } = rec;
        const extras = Object.entries(rest)
          .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
          .join(' ');
        out.write(`${LEVEL_NAMES[level as number] ?? level}: ${msg ?? ''}${extras ? ' ' + extras : ''}\n`);
      } catch {
        out.write(chunk);
      }
      cb();
    },
  });
}

export interface LoggerOptions {
  level?: LevelWithSilent;
  /** force JSON lines even on a TTY */
  json?: boolean;
  destination?: NodeJS.WritableStream;
}

export function createLogger(opts: LoggerOptions = {}): Logger {
  const dest = opts.destination ?? process.stderr;
  const isTTY = Boolean((dest as { isTTY?: boolean }).isTTY);
  const stream = !opts.json && isTTY ? ttyStream(dest) : dest;
  return pino(
    {
      level: opts.level ?? 'warn',
      base: { name: 'sigward' },
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    stream as pino.DestinationStream,
  );
}
