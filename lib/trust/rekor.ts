// Rekor material carried next to legacy cosign signatures: the "SET bundle"
// annotation, its signed entry timestamp, and the binding between a Rekor
// entry body and the signature it is supposed to log.

import type { KeyObject } from 'node:crypto';
import type { TransparencyLogEntry } from '@sigstore/bundle';
import { crypto as score, json, type X509Certificate } from '@sigstore/core';
import type { TrustMaterial } from '@sigstore/verify';
import { SigwardError } from '../errors.ts';
import { errText, getPEMBlocks, toCertificate, toPublicKey, toSPKI } from './keys.ts';

type TLogAuthority = TrustMaterial['tlogs'][number];

/** The dev.sigstore.cosign/bundle annotation (Go field casing). */
export interface RekorSETBundle {
  SignedEntryTimestamp: string;
  Payload: { body: string; integratedTime: number; logIndex: number; logID: string };
}

/** Parses the annotation; throws TLOG_INVALID when malformed. */
export function parseRekorBundle(text: string): RekorSETBundle {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw new SigwardError('TLOG_INVALID', `transparency log bundle is not valid JSON: ${errText(e)}`, { cause: e });
  }
  const b = v as Partial<RekorSETBundle>;
  const p = b?.Payload as Partial<RekorSETBundle['Payload']> | undefined;
  if (
    typeof b?.SignedEntryTimestamp !== 'string' ||
    !p ||
    typeof p.body !== 'string' ||
    !Number.isSafeInteger(p.integratedTime) ||
    !Number.isSafeInteger(p.logIndex) ||
    typeof p.logID !== 'string' ||
    !/^[0-9a-fA-F]+$/.test(p.logID)
  ) {
    throw new SigwardError(
      'TLOG_INVALID',
      'transparency log bundle is malformed (SignedEntryTimestamp, Payload.body/integratedTime/logIndex/logID)',
    );
  }
  return b as RekorSETBundle;
}

/** The Rekor entry body (decoded Payload.body). */
export function getRekorBody(set: RekorSETBundle): { raw: Buffer; body: RekorBody } {
  const raw = Buffer.from(set.Payload.body, 'base64');
  let body: RekorBody;
  try {
    body = JSON.parse(raw.toString('utf8'));
  } catch (e) {
    throw new SigwardError('TLOG_INVALID', `transparency log entry body is not valid JSON: ${errText(e)}`, {
      cause: e,
    });
  }
  if (typeof body?.kind !== 'string' || typeof body?.apiVersion !== 'string') {
    throw new SigwardError('TLOG_INVALID', 'transparency log entry body has no kind/apiVersion');
  }
  return { raw, body };
}

/**
 * Verifies the signed entry timestamp with the trusted Rekor key whose log id
 * matches and whose validity covers the integrated time. Returns that log.
 */
export function verifyRekorSET(set: RekorSETBundle, tlogs: TLogAuthority[]): TLogAuthority {
  const logID = Buffer.from(set.Payload.logID, 'hex');
  const when = new Date(set.Payload.integratedTime * 1000);
  const candidates = tlogs.filter((t) => t.logID.equals(logID) && t.validFor.start <= when && when <= t.validFor.end);
  if (candidates.length === 0) {
    throw new SigwardError(
      'TLOG_INVALID',
      `transparency log ${set.Payload.logID} is not trusted at ${when.toISOString()} (no matching Rekor key in the trust root)`,
    );
  }
  const data = Buffer.from(
    json.canonicalize({
      body: set.Payload.body,
      integratedTime: set.Payload.integratedTime,
      logID: set.Payload.logID,
      logIndex: set.Payload.logIndex,
    }),
    'utf8',
  );
  const sig = Buffer.from(set.SignedEntryTimestamp, 'base64');
  // explicit digest: Deno's node:crypto has no default digest for EC keys
  const log = candidates.find((t) =>
    score.verify(data, t.publicKey, sig, t.publicKey.asymmetricKeyType === 'ed25519' ? undefined : 'sha256')
  );
  if (!log) {
    throw new SigwardError('TLOG_INVALID', 'transparency log signed entry timestamp (SET) is invalid');
  }
  return log;
}

/** A @sigstore/bundle tlog entry (inclusion promise only) from the annotation. */
export function toTLogEntry(set: RekorSETBundle, body: RekorBody): TransparencyLogEntry {
  return {
    logIndex: String(set.Payload.logIndex),
    logId: { keyId: Buffer.from(set.Payload.logID, 'hex') },
    kindVersion: { kind: body.kind, version: body.apiVersion },
    integratedTime: String(set.Payload.integratedTime),
    inclusionPromise: { signedEntryTimestamp: Buffer.from(set.SignedEntryTimestamp, 'base64') },
    inclusionProof: undefined,
    canonicalizedBody: Buffer.from(set.Payload.body, 'base64'),
  };
}

