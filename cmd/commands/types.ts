import type { Argv } from 'yargs';
import type { Context } from '../cli.ts';

export interface SigwardCommand {
  command: string | string[];
  describe: string;
  builder: (y: Argv) => Argv;
  handler: (args: Record<string, unknown>, ctx: Context) => Promise<number>;
}
