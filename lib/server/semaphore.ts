// Bounded concurrency for evaluations: at most `limit` run at once, at most
// `maxQueue` wait (FIFO). A waiter gives up when its AbortSignal fires (the
// request deadline); a full queue is refused at once, so an overloaded
// replica answers quickly instead of piling up work the API server has
// already given up on.

import { SigwardError } from '../errors.ts';

export type Release = () => void;

export interface Semaphore {
  /** resolves with a release function; rejects with SigwardError when the queue is full or the signal fires */
  acquire(signal?: AbortSignal): Promise<Release>;
  readonly active: number;
  readonly waiting: number;
  readonly limit: number;
}

interface Waiter {
  grant: (r: Release) => void;
  cancel: () => void;
}

export function createSemaphore(limit: number, maxQueue: number): Semaphore {
  if (!(limit >= 1)) throw new SigwardError('CONFIG_INVALID', `concurrency limit must be at least 1 (got ${limit})`);
  let active = 0;
  const queue: Waiter[] = [];

  function makeRelease(): Release {
    let done = false;
    return () => {
      if (done) return;
      done = true;
      const next = queue.shift();
      if (next) next.grant(makeRelease());
      else active--;
    };
  }

  return {
    get active() {
      return active;
    },
    get waiting() {
      return queue.length;
    },
    limit,
    acquire(signal) {
      if (signal?.aborted) return Promise.reject(new SigwardError('INTERNAL', 'request deadline passed while waiting for an evaluation slot', { outcome: 'undecided' }));
      if (active < limit) {
        active++;
        return Promise.resolve(makeRelease());
      }
      if (queue.length >= maxQueue) {
        return Promise.reject(new SigwardError('INTERNAL', `webhook overloaded: ${active} evaluations running and ${queue.length} waiting`, { outcome: 'undecided', detail: { overloaded: true } }));
      }
      return new Promise<Release>((resolve, reject) => {
        const onAbort = () => w.cancel();
        const w: Waiter = {
          grant: (r) => {
            signal?.removeEventListener('abort', onAbort);
            resolve(r);
          },
          cancel: () => {
            const i = queue.indexOf(w);
            if (i !== -1) queue.splice(i, 1);
            reject(new SigwardError('INTERNAL', 'request deadline passed while waiting for an evaluation slot', { outcome: 'undecided' }));
          },
        };
        queue.push(w);
        signal?.addEventListener('abort', onAbort, { once: true });
      });
    },
  };
}
