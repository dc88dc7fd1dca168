// Verifying one image reference end to end: resolve the tag to a digest once,
// find the signatures (image repository or signature-repository override),
// verify them. The digest that was verified is the one reported (and, in the
// webhook, the one patched in).

import { SigwardError } from '../errors.ts';
import type { ImageReference } from '../reference/types.ts';
import type { OciStore, RepositoryRef, StoreFactory } from '../oci/types.ts';
export type { StoreFactory } from '../oci/types.ts';
import { type ImageSignatures, type LayerCheck, verifyImageSignatures } from './verify.ts';
import { type BundleCheck, type ImageBundles, verifyImageSignaturesWithBundles } from './bundles.ts';

export interface VerifyImageOptions {
  stores: StoreFactory;
  check: LayerCheck;
  /** `registry/repository` (or `oci:DIR`) holding the signatures instead of the image's repository */
  signatureRepository?: RepositoryRef;
  annotations?: Record<string, string>;
  signal?: AbortSignal;
  /** the clock handed to the checks (default: the real one) */
  now?: () => Date;
  /** also verify new-format Sigstore bundle signatures (OCI referrers); any valid signature of either kind passes */
  bundleCheck?: BundleCheck;
  /** with bundleCheck: Sigstore bundles only, `.sig` signatures are not read (Kyverno `type: SigstoreBundle`) */
  bundlesOnly?: boolean;
}

export interface ImageVerification extends ImageSignatures {
  reference: ImageReference;
  /** bundle signatures, when bundleCheck was given */
  bundles?: ImageBundles;
  /** why no legacy `.sig` signature verified (bundles did) */
  legacyError?: { code: string; message: string };
  /** why bundle discovery failed (legacy signatures verified) */
  bundleError?: { code: string; message: string };
}

export function toRepositoryRef(ref: ImageReference): RepositoryRef {
  return { transport: ref.transport, registry: ref.registry, repository: ref.repository };
}

/** Resolves a reference to the manifest digest that will be verified. */
export async function resolveDigest(ref: ImageReference, stores: StoreFactory, signal?: AbortSignal): Promise<string> {
  if (ref.digest) return ref.digest;
  const repo = toRepositoryRef(ref);
  const desc = await stores(repo).resolve(repo, ref.tag ?? '', { signal });
  return desc.digest;
}

export async function verifyImage(ref: ImageReference, opts: VerifyImageOptions): Promise<ImageVerification> {
  const digest = await resolveDigest(ref, opts.stores, opts.signal);
  const sigRepo = opts.signatureRepository ?? toRepositoryRef(ref);
  try {
    const input = {
      store: opts.stores(sigRepo),
      signatureRepository: sigRepo,
      digest,
      check: opts.check,
      annotations: opts.annotations,
      signal: opts.signal,
      now: opts.now,
    };
    const sigs = opts.bundleCheck
      ? await verifyImageSignaturesWithBundles({
        ...input,
        bundleCheck: opts.bundleCheck,
        bundlesOnly: opts.bundlesOnly,
      })
      : await verifyImageSignatures(input);
    return { reference: ref, ...sigs };
  } catch (e) {
    if (e instanceof SigwardError) {
      throw new SigwardError(e.code, e.message, { cause: e, outcome: e.outcome, detail: { ...e.detail, digest } });
    }
    throw e;
  }
}
