// `sigward trust show|export|init`: what sigward trusts, and preparing trust
// material for air-gapped clusters.
//   show               summary of the effective trusted root (embedded public-good
//                      root by default; --trusted-root / cosign env overrides / TUF)
//   export [--out F]   the effective trusted_root.json (stdout without --out)
//   init --mirror DIR  DIR/trusted_root.json (+ DIR/root.json, the TUF root
//                      sigward embeds) and how to point sigward at it

import { mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import seeds from '@sigstore/tuf/seeds.json' with { type: 'json' };
import { TrustedRoot as TrustedRootCodec } from '@sigstore/protobuf-specs';
import { EXIT_CODES, SigwardError } from '../../lib/errors.ts';
import { type Trust, type TrustedRootSummary, trustedRootSummary } from '../../lib/trust/index.ts';
import { PUBLIC_GOOD_MIRROR } from '../../lib/trust/embedded/public-good.ts';
import { printJson, reportError } from '../output.ts';
import type { Io } from '../output.ts';
import { addTrustOptions, trustFromArgs } from './trust-options.ts';
import type { SigwardCommand } from './types.ts';
import { writeFileAtomic } from '../files.ts';

/** trusted_root.json text of a loaded trust (proto-JSON, the format every Sigstore client reads). */
export function toTrustedRootJSON(trust: Trust): string {
  return JSON.stringify(TrustedRootCodec.toJSON(trust.root), null, 2) + '\n';
}

/** The TUF root.json sigward embeds for the public-good repository (from @sigstore/tuf's seeds). */
export function getEmbeddedTUFRoot(): { mirror: string; json: string; version?: number; expires?: string } {
  const b64 = (seeds as Record<string, Record<string, unknown>>)[PUBLIC_GOOD_MIRROR]?.['root.json'];
  if (typeof b64 !== 'string') throw new SigwardError('INTERNAL', '@sigstore/tuf seeds.json has no root.json');
  const json = Buffer.from(b64, 'base64').toString('utf8');
  let signed: { version?: number; expires?: string } = {};
  try {
    signed = (JSON.parse(json) as { signed?: typeof signed }).signed ?? {};
  } catch {
    // reported without version
  }
  return { mirror: PUBLIC_GOOD_MIRROR, json, version: signed.version, expires: signed.expires };
}

/** Trust material sigward writes is world-readable (0644), in a folder made if missing. */
function writeTrustFile(path: string, text: string): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileAtomic(path, text, 0o644);
}

const validity = (v: { start?: string; end?: string }) => `valid ${v.start ?? '(always)'} .. ${v.end ?? 'open'}`;

function printSummary(io: Io, s: TrustedRootSummary, sources: string[]): void {
  const out: string[] = [];
  out.push(`Trusted root: ${sources.join(' + ') || '(unknown source)'}`);
  out.push(`Media type:   ${s.mediaType}`);
  out.push(`Certificate authorities (Fulcio): ${s.certificateAuthorities.length}`);
  for (const ca of s.certificateAuthorities) {
    out.push(`  - ${ca.subject || '(no subject)'}${ca.uri ? `  ${ca.uri}` : ''}  ${validity(ca.validFor)}`);
    for (const c of ca.chain) out.push(`      ${c.subject}  (${c.notBefore} .. ${c.notAfter})`);
  }
  const logs = (title: string, list: TrustedRootSummary['tlogs']) => {
    out.push(`${title}: ${list.length}`);
    for (const l of list) {
      out.push(`  - ${l.baseUrl || '(no URL)'}  log id ${l.logId}  ${l.keyType}  ${validity(l.validFor)}`);
    }
  };
  logs('Transparency logs (Rekor)', s.tlogs);
  logs('Certificate transparency logs', s.ctlogs);
  out.push(`Timestamp authorities: ${s.timestampAuthorities.length}`);
  for (const ca of s.timestampAuthorities) {
    out.push(`  - ${ca.subject || '(no subject)'}${ca.uri ? `  ${ca.uri}` : ''}  ${validity(ca.validFor)}`);
  }
  io.stdout(out.join('\n') + '\n');
}

