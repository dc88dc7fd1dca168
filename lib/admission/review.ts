// AdmissionReview (admission.k8s.io/v1 and v1beta1): request parsing and response building.
// parseAdmissionReview is total: any input either yields a typed request or a SigwardError
// ADMISSION_INVALID whose message names the offending field.

import { Buffer } from 'node:buffer';
import { SigwardError } from '../errors.ts';
import { isJsonObject } from './pointer.ts';
import type {
  AdmissionApiVersion,
  AdmissionOperation,
  AdmissionRequest,
  AdmissionResponse,
  AdmissionResponseOptions,
  AdmissionReviewResponse,
  GroupVersionKind,
  GroupVersionResource,
  JsonObject,
  UserInfo,
} from './types.ts';

export const ADMISSION_API_VERSIONS: readonly AdmissionApiVersion[] = [
  'admission.k8s.io/v1',
  'admission.k8s.io/v1beta1',
];
const OPERATIONS: readonly AdmissionOperation[] = ['CREATE', 'UPDATE', 'DELETE', 'CONNECT'];

/** Deepest nesting of arrays/objects accepted in a review (real objects stay far below). */
export const MAX_NESTING_DEPTH = 1000;

class Invalid extends Error {}

function invalid(message: string): never {
  throw new Invalid(message);
}

function typeName(v: unknown): string {
  if (v === undefined) return 'missing';
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  return typeof v;
}

/**
 * Nesting depth of JSON text, scanned before JSON.parse (which is slow on hostile nesting).
 * Brackets inside strings are skipped; syntax errors are left to JSON.parse.
 */
function checkDepth(text: string): void {
  if (text.length <= MAX_NESTING_DEPTH) return; // each level takes a bracket
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++; // backslash: skip the escaped char
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) {
      inString = true;
    } else if (c === 0x7b || c === 0x5b) {
      if (++depth > MAX_NESTING_DEPTH) invalid(`JSON nesting deeper than ${MAX_NESTING_DEPTH} levels`);
    } else if (c === 0x7d || c === 0x5d) {
      depth--;
    }
  }
}

/** A present, non-null value; null counts as absent (as Go's decoder treats it). */
function present(v: unknown): boolean {
  return v !== undefined && v !== null;
}

function optString(obj: JsonObject, key: string, where: string): string | undefined {
  const v = obj[key];
  if (!present(v)) return undefined;
  if (typeof v !== 'string') invalid(`${where}.${key} must be a string (got ${typeName(v)})`);
  return v;
}

function reqString(obj: JsonObject, key: string, where: string): string {
  const v = obj[key];
  if (typeof v !== 'string' || v === '') {
    invalid(`${where}.${key} must be a non-empty string (got ${v === '' ? 'empty string' : typeName(v)})`);
  }
  return v;
}

function optObject(obj: JsonObject, key: string, where: string): JsonObject | undefined {
  const v = obj[key];
  if (!present(v)) return undefined;
  if (!isJsonObject(v)) invalid(`${where}.${key} must be an object (got ${typeName(v)})`);
  return v;
}

function toGVK(v: JsonObject, where: string, requireKind: boolean): GroupVersionKind {
  const kind = requireKind ? reqString(v, 'kind', where) : (optString(v, 'kind', where) ?? '');
  return {
    group: optString(v, 'group', where) ?? '',
    version: optString(v, 'version', where) ?? '',
    kind,
  };
}

function toGVR(v: JsonObject, where: string): GroupVersionResource {
  return {
    group: optString(v, 'group', where) ?? '',
    version: optString(v, 'version', where) ?? '',
    resource: optString(v, 'resource', where) ?? '',
  };
}

function toUserInfo(v: JsonObject | undefined): UserInfo {
  const where = 'request.userInfo';
  if (v === undefined) return { username: '', groups: [] };
  const out: UserInfo = { username: optString(v, 'username', where) ?? '', groups: [] };
  const uid = optString(v, 'uid', where);
  if (uid !== undefined) out.uid = uid;
  const groups = v.groups;
  if (present(groups)) {
    if (!Array.isArray(groups) || !groups.every((g) => typeof g === 'string')) {
      invalid(`${where}.groups must be a list of strings`);
    }
    out.groups = groups as string[];
  }
  const extra = optObject(v, 'extra', where);
  if (extra !== undefined) {
    const e: Record<string, string[]> = {};
    for (const [k, val] of Object.entries(extra)) {
      if (val === null) continue;
      if (!Array.isArray(val) || !val.every((x) => typeof x === 'string')) {
        invalid(`${where}.extra["${k}"] must be a list of strings`);
      }
      e[k] = val as string[];
    }
    out.extra = e;
  }
  return out;
}

