// Kyverno ImageValidatingPolicy (policies.kyverno.io) against one admitted
// resource, as Kyverno 1.15+ evaluates it:
//   1. matchConstraints (resourceRules / excludeResourceRules, namespace and
//      object selectors; pod controllers through autogen), then
//      matchConditions (CEL; all must be true);
//   2. `images`: category -> image strings (containers, initContainers,
//      ephemeralContainers, custom spec.images extractors), filtered by
//      matchImageReferences; no image left: the policy does not apply;
//   3. verifyDigest first, then `variables` and `validations` (CEL with
//      Kyverno's verification functions, lib/conditions/cel-kyverno.ts); the
//      first false validation denies with its message;
//   4. mutateDigest: a tag -> digest patch for every image the policy verified.
// CEL is synchronous, verification is not: the validations are evaluated in
// rounds. A verification not done yet is recorded and answered with a
// placeholder; the recorded verifications then run (memoised through ctx),
// and the validations are evaluated again, until a round asks for nothing
// new. Only that last round counts; still pending after MAX_ROUNDS: error.

import { SigwardError, toSigwardError } from '../errors.ts';
import { parseImageFromPodSpec } from '../reference/index.ts';
import { matchesPattern } from '../wildcard.ts';
import type { ImageReference } from '../reference/types.ts';
import { toPredicateType } from '../attest/predicates.ts';
import { CelCostBudget, compileCel, type CompiledCel } from '../conditions/cel.ts';
import {
  IVPOL_MATCH_VARIABLES,
  IVPOL_VARIABLES,
  type IvSession,
  KYVERNO_IMAGE_LIBRARY,
  withIvSession,
} from '../conditions/cel-kyverno.ts';
import type { ImageValidatingPolicy, IvAttestation, LabelSelector } from '../policy/types.ts';
import { type ExtractedImage, getImages } from '../admission/images.ts';
import {
  getIvpolControllerResource,
  IVPOL_DEFAULT_CONTROLLERS,
  toCelPodSpecPath,
} from '../admission/pod-controllers.ts';
import { digestPatch } from '../admission/patch.ts';
import {
  checkNativeSignature,
  findNativeAttestations,
  findNotaryReferrers,
  type NativeAttestor,
  toNativeAttestor,
} from './imagepolicy.ts';
import { toRepositoryRef } from '../cosign/image.ts';
import { selectorMatches } from './match.ts';
import type { VerifyContext } from './verify-image.ts';
import { type ImageResult, type ResultStatus, type RuleResult, toRuleHead } from './result.ts';

const MAX_ROUNDS = 6;

/** The request as the ivpol sees it. */
export interface IvpolRequest {
  operation?: string;
  namespace?: string;
  userInfo?: { username?: string; groups?: string[] };
  /** labels of the namespace; undefined: unknown (namespaceSelector is then not applied) */
  namespaceLabels?: Record<string, string>;
  oldObject?: unknown;
}

export interface IvpolInput {
  policy: ImageValidatingPolicy;
  /** the admitted object; undefined with `images` for a bare image check */
  object?: unknown;
  /** bare image check (`sigward check --image`): these images, no resource matching */
  images?: string[];
  /** the object's images by the built-in extraction, when the engine has them (not extracted again) */
  extracted?: readonly ExtractedImage[];
  request?: IvpolRequest;
  ctx: VerifyContext;
  resolve: (ref: ImageReference) => Promise<string>;
  defaultRegistry?: string;
}

/** RuleResult plus what `required` needs across policies. */
export interface IvpolResult extends RuleResult {
  /** image -> verified by this policy (count > 0 in some call); absent: never checked */
  verifications: Map<string, boolean>;
  /** matched images, when validationConfigurations.required */
  requiredImages: string[];
}

// ---------------------------------------------------------------------------
// matching

/** `Pod` -> `pods`, `NetworkPolicy` -> `networkpolicies`, `Ingress` -> `ingresses`. */
function toResourceName(kind: string): string {
  const k = kind.toLowerCase();
  if (/[^aeiou]y$/.test(k)) return k.slice(0, -1) + 'ies';
  if (/(s|x|z|ch|sh)$/.test(k)) return k + 'es';
  return k + 's';
}

