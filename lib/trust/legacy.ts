// Legacy cosign signatures stored as image layers with annotations (".sig"
// simple-signing payloads and ".att" DSSE envelopes). The pieces are turned
// into a Sigstore SignedEntity for @sigstore/verify; the Rekor SET and the
// binding of its entry to this signature are checked here (cosign's
// bundle checks), as are chain-annotation intermediates, EKU and identity.
// docker-manifest-digest / subject checks belong to the caller (lib/cosign).

import { toDSSEBundle, toMessageSignatureBundle, type TransparencyLogEntry } from '@sigstore/bundle';
import { RFC3161Timestamp } from '@sigstore/core';
import { type SignedEntity, toSignedEntity } from '@sigstore/verify';
import { SigwardError } from '../errors.ts';
import { toStatement } from '../attest/statement.ts';
import { toTrustError } from './errors.ts';
import type { IdentityPolicy } from './identity.ts';
import {
  decodeBase64,
  errText,
  parseCertificates,
  type PublicKeyInput,
  sha256,
  toCertificate,
  toPublicKey,
} from './keys.ts';
import {
  getRekorBody,
  getRekorBodyFacts,
  isSupportedBySigstoreJS,
  parseRekorBundle,
  type RekorBodyFacts,
  toTLogEntry,
  verifyRekorBodyBinding,
  verifyRekorSET,
} from './rekor.ts';
import { getTrustMaterial, type TrustInput } from './root.ts';
import { IN_TOTO_PAYLOAD_TYPE, type InTotoStatement, type PrivateCA, type VerifiedSignature } from './types.ts';
import {
  applyPrivateCA,
  KEY_HINT,
  NOW_MARKER,
  type SigningIdentity,
  toNowTimestamp,
  verifySignedEntity,
} from './verifier.ts';

export const SIMPLE_SIGNING_MEDIA_TYPE = 'application/vnd.dev.cosign.simplesigning.v1+json';
export const DSSE_LAYER_MEDIA_TYPE = 'application/vnd.dsse.envelope.v1+json';

/** cosign layer annotation keys */
export const ANNOTATIONS = {
  signature: 'dev.cosignproject.cosign/signature',
  certificate: 'dev.sigstore.cosign/certificate',
  chain: 'dev.sigstore.cosign/chain',
  bundle: 'dev.sigstore.cosign/bundle',
  rfc3161Timestamp: 'dev.sigstore.cosign/rfc3161timestamp',
} as const;

export interface LegacySignatureInput {
  /** the layer blob: simple-signing payload (.sig) or DSSE envelope JSON (.att) */
  payload: Uint8Array;
  /** dev.cosignproject.cosign/signature (base64); empty/absent for .att layers */
  signatureB64?: string;
  /** layer media type; DSSE_LAYER_MEDIA_TYPE selects attestation mode */
  mediaType?: string;
  /** dev.sigstore.cosign/certificate */
  certificatePEM?: string;
  /** dev.sigstore.cosign/chain (intermediates + root; untrusted, only used for path building) */
  chainPEM?: string;
  /** dev.sigstore.cosign/bundle (Rekor SET bundle JSON) */
  rekorBundleJSON?: string;
  /** dev.sigstore.cosign/rfc3161timestamp ({"SignedRFC3161Timestamp": b64}) */
  rfc3161TimestampJSON?: string;
  trust: TrustInput;
  /** verify with this key (cosign --key); the certificate annotation is then not used */
  key?: PublicKeyInput;
  /** keyless / certificate identity policy (required without key; {} accepts any identity) */
  policy?: IdentityPolicy;
  /** private CA replacing the trust root's CAs (cosign --ca-roots/--ca-intermediates, Kyverno certChain) */
  ca?: PrivateCA;
  ignoreTlog?: boolean;
  ignoreSCT?: boolean;
  /** clock for certificates when there is no trusted time (only with ignoreTlog); default now */
  now?: Date;
}

interface DSSEEnvelopeJSON {
  payloadType: string;
  payload: string;
  signatures: { keyid?: string; sig: string }[];
}

