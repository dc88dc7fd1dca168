// Which verification record sigward trusts. The mutating webhook records its
// results in the object (`kyverno.io/verify-images`, `kyverno.io/verify-images-scoped`)
// and the validating webhook reads them back for `required`; but anyone who
// can write the object can write those annotations too. So sigward seals what
// it writes: `sigward.dev/verify-images-seal: v1.<issued-at>.<mac>`, an
// HMAC-SHA256 under a key only the webhook holds, over both annotation texts,
// the namespace, the kind and, when known, the object's uid. A record counts
// only when its seal is sigward's:
//   - fresh: issued for this namespace and kind within the last RECORD_MAX_AGE_SECONDS
//     (the mutating webhook of this very request wrote it);
//   - stored (UPDATE): the stored object's record, sealed for that object (its
//     uid, written by an earlier UPDATE) or at that object's creation (sealed
//     without a uid, issued just before its creationTimestamp); an entry of
//     the new object counts when the stored record holds it unchanged.
// Everything else in the annotations is untrusted: the validating webhook does
// not take it as a verification, and the mutating webhook replaces it (also
// when it answers by failurePolicy Ignore at its deadline).
// Verification stays pure: keys, scope and clock are parameters.

import { createHmac, createSecretKey, hkdfSync, type KeyObject, timingSafeEqual } from 'node:crypto';
import { SigwardError } from '../errors.ts';
import {
  annotationPointer,
  getAnnotationText,
  getScopedVerifyStatus,
  readVerifyImagesAnnotation,
  readVerifyImagesScopedAnnotation,
  VERIFY_IMAGES_ANNOTATION,
  VERIFY_IMAGES_SCOPED_ANNOTATION,
  verifyImagesAnnotationPatches,
} from './patch.ts';
import { getOwn, isJsonObject, setOwn } from './pointer.ts';
import type { AdmissionRequest, JsonObject, JsonPatchOp, ScopedVerifyImages, VerifyImageStatus } from './types.ts';

export const VERIFY_IMAGES_SEAL_ANNOTATION = 'sigward.dev/verify-images-seal';
/** How long a record sealed by the mutating webhook counts for the object being admitted (validate runs seconds later). */
export const RECORD_MAX_AGE_SECONDS = 300;
/** Clock difference tolerated between replicas and the API server. */
export const RECORD_CLOCK_SKEW_SECONDS = 60;
/** Shortest key material taken (a record key file, the serving key). */
export const RECORD_KEY_MIN_BYTES = 32;

export interface RecordKeys {
  /** seals new records */
  seal: KeyObject;
  /** every key whose seals are accepted (seal included) */
  verify: readonly KeyObject[];
}

/** What a seal binds a record to, besides its text. */
export interface RecordScope {
  /** the request's namespace */
  namespace: string;
  /** `<group>/<Kind>` of the request (`/Pod`, `apps/Deployment`) */
  kind: string;
  /** the object's uid when the mutating webhook knows it (UPDATE: the stored object's), else '' */
  uid: string;
}

export interface RecordContext {
  keys: RecordKeys;
  scope: RecordScope;
  now: Date;
}

/** A decoded record: `kyverno.io/verify-images` and `kyverno.io/verify-images-scoped`. */
export interface VerificationRecord {
  images: Record<string, VerifyImageStatus>;
  scoped: ScopedVerifyImages;
}

export interface TrustedRecord extends VerificationRecord {
  /** the object carries record entries (or record text) sigward does not trust */
  untrusted: boolean;
}

/**
 * A record key from key material (a secret file, or the serving key):
 * HKDF-SHA256, as a KeyObject (imported once: an HMAC over a raw key imports
 * it on every call, five times the cost of the HMAC itself).
 */
export function toRecordKey(material: Uint8Array, what = 'record key'): KeyObject {
  if (material.byteLength < RECORD_KEY_MIN_BYTES) {
    throw new SigwardError(
      'CONFIG_INVALID',
      `${what} is ${material.byteLength} bytes: at least ${RECORD_KEY_MIN_BYTES} are needed (e.g. openssl rand -base64 48)`,
    );
  }
  return createSecretKey(new Uint8Array(hkdfSync('sha256', material, 'sigward', VERIFY_IMAGES_SEAL_ANNOTATION, 32)));
}

/** The scope of an admission request (the same for its mutating and validating calls). */
export function toRecordScope(request: AdmissionRequest): RecordScope {
  const md = isJsonObject(request.object) ? request.object.metadata : undefined;
  const objectNamespace = isJsonObject(md) && typeof md.namespace === 'string' ? md.namespace : '';
  const old = request.operation === 'UPDATE' && isJsonObject(request.oldObject)
    ? request.oldObject.metadata
    : undefined;
  const uid = isJsonObject(old) && typeof old.uid === 'string' ? old.uid : '';
  return { namespace: request.namespace || objectNamespace, kind: `${request.kind.group}/${request.kind.kind}`, uid };
}

