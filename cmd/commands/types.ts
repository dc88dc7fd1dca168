import type { Argv } from 'yargs';
import type { Context } from '../cli.ts';

/** What a command module exports: its options and what it does. */
export interface SigwardCommand {
  builder: (y: Argv) => Argv;
  handler: (args: Record<string, unknown>, ctx: Context) => Promise<number>;
}

/** A command as listed in the index (commands/index.ts), loaded on demand. */
export interface CommandEntry {
  /** yargs command string: name and positionals */
  command: string;
  describe: string;
  load: () => Promise<SigwardCommand>;
}
