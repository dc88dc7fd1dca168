// Kyverno's CEL function library for ImageValidatingPolicy, on sigward's CEL
// interface (lib/conditions/cel.ts):
//   - image references: parseImageReference(s) (deprecated alias image(s))
//     with .registry() .repository() .identifier() .tag() .digest()
//     .containsDigest(); isImage(s);
//   - verification: verifyImageSignatures(image, [attestors...]) -> int,
//     verifyAttestationSignatures(image, attestation, [attestors...]) -> int,
//     extractPayload(image, attestation) -> the verified predicate,
//     getImageData(image).
// CEL is synchronous and verification is not: the verification functions ask
// the active IvSession (set with withIvSession around one evaluation), which
// answers from results it already has and records what it still has to do
// (lib/engine/ivpol.ts evaluates in rounds until nothing is pending).

import { SigwardError } from '../errors.ts';
import { parseReference } from '../reference/index.ts';
import type { CelFunctionDecl } from './cel-engine.ts';
import type { CelFunctionLibrary } from './cel.ts';

/** What the verification functions ask during one evaluation. Methods may throw (a CEL error). */
export interface IvSession {
  verifyImageSignatures(image: string, attestors: string[]): bigint;
  verifyAttestationSignatures(image: string, attestation: string, attestors: string[]): bigint;
  extractPayload(image: string, attestation: string): unknown;
  getImageData(image: string): unknown;
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
  if (!active) throw new Error(`${fn}: image verification functions are only available in ImageValidatingPolicy validations`);
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
    const name = a instanceof Map ? a.get('name') : typeof a === 'object' && a !== null ? (a as Record<string, unknown>)['name'] : undefined;
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
    throw new SigwardError('REFERENCE_INVALID', `invalid image reference ${JSON.stringify(s)}: ${e instanceof Error ? e.message : String(e)}`);
  }
  if (r.transport !== 'registry') throw new SigwardError('REFERENCE_INVALID', `invalid image reference ${JSON.stringify(s)}`);
  const registry = r.registry === 'docker.io' ? 'index.docker.io' : r.registry;
  const digest = r.digest ?? '';
  const tag = r.tag ?? (digest ? '' : 'latest');
  return { registry, repository: r.repository, tag, digest, identifier: digest || tag };
}

function refOf(v: unknown, method: string): Map<unknown, unknown> {
  if (!(v instanceof Map) || v.get(IMAGE_REF_MARKER) !== true) throw new Error(`no such overload: ${method}() applies to parseImageReference(...)`);
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
  { name: 'verifyImageSignatures', arity: 2, impl: (img, atts) => session('verifyImageSignatures').verifyImageSignatures(str(img, 'image'), attestorNames(atts)) },
  {
    name: 'verifyAttestationSignatures',
    arity: 3,
    impl: (img, att, atts) => session('verifyAttestationSignatures').verifyAttestationSignatures(str(img, 'image'), attestationName(att), attestorNames(atts)),
  },
  { name: 'extractPayload', arity: 2, impl: (img, att) => session('extractPayload').extractPayload(str(img, 'image'), attestationName(att)) },
  { name: 'getImageData', arity: 1, impl: (img) => session('getImageData').getImageData(str(img, 'image')) },
];

/** The library to pass as `compileCel(expr, { library })`. */
export const KYVERNO_IMAGE_LIBRARY: CelFunctionLibrary = Object.freeze({ id: 'kyverno-ivpol', functions: Object.freeze(functions) });
