import type { Argv } from 'yargs';
import type { Logger } from '../../lib/log.ts';
import type { Io } from '../output.ts';

/** What every command runs with: I/O, the logger, the environment and warnings. */
export interface Context {
  io: Io;
  log: Logger;
  env: Record<string, string | undefined>;
  /** prints `WARNING: text` on stderr, unless --log-level is error or silent */
  warn: (text: string) => void;
}

/** What a command module exports: its options and what it does. */
export interface SigwardCommand {
  builder: (y: Argv) => Argv;
  handler: (args: Record<string, unknown>, ctx: Context) => Promise<number>;
  /**
   * Whether this run may use ctx.log (default: yes). A command that logs only
   * at levels its arguments turn off says so, and runs without the logging
   * library loaded (ctx.log then throws INTERNAL).
   */
  usesLogger?: (args: Record<string, unknown>) => boolean;
}

/** A command as listed in the index (commands/index.ts), loaded on demand. */
export interface CommandEntry {
  /** yargs command string: name and positionals */
  command: string;
  describe: string;
  load: () => Promise<SigwardCommand>;
}
