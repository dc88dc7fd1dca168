import type { Argv } from 'yargs';
import type { Context } from '../cli.ts';

export interface SigwardCommand {
  command: string | string[];
  describe: string;
  builder: (y: Argv) => Argv;
  handler: (args: Record<string, unknown>, ctx: Context) => Promise<number>;
}

/** Commands whose issue has not been reached yet exit 2 with this message. */
export function notImplemented(name: string): SigwardCommand['handler'] {
  return async (_args, ctx) => {
    ctx.io.stderr(`sigward ${name}: not implemented yet\n`);
    return 2;
  };
}
