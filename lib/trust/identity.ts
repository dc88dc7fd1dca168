// Signer identity from a (Fulcio or private PKI) certificate and the identity
// policy check. Done here rather than by @sigstore/verify, whose SAN check is
// an unanchored regular expression over a string.

import type { X509Certificate } from '@sigstore/core';
import { SigwardError } from '../errors.ts';
import { toCertificate } from './keys.ts';
import { compileGoRegex, type GoRegex, GoRegexSyntaxError } from '../go-regex.ts';
import { matchesPattern } from '../wildcard.ts';

/** Fulcio certificate extension OIDs (docs/oid-info.md), by policy name. */
export const FULCIO_OIDS = {
  issuerV1: '1.3.6.1.4.1.57264.1.1',
  githubWorkflowTrigger: '1.3.6.1.4.1.57264.1.2',
  githubWorkflowSha: '1.3.6.1.4.1.57264.1.3',
  githubWorkflowName: '1.3.6.1.4.1.57264.1.4',
  githubWorkflowRepository: '1.3.6.1.4.1.57264.1.5',
  githubWorkflowRef: '1.3.6.1.4.1.57264.1.6',
  otherNameSAN: '1.3.6.1.4.1.57264.1.7',
  issuer: '1.3.6.1.4.1.57264.1.8',
  buildSignerURI: '1.3.6.1.4.1.57264.1.9',
  buildSignerDigest: '1.3.6.1.4.1.57264.1.10',
  runnerEnvironment: '1.3.6.1.4.1.57264.1.11',
  sourceRepositoryURI: '1.3.6.1.4.1.57264.1.12',
  sourceRepositoryDigest: '1.3.6.1.4.1.57264.1.13',
  sourceRepositoryRef: '1.3.6.1.4.1.57264.1.14',
  sourceRepositoryIdentifier: '1.3.6.1.4.1.57264.1.15',
  sourceRepositoryOwnerURI: '1.3.6.1.4.1.57264.1.16',
  sourceRepositoryOwnerIdentifier: '1.3.6.1.4.1.57264.1.17',
  buildConfigURI: '1.3.6.1.4.1.57264.1.18',
  buildConfigDigest: '1.3.6.1.4.1.57264.1.19',
  buildTrigger: '1.3.6.1.4.1.57264.1.20',
  runInvocationURI: '1.3.6.1.4.1.57264.1.21',
  sourceRepositoryVisibilityAtSigning: '1.3.6.1.4.1.57264.1.22',
  deploymentEnvironment: '1.3.6.1.4.1.57264.1.23',
  tokenSubject: '1.3.6.1.4.1.57264.1.24',
} as const;

export type FulcioExtensionName = keyof typeof FULCIO_OIDS;

const OID_NAMES = new Map<string, string>(Object.entries(FULCIO_OIDS).map(([n, o]) => [o, n]));
const FULCIO_PREFIX = '1.3.6.1.4.1.57264.1.';
const OID_SAN = '2.5.29.17';
const OID_EKU = '2.5.29.37';
export const OID_CODE_SIGNING = '1.3.6.1.5.5.7.3.3';
const OID_ANY_EKU = '2.5.29.37.0';

/**
 * What a certificate must identify. All given constraints must hold.
 * Regular expressions are Go (RE2) syntax, matched anywhere in the value as cosign and Kyverno match them.
 */
export interface IdentityPolicy {
  /** exact SAN (email, URI, OtherName username, DNS name) */
  subject?: string;
  /** SAN regular expression (Go syntax, matched anywhere in the SAN, as cosign) */
  subjectRegExp?: string;
  /** SAN with `*` (any run) and `?` (one character) wildcards (Kyverno `subject`) */
  subjectWildcard?: string;
  /** exact OIDC issuer (Fulcio .1.8, falling back to .1.1) */
  issuer?: string;
  /** issuer regular expression (Go syntax, matched anywhere in the issuer, as cosign) */
  issuerRegExp?: string;
  /** issuer with `*`/`?` wildcards */
  issuerWildcard?: string;
  /** exact certificate extension values by Fulcio name (githubWorkflowSha, buildSignerURI, ...) or dotted OID */
  extensions?: Record<string, string>;
}

export type SANType = 'email' | 'uri' | 'otherName' | 'dns' | 'ip';

export interface SubjectAlternativeName {
  type: SANType;
  value: string;
}

