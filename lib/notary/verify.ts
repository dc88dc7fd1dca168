// One Notary Project signature envelope against a trust store and the
// descriptor of the artifact it must sign, in the order of the
// specification's verification steps (trust-store-trust-policy.md):
//   integrity     envelope parsed per its media type, content type, `crit`
//                 (every critical header understood and present; the
//                 required ones marked critical), signing scheme, the
//                 algorithm of the signing key equal to `alg`, the signature,
//                 the certificate chain rules, valid at the signing time;
//   authenticity  a certificate of the chain is in the trust store (notation's
//                 rule), trusted identities (x509.subject) if any;
//   expiry        io.cncf.notary.expiry still in the future;
//   timestamp     with a tsa trust store, the RFC 3161 countersignature
//                 (timestamp.ts) and the chain valid over genTime ± accuracy;
//                 otherwise every certificate of the chain is valid now;
//   revocation    no network: a chain that names OCSP or CRL endpoints cannot
//                 be checked, which the enforcement decides (strict: deny);
//   payload       targetArtifact equal to the artifact's descriptor (digest,
//                 media type, size), and the required annotations.
// Checks whose enforcement is `log` add a warning; `skip` skips them.

import { constants, createPublicKey, type KeyObject, verify as cryptoVerify } from 'node:crypto';
import type { X509Certificate } from '@sigstore/core';
import { SigwardError } from '../errors.ts';
import type { Descriptor } from '../oci/types.ts';
import { toCoseEnvelope } from './cose.ts';
import { toJwsEnvelope } from './jws.ts';
import { getRevocationEndpoints, getSubjectAttributes, subjectText, verifyNotaryChain } from './certificates.ts';
import { type VerifiedNotaryTimestamp, verifyNotaryTimestamp } from './timestamp.ts';
import {
  COSE_MEDIA_TYPE,
  HEADER,
  JWS_MEDIA_TYPE,
  NOTARY_PAYLOAD_CONTENT_TYPE,
  type NotaryAlgorithm,
  type NotaryEnforcement,
  type NotaryEnvelope,
  type NotaryPayload,
  STRICT,
} from './types.ts';

/** Trust material for Notary signatures: notation's trust store and trust policy, reduced to what sigward checks. */
export interface NotaryTrust {
  /** `ca` trust store: a signature is trusted when its chain holds one of these */
  certificates: X509Certificate[];
  /** `tsa` trust store: RFC 3161 countersignatures are verified against it; without it they are not used */
  tsaCertificates?: X509Certificate[];
  /** trust policy signatureVerification.verifyTimestamp: `always` (default) or only `afterCertExpiry` */
  verifyTimestamp?: 'always' | 'afterCertExpiry';
  /** trust policy trustedIdentities: `x509.subject: C=..., O=...` values; undefined or `*`: any identity */
  trustedIdentities?: string[];
  /** default: strict (Kyverno's level) */
  enforcement?: NotaryEnforcement;
}

export interface VerifyNotaryOptions {
  trust: NotaryTrust;
  /** the descriptor the signature must sign */
  artifact: Descriptor;
  /** payload annotations (targetArtifact.annotations) that must be present with these values */
  annotations?: Record<string, string>;
  now?: Date;
}

export interface VerifiedNotarySignature {
  mediaType: string;
  signingScheme: string;
  alg: NotaryAlgorithm;
  signingTime?: string;
  expiry?: string;
  signingAgent?: string;
  /** the verified RFC 3161 countersignature, when one was used */
  timestamp?: { genTime: string; tsa: string };
  /** signing certificate subject, then the trust store certificate the chain reached */
  signer: { subject: string; issuer: string; trustedBy: string };
  payload: NotaryPayload;
  /** checks that failed under `log` enforcement, and what sigward did not check */
  warnings: string[];
}

const KNOWN_CRITICAL = new Set<string>([HEADER.signingScheme, HEADER.expiry, HEADER.authenticSigningTime]);
const HASH: Record<NotaryAlgorithm, { hash: string; bytes: number }> = {
  PS256: { hash: 'sha256', bytes: 32 },
  PS384: { hash: 'sha384', bytes: 48 },
  PS512: { hash: 'sha512', bytes: 64 },
  ES256: { hash: 'sha256', bytes: 32 },
  ES384: { hash: 'sha384', bytes: 48 },
  ES512: { hash: 'sha512', bytes: 64 },
};

