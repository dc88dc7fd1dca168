// `sigward tree IMAGE` and `sigward download signature|attestation IMAGE`:
// what is attached to an image, as cosign tree / cosign download show it, for
// registries and OCI layouts alike (offline). Nothing here is verified: these
// commands list and print, they never decide (exit 1 only when there is
// nothing to download, as cosign).

import { SigwardError, toSigwardError } from '../../lib/errors.ts';
import { parseReference } from '../../lib/reference/index.ts';
import type { ImageReference } from '../../lib/reference/types.ts';
import { resolveDigest, toRepositoryRef } from '../../lib/cosign/image.ts';
import { signatureRepository } from '../../lib/oci/index.ts';
import type { RepositoryRef } from '../../lib/oci/types.ts';
import { listBundles, listImageArtifacts } from '../../lib/cosign/artifacts.ts';
import { getAttachments } from '../../lib/cosign/signatures.ts';
import { ANNOTATION } from '../../lib/cosign/annotations.ts';
import { toPredicateType } from '../../lib/attest/predicates.ts';
import { printJson, reportError } from '../output.ts';
import type { Context, SigwardCommand } from './types.ts';
import { addRegistryOptions, storeFactoryFromArgs } from './registry-options.ts';
import type { Argv } from 'yargs';

function repoName(r: RepositoryRef): string {
  return r.transport === 'oci-layout' ? `oci:${r.registry}` : `${r.registry}/${r.repository}`;
}

function withImageOptions(y: Argv): Argv {
  return addRegistryOptions(
    y
      .positional('image', {
        type: 'string',
        demandOption: true,
        describe: 'image reference (registry or oci:DIR[:TAG|@DIGEST])',
      })
      .option('signature-repository', {
        type: 'string',
        describe: 'repository holding the signatures (like COSIGN_REPOSITORY)',
      }),
  );
}

async function locate(
  args: Record<string, unknown>,
  ctx: Context,
): Promise<
  { ref: ImageReference; digest: string; repo: RepositoryRef; stores: ReturnType<typeof storeFactoryFromArgs> }
> {
  const ref = parseReference(String(args.image));
  const stores = storeFactoryFromArgs(args, ctx);
  const digest = await resolveDigest(ref, stores);
  const override = (args['signature-repository'] as string | undefined) ?? ctx.env.COSIGN_REPOSITORY;
  return { ref, digest, repo: signatureRepository(toRepositoryRef(ref), override), stores };
}

export const treeCommand: SigwardCommand = {
  builder: withImageOptions,
  handler: async (args, ctx) => {
    const format = args.output === 'json' ? 'json' : 'text';
    try {
      const { digest, repo, stores } = await locate(args, ctx);
      const a = await listImageArtifacts(stores(repo), repo, digest);
      if (format === 'json') {
        printJson(ctx.io, {
          schema: 'sigward.tree/v1',
          image: String(args.image),
          digest,
          verified: false,
          signatures: { tag: a.signatures.tag, layers: a.signatures.layers.map((l) => l.descriptor.digest) },
          attestations: { tag: a.attestations.tag, layers: a.attestations.layers.map((l) => l.descriptor.digest) },
          sboms: { tag: a.sboms.tag, layers: a.sboms.layers.map((l) => l.descriptor.digest) },
          referrers: a.referrers,
        });
        return 0;
      }
      const out: string[] = [`📦 Supply Chain Security Related artifacts for an image: ${String(args.image)}`];
      const tagged: [string, string, typeof a.signatures][] = [
        ['🔐', 'Signatures', a.signatures],
        ['💾', 'Attestations', a.attestations],
        ['📦', 'SBOMs', a.sboms],
      ];
      for (const [icon, what, att] of tagged) {
        if (!att.layers.length) continue;
        out.push(`└── ${icon} ${what} for an image tag: ${repoName(repo)}:${att.tag}`);
        for (const l of att.layers) out.push(`   └── 🍒 ${l.descriptor.digest}`);
      }
      for (const r of a.referrers) {
        out.push(`└── 🔗 ${r.label} artifacts via OCI referrer: ${repoName(repo)}@${r.manifest}`);
        for (const l of r.layers) out.push(`   └── 🍒 ${l}`);
      }
      if (out.length === 1) {
        out.push(`No Supply Chain Security Related Artifacts found for image ${String(args.image)}`);
      }
      ctx.io.stdout(out.join('\n') + '\n');
      return 0;
    } catch (e) {
      return reportError(ctx.io, format, toSigwardError(e), 'sigward.tree/v1');
    }
  },
};