export interface CertificateIdentity {
  /** the primary SAN: the first email, URI, OtherName, DNS or IP name */
  san?: string;
  sanType?: SANType;
  /** all SANs in certificate order */
  sans: SubjectAlternativeName[];
  /** OIDC issuer: .1.8 (DER UTF8String) preferred, else .1.1 (raw) */
  issuer?: string;
  /** Fulcio extensions by name (see FULCIO_OIDS); other 57264.1.x by dotted OID */
  extensions: Record<string, string>;
}

/** Reads the identity (SANs, issuer, Fulcio extensions) of a certificate. */
export function getCertificateIdentity(input: X509Certificate | Uint8Array | string): CertificateIdentity {
  const cert = toCertificate(input);
  const sans = getSubjectAlternativeNames(cert);
  const extensions: Record<string, string> = {};
  for (const ext of cert.extensions) {
    const oid = ext.subs[0].toOID();
    if (!oid.startsWith(FULCIO_PREFIX) || oid === FULCIO_OIDS.otherNameSAN) continue;
    const value = getFulcioExtensionValue(cert, oid);
    if (value !== undefined) extensions[OID_NAMES.get(oid) ?? oid] = value;
  }
  const issuer = extensions.issuer ?? extensions.issuerV1;
  const primary = sans.find((s) => s.type === 'email' || s.type === 'uri' || s.type === 'otherName') ?? sans[0];
  return {
    ...(primary ? { san: primary.value, sanType: primary.type } : {}),
    sans,
    ...(issuer !== undefined ? { issuer } : {}),
    extensions,
  };
}

/** Value of a certificate extension as Fulcio defines it (.1–.6 raw, .8+ DER string). */
export function getFulcioExtensionValue(cert: X509Certificate, oid: string): string | undefined {
  const ext = cert.extension(oid);
  if (!ext) return undefined;
  const raw = ext.value;
  const arc = oid.startsWith(FULCIO_PREFIX) ? Number(oid.slice(FULCIO_PREFIX.length)) : NaN;
  if (arc >= 1 && arc <= 6) return raw.toString('utf8');
  // .8 and later (and any other extension): a DER string; fall back to raw text
  return decodeDERString(raw) ?? raw.toString('utf8');
}

// UTF8String (0x0C), PrintableString (0x13), IA5String (0x16) → text.
function decodeDERString(buf: Buffer): string | undefined {
  if (buf.length < 2 || ![0x0c, 0x13, 0x16].includes(buf[0])) return undefined;
  let len = buf[1];
  let off = 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0 || n > 4 || buf.length < 2 + n) return undefined;
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + buf[2 + i];
    off = 2 + n;
  }
  if (off + len !== buf.length) return undefined;
  return buf.subarray(off, off + len).toString('utf8');
}

/** Every SAN of the certificate (email, URI, Fulcio OtherName, DNS, IP). */
export function getSubjectAlternativeNames(cert: X509Certificate): SubjectAlternativeName[] {
  const ext = cert.extension(OID_SAN);
  if (!ext) return [];
  const out: SubjectAlternativeName[] = [];
  const names = ext.valueObj.subs[0]?.subs ?? [];
  for (const gn of names) {
    if (!gn.tag.isContextSpecific()) continue;
    switch (gn.tag.number) {
      case 0: {
        // otherName ::= SEQUENCE { type-id OID, value [0] EXPLICIT ANY }
        const typeId = gn.subs[0]?.toOID();
        const inner = gn.subs[1]?.subs[0];
        if (typeId === FULCIO_OIDS.otherNameSAN && inner) {
          out.push({ type: 'otherName', value: inner.value.toString('utf8') });
        }
        break;
      }
      case 1:
        out.push({ type: 'email', value: gn.value.toString('ascii') });
        break;
      case 2:
        out.push({ type: 'dns', value: gn.value.toString('ascii') });
        break;
      case 6:
        out.push({ type: 'uri', value: gn.value.toString('ascii') });
        break;
      case 7:
        out.push({ type: 'ip', value: formatIP(gn.value) });
        break;
    }
  }
  return out;
}

function formatIP(b: Buffer): string {
  if (b.length === 4) return [...b].join('.');
  if (b.length === 16) {
    const groups: string[] = [];
    for (let i = 0; i < 16; i += 2) groups.push(b.readUInt16BE(i).toString(16));
    return groups.join(':');
  }
  return b.toString('hex');
}

