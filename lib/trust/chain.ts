// X.509 path building and validation for signing certificates: Fulcio leaves
// against trusted-root CAs (with intermediates carried next to the signature)
// and private PKI (Kyverno certificates.certChain, cosign --ca-roots /
// --ca-intermediates / --certificate-chain).

import type { X509Certificate } from '@sigstore/core';
import type { TrustMaterial } from '@sigstore/verify';
import { SigwardError } from '../errors.ts';
import { getExtendedKeyUsages, OID_CODE_SIGNING } from './identity.ts';
import { toCertificate } from './keys.ts';

type CertAuthority = TrustMaterial['certificateAuthorities'][number];

export interface ChainOptions {
  /** trust anchors: a path ends at the first one reached */
  roots: X509Certificate[];
  /** untrusted certificates that may be used to reach a root */
  intermediates?: X509Certificate[];
  /** every certificate of the path must be valid at each of these times */
  at: Date | Date[];
  /** CA certificates carrying an EKU must allow code signing (Go x509 semantics); default true */
  codeSigning?: boolean;
}

const MAX_DEPTH = 8;
const OID_ANY_EKU = '2.5.29.37.0';

/**
 * Builds and checks a path from leaf to a trust anchor: signatures, name
 * chaining, validity at the given time(s), CA basicConstraints and
 * keyCertSign on every issuer, pathLen constraints.
 * Returns the path [leaf, ..., anchor]; throws CERTIFICATE_INVALID.
 */
export function verifyCertificateChain(
  leafInput: X509Certificate | Uint8Array | string,
  opts: ChainOptions,
): X509Certificate[] {
  const leaf = toCertificate(leafInput);
  const times = Array.isArray(opts.at) ? opts.at : [opts.at];
  const paths = buildPaths(leaf, opts.roots, opts.intermediates ?? []);
  if (paths.length === 0) {
    throw new SigwardError(
      'CERTIFICATE_INVALID',
      'certificate is not issued by a trusted certificate authority (no path to a trusted root)',
    );
  }
  let firstError: SigwardError | undefined;
  for (const path of paths) {
    try {
      checkPath(path, times, opts.codeSigning ?? true);
      return path;
    } catch (e) {
      if (!(e instanceof SigwardError)) throw e;
      firstError ??= e;
    }
  }
  throw firstError as SigwardError;
}

// Certificates are immutable once parsed, and the trust root's are parsed
// once: their DER encoding and the issuer signatures checked between them are
// kept per object instead of being re-encoded and re-verified on every chain
// (X509Certificate.equals re-encodes both certificates each time).
const derKeys = new WeakMap<X509Certificate, string>();
const issuerChecks = new WeakMap<X509Certificate, WeakMap<X509Certificate, boolean>>();

function derKey(c: X509Certificate): string {
  let k = derKeys.get(c);
  if (k === undefined) {
    k = c.root.toDER().toString('base64');
    derKeys.set(c, k);
  }
  return k;
}

function sameCert(a: X509Certificate, b: X509Certificate): boolean {
  return a === b || derKey(a) === derKey(b);
}

function issuedBy(cert: X509Certificate, issuer: X509Certificate): boolean {
  let byIssuer = issuerChecks.get(cert);
  const known = byIssuer?.get(issuer);
  if (known !== undefined) return known;
  const ok = checkIssuedBy(cert, issuer);
  if (!byIssuer) issuerChecks.set(cert, byIssuer = new WeakMap());
  byIssuer.set(issuer, ok);
  return ok;
}

function checkIssuedBy(cert: X509Certificate, issuer: X509Certificate): boolean {
  if (!issuer.subject.equals(cert.issuer)) return false;
  const aki = cert.extAuthorityKeyID?.keyIdentifier;
  const ski = issuer.extSubjectKeyID?.keyIdentifier;
  if (aki && ski && !aki.equals(ski)) return false;
  try {
    return cert.verify(issuer);
  } catch {
    return false;
  }
}

// Depth-first enumeration of every path from cert to an anchor.
function buildPaths(
  leaf: X509Certificate,
  roots: X509Certificate[],
  intermediates: X509Certificate[],
): X509Certificate[][] {
  const out: X509Certificate[][] = [];
  const walk = (path: X509Certificate[]) => {
    const cert = path[path.length - 1];
    if (roots.some((r) => sameCert(r, cert))) {
      out.push(path);
      return;
    }
    if (path.length > MAX_DEPTH) return;
    const candidates = [...roots, ...intermediates].filter(
      (c, i, all) =>
        all.findIndex((x) => sameCert(x, c)) === i && !path.some((p) => sameCert(p, c)) && issuedBy(cert, c),
    );
    for (const c of candidates) walk([...path, c]);
  };
  walk([leaf]);
  // shortest paths first
  return out.sort((a, b) => a.length - b.length);
}

