// One image against one Kyverno `verifyImages` entry:
//   every attestor set must pass (AND); within a set, entries are tried in
//   order until `count` of them verified (count unset = all);
//   every attestation entry must pass: per attestor set, `count` entries whose
//   attestations of the type verify AND whose every statement passes the
//   conditions; then `validate.deny` over the named predicates.
// Verifications are memoised per evaluation by (digest, attestor, repository,
// annotations), so an image used by many containers or rules is verified once.

import { SigwardError, toSigwardError } from '../errors.ts';
import { type SharedWork, shareWork, toAbandonedError } from '../abort.ts';
import type { ImageReference } from '../reference/types.ts';
import { imageVariable } from '../reference/index.ts';
import { signatureRepository } from '../oci/index.ts';
import type { OciStore, RepositoryRef } from '../oci/types.ts';
import { type ImageVerification, toRepositoryRef, verifyImage } from '../cosign/image.ts';
import { type ImageAttestations, verifyImageAttestations } from '../attest/verify.ts';
import { toPredicateType } from '../attest/predicates.ts';
import {
  type CompiledKyvernoConditions,
  compileKyvernoConditions,
  getKyvernoConditionContext,
} from '../conditions/kyverno.ts';
import type { Trust } from '../trust/index.ts';
import type { Attestation, AttestorSet, VerifyImagesEntry } from '../policy/types.ts';
import {
  anyIdentityAttestor,
  prepareAttestor,
  type PreparedAttestor,
  type PreparedNotaryAttestor,
  prepareNotaryAttestor,
} from './attestors.ts';
import {
  getNotaryAttestations,
  type NotaryArtifactVerification,
  type NotaryAttestations,
  type NotaryTrust,
  verifyNotaryArtifact,
} from '../notary/index.ts';
import {
  formatAttestationChecksFailedMessage,
  formatAttestationCountMessage,
  formatAttestationsNotFoundMessage,
  formatValidateDenyMessage,
} from '../admission/messages.ts';

/**
 * A cache that outlives one evaluation (the webhook's): keys are the memo
 * keys below (`sig|digest|repo|attestor|annotations`, `att|...`,
 * `resolve|ref`); only settled successes should be kept, with a TTL. A
 * pending computation is shared: every evaluation joins it with its own
 * signal, and it is aborted once none of them waits any more.
 */
export interface ResultCache {
  get(key: string): SharedWork<unknown> | undefined;
  /** offered every new computation; implementations keep it once it resolves */
  offer(key: string, work: SharedWork<unknown>): void;
}

export interface VerifyContext {
  stores: (repo: RepositoryRef) => OciStore;
  trust: Trust;
  now: () => Date;
  /** per-evaluation memo of verifications */
  memo: Map<string, SharedWork<unknown>>;
  /** optional cache across evaluations (useCache) */
  cache?: ResultCache;
  trustCache: Map<string, Trust>;
  /** counts verifications actually performed (memo misses) */
  stats: { signatureVerifications: number; attestationVerifications: number; digests: Set<string> };
  /** the evaluation's cancellation (request deadline, client gone): registry requests stop when it fires */
  signal?: AbortSignal;
}

export interface EntryOutcome {
  /** verified signatures / attestations that satisfied the policy */
  verified: boolean;
  /** Kyverno-style failure detail (`.attestors[0].entries[0].keys: signature not found`) */
  message?: string;
  /** the most telling error code */
  code?: string;
  /** an error that means "could not decide" (registry unreachable) */
  undecided?: SigwardError;
}

/**
 * One computation per key for this evaluation (and, through ctx.cache, across
 * evaluations). `fn` gets the work's own signal: it fires when every
 * evaluation waiting for the result has given up, never because one of them did.
 */
