// Whether a verifyImages entry selects an image: one answer for the engine
// and the webhook's rule selection. imageReferences are matched in every
// spelling of the name (lib/reference/kyverno.ts); an image sigward cannot
// parse never vanishes: it is selected when Kyverno's reading of it matches a
// pattern, or when Kyverno cannot read it either (the rule then fails, as in
// Kyverno: "failed to extract images").

import { matchesAnyPattern, parseImageFromPodSpec } from '../reference/index.ts';
import { matchesPattern } from '../wildcard.ts';
import { tryKyvernoReference } from '../admission/imageinfo.ts';
import type { VerifyImagesEntry } from '../policy/types.ts';

/** Answers per imageReferences list (a loaded policy's, never changed): image -> selected. */
const answers = new WeakMap<readonly string[], Map<string, boolean>>();
/** Images remembered per list; past it the list's answers start again (a busy cluster has far fewer distinct images). */
const MAX_ANSWERS = 1024;

/**
 * Whether the entry selects the image. A review asks it for the same entry
 * and image several times (rule selection, evaluation, the record), so the
 * answer is remembered for the entry's imageReferences: it depends on nothing
 * else.
 */
export function entrySelectsImage(entry: VerifyImagesEntry, image: string, defaultRegistry?: string): boolean {
  let memo = answers.get(entry.imageReferences);
  if (!memo) answers.set(entry.imageReferences, memo = new Map());
  const key = `${defaultRegistry ?? ''}\u0000${image}`;
  let selected = memo.get(key);
  if (selected === undefined) {
    if (memo.size >= MAX_ANSWERS) memo.clear();
    memo.set(key, selected = selects(entry, image, defaultRegistry));
  }
  return selected;
}

function selects(entry: VerifyImagesEntry, image: string, defaultRegistry?: string): boolean {
  try {
    return matchesAnyPattern(entry.imageReferences, parseImageFromPodSpec(image, { defaultRegistry }));
  } catch {
    const kyverno = tryKyvernoReference(image, { defaultRegistry });
    return kyverno === undefined || entry.imageReferences.some((p) => matchesPattern(p, kyverno));
  }
}
