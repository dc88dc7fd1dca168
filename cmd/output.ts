// Printing results: text for people, JSON for machines. JSON documents carry
// a `schema` field naming their shape (documented in README "JSON output").

import { writeSync } from 'node:fs';
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
// Written to fd 1 and 2 directly: Node makes process.stdout and process.stderr
// on first access, loading its stream modules (about 7 ms on containerd's
// cached verdict), and on Linux their writes to files, pipes and terminals are
// synchronous anyway. A non-blocking descriptor that is full (EAGAIN) gets the
// rest, and every later write, through the stream, so nothing is reordered.
const viaStream = { stdout: false, stderr: false };
function guarded(name: 'stdout' | 'stderr'): (s: string) => void {
  const fd = name === 'stdout' ? 1 : 2;
  let listening = false;
  const toStream = (chunk: string | Uint8Array) => {
    const stream = process[name];
    if (!listening) {
      listening = true;
      stream.on('error', (e: NodeJS.ErrnoException) => {
        if (e.code === 'EPIPE' || e.code === 'ERR_STREAM_DESTROYED') closed[name] = true;
        else throw e;
      });
    }
    stream.write(chunk);
  };
  return (s) => {
    if (closed[name]) return;
    if (viaStream[name]) return toStream(s);
    const bytes = Buffer.from(s, 'utf8');
    let done = 0;
    try {
      while (done < bytes.length) done += writeSync(fd, bytes, done);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'EPIPE') closed[name] = true;
      else if (code === 'EAGAIN') {
        viaStream[name] = true;
        toStream(bytes.subarray(done));
      } else throw e;
    }
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
