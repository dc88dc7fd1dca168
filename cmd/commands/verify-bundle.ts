// `sigward verify-bundle`: verifies one Sigstore bundle over a file or a
// digest, following the sigstore-conformance CLI protocol:
//   verify-bundle [--staging] --bundle FILE
//     (--certificate-identity I --certificate-oidc-issuer U | --key K)
//     [--trusted-root FILE] FILE_OR_DIGEST
// FILE_OR_DIGEST is a digest when it is `sha256:` + 64 or `sha512:` + 128 hex
// digits and not an existing path; otherwise it is a file path. Exit 0 verified, 1 not
// verified, 2 usage.

import { existsSync, readFileSync, statSync } from 'node:fs';
import { EXIT_CODES, SigwardError, toSigwardError } from '../../lib/errors.ts';
import {
  type IdentityPolicy,
  type SignerPolicy,
  validateIdentityPolicy,
  type VerifiedSignature,
  verifyBundle,
} from '../../lib/trust/index.ts';
import { errorToJson, printJson } from '../output.ts';
import { addIdentityOptions, readKeyArg, warnUnanchoredFlags, WORKFLOW_FLAGS } from './attestor-options.ts';
import { addTrustOptions, trustFromArgs } from './trust-options.ts';
import type { SigwardCommand } from './types.ts';
import { toFileError } from '../files.ts';

const DIGEST_RE = /^(?:sha256:[0-9a-fA-F]{64}|sha512:[0-9a-fA-F]{128})$/;

export type ArtifactInput = { $case: 'digest'; digest: string } | { $case: 'file'; path: string; bytes: Uint8Array };

/** The protocol's FILE_OR_DIGEST rule. Throws CONFIG_INVALID for an unreadable file. */
export function toArtifactInput(arg: string, exists: (p: string) => boolean = existsSync): ArtifactInput {
  if (DIGEST_RE.test(arg) && !exists(arg)) return { $case: 'digest', digest: arg.toLowerCase() };
  try {
    if (!statSync(arg).isFile()) throw new Error('not a regular file');
    return { $case: 'file', path: arg, bytes: readFileSync(arg) };
  } catch (e) {
    throw toFileError(`cannot read artifact ${arg}`, e);
  }
}

function policyFromArgs(args: Record<string, unknown>, env: Record<string, string | undefined>): SignerPolicy {
  const str = (k: string) => (typeof args[k] === 'string' ? (args[k] as string) : undefined);
  const identity: IdentityPolicy = {
    ...(str('certificate-identity') !== undefined ? { subject: str('certificate-identity') } : {}),
    ...(str('certificate-identity-regexp') !== undefined ? { subjectRegExp: str('certificate-identity-regexp') } : {}),
    ...(str('certificate-oidc-issuer') !== undefined ? { issuer: str('certificate-oidc-issuer') } : {}),
    ...(str('certificate-oidc-issuer-regexp') !== undefined
      ? { issuerRegExp: str('certificate-oidc-issuer-regexp') }
      : {}),
  };
  const extensions: Record<string, string> = {};
  for (const [flag, name] of Object.entries(WORKFLOW_FLAGS)) if (str(flag) !== undefined) extensions[name] = str(flag)!;
  if (Object.keys(extensions).length) identity.extensions = extensions;
  const hasIdentity = Object.keys(identity).length > 0;
  const key = str('key');
  if (key !== undefined) {
    if (hasIdentity) {
      throw new SigwardError('CONFIG_INVALID', '--key cannot be combined with certificate identity flags');
    }
    return { publicKey: readKeyArg(key, 'key', env) };
  }
  const hasSubject = identity.subject !== undefined || identity.subjectRegExp !== undefined;
  const hasIssuer = identity.issuer !== undefined || identity.issuerRegExp !== undefined;
  if (!hasSubject || !hasIssuer) {
    throw new SigwardError(
      'CONFIG_INVALID',
      'give --certificate-identity (or -regexp) with --certificate-oidc-issuer (or -regexp), or --key',
    );
  }
  validateIdentityPolicy(identity);
  return identity;
}

function readBundle(path: string): Uint8Array {
  try {
    return readFileSync(path);
  } catch (e) {
    throw toFileError(`cannot read bundle ${path}`, e);
  }
}

