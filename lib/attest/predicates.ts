// cosign's `--type` shortcuts (cmd/cosign/cli/options/predicate.go) and the
// predicate types of new-format image signatures.

export const PREDICATE_TYPES: Record<string, string> = {
  custom: 'https://cosign.sigstore.dev/attestation/v1',
  slsaprovenance: 'https://slsa.dev/provenance/v0.2',
  slsaprovenance02: 'https://slsa.dev/provenance/v0.2',
  slsaprovenance1: 'https://slsa.dev/provenance/v1',
  link: 'https://in-toto.io/Link/v1',
  spdx: 'https://spdx.dev/Document',
  spdxjson: 'https://spdx.dev/Document',
  cyclonedx: 'https://cyclonedx.org/bom',
  vuln: 'https://cosign.sigstore.dev/attestation/vuln/v1',
  openvex: 'https://openvex.dev/ns',
};

/** predicate type of cosign v3 new-format image signatures */
export const COSIGN_SIGN_PREDICATE = 'https://sigstore.dev/cosign/sign/v1';

/** Maps a cosign shortcut to its URI; any other value is used verbatim (cosign does the same). */
export function toPredicateType(typeOrShortcut: string): string {
  return PREDICATE_TYPES[typeOrShortcut] ?? typeOrShortcut;
}
