// Sigstore bundle verification (v0.1, v0.2, v0.3 in both media-type
// spellings): @sigstore/verify plus the checks it leaves to callers
// (artifact/digest binding, DSSE statement subject, one DSSE signature,
// anchored identity, EKU, Rekor body key binding, digest-only mode).

import { createHash, verify as cryptoVerify } from 'node:crypto';
import {
  type Bundle,
  BUNDLE_V01_MEDIA_TYPE,
  BUNDLE_V02_MEDIA_TYPE,
  BUNDLE_V03_LEGACY_MEDIA_TYPE,
  BUNDLE_V03_MEDIA_TYPE,
  bundleFromJSON,
} from '@sigstore/bundle';
import { X509Certificate } from '@sigstore/core';
import { HashAlgorithm } from '@sigstore/protobuf-specs';
import { type SignedEntity, toSignedEntity } from '@sigstore/verify';
import { SigwardError } from '../errors.ts';
import { getDigestError } from '../digest.ts';
import { hasSubjectDigest, SUBJECT_DIGEST_ALGORITHMS, toStatement } from '../attest/statement.ts';
import { toTrustError } from './errors.ts';
import { errText, toPublicKey, toSPKI } from './keys.ts';
import { type PrehashAlgorithm, verifyPrehashed } from './prehash.ts';
import { getRekorBodyFacts, verifyInclusionProofCheckpoint, verifyRekorBodyBinding } from './rekor.ts';
import { getTrustMaterial, type TrustInput } from './root.ts';
import {
  IN_TOTO_PAYLOAD_TYPE,
  type InTotoStatement,
  isKeyPolicy,
  type PrivateCA,
  type SignerPolicy,
  type VerifiedSignature,
} from './types.ts';
import {
  applyPrivateCA,
  KEY_HINT,
  NOW_MARKER,
  type SigningIdentity,
  toNowTimestamp,
  verifySignedEntity,
} from './verifier.ts';

export const BUNDLE_MEDIA_TYPES = [
  BUNDLE_V01_MEDIA_TYPE,
  BUNDLE_V02_MEDIA_TYPE,
  BUNDLE_V03_LEGACY_MEDIA_TYPE,
  BUNDLE_V03_MEDIA_TYPE,
] as const;

export interface Digest {
  algorithm: 'sha256' | 'sha512';
  hex: string;
}

export interface VerifyBundleOptions {
  /** the signed artifact (blob); for DSSE it is matched against the statement subjects */
  artifact?: Uint8Array;
  /** instead of the artifact: its digest, `sha256:<hex>` / `sha512:<hex>` or {algorithm, hex} */
  digest?: Digest | string;
  trust: TrustInput;
  /** certificate identity (keyless) or the public key (key-signed bundles) */
  policy: SignerPolicy;
  /** private CA replacing the trust root's Fulcio CAs */
  ca?: PrivateCA;
  /** do not require or check transparency log entries (keyless then needs an RFC 3161 timestamp) */
  ignoreTlog?: boolean;
  /** do not require embedded SCTs */
  ignoreSCT?: boolean;
  /** the current time, used (as cosign does) only for a certificate when the tlog is ignored and no RFC 3161 timestamp is there */
  now?: Date;
}

/** The artifact digest a bundle is checked against: `sha256:<hex>`, `sha512:<hex>` or {algorithm, hex} (lib/digest.ts rules); throws CONFIG_INVALID. */
function toBundleDigest(d: Digest | string): Digest {
  const text = typeof d === 'string' ? d : `${String(d.algorithm)}:${String(d.hex)}`;
  const error = getDigestError(text);
  if (error !== undefined) {
    throw new SigwardError(
      'CONFIG_INVALID',
      `invalid digest ${JSON.stringify(d)}: ${error}; expected sha256:<64 lowercase hex> or sha512:<128 lowercase hex>`,
    );
  }
  const i = text.indexOf(':');
  return { algorithm: text.slice(0, i) as Digest['algorithm'], hex: text.slice(i + 1) };
}

