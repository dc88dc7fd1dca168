// New-format (Sigstore bundle) signatures and attestations of an image, as
// cosign v3 stores them: OCI 1.1 referrers of the image manifest (referrers
// API, else the `sha256-<hex>` tag index), each a manifest with exactly one
// layer whose media type starts with application/vnd.dev.sigstore.bundle and
// whose blob is the bundle JSON.
//
// An image SIGNATURE in this format is a DSSE bundle over an in-toto
// statement with predicateType https://sigstore.dev/cosign/sign/v1 whose
// subject is the image digest (cosign sign), or a message-signature bundle
// whose message digest is the image digest (cosign sign-blob over the
// manifest). Other bundles are attestations: skipped by `verify`, returned by
// getBundleAttestations.

import { BUNDLE_V03_LEGACY_MEDIA_TYPE, BUNDLE_V03_MEDIA_TYPE } from '@sigstore/bundle';
import { type ErrorCode, SigwardError, toRejection } from '../errors.ts';
import type { Descriptor, ImageManifest, OciStore, RepositoryRef } from '../oci/types.ts';
import { MEDIA_TYPES } from '../oci/types.ts';
import {
  IN_TOTO_PAYLOAD_TYPE,
  type InTotoStatement,
  type Trust,
  type VerifiedSignature as TrustVerifiedSignature,
  verifyBundle,
  type VerifyBundleOptions,
} from '../trust/index.ts';
import { toTrustError } from '../trust/errors.ts';
import { COSIGN_SIGN_PREDICATE, toPredicateType } from '../attest/predicates.ts';
import { getSubjectsWithDigest, toStatement } from '../attest/statement.ts';
import { MAX_ATTACHMENT_BYTES, MAX_SIGNATURE_LAYERS } from './annotations.ts';
import { type Attestor, toPrivateCA, toSignerInfo, verifySuppliedCertificate } from './checks.ts';
import { digestTag } from '../digest.ts';
import {
  type ImageSignatures,
  type LayerCheck,
  rankReason,
  type RejectedSignature,
  type SignerInfo,
  verifyImageSignatures,
  type VerifyImageSignaturesOptions,
} from './verify.ts';

/** Layer media types of bundle referrers start with this (cosign GetBundles). */
export const BUNDLE_MEDIA_TYPE_PREFIX = 'application/vnd.dev.sigstore.bundle';
/** artifactType of the referrer manifests cosign writes */
export const BUNDLE_ARTIFACT_TYPE = MEDIA_TYPES.sigstoreBundleV03;

/** Manifest annotations cosign writes on bundle referrers. */
export const BUNDLE_ANNOTATION = {
  content: 'dev.sigstore.bundle.content',
  predicateType: 'dev.sigstore.bundle.predicateType',
  created: 'org.opencontainers.image.created',
} as const;

export { COSIGN_SIGN_PREDICATE };

/** A bundle found among the referrers of an image. */
export interface BundleReferrer {
  /** digest of the referrer manifest */
  manifest: string;
  /** the manifest's annotations (dev.sigstore.bundle.*) */
  annotations: Record<string, string>;
  /** the bundle layer */
  layer: Descriptor;
  /** the bundle JSON bytes (digest-checked); undefined when unusable */
  bundle?: Uint8Array;
  /** why the bundle could not be fetched */
  error?: SigwardError;
}

/**
 * Lists the bundles attached to `digest` (cosign v3 discovery). Referrers
 * that are not single-layer bundle manifests are skipped silently; a referrer
 * manifest that cannot be read is skipped too (a dangling index entry); a
 * bundle blob that is too large or does not match its digest is kept with
 * `error`. Registry failures propagate.
 */
