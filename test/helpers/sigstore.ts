// The tests' one private Sigstore. In memory (`startSigstore`): a Fulcio-like
// CA from @sigstore/mock (root certificate, leaves with the Fulcio identity
// extensions, SCTs from its CT log unless asked not to), a Rekor-like log
// (SETs, inclusion proofs and checkpoints, also integrating "late"), an
// optional timestamp authority, an optional second CA minted with
// @peculiar/x509 (for leaves @sigstore/mock cannot make: other EKUs, chosen
// validity), and the trusted_root.json that trusts exactly these. Served over
// HTTP (`startSigstoreMock`): the same in-memory Sigstore behind Fulcio, Rekor
// and TSA routes on 127.0.0.1, with @sigstore/sign clients signing images
// keylessly in both cosign formats:
//   legacy  `.sig` layer with certificate / chain / Rekor SET bundle annotations;
//   bundle  DSSE v0.3 bundle over an in-toto v1 statement
//           (predicateType https://sigstore.dev/cosign/sign/v1) pushed as an
//           OCI 1.1 referrer, as cosign v3 does.
// Also the x509 PKI minting the trust tests use (`mintCert`). Nothing here
// verifies anything.

// @sigstore/mock first: it loads the reflect-metadata polyfill @peculiar/x509 needs.
import {
  fulcioHandler,
  initializeCA,
  initializeCTLog,
  initializeTLog,
  initializeTSA,
  rekorHandler,
  tsaHandler,
} from '@sigstore/mock';
import * as x509 from '@peculiar/x509';
import {
  DSSEBundleBuilder,
  FulcioSigner,
  MessageSignatureBundleBuilder,
  RekorWitness,
  TSAWitness,
  type Witness,
} from '@sigstore/sign';
import { type Bundle, bundleToJSON } from '@sigstore/bundle';
import { createHash, generateKeyPairSync, KeyObject, sign as nodeSign, webcrypto } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Test } from 'tap';
import { attachLayer } from '../../lib/cosign/attach.ts';
import { ANNOTATION } from '../../lib/cosign/annotations.ts';
import { makeSimpleSigningPayload } from '../../lib/cosign/payload.ts';
import {
  type Descriptor,
  type ImageManifest,
  MEDIA_TYPES,
  type OciStore,
  type RepositoryRef,
} from '../../lib/oci/types.ts';

x509.cryptoProvider.set(webcrypto as unknown as Crypto);

export const COSIGN_SIGN_PREDICATE = 'https://sigstore.dev/cosign/sign/v1';
export const IN_TOTO = 'application/vnd.in-toto+json';
export const DEFAULT_ISSUER = 'https://oidc.sigward.test';
export const FULCIO_ISSUER_OID = '1.3.6.1.4.1.57264.1.8';
export const FULCIO_ISSUER_LEGACY_OID = '1.3.6.1.4.1.57264.1.1';

export type KeyPair = { publicKey: KeyObject; privateKey: KeyObject };

const ecKeys = (): KeyPair => generateKeyPairSync('ec', { namedCurve: 'P-256' });
const b64 = (b: Uint8Array | string): string => Buffer.from(b).toString('base64');
const b64url = (s: string): string => Buffer.from(s).toString('base64url');
const sha256 = (b: Uint8Array): Buffer => createHash('sha256').update(b).digest();
export const toPEM = (der: Uint8Array, type = 'CERTIFICATE'): string =>
  `-----BEGIN ${type}-----\n${b64(der).match(/.{1,64}/g)!.join('\n')}\n-----END ${type}-----\n`;
/** The signing clock: now plus `aheadMs`, in whole seconds (certificate and timestamp times have second precision). */
const toClock = (clock: Date | undefined, aheadMs: number): Date =>
  new Date(Math.floor((clock?.getTime() ?? Date.now() + aheadMs) / 1000) * 1000);

// ------------------------------------------------------------ trusted_root.json

/** trusted_root.json as JSON (proto-JSON spelling). */
export type TrustedRootJSON = {
  mediaType: string;
  tlogs: any[];
  ctlogs: any[];
  certificateAuthorities: any[];
  timestampAuthorities: any[];
};

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

const VALID_SINCE = '2000-01-01T00:00:00Z';

const toLog = (l: TestLog) => ({
  baseUrl: l.baseUrl,
  hashAlgorithm: 'SHA2_256',
  publicKey: { rawBytes: b64(l.publicKey), keyDetails: 'PKIX_ECDSA_P256_SHA_256', validFor: { start: VALID_SINCE } },
  logId: { keyId: b64(l.logId ?? sha256(l.publicKey)) },
});

const toAuthority = (a: TestAuthority) => ({
  subject: a.subject,
  uri: a.uri,
  certChain: { certificates: a.certificates.map((c) => ({ rawBytes: b64(c) })) },
  validFor: { start: VALID_SINCE },
});

