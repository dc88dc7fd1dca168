// Where trust comes from: a trusted_root.json file, cosign's PEM environment
// overrides, the embedded public-good root, or (only when asked) TUF.

import { readFileSync } from 'node:fs';
import { X509Certificate as NodeX509 } from 'node:crypto';
import type { X509Certificate } from '@sigstore/core';
import {
  type CertificateAuthority,
  HashAlgorithm,
  type TransparencyLogInstance,
  type TrustedRoot,
} from '@sigstore/protobuf-specs';
import { SigwardError } from '../errors.ts';
import { getEmbeddedTrustedRootJSON, PUBLIC_GOOD_MIRROR } from './embedded/public-good.ts';
import { errText, getKeyDetails, getPEMBlocks, parseCertificates, sha256, toPublicKey, toSPKI } from './keys.ts';
import { mergeTrustedRoots, parseTrustedRoot, toTrust, type Trust } from './root.ts';
import { fetchTUFTrustedRoot, type TUFTrustOptions } from './tuf.ts';

export type { TUFTrustOptions } from './tuf.ts';

/** cosign's environment variables; each names a PEM file. */
export const TRUST_ENV = {
  fulcioRoots: 'SIGSTORE_ROOT_FILE',
  rekorKeys: 'SIGSTORE_REKOR_PUBLIC_KEY',
  ctlogKeys: 'SIGSTORE_CT_LOG_PUBLIC_KEY_FILE',
  tsaChain: 'SIGSTORE_TSA_CERTIFICATE_FILE',
} as const;

/** PEM texts for a synthetic trusted root (cosign's private-deployment knobs). */
export interface PEMTrustInput {
  /** Fulcio root(s) and intermediates, PEM CERTIFICATE blocks in any order */
  fulcioRoots?: string;
  /** Rekor public key(s), PEM PUBLIC KEY blocks */
  rekorKeys?: string;
  /** CT log public key(s), PEM PUBLIC KEY blocks */
  ctlogKeys?: string;
  /** TSA certificate chain (leaf, intermediates, root) */
  tsaChain?: string;
  /** start of validity for every synthetic entry; epoch 0 when unknown */
  validFrom?: Date;
}

const SYNTHETIC_MEDIA_TYPE = 'application/vnd.dev.sigstore.trustedroot+json;version=0.1';

/**
 * Builds a trusted root from PEM material, the way cosign treats its
 * environment overrides: all CA certificates form ONE authority (chain ordered
 * leaf-most first), each Rekor/CT key one log with logId = sha256(SPKI DER),
 * the TSA chain one timestamp authority.
 */
export function toTrustedRootFromPEMs(input: PEMTrustInput): TrustedRoot {
  const start = input.validFrom ?? new Date(0);
  const root: TrustedRoot = {
    mediaType: SYNTHETIC_MEDIA_TYPE,
    tlogs: [],
    ctlogs: [],
    certificateAuthorities: [],
    timestampAuthorities: [],
  };
  if (input.fulcioRoots !== undefined) {
    root.certificateAuthorities.push(toCertificateAuthority(input.fulcioRoots, 'Fulcio roots', start));
  }
  if (input.tsaChain !== undefined) {
    root.timestampAuthorities.push(toCertificateAuthority(input.tsaChain, 'TSA certificate chain', start));
  }
  if (input.rekorKeys !== undefined) root.tlogs.push(...toLogInstances(input.rekorKeys, 'Rekor public key', start));
  if (input.ctlogKeys !== undefined) root.ctlogs.push(...toLogInstances(input.ctlogKeys, 'CT log public key', start));
  return root;
}

/** One CA entry from a PEM bundle; certificates sorted leaf-most first, anchor last. */
export function toCertificateAuthority(pem: string, what = 'certificates', start = new Date(0)): CertificateAuthority {
  const certs = parseCertificates(pem);
  if (certs.length === 0) throw new SigwardError('TRUST_ROOT_INVALID', `${what}: no PEM certificate found`);
  const ordered = orderLeafFirst(certs);
  const anchor = new NodeX509(Buffer.from(ordered[ordered.length - 1].root.toDER()));
  const rdn = (name: string, key: string) =>
    name
      .split('\n')
      .find((l) => l.startsWith(`${key}=`))
      ?.slice(key.length + 1) ?? '';
  return {
    subject: { organization: rdn(anchor.subject, 'O'), commonName: rdn(anchor.subject, 'CN') },
    uri: '',
    certChain: { certificates: ordered.map((c) => ({ rawBytes: Buffer.from(c.root.toDER()) })) },
    validFor: { start },
    operator: '',
  };
}