function checkObject(o: JsonObject, where: string, kind: string): void {
  const okind = o.kind;
  if (present(okind)) {
    if (typeof okind !== 'string') invalid(`${where}.kind must be a string (got ${typeName(okind)})`);
    if (okind !== kind) invalid(`${where}.kind "${okind}" does not match request.kind.kind "${kind}"`);
  }
  const meta = optObject(o, 'metadata', where);
  if (meta === undefined) return;
  for (const key of ['name', 'namespace', 'generateName']) optString(meta, key, `${where}.metadata`);
  const ann = optObject(meta, 'annotations', `${where}.metadata`);
  if (ann !== undefined) {
    for (const [k, val] of Object.entries(ann)) {
      if (typeof val !== 'string') {
        invalid(`${where}.metadata.annotations["${k}"] must be a string (got ${typeName(val)})`);
      }
    }
  }
}

/** One strict decoder for every body (decode() without stream keeps no state between calls; making one costs more than a small review's JSON.parse). */
const UTF8 = new TextDecoder('utf-8', { fatal: true });

function decode(input: unknown): unknown {
  let text: string;
  if (typeof input === 'string') {
    text = input;
  } else if (input instanceof Uint8Array) {
    try {
      text = UTF8.decode(input);
    } catch {
      invalid('request body is not valid UTF-8');
    }
  } else {
    invalid(`expected the request body as bytes or a string (got ${typeName(input)})`);
  }
  checkDepth(text);
  try {
    return JSON.parse(text);
  } catch (e) {
    invalid(`request body is not valid JSON: ${e instanceof Error ? e.message : String(e)}`);
  }
}

function toRequest(review: unknown): AdmissionRequest {
  if (!isJsonObject(review)) invalid(`expected a JSON object (got ${typeName(review)})`);
  const apiVersion = review.apiVersion;
  if (typeof apiVersion !== 'string' || !(ADMISSION_API_VERSIONS as readonly string[]).includes(apiVersion)) {
    invalid(
      `unsupported apiVersion ${typeof apiVersion === 'string' ? `"${apiVersion}"` : `(${typeName(apiVersion)})`}: ` +
        `expected admission.k8s.io/v1 or admission.k8s.io/v1beta1`,
    );
  }
  if (review.kind !== 'AdmissionReview') {
    invalid(
      `kind must be "AdmissionReview" (got ${
        typeof review.kind === 'string' ? `"${review.kind}"` : typeName(review.kind)
      })`,
    );
  }
  const r = review.request;
  if (!isJsonObject(r)) invalid(`request must be an object (got ${typeName(r)})`);

  const uid = reqString(r, 'uid', 'request');
  const kindObj = r.kind;
  if (!isJsonObject(kindObj)) invalid(`request.kind must be an object (got ${typeName(kindObj)})`);
  const kind = toGVK(kindObj, 'request.kind', true);
  const op = r.operation;
  if (typeof op !== 'string' || !(OPERATIONS as readonly string[]).includes(op)) {
    invalid(
      `request.operation must be one of CREATE, UPDATE, DELETE, CONNECT (got ${
        typeof op === 'string' ? `"${op}"` : typeName(op)
      })`,
    );
  }
  const operation = op as AdmissionOperation;

  const out: AdmissionRequest = {
    apiVersion: apiVersion as AdmissionApiVersion,
    uid,
    kind,
    name: optString(r, 'name', 'request') ?? '',
    namespace: optString(r, 'namespace', 'request') ?? '',
    operation,
    userInfo: toUserInfo(optObject(r, 'userInfo', 'request')),
    dryRun: false,
  };
  const resource = optObject(r, 'resource', 'request');
  if (resource !== undefined) out.resource = toGVR(resource, 'request.resource');
  const requestKind = optObject(r, 'requestKind', 'request');
  if (requestKind !== undefined) out.requestKind = toGVK(requestKind, 'request.requestKind', false);
  const requestResource = optObject(r, 'requestResource', 'request');
  if (requestResource !== undefined) out.requestResource = toGVR(requestResource, 'request.requestResource');
  const subResource = optString(r, 'subResource', 'request');
  if (subResource !== undefined) out.subResource = subResource;
  const requestSubResource = optString(r, 'requestSubResource', 'request');
  if (requestSubResource !== undefined) out.requestSubResource = requestSubResource;
  const dryRun = r.dryRun;
  if (present(dryRun)) {
    if (typeof dryRun !== 'boolean') invalid(`request.dryRun must be a boolean (got ${typeName(dryRun)})`);
    out.dryRun = dryRun;
  }
  const options = optObject(r, 'options', 'request');
  if (options !== undefined) out.options = options;

  // object / oldObject by operation. Kubernetes sends: CREATE object; UPDATE object+oldObject;
  // DELETE oldObject (object null); CONNECT object = the *Options. Fields an operation does
  // not use are ignored whatever they hold (some recorded fixtures carry "None" or "" there).
  const obj = r.object;
  const old = r.oldObject;
  const needObject = operation === 'CREATE' || operation === 'UPDATE';
  if (needObject) {
    if (!isJsonObject(obj)) invalid(`request.object must be an object for ${operation} (got ${typeName(obj)})`);
    checkObject(obj, 'request.object', kind.kind);
    out.object = obj;
  } else if (operation === 'CONNECT' && present(obj)) {
    if (!isJsonObject(obj)) invalid(`request.object must be an object (got ${typeName(obj)})`);
    out.object = obj;
  }
  if (operation === 'UPDATE' || (operation === 'DELETE' && present(old))) {
    if (!isJsonObject(old)) invalid(`request.oldObject must be an object for ${operation} (got ${typeName(old)})`);
    checkObject(old, 'request.oldObject', kind.kind);
    out.oldObject = old;
  }
  return out;
}

