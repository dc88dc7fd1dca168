// The Sigstore public-good trusted_root.json, embedded at build time from the
// TUF seed shipped in @sigstore/tuf (the same bytes its TUF client starts
// from), so that the single binary verifies public-good signatures offline.
// Upgrading @sigstore/tuf refreshes it.

import seeds from '@sigstore/tuf/seeds.json' with { type: 'json' };

export const PUBLIC_GOOD_MIRROR = 'https://tuf-repo-cdn.sigstore.dev';

/** The embedded public-good trusted_root.json text. */
export function getEmbeddedTrustedRootJSON(): string {
  const mirror = (seeds as Record<string, { targets?: Record<string, string> }>)[PUBLIC_GOOD_MIRROR];
  const b64 = mirror?.targets?.['trusted_root.json'];
  if (!b64) throw new Error('@sigstore/tuf seeds.json has no trusted_root.json target');
  return Buffer.from(b64, 'base64').toString('utf8');
}