/** Parses an envelope by the media type of its layer. Throws SIGNATURE_INVALID. */
export function toNotaryEnvelope(blob: Uint8Array, mediaType: string): NotaryEnvelope {
  if (mediaType === JWS_MEDIA_TYPE) return toJwsEnvelope(blob);
  if (mediaType === COSE_MEDIA_TYPE) return toCoseEnvelope(blob);
  throw new SigwardError(
    'SIGNATURE_INVALID',
    `signature envelope media type ${JSON.stringify(mediaType)} is not ${JWS_MEDIA_TYPE} or ${COSE_MEDIA_TYPE}`,
  );
}

function invalid(msg: string): SigwardError {
  return new SigwardError('SIGNATURE_INVALID', msg);
}

/** The `crit` rules of both envelopes. */
function verifyCritical(env: NotaryEnvelope): void {
  if (env.critical.length === 0) {
    throw invalid(`the signature has no "crit" header: ${HEADER.signingScheme} must be marked critical`);
  }
  const registered = env.format === 'jws'
    ? ['alg', 'cty', 'crit', 'typ', 'x5c', 'jku', 'jwk', 'kid', 'x5u', 'x5t', 'x5t#S256']
    : ['0', '1', '2', '3', '4', '5', '6', '7', '8'];
  for (const name of env.critical) {
    if (registered.includes(name)) throw invalid(`"crit" must not list the registered header ${JSON.stringify(name)}`);
    if (!env.protectedNames.includes(name)) {
      throw invalid(`header ${JSON.stringify(name)} is marked critical but is not present`);
    }
    if (name === HEADER.verificationPlugin || name === HEADER.verificationPluginMinVersion) {
      throw invalid(
        `the signature requires the notation verification plugin named in ${
          JSON.stringify(name)
        }, which sigward cannot run`,
      );
    }
    if (!KNOWN_CRITICAL.has(name)) {
      throw invalid(`the signature has the unknown critical header ${JSON.stringify(name)}: it cannot be verified`);
    }
  }
  const required = [
    HEADER.signingScheme,
    ...[HEADER.expiry, HEADER.authenticSigningTime, HEADER.verificationPlugin, HEADER.verificationPluginMinVersion]
      .filter((h) => env.protectedNames.includes(h)),
  ];
  const missing = required.filter((h) => !env.critical.includes(h));
  if (missing.length) throw invalid(`these headers must be marked critical: ${missing.join(', ')}`);
}

/** The algorithm the signing key mandates (public key algorithm and size). */
export function getKeyAlgorithm(key: KeyObject): NotaryAlgorithm {
  const d = key.asymmetricKeyDetails ?? {};
  if (key.asymmetricKeyType === 'rsa') {
    const bits = d.modulusLength;
    if (bits === 2048) return 'PS256';
    if (bits === 3072) return 'PS384';
    if (bits === 4096) return 'PS512';
    throw new SigwardError('CERTIFICATE_INVALID', `RSA keys of ${bits} bits are not supported (2048, 3072 or 4096)`);
  }
  if (key.asymmetricKeyType === 'ec') {
    if (d.namedCurve === 'prime256v1') return 'ES256';
    if (d.namedCurve === 'secp384r1') return 'ES384';
    if (d.namedCurve === 'secp521r1') return 'ES512';
    throw new SigwardError('CERTIFICATE_INVALID', `EC curve ${d.namedCurve} is not supported (P-256, P-384 or P-521)`);
  }
  throw new SigwardError(
    'CERTIFICATE_INVALID',
    `${key.asymmetricKeyType} keys are not supported for Notary signatures (RSA or EC)`,
  );
}

function verifySignatureValue(env: NotaryEnvelope, leaf: X509Certificate): void {
  let key: KeyObject;
  try {
    key = createPublicKey({ key: leaf.publicKey, format: 'der', type: 'spki' });
  } catch (e) {
    throw new SigwardError(
      'CERTIFICATE_INVALID',
      `the signing certificate's public key cannot be read: ${(e as Error).message}`,
      { cause: e },
    );
  }
  const expected = getKeyAlgorithm(key);
  if (expected !== env.alg) {
    throw invalid(`the signature algorithm ${env.alg} does not match the signing key (${expected})`);
  }
  const { hash, bytes } = HASH[env.alg];
  let ok: boolean;
  try {
    ok = env.alg.startsWith('PS')
      ? cryptoVerify(
        hash,
        env.signedBytes,
        { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: bytes },
        env.signature,
      )
      : cryptoVerify(hash, env.signedBytes, { key, dsaEncoding: 'ieee-p1363' }, env.signature);
  } catch {
    ok = false;
  }
  if (!ok) throw invalid('the signature is not valid for its payload and signed attributes (integrity check failed)');
}