interface ResourceAttrs {
  group: string;
  version: string;
  resource: string;
  operation: string;
}

function ruleMatches(rule: unknown, r: ResourceAttrs): boolean {
  if (typeof rule !== 'object' || rule === null) return false;
  const o = rule as Record<string, unknown>;
  const list = (
    k: string,
  ): string[] => (Array.isArray(o[k]) ? (o[k] as unknown[]).filter((x): x is string => typeof x === 'string') : []);
  const has = (vals: string[], v: string) => vals.includes('*') || vals.includes(v);
  if (!has(list('apiGroups'), r.group)) return false;
  if (!has(list('apiVersions'), r.version)) return false;
  // `pods/*` style subresources are not admitted objects with images: only the resource itself
  if (!has(list('resources'), r.resource)) return false;
  const ops = list('operations');
  if (!ops.includes('*') && !ops.includes(r.operation)) return false;
  return true;
}

function rulesOf(mc: Record<string, unknown> | undefined, key: string): unknown[] {
  const v = mc?.[key];
  return Array.isArray(v) ? v : [];
}

/**
 * matchConstraints: resource rules (pod rules also select pod controllers),
 * selectors. 'autogen': selected only as a pod controller.
 */
export function constraintsMatch(
  policy: ImageValidatingPolicy,
  object: unknown,
  req: IvpolRequest,
): false | 'direct' | 'autogen' {
  const mc = policy.spec.matchConstraints;
  const o = (object && typeof object === 'object' ? object : {}) as {
    kind?: unknown;
    apiVersion?: unknown;
    metadata?: { labels?: unknown };
  };
  const kind = typeof o.kind === 'string' ? o.kind : '';
  const apiVersion = typeof o.apiVersion === 'string' ? o.apiVersion : 'v1';
  const [group, version] = apiVersion.includes('/') ? (apiVersion.split('/') as [string, string]) : ['', apiVersion];
  const attrs: ResourceAttrs = {
    group,
    version,
    resource: toResourceName(kind),
    operation: (req.operation ?? 'CREATE').toUpperCase(),
  };
  if (!mc) return kind === 'Pod' ? 'direct' : getIvpolControllerResource(kind) ? 'autogen' : false;
  const selects = (a: ResourceAttrs) =>
    rulesOf(mc, 'resourceRules').some((r) => ruleMatches(r, a)) &&
    !rulesOf(mc, 'excludeResourceRules').some((r) => ruleMatches(r, a));
  const controllers = (policy.spec.autogenControllers ?? IVPOL_DEFAULT_CONTROLLERS).map((c) => c.toLowerCase());
  let how: false | 'direct' | 'autogen' = selects(attrs) ? 'direct' : false;
  if (
    !how && getIvpolControllerResource(kind) && controllers.includes(getIvpolControllerResource(kind)!) &&
    selects({ group: '', version: 'v1', resource: 'pods', operation: attrs.operation })
  ) how = 'autogen';
  if (!how) return false;
  const labels = o.metadata?.labels && typeof o.metadata.labels === 'object'
    ? (o.metadata.labels as Record<string, string>)
    : {};
  if (mc['objectSelector'] && !selectorMatches(mc['objectSelector'] as LabelSelector, labels)) return false;
  // unknown namespace labels: the selector cannot be decided here, so the policy applies (fail closed)
  if (
    mc['namespaceSelector'] && req.namespaceLabels &&
    !selectorMatches(mc['namespaceSelector'] as LabelSelector, req.namespaceLabels)
  ) return false;
  return how;
}

/** Kyverno's autogen of CEL: `object.spec` of a pod is the controller's pod template spec. */
function autogenExpression(expr: string, kind: string): string {
  const spec = toCelPodSpecPath(kind);
  return expr.replace(/\b(object|oldObject)\.spec\b/g, `$1.${spec}`);
}

// ---------------------------------------------------------------------------
// CEL

const MATCH_VARS = IVPOL_MATCH_VARIABLES;
const ALL_VARS = IVPOL_VARIABLES;
const cel = (expr: string, variables: readonly string[]): CompiledCel =>
  compileCel(expr, { variables, library: KYVERNO_IMAGE_LIBRARY });

