// Parsing and normalising image references the way Docker/distribution does
// (`reference.ParseNormalizedNamed` followed by `reference.TagNameOnly`), plus
// sigward's `oci:DIR[:TAG][@DIGEST]` form for local OCI image layouts.
//
// Grammar (distribution/reference):
//   reference  := name [ ":" tag ] [ "@" digest ]
//   name       := [domain "/"] path-component ["/" path-component]*
//   domain     := host [":" port] ; host = dns labels joined by "." | "[" ipv6 "]"
//   path-comp  := [a-z0-9]+ ( ( [._] | "__" | "-"+ ) [a-z0-9]+ )*
//   tag        := [\w][\w.-]{0,127}
//   digest     := algorithm ":" hex
//
// Normalisation: the first path component is the registry when it contains
// "." or ":", is "localhost", or has an uppercase letter; otherwise the
// registry is docker.io (or `defaultRegistry`). `index.docker.io` becomes
// `docker.io`; single-component Docker Hub names get `library/`. A reference
// with neither tag nor digest gets the tag `latest`; a digest-only reference
// gets no tag. `registry-1.docker.io` is NOT rewritten (distribution keeps it).

import { SigwardError } from '../errors.ts';
import { clip, getDigestError } from '../digest.ts';
import type { ImageReference, KyvernoImageName } from './types.ts';

export const DOCKER_HUB_REGISTRY = 'docker.io';
export const LEGACY_DOCKER_HUB_REGISTRY = 'index.docker.io';
export const OFFICIAL_REPOSITORY_PREFIX = 'library/';
export const DEFAULT_TAG = 'latest';
/** distribution's NameTotalLengthMax: `registry/repository` may not be longer. */
export const NAME_TOTAL_LENGTH_MAX = 255;
export const OCI_LAYOUT_PREFIX = 'oci:';

