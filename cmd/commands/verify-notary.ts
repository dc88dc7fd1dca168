// `sigward verify --notary IMAGE...`: Notary Project signatures, as
// `notation verify` checks them, offline. Trust comes from --certificate
// files (Kyverno's model: a `ca` trust store of those certificates, level
// strict, any identity) or from notation's own files: --trust-policy
// (trustpolicy.json / trustpolicy.oci.json) with --trust-store (default: the
// `truststore` folder beside the policy, as in notation's config directory).

import { lstatSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, extname, join } from 'node:path';
import type { X509Certificate } from '@sigstore/core';
import { SigwardError, toSigwardError } from '../../lib/errors.ts';
import { parseReference } from '../../lib/reference/index.ts';
import { signatureRepository } from '../../lib/oci/index.ts';
import { toRepositoryRef } from '../../lib/cosign/image.ts';
import { resolveDigest } from '../../lib/cosign/image.ts';
import { parseCertificates, toCertificate } from '../../lib/trust/index.ts';
import {
  type NotaryArtifactVerification,
  type NotaryTrust,
  type NotaryTrustPolicy,
  parseTrustPolicyDocument,
  selectTrustPolicy,
  toNotaryTrust,
  toTrustFromPolicy,
  verifyNotaryArtifact,
  verifyTrustStoreCertificate,
} from '../../lib/notary/index.ts';
import { printJson, reportError } from '../output.ts';
import {
  type ImageReport,
  printImageNotVerified,
  toVerifyDocument,
  toVerifyExitCode,
} from '../report/verify-report.ts';
import { parseAnnotations } from '../flags.ts';
import { storeFactoryFromArgs } from './registry-options.ts';
import type { Context } from './types.ts';
import { readFlagFile, toFileError } from '../files.ts';

/** cosign flags that mean nothing for Notary signatures */
const COSIGN_ONLY = [
  'key',
  'certificate-chain',
  'ca-roots',
  'ca-intermediates',
  'certificate-identity',
  'certificate-identity-regexp',
  'certificate-oidc-issuer',
  'certificate-oidc-issuer-regexp',
  'certificate-github-workflow-trigger',
  'certificate-github-workflow-sha',
  'certificate-github-workflow-name',
  'certificate-github-workflow-repository',
  'certificate-github-workflow-ref',
  'trusted-root',
  'tuf-mirror',
  'tuf-root',
  'tuf-cache',
];

function list(v: unknown): string[] {
  return (Array.isArray(v) ? v : v === undefined ? [] : [v]).map(String);
}

/** One named store of notation's trust store: certificate files (PEM or DER) directly inside; symlinks refused. */
export function readTrustStore(root: string, type: string, name: string, warn: (s: string) => void): X509Certificate[] {
  const dir = join(root, 'x509', type, name);
  let entries: string[];
  try {
    if (lstatSync(dir).isSymbolicLink()) {
      throw new SigwardError(
        'CONFIG_INVALID',
        `trust store ${type}:${name}: ${dir} is a symlink, which notation refuses`,
      );
    }
    entries = readdirSync(dir).sort();
  } catch (e) {
    if (e instanceof SigwardError) throw e;
    throw toFileError(`trust store ${type}:${name}: cannot read ${dir}`, e);
  }
  const certs: X509Certificate[] = [];
  for (const f of entries) {
    const p = join(dir, f);
    const st = lstatSync(p);
    if (st.isSymbolicLink()) {
      throw new SigwardError(
        'CONFIG_INVALID',
        `trust store ${type}:${name}: ${p} is a symlink, which notation refuses`,
      );
    }
    if (st.isDirectory()) {
      warn(`trust store ${type}:${name}: sub-directory ${f} is ignored`);
      continue;
    }
    if (!['.pem', '.crt', '.cer'].includes(extname(f).toLowerCase())) continue;
    const bytes = readFileSync(p);
    const text = bytes.toString('latin1');
    certs.push(...(text.includes('-----BEGIN') ? parseCertificates(text) : [toCertificate(new Uint8Array(bytes))]));
  }
  if (certs.length === 0) {
    throw new SigwardError('CONFIG_INVALID', `trust store ${type}:${name}: no certificate in ${dir}`);
  }
  for (const c of certs) verifyTrustStoreCertificate(c, `${type}:${name}`);
  return certs;
}

interface Trusts {
  /** per repository `registry/repository`: the trust, or skip */
  forRepository(repository: string): NotaryTrust | 'skip';
  describe: string;
}

