// cosign 3.1.1's hidden and deprecated `verify` / `verify-attestation` flags.
// cosign still accepts them, so a cosign user's command line may carry them;
// sigward accepts each one with cosign's meaning, as a documented no-op where
// sigward already behaves that way, or refuses it with the reason. None is
// silently ignored: a flag that sigward does not act on and that could make a
// difference prints a warning saying what sigward does instead.

import type { Argv } from 'yargs';
import { SigwardError } from '../lib/errors.ts';

type Treatment =
  /** accepted; sigward already does what the flag asks (documented in README) */
  | { kind: 'no-op'; why: string }
  /** accepted with a warning: sigward does something else, said in `why` */
  | { kind: 'warn'; why: string }
  /** refused before anything runs */
  | { kind: 'refuse'; why: string }
  /** another flag's meaning (cosign's deprecation names the replacement) */
  | { kind: 'alias'; of: string };

interface CosignFlag {
  type: 'boolean' | 'string' | 'number';
  treatment: Treatment;
  /** for booleans: the value that is refused (e.g. --check-claims=false) */
  refusedValue?: boolean;
}

/** The flags, as `cosign verify --help` hides them or marks them deprecated (cosign 3.1.1). */
export const COSIGN_FLAGS: Record<string, CosignFlag> = {
  offline: {
    type: 'boolean',
    treatment: {
      kind: 'no-op',
      why: 'sigward never contacts Rekor: transparency-log entries are verified offline from the signature',
    },
  },
  'rekor-url': {
    type: 'string',
    treatment: {
      kind: 'warn',
      why:
        'sigward does not query Rekor; log entries are verified offline against the Rekor keys of the trust root (--trusted-root)',
    },
  },
  'new-bundle-format': {
    type: 'boolean',
    treatment: { kind: 'no-op', why: 'sigward checks both legacy .sig signatures and Sigstore bundles' },
  },
  'experimental-oci11': {
    type: 'boolean',
    treatment: { kind: 'no-op', why: 'sigward always looks for OCI 1.1 referrers (API and tag schema)' },
  },
  'private-infrastructure': { type: 'boolean', treatment: { kind: 'alias', of: 'insecure-ignore-tlog' } },
  'max-workers': { type: 'number', treatment: { kind: 'no-op', why: 'sigward bounds its own registry concurrency' } },
  'k8s-keychain': {
    type: 'boolean',
    treatment: {
      kind: 'warn',
      why:
        'sigward has no cloud keychain: registry credentials come from --registry-secret, --docker-config or the --registry-* flags',
    },
  },
  'check-claims': {
    type: 'boolean',
    refusedValue: false,
    treatment: {
      kind: 'refuse',
      why: '--check-claims=false is not supported: sigward always checks that a signature is for the verified digest',
    },
  },
  'use-signed-timestamps': {
    type: 'boolean',
    refusedValue: true,
    treatment: {
      kind: 'refuse',
      why:
        '--use-signed-timestamps (require an RFC 3161 timestamp) is not supported yet: sigward verifies RFC 3161 timestamps when present but cannot require one',
    },
  },
  'timestamp-certificate-chain': {
    type: 'string',
    treatment: {
      kind: 'refuse',
      why:
        '--timestamp-certificate-chain is not supported: give the timestamp authority in a --trusted-root (timestampAuthorities), as cosign 3 recommends',
    },
  },
  'attachment-tag-prefix': {
    type: 'string',
    treatment: {
      kind: 'refuse',
      why:
        '--attachment-tag-prefix is not supported: sigward reads the standard sha256-<hex>.sig tags and OCI referrers',
    },
  },
  sct: {
    type: 'string',
    treatment: {
      kind: 'refuse',
      why: '--sct (a detached SCT) is not supported: sigward reads the SCT embedded in the certificate',
    },
  },
  signature: {
    type: 'string',
    treatment: {
      kind: 'refuse',
      why: '--signature (a detached signature) is not supported: sigward reads signatures from the registry',
    },
  },
  payload: {
    type: 'string',
    treatment: {
      kind: 'refuse',
      why: '--payload (a detached payload) is not supported: sigward reads payloads from the registry',
    },
  },
  attachment: {
    type: 'string',
    treatment: {
      kind: 'refuse',
      why: '--attachment is not supported: verify attached SBOMs as attestations (verify-attestation --type)',
    },
  },
  sk: {
    type: 'boolean',
    refusedValue: true,
    treatment: {
      kind: 'refuse',
      why: '--sk (a hardware security key) is not supported: give the public key with --key',
    },
  },
  slot: {
    type: 'string',
    treatment: {
      kind: 'refuse',
      why: '--slot (a hardware security key slot) is not supported: give the public key with --key',
    },
  },
};

/** Adds cosign's hidden/deprecated flags (hidden from sigward's help too; README lists them). */
export function addCosignFlags(y: Argv): Argv {
  let out = y;
  for (const [name, f] of Object.entries(COSIGN_FLAGS)) {
    out = out.option(name, { type: f.type, hidden: true, ...(f.type !== 'boolean' ? { requiresArg: true } : {}) });
  }
  return out
    .option('verbose', {
      alias: 'd',
      type: 'boolean',
      hidden: true,
      describe: 'cosign --verbose: the same as --log-level debug',
    })
    .option('output-file', {
      type: 'string',
      requiresArg: true,
      hidden: true,
      describe: 'write the output to this file instead of stdout (cosign --output-file)',
    });
}

/**
 * Applies cosign's flags to the parsed arguments before anything runs: aliases
 * set the flag they stand for, refused flags throw a usage error, and the
 * warnings to print are returned.
 */
export function applyCosignFlags(args: Record<string, unknown>): string[] {
  const warnings: string[] = [];
  for (const [name, f] of Object.entries(COSIGN_FLAGS)) {
    const v = args[name];
    if (v === undefined) continue;
    if (f.type === 'boolean' && f.refusedValue !== undefined && v !== f.refusedValue) continue;
    const t = f.treatment;
    if (t.kind === 'refuse') throw new SigwardError('CONFIG_INVALID', t.why);
    if (t.kind === 'alias') {
      if (v === true) args[t.of] = true;
    } else if (t.kind === 'warn') warnings.push(`--${name} is accepted for cosign compatibility: ${t.why}`);
  }
  if (args.verbose === true) args['log-level'] = 'debug';
  return warnings;
}
