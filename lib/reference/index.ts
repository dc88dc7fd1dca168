// Image references: parsing/normalisation (Docker/distribution rules),
// formatting, Kyverno naming and matching (wildcards: lib/wildcard.ts), cosign tag names.
//
// - parseReference(s, {defaultRegistry, enableDefaultRegistryMutation, allowLayout})
//   registry refs are normalised like distribution's ParseNormalizedNamed +
//   TagNameOnly; `oci:DIR[:TAG][@DIGEST]` names a local OCI layout (no default
//   tag: the caller picks the single manifest in index.json). Images taken from
//   Kubernetes objects must be parsed with parseImageFromPodSpec (no `oci:`).
// - Kyverno matches `imageReferences` against toKyvernoMatchString(ref), which
//   follows Kyverno's own naming (no `library/`, registry as written), not
//   distribution's; patterns are literal apart from `*` and `?`. sigward also
//   matches a Docker Hub image's other spellings (toKyvernoMatchStrings), so
//   that containerd's normalised names decide as the Pod's names do.

export type { ImageReference, KyvernoImageName } from './types.ts';
export {
  DEFAULT_TAG,
  DOCKER_HUB_REGISTRY,
  isValidReference,
  isValidRegistry,
  isValidTag,
  LEGACY_DOCKER_HUB_REGISTRY,
  NAME_TOTAL_LENGTH_MAX,
  OCI_LAYOUT_PREFIX,
  OFFICIAL_REPOSITORY_PREFIX,
  parseImageFromPodSpec,
  parseReference,
} from './parse.ts';
export type { ParseReferenceOptions } from './parse.ts';
export {
  familiarName,
  familiarString,
  formatReference,
  referenceToString,
  repositoryName,
  toCosignDockerReference,
  toDigestReference,
  toTaggedReference,
} from './format.ts';
export type { FormatReferenceOptions } from './format.ts';
export {
  findMatchingPattern,
  getKyvernoImageName,
  imageVariable,
  matchesAnyPattern,
  toKyvernoDigestPatchValue,
  toKyvernoMatchString,
  toKyvernoMatchStrings,
} from './kyverno.ts';
export type { KyvernoImageVariable } from './kyverno.ts';
