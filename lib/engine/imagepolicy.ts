// sigward's own policy form (`sigward.dev/v1alpha1` ImagePolicy), evaluated
// per image:
//   1. matchImageReferences: `glob` against the image as written and its
//      normalised form (an empty list matches every image);
//   2. attestors: at least one listed attestor must have a valid signature
//      (none listed: no signature required);
//   3. attestations: for each `intoto.type`, a verified statement from one of
//      the attestors; built-in `rules` run on the statements of their type;
//   4. validations: CEL over `image`, `signatures` (attestor name -> bool),
//      `attestations` (name -> list of predicates); each must be true.
// validationActions Deny = Enforce, otherwise Audit.

import { SigwardError, toSigwardError } from '../errors.ts';
import { parseImageFromPodSpec, toKyvernoMatchString, toKyvernoMatchStrings } from '../reference/index.ts';
import { matchesPattern } from '../wildcard.ts';
import { tryKyvernoReference } from '../admission/imageinfo.ts';
import { parsePublicKeys } from '../cosign/keys.ts';
import type { Attestor as CheckAttestor } from '../cosign/checks.ts';
import { toSignatureCheck } from '../cosign/signature-check.ts';
import { verifyImage } from '../cosign/image.ts';
import { signatureRepository } from '../oci/index.ts';
import { toRepositoryRef } from '../cosign/image.ts';
import { verifyImageAttestations } from '../attest/verify.ts';
import { toPredicateType } from '../attest/predicates.ts';
import { compileRule, evaluateRule, ruleAppliesTo } from '../attest/rules.ts';
import { CelCostBudget, compileCel, getAttestationVariables } from '../conditions/cel.ts';
import { type IdentityPolicy, parseTrustedRoot, toTrust } from '../trust/index.ts';
import { sha256 } from '../trust/keys.ts';
import type { ImageValidatingPolicy, IvAttestor } from '../policy/types.ts';
import type { ImageReference } from '../reference/types.ts';
import { type NotaryTrust, toNotaryTrust } from '../notary/index.ts';
import { digestPatch } from '../admission/patch.ts';
import { formatMissingDigestMessage, formatVerifiedMessage, formatVerifyFailedMessage } from '../admission/messages.ts';
import { trustFor } from './attestors.ts';
import { getValidationAction } from './failure-action.ts';
import { findNotaryAttestations, memoVerification, type VerifyContext, verifyNotarySignature } from './verify-image.ts';
import type { ImageResult } from './result.ts';

export interface NativeAttestor {
  name: string;
  checks: { attestor: CheckAttestor; fingerprint: string }[];
  repository?: string;
  annotations: Record<string, string>;
  /** a Notary attestor (notary.certs): `checks` is empty */
  notary?: { trust: NotaryTrust; fingerprint: string };
  /** ctlog.rekorPubKey / ctlog.ctLogPubKey: replace the trust root's Rekor / CT keys (see attestors.ts trustFor) */
  rekorPubKey?: string;
  ctLogPubKey?: string;
  /** cosign.trustedRoot: this attestor's own trusted_root.json (text), instead of the one sigward runs with */
  trustedRoot?: string;
}

