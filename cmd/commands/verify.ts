// `sigward verify IMAGE... --key cosign.pub`: cosign verify, offline-first.

import { SigwardError, toSigwardError } from '../../lib/errors.ts';
import { parseReference } from '../../lib/reference/index.ts';
import type { LayerCheck, SignerInfo } from '../../lib/cosign/verify.ts';
import { describeAttestor } from '../../lib/cosign/checks.ts';
import type { BundleCheck } from '../../lib/cosign/bundles.ts';
import { toSignatureCheck } from '../../lib/cosign/signature-check.ts';
import { type ImageVerification, toRepositoryRef, verifyImage } from '../../lib/cosign/image.ts';
import { signatureRepository } from '../../lib/oci/index.ts';
import type { RepositoryRef } from '../../lib/oci/types.ts';
import { printJson, reportError } from '../output.ts';
import {
  type ImageReport,
  printImageNotVerified,
  toVerifyDocument,
  toVerifyExitCode,
} from '../report/verify-report.ts';
import type { Context } from './types.ts';
import type { SigwardCommand } from './types.ts';
import { addRegistryOptions, storeFactoryFromArgs } from './registry-options.ts';
import { logsAt, parseAnnotations, repeatable } from '../flags.ts';
import { addAttestorOptions, attestorFromArgs } from './attestor-options.ts';
import { addTrustOptions, trustFromArgs } from './trust-options.ts';
import { addCosignFlags, applyCosignFlags } from '../cosign-flags.ts';

function signatureRepositoryFrom(args: Record<string, unknown>, env: Context['env']): string | undefined {
  return (args['signature-repository'] as string | undefined) ?? env.COSIGN_REPOSITORY;
}

export const verifyCommand: SigwardCommand = {
  // it logs one line per image at info, and the registry client at debug: nothing at the default level (warn)
  usesLogger: (args) => logsAt(args, 'info'),
  builder: (y) =>
    addCosignFlags(addTrustOptions(addRegistryOptions(addAttestorOptions(
      y
        .positional('images', {
          type: 'string',
          array: true,
          describe: 'image references (registry or oci:DIR[:TAG|@DIGEST])',
        })
        .option(
          'annotations',
          repeatable({
            alias: 'a',
            commas: true,
            describe: 'required payload annotation key=value (repeatable; comma-separated as in cosign)',
          }),
        )
        .option('signature-repository', {
          type: 'string',
          describe: 'repository holding the signatures (like COSIGN_REPOSITORY)',
        })
        .option('local-image', {
          type: 'boolean',
          default: false,
          describe: "each image is a directory written by 'cosign save' (or any OCI layout), as cosign --local-image",
        })
        .option('notary', {
          type: 'boolean',
          default: false,
          describe:
            'verify Notary Project (notation) signatures instead of cosign ones: trust from --certificate (repeatable) or --trust-policy',
        })
        .option('trust-policy', {
          type: 'string',
          describe: "--notary: notation's trust policy file (trustpolicy.json)",
        })
        .option('trust-store', {
          type: 'string',
          describe: "--notary: notation's trust store directory (default: truststore beside --trust-policy)",
        }),
    )))),
  handler: async (args, ctx) => {
    if (args.notary) return (await import('./verify-notary.ts')).verifyNotaryImages(args, ctx);
    const json = args.output === 'json';
    if (args['trust-policy'] !== undefined || args['trust-store'] !== undefined) {
      const err = new SigwardError(
        'CONFIG_INVALID',
        '--trust-policy and --trust-store are for Notary signatures: add --notary',
      );
      return reportError(ctx.io, json ? 'json' : 'text', err, 'sigward.verify/v1');
    }
    let check: LayerCheck;
    let bundleCheck: BundleCheck;
    let describe: string;
    let annotations: Record<string, string>;
    let sigRepo: string | undefined;
    let stores;
    try {
      for (const w of applyCosignFlags(args)) ctx.warn(w);
      const attestor = attestorFromArgs(args, ctx.env, ctx.warn);
      const trust = await trustFromArgs(args, ctx);
      ({ check, bundleCheck } = toSignatureCheck(attestor, trust));
      describe = describeAttestor(attestor);
      annotations = parseAnnotations(args.annotations as string[] | undefined);
      sigRepo = signatureRepositoryFrom(args, ctx.env);
      stores = storeFactoryFromArgs(args, ctx);
    } catch (e) {
      return reportError(ctx.io, json ? 'json' : 'text', e, 'sigward.verify/v1');
    }
    if (Boolean(args['insecure-ignore-tlog'])) ctx.warn('skipping transparency log verification');

    const results: ImageReport<ImageVerification>[] = [];
    for (const image of args.images as string[]) {
      try {
        const ref = parseReference(args['local-image'] ? toLocalImage(image) : image);
        const v = await verifyImage(ref, {
          stores,
          check,
          signatureRepository: sigRepo ? signatureRepository(toRepositoryRef(ref), sigRepo) : undefined,
          annotations,
          bundleCheck,
        });
        results.push({ image, verified: true, digest: v.digest, verification: v });
        if (logsAt(args, 'info')) {
          ctx.log.info(
            { image, digest: v.digest, signatures: v.verified.length + (v.bundles?.verified.length ?? 0) },
            'image verified',
          );
        }
      } catch (e) {
        const err = toSigwardError(e);
        results.push({ image, verified: false, digest: err.detail?.digest as string | undefined, error: err });
        if (logsAt(args, 'info')) ctx.log.info({ image, code: err.code }, 'image not verified');
      }
    }

    if (args.output === 'cosign') {
      // cosign's own output: per verified image, one line with the JSON array of its signing payloads
      for (const r of results) {
        if (r.verified && r.verification) {
          ctx.io.stdout(JSON.stringify(toCosignPayloads(r.image, r.verification)) + '\n');
        }
      }
      for (const r of results) {
        if (!r.verified) {
          ctx.io.stderr(`Error: image verification failed for ${r.image}: ${r.error?.message ?? 'unknown error'}\n`);
        }
      }
    } else if (json) {
      printJson(
        ctx.io,
        toVerifyDocument(results, (v) => ({
          signatureRepository: repoString(v.signatureRepository),
          signatures: [
            ...v.verified.map((s) => ({
              format: 'legacy',
              layer: s.layer,
              signer: s.signer,
              payload: s.payload,
            })),
            ...(v.bundles?.verified ?? []).map((b) => ({
              format: 'bundle',
              manifest: b.manifest,
              mediaType: b.mediaType,
              content: b.content,
              signer: b.signer,
              ...(b.statement ? { statement: b.statement } : {}),
            })),
          ],
          rejected: [
            ...v.rejected.map((x) => ({ format: 'legacy', ...x })),
            ...(v.bundles?.rejected ?? []).map((x) => ({ format: 'bundle', ...x })),
          ],
          ...(v.bundles?.skipped.length ? { skipped: v.bundles.skipped.map((x) => ({ format: 'bundle', ...x })) } : {}),
          ...(v.legacyError ? { legacyError: v.legacyError } : {}),
          ...(v.bundleError ? { bundleError: v.bundleError } : {}),
        })),
      );
    } else {
      for (const r of results) {
        if (r.verified && r.verification) {
          const v = r.verification;
          const bundles = v.bundles?.verified ?? [];
          const n = v.verified.length + bundles.length;
          ctx.io.stdout(
            `allow ${r.image}: verified ${v.digest} (${n} valid signature${n === 1 ? '' : 's'}${
              bundles.length ? `, ${bundles.length} in Sigstore bundle${bundles.length === 1 ? '' : 's'}` : ''
            })\n`,
          );
          ctx.io.stdout(`  The following checks were performed on each of these signatures:\n`);
          ctx.io.stdout(`    - The cosign claims were validated\n`);
          if ([...v.verified, ...bundles].some((s) => s.signer.tlog)) {
            ctx.io.stdout(`    - Existence of the claims in the transparency log was verified offline\n`);
          }
          ctx.io.stdout(`    - ${describe}\n`);
          for (const s of v.verified) ctx.io.stdout(`  ${JSON.stringify(s.payload)}\n`);
          for (const b of bundles) {
            ctx.io.stdout(
              `  bundle ${b.manifest}: ${
                b.statement ? JSON.stringify(b.statement) : `message signature over ${v.digest}`
              }\n`,
            );
          }
        } else {
          printImageNotVerified(ctx.io, r);
        }
      }
    }
    return toVerifyExitCode(results);
  },
};

