// Cancellation, shared by every layer that waits (webhook, engine, registry client):
//   - a deadline: an AbortSignal that fires after `ms` or when a parent signal
//     does, whose timer and parent listeners are released by clear() on every
//     path (a finished request must not leave a timer behind for its budget);
//   - shared work: one computation that several callers wait for (identical
//     verifications coalesced across requests, one token fetch for many
//     requests). Each caller joins with its own signal and leaves when that
//     signal fires; the computation itself is aborted when the last caller has
//     left, so work nobody waits for any more stops, and a caller that gave up
//     never fails the others.

import { SigwardError } from './errors.ts';

/** What a caller that gave up gets: undecided, like a registry that did not answer in time. */
export function toAbandonedError(signal: AbortSignal): SigwardError {
  const reason = signal.reason as unknown;
  const why = reason instanceof Error && reason.name === 'TimeoutError'
    ? 'deadline exceeded'
    : reason instanceof Error && reason.message
    ? reason.message
    : 'request cancelled';
  return new SigwardError('REGISTRY_UNREACHABLE', `verification abandoned: ${why}`, {
    outcome: 'undecided',
    cause: reason,
  });
}

export interface Deadline {
  readonly signal: AbortSignal;
  /** releases the timer and the parent listeners (the signal stays as it is) */
  clear(): void;
}

/** A signal that aborts after `ms` (with a TimeoutError) or as soon as any parent aborts (with its reason). */
export function createDeadline(ms: number, parents: readonly (AbortSignal | undefined)[] = []): Deadline {
  const ac = new AbortController();
  const ps = parents.filter((p): p is AbortSignal => p !== undefined);
  let timer: ReturnType<typeof setTimeout> | undefined;
  const onParent = (e: Event) => abort((e.target as AbortSignal).reason);
  function clear(): void {
    if (timer !== undefined) clearTimeout(timer);
    timer = undefined;
    for (const p of ps) p.removeEventListener('abort', onParent);
  }
  function abort(reason: unknown): void {
    clear();
    if (!ac.signal.aborted) ac.abort(reason);
  }
  const already = ps.find((p) => p.aborted);
  if (already) abort(already.reason);
  else {
    for (const p of ps) p.addEventListener('abort', onParent, { once: true });
    timer = setTimeout(() => abort(new DOMException(`deadline of ${ms} ms exceeded`, 'TimeoutError')), Math.max(0, ms));
  }
  return { signal: ac.signal, clear };
}

/**
 * Settles as `p` does, or with `ifAborted()` (its value, or what it throws)
 * when `signal` fires first; `p`'s later outcome is then dropped. The
 * listener is removed either way.
 */
export function raceSignal<T, U>(p: Promise<T>, signal: AbortSignal, ifAborted: () => U): Promise<T | U> {
  const aborted = (resolve: (v: U) => void, reject: (e: unknown) => void) => {
    p.catch(() => {});
    try {
      resolve(ifAborted());
    } catch (e) {
      reject(e);
    }
  };
  if (signal.aborted) return new Promise<U>(aborted);
  return new Promise<T | U>((resolve, reject) => {
    const onAbort = () => aborted(resolve, reject);
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(e);
      },
    );
  });
}

/** Rejects with toAbandonedError when `signal` fires first; otherwise settles as `p` does. The listener is removed either way. */
export function raceAbort<T>(p: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return p;
  return raceSignal(p, signal, (): never => {
    throw toAbandonedError(signal);
  });
}

export interface SharedWork<T> {
  /** the computation's own outcome (rejects when it was abandoned); only a join starts it */
  readonly promise: Promise<T>;
  /** true once every caller left before it settled: it was aborted, and its result is not to be reused */
  readonly abandoned: boolean;
  readonly settled: boolean;
  /** waits for the result; rejects with toAbandonedError when `signal` fires first (without a signal: never gives up) */
  join(signal?: AbortSignal): Promise<T>;
}

/**
 * Work started by the first join, aborted when every caller that joined has
 * left before it settled. Join it right away (with a live signal): work nobody
 * joins never starts.
 */
export function shareWork<T>(fn: (signal: AbortSignal) => Promise<T>): SharedWork<T> {
  const ac = new AbortController();
  let resolveOutcome!: (v: T) => void;
  let rejectOutcome!: (e: unknown) => void;
  const outcome = new Promise<T>((resolve, reject) => {
    resolveOutcome = resolve;
    rejectOutcome = reject;
  });
  outcome.catch(() => {});
  let started = false;
  let settled = false;
  let abandoned = false;
  let waiting = 0;
  const start = (): Promise<T> => {
    if (!started) {
      started = true;
      let run: Promise<T>;
      try {
        run = Promise.resolve(fn(ac.signal));
      } catch (e) {
        run = Promise.reject(e);
      }
      run.then(
        (v) => {
          settled = true;
          resolveOutcome(v);
        },
        (e: unknown) => {
          settled = true;
          rejectOutcome(e);
        },
      );
    }
    return outcome;
  };
  const leave = (): void => {
    waiting--;
    if (waiting === 0 && !settled && !abandoned) {
      abandoned = true;
      ac.abort(new DOMException('every caller gave up', 'AbortError'));
    }
  };
  return {
    get promise() {
      return outcome;
    },
    get abandoned() {
      return abandoned;
    },
    get settled() {
      return settled;
    },
    join(signal) {
      if (signal?.aborted) return Promise.reject(toAbandonedError(signal));
      const p = start();
      if (settled) return p;
      waiting++;
      if (!signal) return p; // a caller that never gives up keeps the work alive
      return new Promise<T>((resolve, reject) => {
        let left = false;
        const onAbort = () => {
          if (left) return;
          left = true;
          reject(toAbandonedError(signal));
          leave();
        };
        signal.addEventListener('abort', onAbort, { once: true });
        const done = () => {
          signal.removeEventListener('abort', onAbort);
          if (!left) {
            left = true;
            waiting--;
          }
        };
        p.then(
          (v) => {
            done();
            resolve(v);
          },
          (e: unknown) => {
            done();
            reject(e);
          },
        );
      });
    },
  };
}
