// containerd's bindir image verifier calls the binary with Go-style flags;
// this turns such an argv into the `containerd-verify` command. Kept apart from
// the command module so that recognising the call loads nothing else; the
// exact call containerd makes is even parsed here, without yargs (a pull
// waits on every start of the verifier).

export const CONTAINERD_COMMAND = 'containerd-verify';

/**
 * Every command's name, as cmd/commands/index.ts lists them (a test checks):
 * the single executable's first stage (cmd/containerd-first-stage.ts) must
 * tell containerd's call from a command without loading the command index.
 */
export const COMMAND_NAMES: readonly string[] = [
  'verify',
  'verify-attestation',
  'verify-bundle',
  'check',
  'test',
  'tree',
  'download',
  'serve',
  'containerd-verify',
  'policy',
  'trust',
  'export',
  'version',
];

/** Global options that take a value (the word after them is not a command). */
const VALUE_OPTIONS = new Set(['--output', '-o', '--log-level']);

/** The first positional word of argv, the command yargs runs if it names one (none after `--`). */
export function findCommandWord(argv: string[]): string | undefined {
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') return undefined;
    if (a.startsWith('-')) {
      if (VALUE_OPTIONS.has(a)) i++;
      continue;
    }
    return a;
  }
  return undefined;
}
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
  if (!argv.some((a) => a === '-name' || a.startsWith('-name=') || a === '-digest' || a.startsWith('-digest='))) {
    return undefined;
  }
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

/** The options containerd's bindir verifier passes, in the form toContainerdArgv writes them. */
const CONTAINERD_OPTIONS = new Set(['--name', '--digest', '--stdin-media-type']);

/**
 * containerd's own call (`containerd-verify --name R --digest D
 * --stdin-media-type T`, each once, plain values) as the arguments yargs
 * would parse from it; anything else (other flags, repeated or empty ones,
 * values that look like flags, --help) is left to yargs.
 */
export function toPlainContainerdArgs(argv: string[]): Record<string, unknown> | undefined {
  if (argv[0] !== 'containerd-verify' || argv.length % 2 !== 1) return undefined;
  const args: Record<string, unknown> = { output: 'text', 'log-level': 'warn' };
  for (let i = 1; i < argv.length; i += 2) {
    const flag = argv[i]!;
    const value = argv[i + 1]!;
    const key = flag.slice(2);
    if (!CONTAINERD_OPTIONS.has(flag) || key in args || value === '' || value.startsWith('-')) return undefined;
    args[key] = value;
  }
  return typeof args.name === 'string' && typeof args.digest === 'string' ? args : undefined;
}

/**
 * containerd's own call, found in argv as cli.ts finds it (the command word,
 * then toContainerdArgv and toPlainContainerdArgs): the containerd-verify
 * command's arguments, or undefined for anything yargs must parse.
 */
export function toContainerdCall(argv: string[]): Record<string, unknown> | undefined {
  const word = findCommandWord(argv);
  const rewritten = toContainerdArgv(argv, word !== undefined && COMMAND_NAMES.includes(word) ? word : undefined);
  return rewritten ? toPlainContainerdArgs(rewritten) : undefined;
}