function repoString(r: RepositoryRef): string {
  return r.transport === 'oci-layout' ? `oci:${r.registry}` : `${r.registry}/${r.repository}`;
}

/**
 * What `cosign verify` prints for one image (its default `-o json`): the
 * payload of each valid signature. Legacy signatures print their signed
 * payload; for a Sigstore bundle cosign prints the same shape built from the
 * statement (`critical.type` is its predicate type, `optional` the subject's
 * annotations) with the reference as the user gave it.
 */
export function toCosignPayloads(image: string, v: ImageVerification): unknown[] {
  const identity = (signer: SignerInfo) =>
    signer.identity
      ? {
        ...(signer.identity.issuer ? { Issuer: signer.identity.issuer } : {}),
        ...(signer.identity.subject ? { Subject: signer.identity.subject } : {}),
      }
      : {};
  const withIdentity = (optional: Record<string, unknown> | null | undefined, signer: SignerInfo) => {
    const extra = identity(signer);
    return Object.keys(extra).length ? { ...(optional ?? {}), ...extra } : (optional ?? null);
  };
  const out: unknown[] = v.verified.map((s) => ({
    ...s.payload,
    optional: withIdentity(s.payload.optional as Record<string, unknown> | null, s.signer),
  }));
  for (const b of v.bundles?.verified ?? []) {
    const subject = b.statement?.subject?.find((x) => `sha256:${x.digest?.sha256}` === v.digest);
    const annotations = (subject as { annotations?: Record<string, unknown> } | undefined)?.annotations;
    out.push({
      critical: {
        identity: { 'docker-reference': image },
        image: { 'docker-manifest-digest': v.digest },
        type: b.statement?.predicateType ?? 'https://sigstore.dev/cosign/sign/v1',
      },
      optional: withIdentity(annotations ?? null, b.signer),
    });
  }
  return out;
}

/** cosign --local-image: the argument is a directory (an OCI layout, as `cosign save` writes it). */
export function toLocalImage(path: string): string {
  if (path.startsWith('oci:')) return path;
  return `oci:${path}`;
}
