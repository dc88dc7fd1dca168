// What an UPDATE changed, for the mutate phase. Kyverno does not verify an
// image again when the update leaves its field as it was and the stored
// object's scoped record says the image passed this policy and rule: the
// image counts as verified. Only a record sigward wrote for the stored object
// is asked (its seal is checked by the caller, lib/admission/record.ts): an
// object admitted before the policy existed, or one whose record a user wrote,
// has its images verified again. The `kyverno.io/verify-images` record may not
// be rewritten by the update either: a different status for an image the old
// object recorded, a record that is no longer readable, or one that appears or
// disappears fails every image the rule matches ("kyverno.io/verify-images
// annotation cannot be changed").

import { getImageInfo } from '../admission/imageinfo.ts';
import { getStringAt } from '../admission/images.ts';
import { getAnnotationText, getScopedVerifyStatus, VERIFY_IMAGES_ANNOTATION } from '../admission/patch.ts';
import { isJsonObject, jsonEqual } from '../admission/pointer.ts';
import type { ScopedVerifyImages } from '../admission/types.ts';

export interface UpdateContext {
  /** true when the old object holds the same image string at the same field */
  isUnchanged(jsonPointer: string, image: string): boolean;
  /** isUnchanged, and the stored object's record (sigward's) says pass or skip for this policy, rule and image */
  isVerifiedUnchanged(jsonPointer: string, image: string, policyKey: string, rule: string): boolean;
  /** true when the update rewrote the verify-images record */
  annotationChanged: boolean;
}

function parseObject(text: string): Record<string, unknown> | undefined {
  try {
    const v: unknown = JSON.parse(text);
    return isJsonObject(v) ? v : undefined;
  } catch {
    return undefined;
  }
}

/** Kyverno's rule: equal text is unchanged; otherwise both must parse and agree on every image the old record lists. */
export function hasVerifyImagesAnnotationChanged(object: unknown, oldObject: unknown): boolean {
  const now = getAnnotationText(object, VERIFY_IMAGES_ANNOTATION) ?? '';
  const before = getAnnotationText(oldObject, VERIFY_IMAGES_ANNOTATION) ?? '';
  if (now === before) return false;
  const a = parseObject(now);
  const b = parseObject(before);
  if (!a || !b) return true;
  return Object.keys(b).some((image) => Object.hasOwn(a, image) && !jsonEqual(a[image], b[image]));
}

/** The record key of an image: Kyverno's imageInfo.String(), as the record was written. */
function recordKey(image: string, defaultRegistry: string | undefined): string | undefined {
  try {
    return getImageInfo(image, defaultRegistry ? { defaultRegistry } : {}).reference;
  } catch {
    return undefined;
  }
}

/**
 * The UPDATE view of a request; undefined for any other operation.
 * `oldRecord` is the stored object's record, only when sigward wrote it.
 */
export function toUpdateContext(
  operation: string | undefined,
  object: unknown,
  oldObject: unknown,
  oldRecord?: ScopedVerifyImages,
  defaultRegistry?: string,
): UpdateContext | undefined {
  if (operation !== 'UPDATE' || !isJsonObject(oldObject)) return undefined;
  const isUnchanged = (jsonPointer: string, image: string) => getStringAt(oldObject, jsonPointer) === image;
  return {
    isUnchanged,
    isVerifiedUnchanged(jsonPointer, image, policyKey, rule) {
      if (!oldRecord || !isUnchanged(jsonPointer, image)) return false;
      const key = recordKey(image, defaultRegistry);
      const st = key === undefined ? undefined : getScopedVerifyStatus(oldRecord, policyKey, rule, key);
      return st === 'pass' || st === 'skip';
    },
    annotationChanged: hasVerifyImagesAnnotationChanged(object, oldObject),
  };
}
