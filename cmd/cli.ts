// The CLI frame: one yargs parser, one module per command under commands/.
// Each handler resolves to an exit code:
//   0 verified/allowed, 1 verification failed/denied, 2 usage or configuration
//   error, 3 could not decide (e.g. registry unreachable).

import yargs, { type Argv } from 'yargs';
import { createLogger, type Logger } from '../lib/log.ts';
import { getBuildInfo } from '../lib/version.ts';
import { processIo, type Io, type OutputFormat } from './output.ts';
import { commands } from './commands/index.ts';
import { toContainerdArgv } from './commands/containerd-verify.ts';

export interface GlobalArgs {
  output: OutputFormat;
  'log-level': string;
}

export interface Context {
  io: Io;
  log: Logger;
  env: Record<string, string | undefined>;
}

export async function run(argv: string[], io: Io = processIo, env = process.env, argv0 = process.argv[1] ?? ''): Promise<number> {
  // containerd execs verifiers as `<bin> -name REF -digest D -stdin-media-type T`.
  const containerdArgv = toContainerdArgv(argv, argv0);
  if (containerdArgv) argv = containerdArgv;

  let exitCode = 0;
  let failed: string | undefined;
  const parser: Argv = yargs(argv)
    .scriptName('sigward')
    .locale('en')
    .usage('$0 <command> [options]\n\nVerifies container image signatures and attestations (cosign/Sigstore, Kyverno verifyImages).')
    .option('output', { alias: 'o', choices: ['text', 'json'] as const, default: 'text' as const, describe: 'output format', global: true })
    .option('log-level', { choices: ['trace', 'debug', 'info', 'warn', 'error', 'silent'] as const, default: 'warn', describe: 'log level (logs go to stderr)', global: true })
    .version('version', 'print the version', `sigward ${getBuildInfo().version}`)
    .alias('h', 'help')
    .strict()
    .demandCommand(1, 'a command is required')
    .wrap(Math.min(110, process.stdout.columns || 100))
    .exitProcess(false)
    .fail((msg, err) => {
      failed = msg || err?.message || 'invalid usage';
    });

  for (const cmd of commands) {
    parser.command(cmd.command, cmd.describe, cmd.builder, async (args: Record<string, unknown>) => {
      const log = createLogger({ level: args['log-level'] as never });
      const ctx: Context = { io, log, env };
      exitCode = await cmd.handler(args as never, ctx);
    });
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
    return 2;
  }
  return exitCode;
}
