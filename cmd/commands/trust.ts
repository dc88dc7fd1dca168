import { notImplemented, type SigwardCommand } from './types.ts';

export const trustCommand: SigwardCommand = {
  command: 'trust <action>',
  describe: 'trust-root tools: show, export, init --mirror DIR (air-gapped preparation)',
  builder: (y) =>
    y
      .positional('action', { choices: ['show', 'export', 'init'] as const })
      .option('trusted-root', { type: 'string' })
      .option('mirror', { type: 'string' }),
  handler: notImplemented('trust'),
};
