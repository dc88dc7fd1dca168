// Image extraction from admitted objects, as Kyverno does it.
//   Pod:                                       spec.{initContainers,containers,ephemeralContainers}[*].image
//   Deployment, DaemonSet, StatefulSet,
//   ReplicaSet, ReplicationController, Job:    spec.template.spec.…
//   CronJob:                                   spec.jobTemplate.spec.template.spec.…
// Other kinds need `imageExtractors` ({<Kind>: [{name, path, value, key, jmesPath}]}); custom
// extractors for a kind replace the built-in ones. Without any, the result is [].
//
// Kyverno facts reproduced here: `*` iterates array elements or object members; `value`
// defaults to the last path segment; path segments are trimmed and empty ones dropped; a
// missing or blank value means "no image here"; a non-string `key` field, a `*` over a scalar
// or a scalar where an object is needed is an error; the extractor name defaults to `custom`;
// an empty extractor list for a kind is an error ("no extractors found for <Kind>").
// Deliberate differences: results are ordered (document order, not Go map order); entries
// with the same key are all kept (Kyverno keeps one per key, which would let a second image
// with a duplicate key go unverified); pointers escape `~` and `/` per RFC 6901.

import { compile, search } from '@jmespath-community/jmespath';
import type { JSONValue } from '@jmespath-community/jmespath';
import { SigwardError } from '../errors.ts';
import { getImageInfo } from './imageinfo.ts';
import { POD_SPEC_PATHS } from './pod-controllers.ts';
import type { ImageInfo, ImageInfoOptions } from './imageinfo.ts';
import { getOwn, isJsonObject, toJsonPointer } from './pointer.ts';
import type { AdmissionRequest, JsonValue } from './types.ts';

/** One Kyverno `imageExtractors` entry. */
export interface ImageExtractorConfig {
  name?: string;
  path: string;
  /** defaults to the last path segment at extraction time */
  value?: string;
  key?: string;
  jmesPath?: string;
}

/** Kyverno rule `imageExtractors`: Kind -> extractors. */
export type ImageExtractorConfigs = Record<string, ImageExtractorConfig[]>;

export type StandardImageKind = 'initContainers' | 'containers' | 'ephemeralContainers';

export interface ExtractedImage {
  /** container list (`initContainers`, `containers`, `ephemeralContainers`) or the custom extractor name */
  kind: StandardImageKind | (string & {});
  /**
   * array index of the innermost `*` that iterated an array (the container index for the
   * built-in lists); otherwise the position among this extractor's results
   */
  index: number;
  /** container name / value of the extractor `key` field / the JSON pointer when no key */
  name: string;
  /** the image as found (after jmesPath, when configured) */
  image: string;
  /** RFC 6901 pointer of the field holding the image, e.g. `/spec/containers/0/image` */
  jsonPointer: string;
  /** false when jmesPath transformed the value: the field cannot be patched with a digest */
  patchable: boolean;
  /** Kyverno's view of the image reference */
  info: ImageInfo;
}

export interface GetImagesOptions extends ImageInfoOptions {
  /** resource kind; defaults to `object.kind` */
  kind?: string;
  /** the rule's `imageExtractors` */
  imageExtractors?: ImageExtractorConfigs;
  /** JMESPath evaluation (Kyverno functions may be injected); default @jmespath-community/jmespath */
  jmesPathSearch?: (value: string, expression: string) => unknown;
}

interface Extractor {
  name: string;
  fields: string[];
  key: string;
  value: string;
  jmesPath: string;
  standard: boolean;
}

const STANDARD_KINDS: readonly StandardImageKind[] = ['initContainers', 'containers', 'ephemeralContainers'];

function standard(prefix: string[]): Extractor[] {
  return STANDARD_KINDS.map((k) => ({
    name: k,
    fields: [...prefix, k, '*'],
    key: 'name',
    value: 'image',
    jmesPath: '',
    standard: true,
  }));
}

export { POD_SPEC_PATHS };

const BUILTIN = new Map<string, Extractor[]>(
  Object.entries(POD_SPEC_PATHS).map(([kind, path]) => [kind, standard(path.split('/').filter(Boolean))]),
);

function builtin(kind: string): Extractor[] | undefined {
  return BUILTIN.get(kind);
}

function policyError(msg: string): SigwardError {
  return new SigwardError('POLICY_INVALID', msg);
}

function toExtractors(kind: string, configs: ImageExtractorConfigs | undefined): Extractor[] {
  if (configs === undefined || configs === null || !Object.hasOwn(configs, kind)) return builtin(kind) ?? [];
  const list = configs[kind];
  if (!Array.isArray(list)) throw policyError(`imageExtractors.${kind} must be a list`);
  if (list.length === 0) throw policyError(`no extractors found for ${kind}`);
  return list.map((c, i) => {
    const where = `imageExtractors.${kind}[${i}]`;
    if (!isJsonObject(c as unknown)) throw policyError(`${where} must be an object`);
    for (const f of ['name', 'path', 'value', 'key', 'jmesPath'] as const) {
      if (c[f] !== undefined && c[f] !== null && typeof c[f] !== 'string') {
        throw policyError(`${where}.${f} must be a string`);
      }
    }
    const fields = (c.path ?? '')
      .split('/')
      .map((s) => s.trim())
      .filter((s) => s !== '');
    let value = c.value ?? '';
    if (value === '') {
      if (fields.length === 0) throw policyError(`${where}.path must name at least one field`);
      value = fields.pop() as string;
    }
    return {
      name: c.name || 'custom',
      fields,
      key: c.key ?? '',
      value,
      jmesPath: c.jmesPath ?? '',
      standard: false,
    };
  });
}

function defaultSearch(value: string, expression: string): unknown {
  return search(value as JSONValue, expression);
}