function toRequestVar(object: unknown, req: IvpolRequest): Record<string, unknown> {
  const o = (object && typeof object === 'object' ? object : {}) as {
    kind?: unknown;
    apiVersion?: unknown;
    metadata?: { name?: unknown; namespace?: unknown };
  };
  const apiVersion = typeof o.apiVersion === 'string' ? o.apiVersion : 'v1';
  const [group, version] = apiVersion.includes('/') ? apiVersion.split('/') : ['', apiVersion];
  const kind = typeof o.kind === 'string' ? o.kind : '';
  return {
    operation: req.operation ?? 'CREATE',
    namespace: req.namespace ?? (typeof o.metadata?.namespace === 'string' ? o.metadata.namespace : ''),
    name: typeof o.metadata?.name === 'string' ? o.metadata.name : '',
    kind: { group, version, kind },
    resource: { group, version, resource: toResourceName(kind) },
    userInfo: { username: req.userInfo?.username ?? '', groups: req.userInfo?.groups ?? [] },
    object: object ?? null,
    oldObject: req.oldObject ?? null,
  };
}

function imageMatches(policy: ImageValidatingPolicy, image: string): boolean {
  const m = policy.spec.matchImageReferences;
  if (!m.length) return true;
  return m.some((
    x,
  ) => (x.glob !== undefined
    ? matchesPattern(x.glob, image)
    : cel(x.expression, ['ref']).evaluateBool({ ref: image }))
  );
}

// ---------------------------------------------------------------------------
// verification state shared by the rounds

interface Outcome {
  ok: boolean;
  reason?: string;
  /** could not decide (registry unreachable): the call is a CEL error */
  error?: SigwardError;
  payload?: unknown;
  digest?: string;
}

class Verifier {
  readonly done = new Map<string, Outcome>();
  readonly pending = new Map<string, () => Promise<Outcome>>();
  readonly digests = new Map<string, string>();
  readonly #input: IvpolInput;
  readonly #attestors = new Map<string, NativeAttestor | SigwardError>();
  constructor(input: IvpolInput) {
    this.#input = input;
    for (const a of input.policy.spec.attestors) {
      try {
        this.#attestors.set(a.name, toNativeAttestor(a));
      } catch (e) {
        this.#attestors.set(a.name, toSigwardError(e));
      }
    }
  }

  has(name: string): boolean {
    return this.#attestors.has(name);
  }

  /** The evaluation clock (injected). */
  now(): Date {
    return this.#input.ctx.now();
  }

  async #digest(image: string): Promise<{ ref: ImageReference; digest: string }> {
    const ref = parseImageFromPodSpec(image, { defaultRegistry: this.#input.defaultRegistry });
    const digest = await this.#input.resolve(ref);
    this.digests.set(image, digest);
    return { ref, digest };
  }

  async #run(fn: () => Promise<Outcome>): Promise<Outcome> {
    try {
      return await fn();
    } catch (e) {
      const err = toSigwardError(e);
      if (err.code === 'REGISTRY_UNREACHABLE') return { ok: false, error: err, reason: err.message };
      return { ok: false, reason: err.message };
    }
  }