export async function getBundleReferrers(
  store: OciStore,
  repository: RepositoryRef,
  digest: string,
  opts: { signal?: AbortSignal } = {},
): Promise<BundleReferrer[]> {
  const descriptors = await store.referrers(repository, digest, { signal: opts.signal });
  const out: BundleReferrer[] = [];
  const seen = new Set<string>();
  for (const d of descriptors.slice(0, MAX_SIGNATURE_LAYERS)) {
    if (seen.has(d.digest)) continue;
    seen.add(d.digest);
    if (d.mediaType === MEDIA_TYPES.ociIndex || d.mediaType === MEDIA_TYPES.dockerManifestList) continue;
    let manifest: ImageManifest;
    try {
      manifest = (await store.getManifest(repository, d.digest, { signal: opts.signal })).manifest as ImageManifest;
    } catch (e) {
      if (e instanceof SigwardError && e.outcome === 'deny') continue;
      throw e;
    }
    const layers = Array.isArray(manifest.layers) ? manifest.layers : [];
    const layer = layers[0];
    if (
      layers.length !== 1 || !layer || typeof layer.mediaType !== 'string' ||
      !layer.mediaType.startsWith(BUNDLE_MEDIA_TYPE_PREFIX)
    ) continue;
    const ref: BundleReferrer = { manifest: d.digest, annotations: manifest.annotations ?? {}, layer };
    if (typeof layer.size === 'number' && layer.size > MAX_ATTACHMENT_BYTES) {
      ref.error = new SigwardError(
        'CONTENT_TOO_LARGE',
        `bundle ${d.digest} is ${layer.size} bytes, above the ${MAX_ATTACHMENT_BYTES} byte limit`,
      );
    } else {
      try {
        ref.bundle = await store.getBlob(repository, layer.digest, {
          size: layer.size,
          maxBytes: MAX_ATTACHMENT_BYTES,
          signal: opts.signal,
        });
      } catch (e) {
        if (e instanceof SigwardError && (e.outcome === 'deny' || e.code === 'MANIFEST_INVALID')) ref.error = e;
        else throw e;
      }
    }
    out.push(ref);
  }
  return out;
}

// ------------------------------------------------------------------ checks

/** What one bundle verification establishes. */
export interface VerifiedBundle {
  signer: SignerInfo;
  /** dsse: in-toto statement; message: signature over the image manifest */
  content: 'dsse' | 'message';
  mediaType: string;
  statement?: InTotoStatement;
}

/**
 * Verifies one bundle (parsed JSON) for an image digest (`sha256:<hex>`):
 * signature, certificate / key, transparency log, SCT, identity, and the
 * binding to the digest (statement subject / message digest). Throws SigwardError.
 */
/** Checks one bundle for `digest`; `now` as for LayerCheck. */
export type BundleCheck = (bundle: object, digest: string, now?: Date) => Promise<VerifiedBundle>;

function run(bundle: object, opts: VerifyBundleOptions): TrustVerifiedSignature {
  try {
    return verifyBundle(bundle, opts);
  } catch (e) {
    throw toTrustError(e);
  }
}

// A key that did not make the signature: try the next one.
function isWrongKey(e: unknown): boolean {
  return e instanceof SigwardError && e.code === 'SIGNATURE_INVALID';
}

