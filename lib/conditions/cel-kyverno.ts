// Kyverno's CEL function library for ImageValidatingPolicy, on sigward's CEL
// interface (lib/conditions/cel.ts):
//   - image references: parseImageReference(s) (deprecated alias image(s))
//     with .registry() .repository() .identifier() .tag() .digest()
//     .containsDigest(); isImage(s);
//   - verification: verifyImageSignatures(image, [attestors...]) -> int,
//     verifyAttestationSignatures(image, attestation, [attestors...]) -> int,
//     extractPayload(image, attestation) -> the verified predicate,
//     getImageData(image);
//   - the libraries Kyverno adds that need nothing but their arguments:
//     json.unmarshal(s), yaml.parse(s), x509.decode(pem), sha1(s), sha256(s),
//     md5(s), math.round(x, digits), time_now(), time_now_utc(),
//     time_parse(layout, value), time_add(ts, duration), time_diff(t1, t2),
//     time_before(t1, t2), time_after(t1, t2);
//   - those that need the network or a cluster (http.*, resource.*,
//     globalContext.Get, image.GetMetadata) are declared unavailable, so a
//     policy using them fails to compile with an error naming the function.
// CEL is synchronous and verification is not: the verification functions ask
// the active IvSession (set with withIvSession around one evaluation), which
// answers from results it already has and records what it still has to do
// (lib/engine/ivpol.ts evaluates in rounds until nothing is pending).

import { createHash, X509Certificate } from 'node:crypto';
import { parse as parseYaml } from 'yaml';
import { SigwardError } from '../errors.ts';
import { parseReference } from '../reference/index.ts';
import { formatGoDuration, parseGoDuration } from './go-duration.ts';
import { formatRFC3339, fromDate, parseRFC3339, parseTimeWithLayout } from './go-time.ts';
import type { CelFunctionDecl } from './cel-engine.ts';
import type { CelFunctionLibrary } from './cel.ts';

/** What the verification functions ask during one evaluation. Methods may throw (a CEL error). */
export interface IvSession {
  verifyImageSignatures(image: string, attestors: string[]): bigint;
  verifyAttestationSignatures(image: string, attestation: string, attestors: string[]): bigint;
  extractPayload(image: string, attestation: string): unknown;
  getImageData(image: string): unknown;
  /** The evaluation clock (time_now); default: the system clock. */
  now?(): Date;
}

let active: IvSession | undefined;

/** Runs fn (a synchronous CEL evaluation) with `session` answering the verification functions. */
export function withIvSession<T>(session: IvSession, fn: () => T): T {
  const previous = active;
  active = session;
  try {
    return fn();
  } finally {
    active = previous;
  }
}

function session(fn: string): IvSession {
  if (!active) {
    throw new Error(`${fn}: image verification functions are only available in ImageValidatingPolicy validations`);
  }
  return active;
}

function str(v: unknown, what: string): string {
  if (typeof v !== 'string') throw new Error(`${what} must be a string`);
  return v;
}

/** Attestor arguments: `attestors.x` (a map with `name`) or a name. */
function attestorNames(v: unknown): string[] {
  if (!Array.isArray(v)) throw new Error('attestors must be a list (e.g. [attestors.key])');
  return v.map((a) => {
    if (typeof a === 'string') return a;
    const name = a instanceof Map
      ? a.get('name')
      : typeof a === 'object' && a !== null
      ? (a as Record<string, unknown>)['name']
      : undefined;
    if (typeof name !== 'string') throw new Error('attestors must be entries of the attestors variable');
    return name;
  });
}

/** Attestation arguments: `attestations.x` (its name) or a map with `name`. */
function attestationName(v: unknown): string {
  if (typeof v === 'string') return v;
  const name = v instanceof Map ? v.get('name') : undefined;
  if (typeof name !== 'string') throw new Error('attestation must be an entry of the attestations variable');
  return name;
}

// ---------------------------------------------------------------------------
// Image references, as go-containerregistry's name.ParseReference sees them

const IMAGE_REF_MARKER = '__sigwardImageReference';

