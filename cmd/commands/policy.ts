// `sigward policy lint FILE|DIR...`: validates policies with precise locations.

import { formatDiagnostics, formatLintSummary, lintPolicyPaths } from '../../lib/policy/index.ts';
import { toSigwardError } from '../../lib/errors.ts';
import { printJson, reportError } from '../output.ts';
import type { SigwardCommand } from './types.ts';

export const policyCommand: SigwardCommand = {
  builder: (y) =>
    y
      .positional('action', { choices: ['lint'] as const, describe: 'what to do' })
      .positional('paths', { type: 'string', array: true, describe: 'policy files or directories' })
      .option('notes', { type: 'boolean', default: false, describe: 'also print notes (skipped documents, ...)' }),
  handler: async (args, ctx) => {
    const json = args.output === 'json';
    try {
      const r = lintPolicyPaths(args.paths as string[]);
      if (json) {
        printJson(ctx.io, {
          schema: 'sigward.lint/v1',
          valid: r.errors === 0,
          errors: r.errors,
          warnings: r.warnings,
          policies: r.policies.map((p) => ({
            kind: p.kind,
            name: p.metadata.name,
            ...(p.metadata.namespace ? { namespace: p.metadata.namespace } : {}),
          })),
          diagnostics: r.diagnostics,
        });
      } else {
        const text = formatDiagnostics(r.diagnostics, { notes: Boolean(args.notes) });
        if (text) ctx.io.stdout(text + '\n');
        ctx.io.stdout(formatLintSummary(r) + '\n');
      }
      return r.errors === 0 ? 0 : 1;
    } catch (e) {
      return reportError(ctx.io, json ? 'json' : 'text', toSigwardError(e), 'sigward.lint/v1');
    }
  },
};