/** An ImagePolicy / ImageValidatingPolicy attestor -> sigward checks (cosign: one per keyless identity; notary: its trust store). Throws for kms, expressions. */
export function toNativeAttestor(a: IvAttestor): NativeAttestor {
  if (a.unsupported) throw new SigwardError('NOT_IMPLEMENTED', `attestor ${a.name}: ${a.unsupported}`);
  if (a.notary) {
    const n = a.notary;
    if (n.certs?.expression || n.tsaCerts?.expression) {
      throw new SigwardError(
        'NOT_IMPLEMENTED',
        `attestor ${a.name}: notary certificate expressions are not supported by sigward: give the PEM value`,
      );
    }
    const trust = toNotaryTrust([n.certs?.value], `attestor ${a.name}`, n.tsaCerts?.value);
    const fingerprint = `notary|${trust.certificates.map((x) => x.root.toDER().toString('base64')).join(',')}|${
      (trust.tsaCertificates ?? []).map((x) => x.root.toDER().toString('base64')).join(',')
    }`;
    return { name: a.name, checks: [], annotations: {}, notary: { trust, fingerprint } };
  }
  const c = a.cosign;
  if (!c) throw new SigwardError('NOT_IMPLEMENTED', `attestor ${a.name}: cosign or notary is required`);
  if (c.source?.tagPrefix) {
    throw new SigwardError(
      'NOT_IMPLEMENTED',
      `attestor ${a.name}: source.tagPrefix (signature tag prefixes) is not supported by sigward`,
    );
  }
  const t = { ignoreTlog: c.ctlog?.insecureIgnoreTlog ?? false, ignoreSCT: c.ctlog?.insecureIgnoreSCT ?? false };
  const checks: NativeAttestor['checks'] = [];
  if (c.key) {
    if (!c.key.data) throw new SigwardError('CONFIG_INVALID', `attestor ${a.name}: only key.data is supported offline`);
    checks.push({
      attestor: {
        kind: 'key',
        keys: parsePublicKeys(c.key.data, `attestor ${a.name}`),
        hash: c.key.hashAlgorithm,
        ...t,
        ignoreSCT: true,
      },
      fingerprint: `key|${c.key.data}|${t.ignoreTlog}`,
    });
  }
  if (c.keyless) {
    for (const id of c.keyless.identities) {
      if (id.subjectExpression) {
        throw new SigwardError(
          'NOT_IMPLEMENTED',
          `attestor ${a.name}: keyless subjectExpression is not supported by sigward: use subject or subjectRegExp`,
        );
      }
      const policy: IdentityPolicy = {};
      if (id.subject) policy[/[*?]/.test(id.subject) ? 'subjectWildcard' : 'subject'] = id.subject;
      if (id.subjectRegExp) policy.subjectRegExp = id.subjectRegExp;
      if (id.issuer) policy.issuer = id.issuer;
      if (id.issuerRegExp) policy.issuerRegExp = id.issuerRegExp;
      if (Object.keys(c.keyless.additionalExtensions).length) policy.extensions = c.keyless.additionalExtensions;
      checks.push({
        attestor: { kind: 'keyless', policy, roots: c.keyless.roots, ...t },
        fingerprint: `keyless|${JSON.stringify(policy)}|${c.keyless.roots ?? ''}|${t.ignoreTlog}|${t.ignoreSCT}`,
      });
    }
  }
  if (c.certificate) {
    if (c.certificate.cert?.expression || c.certificate.certChain?.expression) {
      throw new SigwardError(
        'NOT_IMPLEMENTED',
        `attestor ${a.name}: certificate expressions are not supported by sigward: give the PEM value`,
      );
    }
    checks.push({
      attestor: { kind: 'certificate', cert: c.certificate.cert?.value, chain: c.certificate.certChain?.value, ...t },
      fingerprint: `cert|${c.certificate.cert?.value ?? ''}|${c.certificate.certChain?.value ?? ''}|${t.ignoreTlog}`,
    });
  }
  if (!checks.length) {
    throw new SigwardError('CONFIG_INVALID', `attestor ${a.name}: key, keyless or certificate is required`);
  }
  const out: NativeAttestor = {
    name: a.name,
    checks,
    repository: c.source?.repository,
    annotations: c.annotations ?? {},
  };
  if (c.ctlog?.rekorPubKey?.trim()) out.rekorPubKey = c.ctlog.rekorPubKey;
  if (c.ctlog?.ctLogPubKey?.trim()) out.ctLogPubKey = c.ctlog.ctLogPubKey;
  if (c.trustedRoot !== undefined) out.trustedRoot = c.trustedRoot;
  return out;
}

/** The trust material for one attestor: the context's, with ctlog.rekorPubKey / ctLogPubKey swapped in when the policy gives them. */
export function nativeTrust(a: NativeAttestor, ctx: VerifyContext): VerifyContext['trust'] {
  const base = a.trustedRoot === undefined ? ctx.trust : attestorRoot(a, ctx);
  if (!a.rekorPubKey && !a.ctLogPubKey) return base;
  return trustFor(
    base,
    a.rekorPubKey ? { url: '', pubkey: a.rekorPubKey, ignoreTlog: false } : undefined,
    a.ctLogPubKey ? { pubkey: a.ctLogPubKey, ignoreSCT: false } : undefined,
    ctx.trustCache,
  );
}

