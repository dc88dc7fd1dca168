// Verifying one image reference end to end: resolve the tag to a digest once,
// find the signatures (image repository or signature-repository override),
// verify them. The digest that was verified is the one reported (and, in the
// webhook, the one patched in).

import { SigwardError } from '../errors.ts';
import type { ImageReference } from '../reference/types.ts';
import type { OciStore, RepositoryRef } from '../oci/types.ts';
import { verifyImageSignatures, type ImageSignatures, type LayerCheck } from './verify.ts';

export type StoreFactory = (repo: RepositoryRef) => OciStore;

export interface VerifyImageOptions {
  stores: StoreFactory;
  check: LayerCheck;
  /** `registry/repository` (or `oci:DIR`) holding the signatures instead of the image's repository */
  signatureRepository?: RepositoryRef;
  annotations?: Record<string, string>;
  signal?: AbortSignal;
}

export interface ImageVerification extends ImageSignatures {
  reference: ImageReference;
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
    const sigs = await verifyImageSignatures({
      store: opts.stores(sigRepo),
      signatureRepository: sigRepo,
      digest,
      check: opts.check,
      annotations: opts.annotations,
      signal: opts.signal,
    });
    return { reference: ref, ...sigs };
  } catch (e) {
    if (e instanceof SigwardError) {
      throw new SigwardError(e.code, e.message, { cause: e, outcome: e.outcome, detail: { ...e.detail, digest } });
    }
    throw e;
  }
}