/** A trusted_root.json (v0.1) object trusting exactly the given logs and authorities, valid since 2000. */
export function toTestTrustedRoot(i: {
  tlogs: TestLog[];
  ctlogs?: TestLog[];
  certificateAuthorities: TestAuthority[];
  timestampAuthorities?: TestAuthority[];
}): TrustedRootJSON {
  return {
    mediaType: 'application/vnd.dev.sigstore.trustedroot+json;version=0.1',
    tlogs: i.tlogs.map(toLog),
    ctlogs: (i.ctlogs ?? []).map(toLog),
    certificateAuthorities: i.certificateAuthorities.map(toAuthority),
    timestampAuthorities: (i.timestampAuthorities ?? []).map(toAuthority),
  };
}

// ------------------------------------------------------------ x509 PKI

const EC = { name: 'ECDSA', namedCurve: 'P-256' } as const;
const SIGN_ALG = { name: 'ECDSA', hash: 'SHA-256' } as const;
const DAY = 86400_000;

export interface Minted {
  cert: x509.X509Certificate;
  keys: CryptoKeyPair;
  pem: string;
  der: Uint8Array;
}

export async function newKeys(): Promise<CryptoKeyPair> {
  return (await webcrypto.subtle.generateKey(EC, true, ['sign', 'verify'])) as CryptoKeyPair;
}

export interface MintOptions {
  name: string;
  issuer?: Minted;
  keys?: CryptoKeyPair;
  ca?: boolean;
  pathLen?: number;
  /** KeyUsage flags (x509.KeyUsageFlags); default CA: keyCertSign|cRLSign, leaf: digitalSignature */
  keyUsage?: number | null;
  /** EKU OIDs; null = no EKU extension */
  eku?: string[] | null;
  email?: string;
  notBefore?: Date;
  notAfter?: Date;
  extensions?: x509.Extension[];
}

export async function mintCert(o: MintOptions): Promise<Minted> {
  const keys = o.keys ?? (await newKeys());
  const ca = o.ca ?? false;
  const ext: x509.Extension[] = [];
  if (ca) ext.push(new x509.BasicConstraintsExtension(true, o.pathLen, true));
  const ku = o.keyUsage === undefined
    ? (ca ? x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign : x509.KeyUsageFlags.digitalSignature)
    : o.keyUsage;
  if (ku !== null) ext.push(new x509.KeyUsagesExtension(ku, true));
  const eku = o.eku === undefined ? (ca ? null : ['1.3.6.1.5.5.7.3.3']) : o.eku;
  if (eku) ext.push(new x509.ExtendedKeyUsageExtension(eku));
  if (o.email) ext.push(new x509.SubjectAlternativeNameExtension([{ type: 'email', value: o.email }], true));
  ext.push(await x509.SubjectKeyIdentifierExtension.create(keys.publicKey));
  ext.push(await x509.AuthorityKeyIdentifierExtension.create((o.issuer?.keys ?? keys).publicKey));
  ext.push(...(o.extensions ?? []));
  const base = {
    notBefore: o.notBefore ?? new Date(Date.now() - 30 * DAY),
    notAfter: o.notAfter ?? new Date(Date.now() + 365 * DAY),
    signingAlgorithm: SIGN_ALG,
    extensions: ext,
  };
  const cert = o.issuer
    ? await x509.X509CertificateGenerator.create({
      ...base,
      subject: `CN=${o.name}`,
      issuer: o.issuer.cert.subject,
      publicKey: keys.publicKey,
      signingKey: o.issuer.keys.privateKey,
    })
    : await x509.X509CertificateGenerator.createSelfSigned({ ...base, name: `CN=${o.name}`, keys });
  return { cert, keys, pem: cert.toString('pem'), der: new Uint8Array(cert.rawData) };
}

export function signWith(keys: CryptoKeyPair, data: Uint8Array): Buffer {
  return nodeSign('sha256', data, KeyObject.from(keys.privateKey));
}

function utf8Ext(oid: string, value: string): x509.Extension {
  const v = Buffer.from(value, 'utf8');
  if (v.length > 127) throw new Error('extension value too long for this helper');
  return new x509.Extension(oid, false, Buffer.concat([Buffer.from([0x0c, v.length]), v]));
}

// ------------------------------------------------------------ the in-memory Sigstore

type TLog = Awaited<ReturnType<typeof initializeTLog>>;
type CA = Awaited<ReturnType<typeof initializeCA>>;
type TSA = Awaited<ReturnType<typeof initializeTSA>>;

/** What the mock Rekor answers for one entry (the value of its `{uuid: entry}` map). */
interface LogEntry {
  body: string;
  integratedTime: number;
  logIndex: number;
  logID: string;
  verification: {
    signedEntryTimestamp: string;
    inclusionProof: { checkpoint: string; rootHash: string; treeSize: number; logIndex: number; hashes: string[] };
  };
}

/** The cosign `dev.sigstore.cosign/bundle` annotation (Rekor SET and its payload) for an entry. */
const toSETAnnotation = (v: LogEntry): string =>
  JSON.stringify({
    SignedEntryTimestamp: v.verification.signedEntryTimestamp,
    Payload: { body: v.body, integratedTime: v.integratedTime, logIndex: v.logIndex, logID: v.logID },
  });

