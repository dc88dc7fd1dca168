// The mutate phase's record of what was verified, as Kyverno writes it:
//   kyverno.io/verify-images         {"<registry/path@digest>": "pass|fail|skip"}
//   kyverno.io/verify-images-scoped  {"version":1,"policies":{"<ns>/<policy>":{"<rule>":{"<image>":"pass"}}}}
// The image key is the reference the validate phase will read from the
// mutated object: `registry/path@digest` once mutateDigest pinned it, else the
// reference as written (Kyverno's imageInfo.String()). An error (registry
// unreachable) is recorded as fail. For the rules evaluated now, earlier
// entries (possibly written by the user) are replaced, never merged; entries
// of other policies are kept.

import { getImageInfo } from '../admission/imageinfo.ts';
import {
  readVerifyImagesAnnotation,
  readVerifyImagesScopedAnnotation,
  recordScopedResult,
  scopedPolicyKey,
  verifyImagesAnnotationPatches,
} from '../admission/patch.ts';
import { isJsonObject } from '../admission/pointer.ts';
import type { JsonPatchOp, ScopedVerifyImages, VerifyImageStatus } from '../admission/types.ts';
import type { Evaluation, ImageResult } from '../engine/result.ts';
import { entryMatchesImage, isRecordedEntry, type SelectedRule } from './select.ts';

const RANK: Record<VerifyImageStatus, number> = { fail: 2, pass: 1, skip: 0 };

/** The annotation key of an image result: what validate will look up in the mutated object. */
export function getRecordedImageKey(result: Pick<ImageResult, 'image' | 'patch'>, defaultRegistry?: string): string {
  const opts = defaultRegistry ? { defaultRegistry } : {};
  const pinned = result.patch && 'value' in result.patch && typeof result.patch.value === 'string' ? result.patch.value : undefined;
  try {
    return getImageInfo(pinned ?? result.image, opts).reference;
  } catch {
    return pinned ?? result.image;
  }
}

function toRecordedStatus(s: ImageResult['status']): VerifyImageStatus {
  return s === 'pass' ? 'pass' : s === 'skip' ? 'skip' : 'fail';
}

export interface RecordOptions {
  defaultRegistry?: string;
}

/**
 * Annotation patches for an evaluation (empty when nothing is recorded), to
 * be sent before the digest patches. `selected` are the rules that applied
 * (used to find which entries record results).
 */
export function getVerificationAnnotationPatches(object: unknown, evaluation: Evaluation, selected: readonly SelectedRule[], opts: RecordOptions = {}): JsonPatchOp[] {
  const ruleIndex = new Map<string, SelectedRule>();
  for (const s of selected) ruleIndex.set(`${scopedPolicyKey(s.policy.metadata.namespace, s.policy.metadata.name)}\u0000${s.rule.name}`, s);

  const fresh = new Map<string, Map<string, Map<string, VerifyImageStatus>>>(); // policyKey -> rule -> image -> status
  const flat = new Map<string, VerifyImageStatus>();
  for (const r of evaluation.rules) {
    const policyKey = scopedPolicyKey(r.policyNamespace, r.policy);
    const sel = ruleIndex.get(`${policyKey}\u0000${r.rule}`);
    if (!sel) continue; // not a verifyImages rule of a Kyverno policy
    for (const im of r.images) {
      const recorded = sel.rule.verifyImages.some((e) => isRecordedEntry(e) && entryMatchesImage(e, im.image, opts.defaultRegistry));
      if (!recorded) continue;
      const key = getRecordedImageKey(im, opts.defaultRegistry);
      const status = toRecordedStatus(im.status);
      let rules = fresh.get(policyKey);
      if (!rules) fresh.set(policyKey, (rules = new Map()));
      let imgs = rules.get(r.rule);
      if (!imgs) rules.set(r.rule, (imgs = new Map()));
      const prev = imgs.get(key);
      if (prev === undefined || RANK[status] > RANK[prev]) imgs.set(key, status);
      const prevFlat = flat.get(key);
      if (prevFlat === undefined || RANK[status] > RANK[prevFlat]) flat.set(key, status);
    }
  }
  if (fresh.size === 0) return [];

  // scoped: keep other policies' and rules' entries, replace the evaluated rules' maps
  const existing = readVerifyImagesScopedAnnotation(object);
  let scoped: ScopedVerifyImages | undefined;
  for (const [policyKey, rules] of Object.entries(existing?.policies ?? {})) {
    for (const [rule, imgs] of Object.entries(rules)) {
      if (fresh.get(policyKey)?.has(rule)) continue;
      for (const [img, st] of Object.entries(imgs)) scoped = recordScopedResult(scoped, policyKey, rule, img, st);
    }
  }
  for (const [policyKey, rules] of fresh) {
    for (const [rule, imgs] of rules) for (const [img, st] of imgs) scoped = recordScopedResult(scoped, policyKey, rule, img, st);
  }
  const images = Object.create(null) as Record<string, VerifyImageStatus>;
  for (const [k, v] of Object.entries(readVerifyImagesAnnotation(object) ?? {})) images[k] = v;
  for (const [k, v] of flat) images[k] = v;

  const ops: JsonPatchOp[] = [];
  const meta = isJsonObject(object) ? object.metadata : undefined;
  if (!isJsonObject(meta)) ops.push({ op: 'add', path: '/metadata', value: {} });
  ops.push(...verifyImagesAnnotationPatches(isJsonObject(meta) ? object : {}, { images, scoped }));
  return ops;
}