function toPayload(bytes: Uint8Array): NotaryPayload {
  let v: unknown;
  try {
    v = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch (e) {
    throw new SigwardError('PAYLOAD_INVALID', `the signed payload is not JSON: ${(e as Error).message}`);
  }
  const t = (v as { targetArtifact?: unknown } | null)?.targetArtifact as Record<string, unknown> | undefined;
  if (
    !t || typeof t !== 'object' || typeof t['digest'] !== 'string' || typeof t['mediaType'] !== 'string' ||
    typeof t['size'] !== 'number'
  ) {
    throw new SigwardError(
      'PAYLOAD_INVALID',
      'the signed payload has no targetArtifact with mediaType, digest and size',
    );
  }
  return v as NotaryPayload;
}

/** notation's x509.subject identities: every RDN named in the identity has that value in the subject. */
function identityMatches(identity: string, cert: X509Certificate): boolean {
  if (identity === '*') return true;
  const m = /^x509\.subject:\s*(.*)$/.exec(identity);
  if (!m) return false;
  const wanted = splitDN(m[1]!);
  const have = getSubjectAttributes(cert);
  return wanted.length > 0 && wanted.every(([k, v]) => have.some(([hk, hv]) => hk === k && hv === v));
}

/** `C=US, ST=WA, O=a\, b` -> [[C, US], [ST, WA], [O, a, b]]; backslash escapes. */
export function splitDN(text: string): [string, string][] {
  const parts: string[] = [];
  let cur = '';
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === '\\' && i + 1 < text.length) cur += text[++i];
    else if (c === ',' || c === ';') parts.push(cur), (cur = '');
    else cur += c;
  }
  parts.push(cur);
  return parts
    .map((p) => p.trim())
    .filter(Boolean)
    .map((p) => {
      const i = p.indexOf('=');
      return (i > 0 ? [p.slice(0, i).trim().toUpperCase(), p.slice(i + 1).trim()] : [p, '']) as [string, string];
    });
}

/**
 * Verifies one envelope. Throws SigwardError (SIGNATURE_INVALID,
 * CERTIFICATE_INVALID, PAYLOAD_INVALID, MANIFEST_DIGEST_MISMATCH, ...).
 */
