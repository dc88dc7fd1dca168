// The trusted_root.json of a test Sigstore (the HTTP mock in sigstore-mock.ts
// and the in-process ones in test/attacks/sigstore.ts and test/trust/helpers.ts):
// one composition of its logs and authorities, valid since 2000.

import { createHash } from 'node:crypto';

export interface TestLog {
  baseUrl: string;
  /** SPKI DER of the log's ECDSA P-256 key */
  publicKey: Uint8Array;
  /** log id (default: sha256 of the key, as Rekor's) */
  logId?: Uint8Array;
}

export interface TestAuthority {
  uri: string;
  subject: { organization?: string; commonName: string };
  /** DER certificates, leaf-most first */
  certificates: Uint8Array[];
}

export interface TestTrustedRootInput {
  tlogs: TestLog[];
  ctlogs?: TestLog[];
  certificateAuthorities: TestAuthority[];
  timestampAuthorities?: TestAuthority[];
}

const START = '2000-01-01T00:00:00Z';
const b64 = (b: Uint8Array) => Buffer.from(b).toString('base64');

function toLog(l: TestLog) {
  return {
    baseUrl: l.baseUrl,
    hashAlgorithm: 'SHA2_256',
    publicKey: { rawBytes: b64(l.publicKey), keyDetails: 'PKIX_ECDSA_P256_SHA_256', validFor: { start: START } },
    logId: { keyId: b64(l.logId ?? createHash('sha256').update(l.publicKey).digest()) },
  };
}

function toAuthority(a: TestAuthority) {
  return {
    subject: a.subject,
    uri: a.uri,
    certChain: { certificates: a.certificates.map((c) => ({ rawBytes: b64(c) })) },
    validFor: { start: START },
  };
}

/** A trusted_root.json (v0.1) object trusting exactly the given logs and authorities. */
export function toTestTrustedRoot(i: TestTrustedRootInput) {
  return {
    mediaType: 'application/vnd.dev.sigstore.trustedroot+json;version=0.1',
    tlogs: i.tlogs.map(toLog),
    ctlogs: (i.ctlogs ?? []).map(toLog),
    certificateAuthorities: i.certificateAuthorities.map(toAuthority),
    timestampAuthorities: (i.timestampAuthorities ?? []).map(toAuthority),
  };
}