/** An attestor's own trust root (cosign.trustedRoot), parsed once per engine. */
function attestorRoot(a: NativeAttestor, ctx: VerifyContext): VerifyContext['trust'] {
  const key = `root|${sha256(a.trustedRoot!).toString('hex')}`;
  let t = ctx.trustCache.get(key);
  if (!t) {
    t = toTrust(parseTrustedRoot(a.trustedRoot!, `attestor ${a.name} trustedRoot`), [
      `trustedRoot of attestor ${a.name}`,
    ]);
    ctx.trustCache.set(key, t);
  }
  return t;
}

/** The part of a memo key that depends on the attestor's trust material. */
export function nativeTrustKey(a: NativeAttestor): string {
  const root = a.trustedRoot === undefined ? '' : sha256(a.trustedRoot).toString('hex');
  return `${root}|${a.rekorPubKey ?? ''}|${a.ctLogPubKey ?? ''}`;
}

/**
 * The image's signature checked with one attestor: ok when one of its checks
 * verifies (the result is memoised per digest, repository and check), else
 * the reason of each check. Throws REGISTRY_UNREACHABLE (could not decide).
 */
export async function checkNativeSignature(
  a: NativeAttestor,
  ref: ImageReference,
  digest: string,
  ctx: VerifyContext,
): Promise<{ ok: boolean; reasons: string[] }> {
  const repo = a.repository ? signatureRepository(toRepositoryRef(ref), a.repository) : toRepositoryRef(ref);
  if (a.notary) {
    try {
      await verifyNotarySignature(ref, digest, repo, a.notary, {}, ctx);
      return { ok: true, reasons: [] };
    } catch (e) {
      const err = toSigwardError(e);
      if (err.code === 'REGISTRY_UNREACHABLE') throw err;
      return { ok: false, reasons: [err.message] };
    }
  }
  const trust = nativeTrust(a, ctx);
  const reasons: string[] = [];
  for (const c of a.checks) {
    try {
      await memoVerification(
        ctx,
        `sig|${digest}|${repo.transport}:${repo.registry}/${repo.repository}|native:${c.fingerprint}|${
          nativeTrustKey(a)
        }|${JSON.stringify(a.annotations)}`,
        digest,
        'signature',
        (signal) => {
          return verifyImage({ ...ref, digest }, {
            stores: ctx.stores,
            ...toSignatureCheck(c.attestor, trust),
            signatureRepository: repo,
            annotations: a.annotations,
            signal,
            now: ctx.now,
          });
        },
      );
      return { ok: true, reasons: [] };
    } catch (e) {
      const err = toSigwardError(e);
      if (err.code === 'REGISTRY_UNREACHABLE') throw err;
      reasons.push(err.message);
    }
  }
  return { ok: false, reasons };
}

/**
 * Referrers of artifactType `type` signed with a Notary attestor's
 * certificates: their statements (the referrer manifest with `type` and
 * `predicate`), or why none verified. Throws REGISTRY_UNREACHABLE.
 */
export async function findNotaryReferrers(
  a: NativeAttestor,
  ref: ImageReference,
  digest: string,
  type: string,
  ctx: VerifyContext,
): Promise<{ statements: unknown[]; reasons: string[] }> {
  if (!a.notary) {
    return {
      statements: [],
      reasons: [`attestor ${a.name}: referrer attestations are verified with Notary attestors only`],
    };
  }
  try {
    const r = await findNotaryAttestations(ref, digest, a.notary, type, ctx);
    return { statements: r.verified.map((v) => v.statement), reasons: [] };
  } catch (e) {
    const err = toSigwardError(e);
    if (err.code === 'REGISTRY_UNREACHABLE') throw err;
    return { statements: [], reasons: [err.message] };
  }
}

/**
 * The in-toto statements of predicate `type` verified with one attestor (every
 * check, memoised), and the reason of each check that failed. Throws
 * REGISTRY_UNREACHABLE.
 */
