// Kyverno attestor entries -> sigward attestors (lib/cosign/checks.ts) with
// their trust material: `rekor.pubkey` / `ctlog.pubkey` replace the base
// trust root's Rekor / CT log keys for that entry (cosign's
// SIGSTORE_REKOR_PUBLIC_KEY semantics), `keyless.roots` replaces the Fulcio
// CAs, and `ignoreTlog` / `ignoreSCT` switch off exactly those checks.

import { SigwardError } from '../errors.ts';
import { parsePublicKeys } from '../cosign/keys.ts';
import type { Attestor as CheckAttestor } from '../cosign/checks.ts';
import type { BundleCheck } from '../cosign/bundles.ts';
import { toSignatureCheck } from '../cosign/signature-check.ts';
import type { LayerCheck } from '../cosign/verify.ts';
import { type IdentityPolicy, toTrust, toTrustedRootFromPEMs, type Trust } from '../trust/index.ts';
import type { AttestorEntry, CTLogConfig, KeySource, RekorConfig } from '../policy/types.ts';
import { type NotaryTrust, toNotaryTrust } from '../notary/index.ts';

export interface PreparedAttestor {
  /** `.attestors[0].entries[1].keys` style path for messages */
  label: string;
  attestor: CheckAttestor;
  check: LayerCheck;
  /** the same attestor for Sigstore bundles (cosign v3 referrers) */
  bundleCheck: BundleCheck;
  /** stable identity of what is checked, for memoisation */
  fingerprint: string;
  repository?: string;
  annotations: Record<string, string>;
}

function keyPem(source: KeySource): string {
  switch (source.kind) {
    case 'pem':
      return source.pem;
    case 'secret':
      if (source.pem) return source.pem;
      throw new SigwardError(
        'CONFIG_INVALID',
        source.unresolved ?? `secret ${source.namespace}/${source.name} could not be read`,
      );
    case 'kms':
    case 'unsupported':
      throw new SigwardError('CONFIG_INVALID', source.unresolved);
    case 'variable':
      throw new SigwardError(
        'CONFIG_INVALID',
        `public key "${
          source.text.slice(0, 60)
        }" uses variables, which sigward cannot resolve offline: give the PEM key`,
      );
  }
}

const baseIds = new WeakMap<Trust, number>();
let nextBaseId = 1;
/** A per-process id for a base trust root, so that overrides of different bases never share a cache entry. */
function baseId(base: Trust): number {
  let id = baseIds.get(base);
  if (id === undefined) {
    id = nextBaseId++;
    baseIds.set(base, id);
  }
  return id;
}

/** Trust for one entry: the base, with Rekor / CT keys replaced when the entry names its own. */
export function trustFor(
  base: Trust,
  rekor: RekorConfig | undefined,
  ctlog: CTLogConfig | undefined,
  cache: Map<string, Trust>,
): Trust {
  const rk = rekor?.pubkey?.trim();
  const ck = ctlog?.pubkey?.trim();
  if (!rk && !ck) return base;
  const key = `${baseId(base)}|${rk ?? ''}|${ck ?? ''}`;
  let t = cache.get(key);
  if (!t) {
    const extra = toTrustedRootFromPEMs({ rekorKeys: rk || undefined, ctlogKeys: ck || undefined });
    const root = { ...base.root, ...(rk ? { tlogs: extra.tlogs } : {}), ...(ck ? { ctlogs: extra.ctlogs } : {}) };
    t = toTrust(root, [
      ...base.sources,
      ...(rk ? ['rekor.pubkey from policy'] : []),
      ...(ck ? ['ctlog.pubkey from policy'] : []),
    ]);
    cache.set(key, t);
  }
  return t;
}

function keylessPolicy(k: NonNullable<AttestorEntry['keyless']>): IdentityPolicy {
  const p: IdentityPolicy = {};
  if (k.subject) {
    if (/[*?]/.test(k.subject)) p.subjectWildcard = k.subject;
    else p.subject = k.subject;
  }
  if (k.subjectRegExp) p.subjectRegExp = k.subjectRegExp;
  if (k.issuer) p.issuer = k.issuer;
  if (k.issuerRegExp) p.issuerRegExp = k.issuerRegExp;
  if (Object.keys(k.additionalExtensions ?? {}).length) p.extensions = { ...k.additionalExtensions };
  return p;
}

