// The CLI frame: one yargs parser, one module per command under commands/.
// Each handler resolves to an exit code:
//   0 verified/allowed, 1 verification failed/denied, 2 usage or configuration
//   error, 3 could not decide (e.g. registry unreachable).

//
// Start-up cost matters (containerd runs the binary once per pull): only the
// module of the command being run is loaded. The command is found the way
// yargs finds it (the first positional word); should yargs pick another one,
// the parse is redone with that command loaded. yargs itself is loaded only
// when there is something to parse: containerd's own call (the exact flags
// bindir.go passes) goes straight to the containerd-verify command.

import { appendFileSync, writeFileSync } from 'node:fs';
import type { Argv } from 'yargs';
import { getBuildInfo } from '../lib/version.ts';
import { SigwardError } from '../lib/errors.ts';
import { type Io, type OutputFormat, processIo } from './output.ts';
import { commands } from './commands/index.ts';
import type { CommandEntry, Context, SigwardCommand } from './commands/types.ts';
export type { Context } from './commands/types.ts';
import { findCommandWord, toContainerdArgv, toPlainContainerdArgs } from './containerd-argv.ts';
import { withSuggestions } from './suggest.ts';

/** Thrown from yargs' fail callback so that nothing runs after a usage error. */
class UsageStop extends Error {}

export interface GlobalArgs {
  output: OutputFormat;
  'log-level': string;
}

/**
 * The context a command runs in: --verbose (cosign -d) means debug logs, --output-file takes stdout.
 * withLogger false: a command that never logs (containerd-verify) does not load the logging library.
 */
async function toContext(
  args: Record<string, unknown>,
  io: Io,
  env: Record<string, string | undefined>,
  withLogger = true,
): Promise<Context> {
  const createLogger = withLogger ? (await import('../lib/log.ts')).createLogger : () => {
    throw new SigwardError('INTERNAL', 'this command runs without a logger');
  };
  const level = args.verbose === true ? 'debug' : (args['log-level'] as string);
  let log: Context['log'] | undefined;
  let out = io;
  if (typeof args['output-file'] === 'string') {
    const file = args['output-file'];
    writeFileSync(file, '');
    out = { ...io, stdout: (s) => appendFileSync(file, s) };
  }
  const quiet = level === 'error' || level === 'silent';
  return {
    io: out,
    // made on first use: most runs of most commands log nothing
    get log() {
      return (log ??= createLogger({ level: level as never }));
    },
    env,
    warn: (text) => (quiet ? undefined : out.stderr(`WARNING: ${text}\n`)),
  };
}

/** Commands that can print cosign's own output shape (`-o cosign`). */
const COSIGN_OUTPUT = new Set(['verify', 'verify-attestation']);

const nameOf = (entry: CommandEntry) => entry.command.split(' ')[0]!;

/** The command yargs will run for argv: its first positional word, if it names one. */
export function findCommand(argv: string[]): CommandEntry | undefined {
  const word = findCommandWord(argv);
  return word === undefined ? undefined : commands.find((c) => nameOf(c) === word);
}

export async function run(argv: string[], io: Io = processIo, env = process.env): Promise<number> {
  // containerd execs verifiers as `<bin> -name REF -digest D -stdin-media-type T`
  // (or a wrapper as `sigward containerd-verify -name REF ...`).
  let entry = findCommand(argv);
  const containerdArgv = toContainerdArgv(argv, entry && nameOf(entry));
  if (containerdArgv) {
    argv = containerdArgv;
    entry = findCommand(argv);
  }
  const plain = containerdArgv && entry ? toPlainContainerdArgs(argv) : undefined;
  if (entry && plain) return (await entry.load()).handler(plain, await toContext(plain, io, env, false));
  for (let attempt = 0;; attempt++) {
    const loaded = entry ? await entry.load() : undefined;
    const r = await parse(argv, io, env, entry, loaded);
    // yargs chose a command other than the one loaded: load that one and parse again (once)
    if (r.rerun && attempt === 0) {
      entry = r.rerun;
      continue;
    }
    if (r.rerun) {
      io.stderr(`Error: could not load the command "${nameOf(r.rerun)}"\n`);
      return 2;
    }
    return r.code;
  }
}