export async function findNativeAttestations(
  a: NativeAttestor,
  ref: ImageReference,
  digest: string,
  type: string,
  ctx: VerifyContext,
): Promise<{ statements: unknown[]; reasons: string[] }> {
  const repo = a.repository ? signatureRepository(toRepositoryRef(ref), a.repository) : toRepositoryRef(ref);
  if (a.notary) {
    return {
      statements: [],
      reasons: [
        `attestor ${a.name}: Notary attestors verify referrer attestations (referrer.type), not in-toto attestations`,
      ],
    };
  }
  const trust = nativeTrust(a, ctx);
  const statements: unknown[] = [];
  const reasons: string[] = [];
  for (const c of a.checks) {
    try {
      const r = await memoVerification(
        ctx,
        `att|${digest}|${repo.transport}:${repo.registry}/${repo.repository}|native:${c.fingerprint}|${
          nativeTrustKey(a)
        }|${type}`,
        digest,
        'attestation',
        (signal) => {
          return verifyImageAttestations({
            store: ctx.stores(repo),
            signatureRepository: repo,
            digest,
            ...toSignatureCheck(c.attestor, trust),
            predicateType: type,
            signal,
            now: ctx.now,
          });
        },
      );
      statements.push(...r.verified.map((v) => v.statement));
    } catch (e) {
      const err = toSigwardError(e);
      if (err.code === 'REGISTRY_UNREACHABLE') throw err;
      reasons.push(err.message);
    }
  }
  return { statements, reasons };
}

function paramsToInput(params: Record<string, unknown>): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [k, v] of Object.entries(params)) out[k] = Array.isArray(v) ? v.map(String) : String(v);
  return out;
}

export function nativeMatches(policy: ImageValidatingPolicy, image: string, ref: ImageReference): boolean {
  const m = policy.spec.matchImageReferences;
  if (!m.length) return true;
  const names = [image, ...toKyvernoMatchStrings(ref)];
  return m.some((x) => x.glob !== undefined && names.some((n) => matchesPattern(x.glob!, n)));
}

