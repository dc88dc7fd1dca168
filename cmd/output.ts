// Printing results: text for people, JSON for machines. JSON documents carry
// a `schema` field naming their shape (documented in README "JSON output").

import { EXIT_CODES, toSigwardError, type SigwardError } from '../lib/errors.ts';

export type OutputFormat = 'text' | 'json';

export interface Io {
  stdout: (s: string) => void;
  stderr: (s: string) => void;
}

export const processIo: Io = {
  stdout: (s) => process.stdout.write(s),
  stderr: (s) => process.stderr.write(s),
};

export function printJson(io: Io, doc: unknown): void {
  io.stdout(JSON.stringify(doc, null, 2) + '\n');
}

export function errorToJson(e: SigwardError): Record<string, unknown> {
  return { code: e.code, outcome: e.outcome, message: e.message, ...(e.detail ? { detail: e.detail } : {}) };
}

/** Reports an error in the chosen format and returns the exit code it maps to. */
export function reportError(io: Io, format: OutputFormat, err: unknown, schema = 'sigward.error/v1'): number {
  const e = toSigwardError(err);
  if (format === 'json') printJson(io, { schema, verified: false, error: errorToJson(e) });
  else io.stderr(`Error: ${e.message}\n`);
  return EXIT_CODES[e.outcome];
}