export function memo<T>(ctx: VerifyContext, key: string, fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
  if (ctx.signal?.aborted) return Promise.reject(toAbandonedError(ctx.signal));
  let w = ctx.memo.get(key) as SharedWork<T> | undefined;
  if (!w || w.abandoned) {
    w = ctx.cache?.get(key) as SharedWork<T> | undefined;
    if (!w || w.abandoned) {
      w = shareWork(fn);
      ctx.cache?.offer(key, w as SharedWork<unknown>);
    }
    ctx.memo.set(key, w as SharedWork<unknown>);
  }
  return w.join(ctx.signal);
}

/**
 * A signature or attestation verification of `digest`, memoised as memo does
 * and counted in the evaluation's stats only when it really runs (not when a
 * memoised or cached result answers).
 */
export function memoVerification<T>(
  ctx: VerifyContext,
  key: string,
  digest: string,
  kind: 'signature' | 'attestation',
  fn: (signal: AbortSignal) => Promise<T>,
): Promise<T> {
  return memo(ctx, key, (signal) => {
    if (kind === 'signature') ctx.stats.signatureVerifications++;
    else ctx.stats.attestationVerifications++;
    ctx.stats.digests.add(digest);
    return fn(signal);
  });
}

/** Errors a registry or network produced: Kyverno counts only these as rule errors. */
function isUndecided(e: SigwardError): boolean {
  return e.code === 'REGISTRY_UNREACHABLE';
}

function repoFor(ref: ImageReference, entryRepo: string | undefined, ruleRepo: string | undefined): RepositoryRef {
  const o = entryRepo || ruleRepo;
  return o ? signatureRepository(toRepositoryRef(ref), o) : toRepositoryRef(ref);
}

/**
 * Which signature formats an entry reads: Kyverno `type: SigstoreBundle` reads
 * Sigstore bundles only, `Cosign` both cosign formats, `Notary` Notary
 * Project signatures only.
 */
export type SignatureFormats = 'any' | 'bundles' | 'notary';

function formatsOf(entry: VerifyImagesEntry): SignatureFormats {
  return entry.type === 'SigstoreBundle' ? 'bundles' : entry.type === 'Notary' ? 'notary' : 'any';
}

async function verifySignaturesWith(
  ref: ImageReference,
  digest: string,
  a: PreparedAttestor,
  ruleRepo: string | undefined,
  ctx: VerifyContext,
  formats: SignatureFormats,
): Promise<ImageVerification> {
  const repo = repoFor(ref, a.repository, ruleRepo);
  const key = `sig|${formats}|${digest}|${repo.transport}:${repo.registry}/${repo.repository}|${a.fingerprint}|${
    JSON.stringify(a.annotations)
  }`;
  return memoVerification(ctx, key, digest, 'signature', (signal) => {
    return verifyImage({ ...ref, digest }, {
      stores: ctx.stores,
      check: a.check,
      bundleCheck: a.bundleCheck,
      signatureRepository: repo,
      annotations: a.annotations,
      signal,
      now: ctx.now,
      bundlesOnly: formats === 'bundles',
    });
  });
}

async function verifyAttestationsWith(
  ref: ImageReference,
  digest: string,
  a: PreparedAttestor,
  type: string,
  ruleRepo: string | undefined,
  ctx: VerifyContext,
  formats: SignatureFormats,
): Promise<ImageAttestations> {
  const repo = repoFor(ref, a.repository, ruleRepo);
  const key = `att|${formats}|${digest}|${repo.transport}:${repo.registry}/${repo.repository}|${a.fingerprint}|${type}`;
  return memoVerification(ctx, key, digest, 'attestation', (signal) => {
    return verifyImageAttestations({
      store: ctx.stores(repo),
      signatureRepository: repo,
      digest,
      check: a.check,
      bundleCheck: a.bundleCheck,
      predicateType: type,
      signal,
      now: ctx.now,
      bundlesOnly: formats === 'bundles',
    });
  });
}