/** Parses bundle JSON (text, bytes or object) and validates its structure; throws BUNDLE_INVALID. */
export function parseBundle(input: string | Uint8Array | object): Bundle {
  let json: unknown = input;
  try {
    if (typeof input === 'string') json = JSON.parse(input);
    else if (input instanceof Uint8Array) json = JSON.parse(Buffer.from(input).toString('utf8'));
  } catch (e) {
    throw new SigwardError('BUNDLE_INVALID', `bundle is not valid JSON: ${errText(e)}`, { cause: e });
  }
  const mediaType = (json as { mediaType?: unknown })?.mediaType;
  if (!BUNDLE_MEDIA_TYPES.includes(mediaType as (typeof BUNDLE_MEDIA_TYPES)[number])) {
    throw new SigwardError('BUNDLE_INVALID', `unsupported bundle media type ${JSON.stringify(mediaType)}`);
  }
  let bundle: Bundle;
  try {
    bundle = bundleFromJSON(json);
  } catch (e) {
    throw toTrustError(e);
  }
  if (bundle.content.$case === 'dsseEnvelope' && bundle.content.dsseEnvelope.signatures.length !== 1) {
    throw new SigwardError(
      'BUNDLE_INVALID',
      `DSSE envelope must carry exactly one signature, found ${bundle.content.dsseEnvelope.signatures.length}`,
    );
  }
  return bundle;
}

const HASH_NAMES: Partial<Record<HashAlgorithm, PrehashAlgorithm>> = {
  [HashAlgorithm.SHA2_256]: 'sha256',
  [HashAlgorithm.SHA2_384]: 'sha384',
  [HashAlgorithm.SHA2_512]: 'sha512',
};

/** True when some subject's digest equals the artifact's (sha256/384/512 as present). */
export function statementMatchesArtifact(statement: InTotoStatement, artifact: Uint8Array): boolean {
  // hashes the artifact only with the algorithms some subject names
  return SUBJECT_DIGEST_ALGORITHMS.some((alg) =>
    statement.subject.some((s) => Object.hasOwn(s.digest, alg)) &&
    hasSubjectDigest(statement, `${alg}:${createHash(alg).update(artifact).digest('hex')}`)
  );
}

/**
 * Verifies a Sigstore bundle offline against the trust material. Throws a
 * SigwardError (BUNDLE_INVALID, SIGNATURE_INVALID, TLOG_*, CERTIFICATE_INVALID,
 * SCT_INVALID, TIMESTAMP_INVALID, IDENTITY_MISMATCH, MANIFEST_DIGEST_MISMATCH,
 * ATTESTATION_INVALID for a malformed in-toto statement ...).
 */
