// The flags that name who must have signed (cosign's --key, --certificate,
// --certificate-chain, keyless identity flags, tlog/SCT switches) and how a
// key argument is read: shared by verify, verify-attestation and verify-bundle.

import { readFileSync } from 'node:fs';
import type { Argv } from 'yargs';
import {
  createFileSecretResolver,
  getKmsProvider,
  getUnresolved,
  kmsOfflineMessage,
  parseK8sSecretRef,
  SECRET_PUBLIC_KEY,
  toSecretKeySource,
} from '../../lib/policy/keys.ts';
import { SigwardError } from '../../lib/errors.ts';
import type { Attestor } from '../../lib/cosign/checks.ts';
import { getUnanchoredRegExpWarning, type IdentityPolicy, validateIdentityPolicy } from '../../lib/trust/index.ts';
import { type HashAlgorithm, parsePublicKeys } from '../../lib/cosign/keys.ts';
import { toFileError } from '../files.ts';

/**
 * Reads a key argument as cosign does: a file path, PEM text given inline,
 * `env://VAR` (the variable holds the PEM), or `k8s://<namespace>/<name>` (the
 * Secret's `cosign.pub`, read offline from `$SIGWARD_SECRETS_DIR/<ns>/<name>/`,
 * the layout of a mounted Secret). KMS URIs cannot be used offline.
 */
export function readKeyArg(arg: string, what = 'key', env: Record<string, string | undefined> = process.env): string {
  if (arg.includes('-----BEGIN')) return arg;
  if (arg.startsWith('env://')) {
    const name = arg.slice('env://'.length);
    const value = env[name];
    if (!name || value === undefined || value.trim() === '') {
      throw new SigwardError(
        'CONFIG_INVALID',
        `${what} ${arg}: the environment variable ${name || '(none)'} is not set`,
      );
    }
    return value;
  }
  if (arg.startsWith('k8s://')) {
    const dir = env.SIGWARD_SECRETS_DIR;
    if (!dir) {
      throw new SigwardError(
        'CONFIG_INVALID',
        `${what} ${arg} is a Kubernetes Secret: sigward reads it offline from $SIGWARD_SECRETS_DIR/<namespace>/<name>/${SECRET_PUBLIC_KEY}; set SIGWARD_SECRETS_DIR`,
      );
    }
    const ref = parseK8sSecretRef(arg);
    if (!ref) {
      throw new SigwardError(
        'CONFIG_INVALID',
        `invalid secret reference ${JSON.stringify(arg)}: expected k8s://<namespace>/<name>`,
      );
    }
    const src = toSecretKeySource(ref.namespace, ref.name, createFileSecretResolver(dir));
    if (src.kind === 'secret' && src.pem !== undefined) return src.pem;
    throw new SigwardError('CONFIG_INVALID', `${what} ${arg}: ${getUnresolved(src) ?? 'cannot be read'}`);
  }
  if (getKmsProvider(arg)) {
    throw new SigwardError('CONFIG_INVALID', `${what}: ${kmsOfflineMessage(arg, 'give a PEM public key file')}`);
  }
  try {
    return readFileSync(arg, 'utf8');
  } catch (e) {
    throw toFileError(`cannot read ${what} file ${arg}`, e);
  }
}

/** cosign's --certificate-github-workflow-* flags -> the Fulcio extension each one checks. */
export const WORKFLOW_FLAGS: Record<string, string> = {
  'certificate-github-workflow-trigger': 'githubWorkflowTrigger',
  'certificate-github-workflow-sha': 'githubWorkflowSha',
  'certificate-github-workflow-name': 'githubWorkflowName',
  'certificate-github-workflow-repository': 'githubWorkflowRepository',
  'certificate-github-workflow-ref': 'githubWorkflowRef',
};

function identityPolicyFrom(args: Record<string, unknown>): IdentityPolicy | undefined {
  const policy: IdentityPolicy = {};
  if (typeof args['certificate-identity'] === 'string') policy.subject = args['certificate-identity'];
  if (typeof args['certificate-identity-regexp'] === 'string') {
    policy.subjectRegExp = args['certificate-identity-regexp'];
  }
  if (typeof args['certificate-oidc-issuer'] === 'string') policy.issuer = args['certificate-oidc-issuer'];
  if (typeof args['certificate-oidc-issuer-regexp'] === 'string') {
    policy.issuerRegExp = args['certificate-oidc-issuer-regexp'];
  }
  const extensions: Record<string, string> = {};
  for (const [flag, name] of Object.entries(WORKFLOW_FLAGS)) {
    if (typeof args[flag] === 'string') extensions[name] = args[flag] as string;
  }
  if (Object.keys(extensions).length) policy.extensions = extensions;
  return Object.keys(policy).length ? policy : undefined;
}

function readPemFiles(list: unknown, what: string): string | undefined {
  const files = (Array.isArray(list) ? list : list === undefined ? [] : [list]) as string[];
  return files.length ? files.map((f) => readKeyArg(f, what)).join('\n') : undefined;
}

/** Turns cosign-style flags into an attestor (who must have signed). */
/** Warns (stderr) about identity regexp flags that are not anchored: cosign and sigward match them anywhere in the value. */
export function warnUnanchoredFlags(args: Record<string, unknown>, warn: (m: string) => void): void {
  for (const flag of ['certificate-identity-regexp', 'certificate-oidc-issuer-regexp']) {
    const v = args[flag];
    const w = typeof v === 'string' ? getUnanchoredRegExpWarning(v, `--${flag}`) : undefined;
    if (w) warn(w);
  }
}

