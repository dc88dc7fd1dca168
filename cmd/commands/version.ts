import { getBuildInfo } from '../../lib/version.ts';
import { printJson } from '../output.ts';
import type { SigwardCommand } from './types.ts';

export const versionCommand: SigwardCommand = {
  builder: (y) => y,
  handler: async (args, ctx) => {
    const info = getBuildInfo();
    if (args.output === 'json') printJson(ctx.io, { schema: 'sigward.version/v1', ...info });
    else {
      ctx.io.stdout(
        `sigward ${info.version}\n` +
          `  commit:   ${info.commit}\n` +
          `  built:    ${info.date}\n` +
          `  bundled:  ${info.bundled ? 'single executable' : 'no (running from sources)'}\n` +
          `  runtime:  ${info.runtime} ${info.node}\n` +
          `  platform: ${info.platform}\n`,
      );
    }
    return 0;
  },
};
