// Notary Project signatures for tests: the real notation 1.3.2 (PEERS_BIN),
// run with its configuration isolated in a temporary HOME / XDG_CONFIG_HOME,
// and sigward's own forger for what notation refuses to make (unknown
// critical headers, expired certificates, tampered envelopes). Forged
// signatures are stored exactly as notation stores its own: an image manifest
// with config application/vnd.cncf.notary.signature, one envelope layer and
// the signed image as subject (the registry client keeps the referrers tag
// index up to date).

import { execFile } from 'node:child_process';
import { constants, createHash, createPrivateKey, sign as cryptoSign } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import t from 'tap';
import { encode, Tagged } from 'cborg';
import type { Descriptor, OciStore, RepositoryRef } from '../../lib/oci/types.ts';
import { MEDIA_TYPES } from '../../lib/oci/types.ts';
import { parseCertificates } from '../../lib/trust/index.ts';
import { type PeerRun, PEERS_BIN } from './peers.ts';

const run = promisify(execFile);
export const NOTATION = join(PEERS_BIN, 'notation');

/** Runs `main` when the real notation is there; skipped locally without it, a failure under CI. */
export function withRealNotation(main: () => void): void {
  if (existsSync(NOTATION)) return main();
  if (process.env.CI) throw new Error(`real notation is missing at ${NOTATION}: run bash scripts/peers.sh`);
  t.test('real notation', { skip: `real notation 1.3.2 is missing at ${NOTATION}` }, async () => {});
}

/** notation with its whole configuration under `home` (never the user's). */
export function notationRunner(home: string): { run: (args: string[]) => Promise<PeerRun>; config: string } {
  const config = join(home, '.config');
  mkdirSync(join(config, 'notation'), { recursive: true });
  const env = { HOME: home, XDG_CONFIG_HOME: config, PATH: process.env.PATH ?? '/usr/bin:/bin' };
  return {
    config: join(config, 'notation'),
    run: (args) =>
      run(NOTATION, args, { cwd: home, env, timeout: 60_000 }).then(
        (r) => ({ code: 0, stdout: r.stdout, stderr: r.stderr }),
        (e: { code?: number; stdout?: string; stderr?: string }) => ({
          code: typeof e.code === 'number' ? e.code : 99,
          stdout: e.stdout ?? '',
          stderr: e.stderr ?? '',
        }),
      ),
  };
}

/** Registers a key and its certificate chain (PEM file, leaf first) as notation's signing key `name`. */
export function addSigningKey(config: string, name: string, keyPath: string, certPath: string): void {
  const file = join(config, 'signingkeys.json');
  const doc = existsSync(file) ? JSON.parse(readFileSync(file, 'utf8')) : { keys: [] };
  doc.keys = [...(doc.keys ?? []).filter((k: { name: string }) => k.name !== name), { name, keyPath, certPath }];
  writeFileSync(file, JSON.stringify(doc));
}

/** A trust policy (version 1.0) for notation verify: one global policy. */
export function writeTrustPolicy(
  config: string,
  stores: string[],
  level = 'strict',
  override?: Record<string, string>,
  identities = ['*'],
): void {
  writeFileSync(
    join(config, 'trustpolicy.json'),
    JSON.stringify({
      version: '1.0',
      trustPolicies: [{
        name: 'all',
        registryScopes: ['*'],
        signatureVerification: { level, ...(override ? { override } : {}) },
        trustStores: stores,
        trustedIdentities: identities,
      }],
    }),
  );
}

/** Copies PEM certificates into notation's trust store `x509/<type>/<name>/`. */
export function addTrustStoreCert(config: string, type: string, name: string, file: string, pem: string): void {
  const dir = join(config, 'truststore', 'x509', type, name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, file), pem);
}