// Sorts certificates so that every certificate precedes its issuer: by the
// number of issuer links between the certificate and a self-signed one.
function orderLeafFirst(certs: X509Certificate[]): X509Certificate[] {
  const issuerOf = (c: X509Certificate): X509Certificate | undefined =>
    certs.find((i) => i !== c && !i.equals(c) && i.subject.equals(c.issuer) && safeVerify(c, i));
  const depth = new Map<X509Certificate, number>();
  for (const c of certs) {
    let d = 0;
    const seen = new Set<X509Certificate>([c]);
    for (let i = issuerOf(c); i && !seen.has(i); i = issuerOf(i)) {
      seen.add(i);
      d++;
    }
    depth.set(c, d);
  }
  return [...certs].sort((a, b) => (depth.get(b) ?? 0) - (depth.get(a) ?? 0));
}

function safeVerify(c: X509Certificate, issuer: X509Certificate): boolean {
  try {
    return c.verify(issuer);
  } catch {
    return false;
  }
}

function toLogInstances(pem: string, what: string, start: Date): TransparencyLogInstance[] {
  const blocks = getPEMBlocks(pem).filter((b) => b.type === 'PUBLIC KEY' || b.type === 'RSA PUBLIC KEY');
  if (blocks.length === 0) throw new SigwardError('TRUST_ROOT_INVALID', `${what}: no PEM public key found`);
  return blocks.map((b) => {
    const key = toPublicKey(`-----BEGIN ${b.type}-----\n${b.der.toString('base64')}\n-----END ${b.type}-----\n`);
    const spki = toSPKI(key);
    return {
      baseUrl: '',
      hashAlgorithm: HashAlgorithm.SHA2_256,
      publicKey: { rawBytes: spki, keyDetails: getKeyDetails(key), validFor: { start } },
      logId: { keyId: sha256(spki) },
      checkpointKeyId: undefined,
      operator: '',
    };
  });
}

/** The Sigstore public-good trusted root compiled into sigward. */
export function getEmbeddedTrustedRoot(): TrustedRoot {
  return parseTrustedRoot(getEmbeddedTrustedRootJSON(), 'embedded public-good trusted root');
}

/** Fetches trusted_root.json via @sigstore/tuf (lib/trust/tuf.ts). Network; only call when asked. */
export async function getTUFTrustedRoot(opts: TUFTrustOptions = {}): Promise<TrustedRoot> {
  return (await fetchTUFTrustedRoot(opts)).root;
}

export type FileReader = (path: string) => Uint8Array;

const defaultReader: FileReader = (p) => readFileSync(p);

function readText(read: FileReader, path: string, what: string): string {
  try {
    return Buffer.from(read(path)).toString('utf8');
  } catch (e) {
    throw new SigwardError('TRUST_ROOT_INVALID', `cannot read ${what} ${path}: ${errText(e)}`, { cause: e });
  }
}

/** The PEM overrides named by cosign's environment variables, if any is set. */
export function readPEMOverrides(
  env: Record<string, string | undefined>,
  read: FileReader = defaultReader,
): { input: PEMTrustInput; sources: string[] } | undefined {
  const input: PEMTrustInput = {};
  const sources: string[] = [];
  for (const [field, name] of Object.entries(TRUST_ENV) as [keyof typeof TRUST_ENV, string][]) {
    const path = env[name];
    if (!path) continue;
    input[field] = readText(read, path, name);
    sources.push(`${name}=${path}`);
  }
  return sources.length > 0 ? { input, sources } : undefined;
}

export interface LoadTrustOptions {
  /** a trusted_root.json file (cosign --trusted-root) */
  trustedRootPath?: string;
  /** environment with cosign's PEM overrides (SIGSTORE_ROOT_FILE, ...) */
  env?: Record<string, string | undefined>;
  /** fetch trusted_root.json over TUF; never done unless given */
  tuf?: TUFTrustOptions;
  /** fall back to the embedded public-good root (default true) */
  embedded?: boolean;
  /** file reader (injected for tests) */
  readFile?: FileReader;
  /** told when something is used in a degraded way (TUF metadata from the cache because the mirror is unreachable) */
  warn?: (text: string) => void;
}