function describe(v: unknown): string {
  try {
    return JSON.stringify(v) ?? String(v);
  } catch {
    return String(v);
  }
}

function run(root: JsonValue, ex: Extractor, opts: GetImagesOptions, out: ExtractedImage[]): void {
  const found: ExtractedImage[] = [];
  const walk = (node: JsonValue | undefined, path: string[], fi: number, lastIndex: number): void => {
    if (node === undefined || node === null) return;
    if (fi < ex.fields.length && ex.fields[fi] === '*') {
      if (Array.isArray(node)) {
        node.forEach((v, i) => walk(v, [...path, String(i)], fi + 1, i));
      } else if (isJsonObject(node)) {
        for (const k of Object.keys(node)) walk(node[k], [...path, k], fi + 1, lastIndex);
      } else {
        throw new SigwardError(
          'ADMISSION_INVALID',
          `invalid type: ${toJsonPointer(path) || '/'} must be a list or an object (image extractor ${ex.name})`,
        );
      }
      return;
    }
    if (!isJsonObject(node)) {
      throw new SigwardError(
        'ADMISSION_INVALID',
        `invalid image config: ${toJsonPointer(path) || '/'} must be an object (image extractor ${ex.name})`,
      );
    }
    if (fi < ex.fields.length) {
      const f = ex.fields[fi];
      walk(getOwn(node, f), [...path, f], fi + 1, lastIndex);
      return;
    }
    const pointer = toJsonPointer([...path, ex.value]);
    let name = pointer;
    if (ex.key !== '') {
      const k = getOwn(node, ex.key);
      if (typeof k !== 'string') {
        throw new SigwardError(
          'ADMISSION_INVALID',
          `invalid key: ${toJsonPointer([...path, ex.key])} must be a string`,
        );
      }
      name = k;
    }
    const raw = getOwn(node, ex.value);
    if (typeof raw !== 'string' || raw.trim() === '') return; // no image here
    let image = raw;
    if (ex.jmesPath !== '') {
      let result: unknown;
      try {
        result = (opts.jmesPathSearch ?? defaultSearch)(raw, ex.jmesPath);
      } catch (e) {
        const msg = e instanceof Error ? e.message : String(e);
        throw new SigwardError('ADMISSION_INVALID', `failed to apply jmespath ${ex.jmesPath}: ${msg}`, { cause: e });
      }
      if (typeof result !== 'string') {
        throw new SigwardError(
          'ADMISSION_INVALID',
          `jmespath ${ex.jmesPath} must produce a string, but produced ${describe(result)}`,
        );
      }
      image = result;
    }
    let info: ImageInfo;
    try {
      info = getImageInfo(image, opts);
    } catch (e) {
      const msg = e instanceof Error ? e.message : String(e);
      throw new SigwardError('ADMISSION_INVALID', `invalid image '${image}' (${msg})`, {
        cause: e,
        detail: { jsonPointer: pointer },
      });
    }
    found.push({
      kind: ex.name,
      index: lastIndex >= 0 ? lastIndex : found.length,
      name,
      image,
      jsonPointer: pointer,
      patchable: ex.jmesPath === '',
      info,
    });
  };
  walk(root, [], 0, -1);
  out.push(...found);
}

/** Validates jmesPath syntax of the extractors up front (a policy error, not an admission one). */
function checkJmesPaths(exs: Extractor[]): void {
  for (const ex of exs) {
    if (ex.jmesPath === '') continue;
    try {
      compile(ex.jmesPath);
    } catch (e) {
      const msg = e instanceof Error ? e.message : String(e);
      throw new SigwardError('POLICY_INVALID', `invalid jmespath ${ex.jmesPath}: ${msg}`, { cause: e });
    }
  }
}

/**
 * Images of an object, in document order: built-in container lists for pods and pod
 * controllers, or the rule's imageExtractors for the kind. Unknown kinds give [].
 * Throws SigwardError ADMISSION_INVALID for malformed objects/images, POLICY_INVALID for
 * unusable extractor configuration.
 */
export function getImages(object: unknown, opts: GetImagesOptions = {}): ExtractedImage[] {
  if (!isJsonObject(object)) return [];
  const kind = opts.kind ?? (typeof object.kind === 'string' ? object.kind : '');
  const exs = toExtractors(kind, opts.imageExtractors);
  checkJmesPaths(exs);
  const out: ExtractedImage[] = [];
  for (const ex of exs) run(object, ex, opts, out);
  return out;
}

/** Images of the request's new object (kind from request.kind). */
export function getRequestImages(request: AdmissionRequest, opts: GetImagesOptions = {}): ExtractedImage[] {
  if (request.object === undefined) return [];
  return getImages(request.object, { ...opts, kind: opts.kind ?? request.kind.kind });
}

/** Images of the request's old object (UPDATE/DELETE), for the unchanged-image shortcut. */
export function getRequestOldImages(request: AdmissionRequest, opts: GetImagesOptions = {}): ExtractedImage[] {
  if (request.oldObject === undefined) return [];
  return getImages(request.oldObject, { ...opts, kind: opts.kind ?? request.kind.kind });
}

/** The value at a pointer in the object, when it is a string (e.g. an image field). */
export function getStringAt(object: unknown, jsonPointer: string): string | undefined {
  if (!jsonPointer.startsWith('/')) return undefined;
  let node: unknown = object;
  for (const raw of jsonPointer.slice(1).split('/')) {
    const seg = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (Array.isArray(node)) {
      if (!/^(0|[1-9][0-9]*)$/.test(seg)) return undefined;
      node = node[Number(seg)];
    } else if (isJsonObject(node)) {
      node = getOwn(node, seg);
    } else {
      return undefined;
    }
  }
  return typeof node === 'string' ? node : undefined;
}
