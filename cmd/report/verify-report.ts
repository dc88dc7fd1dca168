// What `sigward verify` reports per image, whatever verified it (cosign
// signatures or Notary): the `sigward.verify/v1` JSON document, the line for an
// image that was not allowed, and the exit code of a run over several images.

import { EXIT_CODES, type SigwardError } from '../../lib/errors.ts';
import { errorToJson, type Io, printNotAllowed } from '../output.ts';

/** One image's outcome; `V` is what verified it. */
export interface ImageReport<V> {
  image: string;
  verified: boolean;
  /** allowed without verification (a Notary trust policy at level skip) */
  skipped?: boolean;
  digest?: string;
  verification?: V;
  error?: SigwardError;
}

/** The `sigward.verify/v1` document; `detail` gives a verified image's signature fields. */
export function toVerifyDocument<V>(
  results: readonly ImageReport<V>[],
  detail: (v: V) => Record<string, unknown>,
): Record<string, unknown> {
  return {
    schema: 'sigward.verify/v1',
    verified: results.every((r) => r.verified),
    images: results.map((r) => ({
      image: r.image,
      verified: r.verified,
      ...(r.skipped ? { skipped: true } : {}),
      ...(r.digest ? { digest: r.digest } : {}),
      ...(r.verification ? detail(r.verification) : {}),
      ...(r.error ? { error: errorToJson(r.error) } : {}),
    })),
  };
}

/** The text line of an image that was not verified (a denial on stdout, anything else on stderr). */
export function printImageNotVerified(io: Io, r: ImageReport<unknown>): void {
  printNotAllowed(
    io,
    r.error?.outcome ?? 'deny',
    `${r.image}: image verification failed for ${r.image}: ${r.error?.message ?? 'unknown error'}`,
  );
}

/** The run's exit code: usage errors first, then "could not decide", then denials; 0 when all verified. */
export function toVerifyExitCode(results: readonly ImageReport<unknown>[]): number {
  for (const o of ['usage', 'undecided', 'deny'] as const) {
    if (results.some((r) => !r.verified && (r.error?.outcome ?? 'deny') === o)) return EXIT_CODES[o];
  }
  return 0;
}