export interface Leaf {
  certPEM: string;
  /** PEM of the issuing CA (what cosign writes in the chain annotation) */
  chainPEM: string;
  privateKey: KeyObject;
}

export interface LegacyLayer {
  payload: Uint8Array;
  annotations: Record<string, string>;
}

export interface SigstoreOptions {
  /** the signing clock (default: now + aheadMs, whole seconds) */
  clock?: Date;
  /** default 5 s: @sigstore/mock stamps its roots with the real time, after the clock is taken */
  aheadMs?: number;
  /** the clock Rekor integrates entries at (default: the signing clock) */
  tlogClock?: Date;
  /** default true: the Fulcio-like CA embeds SCTs from a CT log the trusted root lists */
  withCT?: boolean;
  /** a timestamp authority, listed in the trusted root */
  withTSA?: boolean;
  /** a second, x509-minted CA (x509Leaf), listed in the trusted root */
  withX509CA?: boolean;
  /** service addresses (default https://{fulcio,rekor,ctlog,tsa,ca}.sigstore.test) */
  urls?: { fulcio: string; rekor: string; ctlog: string; tsa: string; ca: string };
}

export interface Sigstore {
  clock: Date;
  trustedRoot: TrustedRootJSON;
  /** PEM of the Fulcio-like CA's root */
  caRootPEM: string;
  /** PEM of the Rekor public key (Kyverno rekor.pubkey) */
  rekorKeyPEM: string;
  ctlogKeyPEM: string;
  /** the @sigstore/mock pieces, for the HTTP layer */
  ca: CA;
  /** same key and name as `ca`, no CT log: its certificates chain to the trusted root but carry no SCT */
  caNoSCT: CA;
  tsa: TSA | undefined;
  /** the Rekor integrating `delaySeconds` after the tlog clock (same key, its own tree) */
  tlogAt(delaySeconds: number): Promise<TLog>;
  /** certificate from the Fulcio-like CA: URI SAN, issuer extensions, codeSigning, 10 minutes from `clock`, SCT unless noSCT */
  fulcioLeaf(o: { san: string; issuer: string; noSCT?: boolean }): Promise<Leaf>;
  /** certificate from the x509 CA (needs withX509CA): no SCT, chosen EKU and validity */
  x509Leaf(o: { san: string; issuer: string; eku?: string[] | null; notBefore?: Date; notAfter?: Date }): Promise<Leaf>;
  /** logs a hashedrekord entry; returns the cosign bundle annotation (SET); late: integrated an hour later */
  logHashedRekord(
    o: { payload: Uint8Array; signature: Uint8Array; verifierPEM: string; late?: boolean },
  ): Promise<string>;
  /** signs payload with the leaf, logs it, returns the .sig layer (payload + annotations) */
  signLegacy(payload: Uint8Array, leaf: Leaf, o?: { noTlog?: boolean; late?: boolean }): Promise<LegacyLayer>;
  /** signs a payload keylessly: a cosign .sig layer's pieces + a v0.3 bundle */
  signKeyless(payload: Uint8Array, o?: { san?: string; issuer?: string; logBody?: (b: object) => object }): Promise<{
    signatureB64: string;
    certificatePEM: string;
    rekorBundleJSON: string;
    bundle: object;
    signature: Buffer;
  }>;
  /** a legacy cosign .att layer: DSSE envelope, logged as intoto 0.0.1 (cosign <= 2.1) or dsse 0.0.1 */
  signAttestation(
    statement: object,
    kind: 'intoto' | 'dsse',
  ): Promise<{ envelope: Buffer; certificatePEM: string; rekorBundleJSON: string }>;
  /** dev.sigstore.cosign/rfc3161timestamp annotation over data (needs withTSA) */
  timestamp(data: Uint8Array): Promise<string>;
  /** signs with a plain key and logs it in the Rekor */
  signWithKey(payload: Uint8Array): Promise<{ signatureB64: string; publicKeyPEM: string; rekorBundleJSON: string }>;
}

const GITHUB_ISSUER = 'https://token.actions.githubusercontent.com';
const GITHUB_SAN = 'https://github.com/acme/app/.github/workflows/release.yml@refs/heads/main';

