// The validate phase (Kyverno's validating webhook for verifyImages), run
// against the already mutated object, for images matching an entry's
// imageReferences:
//   verifyDigest -> the image must carry a digest: "missing digest for <image>"
//   required     -> the scoped record must say pass or skip for this policy,
//                   rule and image: "unverified image <image>". Only the
//                   record sigward trusts is read (the caller passes it:
//                   getTrustedRecord in lib/admission/record.ts); what a user
//                   wrote into the annotations is never a verification.
// (<image> is Kyverno's imageInfo.String(): `registry/path@digest`, or
// `registry/path:tag` without a digest). `required` applies to entries with
// attestors or attestations, the only ones the mutate phase records.
// Blocking follows the entry's failure action (Enforce blocks, Audit warns).

import { getImageInfo } from '../admission/imageinfo.ts';
import {
  formatBlockedMessage,
  formatMissingDigestMessage,
  formatUnverifiedImageMessage,
} from '../admission/messages.ts';
import { getScopedVerifyStatus, scopedPolicyKey } from '../admission/patch.ts';
import type { ScopedVerifyImages } from '../admission/types.ts';
import { getFailureAction } from '../engine/failure-action.ts';
import type { FailureAction } from '../policy/types.ts';
import { entrySelectsImage } from '../engine/image-selection.ts';
import type { ResourceSelection } from '../engine/selection.ts';
import { isRecordedEntry } from './select.ts';

export interface ValidateFinding {
  policy: string;
  policyNamespace?: string;
  rule: string;
  image: string;
  message: string;
  action: FailureAction;
}

export interface ValidateResult {
  allowed: boolean;
  /** Kyverno-shaped denial when not allowed */
  message?: string;
  /** Audit findings (and Enforce ones when blocked) */
  findings: ValidateFinding[];
  warnings: string[];
  /** images checked */
  checked: number;
}

export interface ValidateOptions {
  defaultRegistry?: string;
  /** the verification record sigward trusts for this object; without one nothing counts as verified */
  record?: ScopedVerifyImages;
}

export function validateImages(
  selection: Pick<ResourceSelection, 'info' | 'rules'>,
  opts: ValidateOptions = {},
): ValidateResult {
  const { info } = selection;
  const namespace = info.namespace || undefined;
  const scoped = opts.record;
  const imgOpts = opts.defaultRegistry ? { defaultRegistry: opts.defaultRegistry } : {};
  const findings: ValidateFinding[] = [];
  let checked = 0;
  // images the rules select, as the engine extracted them (a rule whose images could not be extracted has none)
  for (const { policy, rule, images } of selection.rules) {
    const entries = rule.verifyImages.filter((e) => e.verifyDigest || (e.required && isRecordedEntry(e)));
    if (!entries.length) continue;
    const policyKey = scopedPolicyKey(policy.metadata.namespace, policy.metadata.name);
    for (const entry of entries) {
      for (const img of images) {
        if (!entrySelectsImage(entry, img.image, opts.defaultRegistry)) continue;
        checked++;
        let ref: string;
        let digest = '';
        try {
          const info = getImageInfo(img.image, imgOpts);
          ref = info.reference;
          digest = info.digest;
        } catch {
          ref = img.image;
        }
        const base = {
          policy: policy.metadata.name,
          policyNamespace: policy.metadata.namespace,
          rule: rule.name,
          image: ref,
          action: getFailureAction(policy, entry, namespace),
        };
        if (entry.verifyDigest && !digest) {
          findings.push({ ...base, message: formatMissingDigestMessage(ref) });
          continue;
        }
        if (entry.required && isRecordedEntry(entry)) {
          const st = getScopedVerifyStatus(scoped, policyKey, rule.name, ref);
          if (st !== 'pass' && st !== 'skip') findings.push({ ...base, message: formatUnverifiedImageMessage(ref) });
        }
      }
    }
  }
  const blocking = findings.filter((f) => f.action === 'Enforce');
  const warnings = findings.filter((f) => f.action !== 'Enforce').map((f) =>
    `policy ${f.policy}.${f.rule}: ${f.message}`
  );
  if (!blocking.length) return { allowed: true, findings, warnings, checked };
  // one message per policy/rule, as Kyverno reports the first failing image of a rule
  const byRule = new Map<string, ValidateFinding>();
  for (const f of blocking) {
    const k = `${f.policy}\u0000${f.rule}`;
    if (!byRule.has(k)) byRule.set(k, f);
  }
  const message = formatBlockedMessage(
    { kind: info.kind, namespace, name: info.name },
    [...byRule.values()].map((f) => ({ policy: f.policy, rule: f.rule, message: f.message, status: 'fail' as const })),
  );
  return { allowed: false, message, findings, warnings, checked };
}
