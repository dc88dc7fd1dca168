// Commands whose issues come later: their options are final, their handlers
// exit 2 "not implemented yet" until the issue lands.
import { notImplemented, type SigwardCommand } from './types.ts';

export const verifyAttestationCommand: SigwardCommand = {
  command: 'verify-attestation <image>',
  describe: 'verify signed in-toto attestations of an image and check their predicates',
  builder: (y) =>
    y
      .positional('image', { type: 'string', describe: 'image reference' })
      .option('type', { type: 'string', describe: 'predicate type (cosign shortcut or URI)' })
      .option('key', { type: 'string' })
      .option('policy', { type: 'string', describe: 'CEL policy file' })
      .option('rule', { type: 'string', describe: 'built-in rule name' })
      .option('param', { type: 'array', string: true, describe: 'rule parameter k=v' })
      .option('condition', { type: 'string', describe: 'CEL condition' }),
  handler: notImplemented('verify-attestation'),
};

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
