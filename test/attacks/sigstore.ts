// A private Sigstore for keyless attack cases, built in process from
// @sigstore/mock (Fulcio-like CA with a CT log, Rekor) plus a second CA minted
// with @peculiar/x509 (for certificates @sigstore/mock cannot make: other
// EKUs, chosen validity). Nothing here verifies anything: it mints the
// material a legacy cosign `.sig` layer carries, and the trusted_root.json
// that trusts exactly this CA / CT log / Rekor.

// test/trust/helpers.ts loads @sigstore/mock first (reflect-metadata) and sets the x509 crypto provider
import { mintCert, type Minted } from '../trust/helpers.ts';
import { initializeCA, initializeCTLog, initializeTLog } from '@sigstore/mock';
import * as x509 from '@peculiar/x509';
import { createHash, generateKeyPairSync, KeyObject, sign as nodeSign } from 'node:crypto';
import { ANNOTATION } from '../../lib/cosign/annotations.ts';
import { toTestTrustedRoot } from '../helpers/trusted-root.ts';

export const FULCIO_ISSUER_OID = '1.3.6.1.4.1.57264.1.8';
export const FULCIO_ISSUER_LEGACY_OID = '1.3.6.1.4.1.57264.1.1';
const b64 = (b: Uint8Array | string) => Buffer.from(b).toString('base64');
export const pem = (der: Uint8Array, type = 'CERTIFICATE') =>
  `-----BEGIN ${type}-----\n${b64(der).match(/.{1,64}/g)!.join('\n')}\n-----END ${type}-----\n`;
const ecKeys = () => generateKeyPairSync('ec', { namedCurve: 'P-256' });

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

type TLog = Awaited<ReturnType<typeof initializeTLog>>;

export interface MiniSigstore {
  clock: Date;
  trustedRoot: Record<string, unknown>;
  /** PEM of the Rekor public key (Kyverno rekor.pubkey) */
  rekorKeyPEM: string;
  /** certificate from the Fulcio-like CA: URI SAN, issuer extension, codeSigning, 10 minutes from `clock`, SCT unless noSCT */
  fulcioLeaf(o: { san: string; issuer: string; noSCT?: boolean }): Promise<Leaf>;
  /** certificate from the x509 CA (also trusted): no SCT, chosen EKU and validity */
  x509Leaf(o: { san: string; issuer: string; eku?: string[] | null; notBefore?: Date; notAfter?: Date }): Promise<Leaf>;
  /** logs a hashedrekord entry; returns the cosign bundle annotation (SET) */
  logHashedRekord(
    o: { payload: Uint8Array; signature: Uint8Array; verifierPEM: string; late?: boolean },
  ): Promise<string>;
  /** signs payload with the leaf, logs it, returns the .sig layer (payload + annotations) */
  signLegacy(payload: Uint8Array, leaf: Leaf, o?: { noTlog?: boolean; late?: boolean }): Promise<LegacyLayer>;
}

function utf8Ext(oid: string, value: string): x509.Extension {
  const v = Buffer.from(value, 'utf8');
  if (v.length > 127) throw new Error('extension value too long for this helper');
  return new x509.Extension(oid, false, Buffer.concat([Buffer.from([0x0c, v.length]), v]));
}

/** Starts an independent private Sigstore (its own CA keys, CT log and Rekor keys). */
export async function startMiniSigstore(o: { clock?: Date } = {}): Promise<MiniSigstore> {
  // @sigstore/mock stamps its root certificates with the real time when they
  // are created, after this line: a default clock a few seconds ahead keeps
  // every leaf and log entry inside its root's validity even when setup
  // crosses a second boundary on a loaded machine.
  const clock = new Date(Math.floor((o.clock?.getTime() ?? Date.now() + 5000) / 1000) * 1000);
  const caKeys = ecKeys();
  const ctLog = await initializeCTLog(ecKeys(), clock);
  const ca = await initializeCA(caKeys, ctLog, clock);
  const caNoSCT = await initializeCA(caKeys, undefined, clock);
  const rekorKeys = ecKeys();
  const tlog: TLog = await initializeTLog('https://rekor.attack.test', rekorKeys, clock);
  // the same Rekor, integrating entries an hour after the signing clock
  const lateTlog: TLog = await initializeTLog(
    'https://rekor.attack.test',
    rekorKeys,
    new Date(clock.getTime() + 3600_000),
  );
  const x509Root: Minted = await mintCert({ name: 'attack-test private CA', ca: true });
  const caRootPEM = pem(ca.rootCertificate as Uint8Array);
  const rekorSPKI = Buffer.from(tlog.publicKey);
  const trustedRoot: Record<string, unknown> = toTestTrustedRoot({
    tlogs: [{ baseUrl: 'https://rekor.attack.test', publicKey: rekorSPKI }],
    ctlogs: [{
      baseUrl: 'https://ctlog.attack.test',
      publicKey: ctLog.publicKey as Uint8Array,
      logId: ctLog.logID as Uint8Array,
    }],
    certificateAuthorities: [
      {
        subject: { organization: 'sigstore.mock', commonName: 'sigstore' },
        uri: 'https://fulcio.attack.test',
        certificates: [ca.rootCertificate as Uint8Array],
      },
      {
        subject: { commonName: 'attack-test private CA' },
        uri: 'https://ca.attack.test',
        certificates: [x509Root.der],
      },
    ],
  });

  const logHashedRekord: MiniSigstore['logHashedRekord'] = async ({ payload, signature, verifierPEM, late }) => {
    const body = {
      apiVersion: '0.0.1',
      kind: 'hashedrekord',
      spec: {
        data: { hash: { algorithm: 'sha256', value: createHash('sha256').update(payload).digest('hex') } },
        signature: { content: b64(signature), publicKey: { content: b64(verifierPEM) } },
      },
    };
    const entries = (await (late ? lateTlog : tlog).log(body)) as Record<string, any>;
    const v = Object.values(entries)[0];
    return JSON.stringify({
      SignedEntryTimestamp: v.verification.signedEntryTimestamp,
      Payload: { body: v.body, integratedTime: v.integratedTime, logIndex: v.logIndex, logID: v.logID },
    });
  };

  return {
    clock,
    trustedRoot,
    rekorKeyPEM: pem(rekorSPKI, 'PUBLIC KEY'),
    async fulcioLeaf({ san, issuer, noSCT }) {
      const k = ecKeys();
      const der = (await (noSCT ? caNoSCT : ca).issueCertificate({
        publicKey: new Uint8Array(k.publicKey.export({ format: 'der', type: 'spki' })),
        subjectAltName: san,
        extensions: [
          { oid: FULCIO_ISSUER_LEGACY_OID, value: issuer, legacy: true },
          { oid: FULCIO_ISSUER_OID, value: issuer },
        ],
      })) as Uint8Array;
      return { certPEM: pem(der), chainPEM: caRootPEM, privateKey: k.privateKey };
    },
    async x509Leaf({ san, issuer, eku, notBefore, notAfter }) {
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
      const privateKey = KeyObject.from(m.keys.privateKey);
      return { certPEM: m.pem, chainPEM: x509Root.pem, privateKey };
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
  };
}