export interface ForgeOptions {
  store: OciStore;
  repository: RepositoryRef;
  /** the descriptor the signature's manifest refers to (subject) */
  subject: Descriptor;
  /** what the payload says is signed (default: subject) */
  target?: Descriptor & { annotations?: Record<string, string> };
  format: 'jws' | 'cose';
  /** PKCS#8 PEM private key of the leaf */
  keyPem: string;
  /** PEM chain, leaf first */
  chainPem: string;
  signingTime?: Date;
  expiry?: Date;
  /** extra protected headers (name -> value) and extra names for `crit` */
  extraProtected?: Record<string, string>;
  extraCritical?: string[];
  /** drop these from `crit` */
  dropCritical?: string[];
  /** flip a byte of the signature after signing */
  tamperSignature?: boolean;
  /** replace the payload after signing (the signature no longer covers it) */
  tamperPayload?: boolean;
  /** claim another algorithm than the key's (and hash with it): an algorithm substitution */
  algOverride?: { jws: string; cose: number; hash: string };
  /** an RFC 3161 token for the (final) signature bytes, stored as io.cncf.notary.timestampSignature */
  timestamp?: (signature: Uint8Array) => Uint8Array;
}

const ALG: Record<string, { jws: string; cose: number; hash: string; len: number; pss: boolean }> = {
  'rsa-2048': { jws: 'PS256', cose: -37, hash: 'sha256', len: 32, pss: true },
  'rsa-3072': { jws: 'PS384', cose: -38, hash: 'sha384', len: 48, pss: true },
  'ec-prime256v1': { jws: 'ES256', cose: -7, hash: 'sha256', len: 32, pss: false },
  'ec-secp384r1': { jws: 'ES384', cose: -35, hash: 'sha384', len: 48, pss: false },
};

function algFor(keyPem: string) {
  const k = createPrivateKey(keyPem);
  const d = k.asymmetricKeyDetails ?? {};
  const a = ALG[k.asymmetricKeyType === 'rsa' ? `rsa-${d.modulusLength}` : `ec-${d.namedCurve}`];
  if (!a) throw new Error('unsupported test key');
  return { key: k, ...a };
}

function sign(keyPem: string, data: Uint8Array, hash?: string): Uint8Array {
  const base = algFor(keyPem);
  const a = hash ? { ...base, hash } : base;
  return a.pss
    ? cryptoSign(a.hash, data, { key: a.key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: a.len })
    : cryptoSign(a.hash, data, { key: a.key, dsaEncoding: 'ieee-p1363' });
}

