// The single executable's first stage for containerd's call (build.mjs bundles
// it apart from cmd/main.ts, with a code cache of its own). containerd starts
// the verifier for every pull, and most pulls are answered from the verdict
// cache: that answer needs the argv, the descriptor, config.yaml and a few stat
// calls (lib/containerd/cached-verdict.ts), not the full bundle (yargs, the
// policy engine, Sigstore, ...), whose code cache alone costs more to load
// than the whole cached answer. Anything but a cached allow (another argv, a
// miss, an error, a warning) is left to the full binary, which decides and
// words it exactly as before; the descriptor already read from stdin is handed
// over to it (takeHandedOverStdin).

import { readFileSync } from 'node:fs';
import { processIo } from './output.ts';
import { toContainerdCall } from './containerd-argv.ts';
import { lookUpCachedVerdict } from '../lib/containerd/cached-verdict.ts';
import { STDIN_HANDOVER } from './stdin-handover.ts';

/**
 * Answers containerd's call from the verdict cache: the exit code once the
 * reason is printed, or undefined when the full binary must run.
 */
export function answerFromCache(argv: string[], env: Record<string, string | undefined>): number | undefined {
  const args = toContainerdCall(argv);
  if (!args) return undefined;
  let stdin = '';
  try {
    stdin = readFileSync(0, 'utf8');
  } catch {
    // as containerd-verify reads it: no stdin is an empty descriptor
  }
  let warned = false;
  const fast = lookUpCachedVerdict(
    {
      name: args.name as string,
      digest: args.digest as string,
      stdinMediaType: args['stdin-media-type'] as string | undefined,
      stdin,
    },
    { env, warn: () => (warned = true) },
  );
  if ('verdict' in fast && fast.verdict.cached === 'stamp' && !warned) {
    processIo.stdout(fast.verdict.reason);
    return fast.verdict.exitCode;
  }
  (globalThis as Record<symbol, unknown>)[STDIN_HANDOVER] = stdin;
  return undefined;
}