/** Extended key usages of a certificate, or undefined when it has no EKU extension. */
export function getExtendedKeyUsages(cert: X509Certificate): string[] | undefined {
  const ext = cert.extension(OID_EKU);
  if (!ext) return undefined;
  return (ext.valueObj.subs[0]?.subs ?? []).map((o) => o.toOID());
}

/**
 * The leaf may sign code: its EKU must list codeSigning (or anyExtendedKeyUsage).
 * A certificate without an EKU extension is unrestricted, as in Go's x509
 * (what cosign uses); pass requirePresent to insist on the extension.
 */
export function verifyCodeSigningUsage(input: X509Certificate | Uint8Array | string, requirePresent = false): void {
  const cert = toCertificate(input);
  const ekus = getExtendedKeyUsages(cert);
  if (ekus === undefined) {
    if (requirePresent) {
      throw new SigwardError('CERTIFICATE_INVALID', 'certificate has no extended key usage; code signing is required');
    }
    return;
  }
  if (!ekus.includes(OID_CODE_SIGNING) && !ekus.includes(OID_ANY_EKU)) {
    throw new SigwardError(
      'CERTIFICATE_INVALID',
      `certificate is not valid for code signing (extended key usage: ${ekus.join(', ') || 'none'})`,
    );
  }
}

interface CompiledPolicy {
  subject: ((v: string) => boolean)[];
  issuer: ((v: string) => boolean)[];
  subjectText: string;
  issuerText: string;
  extensions: [string, string, string][]; // [policy key, lookup key, expected]
}

/** Checks a policy's syntax (regular expressions, extension names); throws POLICY_INVALID. */
export function validateIdentityPolicy(policy: IdentityPolicy): void {
  compilePolicy(policy);
}

function compilePolicy(policy: IdentityPolicy): CompiledPolicy {
  const subject: ((v: string) => boolean)[] = [];
  const issuer: ((v: string) => boolean)[] = [];
  const subjectText: string[] = [];
  const issuerText: string[] = [];
  if (policy.subject !== undefined) {
    const s = policy.subject;
    subject.push((v) => v === s);
    subjectText.push(JSON.stringify(s));
  }
  if (policy.subjectRegExp !== undefined) {
    const re = toIdentityRegExp(policy.subjectRegExp, 'subjectRegExp');
    subject.push((v) => re.test(v));
    subjectText.push(`/${policy.subjectRegExp}/`);
  }
  if (policy.subjectWildcard !== undefined) {
    const w = policy.subjectWildcard;
    subject.push((v) => matchesPattern(w, v));
    subjectText.push(JSON.stringify(policy.subjectWildcard));
  }
  if (policy.issuer !== undefined) {
    const s = policy.issuer;
    issuer.push((v) => v === s);
    issuerText.push(JSON.stringify(s));
  }
  if (policy.issuerRegExp !== undefined) {
    const re = toIdentityRegExp(policy.issuerRegExp, 'issuerRegExp');
    issuer.push((v) => re.test(v));
    issuerText.push(`/${policy.issuerRegExp}/`);
  }
  if (policy.issuerWildcard !== undefined) {
    const w = policy.issuerWildcard;
    issuer.push((v) => matchesPattern(w, v));
    issuerText.push(JSON.stringify(policy.issuerWildcard));
  }
  const extensions: [string, string, string][] = [];
  for (const [key, expected] of Object.entries(policy.extensions ?? {})) {
    extensions.push([key, toExtensionKey(key), expected]);
  }
  return {
    subject,
    issuer,
    subjectText: subjectText.join(' and '),
    issuerText: issuerText.join(' and '),
    extensions,
  };
}

// Maps a policy extension key (Fulcio name, any case, or dotted OID) to the
// key used in CertificateIdentity.extensions.
function toExtensionKey(key: string): string {
  if (/^\d+(\.\d+)+$/.test(key)) {
    return OID_NAMES.get(key) ?? key;
  }
  const name = Object.keys(FULCIO_OIDS).find((n) => n.toLowerCase() === key.toLowerCase());
  if (!name) {
    throw new SigwardError(
      'POLICY_INVALID',
      `unknown certificate extension ${JSON.stringify(key)}: use a Fulcio name (${
        Object.keys(FULCIO_OIDS).join(', ')
      }) or a dotted OID`,
    );
  }
  return name;
}