  /** The outcome under `key` when done; otherwise records `job` to run before the next round, and undefined. */
  #ask(key: string, job: (a: NativeAttestor) => Promise<Outcome>, attestor: string): Outcome | undefined {
    const hit = this.done.get(key);
    if (hit) return hit;
    if (!this.pending.has(key)) {
      this.pending.set(key, () =>
        this.#run(async () => {
          const a = this.#attestors.get(attestor)!;
          return a instanceof SigwardError ? { ok: false, reason: a.message } : job(a);
        }));
    }
    return undefined;
  }

  signature(image: string, attestor: string): Outcome | undefined {
    return this.#ask(`sig\u0000${image}\u0000${attestor}`, async (a) => {
      const { ref, digest } = await this.#digest(image);
      const r = await checkNativeSignature(a, ref, digest, this.#input.ctx);
      return r.ok ? { ok: true, digest } : { ok: false, reason: r.reasons.join('; ') || 'signature not found', digest };
    }, attestor);
  }

  attestation(image: string, att: IvAttestation, attestor: string): Outcome | undefined {
    return this.#ask(`att\u0000${image}\u0000${att.name}\u0000${attestor}`, async (a) => {
      if (a.notary && !att.referrer) {
        return { ok: false, reason: `attestation ${att.name}: Notary attestors verify referrer attestations only` };
      }
      if (!a.notary && !att.intoto) {
        return {
          ok: false,
          reason: `attestation ${att.name}: referrer attestations are verified with Notary attestors, not cosign ones`,
        };
      }
      const type = att.referrer ? att.referrer.type : toPredicateType(att.intoto!.type);
      const { ref, digest } = await this.#digest(image);
      const r = a.notary
        ? await findNotaryReferrers(a, ref, digest, type, this.#input.ctx)
        : await findNativeAttestations(a, ref, digest, type, this.#input.ctx);
      const first = r.statements[0];
      if (first) return { ok: true, digest, payload: (first as { predicate?: unknown }).predicate ?? null };
      return {
        ok: false,
        reason: (r.reasons.length ? r.reasons : [`no verified attestation of type ${type}`]).join('; '),
        digest,
      };
    }, attestor);
  }

  /**
   * Kyverno's getImageData: the image's manifest (of linux/amd64 for an index,
   * the index kept as imageIndex) and its config, read from the registry.
   */
  imageData(image: string): Outcome | undefined {
    const key = `data\u0000${image}`;
    const hit = this.done.get(key);
    if (hit) return hit;
    if (!this.pending.has(key)) {
      this.pending.set(key, () =>
        this.#run(async () => {
          const { ref, digest } = await this.#digest(image);
          const repo = toRepositoryRef(ref);
          const store = this.#input.ctx.stores(repo);
          const signal = this.#input.ctx.signal;
          const maxBytes = 4 * 1024 * 1024;
          const top = await store.getManifest(repo, digest, { signal });
          let imageIndex: unknown;
          let fetched = top;
          if ('manifests' in top.manifest) {
            imageIndex = JSON.parse(new TextDecoder().decode(top.bytes));
            const m = top.manifest.manifests.find((d) =>
              d.platform?.os === 'linux' && d.platform.architecture === 'amd64'
            ) ?? top.manifest.manifests[0];
            if (!m) return { ok: false, reason: `image ${image}: the image index lists no manifest` };
            fetched = await store.getManifest(repo, m.digest, { signal });
          }
          const manifest = JSON.parse(new TextDecoder().decode(fetched.bytes)) as {
            config?: { digest?: string; size?: number };
          };
          let config: unknown = null;
          if (!('manifests' in fetched.manifest) && fetched.manifest.config?.digest) {
            const c = fetched.manifest.config;
            config = JSON.parse(
              new TextDecoder().decode(await store.getBlob(repo, c.digest, { size: c.size, maxBytes, signal })),
            );
          }
          const data: Record<string, unknown> = {
            image,
            resolvedImage: `${ref.registry}/${ref.repository}@${digest}`,
            registry: ref.registry,
            repository: ref.repository,
            tag: ref.tag ?? '',
            digest,
            manifest,
            config,
          };
          if (imageIndex !== undefined) data['imageIndex'] = imageIndex;
          return { ok: true, digest, payload: data };
        }));
    }
    return undefined;
  }

  async runPending(): Promise<void> {
    const jobs = [...this.pending.entries()];
    this.pending.clear();
    await Promise.all(jobs.map(async ([key, job]) => this.done.set(key, await job())));
  }
}

/** One evaluation round: answers the CEL functions from the verifier, records what is missing. */
class Round implements IvSession {
  /** a verification was missing: this round's result does not count */
  incomplete = false;
  /** image -> some call verified it (count > 0) / was made and verified nothing */
  readonly verifications = new Map<string, boolean>();
  readonly reasons: string[] = [];
  readonly #payloads = new Map<string, { payload?: unknown; pending: boolean }>();
  readonly #v: Verifier;
  readonly #policy: ImageValidatingPolicy;
  constructor(v: Verifier, policy: ImageValidatingPolicy) {
    this.#v = v;
    this.#policy = policy;
  }