export function attestorFromArgs(
  args: Record<string, unknown>,
  env: Record<string, string | undefined> = process.env,
  warn?: (m: string) => void,
): Attestor {
  if (warn) warnUnanchoredFlags(args, warn);
  const t = { ignoreTlog: Boolean(args['insecure-ignore-tlog']), ignoreSCT: Boolean(args['insecure-ignore-sct']) };
  const policy = identityPolicyFrom(args);
  if (typeof args.key === 'string') {
    if (policy) throw new SigwardError('CONFIG_INVALID', '--key cannot be combined with certificate identity flags');
    const keys = parsePublicKeys(readKeyArg(args.key, 'key', env), `key ${args.key}`);
    return { kind: 'key', keys, hash: (args['signature-digest-algorithm'] as HashAlgorithm) ?? 'sha256', ...t };
  }
  const cert = readPemFiles(args.certificate, 'certificate');
  const chain = [
    readPemFiles(args['certificate-chain'], 'certificate chain'),
    readPemFiles(args['ca-intermediates'], 'CA intermediates'),
    readPemFiles(args['ca-roots'], 'CA roots'),
  ]
    .filter(Boolean)
    .join('\n');
  if (cert || chain || policy) {
    // as cosign: every certificate-based verification (--certificate, --certificate-chain, keyless) names the identity
    const hasSubject = policy?.subject !== undefined || policy?.subjectRegExp !== undefined;
    const hasIssuer = policy?.issuer !== undefined || policy?.issuerRegExp !== undefined;
    if (!hasSubject) {
      throw new SigwardError(
        'CONFIG_INVALID',
        '--certificate-identity or --certificate-identity-regexp is required for verification in keyless mode',
      );
    }
    if (!hasIssuer) {
      throw new SigwardError(
        'CONFIG_INVALID',
        '--certificate-oidc-issuer or --certificate-oidc-issuer-regexp is required for verification in keyless mode',
      );
    }
    validateIdentityPolicy(policy!);
    if (cert) return { kind: 'certificate', cert, chain: chain || undefined, policy, ...t };
    return { kind: 'keyless', policy: policy!, roots: chain || undefined, ...t };
  }
  throw new SigwardError(
    'CONFIG_INVALID',
    'a verification method is required: --key, --certificate[-chain], or --certificate-identity with --certificate-oidc-issuer (keyless)',
  );
}

/**
 * The flags naming the signing certificate's identity (SAN and OIDC issuer,
 * exact or regexp, and the GitHub workflow extensions), as cosign's
 * `verify` and `verify-blob` take them.
 */
export function addIdentityOptions(y: Argv): Argv {
  return y
    .option('certificate-identity', {
      type: 'string',
      describe: 'expected SAN of the signing certificate (exact: email or URI)',
    })
    .option('certificate-identity-regexp', {
      type: 'string',
      describe: 'SAN regular expression (Go syntax; matched anywhere in the SAN, as cosign: anchor it with ^...$)',
    })
    .option('certificate-oidc-issuer', { type: 'string', describe: 'expected OIDC issuer (exact)' })
    .option('certificate-oidc-issuer-regexp', {
      type: 'string',
      describe: 'OIDC issuer regular expression (Go syntax; matched anywhere, as cosign: anchor it with ^...$)',
    })
    .option('certificate-github-workflow-trigger', {
      type: 'string',
      describe: 'expected GitHub workflow trigger (Fulcio extension)',
    })
    .option('certificate-github-workflow-sha', { type: 'string', describe: 'expected GitHub workflow commit SHA' })
    .option('certificate-github-workflow-name', { type: 'string', describe: 'expected GitHub workflow name' })
    .option('certificate-github-workflow-repository', {
      type: 'string',
      describe: 'expected GitHub workflow repository',
    })
    .option('certificate-github-workflow-ref', { type: 'string', describe: 'expected GitHub workflow git ref' });
}

/** Flags naming who must have signed (key, certificate, keyless identity) and the tlog/SCT switches. */
export function addAttestorOptions(y: Argv): Argv {
  return addIdentityOptions(y)
    .option('key', { type: 'string', describe: 'public key file (PEM; several PEM blocks = any of them)' })
    .option('certificate', { type: 'string', describe: 'PEM certificate the signatures must be made with' })
    .option('certificate-chain', {
      type: 'string',
      describe: 'PEM chain (intermediates + root) for --certificate, or the root pool',
    })
    .option('ca-roots', { type: 'string', describe: 'PEM root CAs for certificate / private-PKI keyless verification' })
    .option('ca-intermediates', { type: 'string', describe: 'PEM intermediate CAs' })
    .option('signature-digest-algorithm', {
      choices: ['sha224', 'sha256', 'sha384', 'sha512'] as const,
      default: 'sha256',
      describe: 'hash used for key-based signatures',
    })
    .option('insecure-ignore-tlog', {
      type: 'boolean',
      default: false,
      describe: 'do not require a Rekor transparency log entry',
    })
    .option('insecure-ignore-sct', {
      type: 'boolean',
      default: false,
      describe: 'do not require a certificate transparency SCT (keyless)',
    });
}
