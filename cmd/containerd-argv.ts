// containerd's bindir image verifier calls the binary with Go-style flags;
// this turns such an argv into the `containerd-verify` command. Kept apart from
// the command module so that recognising the call loads nothing else.

export const CONTAINERD_COMMAND = 'containerd-verify';
const CONTAINERD_FLAGS = ['-name', '-digest', '-stdin-media-type'];

/**
 * containerd's bindir image verifier runs `<bin> -name REF -digest D
 * -stdin-media-type T` (Go single-dash flags, also `-flag=value`). When
 * invoked that way (the binary itself, or a symlink such as
 * `sigward-verifier` in bin_dir), rewrite argv to the `containerd-verify`
 * command. `command` is the command word argv already names (cli.ts
 * `findCommand`): with `containerd-verify` (a wrapper running `sigward
 * containerd-verify "$@"`) only the flags are rewritten; another command's
 * argv is left to that command's parser.
 */
export function toContainerdArgv(argv: string[], command: string | undefined): string[] | undefined {
  if (command !== undefined && command !== CONTAINERD_COMMAND) return undefined;
  const isFlag = (a: string) => CONTAINERD_FLAGS.some((f) => a === f || a.startsWith(f + '='));
  if (!argv.some((a) => a === '-name' || a.startsWith('-name=') || a === '-digest' || a.startsWith('-digest='))) return undefined;
  const out = command === CONTAINERD_COMMAND ? [] : [CONTAINERD_COMMAND];
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