function toResultJSON(v: VerifiedSignature): Record<string, unknown> {
  const id = v.signer.identity;
  return {
    signer: {
      ...(id ? { subject: id.san, subjectType: id.sanType, issuer: id.issuer, extensions: id.extensions } : {}),
      keyId: v.signer.keyId,
    },
    ...(v.tlogIndex !== undefined
      ? { tlog: { logIndex: v.tlogIndex, integratedTime: v.integratedTime?.toISOString() } }
      : {}),
    timestamps: v.timestamps.map((t) => ({ source: t.source, time: t.time.toISOString() })),
    ...(v.payloadType !== undefined ? { payloadType: v.payloadType } : {}),
    ...(v.statement ? { predicateType: v.statement.predicateType, subject: v.statement.subject } : {}),
  };
}

export const verifyBundleCommand: SigwardCommand = {
  builder: (y) =>
    addTrustOptions(
      addIdentityOptions(y)
        .positional('artifact', {
          type: 'string',
          describe: 'file path, or sha256:<64 hex> / sha512:<128 hex> digest (when not an existing path)',
        })
        .option('bundle', { type: 'string', demandOption: true, describe: 'Sigstore bundle JSON file' })
        .option('key', {
          type: 'string',
          describe: 'public key (PEM file, env://VAR or k8s://ns/name) for key-signed bundles',
        })
        .option('staging', {
          type: 'boolean',
          default: false,
          describe: 'Sigstore staging (needs --trusted-root: only the public-good root is embedded)',
        })
        .option('insecure-ignore-tlog', {
          type: 'boolean',
          default: false,
          describe: 'do not require a transparency log entry (keyless then needs an RFC 3161 timestamp)',
        })
        .option('insecure-ignore-sct', {
          type: 'boolean',
          default: false,
          describe: 'do not require a certificate transparency SCT',
        }),
    ),
  handler: async (args, ctx) => {
    const json = args.output === 'json';
    const artifactArg = String(args.artifact ?? '');
    let input: ArtifactInput | undefined;
    try {
      if (args.staging && typeof args['trusted-root'] !== 'string') {
        throw new SigwardError(
          'CONFIG_INVALID',
          '--staging: the staging trusted root is not embedded; give --trusted-root FILE (e.g. from the staging TUF repository)',
        );
      }
      const policy = policyFromArgs(args, ctx.env);
      warnUnanchoredFlags(args, ctx.warn);
      const bundle = readBundle(String(args.bundle));
      input = toArtifactInput(artifactArg);
      const trust = await trustFromArgs(args, ctx);
      const v = verifyBundle(bundle, {
        trust,
        policy,
        ...(input.$case === 'digest' ? { digest: input.digest } : { artifact: input.bytes }),
        ignoreTlog: Boolean(args['insecure-ignore-tlog']),
        ignoreSCT: Boolean(args['insecure-ignore-sct']),
      });
      if (json) {
        printJson(ctx.io, {
          schema: 'sigward.verify-bundle/v1',
          verified: true,
          ...(input.$case === 'digest' ? { digest: input.digest } : { artifact: input.path }),
          ...toResultJSON(v),
        });
      } else {
        const id = v.signer.identity;
        const who = id ? `${id.san ?? '(no SAN)'} (issuer ${id.issuer ?? 'none'})` : `key ${v.signer.keyId}`;
        ctx.io.stdout(`OK: ${input.$case === 'digest' ? input.digest : input.path}: bundle verified, signed by ${who}`);
        ctx.io.stdout(
          v.tlogIndex !== undefined
            ? `, transparency log index ${v.tlogIndex} at ${v.integratedTime?.toISOString()}\n`
            : '\n',
        );
      }
      return EXIT_CODES.ok;
    } catch (e) {
      const err = toSigwardError(e);
      if (json) {
        printJson(ctx.io, {
          schema: 'sigward.verify-bundle/v1',
          verified: false,
          ...(input ? (input.$case === 'digest' ? { digest: input.digest } : { artifact: input.path }) : {}),
          error: errorToJson(err),
        });
      } else if (err.outcome === 'deny') {
        ctx.io.stdout(`FAIL: ${artifactArg}: ${err.message}\n`);
      } else {
        ctx.io.stderr(`Error: ${err.message}\n`);
      }
      // the protocol knows success (0) and failure; keep 2 for usage, 3 for could-not-decide
      return EXIT_CODES[err.outcome];
    }
  },
};
