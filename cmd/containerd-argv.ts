// containerd's bindir image verifier calls the binary with Go-style flags;
// this turns such an argv into the `containerd-verify` command. Kept apart from
// the command module so that recognising the call loads nothing else.

const CONTAINERD_FLAGS = ['-name', '-digest', '-stdin-media-type'];

/**
 * containerd's bindir image verifier runs `<bin> -name REF -digest D
 * -stdin-media-type T` (Go single-dash flags, also `-flag=value`). When
 * invoked that way (the binary itself, or a symlink such as
 * `sigward-verifier` in bin_dir), rewrite argv to the `containerd-verify`
 * command.
 */
export function toContainerdArgv(argv: string[], _argv0: string): string[] | undefined {
  const isFlag = (a: string) => CONTAINERD_FLAGS.some((f) => a === f || a.startsWith(f + '='));
  if (!argv.some((a) => a === '-name' || a.startsWith('-name=') || a === '-digest' || a.startsWith('-digest='))) return undefined;
  const out = ['containerd-verify'];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (isFlag(a)) {
      const eq = a.indexOf('=');
      if (eq > 0) out.push('-' + a.slice(0, eq), a.slice(eq + 1));
      else out.push('-' + a, argv[++i] ?? '');
    } else out.push(a);
  }
  return out;
}