async function verifyNotaryWith(
  ref: ImageReference,
  digest: string,
  a: PreparedNotaryAttestor,
  ruleRepo: string | undefined,
  ctx: VerifyContext,
): Promise<NotaryArtifactVerification> {
  return verifyNotarySignature(ref, digest, repoFor(ref, a.repository, ruleRepo), a, a.annotations, ctx);
}

/**
 * The image's Notary signature in `repo` checked with a trust store (both
 * policy formats), memoised per digest, repository, trust and required
 * payload annotations. Throws as verifyNotaryArtifact does.
 */
export function verifyNotarySignature(
  ref: ImageReference,
  digest: string,
  repo: RepositoryRef,
  notary: { trust: NotaryTrust; fingerprint: string },
  annotations: Record<string, string>,
  ctx: VerifyContext,
): Promise<NotaryArtifactVerification> {
  const key = `notary|${digest}|${repo.transport}:${repo.registry}/${repo.repository}|${notary.fingerprint}|${
    JSON.stringify(annotations)
  }`;
  return memoVerification(ctx, key, digest, 'signature', () => {
    return verifyNotaryArtifact({
      stores: ctx.stores,
      repository: toRepositoryRef(ref),
      signatureRepository: repo,
      digest,
      trust: notary.trust,
      annotations,
      now: ctx.now(),
      signal: ctx.signal,
    });
  });
}

/**
 * The image's referrers of artifactType `type` signed with a trust store's
 * certificates (both policy formats), memoised per digest, trust and type.
 */
export function findNotaryAttestations(
  ref: ImageReference,
  digest: string,
  notary: { trust: NotaryTrust; fingerprint: string },
  type: string,
  ctx: VerifyContext,
): Promise<NotaryAttestations> {
  const repo = toRepositoryRef(ref);
  const key =
    `notary-att|${digest}|${repo.transport}:${repo.registry}/${repo.repository}|${notary.fingerprint}|${type}`;
  return memoVerification(ctx, key, digest, 'attestation', () => {
    return getNotaryAttestations({
      stores: ctx.stores,
      repository: repo,
      digest,
      type,
      trust: notary.trust,
      now: ctx.now(),
      signal: ctx.signal,
    });
  });
}

const preparedNotaryCache = new WeakMap<object, Map<string, PreparedNotaryAttestor>>();
function preparedNotary(entry: AttestorSet['entries'][number], label: string): PreparedNotaryAttestor {
  let byLabel = preparedNotaryCache.get(entry);
  if (!byLabel) preparedNotaryCache.set(entry, byLabel = new Map());
  let p = byLabel.get(label);
  if (!p) byLabel.set(label, p = prepareNotaryAttestor(entry, label));
  return p;
}

// Parsing keys and building checks once per attestor entry (policies are
// immutable once loaded; a reload makes new objects).
const preparedCache = new WeakMap<object, WeakMap<Trust, Map<string, PreparedAttestor>>>();
function prepared_(entry: AttestorSet['entries'][number], label: string, ctx: VerifyContext): PreparedAttestor {
  let byTrust = preparedCache.get(entry);
  if (!byTrust) preparedCache.set(entry, byTrust = new WeakMap());
  let byLabel = byTrust.get(ctx.trust);
  if (!byLabel) byTrust.set(ctx.trust, byLabel = new Map());
  let p = byLabel.get(label);
  if (!p) {
    p = prepareAttestor(entry, label, ctx.trust, ctx.trustCache);
    byLabel.set(label, p);
  }
  return p;
}

interface SetOutcome {
  ok: boolean;
  verified: number;
  required: number;
  errors: string[];
  codes: string[];
  undecided?: SigwardError;
}

