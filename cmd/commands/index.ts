import type { SigwardCommand } from './types.ts';
import { versionCommand } from './version.ts';
import { verifyCommand } from './verify.ts';
import { verifyBundleCommand } from './verify-bundle.ts';
import { trustCommand } from './trust.ts';
import { containerdVerifyCommand } from './containerd-verify.ts';
import { exportCommand } from './export.ts';
import { serveCommand } from './serve.ts';
import { verifyAttestationCommand } from './verify-attestation.ts';
import { checkCommand } from './check.ts';
import { policyCommand } from './policy.ts';

export const commands: SigwardCommand[] = [
  verifyCommand,
  verifyAttestationCommand,
  verifyBundleCommand,
  checkCommand,
  serveCommand,
  containerdVerifyCommand,
  policyCommand,
  trustCommand,
  exportCommand,
  versionCommand,
];