export function verifyNotarySignature(
  blob: Uint8Array,
  mediaType: string,
  opts: VerifyNotaryOptions,
): VerifiedNotarySignature {
  const now = opts.now ?? new Date();
  const enforce = opts.trust.enforcement ?? STRICT;
  const warnings: string[] = [];
  const apply = (action: keyof NotaryEnforcement, err: SigwardError): void => {
    if (enforce[action] === 'enforce') throw err;
    if (enforce[action] === 'log') warnings.push(`${action} (logged, not enforced): ${err.message}`);
  };

  // integrity
  const env = toNotaryEnvelope(blob, mediaType);
  if (env.contentType !== NOTARY_PAYLOAD_CONTENT_TYPE) {
    throw invalid(`payload content type ${JSON.stringify(env.contentType)} is not ${NOTARY_PAYLOAD_CONTENT_TYPE}`);
  }
  verifyCritical(env);
  if (env.signingScheme === 'notary.x509.signingAuthority') {
    throw new SigwardError(
      'SIGNATURE_INVALID',
      "signing scheme notary.x509.signingAuthority (a signing authority with an authentic signing time) is not supported: sigward trusts CA certificates (notary.x509), as Kyverno's trust policy does",
    );
  }
  if (env.signingScheme !== 'notary.x509') throw invalid(`unknown signing scheme ${JSON.stringify(env.signingScheme)}`);
  if (!env.signingTime) throw invalid(`${HEADER.signingTime} is required with signing scheme notary.x509`);
  if (env.authenticSigningTime) {
    throw invalid(`${HEADER.authenticSigningTime} is only valid with signing scheme notary.x509.signingAuthority`);
  }
  const chain = verifyNotaryChain(env.certificates, [env.signingTime]);
  const leaf = chain[0]!;
  verifySignatureValue(env, leaf);

  // authenticity
  const trusted = opts.trust.certificates;
  if (trusted.length === 0) {
    throw new SigwardError('CONFIG_INVALID', 'no trusted certificates are given to verify Notary signatures');
  }
  const anchor = trusted.find((t) => chain.some((c) => c.equals(t)));
  if (!anchor) {
    apply(
      'authenticity',
      new SigwardError(
        'CERTIFICATE_INVALID',
        `the signature's certificate chain (signed by "${subjectText(leaf)}") does not hold any trusted certificate`,
      ),
    );
  } else {
    const ids = opts.trust.trustedIdentities;
    if (ids && !ids.includes('*') && !ids.some((id) => identityMatches(id, leaf))) {
      apply(
        'authenticity',
        new SigwardError(
          'IDENTITY_MISMATCH',
          `signing certificate subject "${subjectText(leaf)}" is not one of the trusted identities ${
            JSON.stringify(ids)
          }`,
        ),
      );
    }
  }

  // expiry
  if (env.expiry && now.getTime() >= env.expiry.getTime()) {
    apply(
      'expiry',
      new SigwardError('SIGNATURE_INVALID', `digital signature has expired on ${env.expiry.toISOString()}`),
    );
  }

  // authentic timestamp: the RFC 3161 countersignature with a tsa trust store, else the current time
  const expiredNow = chain.find((c) => !c.validForDate(now));
  const tsaRoots = opts.trust.tsaCertificates ?? [];
  let ts: VerifiedNotaryTimestamp | undefined;
  if (env.timestamp && tsaRoots.length && (opts.trust.verifyTimestamp !== 'afterCertExpiry' || expiredNow)) {
    try {
      ts = verifyNotaryTimestamp(env.timestamp, env.signature, tsaRoots);
    } catch (e) {
      apply(
        'authenticTimestamp',
        e instanceof SigwardError ? e : new SigwardError(
          'TIMESTAMP_INVALID',
          `the RFC 3161 countersignature cannot be verified: ${(e as Error).message}`,
        ),
      );
    }
  } else if (env.timestamp && !tsaRoots.length) {
    warnings.push(
      'the signature carries an RFC 3161 countersignature, but no TSA certificates are trusted: the certificate chain was checked at the current time',
    );
  }
  if (ts) {
    const outside = chain.find((c) => !c.validForDate(ts.lower) || !c.validForDate(ts.upper));
    if (outside) {
      apply(
        'authenticTimestamp',
        new SigwardError(
          'CERTIFICATE_INVALID',
          `certificate "${
            subjectText(outside)
          }" was not valid at the timestamp ${ts.genTime.toISOString()} (valid ${outside.notBefore.toISOString()} to ${outside.notAfter.toISOString()})`,
        ),
      );
    }
  } else if (expiredNow) {
    apply(
      'authenticTimestamp',
      new SigwardError(
        'CERTIFICATE_INVALID',
        `certificate "${
          subjectText(expiredNow)
        }" is not valid at ${now.toISOString()} (valid ${expiredNow.notBefore.toISOString()} to ${expiredNow.notAfter.toISOString()})`,
      ),
    );
  }

  // revocation: offline (the signing chain, and the TSA chain when a timestamp was used)
  if (enforce.revocation !== 'skip') {
    const endpoints = getRevocationEndpoints([...chain, ...(ts?.chain ?? [])]);
    if (endpoints.length) {
      const what = endpoints.map((e) => `"${subjectText(e.cert)}" (${e.kinds.join(', ')})`).join(', ');
      apply(
        'revocation',
        new SigwardError(
          'CERTIFICATE_INVALID',
          `revocation status cannot be determined offline: ${what} name revocation endpoints, which sigward does not contact`,
        ),
      );
    }
  }

  // payload
  const payload = toPayload(env.payload);
  const t = payload.targetArtifact;
  const a = opts.artifact;
  if (t.digest !== a.digest || t.mediaType !== a.mediaType || t.size !== a.size) {
    throw new SigwardError(
      'MANIFEST_DIGEST_MISMATCH',
      `the signature is for another artifact (signed ${t.mediaType} ${t.digest} of ${t.size} bytes, verified ${a.mediaType} ${a.digest} of ${a.size} bytes)`,
    );
  }
  const have = (t.annotations ?? {}) as Record<string, unknown>;
  for (const [k, v] of Object.entries(opts.annotations ?? {})) {
    if (have[k] !== v) {
      throw new SigwardError(
        'ANNOTATION_MISMATCH',
        `the signed payload's annotation ${k} is ${
          have[k] === undefined ? 'missing' : JSON.stringify(have[k])
        }, expected ${JSON.stringify(v)}`,
      );
    }
  }

  return {
    mediaType: env.mediaType,
    signingScheme: env.signingScheme,
    alg: env.alg,
    signingTime: env.signingTime.toISOString(),
    ...(env.expiry ? { expiry: env.expiry.toISOString() } : {}),
    ...(env.signingAgent ? { signingAgent: env.signingAgent } : {}),
    ...(ts ? { timestamp: { genTime: ts.genTime.toISOString(), tsa: subjectText(ts.chain[0]!) } } : {}),
    signer: {
      subject: subjectText(leaf),
      issuer: subjectText(chain[chain.length - 1]!),
      trustedBy: anchor ? subjectText(anchor) : '',
    },
    payload,
    warnings,
  };
}