export const trustCommand: SigwardCommand = {
  builder: (y) =>
    addTrustOptions(
      y
        .positional('action', {
          choices: ['show', 'export', 'init'] as const,
          describe: 'show the trusted root, export it as trusted_root.json, or prepare a mirror directory',
        })
        .option('out', { type: 'string', describe: 'export: file to write (default: stdout)' })
        .option('mirror', { type: 'string', describe: 'init: directory to prepare for offline use' }),
    ),
  handler: async (args, ctx) => {
    const format = args.output === 'json' ? 'json' : 'text';
    try {
      const action = args.action as 'show' | 'export' | 'init';
      if (action === 'init' && typeof args.mirror !== 'string') {
        throw new SigwardError('CONFIG_INVALID', 'trust init needs --mirror DIR');
      }
      if (action !== 'init' && args.mirror !== undefined) {
        throw new SigwardError('CONFIG_INVALID', `--mirror is only used by "trust init"`);
      }
      if (action !== 'export' && args.out !== undefined) {
        throw new SigwardError('CONFIG_INVALID', `--out is only used by "trust export"`);
      }
      const trust = await trustFromArgs(args, ctx);

      if (action === 'show') {
        const summary = trustedRootSummary(trust.root);
        if (format === 'json') printJson(ctx.io, { schema: 'sigward.trust/v1', sources: trust.sources, ...summary });
        else printSummary(ctx.io, summary, trust.sources);
        return EXIT_CODES.ok;
      }

      if (action === 'export') {
        const text = toTrustedRootJSON(trust);
        if (typeof args.out !== 'string') {
          ctx.io.stdout(text);
          return EXIT_CODES.ok;
        }
        const out = resolve(args.out);
        writeTrustFile(out, text);
        if (format === 'json') {
          printJson(ctx.io, { schema: 'sigward.trust-export/v1', path: out, sources: trust.sources });
        } else ctx.io.stderr(`Wrote ${out} (${trust.sources.join(' + ')})\n`);
        return EXIT_CODES.ok;
      }

      // init --mirror DIR
      const dir = resolve(String(args.mirror));
      const trustedRootPath = join(dir, 'trusted_root.json');
      writeTrustFile(trustedRootPath, toTrustedRootJSON(trust));
      const files = [{ path: trustedRootPath, what: `trusted root (${trust.sources.join(' + ')})` }];
      const tuf = getEmbeddedTUFRoot();
      const tufRootPath = join(dir, 'root.json');
      writeTrustFile(tufRootPath, tuf.json);
      files.push({
        path: tufRootPath,
        what: `TUF root of ${tuf.mirror} (version ${tuf.version ?? '?'}, expires ${
          tuf.expires ?? '?'
        }), for --tuf-root when a mirror is reachable`,
      });
      const usage = [
        `sigward verify IMAGE --trusted-root ${trustedRootPath} --certificate-identity ID --certificate-oidc-issuer URL`,
        `sigward verify-bundle --trusted-root ${trustedRootPath} --bundle FILE --certificate-identity ID --certificate-oidc-issuer URL ARTIFACT`,
      ];
      if (format === 'json') {
        printJson(ctx.io, {
          schema: 'sigward.trust-init/v1',
          directory: dir,
          trustedRoot: trustedRootPath,
          tufRoot: tufRootPath,
          sources: trust.sources,
          usage,
        });
      } else {
        const lines = [
          ...files.map((f) => `Wrote ${f.path}: ${f.what}`),
          '',
          'Copy this directory to the air-gapped machine and point sigward at the trusted root:',
          ...usage.map((u) => `  ${u}`),
          '',
          'Nothing is fetched at verification time. To refresh, run `sigward trust export --out trusted_root.json`',
          'on a connected machine (add --tuf-mirror https://tuf-repo-cdn.sigstore.dev for the latest root) and copy it over.',
        ];
        ctx.io.stdout(lines.join('\n') + '\n');
      }
      return EXIT_CODES.ok;
    } catch (e) {
      return reportError(ctx.io, format, e, 'sigward.trust/v1');
    }
  },
};
