// Files the CLI reads and writes because a flag names them: one error for a
// file that cannot be read or written (what it is, where, and the OS's code),
// a usage error (CONFIG_INVALID) rather than a crash or a verdict.

import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { SigwardError } from '../lib/errors.ts';

/** The usage error for a failed file operation: `${doing}: ENOENT` (the OS's code, else its message). */
export function toFileError(doing: string, e: unknown): SigwardError {
  return new SigwardError(
    'CONFIG_INVALID',
    `${doing}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
    { cause: e },
  );
}

/** The text of the file a flag names; `what` says which file it is in the error. */
export function readFlagFile(path: string, what: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (e) {
    throw toFileError(`cannot read ${what} ${path}`, e);
  }
}

/** Writes `text` to `path` through a temporary file and a rename, so that no reader sees half a file. */
export function writeFileAtomic(path: string, text: string, mode?: number): void {
  const tmp = `${path}.${process.pid}.tmp`;
  try {
    writeFileSync(tmp, text, mode === undefined ? undefined : { mode });
    renameSync(tmp, path);
  } catch (e) {
    throw toFileError(`cannot write ${path}`, e);
  }
}