function trustsFromArgs(args: Record<string, unknown>, ctx: Context): Trusts {
  const used = COSIGN_ONLY.filter((f) => args[f] !== undefined).concat(
    ['insecure-ignore-tlog', 'insecure-ignore-sct'].filter((f) => args[f] === true),
  );
  if (used.length) {
    throw new SigwardError(
      'CONFIG_INVALID',
      `--notary verifies Notary signatures: ${used.map((f) => `--${f}`).join(', ')} ${
        used.length === 1 ? 'is a cosign flag' : 'are cosign flags'
      } with no meaning there`,
    );
  }
  const certFiles = list(args.certificate);
  const policyFile = args['trust-policy'] as string | undefined;
  if (certFiles.length && policyFile) {
    throw new SigwardError('CONFIG_INVALID', '--certificate and --trust-policy are two ways to give trust: use one');
  }
  if (certFiles.length) {
    if (args['trust-store'] !== undefined) {
      throw new SigwardError(
        'CONFIG_INVALID',
        '--trust-store goes with --trust-policy (the policy names the stores to use)',
      );
    }
    const trust = toNotaryTrust(certFiles.map((f) => readFlagFile(f, 'certificate file')), '--certificate');
    return {
      forRepository: () => trust,
      describe: `The signature's certificate chain holds one of the ${trust.certificates.length} given certificate${
        trust.certificates.length === 1 ? '' : 's'
      } (level strict, any identity, as Kyverno)`,
    };
  }
  if (!policyFile) {
    throw new SigwardError(
      'CONFIG_INVALID',
      '--notary needs trust: --certificate FILE (repeatable), or --trust-policy FILE [--trust-store DIR]',
    );
  }
  const policies = parseTrustPolicyDocument(readFlagFile(policyFile, 'trust policy'));
  const storeRoot = (args['trust-store'] as string | undefined) ?? join(dirname(policyFile), 'truststore');
  const cache = new Map<string, NotaryTrust>();
  return {
    describe: `The signature was verified under trust policy ${policyFile} with trust store ${storeRoot}`,
    forRepository: (repository) => {
      const p: NotaryTrustPolicy = selectTrustPolicy(policies, repository);
      if (p.level === 'skip') return 'skip';
      let t = cache.get(p.name);
      if (!t) {
        cache.set(
          p.name,
          t = toTrustFromPolicy(p, (type, name) => readTrustStore(storeRoot, type, name, ctx.warn)),
        );
      }
      return t;
    },
  };
}

type Result = ImageReport<NotaryArtifactVerification>;

export async function verifyNotaryImages(args: Record<string, unknown>, ctx: Context): Promise<number> {
  const json = args.output === 'json';
  let trusts: Trusts;
  let annotations: Record<string, string>;
  let stores;
  try {
    if (args.output === 'cosign') {
      throw new SigwardError(
        'CONFIG_INVALID',
        '-o cosign prints cosign payloads: use -o text or -o json with --notary',
      );
    }
    trusts = trustsFromArgs(args, ctx);
    annotations = parseAnnotations(list(args.annotations));
    stores = storeFactoryFromArgs(args, ctx);
  } catch (e) {
    return reportError(ctx.io, json ? 'json' : 'text', e, 'sigward.verify/v1');
  }
  const sigRepoArg = (args['signature-repository'] as string | undefined) ?? undefined;
  const results: Result[] = [];
  for (const image of args.images as string[]) {
    try {
      const ref = parseReference(args['local-image'] && !image.startsWith('oci:') ? `oci:${image}` : image);
      const repo = toRepositoryRef(ref);
      const trust = trusts.forRepository(
        ref.transport === 'oci-layout' ? ref.registry : `${ref.registry}/${ref.repository}`,
      );
      const digest = await resolveDigest(ref, stores);
      if (trust === 'skip') {
        ctx.warn(`${image}: the trust policy's level is skip: signatures are not verified`);
        results.push({ image, verified: true, skipped: true, digest });
        continue;
      }
      const v = await verifyNotaryArtifact({
        stores,
        repository: repo,
        signatureRepository: sigRepoArg ? signatureRepository(repo, sigRepoArg) : undefined,
        digest,
        trust,
        annotations,
      });
      for (const w of v.signature.warnings) ctx.warn(`${image}: ${w}`);
      results.push({ image, verified: true, digest, verification: v });
    } catch (e) {
      const err = toSigwardError(e);
      results.push({ image, verified: false, digest: err.detail?.digest as string | undefined, error: err });
    }
  }
  if (json) {
    printJson(
      ctx.io,
      toVerifyDocument(results, (v) => ({
        notary: { manifest: v.manifest, artifact: v.artifact, ...v.signature, rejected: v.rejected },
      })),
    );
  } else {
    for (const r of results) {
      if (r.skipped) ctx.io.stdout(`allow ${r.image}: ${r.digest} not verified (trust policy level skip)\n`);
      else if (r.verified && r.verification) {
        const s = r.verification.signature;
        ctx.io.stdout(
          `allow ${r.image}: verified ${r.digest} (Notary signature ${r.verification.manifest}, ${
            s.mediaType === 'application/cose' ? 'COSE' : 'JWS'
          } ${s.alg}, signed ${s.signingTime} by "${s.signer.subject}")\n`,
        );
        ctx.io.stdout(`  ${trusts.describe}\n`);
      } else printImageNotVerified(ctx.io, r);
    }
  }
  return toVerifyExitCode(results);
}
