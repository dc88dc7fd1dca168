// Test helpers for the trust core: fixture paths and minted PKI / Sigstore
// material (@peculiar/x509 for arbitrary certificates, @sigstore/mock for a
// Fulcio CA, CT log and Rekor whose keys we control).

// @sigstore/mock first: it loads the reflect-metadata polyfill @peculiar/x509 needs.
import { toTestTrustedRoot } from '../helpers/trusted-root.ts';
import { initializeCA, initializeCTLog, initializeTLog, initializeTSA } from '@sigstore/mock';
import * as x509 from '@peculiar/x509';
import { createHash, generateKeyPairSync, KeyObject, sign as nodeSign, webcrypto } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

x509.cryptoProvider.set(webcrypto as unknown as Crypto);

export const TV = fileURLToPath(new URL('../../../shared/testvectors/', import.meta.url));
export const TD = fileURLToPath(new URL('../../testdata/trust/', import.meta.url));
export const CI = `${TV}cosign-legacy/containers-image/`;
export const CONNAISSEUR = `${TV}cosign-legacy/connaisseur/securesystemsengineering/testimage/`;

export const readText = (p: string): string => readFileSync(p, 'utf8');

/** A containers/image "dir" signature-N file: "\0sigstore-json\n" + {mimeType,payload,annotations}. */
export function readContainersImageSignature(dir: string, n = 1): {
  mimeType: string;
  payload: Buffer;
  annotations: Record<string, string>;
} {
  const raw = readFileSync(`${CI}${dir}/signature-${n}`);
  const nl = raw.indexOf(0x0a);
  if (raw.subarray(0, nl).toString() !== '\0sigstore-json') throw new Error(`${dir}: not a sigstore-json signature`);
  const j = JSON.parse(raw.subarray(nl + 1).toString('utf8'));
  return { mimeType: j.mimeType, payload: Buffer.from(j.payload, 'base64'), annotations: j.annotations };
}

/** The keyless cosign layer from the Connaisseur registry dump. */
export function readConnaisseurKeyless(): { payload: Buffer; annotations: Record<string, string> } {
  const m = JSON.parse(
    readText(
      `${CONNAISSEUR}manifests/sha256-31dc72a13a0c34b40eb95419d2b2fd67320c856baf3b72da518023ee8d370aee.sig.json`,
    ),
  );
  const layer = m.layers[0];
  return { payload: readFileSync(`${CONNAISSEUR}blobs/${layer.digest}.json`), annotations: layer.annotations };
}

// ---------------------------------------------------------------- x509 PKI

const EC = { name: 'ECDSA', namedCurve: 'P-256' } as const;
const SIGN_ALG = { name: 'ECDSA', hash: 'SHA-256' } as const;

export interface Minted {
  cert: x509.X509Certificate;
  keys: CryptoKeyPair;
  pem: string;
  der: Uint8Array;
}

export async function newKeys(): Promise<CryptoKeyPair> {
  return (await webcrypto.subtle.generateKey(EC, true, ['sign', 'verify'])) as CryptoKeyPair;
}

const DAY = 86400_000;

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

// ------------------------------------------------------------ mock Sigstore

export interface MockSigstore {
  /** trusted_root.json object for the mock CA / CT log / Rekor */
  trustedRoot: object;
  rekorKeyPEM: string;
  caRootPEM: string;
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
  /** signs with a plain key and logs it in the mock Rekor */
  signWithKey(payload: Uint8Array): Promise<{ signatureB64: string; publicKeyPEM: string; rekorBundleJSON: string }>;
}

const b64 = (b: Uint8Array | string) => Buffer.from(b).toString('base64');

