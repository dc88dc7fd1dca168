// Kyverno verifyImages policies -> /etc/containers/policy.json (CRI-O, Podman,
// skopeo; containers/image `docs/containers-policy.json.5.md`).
//
// What maps:
//   imageReferences `reg/path/*`, `reg/path:*`, exact refs, `*`  -> transports.docker scopes
//   keys attestor (PEM, resolved Secret)                      -> sigstoreSigned keyData
//   count 1 of N keys                                         -> sigstoreSigned keyDatas (containers/image >= 5.33)
//   all entries of a set / several sets (AND)                 -> several requirements in one scope (AND)
//   Rekor required (no ignoreTlog)                            -> rekorPublicKeyData(s) (>= 5.24)
//   keyless with an exact email subject and exact issuer      -> fulcio {caData, oidcIssuer, subjectEmail} (>= 5.24)
//   every requirement                                         -> signedIdentity matchRepository (cosign signs repo@digest)
// Everything else is listed as unexpressed, with its effect:
//   'weaker'   policy.json would accept images the policy denies (by default the
//              scopes concerned get `reject`, fail-closed; `onUnsupported: 'skip'`
//              exports the expressible part instead);
//   'stricter' policy.json rejects images the policy allows (listed only).
// policy.json picks ONE scope per image (the most specific), so requirements of
// broader scopes are copied into narrower ones to keep Kyverno's "every matching
// rule must pass". What containers/image does whatever the file says is listed
// too: it reads legacy `.sig` signatures only (no cosign v3 bundles), and checks
// the platform manifest it pulls, never an index.

import { SigwardError } from '../errors.ts';
import type {
  AttestorEntry,
  AttestorSet,
  KyvernoPolicy,
  KyvernoRule,
  Policy,
  VerifyImagesEntry,
} from '../policy/types.ts';
import type { TrustedRoot } from '../trust/index.ts';
import { parsePublicKeys } from '../cosign/keys.ts';

export type ContainersImageVersion = '5.33' | '5.24' | '5.23';

export interface ContainersPolicyOptions {
  /** requirement for images no scope matches: Kyverno allows them (accept, the default) */
  defaultPolicy?: 'accept' | 'reject';
  /** oldest containers/image the output must load in (5.23: Debian bookworm skopeo 1.9) */
  compat?: ContainersImageVersion;
  /** what to do with scopes whose checks cannot all be expressed (default reject) */
  onUnsupported?: 'reject' | 'skip';
  /** Sigstore trusted root for public-good Fulcio CAs and Rekor keys */
  trustedRoot?: TrustedRoot;
}

export type PolicyRequirement =
  | { type: 'insecureAcceptAnything' }
  | { type: 'reject' }
  | {
    type: 'sigstoreSigned';
    keyData?: string;
    keyDatas?: string[];
    fulcio?: { caData: string; oidcIssuer: string; subjectEmail: string };
    rekorPublicKeyData?: string;
    rekorPublicKeyDatas?: string[];
    signedIdentity: { type: 'matchRepository' };
  };

export interface ContainersPolicy {
  default: PolicyRequirement[];
  transports: { docker: Record<string, PolicyRequirement[]> };
}

export interface Unexpressed {
  policy: string;
  rule?: string;
  /** YAML path of the verifyImages entry / attestor / pattern */
  path?: string;
  feature: string;
  /** weaker: policy.json accepts more; stricter: it rejects more; equivalent: no change at the node */
  effect: 'weaker' | 'stricter' | 'equivalent';
  detail: string;
  /** what the export did about it */
  action: 'scope rejected' | 'omitted' | 'listed';
}

export interface ContainersPolicyExport {
  policy: ContainersPolicy;
  unexpressed: Unexpressed[];
  /** scope -> the policies/rules that contributed to it */
  scopes: Record<string, string[]>;
  /** scopes with sigstoreSigned requirements: their registries need `use-sigstore-attachments: true` in registries.d */
  sigstoreScopes: string[];
}

const ECDSA_KEY_DETAILS = new Set([5, 6, 9, 10, 11]); // PKIX_ECDSA_P256/P384/P521_SHA_*

function b64(text: string): string {
  return Buffer.from(text, 'utf8').toString('base64');
}

