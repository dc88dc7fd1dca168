// JSON patches for the mutate phase (digest pinning, verification annotations), an RFC 6902
// applier, and readers of the verification annotations for the validate phase.

import { SigwardError } from '../errors.ts';
import { getImageInfo } from './imageinfo.ts';
import { getDigestError } from '../digest.ts';
import type { ImageInfoOptions } from './imageinfo.ts';
import {
  cloneJson,
  escapePointerSegment,
  getOwn,
  isJsonObject,
  jsonEqual,
  parseJsonPointer,
  setOwn,
  toGoJson,
} from './pointer.ts';
import type { JsonObject, JsonPatchOp, JsonValue, ScopedVerifyImages, VerifyImageStatus } from './types.ts';

export const VERIFY_IMAGES_ANNOTATION = 'kyverno.io/verify-images';
export const VERIFY_IMAGES_SCOPED_ANNOTATION = 'kyverno.io/verify-images-scoped';

const ANNOTATIONS_POINTER = '/metadata/annotations';

function patchError(msg: string): SigwardError {
  return new SigwardError('ADMISSION_INVALID', `JSON patch failed: ${msg}`);
}

// ---------------------------------------------------------------------------------------------
// RFC 6902 applier

type Container = JsonObject | JsonValue[];

function arrayIndex(tok: string, length: number, forAdd: boolean, path: string): number {
  if (forAdd && tok === '-') return length;
  if (!/^(0|[1-9][0-9]*)$/.test(tok)) throw patchError(`"${tok}" is not an array index in ${path}`);
  const i = Number(tok);
  if (i > length || (!forAdd && i === length)) throw patchError(`index ${i} out of range in ${path}`);
  return i;
}

function resolveParent(doc: JsonValue, segments: string[], path: string): Container {
  let node: JsonValue = doc;
  for (let i = 0; i < segments.length - 1; i++) {
    const tok = segments[i];
    let next: JsonValue | undefined;
    if (Array.isArray(node)) {
      next = node[arrayIndex(tok, node.length, false, path)];
    } else if (isJsonObject(node)) {
      next = getOwn(node, tok);
    }
    if (next === undefined) throw patchError(`path ${path} does not exist`);
    node = next;
  }
  if (!Array.isArray(node) && !isJsonObject(node)) throw patchError(`parent of ${path} is not an object or array`);
  return node;
}

function getAt(doc: JsonValue, path: string): JsonValue {
  const segments = parseJsonPointer(path);
  if (segments.length === 0) return doc;
  const parent = resolveParent(doc, segments, path);
  const last = segments[segments.length - 1];
  const v = Array.isArray(parent) ? parent[arrayIndex(last, parent.length, false, path)] : getOwn(parent, last);
  if (v === undefined) throw patchError(`path ${path} does not exist`);
  return v;
}

/** Returns the new document (root replacement) or the same reference. */
function addAt(doc: JsonValue, path: string, value: JsonValue): JsonValue {
  const segments = parseJsonPointer(path);
  if (segments.length === 0) return value;
  const parent = resolveParent(doc, segments, path);
  const last = segments[segments.length - 1];
  if (Array.isArray(parent)) parent.splice(arrayIndex(last, parent.length, true, path), 0, value);
  else setOwn(parent, last, value);
  return doc;
}

function removeAt(doc: JsonValue, path: string): JsonValue {
  const segments = parseJsonPointer(path);
  if (segments.length === 0) throw patchError('cannot remove the whole document');
  const parent = resolveParent(doc, segments, path);
  const last = segments[segments.length - 1];
  if (Array.isArray(parent)) {
    parent.splice(arrayIndex(last, parent.length, false, path), 1);
  } else {
    if (!Object.hasOwn(parent, last)) throw patchError(`path ${path} does not exist`);
    delete parent[last];
  }
  return doc;
}

function replaceAt(doc: JsonValue, path: string, value: JsonValue): JsonValue {
  const segments = parseJsonPointer(path);
  if (segments.length === 0) return value;
  const parent = resolveParent(doc, segments, path);
  const last = segments[segments.length - 1];
  if (Array.isArray(parent)) {
    parent[arrayIndex(last, parent.length, false, path)] = value;
  } else {
    if (!Object.hasOwn(parent, last)) throw patchError(`path ${path} does not exist`);
    setOwn(parent, last, value);
  }
  return doc;
}

function opField(op: Record<string, unknown>, field: string, i: number): string {
  const v = op[field];
  if (typeof v !== 'string') throw patchError(`operation ${i}: "${field}" must be a string`);
  return v;
}

/**
 * Applies RFC 6902 operations (add, remove, replace, move, copy, test) to a copy of `doc`;
 * the input is never modified. Throws SigwardError ADMISSION_INVALID.
 */