function parseEnvelope(bytes: Uint8Array): DSSEEnvelopeJSON {
  let env: Partial<DSSEEnvelopeJSON>;
  try {
    env = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch (e) {
    throw new SigwardError('PAYLOAD_INVALID', `attestation layer is not a DSSE envelope: ${errText(e)}`, { cause: e });
  }
  if (typeof env?.payloadType !== 'string' || typeof env.payload !== 'string' || !Array.isArray(env.signatures)) {
    throw new SigwardError(
      'PAYLOAD_INVALID',
      'attestation layer is not a DSSE envelope (payloadType, payload, signatures)',
    );
  }
  if (env.signatures.length !== 1 || typeof env.signatures[0]?.sig !== 'string') {
    throw new SigwardError(
      'PAYLOAD_INVALID',
      `DSSE envelope must carry exactly one signature, found ${env.signatures.length}`,
    );
  }
  if (env.payloadType !== IN_TOTO_PAYLOAD_TYPE) {
    throw new SigwardError(
      'PAYLOAD_INVALID',
      `attestation payload type ${JSON.stringify(env.payloadType)} is not ${IN_TOTO_PAYLOAD_TYPE}`,
    );
  }
  return env as DSSEEnvelopeJSON;
}

function parseRFC3161(text: string): RFC3161Timestamp {
  try {
    const v = JSON.parse(text) as { SignedRFC3161Timestamp?: unknown };
    if (typeof v.SignedRFC3161Timestamp !== 'string') throw new Error('SignedRFC3161Timestamp missing');
    return RFC3161Timestamp.parse(Buffer.from(v.SignedRFC3161Timestamp, 'base64'));
  } catch (e) {
    throw new SigwardError('TIMESTAMP_INVALID', `RFC 3161 timestamp annotation is malformed: ${errText(e)}`, {
      cause: e,
    });
  }
}

/** Attestation (.att layer) variant: the payload is the DSSE envelope. */
export function verifyLegacyAttestation(input: Omit<LegacySignatureInput, 'mediaType'>): VerifiedSignature {
  return verifyLegacySignature({ ...input, mediaType: DSSE_LAYER_MEDIA_TYPE });
}

/**
 * Verifies one legacy cosign signature layer. Throws SigwardError:
 * TLOG_MISSING ("signature not found in transparency log"), TLOG_INVALID,
 * SIGNATURE_INVALID, CERTIFICATE_INVALID, SCT_INVALID, TIMESTAMP_INVALID,
 * IDENTITY_MISMATCH, PAYLOAD_INVALID, ATTESTATION_INVALID (malformed in-toto statement).
 */
export function verifyLegacySignature(input: LegacySignatureInput): VerifiedSignature {
  const payload = Buffer.from(input.payload);
  const dsse = input.mediaType === DSSE_LAYER_MEDIA_TYPE;
  const { material, intermediates: caIntermediates } = applyPrivateCA(getTrustMaterial(input.trust), input.ca);

  // Signature and content.
  let signature: Buffer;
  let envelope: DSSEEnvelopeJSON | undefined;
  let statement: InTotoStatement | undefined;
  let dssePayload: Buffer | undefined;
  if (dsse) {
    envelope = parseEnvelope(payload);
    signature = decodeBase64(envelope.signatures[0].sig, 'DSSE signature');
    dssePayload = decodeBase64(envelope.payload, 'DSSE payload');
    statement = toStatement(dssePayload);
  } else {
    if (!input.signatureB64) throw new SigwardError('SIGNATURE_INVALID', 'signature annotation is missing or empty');
    signature = decodeBase64(input.signatureB64, 'signature annotation');
  }
  if (signature.length === 0) throw new SigwardError('SIGNATURE_INVALID', 'signature is empty');

  // Signer.
  let signer: SigningIdentity;
  if (input.key !== undefined) {
    signer = { $case: 'key', key: toPublicKey(input.key) };
  } else {
    if (!input.certificatePEM) {
      throw new SigwardError(
        'SIGNATURE_INVALID',
        'signature has no certificate (it was signed with a key), but keyless verification was requested',
      );
    }
    if (!input.policy) {
      throw new SigwardError('POLICY_INVALID', 'keyless verification needs an identity policy (subject and issuer)');
    }
    const leaf = toCertificate(input.certificatePEM);
    const chain = input.chainPEM ? parseCertificates(input.chainPEM) : [];
    signer = {
      $case: 'certificate',
      certificate: leaf,
      intermediates: [...chain, ...caIntermediates],
      policy: input.policy,
    };
  }

  // Bundle skeleton for @sigstore/verify.
  const certDER = signer.$case === 'certificate' ? Buffer.from(signer.certificate.root.toDER()) : undefined;
  const keyMaterial = certDER ? { certificate: certDER } : { keyHint: KEY_HINT };
  let entity: SignedEntity;
  try {
    if (dsse && envelope && dssePayload) {
      entity = toSignedEntity(
        toDSSEBundle({ artifact: dssePayload, artifactType: envelope.payloadType, signature, ...keyMaterial }),
      );
    } else {
      entity = toSignedEntity(
        toMessageSignatureBundle({ digest: sha256(payload), signature, ...keyMaterial }),
        payload,
      );
    }
  } catch (e) {
    throw toTrustError(e);
  }
  if (signer.$case === 'key') entity = { ...entity, key: { $case: 'public-key', hint: KEY_HINT } };

  // Transparency log (verified here for every entry kind).
  const tlogEntries: TransparencyLogEntry[] = [];
  const timestamps: SignedEntity['timestamps'] = [];
  let integratedTime: Date | undefined;
  let tlogIndex: string | undefined;
  let bodyFacts: RekorBodyFacts | undefined;
  if (!input.ignoreTlog) {
    if (!input.rekorBundleJSON) throw new SigwardError('TLOG_MISSING', 'signature not found in transparency log');
    const set = parseRekorBundle(input.rekorBundleJSON);
    verifyRekorSET(set, material.tlogs);
    const { body } = getRekorBody(set);
    bodyFacts = getRekorBodyFacts(body);
    const entry = toTLogEntry(set, body);
    // Verified above; also handed to @sigstore/verify when it knows the kind.
    if (isSupportedBySigstoreJS(body)) tlogEntries.push(entry);
    timestamps.push({ $case: 'transparency-log', tlogEntry: entry });
    integratedTime = new Date(set.Payload.integratedTime * 1000);
    tlogIndex = String(set.Payload.logIndex);
  }
  let signatureContent = entity.signature;
  if (input.rfc3161TimestampJSON && material.timestampAuthorities.length > 0) {
    timestamps.push({ $case: 'timestamp-authority', timestamp: parseRFC3161(input.rfc3161TimestampJSON) });
    if (dsse) {
      // Legacy .att timestamps cover the envelope bytes, not the signature.
      const inner = entity.signature;
      signatureContent = {
        signature: payload,
        compareSignature: (s) => inner.compareSignature(s),
        compareDigest: (d) => inner.compareDigest(d),
        compareSignedDigest: (d) => inner.compareSignedDigest(d),
        verifySignature: (k) => inner.verifySignature(k),
      };
    }
  }
  if (timestamps.length === 0 && signer.$case === 'certificate') {
    // cosign: with no trusted time the certificate is checked at the current time.
    timestamps.push(toNowTimestamp(input.now ?? new Date()));
  }
  entity = { ...entity, signature: signatureContent, tlogEntries, timestamps };

  const core = verifySignedEntity({
    entity,
    material,
    signer,
    nowMarker: NOW_MARKER,
    tlogThreshold: tlogEntries.length,
    ctlogThreshold: signer.$case === 'certificate' && !input.ignoreSCT ? 1 : 0,
    timestampThreshold: signer.$case === 'certificate' ? 1 : 0,
  });

  // After the signature check, so that a wrong key reads "invalid signature".
  if (bodyFacts) {
    verifyRekorBodyBinding(bodyFacts, {
      signature,
      ...(signer.$case === 'certificate' ? { certificate: signer.certificate } : { key: signer.key }),
      ...(dsse
        ? { payloadSHA256: sha256(dssePayload as Buffer), envelopeSHA256: sha256(payload) }
        : { dataSHA256: sha256(payload) }),
    });
  }

  return {
    signer: {
      ...(core.identity ? { identity: core.identity } : {}),
      keyId: core.keyId,
      ...(certDER ? { certificate: new Uint8Array(certDER) } : {}),
    },
    ...(integratedTime ? { integratedTime, tlogIndex } : {}),
    timestamps: core.timestamps,
    ...(dsse ? { payloadType: envelope?.payloadType, payload: new Uint8Array(dssePayload as Buffer), statement } : {}),
  };
}
