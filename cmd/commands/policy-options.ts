// The flags that choose the policies a command evaluates (--policy) and how
// their short image names read (--default-registry), and loading them: shared
// by check, test, export and serve.

import { SigwardError } from '../../lib/errors.ts';
import { loadPolicyPaths } from '../../lib/policy/index.ts';
import { repeatable } from '../flags.ts';
import type { Context } from './types.ts';

/** `--policy`/`-p`: the policy files and directories, at least one. */
export const POLICY_FLAG = repeatable({
  alias: 'p',
  demandOption: true,
  describe: 'policy file or directory (repeatable)',
});

/** `--default-registry`: Kyverno's defaultRegistry for short image names. */
export const DEFAULT_REGISTRY_FLAG = {
  type: 'string',
  describe: 'registry for short image names (Kyverno defaultRegistry, default docker.io)',
} as const;

/** The policies in `paths`; each loader warning is logged (a policy error throws). */
export function loadPolicyFiles(paths: string[], ctx: Context): ReturnType<typeof loadPolicyPaths>['policies'] {
  const { policies, warnings } = loadPolicyPaths(paths);
  for (const w of warnings) ctx.log.warn({ warning: w }, 'policy warning');
  return policies;
}

/** The policies `--policy` names; none found is a usage error. */
export function policiesFromArgs(args: Record<string, unknown>, ctx: Context): ReturnType<typeof loadPolicyFiles> {
  const policies = loadPolicyFiles(args.policy as string[], ctx);
  if (!policies.length) throw new SigwardError('CONFIG_INVALID', 'no policy found in the given paths');
  return policies;
}