/** An independent private Sigstore in memory (its own CA, CT log, Rekor and TSA keys). */
export async function startSigstore(o: SigstoreOptions = {}): Promise<Sigstore> {
  const clock = toClock(o.clock, o.aheadMs ?? 5000);
  const tlogClock = o.tlogClock ?? clock;
  const urls = o.urls ?? {
    fulcio: 'https://fulcio.sigstore.test',
    rekor: 'https://rekor.sigstore.test',
    ctlog: 'https://ctlog.sigstore.test',
    tsa: 'https://tsa.sigstore.test',
    ca: 'https://ca.sigstore.test',
  };
  const caKeys = ecKeys();
  const ctLog = o.withCT === false ? undefined : await initializeCTLog(ecKeys(), clock);
  const caNoSCT = await initializeCA(caKeys, undefined, clock);
  const ca = ctLog ? await initializeCA(caKeys, ctLog, clock) : caNoSCT;
  const rekorKeys = ecKeys();
  const tlogs = new Map<number, TLog>();
  const tlogAt = async (delaySeconds: number): Promise<TLog> => {
    let t = tlogs.get(delaySeconds);
    if (!t) {
      t = await initializeTLog(urls.rekor, rekorKeys, new Date(tlogClock.getTime() + delaySeconds * 1000));
      tlogs.set(delaySeconds, t);
    }
    return t;
  };
  const rekorSPKI = Buffer.from((await tlogAt(0)).publicKey);
  const tsa = o.withTSA ? await initializeTSA(ecKeys(), clock) : undefined;
  const x509Root = o.withX509CA ? await mintCert({ name: 'sigward-test private CA', ca: true }) : undefined;
  const trustedRoot = toTestTrustedRoot({
    tlogs: [{ baseUrl: urls.rekor, publicKey: rekorSPKI }],
    ctlogs: ctLog
      ? [{ baseUrl: urls.ctlog, publicKey: ctLog.publicKey as Uint8Array, logId: ctLog.logID as Uint8Array }]
      : [],
    certificateAuthorities: [
      {
        subject: { organization: 'sigstore.mock', commonName: 'sigstore' },
        uri: urls.fulcio,
        certificates: [ca.rootCertificate as Uint8Array],
      },
      ...(x509Root
        ? [{ subject: { commonName: 'sigward-test private CA' }, uri: urls.ca, certificates: [x509Root.der] }]
        : []),
    ],
    timestampAuthorities: tsa
      ? [{
        subject: { organization: 'sigstore.mock', commonName: 'tsa' },
        uri: urls.tsa,
        certificates: [tsa.intCertificate as Uint8Array, tsa.rootCertificate as Uint8Array],
      }]
      : [],
  });
  const caRootPEM = toPEM(ca.rootCertificate as Uint8Array);

  const logEntry = async (body: object, delaySeconds = 0): Promise<LogEntry> =>
    Object.values(await (await tlogAt(delaySeconds)).log(body))[0] as LogEntry;
  const hashedRekord = (payload: Uint8Array, signature: Uint8Array, verifierPEM: string) => ({
    apiVersion: '0.0.1',
    kind: 'hashedrekord',
    spec: {
      data: { hash: { algorithm: 'sha256', value: sha256(payload).toString('hex') } },
      signature: { content: b64(signature), publicKey: { content: b64(verifierPEM) } },
    },
  });
  /** a leaf from the Fulcio-like CA for a fresh key */
  const issue = async (san: string, extensions: { oid: string; value: string; legacy?: boolean }[], noSCT = false) => {
    const k = ecKeys();
    const der = Buffer.from(
      (await (noSCT ? caNoSCT : ca).issueCertificate({
        publicKey: new Uint8Array(k.publicKey.export({ format: 'der', type: 'spki' })),
        subjectAltName: san,
        extensions,
      })) as Uint8Array,
    );
    return { der, pem: toPEM(der), privateKey: k.privateKey };
  };
  const logHashedRekord: Sigstore['logHashedRekord'] = async ({ payload, signature, verifierPEM, late }) =>
    toSETAnnotation(await logEntry(hashedRekord(payload, signature, verifierPEM), late ? 3600 : 0));

  return {
    clock,
    trustedRoot,
    caRootPEM,
    rekorKeyPEM: toPEM(rekorSPKI, 'PUBLIC KEY'),
    ctlogKeyPEM: ctLog ? toPEM(ctLog.publicKey as Uint8Array, 'PUBLIC KEY') : '',
    ca,
    caNoSCT,
    tsa,
    tlogAt,
    async fulcioLeaf({ san, issuer, noSCT }) {
      const leaf = await issue(san, [
        { oid: FULCIO_ISSUER_LEGACY_OID, value: issuer, legacy: true },
        { oid: FULCIO_ISSUER_OID, value: issuer },
      ], noSCT);
      return { certPEM: leaf.pem, chainPEM: caRootPEM, privateKey: leaf.privateKey };
    },
    async x509Leaf({ san, issuer, eku, notBefore, notAfter }) {
      if (!x509Root) throw new Error('startSigstore: withX509CA not set');
      const m = await mintCert({
        name: 'leaf',
        issuer: x509Root,
        eku: eku === undefined ? ['1.3.6.1.5.5.7.3.3'] : eku,
        notBefore: notBefore ?? new Date(clock.getTime() - 60_000),
        notAfter: notAfter ?? new Date(clock.getTime() + 600_000),
        extensions: [
          new x509.SubjectAlternativeNameExtension([{ type: 'url', value: san }], true),
          utf8Ext(FULCIO_ISSUER_OID, issuer),
        ],
      });
      return { certPEM: m.pem, chainPEM: x509Root.pem, privateKey: KeyObject.from(m.keys.privateKey) };
    },
    logHashedRekord,
    async signLegacy(payload, leaf, so = {}) {
      const signature = nodeSign('sha256', payload, leaf.privateKey);
      const annotations: Record<string, string> = {
        [ANNOTATION.signature]: b64(signature),
        [ANNOTATION.certificate]: leaf.certPEM,
        [ANNOTATION.chain]: leaf.chainPEM,
      };
      if (!so.noTlog) {
        annotations[ANNOTATION.bundle] = await logHashedRekord({
          payload,
          signature,
          verifierPEM: leaf.certPEM,
          late: so.late,
        });
      }
      return { payload, annotations };
    },
    async signKeyless(payload, so = {}) {
      const issuer = so.issuer ?? GITHUB_ISSUER;
      const leaf = await issue(so.san ?? GITHUB_SAN, [
        { oid: FULCIO_ISSUER_LEGACY_OID, value: issuer, legacy: true },
        { oid: FULCIO_ISSUER_OID, value: issuer },
        { oid: '1.3.6.1.4.1.57264.1.2', value: 'push', legacy: true },
        { oid: '1.3.6.1.4.1.57264.1.20', value: 'push' },
      ]);
      const signature = nodeSign('sha256', payload, leaf.privateKey);
      const digest = sha256(payload);
      let body: object = hashedRekord(payload, signature, leaf.pem);
      if (so.logBody) body = so.logBody(body);
      const v = await logEntry(body);
      const p = v.verification.inclusionProof;
      const bundle = {
        mediaType: 'application/vnd.dev.sigstore.bundle.v0.3+json',
        verificationMaterial: {
          certificate: { rawBytes: b64(leaf.der) },
          tlogEntries: [
            {
              logIndex: String(v.logIndex),
              logId: { keyId: b64(Buffer.from(v.logID, 'hex')) },
              kindVersion: { kind: 'hashedrekord', version: '0.0.1' },
              integratedTime: String(v.integratedTime),
              inclusionPromise: { signedEntryTimestamp: v.verification.signedEntryTimestamp },
              inclusionProof: {
                logIndex: String(p.logIndex),
                rootHash: b64(Buffer.from(p.rootHash, 'hex')),
                treeSize: String(p.treeSize),
                hashes: p.hashes,
                checkpoint: { envelope: p.checkpoint },
              },
              canonicalizedBody: v.body,
            },
          ],
          timestampVerificationData: { rfc3161Timestamps: [] },
        },
        messageSignature: { messageDigest: { algorithm: 'SHA2_256', digest: b64(digest) }, signature: b64(signature) },
      };
      return {
        signatureB64: b64(signature),
        certificatePEM: leaf.pem,
        rekorBundleJSON: toSETAnnotation(v),
        bundle,
        signature,
      };
    },
    async signAttestation(statement, kind) {
      const leaf = await issue(GITHUB_SAN, [{ oid: FULCIO_ISSUER_OID, value: GITHUB_ISSUER }]);
      const payloadType = IN_TOTO;
      const payload = Buffer.from(JSON.stringify(statement));
      const pae = Buffer.concat([
        Buffer.from(`DSSEv1 ${payloadType.length} ${payloadType} ${payload.length} `),
        payload,
      ]);
      const sig = nodeSign('sha256', pae, leaf.privateKey);
      const envelope = Buffer.from(
        JSON.stringify({ payloadType, payload: b64(payload), signatures: [{ keyid: '', sig: b64(sig) }] }),
      );
      const hex = (b: Buffer) => sha256(b).toString('hex');
      const body = kind === 'intoto'
        ? {
          apiVersion: '0.0.1',
          kind: 'intoto',
          spec: {
            content: {
              hash: { algorithm: 'sha256', value: hex(envelope) },
              payloadHash: { algorithm: 'sha256', value: hex(payload) },
            },
            publicKey: b64(leaf.pem),
          },
        }
        : {
          apiVersion: '0.0.1',
          kind: 'dsse',
          spec: {
            envelopeHash: { algorithm: 'sha256', value: hex(envelope) },
            payloadHash: { algorithm: 'sha256', value: hex(payload) },
            signatures: [{ signature: b64(sig), verifier: b64(leaf.pem) }],
          },
        };
      return { envelope, certificatePEM: leaf.pem, rekorBundleJSON: toSETAnnotation(await logEntry(body)) };
    },
    async timestamp(data) {
      if (!tsa) throw new Error('startSigstore: withTSA not set');
      const resp = await tsa.timestamp({
        artifactHash: sha256(data),
        hashAlgorithmOID: '2.16.840.1.101.3.4.2.1',
        nonce: 42,
        policyOID: '1.3.6.1.4.1.57264.2',
        certReq: true,
      });
      return JSON.stringify({ SignedRFC3161Timestamp: b64(resp as Uint8Array) });
    },
    async signWithKey(payload) {
      const signer = ecKeys();
      const publicKeyPEM = signer.publicKey.export({ format: 'pem', type: 'spki' }).toString();
      const signature = nodeSign('sha256', payload, signer.privateKey);
      const v = await logEntry(hashedRekord(payload, signature, publicKeyPEM));
      return { signatureB64: b64(signature), publicKeyPEM, rekorBundleJSON: toSETAnnotation(v) };
    },
  };
}

