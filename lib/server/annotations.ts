// The mutate phase's record of what was verified, as Kyverno writes it:
//   kyverno.io/verify-images         {"<registry/path@digest>": "pass|fail|skip"}
//   kyverno.io/verify-images-scoped  {"version":1,"policies":{"<ns>/<policy>":{"<rule>":{"<image>":"pass"}}}}
// plus sigward's seal over both (lib/admission/record.ts). The image key is
// the reference the validate phase will read from the mutated object:
// `registry/path@digest` once mutateDigest pinned it, else the reference as
// written (Kyverno's imageInfo.String()). An error (registry unreachable) is
// recorded as fail. The record written is the part of the object's record
// sigward trusts (getTrustedRecord: sealed by sigward for this object) with
// the rules evaluated now replaced, never merged; entries sigward did not
// write (a user's) are dropped.

import { getImageInfo } from '../admission/imageinfo.ts';
import { scopedPolicyKey } from '../admission/patch.ts';
import {
  type RecordContext,
  toRecordPatches,
  type TrustedRecord,
  type VerificationRecord,
} from '../admission/record.ts';
import { getOwn, isJsonObject, setOwn } from '../admission/pointer.ts';
import type { JsonObject, JsonPatchOp, VerifyImageStatus } from '../admission/types.ts';
import type { Evaluation, ImageResult } from '../engine/result.ts';
import { entrySelectsImage } from '../engine/image-selection.ts';
import type { SelectedRule } from '../engine/selection.ts';
import { isRecordedEntry } from './select.ts';

const RANK: Record<VerifyImageStatus, number> = { fail: 2, pass: 1, skip: 0 };

/** The annotation key of an image result: what validate will look up in the mutated object. */
export function getRecordedImageKey(result: Pick<ImageResult, 'image' | 'patch'>, defaultRegistry?: string): string {
  const opts = defaultRegistry ? { defaultRegistry } : {};
  const pinned = result.patch && 'value' in result.patch && typeof result.patch.value === 'string'
    ? result.patch.value
    : undefined;
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
  /** what of the object's current record sigward trusts (getTrustedRecord) */
  trusted: TrustedRecord;
  /** keys, scope and clock of the seal */
  record: RecordContext;
}

/** A record entry set, for the merge below. */
function setEntry(target: JsonObject, path: string[], st: VerifyImageStatus): void {
  let node = target;
  for (const seg of path.slice(0, -1)) {
    let next = getOwn(node, seg);
    if (!isJsonObject(next)) setOwn(node, seg, next = {});
    node = next;
  }
  setOwn(node, path[path.length - 1]!, st);
}

/**
 * Annotation patches for an evaluation, to be sent before the digest
 * patches: the trusted record with the evaluated rules' results, sealed.
 * Empty when nothing is recorded and nothing untrusted has to go. `selected`
 * are the rules that applied (used to find which entries record results).
 */
export function getVerificationAnnotationPatches(
  object: unknown,
  evaluation: Evaluation,
  selected: readonly SelectedRule[],
  opts: RecordOptions,
): JsonPatchOp[] {
  const ruleIndex = new Map<string, SelectedRule>();
  for (const s of selected) {
    ruleIndex.set(`${scopedPolicyKey(s.policy.metadata.namespace, s.policy.metadata.name)}\u0000${s.rule.name}`, s);
  }

  const fresh = new Map<string, Map<string, Map<string, VerifyImageStatus>>>(); // policyKey -> rule -> image -> status
  const flat = new Map<string, VerifyImageStatus>();
  for (const r of evaluation.rules) {
    const policyKey = scopedPolicyKey(r.policyNamespace, r.policy);
    const sel = ruleIndex.get(`${policyKey}\u0000${r.rule}`);
    if (!sel) continue; // not a verifyImages rule of a Kyverno policy
    for (const im of r.images) {
      const recorded = sel.rule.verifyImages.some((e) =>
        isRecordedEntry(e) && entrySelectsImage(e, im.image, opts.defaultRegistry)
      );
      if (!recorded) continue;
      const key = getRecordedImageKey(im, opts.defaultRegistry);
      const status = toRecordedStatus(im.status);
      let rules = fresh.get(policyKey);
      if (!rules) fresh.set(policyKey, rules = new Map());
      let imgs = rules.get(r.rule);
      if (!imgs) rules.set(r.rule, imgs = new Map());
      const prev = imgs.get(key);
      if (prev === undefined || RANK[status] > RANK[prev]) imgs.set(key, status);
      const prevFlat = flat.get(key);
      if (prevFlat === undefined || RANK[status] > RANK[prevFlat]) flat.set(key, status);
    }
  }
  const { trusted } = opts;
  if (fresh.size === 0 && !trusted.untrusted) return [];

  // scoped: keep the trusted entries of other policies and rules, replace the evaluated rules' maps
  const record: VerificationRecord = { images: {}, scoped: { version: 1, policies: {} } };
  const policies = record.scoped.policies as unknown as JsonObject;
  for (const [policyKey, rules] of Object.entries(trusted.scoped.policies)) {
    for (const [rule, imgs] of Object.entries(rules)) {
      if (fresh.get(policyKey)?.has(rule)) continue;
      for (const [img, st] of Object.entries(imgs)) setEntry(policies, [policyKey, rule, img], st);
    }
  }
  for (const [policyKey, rules] of fresh) {
    for (const [rule, imgs] of rules) for (const [img, st] of imgs) setEntry(policies, [policyKey, rule, img], st);
  }
  for (const [k, v] of Object.entries(trusted.images)) setEntry(record.images as JsonObject, [k], v);
  for (const [k, v] of flat) setEntry(record.images as JsonObject, [k], v);
  return toRecordPatches(object, record, opts.record);
}