async function verifyAttestorSet(
  ref: ImageReference,
  digest: string,
  set: AttestorSet,
  label: string,
  ruleRepo: string | undefined,
  ctx: VerifyContext,
  formats: SignatureFormats,
): Promise<SetOutcome> {
  const required = set.requiredCount || set.entries.length;
  const out: SetOutcome = { ok: false, verified: 0, required, errors: [], codes: [] };
  for (const [j, entry] of set.entries.entries()) {
    const entryLabel = `${label}.entries[${j}]`;
    try {
      if (entry.kind === 'attestor' && entry.attestor) {
        const nested = await verifyAttestorSet(
          ref,
          digest,
          entry.attestor,
          `${entryLabel}.attestor`,
          entry.repository ?? ruleRepo,
          ctx,
          formats,
        );
        if (nested.undecided) out.undecided ??= nested.undecided;
        if (!nested.ok) {
          out.errors.push(...nested.errors);
          out.codes.push(...nested.codes);
          continue;
        }
      } else if (formats === 'notary') {
        await verifyNotaryWith(ref, digest, preparedNotary(entry, `${entryLabel}.${entry.kind}`), ruleRepo, ctx);
      } else {
        const prepared = prepared_(entry, `${entryLabel}.${entry.kind}`, ctx);
        await verifySignaturesWith(ref, digest, prepared, ruleRepo, ctx, formats);
      }
      out.verified++;
      if (out.verified >= required) {
        out.ok = true;
        return out;
      }
    } catch (e) {
      const err = toSigwardError(e);
      if (
        isUndecided(err) ||
        err.outcome === 'undecided' && err.code !== 'REGISTRY_ERROR' && err.code !== 'REGISTRY_UNAUTHORIZED' &&
          err.code !== 'REGISTRY_RATE_LIMITED'
      ) out.undecided ??= err;
      out.errors.push(`${entryLabel}${entry.kind === 'attestor' ? '' : '.' + entry.kind}: ${err.message}`);
      out.codes.push(err.code);
    }
  }
  return out;
}

const compiledConditions = new WeakMap<object, CompiledKyvernoConditions>();
function conditionsOf(att: Attestation, where: string): CompiledKyvernoConditions {
  let c = compiledConditions.get(att);
  if (!c) {
    c = compileKyvernoConditions(att.conditions, { where });
    compiledConditions.set(att, c);
  }
  return c;
}

/**
 * The attestation's conditions over every verified statement (its predicate
 * at the root, the rule's context variables and `image` beside it): the
 * Kyverno-worded failure of the first statement that fails, or undefined.
 */
function checkAttestationConditions(
  att: Attestation,
  i: number,
  statements: readonly { statement: { predicate?: unknown } }[],
  ref: ImageReference,
  variables: Record<string, unknown>,
  imageText: string,
  type: string,
  ctx: VerifyContext,
): string | undefined {
  const conds = conditionsOf(att, `.attestations[${i}]`);
  for (const v of statements) {
    const context = getKyvernoConditionContext(v.statement.predicate, { ...variables, image: imageVariable(ref) });
    const r = conds.evaluate(context, { now: ctx.now() });
    if (!r.passed) return formatAttestationChecksFailedMessage(imageText, type, r.failures.join('; '));
  }
  return undefined;
}

/**
 * The attestation's conditions over the statements an attestor verified;
 * when they pass, the first statement's predicate is kept under the
 * attestation's name (for validate.deny). The failure otherwise.
 */
function acceptStatements(
  att: Attestation,
  i: number,
  statements: readonly VerifiedStatement[],
  ref: ImageReference,
  variables: Record<string, unknown>,
  imageText: string,
  type: string,
  ctx: VerifyContext,
  predicates: Record<string, unknown>,
): string | undefined {
  const failed = checkAttestationConditions(att, i, statements, ref, variables, imageText, type, ctx);
  if (failed) return failed;
  if (att.name && statements[0] && !(att.name in predicates)) predicates[att.name] = statements[0].statement.predicate;
  return undefined;
}

type VerifiedStatement = { statement: { predicate?: unknown } };

/** One attestor of an attestation's set: where it stands in the policy, and how it finds its statements. */
interface AttestationCandidate {
  label: string;
  find: () => Promise<{ verified: readonly VerifiedStatement[] }>;
}

