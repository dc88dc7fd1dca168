import { notImplemented, type SigwardCommand } from './types.ts';

export const verifyBundleCommand: SigwardCommand = {
  command: 'verify-bundle <artifact>',
  describe: 'verify a Sigstore bundle over a file or a sha256:<hex> digest (sigstore-conformance protocol)',
  builder: (y) =>
    y
      .positional('artifact', { type: 'string', describe: 'file path, or sha256:<64 hex> digest' })
      .option('bundle', { type: 'string', demandOption: true, describe: 'Sigstore bundle JSON file' })
      .option('certificate-identity', { type: 'string' })
      .option('certificate-oidc-issuer', { type: 'string' })
      .option('key', { type: 'string', describe: 'public key (PEM) for key-signed bundles' })
      .option('trusted-root', { type: 'string', describe: 'trusted_root.json (default: embedded public-good root)' }),
  handler: notImplemented('verify-bundle'),
};