/** Entry kinds @sigstore/verify can check against a signature. */
export function isSupportedBySigstoreJS(body: RekorBody): boolean {
  const k = `${body.kind}/${body.apiVersion}`;
  return ['hashedrekord/0.0.1', 'hashedrekord/0.0.2', 'dsse/0.0.1', 'dsse/0.0.2', 'intoto/0.0.2'].includes(k);
}

// Loose shapes of the Rekor entry kinds (rekor pkg/types/*).
export interface RekorBody {
  kind: string;
  apiVersion: string;
  spec?: any;
}

type Hash = { algorithm: string; hex: string };

/** What an entry body says about the logged signature. */
export interface RekorBodyFacts {
  kind: string;
  version: string;
  /** signature bytes in the entry (none for intoto 0.0.1) */
  signatures: Buffer[];
  /** verification material in the entry: certificates and/or public keys */
  verifiers: { certificate?: X509Certificate; key: KeyObject }[];
  /** hashedrekord / rekord: hash of the signed data */
  dataHash?: Hash;
  /** dsse / intoto: hash of the DSSE payload */
  payloadHash?: Hash;
  /** intoto 0.0.1: hash of the whole envelope */
  envelopeHash?: Hash;
}

const b64 = (s: unknown): Buffer => (typeof s === 'string' ? Buffer.from(s, 'base64') : Buffer.alloc(0));

function pemVerifier(b64pem: unknown): RekorBodyFacts['verifiers'][number] {
  const text = b64(b64pem).toString('utf8');
  const cert = getPEMBlocks(text).find((b) => b.type === 'CERTIFICATE');
  if (cert) {
    const c = toCertificate(cert.der);
    return { certificate: c, key: toPublicKey(c.publicKey) };
  }
  return { key: toPublicKey(text) };
}

function protoVerifier(v: any): RekorBodyFacts['verifiers'][number] {
  if (v?.x509Certificate?.rawBytes) {
    const c = toCertificate(b64(v.x509Certificate.rawBytes));
    return { certificate: c, key: toPublicKey(c.publicKey) };
  }
  return { key: toPublicKey(b64(v?.publicKey?.rawBytes)) };
}

function hexHash(h: any): Hash | undefined {
  return h && typeof h.value === 'string'
    ? { algorithm: String(h.algorithm ?? ''), hex: h.value.toLowerCase() }
    : undefined;
}

function protoHash(h: any): Hash | undefined {
  if (!h || typeof h.digest !== 'string') return undefined;
  const alg = h.algorithm === 'SHA2_256' ? 'sha256' : String(h.algorithm ?? '');
  return { algorithm: alg, hex: b64(h.digest).toString('hex') };
}

/** Extracts the facts of the entry kinds cosign and Sigstore clients write. */
export function getRekorBodyFacts(body: RekorBody): RekorBodyFacts {
  const s = body.spec ?? {};
  const facts: RekorBodyFacts = { kind: body.kind, version: body.apiVersion, signatures: [], verifiers: [] };
  try {
    switch (`${body.kind}/${body.apiVersion}`) {
      case 'hashedrekord/0.0.1':
      case 'rekord/0.0.1':
        facts.signatures.push(b64(s.signature?.content));
        facts.verifiers.push(pemVerifier(s.signature?.publicKey?.content));
        facts.dataHash = hexHash(s.data?.hash);
        break;
      case 'intoto/0.0.1':
        facts.verifiers.push(pemVerifier(s.publicKey));
        facts.envelopeHash = hexHash(s.content?.hash);
        facts.payloadHash = hexHash(s.content?.payloadHash);
        break;
      case 'intoto/0.0.2':
        for (const sig of s.content?.envelope?.signatures ?? []) {
          // intoto 0.0.2 stores the signature base64-encoded twice
          facts.signatures.push(Buffer.from(b64(sig.sig).toString('utf8'), 'base64'));
          facts.verifiers.push(pemVerifier(sig.publicKey));
        }
        facts.payloadHash = hexHash(s.content?.payloadHash);
        facts.envelopeHash = hexHash(s.content?.hash);
        break;
      case 'dsse/0.0.1':
        for (const sig of s.signatures ?? []) {
          facts.signatures.push(b64(sig.signature));
          facts.verifiers.push(pemVerifier(sig.verifier));
        }
        facts.payloadHash = hexHash(s.payloadHash);
        break;
      case 'hashedrekord/0.0.2': {
        const h = s.hashedRekordV002 ?? {};
        facts.signatures.push(b64(h.signature?.content));
        facts.verifiers.push(protoVerifier(h.signature?.verifier));
        facts.dataHash = protoHash(h.data);
        break;
      }
      case 'dsse/0.0.2': {
        const d = s.dsseV002 ?? {};
        for (const sig of d.signatures ?? []) {
          facts.signatures.push(b64(sig.content));
          facts.verifiers.push(protoVerifier(sig.verifier));
        }
        facts.payloadHash = protoHash(d.payloadHash);
        break;
      }
      default:
        throw new SigwardError(
          'TLOG_INVALID',
          `unsupported transparency log entry kind ${body.kind} ${body.apiVersion}`,
        );
    }
  } catch (e) {
    if (e instanceof SigwardError && e.code === 'TLOG_INVALID') throw e;
    throw new SigwardError('TLOG_INVALID', `transparency log entry body is malformed: ${errText(e)}`, { cause: e });
  }
  return facts;
}

