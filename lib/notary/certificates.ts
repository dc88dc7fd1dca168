// The certificate rules of the Notary Project signature specification,
// applied to the chain an envelope carries (x5c / x5chain):
//   - the chain is complete and ordered: leaf first, each certificate issued
//     by the next, ending in a self-signed root (a single certificate is a
//     self-signed leaf); no unrelated certificate; no SHA-1 signatures;
//   - CA certificates: basicConstraints critical with CA true (pathLen
//     honoured), keyUsage critical with keyCertSign;
//   - the signing certificate: basicConstraints, if any, not a CA; keyUsage
//     critical with digitalSignature and none of the encipherment / agreement
//     / CA bits; extendedKeyUsage, if any, with code signing and without
//     anyExtendedKeyUsage, serverAuth, clientAuth, emailProtection,
//     timeStamping or OCSPSigning.
// Path building, signatures between certificates and validity times are the
// X.509 checks of lib/trust/chain.ts; trust (a certificate of the chain is in
// the trust store) is decided in verify.ts.

import type { X509Certificate } from '@sigstore/core';
import { SigwardError } from '../errors.ts';
import { getExtendedKeyUsages, toCertificate, verifyCertificateChain } from '../trust/index.ts';

const OID = {
  keyUsage: '2.5.29.15',
  basicConstraints: '2.5.29.19',
  crlDistributionPoints: '2.5.29.31',
  authorityInfoAccess: '1.3.6.1.5.5.7.1.1',
  ocsp: '1.3.6.1.5.5.7.48.1',
  codeSigning: '1.3.6.1.5.5.7.3.3',
} as const;

const FORBIDDEN_EKUS: Record<string, string> = {
  '2.5.29.37.0': 'anyExtendedKeyUsage',
  '1.3.6.1.5.5.7.3.1': 'serverAuth',
  '1.3.6.1.5.5.7.3.2': 'clientAuth',
  '1.3.6.1.5.5.7.3.4': 'emailProtection',
  '1.3.6.1.5.5.7.3.8': 'timeStamping',
  '1.3.6.1.5.5.7.3.9': 'OCSPSigning',
};
const SHA1_SIGNATURES = new Set(['1.2.840.113549.1.1.5', '1.2.840.10045.4.1']);
/** keyUsage bits the signing certificate must not have (RFC 5280 bit numbers) */
const FORBIDDEN_LEAF_BITS: [number, string][] = [
  [2, 'keyEncipherment'],
  [3, 'dataEncipherment'],
  [4, 'keyAgreement'],
  [5, 'keyCertSign'],
  [6, 'cRLSign'],
  [7, 'encipherOnly'],
  [8, 'decipherOnly'],
];

function bad(cert: X509Certificate, msg: string): SigwardError {
  return new SigwardError('CERTIFICATE_INVALID', `certificate with subject "${subjectText(cert)}" is invalid: ${msg}`);
}

/** The subject DN as notation prints it (`C=US, ST=WA, O=..., CN=...`). */
export function subjectText(cert: X509Certificate): string {
  return getSubjectAttributes(cert).map(([k, v]) => `${k}=${v}`).join(', ') || cert.subject.toString('hex');
}

const ATTRIBUTE_NAMES: Record<string, string> = {
  '2.5.4.3': 'CN',
  '2.5.4.6': 'C',
  '2.5.4.7': 'L',
  '2.5.4.8': 'ST',
  '2.5.4.10': 'O',
  '2.5.4.11': 'OU',
  '2.5.4.5': 'SERIALNUMBER',
  '1.2.840.113549.1.9.1': 'E',
};

/** RDN attributes of a Name, in order: [type, value]. */
export function getNameAttributes(
  name: { subs: { subs: { subs: { toOID(): string; value: Buffer }[] }[] }[] } | null,
): [string, string][] {
  const out: [string, string][] = [];
  for (const rdn of name?.subs ?? []) {
    for (const atv of rdn.subs ?? []) {
      const [type, value] = atv.subs ?? [];
      if (!type || !value) continue;
      let oid: string;
      try {
        oid = type.toOID();
      } catch {
        continue;
      }
      out.push([ATTRIBUTE_NAMES[oid] ?? oid, Buffer.from(value.value).toString('utf8')]);
    }
  }
  return out;
}

/** The subject's attributes of a certificate, in order (trusted identities match on them). */
export function getSubjectAttributes(cert: X509Certificate): [string, string][] {
  // tbsCertificate: version, serialNumber, signature, issuer, validity, subject, ...
  return getNameAttributes((cert.tbsCertificate.subs[5] ?? null) as never);
}

function keyUsageBits(cert: X509Certificate): number[] | undefined {
  const ext = cert.extension(OID.keyUsage);
  if (!ext) return undefined;
  return cert.extKeyUsage ? [...(cert.extKeyUsage as unknown as { bitString: number[] }).bitString] : undefined;
}

function isSelfSigned(cert: X509Certificate): boolean {
  if (!cert.subject.equals(cert.issuer)) return false;
  try {
    return cert.verify();
  } catch {
    return false;
  }
}