  #count(image: string, attestors: string[], get: (name: string) => Outcome | undefined, what: string): bigint {
    for (const a of attestors) if (!this.#v.has(a)) throw new Error(`attestor not found in policy: ${a}`);
    if (!imageMatches(this.#policy, image)) return 0n;
    let count = 0n;
    for (const a of attestors) {
      const o = get(a);
      if (!o) {
        this.incomplete = true;
        count++; // placeholder: optimistic, so that the rest of the expression is reached too
        continue;
      }
      if (o.error) throw new Error(`failed to get imagedata: ${o.error.message}`);
      if (o.ok) count++;
      else if (o.reason) {
        this.reasons.push(`${what} ${image} (attestor ${a}): ${o.reason.replace(/^attestor \S+: /, '')}`);
      }
    }
    if (attestors.length) this.verifications.set(image, (this.verifications.get(image) ?? false) || count > 0n);
    return count;
  }

  verifyImageSignatures(image: string, attestors: string[]): bigint {
    return this.#count(image, attestors, (a) => this.#v.signature(image, a), 'signature of');
  }

  verifyAttestationSignatures(image: string, attestation: string, attestors: string[]): bigint {
    const att = this.#policy.spec.attestations.find((x) => x.name === attestation);
    if (!att) throw new Error(`attestation not found in policy: ${attestation}`);
    const before = this.incomplete;
    this.incomplete = false;
    let payload: unknown;
    const n = this.#count(image, attestors, (a) => {
      const o = this.#v.attestation(image, att, a);
      if (o?.ok && payload === undefined) payload = o.payload;
      return o;
    }, `attestation ${attestation} of`);
    const key = `${image}\u0000${attestation}`;
    const prev = this.#payloads.get(key);
    if (this.incomplete) {
      this.#payloads.set(key, { pending: true, ...(prev?.payload !== undefined ? { payload: prev.payload } : {}) });
    } else if (payload !== undefined) this.#payloads.set(key, { pending: false, payload });
    this.incomplete ||= before;
    return n;
  }

  extractPayload(image: string, attestation: string): unknown {
    if (!this.#policy.spec.attestations.some((x) => x.name === attestation)) {
      throw new Error(`attestation not found in policy: ${attestation}`);
    }
    const p = this.#payloads.get(`${image}\u0000${attestation}`);
    if (p?.payload !== undefined) return p.payload;
    if (p?.pending) {
      this.incomplete = true;
      return new Map();
    }
    throw new Error(
      'failed to get payload: intoto attestation payload cannot be fetch before verifying intoto attestation',
    );
  }

  now(): Date {
    return this.#v.now();
  }

  getImageData(image: string): unknown {
    const o = this.#v.imageData(image);
    if (!o) {
      this.incomplete = true;
      return new Map(); // answered in the next round
    }
    if (!o.ok) throw new Error(`failed to get image data: ${o.error?.message ?? o.reason ?? 'unknown error'}`);
    return o.payload;
  }
}

// ---------------------------------------------------------------------------

interface ImageEntry {
  image: string;
  jsonPointer?: string;
  patchable?: boolean;
}

function extractImages(
  input: IvpolInput,
  vars: Record<string, unknown>,
  rewrite: (expr: string) => string,
  budget: CelCostBudget,
): { categories: Record<string, string[]>; entries: ImageEntry[] } {
  const categories: Record<string, string[]> = { containers: [], initContainers: [], ephemeralContainers: [] };
  const entries: ImageEntry[] = [];
  if (input.images) {
    categories['containers'] = [...input.images];
    for (const image of input.images) entries.push({ image });
  } else {
    let found: readonly ExtractedImage[] = [];
    try {
      found = input.extracted ?? getImages(input.object, {});
    } catch {
      found = [];
    }
    for (const i of found) {
      (categories[i.kind] ??= []).push(i.image);
      entries.push({ image: i.image, jsonPointer: i.jsonPointer, patchable: i.patchable });
    }
  }
  for (const ex of input.policy.spec.images) {
    const v = cel(rewrite(ex.expression), ALL_VARS).evaluate(vars, { budget });
    const list = Array.isArray(v) ? v : typeof v === 'string' ? [v] : undefined;
    if (!list || list.some((x) => typeof x !== 'string')) {
      throw new SigwardError('CONDITION_FAILED', `images.${ex.name}: the expression must give a list of strings`);
    }
    categories[ex.name] = [...(categories[ex.name] ?? []), ...(list as string[])];
    for (const image of list as string[]) if (!entries.some((e) => e.image === image)) entries.push({ image });
  }
  return { categories, entries };
}

