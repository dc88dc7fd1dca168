// One signature check per attestor, for every storage format cosign writes:
// the legacy `.sig`/`.att` layer check and the Sigstore bundle check, built
// together from the same attestor and trust material (cosign's one
// verification loop over all formats).

import type { Trust } from '../trust/index.ts';
import { type BundleCheck, toBundleCheck } from './bundles.ts';
import { type Attestor, toLayerCheck } from './checks.ts';
import type { LayerCheck } from './verify.ts';

export interface SignatureCheck {
  /** legacy layers (simple signing / DSSE `.att`) */
  check: LayerCheck;
  /** Sigstore bundles (cosign v3, OCI referrers) */
  bundleCheck: BundleCheck;
}

export function toSignatureCheck(attestor: Attestor, trust: Trust): SignatureCheck {
  return { check: toLayerCheck(attestor, trust), bundleCheck: toBundleCheck(attestor, trust) };
}