/**
 * One attestor set of an attestation, both signature formats: candidates in
 * order until `required` of them found statements that `accept` takes; a
 * string candidate is an attestor that could not be prepared. undefined when
 * the set is satisfied, else the outcome (every candidate's reason, and the
 * first could-not-decide error, so that the webhook can tell it from a deny).
 */
async function verifyAttestationSet(
  candidates: readonly (AttestationCandidate | string)[],
  required: number,
  accept: (found: { verified: readonly VerifiedStatement[] }) => string | undefined,
  describe: (err: SigwardError) => string,
): Promise<EntryOutcome | undefined> {
  let verified = 0;
  const errors: string[] = [];
  let undecided: SigwardError | undefined;
  for (const c of candidates) {
    if (typeof c === 'string') {
      errors.push(c);
      continue;
    }
    try {
      // every statement of the type must pass the conditions
      const failed = accept(await c.find());
      if (failed) {
        errors.push(`${c.label}: ${failed}`);
        continue;
      }
      verified++;
      if (verified >= required) break;
    } catch (e) {
      const err = toSigwardError(e);
      if (isUndecided(err)) undecided ??= err;
      errors.push(`${c.label}: ${describe(err)}`);
    }
  }
  if (verified >= required) return undefined;
  return {
    verified: false,
    message: formatAttestationCountMessage(verified, required, errors.join('; ')),
    code: 'ATTESTATION_INVALID',
    undecided,
  };
}

/** One attestation of a verifyImages entry, for the image being verified. */
interface AttestationTask {
  ref: ImageReference;
  digest: string;
  att: Attestation;
  /** its index in entry.attestations (for messages) */
  i: number;
  entry: VerifyImagesEntry;
  ctx: VerifyContext;
  /** the image as written */
  imageText: string;
  /** predicates of the attestations verified so far, by attestation name (validate.deny reads them) */
  predicates: Record<string, unknown>;
  variables: Record<string, unknown>;
}

async function verifyAttestation(task: AttestationTask): Promise<EntryOutcome> {
  const { ref, digest, att, i, entry, ctx, imageText, predicates, variables } = task;
  const type = toPredicateType(att.type);
  // An attestation without attestors: Kyverno >= 1.10 checks it with an empty
  // (any identity) keyless entry, older Kyverno with the entry's attestors.
  // The older reading is stricter and is what the policies in Kyverno's own
  // guides expect (code review signed with the key the entry names).
  const sets = att.attestors.length
    ? att.attestors
    : entry.attestors.some((x) => x.entries.some((e) => e.kind !== 'attestor'))
    ? entry.attestors
    : [undefined];
  const accept = (found: { verified: readonly VerifiedStatement[] }) =>
    acceptStatements(att, i, found.verified, ref, variables, imageText, type, ctx, predicates);
  const describe = (err: SigwardError) =>
    err.code === 'ATTESTATION_NOT_FOUND' && !err.detail?.rejected
      ? formatAttestationsNotFoundMessage(type)
      : err.message;
  for (const [s, set] of sets.entries()) {
    const entries = set ? set.entries : [];
    const required = set ? set.requiredCount || entries.length : 1;
    const prepared: (PreparedAttestor | string)[] = set
      ? entries.map((e, k) => {
        const label = `.attestations[${i}].attestors[${s}].entries[${k}]`;
        try {
          if (e.kind === 'attestor') return `${label}: nested attestors are not supported for attestations`;
          return prepared_(e, `${label}.${e.kind}`, ctx);
        } catch (err) {
          return `${label}: ${toSigwardError(err).message}`;
        }
      })
      : [anyIdentityAttestor(`.attestations[${i}].attestors[0].entries[0]`, ctx.trust)];
    const candidates = prepared.map((c) =>
      typeof c === 'string' ? c : {
        label: c.label,
        find: () => verifyAttestationsWith(ref, digest, c, type, entry.repository, ctx, formatsOf(entry)),
      }
    );
    const short = await verifyAttestationSet(candidates, required, accept, describe);
    if (short) return short;
  }
  return { verified: true };
}

