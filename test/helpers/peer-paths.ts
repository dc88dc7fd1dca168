// Where scripts/peers.sh puts the real peers' binaries. No tap here, so
// benchmarks can import it (test/helpers/peers.ts adds the tap helpers).

import { join } from 'node:path';
import { ROOT } from './fixtures.ts';

/** The folder holding the peers' binaries (SIGWARD_PEERS_BIN, or SIGWARD_PEERS/bin, or .peers/bin). */
export const PEERS_BIN = process.env.SIGWARD_PEERS_BIN ??
  join(process.env.SIGWARD_PEERS ?? join(ROOT, '.peers'), 'bin');
export const COSIGN = join(PEERS_BIN, 'cosign');
export const SIGSTORE_GO = join(PEERS_BIN, 'sigstore-go-verification');
export const CONTAINERD = join(PEERS_BIN, 'containerd');
export const CTR = join(PEERS_BIN, 'ctr');
/** skopeo 1.22 (sid), run through sid's loader by the wrapper scripts/peers.sh writes */
export const SKOPEO = join(PEERS_BIN, 'skopeo');

/**
 * cosign's arguments for a signing config without Fulcio, Rekor, OIDC or TSA,
 * written to `out` (relative to cosign's working directory), so that
 * `cosign sign --signing-config OUT` makes a v3 bundle offline.
 */
export function offlineSigningConfigArgs(out = 'sc.json'): string[] {
  return [
    'signing-config',
    'create',
    '--no-default-fulcio',
    '--no-default-rekor',
    '--no-default-oidc',
    '--no-default-tsa',
    '--out',
    out,
  ];
}