export function applyPatch<T extends JsonValue>(doc: T, ops: readonly JsonPatchOp[]): T {
  if (!Array.isArray(ops)) throw patchError('the patch must be a list of operations');
  let out: JsonValue = cloneJson(doc);
  ops.forEach((raw, i) => {
    if (!isJsonObject(raw as unknown)) throw patchError(`operation ${i} is not an object`);
    const op = raw as unknown as Record<string, unknown>;
    const path = opField(op, 'path', i);
    const needsValue = op.op === 'add' || op.op === 'replace' || op.op === 'test';
    if (needsValue && !Object.hasOwn(op, 'value')) throw patchError(`operation ${i} (${String(op.op)}) has no value`);
    const value = needsValue ? cloneJson(op.value as JsonValue) : null;
    switch (op.op) {
      case 'add':
        out = addAt(out, path, value);
        break;
      case 'remove':
        out = removeAt(out, path);
        break;
      case 'replace':
        out = replaceAt(out, path, value);
        break;
      case 'test':
        if (!jsonEqual(getAt(out, path), value)) throw patchError(`test failed at ${path}`);
        break;
      case 'move': {
        const from = opField(op, 'from', i);
        if (path !== from && path.startsWith(from + '/')) {
          throw patchError(`cannot move ${from} into its own child ${path}`);
        }
        const v = getAt(out, from);
        out = removeAt(out, from);
        out = addAt(out, path, v);
        break;
      }
      case 'copy': {
        const from = opField(op, 'from', i);
        out = addAt(out, path, cloneJson(getAt(out, from)));
        break;
      }
      default:
        throw patchError(`operation ${i}: unknown op ${JSON.stringify(op.op) ?? 'undefined'}`);
    }
  });
  return out as T;
}

// ---------------------------------------------------------------------------------------------
// mutateDigest

/**
 * The mutateDigest patch for one image field, or undefined when the image already carries a
 * digest (Kyverno leaves those untouched).
 *
 * Rule (Kyverno: `imageInfo.String() + "@" + digest` on a digest-less image): the new value is
 * `<registry>/<path>:<tag>@<digest>` where
 *   - the registry is the one written, or the default registry (`docker.io`) when the first
 *     component is not a host (no '.'/':', not `localhost`, lowercase) — and omitted when
 *     default registry mutation is disabled;
 *   - the path is kept as written: NO `library/` is inserted (`nginx` -> `docker.io/nginx`);
 *   - the tag is kept, `latest` when none was written.
 * So `nginx` -> `docker.io/nginx:latest@sha256:…`, `ghcr.io/kyverno/test-verify-image:signed`
 * -> `ghcr.io/kyverno/test-verify-image:signed@sha256:…`.
 */
export function digestPatch(
  image: string,
  jsonPointer: string,
  digest: string,
  opts: ImageInfoOptions = {},
): JsonPatchOp | undefined {
  const err = typeof digest === 'string' ? getDigestError(digest) : 'not a string';
  if (err !== undefined) throw new SigwardError('REFERENCE_INVALID', `invalid digest "${String(digest)}": ${err}`);
  parseJsonPointer(jsonPointer);
  const info = getImageInfo(image, opts);
  if (info.digest !== '') return undefined;
  return { op: 'replace', path: jsonPointer, value: `${info.referenceWithTag}@${digest}` };
}

// ---------------------------------------------------------------------------------------------
// verification annotations

function annotationsOf(obj: unknown): JsonObject | undefined {
  if (!isJsonObject(obj)) return undefined;
  const meta = getOwn(obj, 'metadata');
  if (!isJsonObject(meta)) return undefined;
  const ann = getOwn(meta, 'annotations');
  return isJsonObject(ann) ? ann : undefined;
}

/** The text of one annotation of an object, when it is a string. */
export function getAnnotationText(obj: unknown, key: string): string | undefined {
  const ann = annotationsOf(obj);
  const v = ann === undefined ? undefined : getOwn(ann, key);
  return typeof v === 'string' ? v : undefined;
}

/** Kyverno's test: an object "has annotations" only when the map is non-empty. */
export function hasAnnotations(obj: unknown): boolean {
  const ann = annotationsOf(obj);
  return ann !== undefined && Object.keys(ann).length > 0;
}

export function annotationPointer(key: string): string {
  return `${ANNOTATIONS_POINTER}/${escapePointerSegment(key)}`;
}

/** `kyverno.io/verify-images` value: `{"<image>":"pass|fail|skip"}`, keys sorted as Go does. */
export function toVerifyImagesAnnotation(images: Record<string, VerifyImageStatus>): string {
  return toGoJson(images as JsonObject);
}

/** `kyverno.io/verify-images-scoped` value: `{"version":1,"policies":{…}}` (maps sorted). */
export function toVerifyImagesScopedAnnotation(scoped: ScopedVerifyImages): string {
  return `{"version":${JSON.stringify(scoped.version)},"policies":${
    toGoJson(scoped.policies as unknown as JsonObject)
  }}`;
}

/** Key of a policy in the scoped annotation: `<namespace>/<name>`, ClusterPolicy `/<name>`. */
export function scopedPolicyKey(policyNamespace: string | undefined, policyName: string): string {
  return `${policyNamespace ?? ''}/${policyName}`;
}