/** Builds a (possibly forged) envelope. */
export function forgeEnvelope(
  o: Omit<ForgeOptions, 'store' | 'repository' | 'subject'> & { target: Descriptor },
): { bytes: Uint8Array; mediaType: string } {
  const a = { ...algFor(o.keyPem), ...(o.algOverride ?? {}) };
  const target = o.target;
  const payload = new TextEncoder().encode(
    JSON.stringify({
      targetArtifact: {
        mediaType: target.mediaType,
        digest: target.digest,
        size: target.size,
        ...((target as { annotations?: unknown }).annotations
          ? { annotations: (target as { annotations?: unknown }).annotations }
          : {}),
      },
    }),
  );
  const evil = new TextEncoder().encode(
    JSON.stringify({
      targetArtifact: { mediaType: target.mediaType, digest: `sha256:${'0'.repeat(64)}`, size: target.size },
    }),
  );
  const time = o.signingTime ?? new Date(Math.floor(Date.now() / 1000) * 1000);
  const crit = [
    'io.cncf.notary.signingScheme',
    ...(o.expiry ? ['io.cncf.notary.expiry'] : []),
    ...(o.extraCritical ?? []),
  ].filter((c) => !(o.dropCritical ?? []).includes(c));
  const certs = parseCertificates(o.chainPem).map((c) => c.root.toDER());
  if (o.format === 'jws') {
    const ph: Record<string, unknown> = {
      alg: a.jws,
      crit,
      cty: 'application/vnd.cncf.notary.payload.v1+json',
      'io.cncf.notary.signingScheme': 'notary.x509',
      'io.cncf.notary.signingTime': time.toISOString().replace(/\.\d{3}Z$/, 'Z'),
      ...(o.expiry ? { 'io.cncf.notary.expiry': o.expiry.toISOString().replace(/\.\d{3}Z$/, 'Z') } : {}),
      ...(o.extraProtected ?? {}),
    };
    const p64 = Buffer.from(JSON.stringify(ph)).toString('base64url');
    const pl64 = Buffer.from(payload).toString('base64url');
    const sig = Buffer.from(sign(o.keyPem, Buffer.from(`${p64}.${pl64}`), o.algOverride?.hash));
    if (o.tamperSignature) sig[sig.length - 1] ^= 1;
    const env = {
      payload: o.tamperPayload ? Buffer.from(evil).toString('base64url') : pl64,
      protected: p64,
      header: {
        x5c: certs.map((c) => Buffer.from(c).toString('base64')),
        'io.cncf.notary.signingAgent': 'sigward-test-forger',
        ...(o.timestamp
          ? { 'io.cncf.notary.timestampSignature': Buffer.from(o.timestamp(sig)).toString('base64') }
          : {}),
      },
      signature: sig.toString('base64url'),
    };
    return { bytes: new TextEncoder().encode(JSON.stringify(env)), mediaType: 'application/jose+json' };
  }
  const ph = new Map<number | string, unknown>([
    [1, a.cose],
    [2, crit],
    [3, 'application/vnd.cncf.notary.payload.v1+json'],
    ['io.cncf.notary.signingScheme', 'notary.x509'],
    ['io.cncf.notary.signingTime', new Tagged(1, Math.floor(time.getTime() / 1000))],
    ...(o.expiry
      ? [['io.cncf.notary.expiry', new Tagged(1, Math.floor(o.expiry.getTime() / 1000))] as [string, unknown]]
      : []),
    ...Object.entries(o.extraProtected ?? {}),
  ]);
  const protectedBytes = encode(ph);
  const sig = Buffer.from(
    sign(o.keyPem, encode(['Signature1', protectedBytes, new Uint8Array(0), payload]), o.algOverride?.hash),
  );
  if (o.tamperSignature) sig[sig.length - 1] ^= 1;
  const unprotected = new Map<number | string, unknown>([
    [33, certs.map((c) => new Uint8Array(c))],
    ['io.cncf.notary.signingAgent', 'sigward-test-forger'],
    ...(o.timestamp ? [['io.cncf.notary.timestampSignature', o.timestamp(sig)] as [string, unknown]] : []),
  ]);
  return {
    bytes: encode(new Tagged(18, [protectedBytes, unprotected, o.tamperPayload ? evil : payload, new Uint8Array(sig)])),
    mediaType: 'application/cose',
  };
}

/** Pushes an envelope as a Notary signature manifest of `subject`. Returns the signature manifest descriptor. */
export async function pushNotarySignature(
  store: OciStore,
  repository: RepositoryRef,
  subject: Descriptor,
  envelope: { bytes: Uint8Array; mediaType: string },
  chainPem?: string,
): Promise<Descriptor> {
  const layer = await store.putBlob(repository, envelope.bytes, envelope.mediaType);
  const config = await store.putBlob(
    repository,
    new TextEncoder().encode('{}'),
    'application/vnd.cncf.notary.signature',
  );
  const thumbprints = chainPem
    ? parseCertificates(chainPem).map((c) => createHash('sha256').update(c.root.toDER()).digest('hex'))
    : [];
  const manifest = {
    schemaVersion: 2,
    mediaType: MEDIA_TYPES.ociManifest,
    config,
    layers: [layer],
    subject: { mediaType: subject.mediaType, digest: subject.digest, size: subject.size },
    annotations: {
      'io.cncf.notary.x509chain.thumbprint#S256': JSON.stringify(thumbprints),
      'org.opencontainers.image.created': new Date().toISOString(),
    },
  };
  return store.putManifest(repository, new TextEncoder().encode(JSON.stringify(manifest)), MEDIA_TYPES.ociManifest);
}