export interface CelImageReference {
  registry: string;
  repository: string;
  tag: string;
  digest: string;
  identifier: string;
}

/** Parses an image reference as Kyverno's CEL library does (Docker Hub is `index.docker.io`, `library/` added). */
export function toCelImageReference(s: string): CelImageReference {
  let r;
  try {
    r = parseReference(s);
  } catch (e) {
    throw new SigwardError(
      'REFERENCE_INVALID',
      `invalid image reference ${JSON.stringify(s)}: ${e instanceof Error ? e.message : String(e)}`,
    );
  }
  if (r.transport !== 'registry') {
    throw new SigwardError('REFERENCE_INVALID', `invalid image reference ${JSON.stringify(s)}`);
  }
  const registry = r.registry === 'docker.io' ? 'index.docker.io' : r.registry;
  const digest = r.digest ?? '';
  const tag = r.tag ?? (digest ? '' : 'latest');
  return { registry, repository: r.repository, tag, digest, identifier: digest || tag };
}

function refOf(v: unknown, method: string): Map<unknown, unknown> {
  if (!(v instanceof Map) || v.get(IMAGE_REF_MARKER) !== true) {
    throw new Error(`no such overload: ${method}() applies to parseImageReference(...)`);
  }
  return v;
}

function parseImageReferenceValue(v: unknown): Map<string, unknown> {
  const r = toCelImageReference(str(v, 'image reference'));
  return new Map<string, unknown>([
    [IMAGE_REF_MARKER, true],
    ['registry', r.registry],
    ['repository', r.repository],
    ['tag', r.tag],
    ['digest', r.digest],
    ['identifier', r.identifier],
  ]);
}

const referenceMethod = (name: 'registry' | 'repository' | 'tag' | 'digest' | 'identifier'): CelFunctionDecl => ({
  name,
  arity: 0,
  member: true,
  impl: (target) => refOf(target, name).get(name),
});

const functions: CelFunctionDecl[] = [
  { name: 'parseImageReference', arity: 1, impl: parseImageReferenceValue },
  { name: 'image', arity: 1, impl: parseImageReferenceValue },
  {
    name: 'isImage',
    arity: 1,
    impl: (v) => {
      try {
        toCelImageReference(str(v, 'image'));
        return true;
      } catch {
        return false;
      }
    },
  },
  referenceMethod('registry'),
  referenceMethod('repository'),
  referenceMethod('tag'),
  referenceMethod('digest'),
  referenceMethod('identifier'),
  { name: 'containsDigest', arity: 0, member: true, impl: (t) => refOf(t, 'containsDigest').get('digest') !== '' },
  {
    name: 'verifyImageSignatures',
    arity: 2,
    impl: (img, atts) => session('verifyImageSignatures').verifyImageSignatures(str(img, 'image'), attestorNames(atts)),
  },
  {
    name: 'verifyAttestationSignatures',
    arity: 3,
    impl: (img, att, atts) =>
      session('verifyAttestationSignatures').verifyAttestationSignatures(
        str(img, 'image'),
        attestationName(att),
        attestorNames(atts),
      ),
  },
  {
    name: 'extractPayload',
    arity: 2,
    impl: (img, att) => session('extractPayload').extractPayload(str(img, 'image'), attestationName(att)),
  },
  { name: 'getImageData', arity: 1, impl: (img) => session('getImageData').getImageData(str(img, 'image')) },
];

// ---------------------------------------------------------------------------
// Offline libraries: json, yaml, x509, hash, math, time

const MAX_DOCUMENT = 10 * 1024 * 1024;

function document(v: unknown, fn: string): string {
  const s = str(v, `${fn} argument`);
  if (s.length > MAX_DOCUMENT) throw new Error(`${fn}: document larger than ${MAX_DOCUMENT} characters`);
  return s;
}

function jsonUnmarshal(v: unknown): unknown {
  try {
    return JSON.parse(document(v, 'json.unmarshal'));
  } catch (e) {
    throw new Error(`json.unmarshal: ${e instanceof Error ? e.message : String(e)}`);
  }
}