/** The BundleCheck for an attestor (the same attestor model as `.sig` layers). */
export function toBundleCheck(a: Attestor, trust: Trust): BundleCheck {
  const base = { trust, ignoreTlog: a.ignoreTlog, ignoreSCT: a.ignoreSCT };
  const finish = (kind: SignerInfo['kind'], bundle: object, v: TrustVerifiedSignature): VerifiedBundle => {
    const mediaType = String((bundle as { mediaType?: unknown }).mediaType ?? '');
    return {
      signer: toSignerInfo(kind, v),
      content: v.payloadType === undefined ? 'message' : 'dsse',
      mediaType,
      ...(v.statement ? { statement: v.statement } : {}),
    };
  };
  switch (a.kind) {
    case 'key':
      return async (bundle, digest, now) => {
        let first: unknown;
        for (const k of a.keys) {
          try {
            return finish(
              'key',
              bundle,
              run(bundle, { ...base, digest, now, ignoreSCT: true, policy: { publicKey: k.key, hash: a.hash } }),
            );
          } catch (e) {
            if (!isWrongKey(e)) throw e;
            first ??= e;
          }
        }
        throw first ?? new SigwardError('SIGNATURE_INVALID', 'invalid signature');
      };
    case 'certificate': {
      if (!a.cert && !a.chain) {
        throw new SigwardError('CONFIG_INVALID', 'a certificate attestor needs cert and/or certChain');
      }
      const ca = a.chain ? toPrivateCA(a.chain) : undefined;
      return async (bundle, digest, now) => {
        if (a.cert) {
          const leaf = verifySuppliedCertificate(a, ca, now);
          // as cosign: the bundle must carry this certificate, not just its public key
          const policy = { publicKey: a.cert, certificate: leaf.root.toDER() };
          return finish('certificate', bundle, run(bundle, { ...base, digest, now, ignoreSCT: true, policy }));
        }
        return finish('certificate', bundle, run(bundle, { ...base, digest, now, ca, policy: a.policy ?? {} }));
      };
    }
    case 'keyless': {
      const ca = a.roots ? toPrivateCA(a.roots) : undefined;
      return async (bundle, digest, now) =>
        finish('keyless', bundle, run(bundle, { ...base, digest, now, ca, policy: a.policy }));
    }
  }
}

// ------------------------------------------------------- classification

type Classified =
  | { kind: 'signature'; json: object; content: 'dsse' | 'message' }
  | { kind: 'attestation'; json: object; predicateType: string }
  | { kind: 'other'; reason: string };

const MIN_VERSION_MEDIA_TYPES: string[] = [BUNDLE_V03_LEGACY_MEDIA_TYPE, BUNDLE_V03_MEDIA_TYPE];

/**
 * Looks at an (unverified) bundle to decide what it claims to be. Nothing
 * here is trusted: it only decides which check applies.
 * Throws BUNDLE_INVALID / PAYLOAD_INVALID for malformed bundles.
 */
function classifyBundle(ref: BundleReferrer): Classified {
  const annotated = ref.annotations[BUNDLE_ANNOTATION.predicateType];
  let json: {
    mediaType?: unknown;
    dsseEnvelope?: { payloadType?: unknown; payload?: unknown };
    messageSignature?: unknown;
  };
  try {
    json = JSON.parse(Buffer.from(ref.bundle ?? new Uint8Array()).toString('utf8'));
  } catch (e) {
    throw new SigwardError('BUNDLE_INVALID', `bundle is not valid JSON: ${(e as Error).message}`, { cause: e });
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw new SigwardError('BUNDLE_INVALID', 'bundle is not a JSON object');
  }
  if (!MIN_VERSION_MEDIA_TYPES.includes(String(json.mediaType))) {
    throw new SigwardError(
      'BUNDLE_INVALID',
      `bundle media type ${
        JSON.stringify(json.mediaType)
      } is not accepted for images (cosign requires a v0.3 or later bundle)`,
    );
  }
  if (json.messageSignature !== undefined) {
    if (annotated !== undefined && annotated !== COSIGN_SIGN_PREDICATE) {
      return { kind: 'other', reason: `message signature annotated as predicate type ${annotated}` };
    }
    return { kind: 'signature', json, content: 'message' };
  }
  const env = json.dsseEnvelope;
  if (!env || typeof env !== 'object') {
    throw new SigwardError('BUNDLE_INVALID', 'bundle has neither a DSSE envelope nor a message signature');
  }
  if (env.payloadType !== IN_TOTO_PAYLOAD_TYPE) {
    throw new SigwardError(
      'PAYLOAD_INVALID',
      `DSSE payload type ${JSON.stringify(env.payloadType)} is not ${IN_TOTO_PAYLOAD_TYPE}`,
    );
  }
  if (typeof env.payload !== 'string') throw new SigwardError('BUNDLE_INVALID', 'DSSE envelope has no payload');
  const statement = toStatement(Buffer.from(env.payload, 'base64'));
  if (
    statement.predicateType === COSIGN_SIGN_PREDICATE &&
    (annotated === undefined || annotated === COSIGN_SIGN_PREDICATE)
  ) {
    return { kind: 'signature', json, content: 'dsse' };
  }
  return { kind: 'attestation', json, predicateType: statement.predicateType };
}