/** Forges and pushes in one go. */
export async function forgeNotarySignature(o: ForgeOptions): Promise<Descriptor> {
  const env = forgeEnvelope({ ...o, target: o.target ?? o.subject });
  return pushNotarySignature(o.store, o.repository, o.subject, env, o.chainPem);
}

export interface TestTsa {
  url: string;
  rootPem: string;
  /** a TimeStampToken (DER) over `data`, as the HTTP endpoint would return it inside a response */
  stamp(data: Uint8Array): Uint8Array;
  stop(): Promise<void>;
}

/**
 * An RFC 3161 TSA on 127.0.0.1 made of `openssl ts -reply` (EC P-256 root and
 * timestamping certificate, accuracy 1 s, ESS signing-certificate-v2), for
 * `notation sign --timestamp-url`.
 */
export async function startTestTsa(dir: string, name: string): Promise<TestTsa> {
  const { createServer } = await import('node:http');
  const { execFileSync } = await import('node:child_process');
  const d = join(dir, `tsa-${name}`);
  mkdirSync(d, { recursive: true });
  const ssl = (args: string[]) => execFileSync('openssl', args, { cwd: d, stdio: 'pipe' });
  ssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', 'root.key']);
  ssl([
    'req',
    '-x509',
    '-new',
    '-key',
    'root.key',
    '-subj',
    `/C=US/ST=WA/O=sigward/CN=${name} TSA root`,
    '-days',
    '30',
    '-out',
    'root.pem',
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign',
  ]);
  ssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', 'tsa.key']);
  ssl(['req', '-new', '-key', 'tsa.key', '-subj', `/C=US/ST=WA/O=sigward/CN=${name} TSA`, '-out', 'tsa.csr']);
  writeFileSync(
    join(d, 'tsa.ext'),
    'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=critical,timeStamping\n',
  );
  ssl([
    'x509',
    '-req',
    '-in',
    'tsa.csr',
    '-CA',
    'root.pem',
    '-CAkey',
    'root.key',
    '-CAcreateserial',
    '-days',
    '30',
    '-extfile',
    'tsa.ext',
    '-out',
    'tsa.pem',
  ]);
  writeFileSync(join(d, 'serial'), '01\n');
  writeFileSync(
    join(d, 'tsa.cnf'),
    `[tsa]\ndefault_tsa=t\n[t]\ndir=${d}\nserial=${join(d, 'serial')}\nsigner_cert=${join(d, 'tsa.pem')}\nsigner_key=${
      join(d, 'tsa.key')
    }\ncerts=${
      join(d, 'tsa.pem')
    }\nsigner_digest=sha256\ndefault_policy=1.2.3.4.1\nother_policies=1.2.3.4.2\ndigests=sha256,sha384,sha512\naccuracy=secs:1\nordering=no\ntsa_name=no\ness_cert_id_chain=no\ness_cert_id_alg=sha256\n`,
  );
  let n = 0;
  const reply = (query: Uint8Array, token: boolean): Uint8Array => {
    const q = join(d, `q${n}.tsq`);
    const r = join(d, `r${n++}.tsr`);
    writeFileSync(q, query);
    ssl(['ts', '-reply', '-config', join(d, 'tsa.cnf'), '-queryfile', q, '-out', r, ...(token ? ['-token_out'] : [])]);
    return new Uint8Array(readFileSync(r));
  };
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      try {
        const body = reply(Buffer.concat(chunks), false);
        res.writeHead(200, { 'content-type': 'application/timestamp-reply' }).end(body);
      } catch (e) {
        res.writeHead(500).end(String(e));
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  return {
    url: `http://127.0.0.1:${port}`,
    rootPem: readFileSync(join(d, 'root.pem'), 'utf8'),
    stamp: (data) => {
      const f = join(d, `data${n}`);
      writeFileSync(f, data);
      const q = join(d, `dq${n}.tsq`);
      ssl(['ts', '-query', '-data', f, '-sha256', '-cert', '-out', q]);
      return reply(new Uint8Array(readFileSync(q)), true);
    },
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
