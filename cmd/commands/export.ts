// `sigward export containers-policy --policy DIR [--out FILE]`: the parts of
// the policies that /etc/containers/policy.json (CRI-O, Podman) can express;
// everything else is listed on stderr (and in the JSON report with -o json).

import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { SigwardError, toSigwardError } from '../../lib/errors.ts';
import { getEmbeddedTrustedRoot, parseTrustedRoot } from '../../lib/trust/index.ts';
import { type ContainersImageVersion, toContainersPolicy } from '../../lib/export/containers-policy.ts';
import { printJson, reportError } from '../output.ts';
import type { SigwardCommand } from './types.ts';
import { policiesFromArgs, POLICY_FLAG } from './policy-options.ts';

export const exportCommand: SigwardCommand = {
  builder: (y) =>
    y
      .positional('format', { choices: ['containers-policy'] as const, describe: 'target format' })
      .option(
        'policy',
        POLICY_FLAG,
      )
      .option('out', { type: 'string', describe: 'write policy.json here (atomically) instead of stdout' })
      .option('default', {
        choices: ['accept', 'reject'] as const,
        default: 'accept' as const,
        describe: 'images no scope matches: accept (like Kyverno, insecureAcceptAnything) or reject',
      })
      .option('on-unsupported', {
        choices: ['reject', 'skip'] as const,
        default: 'reject' as const,
        describe:
          'scopes whose checks cannot all be expressed: reject them (fail closed) or export what can be expressed',
      })
      .option('compat', {
        type: 'string',
        choices: ['5.33', '5.24', '5.23'] as const,
        default: '5.33' as const,
        describe:
          'oldest containers/image that must load the file (5.23 = Debian bookworm skopeo 1.9: keyData only; 5.24: fulcio, rekorPublicKeyData; 5.33: keyDatas, rekorPublicKeyDatas)',
      })
      .option('trusted-root', {
        type: 'string',
        describe: 'trusted_root.json for Fulcio CAs and Rekor keys (default: embedded public-good root)',
      })
      .epilog(
        'policy.json needs `use-sigstore-attachments: true` in /etc/containers/registries.d for the scopes it checks.',
      ),
  handler: async (args, ctx) => {
    const format = args.output === 'json' ? 'json' : 'text';
    try {
      const policies = policiesFromArgs(args, ctx);
      const rootPath = args['trusted-root'] as string | undefined;
      let trustedRoot;
      if (rootPath) {
        try {
          trustedRoot = parseTrustedRoot(readFileSync(rootPath, 'utf8'), rootPath);
        } catch (e) {
          throw e instanceof SigwardError
            ? e
            : new SigwardError('TRUST_ROOT_INVALID', `cannot read trusted root ${rootPath}: ${(e as Error).message}`, {
              cause: e,
            });
        }
      } else trustedRoot = getEmbeddedTrustedRoot();
      const result = toContainersPolicy(policies, {
        defaultPolicy: args.default as 'accept' | 'reject',
        onUnsupported: args['on-unsupported'] as 'reject' | 'skip',
        compat: String(args.compat) as ContainersImageVersion,
        trustedRoot,
      });
      const text = JSON.stringify(result.policy, null, 2) + '\n';
      const out = args.out as string | undefined;
      if (out) {
        const tmp = `${out}.${process.pid}.tmp`;
        writeFileSync(tmp, text, { mode: 0o644 });
        renameSync(tmp, out);
      }
      if (format === 'json') {
        printJson(ctx.io, {
          schema: 'sigward.export/v1',
          format: 'containers-policy',
          ...(out ? { out } : { policy: result.policy }),
          scopes: result.scopes,
          sigstoreScopes: result.sigstoreScopes,
          unexpressed: result.unexpressed,
        });
      } else {
        if (!out) ctx.io.stdout(text);
        const n = result.unexpressed.filter((u) => u.effect !== 'equivalent').length;
        if (n) ctx.io.stderr(`sigward export: ${n} policy feature(s) cannot be expressed in policy.json:\n`);
        for (const u of result.unexpressed) {
          const where = [u.policy, u.rule].filter(Boolean).join('/') + (u.path ? ` (${u.path})` : '');
          ctx.io.stderr(`  ${where}: ${u.feature}: ${u.detail} [${u.effect}; ${u.action}]\n`);
        }
        if (result.sigstoreScopes.length) {
          const shown = result.sigstoreScopes.map((s) => s || '(every docker image: default-docker)');
          ctx.io.stderr(
            `sigward export: containers/image reads the signatures only with use-sigstore-attachments: true in /etc/containers/registries.d for: ${
              shown.join(', ')
            }\n`,
          );
        }
        if (out) {
          ctx.io.stderr(
            `sigward export: wrote ${out} (${Object.keys(result.policy.transports.docker).length} docker scopes)\n`,
          );
        }
      }
      return 0;
    } catch (e) {
      return reportError(ctx.io, format, toSigwardError(e), 'sigward.export/v1');
    }
  },
};
