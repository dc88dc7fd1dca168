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

export function entrySelectsImage(entry: VerifyImagesEntry, image: string, defaultRegistry?: string): boolean {
  try {
    return matchesAnyPattern(entry.imageReferences, parseImageFromPodSpec(image, { defaultRegistry }));
  } catch {
    const kyverno = tryKyvernoReference(image, { defaultRegistry });
    return kyverno === undefined || entry.imageReferences.some((p) => matchesPattern(p, kyverno));
  }
}