// ------------------------------------------------------------ signatures

export interface BundleSignature {
  /** digest of the referrer manifest holding the bundle */
  manifest: string;
  mediaType: string;
  content: 'dsse' | 'message';
  signer: SignerInfo;
  statement?: InTotoStatement;
}

export interface RejectedBundle {
  manifest: string;
  code: ErrorCode;
  reason: string;
}

export interface SkippedBundle {
  manifest: string;
  reason: string;
  predicateType?: string;
}

export interface ImageBundles {
  digest: string;
  repository: RepositoryRef;
  verified: BundleSignature[];
  rejected: RejectedBundle[];
  /** bundles that are not image signatures (attestations, foreign content) */
  skipped: SkippedBundle[];
}

export interface VerifyImageBundlesOptions {
  store: OciStore;
  signatureRepository: RepositoryRef;
  digest: string;
  check: BundleCheck;
  /** required annotations (cosign -a): on the statement subject for DSSE signatures */
  annotations?: Record<string, string>;
  signal?: AbortSignal;
  /** the clock handed to the check (default: the real one) */
  now?: () => Date;
}

function verifySubjectAnnotations(
  statement: InTotoStatement | undefined,
  digest: string,
  want: Record<string, string>,
): void {
  const keys = Object.keys(want);
  if (keys.length === 0) return;
  const subjects = statement ? getSubjectsWithDigest(statement, digest) : [];
  const ok = subjects.some((s) => keys.every((k) => s.annotations?.[k] === want[k]));
  if (!ok) {
    const got = subjects[0]?.annotations ?? {};
    throw new SigwardError(
      'ANNOTATION_MISMATCH',
      `annotations mismatch: expected ${JSON.stringify(want)}, signature has ${JSON.stringify(got)}`,
    );
  }
}

/**
 * Verifies every bundle image signature attached to the digest. Never throws
 * for verification failures (they are listed in `rejected`); registry
 * failures propagate.
 */
export async function verifyImageBundles(opts: VerifyImageBundlesOptions): Promise<ImageBundles> {
  const refs = await getBundleReferrers(opts.store, opts.signatureRepository, opts.digest, { signal: opts.signal });
  const result: ImageBundles = {
    digest: opts.digest,
    repository: opts.signatureRepository,
    verified: [],
    rejected: [],
    skipped: [],
  };
  for (const ref of refs) {
    try {
      if (ref.error) throw ref.error;
      const c = classifyBundle(ref);
      if (c.kind === 'other') {
        result.skipped.push({ manifest: ref.manifest, reason: c.reason });
        continue;
      }
      if (c.kind === 'attestation') {
        result.skipped.push({
          manifest: ref.manifest,
          reason: `attestation (predicate type ${c.predicateType}), not an image signature`,
          predicateType: c.predicateType,
        });
        continue;
      }
      const v = await opts.check(c.json, opts.digest, opts.now?.());
      if (v.content === 'message' && opts.annotations && Object.keys(opts.annotations).length > 0) {
        throw new SigwardError(
          'ANNOTATION_MISMATCH',
          'annotations mismatch: a message-signature bundle carries no annotations',
        );
      }
      if (v.content === 'dsse') verifySubjectAnnotations(v.statement, opts.digest, opts.annotations ?? {});
      result.verified.push({
        manifest: ref.manifest,
        mediaType: v.mediaType,
        content: v.content,
        signer: v.signer,
        ...(v.statement ? { statement: v.statement } : {}),
      });
    } catch (caught) {
      const e = toRejection(caught);
      if (!e) throw caught;
      result.rejected.push({ manifest: ref.manifest, code: e.code, reason: e.message });
    }
  }
  return result;
}

// ---------------------------------------------------------- attestations

