// Commands whose issues come later: their options are final, their handlers
// exit 2 "not implemented yet" until the issue lands.
import { notImplemented, type SigwardCommand } from './types.ts';

export const serveCommand: SigwardCommand = {
  command: 'serve',
  describe: 'run the Kubernetes admission webhook (mutate and validate)',
  builder: (y) =>
    y
      .option('policy', { type: 'array', string: true, describe: 'policy file or directory' })
      .option('tls-cert', { type: 'string' })
      .option('tls-key', { type: 'string' })
      .option('port', { type: 'number', default: 9443 }),
  handler: notImplemented('serve'),
};

export const exportCommand: SigwardCommand = {
  command: 'export <format>',
  describe: 'export policies to other formats (containers-policy for CRI-O/Podman)',
  builder: (y) =>
    y
      .positional('format', { choices: ['containers-policy'] as const })
      .option('policy', { type: 'array', string: true }),
  handler: notImplemented('export'),
};