export function verifyBundle(bundleJSON: string | Uint8Array | object, opts: VerifyBundleOptions): VerifiedSignature {
  const bundle = parseBundle(bundleJSON);
  const digest = opts.digest !== undefined ? toBundleDigest(opts.digest) : undefined;
  const artifact = opts.artifact ? Buffer.from(opts.artifact) : undefined;
  const { material, intermediates: caIntermediates } = applyPrivateCA(getTrustMaterial(opts.trust), opts.ca);

  let entity: SignedEntity;
  let statement: InTotoStatement | undefined;
  let payloadType: string | undefined;
  let payload: Buffer | undefined;
  const content = bundle.content;
  try {
    if (content.$case === 'messageSignature') {
      const md = content.messageSignature.messageDigest;
      const alg = HASH_NAMES[md.algorithm];
      if (!alg) throw new SigwardError('BUNDLE_INVALID', `unsupported message digest algorithm ${md.algorithm}`);
      if (artifact) {
        if (!createHash(alg).update(artifact).digest().equals(md.digest)) {
          throw new SigwardError('SIGNATURE_INVALID', "artifact does not match the bundle's message digest");
        }
        entity = toSignedEntity(bundle, artifact);
      } else if (digest) {
        if (alg !== digest.algorithm || md.digest.toString('hex') !== digest.hex) {
          throw new SigwardError(
            'MANIFEST_DIGEST_MISMATCH',
            `digest mismatch: the bundle signs ${alg}:${
              md.digest.toString('hex')
            }, expected ${digest.algorithm}:${digest.hex}`,
          );
        }
        entity = toSignedEntity(bundle, Buffer.alloc(0));
        entity = {
          ...entity,
          signature: toPrehashedContent(
            entity.signature,
            Buffer.from(digest.hex, 'hex'),
            content.messageSignature.signature,
            digest.algorithm,
          ),
        };
      } else {
        throw new SigwardError(
          'CONFIG_INVALID',
          'a message-signature bundle can only be verified with the artifact or its digest',
        );
      }
    } else {
      const env = content.dsseEnvelope;
      payloadType = env.payloadType;
      payload = env.payload;
      if (payloadType === IN_TOTO_PAYLOAD_TYPE) statement = toStatement(env.payload);
      if ((artifact || digest) && !statement) {
        throw new SigwardError(
          'PAYLOAD_INVALID',
          `cannot match the artifact: DSSE payload type is ${JSON.stringify(payloadType)}, not in-toto`,
        );
      }
      if (statement && artifact && !statementMatchesArtifact(statement, artifact)) {
        throw new SigwardError('SIGNATURE_INVALID', 'artifact digest is not a subject of the signed in-toto statement');
      }
      if (statement && digest && !hasSubjectDigest(statement, `${digest.algorithm}:${digest.hex}`)) {
        throw new SigwardError(
          'MANIFEST_DIGEST_MISMATCH',
          `digest mismatch: ${digest.algorithm}:${digest.hex} is not a subject of the signed in-toto statement`,
        );
      }
      entity = toSignedEntity(bundle);
    }
  } catch (e) {
    throw toTrustError(e);
  }

  // Signer material.
  const vm = bundle.verificationMaterial.content;
  let leaf: X509Certificate | undefined;
  let bundleIntermediates: X509Certificate[] = [];
  try {
    if (vm.$case === 'certificate') leaf = X509Certificate.parse(Buffer.from(vm.certificate.rawBytes));
    else if (vm.$case === 'x509CertificateChain') {
      const certs = vm.x509CertificateChain.certificates.map((c) => X509Certificate.parse(Buffer.from(c.rawBytes)));
      leaf = certs[0];
      bundleIntermediates = certs.slice(1);
    }
  } catch (e) {
    throw new SigwardError('BUNDLE_INVALID', `bundle certificate cannot be parsed: ${errText(e)}`, { cause: e });
  }
  let signer: SigningIdentity;
  if (isKeyPolicy(opts.policy)) {
    const key = toPublicKey(opts.policy.publicKey);
    if (leaf && !leaf.publicKey.equals(toSPKI(key))) {
      throw new SigwardError(
        'SIGNATURE_INVALID',
        'bundle is signed with a certificate for a different key than the one given',
      );
    }
    if (opts.policy.certificate && !(leaf && leaf.root.toDER().equals(Buffer.from(opts.policy.certificate)))) {
      throw new SigwardError(
        'SIGNATURE_INVALID',
        'the bundle is not signed with the given certificate (its verification material is another certificate or a bare public key)',
      );
    }
    signer = { $case: 'key', key };
    entity = { ...entity, key: { $case: 'public-key', hint: KEY_HINT } };
    const hash = opts.policy.hash;
    if (hash && hash !== 'sha256' && content.$case === 'dsseEnvelope') {
      // @sigstore/verify checks DSSE signatures with the key type's default digest (SHA-256 for
      // ECDSA); cosign signs with --signature-digest-algorithm (e.g. P-384 keys with SHA-384)
      entity = { ...entity, signature: withSignatureHash(entity.signature, hash) };
    }
  } else {
    if (!leaf) {
      throw new SigwardError(
        'SIGNATURE_INVALID',
        'bundle is signed with a public key, but keyless (certificate) verification was requested',
      );
    }
    signer = {
      $case: 'certificate',
      certificate: leaf,
      intermediates: [...bundleIntermediates, ...caIntermediates],
      policy: opts.policy,
    };
  }

  // Transparency log and timestamps.
  let timestamps = entity.timestamps;
  let tlogEntries = entity.tlogEntries;
  if (opts.ignoreTlog) {
    tlogEntries = [];
    timestamps = timestamps.filter((t) => t.$case !== 'transparency-log');
  }
  if (material.timestampAuthorities.length === 0) {
    // Nothing could verify them; like sigstore-go, unverifiable extra
    // timestamps do not count (and do not fail).
    timestamps = timestamps.filter((t) => t.$case !== 'timestamp-authority');
  }
  entity = { ...entity, tlogEntries, timestamps };
  if (!opts.ignoreTlog && tlogEntries.length === 0) {
    throw new SigwardError('TLOG_MISSING', 'signature not found in transparency log');
  }
  if (signer.$case === 'certificate' && opts.ignoreTlog && !timestamps.some((t) => t.$case === 'timestamp-authority')) {
    // as cosign (and as the legacy format): nothing attests the signing time, so the certificate is checked now
    entity = { ...entity, timestamps: [...timestamps, toNowTimestamp(opts.now ?? new Date())] };
  }

  const core = verifySignedEntity({
    entity,
    material,
    signer,
    nowMarker: NOW_MARKER,
    tlogThreshold: opts.ignoreTlog ? 0 : 1,
    ctlogThreshold: signer.$case === 'certificate' && !opts.ignoreSCT ? 1 : 0,
    timestampThreshold: signer.$case === 'certificate' ? 1 : 0,
  });

  // @sigstore/verify does not compare the key/certificate inside the entries,
  // nor an inclusion proof's own tree size and root hash with its checkpoint.
  for (const entry of tlogEntries) {
    verifyInclusionProofCheckpoint(entry);
    let body;
    try {
      body = JSON.parse(entry.canonicalizedBody.toString('utf8'));
    } catch (e) {
      throw new SigwardError('TLOG_INVALID', `transparency log entry body is not valid JSON: ${errText(e)}`, {
        cause: e,
      });
    }
    verifyRekorBodyBinding(
      getRekorBodyFacts(body),
      signer.$case === 'certificate' ? { certificate: signer.certificate } : { key: signer.key },
    );
  }

  const entry = tlogEntries.find((e) => e.integratedTime && e.integratedTime !== '0');
  return {
    signer: {
      ...(core.identity ? { identity: core.identity } : {}),
      keyId: core.keyId,
      ...(core.certificate ? { certificate: new Uint8Array(core.certificate.root.toDER()) } : {}),
    },
    ...(entry ? { integratedTime: new Date(Number(entry.integratedTime) * 1000), tlogIndex: entry.logIndex } : {}),
    timestamps: core.timestamps,
    ...(payloadType !== undefined ? { payloadType } : {}),
    ...(payload ? { payload: new Uint8Array(payload) } : {}),
    ...(statement ? { statement } : {}),
  };
}