/**
 * A Notary attestation: referrers of artifactType `att.type` signed by the
 * attestation's certificates (else the entry's), every verified one passing
 * the conditions over its predicate. An attestation without certificates
 * anywhere cannot be verified (Kyverno accepts it unsigned).
 */
async function verifyNotaryAttestation(task: AttestationTask): Promise<EntryOutcome> {
  const { ref, digest, att, i, entry, ctx, imageText, predicates, variables } = task;
  const sets = att.attestors.length ? att.attestors : entry.attestors;
  if (!sets.length) {
    return {
      verified: false,
      message:
        `.attestations[${i}]: a Notary attestation needs attestors with certificates: sigward does not accept unsigned referrers`,
      code: 'CONFIG_INVALID',
    };
  }
  const accept = (found: { verified: readonly VerifiedStatement[] }) =>
    acceptStatements(att, i, found.verified, ref, variables, imageText, att.type, ctx, predicates);
  for (const [s, set] of sets.entries()) {
    const required = set.requiredCount || set.entries.length;
    const candidates = set.entries.map((e, k): AttestationCandidate => {
      const label = `.attestations[${i}].attestors[${s}].entries[${k}]`;
      return {
        label,
        find: () => {
          if (e.kind === 'attestor') {
            throw new SigwardError('POLICY_INVALID', 'nested attestors are not supported for attestations');
          }
          return findNotaryAttestations(ref, digest, preparedNotary(e, `${label}.${e.kind}`), att.type, ctx);
        },
      };
    });
    const short = await verifyAttestationSet(candidates, required, accept, (err) => err.message);
    if (short) return short;
  }
  return { verified: true };
}

/**
 * Verifies one image (already resolved to `digest`) against one verifyImages
 * entry. Never throws for verification failures: they are in the outcome.
 */
export async function verifyImageEntry(
  ref: ImageReference,
  digest: string,
  entry: VerifyImagesEntry,
  ctx: VerifyContext,
  imageText: string,
  variables: Record<string, unknown> = {},
): Promise<EntryOutcome> {
  for (const [i, set] of entry.attestors.entries()) {
    const r = await verifyAttestorSet(ref, digest, set, `.attestors[${i}]`, entry.repository, ctx, formatsOf(entry));
    if (!r.ok) {
      const detail = r.errors.length
        ? r.errors.join('; ')
        : `.attestors[${i}]: verifiedCount ${r.verified} < requiredCount ${r.required}`;
      const code = r.codes.find((c) => c !== 'SIGNATURE_NOT_FOUND') ?? r.codes[0];
      return { verified: false, message: detail, code, undecided: r.undecided };
    }
  }
  const predicates: Record<string, unknown> = {};
  for (const [i, att] of entry.attestations.entries()) {
    const r = entry.type === 'Notary'
      ? await verifyNotaryAttestation({ ref, digest, att, i, entry, ctx, imageText, predicates, variables })
      : await verifyAttestation({ ref, digest, att, i, entry, ctx, imageText, predicates, variables });
    if (!r.verified) return r;
  }
  if (entry.validate?.deny?.conditions) {
    const deny = compileKyvernoConditions([entry.validate.deny.conditions], { where: 'validate.deny' });
    const r = deny.evaluate({ ...variables, ...predicates, image: imageVariable(ref) }, { now: ctx.now() });
    // a deny that cannot be evaluated denies (Kyverno: a rule error), it never allows
    if (r.error) {
      return { verified: false, message: `validate.deny: ${r.failures.join('; ')}`, code: 'CONDITION_INVALID' };
    }
    if (r.passed) {
      return {
        verified: false,
        message: formatValidateDenyMessage(entry.validate.message ?? 'denied'),
        code: 'CONDITION_FAILED',
      };
    }
  }
  return { verified: true };
}