const PATH_COMPONENT_RE = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const DOMAIN_LABEL_RE = /^[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?$/;
const PORT_RE = /^[0-9]+$/;
const IPV6_RE = /^[a-fA-F0-9:]+$/;
const TAG_RE = /^[\w][\w.-]{0,127}$/;
const IDENTIFIER_RE = /^[a-f0-9]{64}$/;

export interface ParseReferenceOptions {
  /**
   * Kyverno ConfigMap `defaultRegistry`: the registry used for names without
   * one (default `docker.io`). May carry a path prefix (`registry.example.com/mirror`,
   * Kyverno 1.18+). `library/` is only added for Docker Hub.
   */
  defaultRegistry?: string;
  /**
   * Kyverno ConfigMap `enableDefaultRegistryMutation` (default true). When false,
   * Kyverno leaves the registry empty for names written without one; this only
   * affects the `kyverno` view (matching, `image` variable), never `registry`.
   */
  enableDefaultRegistryMutation?: boolean;
  /**
   * Accept `oci:DIR[:TAG][@DIGEST]` (default true). Pass false for images that
   * come from Kubernetes objects: there `oci:foo` is the Docker Hub image
   * `docker.io/library/oci:foo`, and a pod must never point sigward at local paths.
   */
  allowLayout?: boolean;
}

function invalid(s: string, reason: string): SigwardError {
  return new SigwardError('REFERENCE_INVALID', `invalid image reference ${JSON.stringify(clip(s))}: ${reason}`, {
    detail: { reference: clip(s), reason },
  });
}

/** True when `d` is a valid `host[:port]` (DNS name, IPv4 or `[IPv6]`) as distribution accepts it. */
export function isValidRegistry(d: string): boolean {
  let host = d;
  if (d.startsWith('[')) {
    const end = d.indexOf(']');
    if (end < 0 || !IPV6_RE.test(d.slice(1, end))) return false;
    const rest = d.slice(end + 1);
    return rest === '' || (rest.startsWith(':') && PORT_RE.test(rest.slice(1)));
  }
  const colon = d.indexOf(':');
  if (colon >= 0) {
    if (!PORT_RE.test(d.slice(colon + 1))) return false;
    host = d.slice(0, colon);
  }
  return host !== '' && host.split('.').every((label) => DOMAIN_LABEL_RE.test(label));
}

/** True when `tag` is a valid tag: `[\w][\w.-]{0,127}`. */
export function isValidTag(tag: string): boolean {
  return TAG_RE.test(tag);
}

/** distribution's rule for "is the first path component a registry?" */
function looksLikeRegistry(component: string): boolean {
  return (
    component.includes('.') || component.includes(':') || component === 'localhost' ||
    component.toLowerCase() !== component
  );
}

interface DefaultRegistry {
  /** host[:port] as configured */
  host: string;
  /** path prefix ('' when none), without slashes at either end */
  prefix: string;
}

function toDefaultRegistry(value: string | undefined): DefaultRegistry {
  if (value === undefined || value === '') return { host: DOCKER_HUB_REGISTRY, prefix: '' };
  const trimmed = value.replace(/\/+$/, '');
  const slash = trimmed.indexOf('/');
  const host = slash < 0 ? trimmed : trimmed.slice(0, slash);
  const prefix = slash < 0 ? '' : trimmed.slice(slash + 1);
  if (!isValidRegistry(host) || (prefix !== '' && !prefix.split('/').every((c) => PATH_COMPONENT_RE.test(c)))) {
    throw new SigwardError(
      'CONFIG_INVALID',
      `invalid defaultRegistry ${JSON.stringify(clip(value))}: expected host[:port][/path]`,
      {
        detail: { defaultRegistry: clip(value) },
      },
    );
  }
  return { host, prefix };
}

/**
 * Parses and normalises an image reference. Throws SigwardError
 * REFERENCE_INVALID (`invalid image reference "X": <reason>`).
 *
 * `oci:DIR`, `oci:DIR:TAG`, `oci:DIR@DIGEST` (and `oci:DIR:TAG@DIGEST`) name an
 * OCI image layout directory: transport 'oci-layout', registry = DIR exactly
 * as written, repository ''. The tag is what follows the LAST ':' when that is
 * a valid tag (so it never contains '/'); otherwise the ':' belongs to DIR.
 * A layout reference without tag or digest gets NO default tag: the caller
 * picks the single manifest listed in the layout's index.json.
 */
export function parseReference(s: string, opts: ParseReferenceOptions = {}): ImageReference {
  if (typeof s !== 'string') throw invalid(String(s), 'reference must be a string');
  if (s.startsWith(OCI_LAYOUT_PREFIX) && opts.allowLayout !== false) return parseLayoutReference(s);
  return parseRegistryReference(s, opts);
}

/** Registry references parsed (callers get a copy); a review parses each of its images several times. */
const parsedRefs = new Map<string, Readonly<ImageReference>>();
/** References remembered; past it the memo starts again (a busy cluster has far fewer distinct images). */
const MAX_PARSED_REFS = 1024;

function parseRegistryReference(s: string, opts: ParseReferenceOptions): ImageReference {
  const key = `${opts.defaultRegistry ?? ''}\u0000${opts.enableDefaultRegistryMutation === false ? 0 : 1}\u0000${s}`;
  let ref = parsedRefs.get(key);
  if (ref === undefined) {
    ref = readRegistryReference(s, opts); // an error is not remembered: it is thrown again next time
    if (parsedRefs.size >= MAX_PARSED_REFS) parsedRefs.clear();
    parsedRefs.set(key, ref);
  }
  return ref.kyverno ? { ...ref, kyverno: { ...ref.kyverno } } : { ...ref };
}

function readRegistryReference(s: string, opts: ParseReferenceOptions): ImageReference {
  if (s === '') throw invalid(s, 'repository name must have at least one component');
  if (IDENTIFIER_RE.test(s)) {
    throw invalid(s, 'cannot specify 64-byte hexadecimal strings as a repository name');
  }
  const def = toDefaultRegistry(opts.defaultRegistry);

  // splitDockerDomain
  let domain: string;
  let remainder: string;
  let kyvernoRegistry: string;
  const slash = s.indexOf('/');
  if (slash < 0 || !looksLikeRegistry(s.slice(0, slash))) {
    domain = def.host;
    remainder = def.prefix === '' ? s : `${def.prefix}/${s}`;
    kyvernoRegistry = opts.enableDefaultRegistryMutation === false ? '' : def.host;
  } else {
    domain = s.slice(0, slash);
    remainder = s.slice(slash + 1);
    kyvernoRegistry = domain;
  }
  const kyvernoRemainder = remainder;
  if (domain === LEGACY_DOCKER_HUB_REGISTRY) domain = DOCKER_HUB_REGISTRY;
  if (domain === DOCKER_HUB_REGISTRY && !remainder.includes('/')) remainder = OFFICIAL_REPOSITORY_PREFIX + remainder;

  // split remainder into path, tag, digest: the path never contains ':' or '@'
  let nameTag = remainder;
  let digest: string | undefined;
  const at = remainder.indexOf('@');
  if (at >= 0) {
    nameTag = remainder.slice(0, at);
    digest = remainder.slice(at + 1);
  }
  let path = nameTag;
  let tag: string | undefined;
  const colon = nameTag.indexOf(':');
  if (colon >= 0) {
    path = nameTag.slice(0, colon);
    tag = nameTag.slice(colon + 1);
  }

  if (path.toLowerCase() !== path) {
    throw invalid(s, `repository name must be lowercase (got ${JSON.stringify(clip(path))})`);
  }
  // checked before the grammar so the regexes only ever see short input
  if (domain.length + 1 + path.length > NAME_TOTAL_LENGTH_MAX) {
    throw invalid(s, `repository name must not be more than ${NAME_TOTAL_LENGTH_MAX} characters`);
  }
  if (path === '' || path.split('/').some((c) => c === '')) {
    throw invalid(s, 'invalid reference format: repository path has an empty component');
  }
  for (const component of path.split('/')) {
    if (!PATH_COMPONENT_RE.test(component)) {
      throw invalid(
        s,
        `invalid reference format: repository path component ${
          JSON.stringify(clip(component))
        } must match [a-z0-9]+ separated by ".", "_", "__" or "-"`,
      );
    }
  }
  if (!isValidRegistry(domain)) {
    throw invalid(s, `invalid reference format: registry ${JSON.stringify(clip(domain))} is not a valid host[:port]`);
  }
  if (tag !== undefined && !TAG_RE.test(tag)) {
    throw invalid(s, `invalid tag format ${JSON.stringify(clip(tag))}: must match [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}`);
  }
  if (digest !== undefined) {
    const reason = getDigestError(digest);
    if (reason !== undefined) throw invalid(s, reason);
  }

  if (tag === undefined && digest === undefined) tag = DEFAULT_TAG;

  // Kyverno's view: registry as written (or the default), path as written (no library/).
  const kyvernoPath = kyvernoRemainder.split(/[:@]/, 1)[0] ?? '';
  const kyverno: KyvernoImageName = { registry: kyvernoRegistry, path: kyvernoPath };

  const ref: ImageReference = { transport: 'registry', registry: domain, repository: path, original: s, kyverno };
  if (tag !== undefined) ref.tag = tag;
  if (digest !== undefined) ref.digest = digest;
  return ref;
}

function parseLayoutReference(s: string): ImageReference {
  let rest = s.slice(OCI_LAYOUT_PREFIX.length);
  let digest: string | undefined;
  let tag: string | undefined;
  const at = rest.lastIndexOf('@');
  if (at >= 0 && rest.slice(at + 1).includes(':')) {
    digest = rest.slice(at + 1);
    const reason = getDigestError(digest);
    if (reason !== undefined) throw invalid(s, reason);
    rest = rest.slice(0, at);
  }
  const colon = rest.lastIndexOf(':');
  if (colon >= 0 && TAG_RE.test(rest.slice(colon + 1))) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
  }
  if (rest === '') throw invalid(s, 'OCI layout reference needs a directory: oci:DIR[:TAG][@DIGEST]');
  if (/[\u0000-\u001f]/.test(rest)) throw invalid(s, 'OCI layout directory contains control characters');
  const ref: ImageReference = { transport: 'oci-layout', registry: rest, repository: '', original: s };
  if (tag !== undefined) ref.tag = tag;
  if (digest !== undefined) ref.digest = digest;
  return ref;
}

/** parseReference for images taken from Kubernetes objects: `oci:` is not special there. */
export function parseImageFromPodSpec(
  s: string,
  opts: Omit<ParseReferenceOptions, 'allowLayout'> = {},
): ImageReference {
  return parseReference(s, { ...opts, allowLayout: false });
}

/** True when `s` parses (same options as parseReference). */
export function isValidReference(s: string, opts: ParseReferenceOptions = {}): boolean {
  try {
    parseReference(s, opts);
    return true;
  } catch {
    return false;
  }
}
