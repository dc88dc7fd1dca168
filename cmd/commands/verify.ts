// `sigward verify IMAGE... --key cosign.pub`: cosign verify, offline-first.

import { readFileSync } from 'node:fs';
import { SigwardError, EXIT_CODES, toSigwardError, type Outcome } from '../../lib/errors.ts';
import { parseReference } from '../../lib/reference/index.ts';
import { toKeyCheck, type LayerCheck } from '../../lib/cosign/verify.ts';
import { verifyImage, type ImageVerification } from '../../lib/cosign/image.ts';
import { parsePublicKeys, type HashAlgorithm } from '../../lib/cosign/keys.ts';
import type { RepositoryRef } from '../../lib/oci/types.ts';
import { errorToJson, printJson } from '../output.ts';
import type { Context } from '../cli.ts';
import type { SigwardCommand } from './types.ts';
import { addRegistryOptions, storeFactoryFromArgs } from './registry-options.ts';

function parseAnnotations(list: string[] | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const a of list ?? []) {
    const i = a.indexOf('=');
    if (i <= 0) throw new SigwardError('CONFIG_INVALID', `invalid annotation "${a}": expected key=value`);
    out[a.slice(0, i)] = a.slice(i + 1);
  }
  return out;
}

/** Reads a key argument: a file path, or PEM text given inline. */
export function readKeyArg(arg: string, what = 'key'): string {
  if (arg.includes('-----BEGIN')) return arg;
  if (/^(awskms|gcpkms|azurekms|hashivault|k8s|env):\/\//.test(arg)) {
    throw new SigwardError('CONFIG_INVALID', `${what} ${arg} cannot be resolved offline: give a PEM public key file`);
  }
  try {
    return readFileSync(arg, 'utf8');
  } catch (e) {
    throw new SigwardError('CONFIG_INVALID', `cannot read ${what} file ${arg}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, { cause: e });
  }
}

function signatureRepositoryFrom(args: Record<string, unknown>, env: Context['env']): RepositoryRef | undefined {
  const value = (args['signature-repository'] as string | undefined) ?? env.COSIGN_REPOSITORY;
  if (!value) return undefined;
  const ref = parseReference(value.includes(':') && !value.startsWith('oci:') && /:[^/]*$/.test(value) ? value : value);
  return { transport: ref.transport, registry: ref.registry, repository: ref.repository };
}

export function buildCheck(args: Record<string, unknown>): { check: LayerCheck; describe: string } {
  const ignoreTlog = Boolean(args['insecure-ignore-tlog']);
  if (typeof args.key === 'string') {
    const keys = parsePublicKeys(readKeyArg(args.key), `key ${args.key}`);
    return {
      check: toKeyCheck(keys, { ignoreTlog, hash: (args['signature-digest-algorithm'] as HashAlgorithm) ?? 'sha256' }),
      describe: 'The signatures were verified against the specified public key',
    };
  }
  throw new SigwardError('CONFIG_INVALID', 'a verification method is required: --key (key-based) or --certificate-identity with --certificate-oidc-issuer (keyless)');
}

interface ImageResult {
  image: string;
  verified: boolean;
  digest?: string;
  verification?: ImageVerification;
  error?: SigwardError;
}

function worst(outcomes: (Outcome | 'ok')[]): number {
  // usage errors first, then "could not decide", then denials
  for (const o of ['usage', 'undecided', 'deny'] as const) if (outcomes.includes(o)) return EXIT_CODES[o];
  return 0;
}

export const verifyCommand: SigwardCommand = {
  command: 'verify <images..>',
  describe: 'verify cosign signatures of images in a registry or an OCI layout (oci:DIR[:TAG])',
  builder: (y) =>
    addRegistryOptions(
      y
        .positional('images', { type: 'string', array: true, describe: 'image references (registry or oci:DIR[:TAG|@DIGEST])' })
        .option('key', { type: 'string', describe: 'public key file (PEM; several PEM blocks = any of them)' })
        .option('annotations', { alias: 'a', type: 'array', string: true, describe: 'required payload annotation key=value (repeatable)' })
        .option('signature-repository', { type: 'string', describe: 'repository holding the signatures (like COSIGN_REPOSITORY)' })
        .option('signature-digest-algorithm', { choices: ['sha224', 'sha256', 'sha384', 'sha512'] as const, default: 'sha256', describe: 'hash used for key-based signatures' })
        .option('insecure-ignore-tlog', { type: 'boolean', default: false, describe: 'do not require a Rekor transparency log entry' })
        .option('insecure-ignore-sct', { type: 'boolean', default: false, describe: 'do not require a certificate transparency SCT (keyless)' }),
    ),
  handler: async (args, ctx) => {
    const json = args.output === 'json';
    let check: LayerCheck;
    let describe: string;
    let annotations: Record<string, string>;
    let sigRepo: RepositoryRef | undefined;
    let stores;
    try {
      ({ check, describe } = buildCheck(args));
      annotations = parseAnnotations(args.annotations as string[] | undefined);
      sigRepo = signatureRepositoryFrom(args, ctx.env);
      stores = storeFactoryFromArgs(args, ctx);
    } catch (e) {
      const err = toSigwardError(e);
      if (json) printJson(ctx.io, { schema: 'sigward.verify/v1', verified: false, error: errorToJson(err) });
      else ctx.io.stderr(`Error: ${err.message}\n`);
      return EXIT_CODES[err.outcome];
    }
    if (Boolean(args['insecure-ignore-tlog'])) ctx.io.stderr('WARNING: skipping transparency log verification\n');

    const results: ImageResult[] = [];
    for (const image of args.images as string[]) {
      try {
        const ref = parseReference(image);
        const v = await verifyImage(ref, { stores, check, signatureRepository: sigRepo, annotations });
        results.push({ image, verified: true, digest: v.digest, verification: v });
        ctx.log.info({ image, digest: v.digest, signatures: v.verified.length }, 'image verified');
      } catch (e) {
        const err = toSigwardError(e);
        results.push({ image, verified: false, digest: err.detail?.digest as string | undefined, error: err });
        ctx.log.info({ image, code: err.code }, 'image not verified');
      }
    }

    if (json) {
      printJson(ctx.io, {
        schema: 'sigward.verify/v1',
        verified: results.every((r) => r.verified),
        images: results.map((r) => ({
          image: r.image,
          verified: r.verified,
          ...(r.digest ? { digest: r.digest } : {}),
          ...(r.verification
            ? {
                signatureRepository: repoString(r.verification.signatureRepository),
                signatures: r.verification.verified.map((s) => ({ layer: s.layer, signer: s.signer, payload: s.payload })),
                rejected: r.verification.rejected,
              }
            : {}),
          ...(r.error ? { error: errorToJson(r.error) } : {}),
        })),
      });
    } else {
      for (const r of results) {
        if (r.verified && r.verification) {
          const v = r.verification;
          ctx.io.stdout(`allow ${r.image}: verified ${v.digest} (${v.verified.length} valid signature${v.verified.length === 1 ? '' : 's'})\n`);
          ctx.io.stdout(`  The following checks were performed on each of these signatures:\n`);
          ctx.io.stdout(`    - The cosign claims were validated\n`);
          if (v.verified.some((s) => s.signer.tlog)) ctx.io.stdout(`    - Existence of the claims in the transparency log was verified offline\n`);
          ctx.io.stdout(`    - ${describe}\n`);
          for (const s of v.verified) ctx.io.stdout(`  ${JSON.stringify(s.payload)}\n`);
        } else {
          ctx.io.stdout(`deny ${r.image}: image verification failed for ${r.image}: ${r.error?.message ?? 'unknown error'}\n`);
        }
      }
    }
    return worst(results.map((r) => (r.verified ? 'ok' : r.error!.outcome)));
  },
};

function repoString(r: RepositoryRef): string {
  return r.transport === 'oci-layout' ? `oci:${r.registry}` : `${r.registry}/${r.repository}`;
}