/**
 * Parses an AdmissionReview request body. Throws only SigwardError ADMISSION_INVALID
 * (outcome 'usage'), with a message naming the field that is wrong.
 */
export function parseAdmissionReview(input: Uint8Array | string): AdmissionRequest {
  try {
    return toRequest(decode(input));
  } catch (e) {
    if (e instanceof SigwardError) throw e;
    const msg = e instanceof Invalid ? e.message : `unexpected input (${e instanceof Error ? e.message : String(e)})`;
    throw new SigwardError('ADMISSION_INVALID', `invalid AdmissionReview: ${msg}`, { cause: e });
  }
}

/** Kind, namespace and name of the admitted resource (object first, then the request fields). */
export function getResourceIdentity(request: AdmissionRequest): { kind: string; namespace: string; name: string } {
  const o = request.object ?? request.oldObject;
  const meta = o !== undefined && isJsonObject(o.metadata) ? o.metadata : undefined;
  const kind = o !== undefined && typeof o.kind === 'string' && o.kind !== '' ? o.kind : request.kind.kind;
  const ns = meta !== undefined && typeof meta.namespace === 'string' ? meta.namespace : '';
  const name = meta !== undefined && typeof meta.name === 'string' ? meta.name : '';
  return { kind, namespace: ns || request.namespace, name: name || request.name };
}

/** UTF-8 text as base64 (node:buffer: fifty times faster than a binary string through btoa, on every allowed mutate answer). */
function toBase64(text: string): string {
  return Buffer.from(text, 'utf8').toString('base64');
}

/** Builds the AdmissionReview response for a request, in the request's apiVersion. */
export function toAdmissionResponse(
  request: Pick<AdmissionRequest, 'apiVersion' | 'uid'>,
  opts: AdmissionResponseOptions,
): AdmissionReviewResponse {
  const response: AdmissionResponse = { uid: request.uid, allowed: opts.allowed === true };
  if (!response.allowed || opts.message !== undefined || opts.code !== undefined) {
    response.status = { status: response.allowed ? 'Success' : 'Failure' };
    if (opts.message !== undefined) response.status.message = opts.message;
    if (opts.code !== undefined) response.status.code = opts.code;
    if (opts.reason !== undefined) response.status.reason = opts.reason;
  }
  // Kubernetes only applies patches from allowing responses
  if (response.allowed && opts.patch !== undefined && opts.patch.length > 0) {
    response.patchType = 'JSONPatch';
    response.patch = toBase64(JSON.stringify(opts.patch));
  }
  if (opts.auditAnnotations !== undefined && Object.keys(opts.auditAnnotations).length > 0) {
    response.auditAnnotations = { ...opts.auditAnnotations };
  }
  if (opts.warnings !== undefined && opts.warnings.length > 0) response.warnings = [...opts.warnings];
  return { apiVersion: request.apiVersion, kind: 'AdmissionReview', response };
}
