// Printing results: text for people, JSON for machines. JSON documents carry
// a `schema` field naming their shape (documented in README "JSON output").

import { EXIT_CODES, type SigwardError, toSigwardError } from '../lib/errors.ts';

export type OutputFormat = 'text' | 'json' | 'cosign';

export interface Io {
  stdout: (s: string) => void;
  stderr: (s: string) => void;
}

// A reader that goes away (`sigward verify ... | head -1`) closes the pipe:
// further output is dropped, and the process still ends with the verdict's
// exit code (no stack trace).
const closed = { stdout: false, stderr: false };
// The stream is looked up on the first write: Node makes process.stdout and
// process.stderr on first access (loading its stream modules), which a run that
// prints nothing on one of them need not pay.
function guarded(name: 'stdout' | 'stderr'): (s: string) => void {
  let listening = false;
  return (s) => {
    if (closed[name]) return;
    const stream = process[name];
    if (!listening) {
      listening = true;
      stream.on('error', (e: NodeJS.ErrnoException) => {
        if (e.code === 'EPIPE' || e.code === 'ERR_STREAM_DESTROYED') closed[name] = true;
        else throw e;
      });
    }
    stream.write(s);
  };
}

export const processIo: Io = {
  stdout: guarded('stdout'),
  stderr: guarded('stderr'),
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

/**
 * The first word of a result line that is not an allow: only a denial reads
 * "deny" (on stdout); a usage error ("error") or an outcome that could not be
 * decided ("undecided") goes to stderr, so no script mistakes it for a verdict.
 */
export function printNotAllowed(io: Io, outcome: SigwardError['outcome'], text: string): void {
  if (outcome === 'deny') io.stdout(`deny ${text}\n`);
  else io.stderr(`${outcome === 'usage' ? 'error' : 'undecided'} ${text}\n`);
}