export interface BundleAttestation {
  manifest: string;
  statement: InTotoStatement;
  signer: SignerInfo;
}

export interface ImageBundleAttestations {
  digest: string;
  /** verified statements of the requested predicate type */
  verified: BundleAttestation[];
  /** predicate types of the other attestation bundles (neither verified nor returned) */
  otherTypes: string[];
  rejected: (RejectedBundle & { predicateType?: string })[];
}

/**
 * Verified in-toto statements from the image's bundle referrers. A bundle
 * counts when its signature verifies for the attestor and a subject of its
 * statement is the image digest. `predicateType` (cosign shortcut or URI)
 * filters; without it every predicate type except cosign's image-signature
 * type is returned. Does not throw when nothing verified; `check` is built
 * with toBundleCheck(attestor, trust).
 */
export async function getBundleAttestations(
  store: OciStore,
  repository: RepositoryRef,
  digest: string,
  check: BundleCheck,
  predicateType?: string,
  opts: { signal?: AbortSignal; now?: () => Date } = {},
): Promise<ImageBundleAttestations> {
  const want = predicateType === undefined ? undefined : toPredicateType(predicateType);
  const refs = await getBundleReferrers(store, repository, digest, opts);
  const result: ImageBundleAttestations = { digest, verified: [], otherTypes: [], rejected: [] };
  for (const ref of refs) {
    const annotated = ref.annotations[BUNDLE_ANNOTATION.predicateType];
    try {
      if (ref.error) throw ref.error;
      const c = classifyBundle(ref);
      if (c.kind === 'other' || (c.kind === 'signature' && c.content === 'message')) continue;
      const type = c.kind === 'attestation' ? c.predicateType : COSIGN_SIGN_PREDICATE;
      if (want === undefined ? type === COSIGN_SIGN_PREDICATE : type !== want) {
        // unverified content is never evaluated; its type is only reported
        if (want !== undefined) result.otherTypes.push(type);
        continue;
      }
      const v = await check(c.json, digest, opts.now?.());
      if (!v.statement) throw new SigwardError('ATTESTATION_INVALID', 'bundle carries no in-toto statement');
      result.verified.push({ manifest: ref.manifest, statement: v.statement, signer: v.signer });
    } catch (caught) {
      const e = toRejection(caught);
      if (!e) throw caught;
      result.rejected.push({
        manifest: ref.manifest,
        code: e.code,
        reason: e.message,
        ...(annotated ? { predicateType: annotated } : {}),
      });
    }
  }
  result.otherTypes = [...new Set(result.otherTypes)];
  return result;
}

// ------------------------------------------------- legacy + bundles, together

/** Legacy `.sig` results plus bundle results; `verified`/`rejected` stay the legacy ones. */
export interface ImageSignaturesWithBundles extends ImageSignatures {
  bundles: ImageBundles;
  /** why the legacy `.sig` check found nothing valid (when bundles verified) */
  legacyError?: { code: ErrorCode; message: string };
  /** why bundle discovery failed (when legacy signatures verified) */
  bundleError?: { code: ErrorCode; message: string };
}

const short = (d: string) => d.replace(/^sha256:/, '').slice(0, 12);

/**
 * cosign v3 looks at bundles and falls back to `.sig` only when there is no
 * bundle; sigward checks both and passes when any signature of either kind
 * verifies, reporting each. When none does, the most specific reason of
 * either kind is thrown (every distinct reason is in the message).
 */
/**
 * The value, or the SigwardError, of a lookup; any other error rejects (as
 * before, when the lookups ran one after the other).
 */
async function settle<T>(p: Promise<T>): Promise<{ value?: T; error?: SigwardError }> {
  try {
    return { value: await p };
  } catch (e) {
    if (!(e instanceof SigwardError)) throw e;
    return { error: e };
  }
}