function yamlParse(v: unknown): unknown {
  let doc: unknown;
  try {
    doc = parseYaml(document(v, 'yaml.parse'), { maxAliasCount: 100, prettyErrors: false });
  } catch (e) {
    throw new Error(`yaml.parse: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}`);
  }
  // as Kyverno decodes YAML: to JSON values (numbers are doubles, keys strings)
  return doc === undefined ? null : JSON.parse(JSON.stringify(doc));
}

const hash = (alg: string, fn: string) => (v: unknown) =>
  createHash(alg).update(str(v, `${fn} argument`), 'utf8').digest('hex');

/** Go's pkix.Name as Kyverno's x509.decode shows it. */
function pkixName(text: string): Record<string, unknown> {
  const attrs = new Map<string, string[]>();
  for (const line of text.split('\n')) {
    const i = line.indexOf('=');
    if (i <= 0) continue;
    const k = line.slice(0, i);
    attrs.set(k, [...(attrs.get(k) ?? []), line.slice(i + 1)]);
  }
  const list = (k: string) => attrs.get(k) ?? null;
  return {
    Country: list('C'),
    Organization: list('O'),
    OrganizationalUnit: list('OU'),
    Locality: list('L'),
    Province: list('ST'),
    StreetAddress: list('street'),
    PostalCode: list('postalCode'),
    SerialNumber: attrs.get('serialNumber')?.[0] ?? '',
    CommonName: attrs.get('CN')?.[0] ?? '',
  };
}

function rfc3339(date: string): string {
  return formatRFC3339(fromDate(new Date(date)));
}

function b64url(s: string): Buffer {
  return Buffer.from(s, 'base64url');
}

/** x509.decode: the fields of Go's x509.Certificate that Kyverno returns and node:crypto exposes. */
function x509Decode(v: unknown): unknown {
  const pem = str(v, 'x509.decode argument');
  const m = /-----BEGIN ([A-Z ]+)-----([\s\S]*?)-----END \1-----/.exec(pem);
  if (!m) throw new Error('failed to decode PEM block');
  if (m[1] === 'CERTIFICATE REQUEST') throw new Error('x509.decode: certificate requests are not supported by sigward');
  if (m[1] !== 'CERTIFICATE') throw new Error('PEM block neither contains a CERTIFICATE or CERTIFICATE REQUEST');
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(Buffer.from(m[2].replace(/\s+/g, ''), 'base64'));
  } catch (e) {
    throw new Error(`x509.decode: ${e instanceof Error ? e.message : String(e)}`);
  }
  const key = cert.publicKey;
  if (key.asymmetricKeyType !== 'rsa') throw new Error('certificate should use rsa algorithm');
  const jwk = key.export({ format: 'jwk' }) as { n: string; e: string };
  const san = (cert.subjectAltName ?? '').split(/,\s*/).filter(Boolean);
  const names = (prefix: string) => {
    const out = san.filter((x) => x.startsWith(prefix)).map((x) => x.slice(prefix.length));
    return out.length ? out : null;
  };
  return {
    Raw: cert.raw.toString('base64'),
    RawSubjectPublicKeyInfo: (key.export({ type: 'spki', format: 'der' }) as Buffer).toString('base64'),
    PublicKeyAlgorithm: 1,
    PublicKey: {
      N: BigInt('0x' + b64url(jwk.n).toString('hex')).toString(),
      E: Number(BigInt('0x' + b64url(jwk.e).toString('hex'))),
    },
    SerialNumber: Number(BigInt.asIntN(64, BigInt('0x' + cert.serialNumber))), // Go's big.Int.Int64()
    Subject: pkixName(cert.subject),
    Issuer: pkixName(cert.issuer),
    NotBefore: rfc3339(cert.validFrom),
    NotAfter: rfc3339(cert.validTo),
    IsCA: cert.ca,
    BasicConstraintsValid: cert.ca,
    DNSNames: names('DNS:'),
    EmailAddresses: names('email:'),
    IPAddresses: names('IP Address:'),
    URIs: names('URI:'),
  };
}