/** What the entry must match. Omitted fields are not checked. */
export interface RekorBindingExpectation {
  /** the signature bytes that were verified */
  signature?: Buffer;
  /** keyless: the leaf certificate (compared byte for byte) */
  certificate?: X509Certificate;
  /** keyed: the public key (compared as SPKI; a certificate in the entry matches by its key) */
  key?: KeyObject;
  /** sha256 of the signed bytes (message signatures) */
  dataSHA256?: Buffer;
  /** sha256 of the DSSE payload */
  payloadSHA256?: Buffer;
  /** sha256 of the DSSE envelope bytes (intoto 0.0.1) */
  envelopeSHA256?: Buffer;
}

/**
 * Checks that the Rekor entry logs THIS signature by THIS signer over THIS
 * content (cosign's bundle checks; @sigstore/verify compares neither the
 * key nor, for some kinds, the content). Throws TLOG_INVALID.
 */
export function verifyRekorBodyBinding(facts: RekorBodyFacts, exp: RekorBindingExpectation): void {
  const fail = (what: string) => {
    throw new SigwardError(
      'TLOG_INVALID',
      `transparency log entry is for another ${what} (${facts.kind} ${facts.version})`,
    );
  };
  if (
    exp.signature && facts.signatures.length > 0 && !facts.signatures.some((s) => s.equals(exp.signature as Buffer))
  ) {
    fail('signature');
  }
  if (exp.signature && facts.signatures.length === 0 && !facts.envelopeHash) fail('signature');
  if (exp.certificate) {
    const cert = exp.certificate;
    if (!facts.verifiers.some((v) => v.certificate?.equals(cert))) fail('certificate');
  } else if (exp.key) {
    const spki = toSPKI(exp.key);
    if (!facts.verifiers.some((v) => toSPKI(v.key).equals(spki))) fail('public key');
  }
  const checkHash = (h: Hash | undefined, want: Buffer | undefined, what: string) => {
    if (!want) return;
    if (!h) fail(what);
    if (h!.algorithm !== 'sha256' || h!.hex !== want.toString('hex')) fail(what);
  };
  if (facts.kind === 'hashedrekord' || facts.kind === 'rekord') checkHash(facts.dataHash, exp.dataSHA256, 'artifact');
  if (facts.kind === 'dsse' || facts.kind === 'intoto') checkHash(facts.payloadHash, exp.payloadSHA256, 'payload');
  if (facts.envelopeHash && exp.envelopeSHA256) checkHash(facts.envelopeHash, exp.envelopeSHA256, 'envelope');
  if (facts.kind === 'intoto' && facts.version === '0.0.1' && !exp.envelopeSHA256) fail('envelope');
}

/**
 * An inclusion proof must be about the tree its signed checkpoint names.
 * @sigstore/verify checks the Merkle path against the checkpoint's size and
 * root hash and ignores the proof's own `treeSize` and `rootHash`; a bundle
 * whose proof claims another tree contradicts itself and is refused (as
 * sigstore-go refuses a `rootHash` that is not the checkpoint's). Call after
 * the checkpoint signature was verified. Throws TLOG_INVALID.
 */
export function verifyInclusionProofCheckpoint(entry: TransparencyLogEntry): void {
  const proof = entry.inclusionProof;
  if (!proof) return;
  const envelope = proof.checkpoint?.envelope ?? '';
  const end = envelope.indexOf('\n\n');
  // the note body: origin, tree size (decimal), root hash (base64), optional extension lines
  const lines = (end >= 0 ? envelope.slice(0, end) : envelope).split('\n');
  const size = lines[1] ?? '';
  const root = Buffer.from(lines[2] ?? '', 'base64');
  if (!/^\d+$/.test(size) || root.length === 0) {
    throw new SigwardError('TLOG_INVALID', 'transparency log checkpoint is malformed');
  }
  if (String(proof.treeSize) !== size) {
    throw new SigwardError(
      'TLOG_INVALID',
      `inclusion proof is for a tree of size ${String(proof.treeSize)}, its signed checkpoint for size ${size}`,
    );
  }
  if (!Buffer.from(proof.rootHash).equals(root)) {
    throw new SigwardError(
      'TLOG_INVALID',
      `inclusion proof root hash ${Buffer.from(proof.rootHash).toString('hex')} is not the signed checkpoint's ${
        root.toString('hex')
      }`,
    );
  }
}