// ------------------------------------------------------------ served over HTTP

type HandlerFn = (
  body: string,
) => Promise<{ statusCode: number; response: string | ArrayBufferView; contentType?: string }>;

export interface SignOptions {
  /** SAN of the certificate (JWT sub/email) */
  identity: string;
  /** OIDC issuer (JWT iss) */
  issuer?: string;
  /** issue the certificate without an SCT (CA without CT log) */
  noSCT?: boolean;
  /** Rekor integrates the entry this many seconds after the certificate's notBefore (> 600: cert expired) */
  rekorDelaySeconds?: number;
  /** also get an RFC 3161 timestamp from the mock TSA */
  tsa?: boolean;
}

export interface LegacySignature {
  payload: Uint8Array;
  annotations: Record<string, string>;
  /** the message-signature bundle the pieces came from */
  bundle: object;
}

export interface SigstoreMock {
  /** http://127.0.0.1:<port>: Fulcio, Rekor and TSA on one server */
  url: string;
  /** the in-memory Sigstore behind the routes (its in-process signing too) */
  sigstore: Sigstore;
  /** the signing clock (whole seconds): certificate notBefore, default integrated time */
  clock: Date;
  trustedRoot: TrustedRootJSON;
  /** trusted_root.json for this mock, in a temp directory */
  trustedRootPath: string;
  caRootPEM: string;
  rekorKeyPEM: string;
  ctlogKeyPEM: string;
  /** writes a (modified) copy of the trusted root; returns its path */
  writeTrustedRoot(name: string, mutate?: (root: TrustedRootJSON) => void): string;
  /** DER of a fresh, unrelated mock CA root certificate (for "untrusted CA" roots) */
  strangerCA(): Promise<Uint8Array>;
  /** keyless message-signature bundle over data (hashedrekord), as `cosign sign-blob --new-bundle-format` */
  signBlob(data: Uint8Array, o: SignOptions): Promise<object>;
  /** keyless DSSE bundle (Rekor intoto 0.0.2 entry) */
  signDSSE(payload: Uint8Array, payloadType: string, o: SignOptions): Promise<object>;
  /** DSSE bundle signed with a plain key (public-key hint), logged in the mock Rekor */
  signDSSEWithKey(payload: Uint8Array, payloadType: string, key: KeyPair): Promise<object>;
  /** a legacy cosign `.sig` layer for the digest: simple-signing payload + annotations */
  signLegacy(
    digest: string,
    dockerReference: string,
    o: SignOptions & { payload?: Uint8Array },
  ): Promise<LegacySignature>;
  close(): Promise<void>;
}