/**
 * MACs computed lately, per key: the validating call checks the very seal its
 * mutating call made, and the Pods of one ReplicaSet scaling up are sealed
 * with the same texts in the same second. Keyed by the whole MAC input.
 */
const macs = new WeakMap<KeyObject, Map<string, Buffer>>();
const MAX_MACS = 256;

function mac(
  key: KeyObject,
  scope: RecordScope,
  issuedAt: number,
  flat: string | undefined,
  scoped: string | undefined,
): Buffer {
  const input = JSON.stringify([
    VERIFY_IMAGES_SEAL_ANNOTATION,
    1,
    scope.namespace,
    scope.kind,
    scope.uid,
    issuedAt,
    flat ?? null,
    scoped ?? null,
  ]);
  let known = macs.get(key);
  if (!known) macs.set(key, known = new Map());
  let out = known.get(input);
  if (out === undefined) {
    out = createHmac('sha256', key).update(input).digest();
    if (known.size >= MAX_MACS) known.clear();
    known.set(input, out);
  }
  return out;
}

/** The seal for record texts issued at `issuedAt` (seconds). */
export function toRecordSeal(
  keys: RecordKeys,
  scope: RecordScope,
  issuedAt: number,
  flat: string | undefined,
  scoped: string | undefined,
): string {
  return `v1.${issuedAt}.${mac(keys.seal, scope, issuedAt, flat, scoped).toString('base64url')}`;
}

const SEAL_RE = /^v1\.(0|[1-9][0-9]{0,11})\.([A-Za-z0-9_-]{43})$/;

/** When the object's record was sealed (seconds), if its seal is one of `keys` for `scope`; else undefined. */
export function getRecordSealTime(object: unknown, keys: RecordKeys, scope: RecordScope): number | undefined {
  const m = SEAL_RE.exec(getAnnotationText(object, VERIFY_IMAGES_SEAL_ANNOTATION) ?? '');
  if (!m) return undefined;
  const issuedAt = Number(m[1]);
  const given = Buffer.from(m[2]!, 'base64url');
  if (given.byteLength !== 32) return undefined;
  const flat = getAnnotationText(object, VERIFY_IMAGES_ANNOTATION);
  const scoped = getAnnotationText(object, VERIFY_IMAGES_SCOPED_ANNOTATION);
  return keys.verify.some((k) => timingSafeEqual(mac(k, scope, issuedAt, flat, scoped), given)) ? issuedAt : undefined;
}

function emptyRecord(): VerificationRecord {
  return { images: {}, scoped: { version: 1, policies: {} } };
}

function decode(object: unknown): VerificationRecord & { unreadable: boolean } {
  const flatText = getAnnotationText(object, VERIFY_IMAGES_ANNOTATION);
  const scopedText = getAnnotationText(object, VERIFY_IMAGES_SCOPED_ANNOTATION);
  const images = readVerifyImagesAnnotation(object);
  const scoped = readVerifyImagesScopedAnnotation(object);
  return {
    images: images ?? {},
    scoped: scoped ?? { version: 1, policies: {} },
    unreadable: (flatText !== undefined && images === undefined) || (scopedText !== undefined && scoped === undefined),
  };
}

function hasRecord(object: unknown): boolean {
  return getAnnotationText(object, VERIFY_IMAGES_ANNOTATION) !== undefined ||
    getAnnotationText(object, VERIFY_IMAGES_SCOPED_ANNOTATION) !== undefined;
}

function seconds(d: Date): number {
  return Math.floor(d.getTime() / 1000);
}

/**
 * The record of the stored object (UPDATE's oldObject) when sigward wrote it
 * for that object: sealed with its uid, or sealed without one at its creation.
 */
export function getStoredRecord(
  stored: unknown,
  keys: RecordKeys,
  scope: Omit<RecordScope, 'uid'>,
): VerificationRecord | undefined {
  if (!isJsonObject(stored) || !hasRecord(stored)) return undefined;
  const md = isJsonObject(stored.metadata) ? stored.metadata : {};
  const uid = typeof md.uid === 'string' ? md.uid : '';
  const entries = (): VerificationRecord => {
    const { images, scoped } = decode(stored);
    return { images, scoped };
  };
  if (uid && getRecordSealTime(stored, keys, { ...scope, uid }) !== undefined) return entries();
  const issuedAt = getRecordSealTime(stored, keys, { ...scope, uid: '' });
  if (issuedAt === undefined) return undefined;
  const created = typeof md.creationTimestamp === 'string' ? Date.parse(md.creationTimestamp) / 1000 : NaN;
  if (!Number.isFinite(created)) return undefined;
  if (
    issuedAt < created - RECORD_MAX_AGE_SECONDS - RECORD_CLOCK_SKEW_SECONDS ||
    issuedAt > created + RECORD_CLOCK_SKEW_SECONDS
  ) return undefined;
  return entries();
}