/** Prepares a (non-nested) attestor entry. */
export function prepareAttestor(
  entry: AttestorEntry,
  label: string,
  base: Trust,
  trustCache: Map<string, Trust>,
): PreparedAttestor {
  let attestor: CheckAttestor;
  let trust = base;
  if (entry.kind === 'keys' && entry.keys) {
    const k = entry.keys;
    const keys = parsePublicKeys(keyPem(k.source), `${label} public key`);
    attestor = {
      kind: 'key',
      keys,
      hash: k.signatureAlgorithm ?? entry.signatureAlgorithm ?? 'sha256',
      ignoreTlog: k.rekor?.ignoreTlog ?? false,
      ignoreSCT: true,
    };
    trust = trustFor(base, k.rekor, k.ctlog, trustCache);
  } else if (entry.kind === 'certificates' && entry.certificates) {
    const c = entry.certificates;
    attestor = {
      kind: 'certificate',
      cert: c.cert || undefined,
      chain: c.certChain || undefined,
      ignoreTlog: c.rekor?.ignoreTlog ?? false,
      ignoreSCT: c.ctlog?.ignoreSCT ?? false,
    };
    trust = trustFor(base, c.rekor, c.ctlog, trustCache);
  } else if (entry.kind === 'keyless' && entry.keyless) {
    const k = entry.keyless;
    attestor = {
      kind: 'keyless',
      policy: keylessPolicy(k),
      roots: k.roots || undefined,
      ignoreTlog: k.rekor?.ignoreTlog ?? false,
      ignoreSCT: k.ctlog?.ignoreSCT ?? false,
    };
    trust = trustFor(base, k.rekor, k.ctlog, trustCache);
  } else {
    throw new SigwardError('POLICY_INVALID', `${label}: keys, certificates, keyless, or a nested attestor is required`);
  }
  // the entry's own Rekor / CT log keys are part of what is checked: two entries
  // that differ only in them must never share a (memoised, cached) result
  const own = entry.keys ?? entry.certificates ?? entry.keyless;
  const fingerprint = JSON.stringify({
    a: attestor.kind === 'key' ? { ...attestor, keys: attestor.keys.map((x) => x.id) } : attestor,
    t: trust === base ? 'base' : { rekor: own?.rekor?.pubkey?.trim() ?? '', ctlog: own?.ctlog?.pubkey?.trim() ?? '' },
  });
  return {
    label,
    attestor,
    ...toSignatureCheck(attestor, trust),
    fingerprint,
    repository: entry.repository,
    annotations: entry.annotations ?? {},
  };
}

/** Kyverno: an attestation with no attestors gets one empty entry: any identity, Fulcio roots, SCT ignored. */
export function anyIdentityAttestor(label: string, base: Trust): PreparedAttestor {
  const attestor: CheckAttestor = { kind: 'keyless', policy: {}, ignoreTlog: false, ignoreSCT: true };
  return { label, attestor, ...toSignatureCheck(attestor, base), fingerprint: 'any-identity', annotations: {} };
}

/** A Notary attestor entry (`certificates`): Kyverno's trust store of cert + certChain. */
export interface PreparedNotaryAttestor {
  label: string;
  trust: NotaryTrust;
  fingerprint: string;
  repository?: string;
  annotations: Record<string, string>;
}

export function prepareNotaryAttestor(entry: AttestorEntry, label: string): PreparedNotaryAttestor {
  const c = entry.certificates;
  if (entry.kind !== 'certificates' || !c) {
    throw new SigwardError('POLICY_INVALID', `${label}: Notary attestors take certificates (cert and/or certChain)`);
  }
  const trust = toNotaryTrust([c.cert, c.certChain], label);
  const fingerprint = JSON.stringify({ notary: trust.certificates.map((x) => x.root.toDER().toString('base64')) });
  return { label, trust, fingerprint, repository: entry.repository, annotations: entry.annotations ?? {} };
}
