// What an UPDATE changed, for the mutate phase. Kyverno does not verify an
// image again when the update leaves its field as it was (the old object was
// admitted with it): the image counts as verified. In exchange the
// `kyverno.io/verify-images` record may not be rewritten by the update: a
// different status for an image the old object recorded, a record that is no
// longer readable, or one that appears or disappears fails every image the
// rule matches ("kyverno.io/verify-images annotation cannot be changed").

import { getStringAt } from '../admission/images.ts';
import { VERIFY_IMAGES_ANNOTATION, getAnnotationText } from '../admission/patch.ts';
import { isJsonObject, jsonEqual } from '../admission/pointer.ts';

export interface UpdateContext {
  /** true when the old object holds the same image string at the same field */
  isUnchanged(jsonPointer: string, image: string): boolean;
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

/** The UPDATE view of a request; undefined for any other operation. */
export function toUpdateContext(operation: string | undefined, object: unknown, oldObject: unknown): UpdateContext | undefined {
  if (operation !== 'UPDATE' || !isJsonObject(oldObject)) return undefined;
  return {
    isUnchanged: (jsonPointer, image) => getStringAt(oldObject, jsonPointer) === image,
    annotationChanged: hasVerifyImagesAnnotationChanged(object, oldObject),
  };
}
