// Image references as Docker/distribution normalises them.
// `nginx` -> { registry: 'docker.io', repository: 'library/nginx', tag: 'latest' }

export interface ImageReference {
  /** 'registry' for a registry reference, 'oci-layout' for `oci:DIR[:TAG|@DIGEST]` */
  transport: 'registry' | 'oci-layout';
  /** registry host[:port], normalised (`docker.io` for Docker Hub); for layouts: the directory path */
  registry: string;
  /** repository path without registry (`library/nginx`); for layouts: '' */
  repository: string;
  /** tag, when given (or defaulted to `latest` when neither tag nor digest was given) */
  tag?: string;
  /** `sha256:<hex>` when given */
  digest?: string;
  /** the string the user wrote */
  original: string;
  /**
   * How Kyverno's `GetImageInfo` sees this reference (registry references only).
   * Kyverno does not apply distribution's normalisation: the registry stays as
   * written (`index.docker.io` is kept) or is the ConfigMap `defaultRegistry`
   * (or '' when `enableDefaultRegistryMutation` is false and it was defaulted),
   * and the path has no `library/` prefix (`nginx` -> path `nginx`).
   * Absent: the Kyverno helpers fall back to `registry`/`repository`.
   */
  kyverno?: KyvernoImageName;
}

export interface KyvernoImageName {
  registry: string;
  path: string;
}