/** Evaluates one image against a native ImagePolicy; undefined when the policy does not select it. */
export async function evaluateNativeImage(
  policy: ImageValidatingPolicy,
  img: { image: string; jsonPointer?: string; patchable?: boolean },
  ctx: VerifyContext,
  resolve: (ref: ImageReference) => Promise<string>,
  defaultRegistry?: string,
): Promise<ImageResult | undefined> {
  const action = getValidationAction(policy);
  const base = {
    policy: policy.metadata.name,
    policyNamespace: policy.metadata.namespace,
    rule: policy.kind,
    image: img.image,
    jsonPointer: img.jsonPointer,
    action,
    failurePolicy: policy.spec.failurePolicy,
    required: policy.spec.validationConfigurations.required,
  } as const;
  const fail = (message: string, code?: string, extra: Partial<ImageResult> = {}): ImageResult => ({
    ...base,
    status: 'fail',
    message: formatVerifyFailedMessage(img.image, message),
    code,
    ...extra,
  });
  let ref: ImageReference;
  try {
    ref = parseImageFromPodSpec(img.image, { defaultRegistry });
  } catch (e) {
    // never vanish: a glob that matches the image as written, or as Kyverno reads it, makes it fail
    const m = policy.spec.matchImageReferences;
    const kyverno = tryKyvernoReference(img.image, { defaultRegistry });
    const selected = !m.length ||
      m.some((x) =>
        x.expression !== undefined ||
        (x.glob !== undefined &&
          (matchesPattern(x.glob, img.image) || (kyverno !== undefined && matchesPattern(x.glob, kyverno))))
      );
    return selected ? fail(toSigwardError(e).message, 'REFERENCE_INVALID') : undefined;
  }
  if (policy.spec.matchImageReferences.some((x) => x.expression !== undefined)) {
    return fail('matchImageReferences expressions are not supported by sigward yet: use glob', 'NOT_IMPLEMENTED');
  }
  if (!nativeMatches(policy, img.image, ref)) return undefined;
  const reference = toKyvernoMatchString(ref);
  let digest: string;
  try {
    digest = await resolve(ref);
  } catch (e) {
    const err = toSigwardError(e);
    return {
      ...base,
      reference,
      status: err.code === 'REGISTRY_UNREACHABLE' ? 'error' : 'fail',
      message: formatVerifyFailedMessage(img.image, err.message),
      code: err.code,
    };
  }
  const extra = { reference, digest };
  try {
    const attestors = policy.spec.attestors.map(toNativeAttestor);
    const signatures: Record<string, boolean> = {};
    const reasons: string[] = [];
    for (const a of attestors) {
      const r = await checkNativeSignature(a, ref, digest, ctx);
      signatures[a.name] = r.ok;
      if (!r.ok) reasons.push(...r.reasons.map((m) => `attestors.${a.name}: ${m}`));
    }
    if (attestors.length && !Object.values(signatures).some(Boolean)) {
      return fail(reasons.join('; ') || 'signature not found', 'SIGNATURE_NOT_FOUND', extra);
    }

    const attestations: Record<string, unknown[]> = {};
    const statementsByType = new Map<string, unknown[]>();
    for (const att of policy.spec.attestations) {
      if (!att.intoto) {
        return fail(`attestation ${att.name}: only intoto attestations are supported`, 'NOT_IMPLEMENTED', extra);
      }
      const type = toPredicateType(att.intoto.type);
      const found: unknown[] = [];
      const why: string[] = [];
      for (const a of attestors) {
        const r = await findNativeAttestations(a, ref, digest, type, ctx);
        found.push(...r.statements);
        why.push(...r.reasons.map((m) => `${a.name}: ${m}`));
      }
      if (!found.length) {
        return fail(
          `attestations.${att.name}: no verified attestation of type ${type}${
            why.length ? ' (' + why.join('; ') + ')' : ''
          }`,
          'ATTESTATION_NOT_FOUND',
          extra,
        );
      }
      attestations[att.name] = found.map((s) => (s as { predicate: unknown }).predicate);
      statementsByType.set(type, [...(statementsByType.get(type) ?? []), ...found]);
    }
    const now = ctx.now();
    for (const r of policy.spec.rules) {
      const compiled = compileRule(r.name, paramsToInput(r.params));
      const statements = [...statementsByType.entries()].filter(([type]) => ruleAppliesTo(compiled.rule, type)).flatMap(
        ([, s]) => s,
      );
      if (!statements.length) {
        return fail(
          `rule ${r.name}: no verified attestation of type ${
            compiled.rule.predicateTypes.join(' or ')
          } (list it under attestations)`,
          'ATTESTATION_NOT_FOUND',
          extra,
        );
      }
      for (const st of statements) {
        const res = evaluateRule(
          compiled,
          getAttestationVariables({
            statement: st,
            now,
            image: { registry: ref.registry, repository: ref.repository, tag: ref.tag ?? '', digest },
          }),
        );
        if (!res.passed) return fail(`rule ${r.name}: ${res.failures.join('; ')}`, 'CONDITION_FAILED', extra);
      }
    }
    const budget = new CelCostBudget(); // the validations of one policy share Kubernetes' per-policy budget
    for (const [i, v] of policy.spec.validations.entries()) {
      const program = compileCel(v.expression, { variables: ['image', 'signatures', 'attestations', 'now'] });
      const ok = program.evaluateBool({
        image: { reference, registry: ref.registry, repository: ref.repository, tag: ref.tag ?? '', digest },
        signatures,
        attestations,
        now,
      }, { budget });
      if (!ok) return fail(v.message || `CEL expression validation failed at index ${i}`, 'CONDITION_FAILED', extra);
    }
  } catch (e) {
    const err = toSigwardError(e);
    if (err.code === 'REGISTRY_UNREACHABLE') {
      return {
        ...base,
        ...extra,
        status: 'error',
        message: formatVerifyFailedMessage(img.image, err.message),
        code: err.code,
      };
    }
    return fail(err.message, err.code, extra);
  }
  const cfg = policy.spec.validationConfigurations;
  const patch = cfg.mutateDigest && !ref.digest && img.jsonPointer && img.patchable !== false
    ? digestPatch(img.image, img.jsonPointer, digest, { defaultRegistry })
    : undefined;
  if (cfg.verifyDigest && !ref.digest && !patch && img.jsonPointer) {
    return {
      ...base,
      ...extra,
      status: 'fail',
      message: formatMissingDigestMessage(img.image),
      code: 'MANIFEST_DIGEST_MISMATCH',
    };
  }
  return { ...base, ...extra, status: 'pass', message: formatVerifiedMessage(img.image), ...(patch ? { patch } : {}) };
}