function kyvernoRound(x: unknown, digits: unknown): number {
  if (typeof x !== 'number' || typeof digits !== 'bigint') {
    throw new Error('no matching overload for math.round: (double, int) expected');
  }
  const p = 10 ** Number(digits);
  const v = x * p;
  const t = Math.trunc(v);
  return (Math.abs(v - t) >= 0.5 ? t + Math.sign(v) : t) / p;
}

function rfcTime(v: unknown, what: string) {
  return parseRFC3339(str(v, what));
}

function nowDate(): Date {
  return active?.now?.() ?? new Date();
}

function timeAdd(ts: unknown, d: unknown): string {
  const t = rfcTime(ts, 'timestamp');
  const ns = parseGoDuration(str(d, 'duration'));
  if (ns === undefined) throw new Error(`time: invalid duration ${JSON.stringify(d)}`);
  return formatRFC3339({ ns: t.ns + ns, offset: t.offset });
}

const unavailable = (name: string, why: string): CelFunctionDecl => ({
  name,
  arity: 0,
  unavailable: why,
  impl: () => {
    throw new Error(`${name} is not available: ${why}`);
  },
});
const OFFLINE = 'sigward evaluates policies offline and does not call arbitrary hosts';
const NO_CLUSTER = 'sigward does not read live cluster resources';

const offline: CelFunctionDecl[] = [
  { name: 'json.unmarshal', arity: 1, impl: jsonUnmarshal },
  { name: 'yaml.parse', arity: 1, impl: yamlParse },
  { name: 'x509.decode', arity: 1, impl: x509Decode },
  { name: 'sha1', arity: 1, impl: hash('sha1', 'sha1') },
  { name: 'sha256', arity: 1, impl: hash('sha256', 'sha256') },
  { name: 'md5', arity: 1, impl: hash('md5', 'md5') },
  { name: 'math.round', arity: 2, impl: kyvernoRound },
  { name: 'time_now', arity: 0, impl: () => formatRFC3339(fromDate(nowDate())) },
  { name: 'time_now_utc', arity: 0, impl: () => formatRFC3339(fromDate(nowDate())) },
  {
    name: 'time_parse',
    arity: 2,
    impl: (layout, value) => formatRFC3339(parseTimeWithLayout(str(layout, 'layout'), str(value, 'value'))),
  },
  { name: 'time_add', arity: 2, impl: timeAdd },
  {
    name: 'time_diff',
    arity: 2,
    impl: (a, b) => formatGoDuration(rfcTime(b, 'second timestamp').ns - rfcTime(a, 'first timestamp').ns),
  },
  {
    name: 'time_before',
    arity: 2,
    impl: (a, b) => rfcTime(a, 'first timestamp').ns < rfcTime(b, 'second timestamp').ns,
  },
  {
    name: 'time_after',
    arity: 2,
    impl: (a, b) => rfcTime(a, 'first timestamp').ns > rfcTime(b, 'second timestamp').ns,
  },
  unavailable('http.Get', OFFLINE),
  unavailable('http.Post', OFFLINE),
  unavailable('http.Client', OFFLINE),
  unavailable('resource.Get', NO_CLUSTER),
  unavailable('resource.List', NO_CLUSTER),
  unavailable('resource.Post', NO_CLUSTER),
  unavailable('globalContext.Get', 'sigward has no Kyverno global context entries'),
  unavailable('image.GetMetadata', 'use getImageData(image) in an ImageValidatingPolicy'),
];

/** Variables of an ImageValidatingPolicy's matchConditions. */
export const IVPOL_MATCH_VARIABLES: readonly string[] = Object.freeze([
  'object',
  'oldObject',
  'request',
  'namespaceObject',
]);
/** Variables of its variables, images and validations. */
export const IVPOL_VARIABLES: readonly string[] = Object.freeze([
  ...IVPOL_MATCH_VARIABLES,
  'images',
  'attestors',
  'attestations',
  'variables',
]);

/** The library to pass as `compileCel(expr, { library })`. */
export const KYVERNO_IMAGE_LIBRARY: CelFunctionLibrary = Object.freeze({
  id: 'kyverno-ivpol',
  functions: Object.freeze([...functions, ...offline]),
});