/** Records one result in a scoped map (a new map is returned; the input is not modified). */
export function recordScopedResult(
  scoped: ScopedVerifyImages | undefined,
  policyKey: string,
  rule: string,
  image: string,
  status: VerifyImageStatus,
): ScopedVerifyImages {
  const policies = cloneJson((scoped?.policies ?? {}) as unknown as JsonObject);
  let rules = getOwn(policies, policyKey);
  if (!isJsonObject(rules)) setOwn(policies, policyKey, rules = {});
  let imgs = getOwn(rules, rule);
  if (!isJsonObject(imgs)) setOwn(rules, rule, imgs = {});
  setOwn(imgs, image, status);
  return { version: 1, policies: policies as unknown as ScopedVerifyImages['policies'] };
}

export interface VerifyImagesAnnotationData {
  /** `kyverno.io/verify-images` content */
  images?: Record<string, VerifyImageStatus>;
  /** `kyverno.io/verify-images-scoped` content */
  scoped?: ScopedVerifyImages;
}

/**
 * Annotation patches, in Kyverno's order: `add /metadata/annotations {}` when the object has
 * no (or an empty) annotation map, then `add` of each annotation given. These go before the
 * digest patches in the response.
 */
export function verifyImagesAnnotationPatches(object: unknown, data: VerifyImagesAnnotationData): JsonPatchOp[] {
  const ops: JsonPatchOp[] = [];
  const wanted = data.images !== undefined || data.scoped !== undefined;
  if (!wanted) return ops;
  if (!hasAnnotations(object)) ops.push({ op: 'add', path: ANNOTATIONS_POINTER, value: {} });
  if (data.images !== undefined) {
    ops.push({
      op: 'add',
      path: annotationPointer(VERIFY_IMAGES_ANNOTATION),
      value: toVerifyImagesAnnotation(data.images),
    });
  }
  if (data.scoped !== undefined) {
    ops.push({
      op: 'add',
      path: annotationPointer(VERIFY_IMAGES_SCOPED_ANNOTATION),
      value: toVerifyImagesScopedAnnotation(data.scoped),
    });
  }
  return ops;
}

function toStatus(v: unknown): VerifyImageStatus | undefined {
  if (v === 'pass' || v === 'fail' || v === 'skip') return v;
  // Kyverno <= 1.10 wrote booleans
  if (v === true) return 'pass';
  if (v === false) return 'fail';
  return undefined;
}

function readJsonAnnotation(obj: unknown, key: string): unknown {
  const ann = annotationsOf(obj);
  if (ann === undefined) return undefined;
  const raw = getOwn(ann, key);
  if (typeof raw !== 'string') return undefined;
  try {
    return JSON.parse(raw);
  } catch {
    return undefined;
  }
}

/**
 * Reads `kyverno.io/verify-images` from an object: image -> status. Undefined when absent or
 * unreadable (both mean "not verified"); entries with unknown values are dropped.
 */
export function readVerifyImagesAnnotation(obj: unknown): Record<string, VerifyImageStatus> | undefined {
  const v = readJsonAnnotation(obj, VERIFY_IMAGES_ANNOTATION);
  if (!isJsonObject(v)) return undefined;
  const out: Record<string, VerifyImageStatus> = {};
  for (const k of Object.keys(v)) {
    const s = toStatus(v[k]);
    if (s !== undefined) setOwn(out as JsonObject, k, s);
  }
  return out;
}

/** Reads `kyverno.io/verify-images-scoped`; undefined when absent, unreadable or not version 1. */
export function readVerifyImagesScopedAnnotation(obj: unknown): ScopedVerifyImages | undefined {
  const v = readJsonAnnotation(obj, VERIFY_IMAGES_SCOPED_ANNOTATION);
  if (!isJsonObject(v) || v.version !== 1 || !isJsonObject(v.policies)) return undefined;
  const policies: ScopedVerifyImages['policies'] = {};
  for (const p of Object.keys(v.policies)) {
    const rules = v.policies[p];
    if (!isJsonObject(rules)) continue;
    const r: Record<string, Record<string, VerifyImageStatus>> = {};
    for (const rn of Object.keys(rules)) {
      const imgs = rules[rn];
      if (!isJsonObject(imgs)) continue;
      const m: Record<string, VerifyImageStatus> = {};
      for (const img of Object.keys(imgs)) {
        const s = toStatus(imgs[img]);
        if (s !== undefined) setOwn(m as JsonObject, img, s);
      }
      setOwn(r as unknown as JsonObject, rn, m as JsonObject);
    }
    setOwn(policies as unknown as JsonObject, p, r as unknown as JsonObject);
  }
  return { version: 1, policies };
}

/** Status recorded for (policy, rule, image) in a scoped map. */
export function getScopedVerifyStatus(
  scoped: ScopedVerifyImages | undefined,
  policyKey: string,
  rule: string,
  image: string,
): VerifyImageStatus | undefined {
  if (scoped === undefined) return undefined;
  const rules = Object.hasOwn(scoped.policies, policyKey) ? scoped.policies[policyKey] : undefined;
  const imgs = rules !== undefined && Object.hasOwn(rules, rule) ? rules[rule] : undefined;
  return imgs !== undefined && Object.hasOwn(imgs, image) ? imgs[image] : undefined;
}
