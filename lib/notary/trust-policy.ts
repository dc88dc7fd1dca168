// notation's trust policy document (trustpolicy.json, versions 1.0 and 1.1)
// and trust store layout (`x509/{ca,tsa,signingAuthority}/<name>/*.{pem,crt,cer}`),
// reduced to the NotaryTrust sigward verifies with. The policy for an image
// is the one whose scope names its repository exactly, else the global one
// (`*`, or `oci:*` in 1.1). Pure: files come in through `readStore`.

import type { X509Certificate } from '@sigstore/core';
import { SigwardError } from '../errors.ts';
import type { NotaryAction, NotaryEnforcement } from './types.ts';
import type { NotaryTrust } from './verify.ts';

type Level = 'strict' | 'permissive' | 'audit' | 'skip';

const LEVELS: Record<Exclude<Level, 'skip'>, NotaryEnforcement> = {
  strict: { authenticity: 'enforce', authenticTimestamp: 'enforce', expiry: 'enforce', revocation: 'enforce' },
  permissive: { authenticity: 'enforce', authenticTimestamp: 'log', expiry: 'log', revocation: 'log' },
  audit: { authenticity: 'log', authenticTimestamp: 'log', expiry: 'log', revocation: 'log' },
};
const OVERRIDABLE: Record<keyof NotaryEnforcement, NotaryAction[]> = {
  authenticity: ['enforce', 'log'],
  authenticTimestamp: ['enforce', 'log'],
  expiry: ['enforce', 'log'],
  revocation: ['enforce', 'log', 'skip'],
};

export interface NotaryTrustPolicy {
  name: string;
  scopes: string[];
  level: Level;
  enforcement?: NotaryEnforcement;
  trustStores: { type: 'ca' | 'tsa' | 'signingAuthority'; name: string }[];
  trustedIdentities: string[];
  verifyTimestamp?: 'always' | 'afterCertExpiry';
}

function bad(msg: string): SigwardError {
  return new SigwardError('CONFIG_INVALID', `trust policy: ${msg}`);
}