/**
 * Compiles an identity regular expression (Go/RE2 syntax) and matches it as
 * cosign and Kyverno do, with Go's regexp.MatchString: a match ANYWHERE in the
 * value, so `corp\.example` also accepts `evil.com/?corp.example`; anchor the
 * pattern (`^...$`) to match the whole value (getUnanchoredRegExpWarning says
 * so to the user). Matching is linear in the value; a pattern Go refuses (a
 * backreference, a lookahead, ...) is POLICY_INVALID.
 */
export function toIdentityRegExp(pattern: string, what = 'regular expression'): { test(value: string): boolean } {
  let re: GoRegex;
  try {
    re = compileGoRegex(pattern);
  } catch (e) {
    if (!(e instanceof GoRegexSyntaxError)) throw e;
    throw new SigwardError(
      'POLICY_INVALID',
      `${what}: invalid regular expression ${JSON.stringify(pattern)} (Go RE2 syntax): ${e.message}`,
      {
        cause: e,
      },
    );
  }
  return { test: (value) => re.test(value) };
}

/**
 * A warning for an identity regular expression that is not anchored at both
 * ends (cosign and Kyverno match it anywhere in the value), with the anchored
 * form the user probably meant; undefined for `^...$` patterns.
 */
export function getUnanchoredRegExpWarning(pattern: string, what: string): string | undefined {
  const start = /^(?:\(\?[a-zA-Z]+\))*(?:\^|\\A)/.test(pattern);
  const end = /(?:^|[^\\])(?:\\\\)*(?:\$|\\z)$/.test(pattern);
  if (start && end) return undefined;
  let core = start ? pattern.replace(/^((?:\(\?[a-zA-Z]+\))*)(?:\^|\\A)/, '$1') : pattern;
  if (end) core = core.replace(/(?:\$|\\z)$/, '');
  return `${what} ${
    JSON.stringify(pattern)
  } is not anchored: like cosign and Kyverno, sigward accepts an identity that contains a match anywhere (not only one that is entirely a match); write ${
    JSON.stringify(`^(?:${core})$`)
  } to match the whole value`;
}

/**
 * Throws IDENTITY_MISMATCH ("expected X, got Y") unless the certificate
 * satisfies the policy. Returns the identity read from the certificate.
 */
export function verifyIdentity(
  input: X509Certificate | Uint8Array | string | CertificateIdentity,
  policy: IdentityPolicy,
): CertificateIdentity {
  const compiled = compilePolicy(policy);
  const id = isIdentity(input) ? input : getCertificateIdentity(input);
  if (compiled.subject.length > 0) {
    const ok = id.sans.some((s) => compiled.subject.every((f) => f(s.value)));
    if (!ok) {
      const got = id.sans.length
        ? id.sans.map((s) => JSON.stringify(s.value)).join(', ')
        : '(no subject alternative name)';
      throw new SigwardError(
        'IDENTITY_MISMATCH',
        `certificate identity mismatch: expected subject ${compiled.subjectText}, got ${got}`,
        {
          detail: { expected: compiled.subjectText, got: id.sans.map((s) => s.value) },
        },
      );
    }
  }
  if (compiled.issuer.length > 0) {
    const got = id.issuer;
    // as cosign: a certificate without the issuer extension has the issuer "" (a regexp like .* accepts it)
    if (!compiled.issuer.every((f) => f(got ?? ''))) {
      throw new SigwardError(
        'IDENTITY_MISMATCH',
        `certificate issuer mismatch: expected issuer ${compiled.issuerText}, got ${
          got === undefined ? '(no issuer extension)' : JSON.stringify(got)
        }`,
        { detail: { expected: compiled.issuerText, got } },
      );
    }
  }
  for (const [key, lookup, expected] of compiled.extensions) {
    const got = lookup === 'issuer' ? id.issuer : id.extensions[lookup];
    if (got !== expected) {
      throw new SigwardError(
        'IDENTITY_MISMATCH',
        `certificate extension ${key} mismatch: expected ${JSON.stringify(expected)}, got ${
          got === undefined ? '(absent)' : JSON.stringify(got)
        }`,
        { detail: { extension: key, expected, got } },
      );
    }
  }
  return id;
}

function isIdentity(x: unknown): x is CertificateIdentity {
  return typeof x === 'object' && x !== null && 'sans' in x && 'extensions' in x;
}
