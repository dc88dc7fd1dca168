// Layer annotation keys cosign writes on `.sig` / `.att` layers.

export const ANNOTATION = {
  signature: 'dev.cosignproject.cosign/signature',
  certificate: 'dev.sigstore.cosign/certificate',
  chain: 'dev.sigstore.cosign/chain',
  bundle: 'dev.sigstore.cosign/bundle',
  rfc3161: 'dev.sigstore.cosign/rfc3161timestamp',
  predicateType: 'predicateType',
} as const;

/** cosign refuses attachment layers above this size (COSIGN_MAX_ATTACHMENT_SIZE). */
export const MAX_ATTACHMENT_BYTES = 128 * 1024 * 1024;

/** At most this many signature layers are examined per image (a registry cannot make us loop forever). */
export const MAX_SIGNATURE_LAYERS = 256;