function jwt(claims: Record<string, unknown>): string {
  return `${b64url(JSON.stringify({ alg: 'none', typ: 'JWT' }))}.${b64url(JSON.stringify(claims))}.sig`;
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

/** Serves a fresh in-memory Sigstore (with TSA) on 127.0.0.1; the clock defaults to now (whole seconds). */
export async function startSigstoreMock(o: { clock?: Date } = {}): Promise<SigstoreMock> {
  const routes = new Map<string, () => HandlerFn>();
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    void (async () => {
      const route = req.method === 'POST' ? routes.get(new URL(req.url ?? '/', 'http://x').pathname) : undefined;
      if (!route) {
        res.writeHead(404, { 'Content-Type': 'text/plain' }).end('not found');
        return;
      }
      try {
        const r = await route()(await readBody(req));
        const body = typeof r.response === 'string'
          ? r.response
          : Buffer.from(r.response.buffer, r.response.byteOffset, r.response.byteLength);
        res.writeHead(r.statusCode, { 'Content-Type': r.contentType ?? 'text/plain' }).end(body);
      } catch (e) {
        res.writeHead(500, { 'Content-Type': 'text/plain' }).end(String(e));
      }
    })();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  const s = await startSigstore({
    clock: o.clock,
    withTSA: true,
    urls: { fulcio: url, rekor: url, ctlog: `${url}/ct`, tsa: `${url}/api/v1/timestamp`, ca: url },
  });
  const { clock, ca, caNoSCT, trustedRoot } = s;

  // per-signature knobs, set around each signing call (calls are sequential)
  const state = { noSCT: false, rekorDelay: 0 };
  routes.set('/api/v2/signingCert', () => fulcioHandler(state.noSCT ? caNoSCT : ca).fn);
  const rekorFns = new Map<number, HandlerFn>();
  rekorFns.set(0, rekorHandler(await s.tlogAt(0)).fn);
  routes.set('/api/v1/log/entries', () => rekorFns.get(state.rekorDelay)!);
  routes.set('/api/v1/timestamp', () => tsaHandler(s.tsa!).fn);

  const dir = mkdtempSync(join(tmpdir(), 'sigward-sigstore-mock-'));
  const writeTrustedRoot = (name: string, mutate?: (root: TrustedRootJSON) => void): string => {
    const copy = structuredClone(trustedRoot);
    mutate?.(copy);
    const p = join(dir, name.endsWith('.json') ? name : `${name}.json`);
    writeFileSync(p, JSON.stringify(copy, null, 2));
    return p;
  };
  const trustedRootPath = writeTrustedRoot('trusted_root.json');

  const withState = async <T>(
    so: SignOptions,
    fn: (signer: FulcioSigner, witnesses: Witness[]) => Promise<T>,
  ): Promise<T> => {
    const delay = so.rekorDelaySeconds ?? 0;
    if (!rekorFns.has(delay)) rekorFns.set(delay, rekorHandler(await s.tlogAt(delay)).fn);
    state.noSCT = !!so.noSCT;
    state.rekorDelay = delay;
    const claims: Record<string, unknown> = {
      iss: so.issuer ?? DEFAULT_ISSUER,
      sub: so.identity,
      aud: 'sigstore',
      iat: Math.floor(clock.getTime() / 1000),
      exp: Math.floor(clock.getTime() / 1000) + 600,
    };
    // @sigstore/sign signs the email as the proof of possession, and only a verified one
    if (so.identity.includes('@') && !so.identity.includes('://')) {
      Object.assign(claims, { email: so.identity, email_verified: true });
    }
    const signer = new FulcioSigner({
      fulcioBaseURL: url,
      identityProvider: { getToken: async () => jwt(claims) },
      retry: 0,
      timeout: 5000,
    });
    const witnesses: Witness[] = [];
    try {
      return await fn(signer, witnesses);
    } finally {
      state.noSCT = false;
      state.rekorDelay = 0;
    }
  };
  const tsaWitness = (
    so: SignOptions,
  ): Witness[] => (so.tsa ? [new TSAWitness({ tsaBaseURL: url, retry: 0, timeout: 5000 })] : []);
  const toJSON = (b: Bundle): object => bundleToJSON(b) as object;

  // @sigstore/sign writes message signatures as v0.2 bundles (certificate chain form)
  const signMessage = (data: Uint8Array, so: SignOptions) =>
    withState(so, async (signer) => {
      const witnesses = [new RekorWitness({ rekorBaseURL: url, retry: 0, timeout: 5000 }), ...tsaWitness(so)];
      return toJSON(await new MessageSignatureBundleBuilder({ signer, witnesses }).create({ data: Buffer.from(data) }));
    });
  // ... cosign v3 writes v0.3: single `certificate`
  const signBlob = async (data: Uint8Array, so: SignOptions) => {
    const b = (await signMessage(data, so)) as any;
    const chain = b.verificationMaterial.x509CertificateChain;
    if (chain) {
      delete b.verificationMaterial.x509CertificateChain;
      b.verificationMaterial.certificate = chain.certificates[0];
    }
    return { ...b, mediaType: 'application/vnd.dev.sigstore.bundle.v0.3+json' };
  };

  return {
    url,
    sigstore: s,
    clock,
    trustedRoot,
    trustedRootPath,
    caRootPEM: s.caRootPEM,
    rekorKeyPEM: s.rekorKeyPEM,
    ctlogKeyPEM: s.ctlogKeyPEM,
    writeTrustedRoot,
    async strangerCA() {
      return new Uint8Array((await initializeCA(ecKeys(), undefined, clock)).rootCertificate as Uint8Array);
    },
    signBlob,
    signDSSE: (payload, payloadType, so) =>
      withState(so, async (signer) => {
        // Rekor intoto 0.0.2 for DSSE (the mock Rekor stores proposed entries verbatim)
        const witnesses = [
          new RekorWitness({ rekorBaseURL: url, entryType: 'intoto', retry: 0, timeout: 5000 }),
          ...tsaWitness(so),
        ];
        return toJSON(
          await new DSSEBundleBuilder({ signer, witnesses }).create({ data: Buffer.from(payload), type: payloadType }),
        );
      }),
    async signDSSEWithKey(payload, payloadType, key) {
      const publicKey = key.publicKey.export({ format: 'pem', type: 'spki' }).toString();
      const signer = {
        sign: async (data: Buffer) => ({
          signature: nodeSign('sha256', data, key.privateKey),
          key: {
            $case: 'publicKey' as const,
            publicKey,
            hint: sha256(key.publicKey.export({ format: 'der', type: 'spki' })).toString('hex'),
          },
        }),
      };
      const witnesses = [new RekorWitness({ rekorBaseURL: url, entryType: 'intoto', retry: 0, timeout: 5000 })];
      return toJSON(
        await new DSSEBundleBuilder({ signer, witnesses }).create({ data: Buffer.from(payload), type: payloadType }),
      );
    },
    async signLegacy(digest, dockerReference, so) {
      const payload = so.payload ?? makeSimpleSigningPayload(dockerReference, digest, null);
      const bundle = (await signMessage(payload, so)) as any;
      const vm = bundle.verificationMaterial;
      const certB64: string = vm.x509CertificateChain?.certificates?.[0]?.rawBytes ?? vm.certificate.rawBytes;
      const entry = vm.tlogEntries[0];
      const set = {
        SignedEntryTimestamp: entry.inclusionPromise.signedEntryTimestamp,
        Payload: {
          body: entry.canonicalizedBody,
          integratedTime: Number(entry.integratedTime),
          logIndex: Number(entry.logIndex),
          logID: Buffer.from(entry.logId.keyId, 'base64').toString('hex'),
        },
      };
      const annotations: Record<string, string> = {
        [ANNOTATION.signature]: bundle.messageSignature.signature,
        [ANNOTATION.certificate]: toPEM(Buffer.from(certB64, 'base64')),
        [ANNOTATION.chain]: s.caRootPEM,
        [ANNOTATION.bundle]: JSON.stringify(set),
      };
      return { payload, annotations, bundle };
    },
    async close() {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Starts the served Sigstore for a tap test and stops it at teardown. */
export async function withSigstoreMock(t: Test, o: { clock?: Date } = {}): Promise<SigstoreMock> {
  const m = await startSigstoreMock(o);
  t.teardown(() => m.close());
  return m;
}

// ------------------------------------------------------------ images

/** The in-toto v1 statement cosign v3 signs for an image (`cosign sign`). */
export function toImageSignatureStatement(
  digest: string,
  o: { predicateType?: string; name?: string; annotations?: Record<string, string> } = {},
): Uint8Array {
  const hex = digest.replace(/^sha256:/, '');
  const statement = {
    _type: 'https://in-toto.io/Statement/v1',
    subject: [{
      ...(o.name ? { name: o.name } : {}),
      digest: { sha256: hex },
      ...(o.annotations ? { annotations: o.annotations } : {}),
    }],
    predicateType: o.predicateType ?? COSIGN_SIGN_PREDICATE,
    predicate: {},
  };
  return new TextEncoder().encode(JSON.stringify(statement));
}

/** Appends a legacy signature layer under `sha256-<hex>.sig`. */
export async function pushLegacySignature(
  store: OciStore,
  repo: RepositoryRef,
  digest: string,
  sig: { payload: Uint8Array; annotations: Record<string, string> },
): Promise<Descriptor> {
  return attachLayer({
    store,
    repository: repo,
    digest,
    suffix: 'sig',
    payload: sig.payload,
    annotations: sig.annotations,
  });
}

const EMPTY = new TextEncoder().encode('{}');

/**
 * Pushes a bundle as an OCI 1.1 referrer of `subject`, as cosign v3 writes it:
 * artifactType and layer media type application/vnd.dev.sigstore.bundle.v0.3+json,
 * empty `{}` config, cosign's manifest annotations; pushed by digest (the
 * registry client keeps the `sha256-<hex>` referrers tag index).
 */
export async function pushBundleReferrer(
  store: OciStore,
  repo: RepositoryRef,
  subject: Descriptor,
  bundle: object | Uint8Array,
  o: { predicateType?: string | null; layerMediaType?: string; extraLayers?: Descriptor[] } = {},
): Promise<Descriptor> {
  const bytes = bundle instanceof Uint8Array ? bundle : new TextEncoder().encode(JSON.stringify(bundle));
  const mediaType = o.layerMediaType ?? MEDIA_TYPES.sigstoreBundleV03;
  const layer = await store.putBlob(repo, bytes, mediaType);
  const config = await store.putBlob(repo, EMPTY, MEDIA_TYPES.ociEmpty);
  const isDSSE = !(bundle instanceof Uint8Array) && 'dsseEnvelope' in bundle;
  const predicateType = o.predicateType === undefined
    ? (isDSSE ? COSIGN_SIGN_PREDICATE : undefined)
    : o.predicateType ?? undefined;
  const manifest: ImageManifest = {
    schemaVersion: 2,
    mediaType: MEDIA_TYPES.ociManifest,
    artifactType: MEDIA_TYPES.sigstoreBundleV03,
    config: { mediaType: MEDIA_TYPES.ociEmpty, digest: config.digest, size: config.size },
    layers: [{ mediaType, digest: layer.digest, size: layer.size }, ...(o.extraLayers ?? [])],
    subject: { mediaType: subject.mediaType, digest: subject.digest, size: subject.size },
    annotations: {
      'org.opencontainers.image.created': new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
      'dev.sigstore.bundle.content': isDSSE ? 'dsse-envelope' : 'message-signature',
      ...(predicateType ? { 'dev.sigstore.bundle.predicateType': predicateType } : {}),
    },
  };
  return store.putManifest(repo, new TextEncoder().encode(JSON.stringify(manifest)), MEDIA_TYPES.ociManifest);
}