function checkCA(cert: X509Certificate): void {
  const bc = cert.extension(OID.basicConstraints);
  if (!bc || !cert.extBasicConstraints?.isCA || !bc.critical) {
    throw bad(cert, 'a CA certificate needs basicConstraints marked critical with CA set to true');
  }
  const ku = cert.extension(OID.keyUsage);
  if (!ku || !ku.critical) throw bad(cert, 'a CA certificate needs the keyUsage extension, marked critical');
  if (!cert.extKeyUsage?.keyCertSign) throw bad(cert, 'a CA certificate needs keyUsage keyCertSign');
}

function checkLeaf(cert: X509Certificate): void {
  if (cert.extension(OID.basicConstraints) && cert.extBasicConstraints?.isCA) {
    throw bad(cert, 'the signing certificate must not be a CA (basicConstraints CA is true)');
  }
  const ku = cert.extension(OID.keyUsage);
  if (!ku || !ku.critical) throw bad(cert, 'the signing certificate needs the keyUsage extension, marked critical');
  const bits = keyUsageBits(cert) ?? [];
  if (bits[0] !== 1) throw bad(cert, 'the signing certificate needs keyUsage digitalSignature');
  const extra = FORBIDDEN_LEAF_BITS.filter(([b]) => bits[b] === 1).map(([, n]) => n);
  if (extra.length) throw bad(cert, `the signing certificate must not have keyUsage ${extra.join(', ')}`);
  const ekus = getExtendedKeyUsages(cert);
  if (ekus) {
    const forbidden = ekus.filter((e) => FORBIDDEN_EKUS[e]).map((e) => FORBIDDEN_EKUS[e]);
    if (forbidden.length) {
      throw bad(cert, `the signing certificate's extended key usage must not contain ${forbidden.join(', ')}`);
    }
    if (!ekus.includes(OID.codeSigning)) {
      throw bad(cert, "the signing certificate's extended key usage must contain code signing");
    }
  }
}

function signatureOid(cert: X509Certificate): string {
  try {
    return cert.root.subs[1]!.subs[0]!.toOID();
  } catch {
    return '';
  }
}

/**
 * Parses and checks the envelope's chain (DER, leaf first) against the
 * certificate requirements; `at`: times every certificate must be valid at
 * (the signing time). Returns the parsed chain. Throws CERTIFICATE_INVALID.
 */
export function verifyNotaryChain(der: Uint8Array[], at: Date[]): X509Certificate[] {
  if (der.length === 0) throw new SigwardError('CERTIFICATE_INVALID', 'the signature carries no certificate');
  if (der.length > 10) {
    throw new SigwardError(
      'CERTIFICATE_INVALID',
      `the signature's certificate chain has ${der.length} certificates, more than 10`,
    );
  }
  const chain = der.map((d) => toCertificate(d));
  for (const c of chain) {
    if (SHA1_SIGNATURES.has(signatureOid(c))) throw bad(c, 'SHA-1 certificate signatures are not allowed');
  }
  const root = chain[chain.length - 1]!;
  if (!isSelfSigned(root)) {
    throw new SigwardError(
      'CERTIFICATE_INVALID',
      `the signature's certificate chain does not end with a self-signed root certificate (last: "${
        subjectText(root)
      }")`,
    );
  }
  const path = verifyCertificateChain(chain[0]!, {
    roots: [root],
    intermediates: chain.slice(1, -1),
    at,
    codeSigning: false,
  });
  if (path.length !== chain.length || path.some((c, i) => !c.equals(chain[i]!))) {
    throw new SigwardError(
      'CERTIFICATE_INVALID',
      "the signature's certificate chain is not ordered leaf to root, or holds an unrelated certificate",
    );
  }
  for (const c of chain.slice(1)) checkCA(c);
  checkLeaf(chain[0]!);
  return chain;
}

/** Certificates of the chain that name OCSP responders or CRL distribution points. */
export function getRevocationEndpoints(chain: X509Certificate[]): { cert: X509Certificate; kinds: string[] }[] {
  const out: { cert: X509Certificate; kinds: string[] }[] = [];
  for (const cert of chain) {
    const kinds: string[] = [];
    const aia = cert.extension(OID.authorityInfoAccess);
    if (aia) {
      try {
        const methods = (aia.valueObj.subs[0]?.subs ?? []).map((ad) => ad.subs[0]?.toOID());
        if (methods.includes(OID.ocsp)) kinds.push('OCSP');
      } catch {
        kinds.push('OCSP');
      }
    }
    if (cert.extension(OID.crlDistributionPoints)) kinds.push('CRL');
    if (kinds.length) out.push({ cert, kinds });
  }
  return out;
}

/**
 * notation's rule for certificates in a trust store directory: a CA
 * certificate, or a self-signed signing certificate. Throws CONFIG_INVALID.
 * (Kyverno's in-memory trust store has no such rule: policies do not apply it.)
 */
export function verifyTrustStoreCertificate(cert: X509Certificate, store: string): void {
  if (cert.extBasicConstraints?.isCA || isSelfSigned(cert)) return;
  throw new SigwardError(
    'CONFIG_INVALID',
    `trust store ${store}: certificate "${
      subjectText(cert)
    }" is not a CA certificate or a self-signed signing certificate (notation refuses it)`,
  );
}