export async function verifyImageSignaturesWithBundles(
  opts: VerifyImageSignaturesOptions & { bundleCheck: BundleCheck; bundlesOnly?: boolean },
): Promise<ImageSignaturesWithBundles> {
  // The `.sig` tag and the referrers are independent lookups: both start at once
  // (one registry round trip less per verification than one after the other).
  // Kyverno's `type: SigstoreBundle` reads bundles only: a `.sig` signature never counts there
  const legacyWork = opts.bundlesOnly ? undefined : settle(verifyImageSignatures(opts));
  const bundleWork = settle(verifyImageBundles({
    store: opts.store,
    signatureRepository: opts.signatureRepository,
    digest: opts.digest,
    check: opts.bundleCheck,
    annotations: opts.annotations,
    signal: opts.signal,
    now: opts.now,
  }));
  const [legacyOutcome, bundleOutcome] = await Promise.all([legacyWork, bundleWork]);
  const legacy = legacyOutcome?.value;
  const legacyError = legacyOutcome?.error;
  const bundles = bundleOutcome.value;
  const bundleError = bundleOutcome.error;
  const emptyBundles: ImageBundles = {
    digest: opts.digest,
    repository: opts.signatureRepository,
    verified: [],
    rejected: [],
    skipped: [],
  };
  const legacyRejected = (legacyError?.detail?.rejected as RejectedSignature[] | undefined) ?? [];
  const base: ImageSignatures = legacy ?? {
    digest: opts.digest,
    signatureRepository: opts.signatureRepository,
    signatureTag: digestTag(opts.digest, 'sig'),
    verified: [],
    rejected: legacyRejected,
  };
  const errJSON = (e: SigwardError) => ({ code: e.code, message: e.message });
  if ((legacy && legacy.verified.length > 0) || (bundles && bundles.verified.length > 0)) {
    return {
      ...base,
      bundles: bundles ?? emptyBundles,
      ...(legacyError ? { legacyError: errJSON(legacyError) } : {}),
      ...(bundleError ? { bundleError: errJSON(bundleError) } : {}),
    };
  }
  // Nothing verified. Could not decide (registry trouble) beats a denial.
  for (const e of [legacyError, bundleError]) if (e && e.outcome !== 'deny') throw e;
  const b = bundles ?? emptyBundles;
  const skippedNote = b.skipped.length
    ? ` (${b.skipped.length} bundle${b.skipped.length === 1 ? '' : 's'} skipped: ${
      [...new Set(b.skipped.map((s) => s.reason))].join('; ')
    })`
    : '';
  const detail = { rejected: legacyRejected, rejectedBundles: b.rejected, skippedBundles: b.skipped };
  const legacyNotFound = !legacyError || legacyError.code === 'SIGNATURE_NOT_FOUND';
  if (b.rejected.length === 0) {
    if (legacyNotFound) {
      const msg = legacyError?.message ?? 'signature not found';
      throw new SigwardError('SIGNATURE_NOT_FOUND', `${msg}${skippedNote}`, {
        cause: legacyError,
        detail: { ...legacyError?.detail, ...detail },
      });
    }
    throw new SigwardError(legacyError!.code, `${legacyError!.message}${skippedNote}`, {
      cause: legacyError,
      detail: { ...legacyError!.detail, ...detail },
    });
  }
  const candidates: { code: ErrorCode; reason: string }[] = b.rejected.map((r) => ({
    code: r.code,
    reason: `bundle ${short(r.manifest)}: ${r.reason}`,
  }));
  if (!legacyNotFound && legacyError) {
    candidates.push({
      code: legacyError.code,
      reason: `${legacyError.message.replace(/^no matching signatures: /, '')} (.sig)`,
    });
  }
  const best = [...candidates].sort((x, y) => rankReason(x.code) - rankReason(y.code))[0]!;
  const reasons = [...new Set(candidates.map((c) => c.reason))];
  throw new SigwardError(
    best.code,
    reasons.length === 1
      ? `${best.reason}${skippedNote}`
      : `no matching signatures: ${reasons.join('; ')}${skippedNote}`,
    {
      cause: legacyError,
      detail,
    },
  );
}
