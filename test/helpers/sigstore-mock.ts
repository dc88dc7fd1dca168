// A private Sigstore on 127.0.0.1 for keyless end-to-end tests: the
// @sigstore/mock Fulcio CA (with a CT log embedding SCTs), Rekor and a
// timestamp authority served by a real HTTP server, a trusted_root.json built
// from their keys, and @sigstore/sign clients pointed at it. Images are
// signed keylessly in both cosign formats:
//   legacy  `.sig` layer with certificate / chain / Rekor SET bundle annotations;
//   bundle  DSSE v0.3 bundle over an in-toto v1 statement
//           (predicateType https://sigstore.dev/cosign/sign/v1) pushed as an
//           OCI 1.1 referrer, as cosign v3 does.
// Nothing here verifies anything.

// @sigstore/mock first: it loads the reflect-metadata polyfill @peculiar/x509 needs.
import { toTestTrustedRoot } from './trusted-root.ts';
import {
  fulcioHandler,
  initializeCA,
  initializeCTLog,
  initializeTLog,
  initializeTSA,
  rekorHandler,
  tsaHandler,
} from '@sigstore/mock';
import {
  DSSEBundleBuilder,
  FulcioSigner,
  MessageSignatureBundleBuilder,
  RekorWitness,
  TSAWitness,
  type Witness,
} from '@sigstore/sign';
import { type Bundle, bundleToJSON } from '@sigstore/bundle';
import { createHash, generateKeyPairSync, type KeyObject, sign } from 'node:crypto';
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

export const COSIGN_SIGN_PREDICATE = 'https://sigstore.dev/cosign/sign/v1';
export const IN_TOTO = 'application/vnd.in-toto+json';
export const DEFAULT_ISSUER = 'https://oidc.sigward.test';

export type KeyPair = { publicKey: KeyObject; privateKey: KeyObject };
type HandlerFn = (
  body: string,
) => Promise<{ statusCode: number; response: string | ArrayBufferView; contentType?: string }>;

const ecKeys = (): KeyPair => generateKeyPairSync('ec', { namedCurve: 'P-256' });
const b64 = (b: Uint8Array | string): string => Buffer.from(b).toString('base64');
const b64url = (s: string): string => Buffer.from(s).toString('base64url');
export const toPEM = (der: Uint8Array, type = 'CERTIFICATE'): string =>
  `-----BEGIN ${type}-----\n${b64(der).match(/.{1,64}/g)!.join('\n')}\n-----END ${type}-----\n`;

/** trusted_root.json as JSON (proto-JSON spelling). */
export interface TrustedRootJSON {
  mediaType: string;
  tlogs: any[];
  ctlogs: any[];
  certificateAuthorities: any[];
  timestampAuthorities: any[];
}

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

/** Starts the mock services; the clock defaults to now (whole seconds). */
export async function startSigstoreMock(o: { clock?: Date } = {}): Promise<SigstoreMock> {
  // @sigstore/mock stamps its root certificates with the real time when they
  // are created, after this line: a default clock a few seconds ahead keeps
  // every leaf and log entry inside its root's validity even when setup
  // crosses a second boundary on a loaded machine.
  const clock = new Date(Math.floor((o.clock?.getTime() ?? Date.now() + 5000) / 1000) * 1000);
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

  const caKeys = ecKeys();
  const ctLog = await initializeCTLog(ecKeys(), clock);
  const ca = await initializeCA(caKeys, ctLog, clock);
  // same key and name, no CT log: its certificates chain to the trusted root but carry no SCT
  const caNoSCT = await initializeCA(caKeys, undefined, clock);
  const rekorKeys = ecKeys();
  const tlogs = new Map<number, Awaited<ReturnType<typeof initializeTLog>>>();
  const tlogAt = async (delay: number) => {
    let t = tlogs.get(delay);
    if (!t) {
      t = await initializeTLog(url, rekorKeys, new Date(clock.getTime() + delay * 1000));
      tlogs.set(delay, t);
    }
    return t;
  };
  const tlog = await tlogAt(0);
  const tsa = await initializeTSA(ecKeys(), clock);

  // per-signature knobs, set around each signing call (calls are sequential)
  const state = { noSCT: false, rekorDelay: 0 };
  routes.set('/api/v2/signingCert', () => fulcioHandler(state.noSCT ? caNoSCT : ca).fn);
  const rekorFns = new Map<number, HandlerFn>();
  rekorFns.set(0, rekorHandler(tlog).fn);
  routes.set('/api/v1/log/entries', () => rekorFns.get(state.rekorDelay)!);
  routes.set('/api/v1/timestamp', () => tsaHandler(tsa).fn);

  const rekorSPKI = Buffer.from(tlog.publicKey);
  const trustedRoot: TrustedRootJSON = toTestTrustedRoot({
    tlogs: [{ baseUrl: url, publicKey: rekorSPKI }],
    ctlogs: [{ baseUrl: `${url}/ct`, publicKey: ctLog.publicKey as Uint8Array, logId: ctLog.logID as Uint8Array }],
    certificateAuthorities: [{
      subject: { organization: 'sigstore.mock', commonName: 'sigstore' },
      uri: url,
      certificates: [ca.rootCertificate as Uint8Array],
    }],
    timestampAuthorities: [
      {
        subject: { organization: 'sigstore.mock', commonName: 'tsa' },
        uri: `${url}/api/v1/timestamp`,
        certificates: [tsa.intCertificate as Uint8Array, tsa.rootCertificate as Uint8Array],
      },
    ],
  });
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
    if (!rekorFns.has(delay)) rekorFns.set(delay, rekorHandler(await tlogAt(delay)).fn);
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
    clock,
    trustedRoot,
    trustedRootPath,
    caRootPEM: toPEM(ca.rootCertificate as Uint8Array),
    rekorKeyPEM: toPEM(rekorSPKI, 'PUBLIC KEY'),
    ctlogKeyPEM: toPEM(ctLog.publicKey, 'PUBLIC KEY'),
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
          signature: sign('sha256', data, key.privateKey),
          key: {
            $case: 'publicKey' as const,
            publicKey,
            hint: createHash('sha256').update(key.publicKey.export({ format: 'der', type: 'spki' })).digest('hex'),
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
        [ANNOTATION.chain]: toPEM(ca.rootCertificate as Uint8Array),
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

/** Starts the mock for a tap test and stops it at teardown. */
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