function pem(der: Uint8Array, type: string): string {
  const lines = Buffer.from(der).toString('base64').match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${type}-----\n${lines.join('\n')}\n-----END ${type}-----\n`;
}

/** Public-good trust for policy.json: ECDSA Rekor keys (containers/image verifies hashedrekord SETs only) and Fulcio CA certificates. */
function trustFor(root: TrustedRoot | undefined): { rekorKeys: string[]; fulcioCAs: string } {
  if (!root) return { rekorKeys: [], fulcioCAs: '' };
  const rekorKeys = root.tlogs
    .filter((t) => t.publicKey?.rawBytes && ECDSA_KEY_DETAILS.has(Number(t.publicKey.keyDetails)))
    .map((t) => pem(t.publicKey!.rawBytes!, 'PUBLIC KEY'));
  const certs = root.certificateAuthorities.flatMap((ca) => ca.certChain?.certificates ?? []).map((c) =>
    pem(c.rawBytes, 'CERTIFICATE')
  );
  return { rekorKeys, fulcioCAs: [...new Set(certs)].join('') };
}

const HOST_RE = /^(localhost|[a-z0-9-]+(\.[a-z0-9-]+)+|[a-z0-9.-]+:\d+)$/i;
const PATH_RE = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$/;

function isScope(s: string): boolean {
  if (s === '') return true;
  const m = /^([^/]+)(?:\/([^:@]+))?(?::([\w][\w.-]{0,127})|@(sha256:[a-f0-9]{64}))?$/.exec(s);
  if (!m || !HOST_RE.test(m[1]!)) return false;
  if (m[2] !== undefined && !PATH_RE.test(m[2])) return false;
  if ((m[3] || m[4]) && m[2] === undefined) return false;
  return true;
}

/**
 * A policy.json docker scope for a Kyverno imageReferences pattern:
 * `*` -> '' (every docker image), `P/*` and `P:*` -> P, an exact reference -> itself.
 * Other wildcards cannot be expressed (scopes are registry/repository prefixes).
 */
export function toDockerScope(pattern: string): { scope: string; note?: string } | { problem: string } {
  const p = pattern.trim();
  if (p === '*') return { scope: '' };
  const hasWild = (s: string) => /[*?]/.test(s);
  let scope: string | undefined;
  let note: string | undefined;
  if (!hasWild(p)) scope = p;
  else if (p.endsWith('/*') && !hasWild(p.slice(0, -2))) {
    scope = p.slice(0, -2);
    if (scope.includes('/')) note = `scope ${scope} also covers the repository ${scope} itself`;
  } else if (p.endsWith(':*') && !hasWild(p.slice(0, -2))) {
    scope = p.slice(0, -2);
    note = `scope ${scope} also covers ${scope}@<digest> references`;
  }
  if (scope === undefined) {
    return {
      problem: `pattern ${
        JSON.stringify(p)
      } is not a registry or repository prefix (policy.json scopes cannot hold wildcards there)`,
    };
  }
  if (!isScope(scope)) {
    return {
      problem: `pattern ${
        JSON.stringify(p)
      } does not name a registry host and repository (policy.json needs fully qualified names)`,
    };
  }
  return note ? { scope, note } : { scope };
}

type Req = Extract<PolicyRequirement, { type: 'sigstoreSigned' }>;
type Problem = { feature: string; effect: 'weaker' | 'stricter'; detail: string; path?: string; minor?: boolean };

interface Ctx {
  compat: ContainersImageVersion;
  trust: { rekorKeys: string[]; fulcioCAs: string };
}

const atLeast = (c: ContainersImageVersion, v: ContainersImageVersion) => Number(c) >= Number(v);

function rekorFields(
  custom: string | undefined,
  ctx: Ctx,
  path: string,
  problems: Problem[],
): Partial<Req> | undefined {
  if (!atLeast(ctx.compat, '5.24')) {
    problems.push({
      feature: 'transparency log',
      effect: 'weaker',
      path,
      detail: `Rekor inclusion cannot be required before containers/image 5.24 (--compat ${ctx.compat})`,
    });
    return {};
  }
  let keys = ctx.trust.rekorKeys;
  if (custom) {
    const canon = toCanonicalPem(custom);
    if ('error' in canon) {
      problems.push({
        feature: 'transparency log',
        effect: 'weaker',
        path,
        detail: `invalid Rekor public key: ${canon.error}`,
      });
      return undefined;
    }
    keys = [canon.pem];
  }
  if (!keys.length) {
    problems.push({
      feature: 'transparency log',
      effect: 'weaker',
      path,
      detail: 'no ECDSA Rekor public key is known for rekorPublicKeyData',
    });
    return undefined;
  }
  if (keys.length === 1) return { rekorPublicKeyData: b64(keys[0]!) };
  if (atLeast(ctx.compat, '5.33')) return { rekorPublicKeyDatas: keys.map(b64) };
  problems.push({
    feature: 'transparency log',
    effect: 'stricter',
    path,
    detail: `only the first of ${keys.length} Rekor keys is used (rekorPublicKeyDatas needs containers/image 5.33)`,
  });
  return { rekorPublicKeyData: b64(keys[0]!) };
}

function keyPem(a: AttestorEntry): string | undefined {
  const s = a.keys?.source;
  if (s?.kind === 'pem') return s.pem;
  if (s?.kind === 'secret' && s.pem) return s.pem;
  return undefined;
}

/** The key re-encoded as plain SPKI PEM (containers/image's PEM parser accepts no comment lines), or why not. */
function toCanonicalPem(text: string): { pem: string } | { error: string } {
  try {
    const keys = parsePublicKeys(text);
    if (keys.length !== 1) return { error: `expected one public key, found ${keys.length}` };
    return { pem: keys[0]!.pem };
  } catch (e) {
    return { error: (e as Error).message };
  }
}

/** One attestor -> one sigstoreSigned requirement, or problems. */
function toRequirement(a: AttestorEntry, ctx: Ctx, problems: Problem[]): Req | undefined {
  const path = a.path;
  if (Object.keys(a.annotations).length) {
    problems.push({
      feature: 'annotations',
      effect: 'weaker',
      path,
      detail: 'required signature annotations are not checked by policy.json',
    });
  }
  if (a.repository) {
    problems.push({
      feature: 'repository',
      effect: 'stricter',
      path,
      detail: `signatures in ${a.repository}: policy.json only reads signatures stored beside the image`,
    });
  }
  if (a.kind === 'keys' && a.keys) {
    const key = keyPem(a);
    if (!key) {
      problems.push({
        feature: 'key source',
        effect: 'weaker',
        path,
        detail: `key from ${a.keys.source.kind} (${
          a.keys.kms ?? ''
        }) cannot be embedded: only PEM keys and resolved Secrets are exported`,
      });
      return undefined;
    }
    const canon = toCanonicalPem(key);
    if ('error' in canon) {
      problems.push({ feature: 'key', effect: 'weaker', path, detail: `invalid public key: ${canon.error}` });
      return undefined;
    }
    if (a.signatureAlgorithm !== 'sha256') {
      problems.push({
        feature: 'signatureAlgorithm',
        effect: 'stricter',
        path,
        detail: `${a.signatureAlgorithm} signatures: policy.json verifies SHA-256 signatures`,
      });
    }
    const req: Req = { type: 'sigstoreSigned', keyData: b64(canon.pem), signedIdentity: { type: 'matchRepository' } };
    if (!a.keys.rekor?.ignoreTlog) {
      const r = rekorFields(a.keys.rekor?.pubkey, ctx, path, problems);
      if (!r) return undefined;
      Object.assign(req, r);
    }
    return req;
  }
  if (a.kind === 'keyless' && a.keyless) {
    const k = a.keyless;
    if (!atLeast(ctx.compat, '5.24')) {
      problems.push({
        feature: 'keyless',
        effect: 'weaker',
        path,
        detail: `fulcio requirements need containers/image 5.24 (--compat ${ctx.compat})`,
      });
      return undefined;
    }
    const fail = (feature: string, detail: string) => {
      problems.push({ feature, effect: 'weaker', path, detail });
      return undefined;
    };
    if (k.subjectRegExp !== undefined) return fail('subjectRegExp', 'policy.json matches an exact email subject only');
    if (!k.subject) return fail('subject', 'keyless without a subject: policy.json needs subjectEmail');
    if (/[*?]/.test(k.subject)) {
      return fail(
        'subject',
        `wildcard subject ${JSON.stringify(k.subject)}: policy.json matches an exact email subject only`,
      );
    }
    if (!/^[^@\s/:]+@[^@\s/]+$/.test(k.subject)) {
      return fail(
        'subject',
        `subject ${
          JSON.stringify(k.subject)
        } is not an email address: policy.json checks email SANs only (no URI SANs, e.g. GitHub Actions workflows)`,
      );
    }
    if (k.issuerRegExp !== undefined || !k.issuer || /[*?]/.test(k.issuer)) {
      return fail('issuer', 'policy.json needs one exact OIDC issuer');
    }
    if (Object.keys(k.additionalExtensions).length) {
      return fail('additionalExtensions', 'certificate extensions are not checked by policy.json');
    }
    const caPem = k.roots ?? ctx.trust.fulcioCAs;
    if (!caPem) return fail('keyless', 'no Fulcio CA certificates known for caData');
    if (!k.ctlog?.ignoreSCT) {
      problems.push({
        feature: 'SCT',
        effect: 'weaker',
        path,
        detail: 'certificate transparency (SCT) is not checked by policy.json',
        minor: true,
      });
    }
    if (k.rekor?.ignoreTlog) {
      problems.push({
        feature: 'transparency log',
        effect: 'stricter',
        path,
        detail: 'policy.json always requires a Rekor entry for Fulcio certificates (ignoreTlog cannot be expressed)',
      });
    }
    const r = rekorFields(k.rekor?.pubkey, ctx, path, problems);
    if (!r) return undefined;
    return {
      type: 'sigstoreSigned',
      fulcio: { caData: b64(caPem), oidcIssuer: k.issuer, subjectEmail: k.subject },
      ...r,
      signedIdentity: { type: 'matchRepository' },
    };
  }
  if (a.kind === 'certificates') {
    problems.push({
      feature: 'certificates',
      effect: 'weaker',
      path,
      detail: 'certificate/certChain attestors are not exported (policy.json "pki" needs containers/image 5.34+)',
    });
    return undefined;
  }
  problems.push({
    feature: 'nested attestor',
    effect: 'weaker',
    path,
    detail: 'nested attestor sets cannot be expressed',
  });
  return undefined;
}

/** One attestor set -> requirements that must all hold (policy.json ANDs a scope's list). */
function toSetRequirements(set: AttestorSet, ctx: Ctx, problems: Problem[]): Req[] {
  const n = set.entries.length;
  const k = set.requiredCount;
  if (k >= n) return set.entries.map((a) => toRequirement(a, ctx, problems)).filter((r): r is Req => !!r);
  // any k of n
  if (k === 1 && set.entries.every((a) => a.kind === 'keys')) {
    const reqs = set.entries.map((a) => toRequirement(a, ctx, problems));
    if (reqs.some((r) => !r)) return [];
    const rekor = new Set(reqs.map((r) => JSON.stringify([r!.rekorPublicKeyData, r!.rekorPublicKeyDatas])));
    if (rekor.size === 1) {
      if (atLeast(ctx.compat, '5.33')) {
        const { keyData: _k, ...rest } = reqs[0]!;
        return [{ ...rest, keyDatas: reqs.map((r) => r!.keyData!) } as Req];
      }
      problems.push({
        feature: 'count',
        effect: 'weaker',
        path: set.path,
        detail: `any 1 of ${n} keys needs keyDatas (containers/image 5.33; --compat ${ctx.compat})`,
      });
      return [];
    }
  }
  problems.push({
    feature: 'count',
    effect: 'weaker',
    path: set.path,
    detail:
      `count ${k} of ${n} entries: policy.json can require all of several signatures (AND) or any of several keys, not ${k} of ${n}`,
  });
  return [];
}

function actionOf(policy: KyvernoPolicy, entry: VerifyImagesEntry): 'Audit' | 'Enforce' {
  return entry.failureAction ?? policy.spec.validationFailureAction;
}

function matchIsNarrow(rule: KyvernoRule): boolean {
  const filters = [
    ...(rule.match.any ?? []),
    ...(rule.match.all ?? []),
    ...(rule.match.resources ? [{ resources: rule.match.resources }] : []),
  ];
  const narrow = filters.some((f) => {
    const r = f.resources;
    return !!(r &&
      (r.namespaces?.length || r.names?.length || r.name || r.selector || r.namespaceSelector || r.annotations)) ||
      !!('subjects' in f && f.subjects?.length);
  });
  return narrow || !!rule.exclude || !!rule.preconditions || !!rule.match.subjects?.length ||
    !!rule.match.roles?.length || !!rule.match.clusterRoles?.length;
}

/** Does scope `broad` cover every image of scope `narrow`? */
function covers(broad: string, narrow: string): boolean {
  if (broad === narrow) return true;
  if (broad === '') return true;
  return narrow.startsWith(broad + '/') || narrow.startsWith(broad + ':') || narrow.startsWith(broad + '@');
}

export function toContainersPolicy(policies: Policy[], opts: ContainersPolicyOptions = {}): ContainersPolicyExport {
  const ctx: Ctx = { compat: opts.compat ?? '5.33', trust: trustFor(opts.trustedRoot) };
  const onUnsupported = opts.onUnsupported ?? 'reject';
  const unexpressed: Unexpressed[] = [];
  const own = new Map<string, PolicyRequirement[]>();
  const scopes: Record<string, string[]> = {};
  const add = (scope: string, reqs: PolicyRequirement[], from: string) => {
    own.set(scope, [...(own.get(scope) ?? []), ...reqs]);
    (scopes[scope] ??= []).includes(from) || scopes[scope]!.push(from);
  };

  for (const p of policies) {
    const pname = p.metadata.namespace ? `${p.metadata.namespace}/${p.metadata.name}` : p.metadata.name;
    if (p.format !== 'kyverno') {
      const patterns = p.spec.matchImageReferences.map((m) => m.glob ?? '');
      unexpressed.push({
        policy: pname,
        feature: p.kind,
        effect: 'weaker',
        detail: `${p.kind} export is not supported`,
        action: onUnsupported === 'reject' ? 'scope rejected' : 'omitted',
      });
      if (onUnsupported === 'reject') {
        for (const pat of patterns.length ? patterns : ['*']) {
          const s = toDockerScope(pat);
          if ('scope' in s) add(s.scope, [{ type: 'reject' }], pname);
        }
      }
      continue;
    }
    if (p.kind === 'Policy') {
      unexpressed.push({
        policy: pname,
        feature: 'namespaced Policy',
        effect: 'stricter',
        detail: `applies to namespace ${
          p.metadata.namespace ?? ''
        } only; policy.json applies to every pull on the node (CRI-O: use signature_policy_dir/<namespace>.json)`,
        action: 'listed',
      });
    }
    const overrides = p.spec.validationFailureActionOverrides;
    for (const rule of p.spec.rules) {
      if (!rule.verifyImages.length || rule.autogen) continue;
      if (matchIsNarrow(rule)) {
        unexpressed.push({
          policy: pname,
          rule: rule.name,
          path: rule.path,
          feature: 'match/exclude/preconditions',
          effect: 'stricter',
          detail: 'the rule selects some resources only; policy.json applies to every pull',
          action: 'listed',
        });
      }
      for (const entry of rule.verifyImages) {
        const from = `${pname}/${rule.name}`;
        const base = { policy: pname, rule: rule.name };
        const action = actionOf(p, entry);
        if (action === 'Audit') {
          const enforcedSomewhere = overrides.some((o) => o.action === 'Enforce');
          unexpressed.push({
            ...base,
            path: entry.path,
            feature: 'Audit',
            effect: enforcedSomewhere ? 'weaker' : 'equivalent',
            detail: enforcedSomewhere
              ? 'Audit with Enforce overrides for some namespaces: not exported'
              : 'Audit only warns: not exported (equivalent at the node)',
            action: 'omitted',
          });
          continue;
        }
        if (overrides.some((o) => o.action === 'Audit')) {
          unexpressed.push({
            ...base,
            path: entry.path,
            feature: 'validationFailureActionOverrides',
            effect: 'stricter',
            detail: 'Audit overrides for some namespaces: enforced everywhere by policy.json',
            action: 'listed',
          });
        }
        const problems: Problem[] = [];
        const targets: string[] = [];
        for (const [i, pat] of entry.imageReferences.entries()) {
          const s = toDockerScope(pat);
          if ('problem' in s) {
            unexpressed.push({
              ...base,
              path: `${entry.path}.imageReferences[${i}]`,
              feature: 'imageReferences',
              effect: 'weaker',
              detail: s.problem,
              action: 'omitted',
            });
          } else {
            targets.push(s.scope);
            if (s.note) {
              unexpressed.push({
                ...base,
                path: `${entry.path}.imageReferences[${i}]`,
                feature: 'imageReferences',
                effect: 'stricter',
                detail: s.note,
                action: 'listed',
              });
            }
          }
        }
        if (!targets.length) continue;
        if (entry.skipImageReferences.length) {
          problems.push({
            feature: 'skipImageReferences',
            effect: 'stricter',
            path: entry.path,
            detail: `skipped images (${entry.skipImageReferences.join(', ')}) still need signatures under policy.json`,
          });
        }
        const reqs: PolicyRequirement[] = [];
        if (entry.unsupported || entry.type !== 'Cosign') {
          problems.push({
            feature: `type ${entry.type}`,
            effect: 'weaker',
            path: entry.path,
            detail: entry.unsupported ?? `${entry.type} verification: policy.json reads cosign ".sig" signatures only`,
          });
        } else {
          if (!entry.attestors.length && !entry.attestations.length) {
            problems.push({ feature: 'attestors', effect: 'weaker', path: entry.path, detail: 'no attestors' });
          }
          for (const set of entry.attestors) reqs.push(...toSetRequirements(set, ctx, problems));
          if (entry.attestations.length) {
            problems.push({
              feature: 'attestations',
              effect: 'weaker',
              path: entry.path,
              detail: `attestations (${
                entry.attestations.map((a) => a.type).join(', ')
              }) and their conditions are not checked by policy.json`,
            });
          }
        }
        if (entry.validate?.deny) {
          problems.push({
            feature: 'validate.deny',
            effect: 'weaker',
            path: entry.path,
            detail: 'validate.deny conditions are not checked by policy.json',
          });
        }
        const blocking = problems.some((x) => x.effect === 'weaker' && !x.minor) || !reqs.length;
        const reject = blocking && onUnsupported === 'reject';
        for (const x of problems) {
          unexpressed.push({
            ...base,
            path: x.path,
            feature: x.feature,
            effect: x.effect,
            detail: x.detail,
            action: x.effect === 'weaker' && !x.minor ? (reject ? 'scope rejected' : 'omitted') : 'listed',
          });
        }
        const out: PolicyRequirement[] = reject ? [{ type: 'reject' }] : reqs;
        if (!out.length) continue;
        for (const s of targets) add(s, out, from);
      }
    }
  }

  // the most specific scope wins in policy.json: give each scope the requirements of every scope covering it
  const docker: Record<string, PolicyRequirement[]> = {};
  const names = [...own.keys()].sort((a, b) => a.length - b.length || (a < b ? -1 : 1));
  for (const s of names) {
    const all = names.filter((b) => covers(b, s)).flatMap((b) => own.get(b)!);
    const seen = new Set<string>();
    const uniq = all.filter((r) => {
      const k = JSON.stringify(r);
      return seen.has(k) ? false : (seen.add(k), true);
    });
    docker[s] = uniq.some((r) => r.type === 'reject') ? [{ type: 'reject' }] : uniq;
    for (const b of names) {
      if (b !== s && covers(b, s)) { for (const f of scopes[b] ?? []) if (!scopes[s]!.includes(f)) scopes[s]!.push(f); }
    }
  }
  // what containers/image does with signatures, whatever the policy says (measured with skopeo 1.22)
  const sigstoreScopes = Object.keys(docker).filter((s) => docker[s]!.some((r) => r.type === 'sigstoreSigned'));
  if (sigstoreScopes.length) {
    unexpressed.push({
      policy: '*',
      feature: 'cosign v3 bundles',
      effect: 'stricter',
      detail:
        `containers/image reads cosign's legacy signatures only (the sha256-<hex>.sig tag, with use-sigstore-attachments: true in registries.d): an image signed only in cosign's v3 bundle format (OCI 1.1 referrers, the default of cosign 3) has no signature for it and is rejected; sign with cosign sign --new-bundle-format=false --use-signing-config=false as well`,
      action: 'listed',
    });
    unexpressed.push({
      policy: '*',
      feature: 'multi-arch images',
      effect: 'stricter',
      detail:
        'signatures are checked on the platform manifest that is pulled, never on the index: an index signed without its platform manifests (cosign sign without --recursive) is rejected; sign multi-arch images with cosign sign --recursive',
      action: 'listed',
    });
    unexpressed.push({
      policy: '*',
      feature: 'multi-arch images',
      effect: 'weaker',
      detail:
        'an unsigned index over signed platform manifests is accepted (Kyverno verifies the digest the Pod names: the index), and skopeo copy --multi-arch index-only checks no signature at all',
      action: 'listed',
    });
  }
  if (Object.keys(docker).length) {
    unexpressed.push({
      policy: '*',
      feature: 'signedIdentity',
      effect: 'stricter',
      detail:
        'matchRepository: the repository named in the signed payload must be the pulled repository (Kyverno does not check it; images copied to a mirror need signatures made there, or a remapIdentity edit)',
      action: 'listed',
    });
  }
  if (opts.defaultPolicy !== undefined && opts.defaultPolicy !== 'accept' && opts.defaultPolicy !== 'reject') {
    throw new SigwardError('CONFIG_INVALID', `invalid default ${String(opts.defaultPolicy)}: accept or reject`);
  }
  return {
    policy: {
      default: [opts.defaultPolicy === 'reject' ? { type: 'reject' } : { type: 'insecureAcceptAnything' }],
      transports: { docker },
    },
    unexpressed,
    scopes,
    sigstoreScopes,
  };
}