/**
 * Loads trust the way cosign does, offline unless `tuf` is given.
 * Base root: trustedRootPath, else TUF when asked, else the embedded
 * public-good root (unless embedded === false).
 * PEM overrides from env: with an explicit trustedRootPath they are ADDED to
 * it; otherwise each override REPLACES that part of the base (cosign: e.g.
 * SIGSTORE_ROOT_FILE replaces the Fulcio CAs from TUF, the Rekor keys stay).
 */
export async function loadTrustMaterial(opts: LoadTrustOptions = {}): Promise<Trust> {
  const read = opts.readFile ?? defaultReader;
  const overrides = opts.env ? readPEMOverrides(opts.env, read) : undefined;
  const sources: string[] = [];
  let base: TrustedRoot | undefined;
  if (opts.trustedRootPath) {
    base = parseTrustedRoot(readText(read, opts.trustedRootPath, 'trusted root'), opts.trustedRootPath);
    sources.push(`file ${opts.trustedRootPath}`);
  } else if (opts.tuf) {
    const mirror = opts.tuf.mirrorURL ?? PUBLIC_GOOD_MIRROR;
    const got = await fetchTUFTrustedRoot({ env: opts.env, ...opts.tuf });
    base = got.root;
    if (got.offline) {
      sources.push(`TUF ${mirror} (cached metadata, mirror unreachable)`);
      opts.warn?.(
        `TUF mirror ${mirror} is unreachable (${got.offline.reason}); using the trusted root from the cached TUF metadata in ${got.offline.cacheDir}, valid until ${got.offline.validUntil}`,
      );
    } else {
      sources.push(`TUF ${mirror}`);
    }
  } else if (opts.embedded !== false) {
    // the embedded root is a build-time constant (it cannot fail to load): made on first use, so that
    // a check that needs no trust root (a key without transparency log) does not pay for it
    if (!overrides) return toLazyTrust(() => getEmbeddedTrustedRoot(), ['embedded public-good trusted root']);
    base = getEmbeddedTrustedRoot();
    sources.push('embedded public-good trusted root');
  }
  if (!overrides) {
    if (!base) {
      throw new SigwardError('CONFIG_INVALID', 'no trust root: give a trusted root file, PEM overrides or TUF');
    }
    return toTrust(base, sources);
  }
  const synthetic = toTrustedRootFromPEMs(overrides.input);
  sources.push(...overrides.sources);
  let root: TrustedRoot;
  if (!base) root = synthetic;
  else if (opts.trustedRootPath) root = mergeTrustedRoots(base, synthetic);
  else {
    const i = overrides.input;
    root = {
      ...base,
      certificateAuthorities: i.fulcioRoots !== undefined
        ? synthetic.certificateAuthorities
        : base.certificateAuthorities,
      tlogs: i.rekorKeys !== undefined ? synthetic.tlogs : base.tlogs,
      ctlogs: i.ctlogKeys !== undefined ? synthetic.ctlogs : base.ctlogs,
      timestampAuthorities: i.tsaChain !== undefined ? synthetic.timestampAuthorities : base.timestampAuthorities,
    };
  }
  return toTrust(root, sources);
}

/**
 * A Trust whose root and material are made on first access (once), for a root
 * that cannot fail to load. Each part of the material is looked up on its
 * own, so that a check that reads none of them (a key without transparency
 * log or timestamps) never makes it.
 */
function toLazyTrust(getRoot: () => TrustedRoot, sources: string[]): Trust {
  let made: Trust | undefined;
  const make = () => (made ??= toTrust(getRoot(), sources));
  const material = {
    get certificateAuthorities() {
      return make().material.certificateAuthorities;
    },
    get timestampAuthorities() {
      return make().material.timestampAuthorities;
    },
    get tlogs() {
      return make().material.tlogs;
    },
    get ctlogs() {
      return make().material.ctlogs;
    },
    get publicKey() {
      return make().material.publicKey;
    },
  };
  return {
    get root() {
      return make().root;
    },
    material,
    sources,
  };
}