/**
 * The part of the object's record sigward trusts: all of it when sealed fresh
 * for this scope, else (UPDATE) the entries the stored record holds unchanged,
 * else nothing. `untrusted` tells whether anything else was there.
 */
export function getTrustedRecord(object: unknown, ctx: RecordContext, stored?: VerificationRecord): TrustedRecord {
  if (!hasRecord(object)) return { ...emptyRecord(), untrusted: false };
  const mine = decode(object);
  const issuedAt = getRecordSealTime(object, ctx.keys, ctx.scope);
  const now = seconds(ctx.now);
  if (
    issuedAt !== undefined && now - issuedAt <= RECORD_MAX_AGE_SECONDS && issuedAt - now <= RECORD_CLOCK_SKEW_SECONDS
  ) {
    return { images: mine.images, scoped: mine.scoped, untrusted: mine.unreadable };
  }
  const out = emptyRecord();
  let untrusted = mine.unreadable;
  for (const [image, st] of Object.entries(mine.images)) {
    if (stored && Object.hasOwn(stored.images, image) && stored.images[image] === st) {
      setOwn(out.images as JsonObject, image, st);
    } else untrusted = true;
  }
  for (const [policy, rules] of Object.entries(mine.scoped.policies)) {
    for (const [rule, imgs] of Object.entries(rules)) {
      for (const [image, st] of Object.entries(imgs)) {
        if (stored && getScopedVerifyStatus(stored.scoped, policy, rule, image) === st) {
          recordEntry(out.scoped, policy, rule, image, st);
        } else untrusted = true;
      }
    }
  }
  return { ...out, untrusted };
}

function recordEntry(
  scoped: ScopedVerifyImages,
  policy: string,
  rule: string,
  image: string,
  st: VerifyImageStatus,
): void {
  const policies = scoped.policies as unknown as JsonObject;
  let rules = getOwn(policies, policy);
  if (!isJsonObject(rules)) setOwn(policies, policy, rules = {});
  let imgs = getOwn(rules, rule);
  if (!isJsonObject(imgs)) setOwn(rules, rule, imgs = {});
  setOwn(imgs, image, st);
}

/** True when the record holds no entry. */
export function isEmptyRecord(r: VerificationRecord): boolean {
  return Object.keys(r.images).length === 0 &&
    Object.values(r.scoped.policies).every((rules) =>
      Object.values(rules).every((imgs) => Object.keys(imgs).length === 0)
    );
}

/**
 * Patches that leave exactly `record` in the object, sealed now for the
 * context's scope (annotations first, as Kyverno orders them); an empty record
 * removes the record annotations the object has.
 */
export function toRecordPatches(object: unknown, record: VerificationRecord, ctx: RecordContext): JsonPatchOp[] {
  if (isEmptyRecord(record)) {
    const ops: JsonPatchOp[] = [];
    for (const key of [VERIFY_IMAGES_ANNOTATION, VERIFY_IMAGES_SCOPED_ANNOTATION, VERIFY_IMAGES_SEAL_ANNOTATION]) {
      if (getAnnotationText(object, key) !== undefined) ops.push({ op: 'remove', path: annotationPointer(key) });
    }
    return ops;
  }
  const ops: JsonPatchOp[] = [];
  const meta = isJsonObject(object) ? object.metadata : undefined;
  if (!isJsonObject(meta)) ops.push({ op: 'add', path: '/metadata', value: {} });
  ops.push(
    ...verifyImagesAnnotationPatches(isJsonObject(meta) ? object : {}, {
      images: record.images,
      scoped: record.scoped,
    }),
  );
  // the seal is over the very texts just written
  const text = (key: string) =>
    ops.find((o) => o.path === annotationPointer(key) && 'value' in o && typeof o.value === 'string') as {
      value: string;
    } | undefined;
  const seal = toRecordSeal(
    ctx.keys,
    ctx.scope,
    seconds(ctx.now),
    text(VERIFY_IMAGES_ANNOTATION)?.value,
    text(VERIFY_IMAGES_SCOPED_ANNOTATION)?.value,
  );
  ops.push({ op: 'add', path: annotationPointer(VERIFY_IMAGES_SEAL_ANNOTATION), value: seal });
  return ops;
}
