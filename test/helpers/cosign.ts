// Test setup helpers: real keys, real cosign-format signatures pushed to a
// real store (registry or OCI layout). Nothing here verifies anything.

import { generateKeyPairSync, type KeyObject, sign as cryptoSign } from 'node:crypto';
import { attachLayer } from '../../lib/cosign/attach.ts';
import { ANNOTATION } from '../../lib/cosign/annotations.ts';
import { makeSimpleSigningPayload } from '../../lib/cosign/payload.ts';
import { publicKeyPem } from '../../lib/cosign/privatekey.ts';
import type { OciStore, RepositoryRef } from '../../lib/oci/types.ts';

export type KeyKind = 'ecdsa-p256' | 'ecdsa-p384' | 'ecdsa-p521' | 'rsa' | 'ed25519';

export interface TestKey {
  kind: KeyKind;
  privateKey: KeyObject;
  publicKey: KeyObject;
  publicPem: string;
}

export function makeKey(kind: KeyKind = 'ecdsa-p256'): TestKey {
  let pair: { privateKey: KeyObject; publicKey: KeyObject };
  switch (kind) {
    case 'ecdsa-p256':
      pair = generateKeyPairSync('ec', { namedCurve: 'P-256' });
      break;
    case 'ecdsa-p384':
      pair = generateKeyPairSync('ec', { namedCurve: 'P-384' });
      break;
    case 'ecdsa-p521':
      pair = generateKeyPairSync('ec', { namedCurve: 'P-521' });
      break;
    case 'rsa':
      pair = generateKeyPairSync('rsa', { modulusLength: 2048 });
      break;
    case 'ed25519':
      pair = generateKeyPairSync('ed25519');
      break;
  }
  return { kind, ...pair, publicPem: publicKeyPem(pair.publicKey) };
}

/** Signs bytes as cosign does: SHA-256 (ECDSA DER / RSA PKCS#1 v1.5), Ed25519 over the message. */
export function signBytes(key: TestKey | KeyObject, data: Uint8Array, hash = 'sha256'): Buffer {
  const k = 'privateKey' in key ? key.privateKey : key;
  return cryptoSign(k.asymmetricKeyType === 'ed25519' ? null : hash, data, k);
}

export interface SignImageOptions {
  store: OciStore;
  /** repository the signature goes to (the image's, or an override) */
  repository: RepositoryRef;
  digest: string;
  key: TestKey | KeyObject;
  /** docker-reference written in the payload */
  identity?: string;
  annotations?: Record<string, string> | null;
  /** sign these bytes instead of a correct payload (tampering tests) */
  payload?: Uint8Array;
  extraAnnotations?: Record<string, string>;
  hash?: string;
}

/** Signs `digest` and appends the signature layer under `sha256-<hex>.sig`. Returns the payload. */
export async function signImage(o: SignImageOptions): Promise<{ payload: Uint8Array; signatureB64: string }> {
  const payload = o.payload ??
    makeSimpleSigningPayload(
      o.identity ?? `${o.repository.registry}/${o.repository.repository}`,
      o.digest,
      o.annotations ?? null,
    );
  const signatureB64 = signBytes(o.key, payload, o.hash).toString('base64');
  await attachLayer({
    store: o.store,
    repository: o.repository,
    digest: o.digest,
    suffix: 'sig',
    payload,
    annotations: { [ANNOTATION.signature]: signatureB64, ...o.extraAnnotations },
  });
  return { payload, signatureB64 };
}

export interface AttestOptions {
  store: OciStore;
  repository: RepositoryRef;
  digest: string;
  key: TestKey | KeyObject;
  predicateType: string;
  predicate: unknown;
  statementType?: string;
  /** override the statement subject digest (attack tests) */
  subjectDigest?: string;
  payloadType?: string;
}

/** Makes a DSSE-signed in-toto statement as `cosign attest --key` does and appends it under `sha256-<hex>.att`. */
export async function attestImage(o: AttestOptions): Promise<Uint8Array> {
  const subjectHex = (o.subjectDigest ?? o.digest).replace(/^sha256:/, '');
  const statement = {
    _type: o.statementType ?? 'https://in-toto.io/Statement/v0.1',
    predicateType: o.predicateType,
    subject: [{ name: `${o.repository.registry}/${o.repository.repository}`, digest: { sha256: subjectHex } }],
    predicate: o.predicate,
  };
  const payload = Buffer.from(JSON.stringify(statement));
  const payloadType = o.payloadType ?? 'application/vnd.in-toto+json';
  const pae = Buffer.concat([
    Buffer.from(`DSSEv1 ${Buffer.byteLength(payloadType)} ${payloadType} ${payload.length} `),
    payload,
  ]);
  const envelope = Buffer.from(
    JSON.stringify({
      payloadType,
      payload: payload.toString('base64'),
      signatures: [{ keyid: '', sig: signBytes(o.key, pae).toString('base64') }],
    }),
  );
  await attachLayer({
    store: o.store,
    repository: o.repository,
    digest: o.digest,
    suffix: 'att',
    payload: envelope,
    annotations: { [ANNOTATION.signature]: '', [ANNOTATION.predicateType]: o.predicateType },
  });
  return envelope;
}