export const downloadCommand: SigwardCommand = {
  builder: (y) =>
    withImageOptions(
      y
        .positional('what', {
          choices: ['signature', 'attestation'] as const,
          demandOption: true,
          describe: 'what to print: signature or attestation',
        })
        .option('predicate-type', {
          type: 'string',
          describe: 'attestation: only this predicate type (cosign shortcut or URI)',
        }),
    ),
  handler: async (args, ctx) => {
    try {
      const { digest, repo, stores } = await locate(args, ctx);
      const store = stores(repo);
      const what = args.what as 'signature' | 'attestation';
      const want = args['predicate-type'] ? toPredicateType(String(args['predicate-type'])) : undefined;
      const lines: string[] = [];
      // cosign 3: the Sigstore bundles when the image has any, else the legacy tag's layers
      const bundles = await listBundles(store, repo, digest);
      if (bundles.length) {
        for (const b of bundles) {
          const type = b.annotations['dev.sigstore.bundle.predicateType'];
          if (want && type !== want) continue;
          lines.push(JSON.stringify(JSON.parse(Buffer.from(b.bundle!).toString('utf8'))));
        }
      } else if (what === 'signature') {
        for (const l of (await getAttachments(store, repo, digest, 'sig')).layers) {
          if (!l.payload) continue;
          const a = l.annotations;
          const json = (s: string | undefined) => (s ? JSON.parse(s) : null);
          lines.push(
            JSON.stringify({
              Base64Signature: a[ANNOTATION.signature] ?? '',
              Payload: Buffer.from(l.payload).toString('base64'),
              Cert: a[ANNOTATION.certificate] || null,
              Chain: a[ANNOTATION.chain] || null,
              Bundle: json(a[ANNOTATION.bundle]),
              RFC3161Timestamp: json(a[ANNOTATION.rfc3161]),
            }),
          );
        }
      } else {
        for (const l of (await getAttachments(store, repo, digest, 'att')).layers) {
          if (!l.payload) continue;
          if (want && l.annotations.predicateType !== want) continue;
          // as cosign prints a DSSE envelope: payloadType, payload, signatures with their keyid ('' when none)
          const env = JSON.parse(Buffer.from(l.payload).toString('utf8')) as {
            payloadType?: unknown;
            payload?: unknown;
            signatures?: { keyid?: unknown; sig?: unknown }[];
          };
          lines.push(
            JSON.stringify({
              payloadType: env.payloadType,
              payload: env.payload,
              signatures: (env.signatures ?? []).map((s) => ({ keyid: s.keyid ?? '', sig: s.sig })),
            }),
          );
        }
      }
      // as cosign 3: an image with bundles prints the matching ones, possibly none, and succeeds
      if (!lines.length && !bundles.length) {
        const msg = what === 'signature'
          ? 'no signatures associated'
          : want
          ? `no attestations with predicate type '${want}' found`
          : 'no attestations associated';
        throw new SigwardError(
          what === 'signature' ? 'SIGNATURE_NOT_FOUND' : 'ATTESTATION_NOT_FOUND',
          `${String(args.image)}: ${msg}`,
        );
      }
      ctx.io.stdout(lines.join('\n') + '\n');
      return 0;
    } catch (e) {
      return reportError(ctx.io, 'text', toSigwardError(e));
    }
  },
};
