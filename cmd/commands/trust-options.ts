// The flags that choose the trust root (--trusted-root, TUF): shared by every
// command that verifies.

import type { Argv } from 'yargs';
import { loadTrustMaterial, type Trust } from '../../lib/trust/index.ts';
import type { Context } from './types.ts';

export function addTrustOptions(y: Argv): Argv {
  return y
    .option('trusted-root', {
      type: 'string',
      describe: 'Sigstore trusted_root.json (default: the public-good root embedded in sigward)',
    })
    .option('tuf-mirror', {
      type: 'string',
      describe: 'fetch the trusted root from this TUF repository (network; off by default)',
    })
    .option('tuf-root', { type: 'string', describe: 'initial TUF root.json for --tuf-mirror' })
    .option('tuf-cache', { type: 'string', describe: 'TUF cache directory' });
}

export async function trustFromArgs(args: Record<string, unknown>, ctx: Context): Promise<Trust> {
  const tuf = typeof args['tuf-mirror'] === 'string'
    ? {
      mirrorURL: args['tuf-mirror'] as string,
      rootPath: args['tuf-root'] as string | undefined,
      cachePath: args['tuf-cache'] as string | undefined,
    }
    : undefined;
  return loadTrustMaterial({
    trustedRootPath: args['trusted-root'] as string | undefined,
    env: ctx.env,
    tuf,
    warn: ctx.warn,
  });
}