// DSSE signature content whose signature is checked with the given digest.
function withSignatureHash(content: SignedEntity['signature'], hash: string): SignedEntity['signature'] {
  const pae = (content as unknown as { preAuthEncoding: Buffer }).preAuthEncoding;
  return {
    signature: content.signature,
    compareSignature: (s) => content.compareSignature(s),
    compareDigest: (d) => content.compareDigest(d),
    compareSignedDigest: (d) => content.compareSignedDigest(d),
    verifySignature: (key) => {
      if (key.asymmetricKeyType === 'ed25519' || key.asymmetricKeyType === 'ed448') return content.verifySignature(key);
      try {
        return cryptoVerify(hash, pae, key, content.signature);
      } catch {
        return false;
      }
    },
  };
}

// Signature content whose signature check runs over the caller's digest.
function toPrehashedContent(
  content: SignedEntity['signature'],
  digest: Buffer,
  signature: Buffer,
  algorithm: PrehashAlgorithm,
): SignedEntity['signature'] {
  return {
    signature: content.signature,
    compareSignature: (s) => content.compareSignature(s),
    compareDigest: (d) => content.compareDigest(d),
    compareSignedDigest: (d) => content.compareSignedDigest(d),
    verifySignature: (key) => verifyPrehashed(key, digest, signature, algorithm),
  };
}
