// `sigward containerd-verify`: containerd 2.x image verifier (bindir plugin).
// containerd runs `<bin> -name REF -digest D -stdin-media-type T` with the
// image descriptor on stdin; exit 0 allows the pull, anything else blocks it
// with stdout as the reason. Configuration: $SIGWARD_CONFIG_DIR or /etc/sigward.

import { readFileSync } from 'node:fs';
import type { SigwardCommand } from './types.ts';
import { verifyForContainerd } from '../../lib/containerd/verifier.ts';
import { CONFIG_DIR_ENV } from '../../lib/containerd/config.ts';
import { takeHandedOverStdin } from '../stdin-handover.ts';

function readStdin(): string {
  const handedOver = takeHandedOverStdin();
  if (handedOver !== undefined) return handedOver;
  try {
    return readFileSync(0, 'utf8');
  } catch {
    return '';
  }
}

export const containerdVerifyCommand: SigwardCommand = {
  builder: (y) =>
    y
      .option('name', { type: 'string', describe: 'image reference being pulled' })
      .option('digest', { type: 'string', describe: 'resolved manifest digest' })
      .option('stdin-media-type', { type: 'string', describe: 'media type of the descriptor on stdin' })
      .option('config-dir', {
        type: 'string',
        describe: `configuration directory (default: $${CONFIG_DIR_ENV} or /etc/sigward)`,
      })
      .epilog(
        'Exit 0 allows the pull; 1 denied by policy; 2 bad invocation or configuration; 3 could not decide (registry unreachable, deadline). ' +
          'The reason is printed on stdout in one line. Configuration: config.yaml, policies/, trust/, secrets/ in the configuration directory.',
      ),
  handler: async (args, ctx) => {
    const env = typeof args['config-dir'] === 'string'
      ? { ...ctx.env, [CONFIG_DIR_ENV]: args['config-dir'] as string }
      : ctx.env;
    const verdict = await verifyForContainerd(
      {
        name: args.name as string | undefined,
        digest: args.digest as string | undefined,
        stdinMediaType: args['stdin-media-type'] as string | undefined,
        stdin: readStdin(),
      },
      { env, warn: (m) => ctx.io.stderr(`sigward: warning: ${m}\n`) },
    );
    ctx.io.stdout(verdict.reason);
    return verdict.exitCode;
  },
};