/**
 * Evaluates one ImageValidatingPolicy. undefined: the policy does not apply
 * (not matched, or no image selected by matchImageReferences).
 */
export async function evaluateImageValidatingPolicy(input: IvpolInput): Promise<IvpolResult | undefined> {
  const { policy } = input;
  const req = input.request ?? {};
  const head = toRuleHead(policy);
  const errorResult = (message: string, images: ImageResult[] = []): IvpolResult => ({
    ...head,
    status: 'error',
    message,
    images,
    verifications: new Map(),
    requiredImages: [],
  });

  const object = input.images ? null : (input.object ?? null);
  const budget = new CelCostBudget();
  const vars: Record<string, unknown> = {
    object,
    oldObject: req.oldObject ?? null,
    request: toRequestVar(object, req),
    namespaceObject: req.namespace ? { metadata: { name: req.namespace, labels: req.namespaceLabels ?? {} } } : null,
  };
  let rewrite = (expr: string) => expr;
  if (!input.images) {
    const how = constraintsMatch(policy, object, req);
    if (!how) return undefined;
    if (how === 'autogen') {
      const kind = String((object as { kind?: unknown }).kind);
      rewrite = (expr) => autogenExpression(expr, kind);
    }
    try {
      for (const m of policy.spec.matchConditions) {
        if (!cel(rewrite(m.expression), MATCH_VARS).evaluateBool(vars, { budget })) return undefined;
      }
    } catch (e) {
      if (policy.spec.failurePolicy === 'Ignore') return undefined;
      return errorResult(`matchConditions: ${toSigwardError(e).message}`);
    }
  }

  let matched: ImageEntry[];
  try {
    const { categories, entries } = extractImages(input, vars, rewrite, budget);
    const filtered: Record<string, string[]> = {};
    for (const [k, list] of Object.entries(categories)) filtered[k] = list.filter((i) => imageMatches(policy, i));
    matched = entries.filter((e) => imageMatches(policy, e.image));
    vars['images'] = filtered;
  } catch (e) {
    return errorResult(toSigwardError(e).message);
  }
  if (!matched.length) return undefined;
  vars['attestors'] = Object.fromEntries(
    policy.spec.attestors.map((a) => [a.name, { name: a.name, type: a.cosign ? 'cosign' : 'notary' }]),
  );
  vars['attestations'] = Object.fromEntries(policy.spec.attestations.map((a) => [a.name, a.name]));

  const cfg = policy.spec.validationConfigurations;
  const hasDigest = (image: string): boolean => {
    try {
      return !!parseImageFromPodSpec(image, { defaultRegistry: input.defaultRegistry }).digest;
    } catch {
      return false;
    }
  };
  const pinnable = (e: ImageEntry) => cfg.mutateDigest && !!e.jsonPointer && e.patchable !== false;
  const base = (e: ImageEntry) => ({ ...head, image: e.image, jsonPointer: e.jsonPointer, required: cfg.required });
  const result = (
    status: ResultStatus,
    message: string,
    images: ImageResult[],
    verifications = new Map<string, boolean>(),
  ): IvpolResult => ({
    ...head,
    status,
    message,
    images,
    verifications,
    requiredImages: cfg.required ? [...new Set(matched.map((m) => m.image))] : [],
  });

  // verifyDigest runs first (Kyverno 1.19): an image neither pinned nor pinnable is refused
  if (cfg.verifyDigest) {
    const missing = matched.find((e) => e.jsonPointer && !hasDigest(e.image) && !pinnable(e));
    if (missing) {
      const message = `image ${missing.image} does not have a digest`;
      return result(
        'fail',
        message,
        matched.map((e) => ({ ...base(e), status: 'fail' as const, message, code: 'MANIFEST_DIGEST_MISMATCH' })),
      );
    }
  }

  const verifier = new Verifier(input);
  let final: { round: Round; status: ResultStatus; message: string } | undefined;
  for (let i = 0; i < MAX_ROUNDS && !final; i++) {
    const round = new Round(verifier, policy);
    // each round evaluates the policy's CEL anew, within Kubernetes' per-policy budget
    const roundBudget = new CelCostBudget();
    let status: ResultStatus = 'pass';
    let message = '';
    withIvSession(round, () => {
      const variables: Record<string, unknown> = {};
      vars['variables'] = variables;
      for (const v of policy.spec.variables) {
        try {
          variables[v.name] = cel(rewrite(v.expression), ALL_VARS).evaluate(vars, { budget: roundBudget });
        } catch {
          // an erroring variable is absent: using it is an error in the validation
        }
      }
      for (const [idx, v] of policy.spec.validations.entries()) {
        let ok: boolean;
        try {
          ok = cel(rewrite(v.expression), ALL_VARS).evaluateBool(vars, { budget: roundBudget });
        } catch (e) {
          if (status === 'pass') [status, message] = ['error', `validation error: ${toSigwardError(e).message}`];
          if (!round.incomplete) break;
          continue;
        }
        if (!ok && status === 'pass') {
          status = 'fail';
          message = v.message ?? '';
          if (v.messageExpression) {
            try {
              const m = cel(rewrite(v.messageExpression), ALL_VARS).evaluate(vars, { budget: roundBudget });
              message = typeof m === 'string' ? m : `failed to convert message expression to string: got ${typeof m}`;
            } catch (e) {
              message = `failed to evaluate message expression: ${toSigwardError(e).message}`;
            }
          }
          if (!message) message = `CEL expression validation failed at index ${idx}`;
        }
        // a round with missing verifications goes on, to learn every verification it needs
        if (status !== 'pass' && !round.incomplete) break;
      }
    });
    if (!round.incomplete) {
      final = { round, status, message };
      break;
    }
    await verifier.runPending();
  }
  if (!final) {
    const message = `verification did not settle after ${MAX_ROUNDS} rounds of CEL evaluation`;
    return result('error', message, matched.map((e) => ({ ...base(e), status: 'error' as const, message })));
  }

  const { round } = final;
  let { status, message } = final;
  if (status === 'fail' && round.reasons.length) message = `${message} (${[...new Set(round.reasons)].join('; ')})`;
  const images: ImageResult[] = matched.map((e) => {
    const digest = verifier.digests.get(e.image);
    const verified = round.verifications.get(e.image) === true;
    let patch;
    if (status === 'pass' && verified && digest && pinnable(e) && !hasDigest(e.image)) {
      try {
        patch = digestPatch(e.image, e.jsonPointer!, digest, { defaultRegistry: input.defaultRegistry });
      } catch {
        patch = undefined;
      }
    }
    return {
      ...base(e),
      ...(digest ? { digest } : {}),
      status,
      message: status === 'pass'
        ? (verified
          ? `verified image signatures for ${e.image}`
          : `image ${e.image} passed the validations of ${policy.metadata.name}`)
        : message,
      ...(status === 'fail' ? { code: 'CONDITION_FAILED' } : {}),
      ...(patch ? { patch } : {}),
    };
  });
  return result(
    status,
    status === 'pass' ? `${policy.kind} ${policy.metadata.name}: validations passed` : message,
    images,
    round.verifications,
  );
}

/**
 * validationConfigurations.required across the ivpols of one request: an
 * image matched by a policy with `required` must have been verified (count >
 * 0) by some ivpol. Turns passing results into failures with Kyverno's message.
 */
export function applyRequired(results: IvpolResult[]): void {
  const verified = new Map<string, boolean>();
  for (const r of results) {
    for (const [img, ok] of r.verifications) verified.set(img, (verified.get(img) ?? false) || ok);
  }
  for (const r of results) {
    if (r.status !== 'pass' || !r.requiredImages.length) continue;
    const missing = r.requiredImages.find((img) => verified.get(img) !== true);
    if (missing === undefined) continue;
    const message = verified.has(missing)
      ? `image ${missing} is not verified: failed signature or attestation verification`
      : `image ${missing} is not verified: no policy performed a signature or attestation check on it`;
    r.status = 'fail';
    r.message = message;
    for (const i of r.images) {
      i.status = 'fail';
      i.message = message;
      i.code = 'SIGNATURE_NOT_FOUND';
      delete i.patch;
    }
  }
}