function describe(cert: X509Certificate, i: number): string {
  return i === 0 ? 'signing certificate' : `issuer certificate #${i}`;
}

function checkPath(path: X509Certificate[], times: Date[], codeSigning: boolean): void {
  for (let i = 1; i < path.length; i++) {
    const ca = path[i];
    if (!ca.extBasicConstraints?.isCA) {
      throw new SigwardError(
        'CERTIFICATE_INVALID',
        `${describe(ca, i)} is not a certificate authority (basicConstraints CA:TRUE missing)`,
      );
    }
    const ku = ca.extKeyUsage;
    if (ku && !ku.keyCertSign) {
      throw new SigwardError(
        'CERTIFICATE_INVALID',
        `${describe(ca, i)} may not sign certificates (keyUsage keyCertSign missing)`,
      );
    }
    const pathLen = ca.extBasicConstraints.pathLenConstraint;
    // intermediates between this CA and the leaf: i - 1
    if (pathLen !== undefined && BigInt(i - 1) > pathLen) {
      throw new SigwardError('CERTIFICATE_INVALID', `${describe(ca, i)} path length constraint (${pathLen}) exceeded`);
    }
    if (codeSigning) {
      const ekus = getExtendedKeyUsages(ca);
      if (ekus && !ekus.includes(OID_CODE_SIGNING) && !ekus.includes(OID_ANY_EKU)) {
        throw new SigwardError(
          'CERTIFICATE_INVALID',
          `${describe(ca, i)} is not allowed to issue code signing certificates`,
        );
      }
    }
  }
  for (const t of times) {
    path.forEach((c, i) => {
      if (!c.validForDate(t)) {
        throw new SigwardError(
          'CERTIFICATE_INVALID',
          `${
            describe(c, i)
          } is not valid at ${t.toISOString()} (valid ${c.notBefore.toISOString()} to ${c.notAfter.toISOString()})`,
          {
            detail: { time: t.toISOString(), notBefore: c.notBefore.toISOString(), notAfter: c.notAfter.toISOString() },
          },
        );
      }
    });
  }
}

export interface TrustedChain {
  /** [leaf, ..., anchor] */
  path: X509Certificate[];
  /** the trusted CA entry the path ends in */
  authority: CertAuthority;
}

/**
 * Verifies a leaf against the CAs of trust material (each CA entry's
 * certificates are trusted; only entries whose validFor covers every time
 * are used), with optional untrusted intermediates (cosign `chain`
 * annotation, bundle certificate chains).
 */
export function verifyCertificateWithTrust(
  leafInput: X509Certificate | Uint8Array | string,
  opts: { authorities: CertAuthority[]; intermediates?: X509Certificate[]; at: Date[] },
): TrustedChain {
  const leaf = toCertificate(leafInput);
  const usable = opts.authorities.filter((ca) => opts.at.every((t) => ca.validFor.start <= t && t <= ca.validFor.end));
  if (usable.length === 0) {
    const when = opts.at.map((t) => t.toISOString()).join(', ');
    throw new SigwardError(
      'CERTIFICATE_INVALID',
      `no trusted certificate authority is valid at the signing time (${when})`,
    );
  }
  let firstError: SigwardError | undefined;
  let noPath = 0;
  for (const ca of usable) {
    try {
      const path = verifyCertificateChain(leaf, {
        roots: ca.certChain,
        intermediates: opts.intermediates,
        at: opts.at,
      });
      return { path, authority: ca };
    } catch (e) {
      if (!(e instanceof SigwardError)) throw e;
      if (/no path to a trusted root/.test(e.message)) noPath++;
      else firstError ??= e;
    }
  }
  // Prefer a concrete reason (expired, not a CA) over "no path" from other CAs.
  throw firstError ??
    new SigwardError(
      'CERTIFICATE_INVALID',
      'certificate is not issued by a trusted certificate authority (no path to a trusted root)',
      { detail: { triedAuthorities: noPath } },
    );
}

/**
 * The CA entry to hand to @sigstore/verify for a path found here: the
 * untrusted intermediates used, followed by the trusted entry's chain. (It
 * only looks at the leaf and the trust material, so carried intermediates
 * must be put there.)
 */
export function toPathAuthority(chain: TrustedChain): CertAuthority {
  const extra = chain.path.slice(1).filter((c) => !chain.authority.certChain.some((t) => t.equals(c)));
  return { certChain: [...extra, ...chain.authority.certChain], validFor: chain.authority.validFor };
}

/** Trust anchors (Kyverno certChain root, cosign --ca-roots) as one always-valid CA entry. */
export function toAuthorityFromRoots(roots: X509Certificate[]): CertAuthority {
  return {
    certChain: [...roots],
    validFor: { start: new Date(0), end: new Date(8640000000000000) },
  };
}
