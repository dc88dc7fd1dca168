// Bounded concurrency with an abortable queue, for the webhook's evaluations
// and the registry client's connections per host: at most `limit` run at once,
// at most `maxQueue` wait. A waiter gives up when its AbortSignal fires (the
// request deadline, the client gone) and leaves the queue at once; a full
// queue is refused at once, so an overloaded replica answers quickly instead
// of piling up work the API server has already given up on.
//
// A holder also names the keys it needs (for evaluations: the registry hosts
// they will ask; for connections: the host): at most `keyLimit` holders per
// key run at once and at most `keyQueue` wait, so Pods pointing at one
// registry that never answers cannot take every slot (or the whole queue)
// from Pods of other registries. The queue is FIFO among waiters that can
// run: one blocked only by its key's limit is passed over, never a
// head-of-line block for the others.

import { SigwardError } from './errors.ts';

export type Release = () => void;

export interface Semaphore {
  /** resolves with a release function; rejects with SigwardError when the queue (or the keys' share of it) is full or the signal fires */
  acquire(signal?: AbortSignal, keys?: readonly string[]): Promise<Release>;
  readonly active: number;
  readonly waiting: number;
  readonly limit: number;
}

export interface SemaphoreOptions {
  /** holders per key at once; default: limit minus a quarter (at least 1) */
  keyLimit?: number;
  /** waiters per key; default: maxQueue minus a quarter */
  keyQueue?: number;
  /** what is bounded, for messages: default 'webhook' ("webhook overloaded: ...") */
  name?: string;
}

interface Waiter {
  keys: readonly string[];
  grant: (r: Release) => void;
  cancel: () => void;
}

/** A share of `n` that leaves a quarter of it (at least one) to others, when n allows. */
export function defaultKeyShare(n: number): number {
  return Math.max(1, n - Math.max(1, Math.floor(n / 4)));
}

export function createSemaphore(limit: number, maxQueue: number, opts: SemaphoreOptions = {}): Semaphore {
  if (!(limit >= 1)) throw new SigwardError('CONFIG_INVALID', `concurrency limit must be at least 1 (got ${limit})`);
  const keyLimit = opts.keyLimit ?? defaultKeyShare(limit);
  const keyQueue = opts.keyQueue ?? defaultKeyShare(maxQueue);
  if (!(keyLimit >= 1)) {
    throw new SigwardError('CONFIG_INVALID', `per-registry concurrency limit must be at least 1 (got ${keyLimit})`);
  }
  let active = 0;
  const running = new Map<string, number>();
  const waitingByKey = new Map<string, number>();
  const queue: Waiter[] = [];

  const inc = (m: Map<string, number>, k: string, d: number) => {
    const v = (m.get(k) ?? 0) + d;
    if (v <= 0) m.delete(k);
    else m.set(k, v);
  };
  const canRun = (keys: readonly string[]) => active < limit && keys.every((k) => (running.get(k) ?? 0) < keyLimit);

  function take(keys: readonly string[]): Release {
    active++;
    for (const k of keys) inc(running, k, 1);
    let done = false;
    return () => {
      if (done) return;
      done = true;
      active--;
      for (const k of keys) inc(running, k, -1);
      grantRunnable();
    };
  }

  /** Grants, in queue order, every waiter that can run now. */
  function grantRunnable(): void {
    for (let i = 0; i < queue.length && active < limit;) {
      const w = queue[i]!;
      if (!canRun(w.keys)) {
        i++;
        continue;
      }
      queue.splice(i, 1);
      for (const k of w.keys) inc(waitingByKey, k, -1);
      w.grant(take(w.keys));
    }
  }

  const name = opts.name ?? 'webhook';
  const overloaded = (why: string) =>
    new SigwardError('INTERNAL', `${name} overloaded: ${why}`, { outcome: 'undecided', detail: { overloaded: true } });
  const deadline = () =>
    new SigwardError('INTERNAL', `request deadline passed while waiting for a ${name} slot`, { outcome: 'undecided' });

  return {
    get active() {
      return active;
    },
    get waiting() {
      return queue.length;
    },
    limit,
    acquire(signal, keyList = []) {
      if (signal?.aborted) return Promise.reject(deadline());
      const keys = [...new Set(keyList)];
      if (canRun(keys)) return Promise.resolve(take(keys));
      if (queue.length >= maxQueue) return Promise.reject(overloaded(`${active} running and ${queue.length} waiting`));
      const full = keys.find((k) => (waitingByKey.get(k) ?? 0) >= keyQueue);
      if (full !== undefined) {
        return Promise.reject(
          overloaded(`${running.get(full) ?? 0} running and ${waitingByKey.get(full)} waiting for ${full}`),
        );
      }
      return new Promise<Release>((resolve, reject) => {
        const onAbort = () => w.cancel();
        const w: Waiter = {
          keys,
          grant: (r) => {
            signal?.removeEventListener('abort', onAbort);
            resolve(r);
          },
          cancel: () => {
            const i = queue.indexOf(w);
            if (i === -1) return;
            queue.splice(i, 1);
            for (const k of keys) inc(waitingByKey, k, -1);
            reject(deadline());
          },
        };
        queue.push(w);
        for (const k of keys) inc(waitingByKey, k, 1);
        signal?.addEventListener('abort', onAbort, { once: true });
      });
    },
  };
}
