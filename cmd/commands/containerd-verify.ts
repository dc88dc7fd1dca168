import { notImplemented, type SigwardCommand } from './types.ts';

/**
 * containerd's bindir image verifier runs `<bin> -name REF -digest D
 * -stdin-media-type T` (single-dash long flags). When invoked that way (or
 * through a symlink whose name ends in "verifier"), rewrite argv to the
 * `containerd-verify` command.
 */
export function toContainerdArgv(argv: string[], argv0: string): string[] | undefined {
  const base = argv0.split('/').pop() ?? '';
  const looksLikeContainerd = argv.includes('-name') || argv.includes('-digest');
  if (!looksLikeContainerd && !/verifier$/.test(base)) return undefined;
  if (!looksLikeContainerd) return undefined;
  const out = ['containerd-verify'];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '-name' || a === '-digest' || a === '-stdin-media-type') out.push('-' + a, argv[++i] ?? '');
    else out.push(a);
  }
  return out;
}

export const containerdVerifyCommand: SigwardCommand = {
  command: 'containerd-verify',
  describe: "containerd image-verifier plugin (invoked by containerd as '<bin> -name REF -digest D -stdin-media-type T')",
  builder: (y) =>
    y
      .option('name', { type: 'string', describe: 'image reference being pulled' })
      .option('digest', { type: 'string', describe: 'resolved manifest digest' })
      .option('stdin-media-type', { type: 'string', describe: 'media type of the descriptor on stdin' }),
  handler: notImplemented('containerd-verify'),
};