async function parse(
  argv: string[],
  io: Io,
  env: Record<string, string | undefined>,
  selected: CommandEntry | undefined,
  loaded: SigwardCommand | undefined,
): Promise<{ code: number; rerun?: CommandEntry }> {
  let exitCode = 0;
  let failed: string | undefined;
  let rerun: CommandEntry | undefined;
  const { default: yargs } = await import('yargs');
  const parser: Argv = yargs(argv)
    .scriptName('sigward')
    .locale('en')
    .usage(
      '$0 <command> [options]\n\nVerifies container image signatures and attestations (cosign/Sigstore, Kyverno verifyImages).',
    )
    .option('output', {
      alias: 'o',
      choices: ['text', 'json', 'cosign'] as const,
      default: 'text' as const,
      describe: 'output format (cosign: what cosign verify / verify-attestation print; those commands only)',
      global: true,
    })
    .option('log-level', {
      choices: ['trace', 'debug', 'info', 'warn', 'error', 'silent'] as const,
      default: 'warn',
      describe: 'log level (logs go to stderr)',
      global: true,
    })
    .version('version', 'print the version', `sigward ${getBuildInfo().version}`)
    .alias('h', 'help')
    .strict()
    .demandCommand(1, 'a command is required')
    .wrap(Math.min(110, process.stdout.columns || 100))
    .exitProcess(false)
    .fail((msg, err, y) => {
      failed ??= withSuggestions(
        msg || err?.message || 'invalid usage',
        [...optionNames(y), ...(loaded ? optionNames(loaded.builder(yargs([]))) : [])],
        commands.map(nameOf),
        argv,
      );
      // yargs goes on to run the command's handler when a fail callback returns:
      // throwing here is what keeps a usage error from running the command.
      throw new UsageStop(failed);
    });

  skipHelpCache(parser);

  for (const entry of commands) {
    if (entry === selected && loaded) {
      parser.command(entry.command, entry.describe, loaded.builder, async (args: Record<string, unknown>) => {
        if (args.output === 'cosign' && !COSIGN_OUTPUT.has(nameOf(entry))) {
          io.stderr(
            `Error: --output cosign is only for verify and verify-attestation (the shapes cosign prints); use -o json\n`,
          );
          exitCode = 2;
          return;
        }
        exitCode = await loaded.handler(
          args as never,
          await toContext(args, io, env, loaded.usesLogger?.(args) ?? true),
        );
      });
    } else {
      // listed for the help and for yargs' choice, not loaded
      parser.command(entry.command, entry.describe, (y) => y, () => {
        rerun = entry;
      });
    }
  }

  let helpShown = false;
  try {
    await parser.parseAsync(argv, {}, (err, _args, out) => {
      if (out) {
        helpShown = true;
        if (err || failed) io.stderr(out + '\n');
        else io.stdout(out + '\n');
      }
    });
  } catch (e) {
    failed ??= (e as Error).message;
  }
  if (failed) {
    if (!helpShown) io.stderr(`Error: ${failed}\nRun "sigward --help" for usage.\n`);
    return { code: 2 };
  }
  return { code: exitCode, ...(rerun ? { rerun } : {}) };
}

/**
 * yargs renders the whole help text of a command each time it runs the
 * command's handler (it keeps it for a failure inside an async handler when
 * no parse callback is given): 10-25 ms of string layout on every run. We
 * always pass a parse callback and print usage errors ourselves, so that text
 * is never shown: skip rendering it. (yargs internals: when they are not
 * there, nothing changes.)
 */
function skipHelpCache(parser: Argv): void {
  const internals =
    (parser as unknown as { getInternalMethods?: () => { getUsageInstance?: () => { cacheHelpMessage?: () => void } } })
      .getInternalMethods?.();
  const usage = internals?.getUsageInstance?.();
  if (usage && typeof usage.cacheHelpMessage === 'function') usage.cacheHelpMessage = () => {};
}

/** The option names (and aliases) yargs knows in the current command's context. */
function optionNames(y: Argv | undefined): string[] {
  const opts =
    (y as unknown as { getOptions?: () => { key?: Record<string, unknown>; hiddenOptions?: string[] } } | undefined)
      ?.getOptions?.();
  const hidden = new Set(opts?.hiddenOptions ?? []);
  return Object.keys(opts?.key ?? {}).filter((k) => !hidden.has(k) && !/[A-Z]/.test(k));
}