export async function mockSigstore(
  o: { clock?: Date; tlogClock?: Date; withCT?: boolean; withTSA?: boolean } = {},
): Promise<MockSigstore> {
  // whole seconds: certificate and timestamp times have second precision
  const clock = o.clock ?? new Date(Math.floor((Date.now() + 60_000) / 1000) * 1000);
  const ecKeys = () => generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const ctLog = o.withCT === false ? undefined : await initializeCTLog(ecKeys(), clock);
  const ca = await initializeCA(ecKeys(), ctLog, clock);
  const tlog = await initializeTLog('https://rekor.mock', ecKeys(), o.tlogClock ?? clock);
  const rekorSPKI = Buffer.from(tlog.publicKey);
  const tsa = o.withTSA ? await initializeTSA(ecKeys(), clock) : undefined;
  const trustedRoot = toTestTrustedRoot({
    tlogs: [{ baseUrl: 'https://rekor.mock', publicKey: rekorSPKI }],
    ctlogs: ctLog
      ? [{ baseUrl: 'https://ctlog.mock', publicKey: ctLog.publicKey as Uint8Array, logId: ctLog.logID as Uint8Array }]
      : [],
    certificateAuthorities: [{
      subject: { organization: 'sigstore.mock', commonName: 'sigstore' },
      uri: 'https://fulcio.mock',
      certificates: [ca.rootCertificate as Uint8Array],
    }],
    timestampAuthorities: tsa
      ? [{
        subject: { organization: 'sigstore.mock', commonName: 'tsa' },
        uri: 'https://tsa.mock',
        certificates: [tsa.intCertificate as Uint8Array, tsa.rootCertificate as Uint8Array],
      }]
      : [],
  });
  const pem = (der: Uint8Array, type: string) =>
    `-----BEGIN ${type}-----\n${b64(der).match(/.{1,64}/g)!.join('\n')}\n-----END ${type}-----\n`;

  const logIt = async (body: object) => {
    const entries = await tlog.log(body);
    const v = Object.values(entries)[0] as {
      body: string;
      integratedTime: number;
      logIndex: number;
      logID: string;
      verification: {
        signedEntryTimestamp: string;
        inclusionProof: { checkpoint: string; rootHash: string; treeSize: number; logIndex: number; hashes: string[] };
      };
    };
    return v;
  };

  return {
    trustedRoot,
    rekorKeyPEM: pem(rekorSPKI, 'PUBLIC KEY'),
    caRootPEM: pem(ca.rootCertificate as Uint8Array, 'CERTIFICATE'),
    async signKeyless(payload, so = {}) {
      const signer = ecKeys();
      const spki = signer.publicKey.export({ format: 'der', type: 'spki' });
      const issuer = so.issuer ?? 'https://token.actions.githubusercontent.com';
      const certDER = Buffer.from(
        (await ca.issueCertificate({
          publicKey: new Uint8Array(spki),
          subjectAltName: so.san ?? 'https://github.com/acme/app/.github/workflows/release.yml@refs/heads/main',
          extensions: [
            { oid: '1.3.6.1.4.1.57264.1.1', value: issuer, legacy: true },
            { oid: '1.3.6.1.4.1.57264.1.8', value: issuer },
            { oid: '1.3.6.1.4.1.57264.1.2', value: 'push', legacy: true },
            { oid: '1.3.6.1.4.1.57264.1.20', value: 'push' },
          ],
        })) as Uint8Array,
      );
      const certificatePEM = pem(certDER, 'CERTIFICATE');
      const signature = nodeSign('sha256', payload, signer.privateKey);
      const digest = createHash('sha256').update(payload).digest();
      let body: object = {
        apiVersion: '0.0.1',
        kind: 'hashedrekord',
        spec: {
          data: { hash: { algorithm: 'sha256', value: digest.toString('hex') } },
          signature: { content: b64(signature), publicKey: { content: b64(certificatePEM) } },
        },
      };
      if (so.logBody) body = so.logBody(body);
      const v = await logIt(body);
      const rekorBundleJSON = JSON.stringify({
        SignedEntryTimestamp: v.verification.signedEntryTimestamp,
        Payload: { body: v.body, integratedTime: v.integratedTime, logIndex: v.logIndex, logID: v.logID },
      });
      const p = v.verification.inclusionProof;
      const bundle = {
        mediaType: 'application/vnd.dev.sigstore.bundle.v0.3+json',
        verificationMaterial: {
          certificate: { rawBytes: b64(certDER) },
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
      return { signatureB64: b64(signature), certificatePEM, rekorBundleJSON, bundle, signature };
    },
    async signAttestation(statement, kind) {
      const signer = ecKeys();
      const spki = signer.publicKey.export({ format: 'der', type: 'spki' });
      const certDER = Buffer.from(
        (await ca.issueCertificate({
          publicKey: new Uint8Array(spki),
          subjectAltName: 'https://github.com/acme/app/.github/workflows/release.yml@refs/heads/main',
          extensions: [{ oid: '1.3.6.1.4.1.57264.1.8', value: 'https://token.actions.githubusercontent.com' }],
        })) as Uint8Array,
      );
      const certificatePEM = pem(certDER, 'CERTIFICATE');
      const payloadType = 'application/vnd.in-toto+json';
      const payload = Buffer.from(JSON.stringify(statement));
      const pae = Buffer.concat([
        Buffer.from(`DSSEv1 ${payloadType.length} ${payloadType} ${payload.length} `),
        payload,
      ]);
      const sig = nodeSign('sha256', pae, signer.privateKey);
      const envelope = Buffer.from(
        JSON.stringify({ payloadType, payload: b64(payload), signatures: [{ keyid: '', sig: b64(sig) }] }),
      );
      const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
      const body = kind === 'intoto'
        ? {
          apiVersion: '0.0.1',
          kind: 'intoto',
          spec: {
            content: {
              hash: { algorithm: 'sha256', value: sha(envelope) },
              payloadHash: { algorithm: 'sha256', value: sha(payload) },
            },
            publicKey: b64(certificatePEM),
          },
        }
        : {
          apiVersion: '0.0.1',
          kind: 'dsse',
          spec: {
            envelopeHash: { algorithm: 'sha256', value: sha(envelope) },
            payloadHash: { algorithm: 'sha256', value: sha(payload) },
            signatures: [{ signature: b64(sig), verifier: b64(certificatePEM) }],
          },
        };
      const v = await logIt(body);
      return {
        envelope,
        certificatePEM,
        rekorBundleJSON: JSON.stringify({
          SignedEntryTimestamp: v.verification.signedEntryTimestamp,
          Payload: { body: v.body, integratedTime: v.integratedTime, logIndex: v.logIndex, logID: v.logID },
        }),
      };
    },
    async timestamp(data) {
      if (!tsa) throw new Error('mockSigstore: withTSA not set');
      const resp = await tsa.timestamp({
        artifactHash: createHash('sha256').update(data).digest(),
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
      const v = await logIt({
        apiVersion: '0.0.1',
        kind: 'hashedrekord',
        spec: {
          data: { hash: { algorithm: 'sha256', value: createHash('sha256').update(payload).digest('hex') } },
          signature: { content: b64(signature), publicKey: { content: b64(publicKeyPEM) } },
        },
      });
      return {
        signatureB64: b64(signature),
        publicKeyPEM,
        rekorBundleJSON: JSON.stringify({
          SignedEntryTimestamp: v.verification.signedEntryTimestamp,
          Payload: { body: v.body, integratedTime: v.integratedTime, logIndex: v.logIndex, logID: v.logID },
        }),
      };
    },
  };
}