/** Parses and checks a trust policy document. Throws CONFIG_INVALID. */
export function parseTrustPolicyDocument(text: string): NotaryTrustPolicy[] {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw bad(`not JSON: ${(e as Error).message}`);
  }
  const d = doc as { version?: unknown; trustPolicies?: unknown };
  if (d?.version !== '1.0' && d?.version !== '1.1') {
    throw bad(`version ${JSON.stringify(d?.version)} is not supported (1.0 or 1.1)`);
  }
  if (!Array.isArray(d.trustPolicies) || d.trustPolicies.length === 0) throw bad('trustPolicies is required');
  const v11 = d.version === '1.1';
  const out: NotaryTrustPolicy[] = [];
  const globals: string[] = [];
  for (const raw of d.trustPolicies as Record<string, unknown>[]) {
    const name = typeof raw?.['name'] === 'string' ? (raw['name'] as string) : '';
    if (!name) throw bad('every trust policy needs a name');
    const scopesRaw = raw[v11 ? 'scopes' : 'registryScopes'];
    if (!Array.isArray(scopesRaw) || scopesRaw.length === 0 || scopesRaw.some((x) => typeof x !== 'string')) {
      throw bad(`${name}: ${v11 ? 'scopes' : 'registryScopes'} is required`);
    }
    const scopes = (scopesRaw as string[]).filter((x) => !v11 || x.startsWith('oci:')).map((
      x,
    ) => (v11 ? x.slice(4) : x));
    if (scopes.includes('*')) {
      if (scopes.length > 1) throw bad(`${name}: the global scope must be the only scope of its policy`);
      globals.push(name);
    }
    const sv = raw['signatureVerification'] as
      | { level?: unknown; override?: unknown; verifyTimestamp?: unknown }
      | undefined;
    const level = sv?.level;
    if (level !== 'strict' && level !== 'permissive' && level !== 'audit' && level !== 'skip') {
      throw bad(
        `${name}: signatureVerification.level ${JSON.stringify(level)} is not strict, permissive, audit or skip`,
      );
    }
    const p: NotaryTrustPolicy = { name, scopes, level, trustStores: [], trustedIdentities: [] };
    if (level !== 'skip') {
      const e: NotaryEnforcement = { ...LEVELS[level] };
      for (const [k, val] of Object.entries((sv?.override ?? {}) as Record<string, unknown>)) {
        const allowed = OVERRIDABLE[k as keyof NotaryEnforcement];
        if (!allowed) throw bad(`${name}: signatureVerification.override.${k} cannot be overridden`);
        if (!allowed.includes(val as NotaryAction)) {
          throw bad(`${name}: signatureVerification.override.${k} must be ${allowed.join(' or ')}`);
        }
        e[k as keyof NotaryEnforcement] = val as NotaryAction;
      }
      p.enforcement = e;
      if (sv?.verifyTimestamp !== undefined) {
        if (sv.verifyTimestamp !== 'always' && sv.verifyTimestamp !== 'afterCertExpiry') {
          throw bad(`${name}: signatureVerification.verifyTimestamp must be always or afterCertExpiry`);
        }
        p.verifyTimestamp = sv.verifyTimestamp;
      }
      const stores = raw['trustStores'];
      if (!Array.isArray(stores) || stores.length === 0) throw bad(`${name}: trustStores is required`);
      for (const s of stores) {
        const m = typeof s === 'string' ? /^(ca|tsa|signingAuthority):([A-Za-z0-9_.-]+)$/.exec(s) : null;
        if (!m) {
          throw bad(`${name}: trust store ${JSON.stringify(s)} is not ca:NAME, tsa:NAME or signingAuthority:NAME`);
        }
        p.trustStores.push({ type: m[1] as 'ca', name: m[2]! });
      }
      const ids = raw['trustedIdentities'];
      if (!Array.isArray(ids) || ids.length === 0 || ids.some((x) => typeof x !== 'string')) {
        throw bad(`${name}: trustedIdentities is required`);
      }
      if (ids.includes('*') && ids.length > 1) throw bad(`${name}: "*" must be the only trusted identity`);
      for (const id of ids as string[]) {
        if (id !== '*' && !/^x509\.subject:/.test(id)) {
          throw bad(`${name}: trusted identity ${JSON.stringify(id)} is not "*" or x509.subject: ...`);
        }
      }
      p.trustedIdentities = ids as string[];
    } else if (scopes.includes('*')) {
      throw bad(`${name}: level skip cannot be used with the global scope`);
    }
    out.push(p);
  }
  if (globals.length > 1) throw bad(`only one trust policy may use the global scope (${globals.join(', ')})`);
  const seen = new Map<string, string>();
  for (const p of out) {
    for (const s of p.scopes) {
      if (s !== '*' && seen.has(s)) throw bad(`scope ${s} is in both ${seen.get(s)} and ${p.name}`);
      seen.set(s, p.name);
    }
  }
  return out;
}

/** The policy for `registry/repository` (exact scope, else global). Throws CONFIG_INVALID when none applies. */
export function selectTrustPolicy(policies: NotaryTrustPolicy[], repository: string): NotaryTrustPolicy {
  const p = policies.find((x) => x.scopes.includes(repository)) ?? policies.find((x) => x.scopes.includes('*'));
  if (!p) {
    throw new SigwardError(
      'CONFIG_INVALID',
      `no applicable trust policy for ${repository}: add its repository to a policy's scopes, or a global policy`,
    );
  }
  return p;
}

/** A trust policy -> NotaryTrust, with `readStore(type, name)` giving each named store's certificates. */
export function toTrustFromPolicy(
  p: NotaryTrustPolicy,
  readStore: (type: string, name: string) => X509Certificate[],
): NotaryTrust {
  const certificates: X509Certificate[] = [];
  const tsa: X509Certificate[] = [];
  for (const s of p.trustStores) {
    if (s.type === 'signingAuthority') continue; // notary.x509.signingAuthority signatures are refused by verify.ts
    (s.type === 'tsa' ? tsa : certificates).push(...readStore(s.type, s.name));
  }
  return {
    certificates,
    ...(tsa.length ? { tsaCertificates: tsa } : {}),
    ...(p.verifyTimestamp ? { verifyTimestamp: p.verifyTimestamp } : {}),
    trustedIdentities: p.trustedIdentities,
    enforcement: p.enforcement,
  };
}
