// The webhook's verification cache (lib/engine/cache.ts) and evaluation
// semaphore (lib/server/semaphore.ts): TTLs, size bound, coalescing, dry-run
// refusal, queue bound and deadlines.

import t from 'tap';
import { createResultCache, type CacheLookup } from '../../lib/engine/cache.ts';
import { createSemaphore } from '../../lib/server/semaphore.ts';
import { getDeadlineMs } from '../../lib/server/webhook.ts';
import { parseTimeoutParam } from '../../lib/server/server.ts';

const tick = () => new Promise((r) => setImmediate(r));

t.test('cache: settled successes kept for their TTL; resolve keys expire sooner', async (t) => {
  let now = 1000;
  const seen: Array<[string, CacheLookup]> = [];
  const c = createResultCache({ ttlMs: 60_000, resolveTtlMs: 5_000, now: () => now, onLookup: (k, o) => seen.push([k, o]) });
  c.offer('sig|sha256:a|repo|fp|{}', Promise.resolve('verified'));
  c.offer('resolve|registry:r/x:v1@', Promise.resolve('sha256:a'));
  await tick();
  t.equal(await c.get('sig|sha256:a|repo|fp|{}'), 'verified');
  t.equal(await c.get('resolve|registry:r/x:v1@'), 'sha256:a');
  now += 6_000;
  t.equal(c.get('resolve|registry:r/x:v1@'), undefined, 'tag resolution expired after 5 s');
  t.ok(c.get('sig|sha256:a|repo|fp|{}'), 'verification still cached');
  now += 60_000;
  t.equal(c.get('sig|sha256:a|repo|fp|{}'), undefined, 'verification expired after 60 s');
  t.same(seen.map(([k, o]) => `${k}:${o}`), ['sig:hit', 'resolve:hit', 'resolve:expired', 'sig:hit', 'sig:expired']);
});

t.test('cache: failures are not kept; pending computations are shared', async (t) => {
  const c = createResultCache();
  let reject!: (e: Error) => void;
  const failing = new Promise((_, r) => (reject = r));
  c.offer('sig|x', failing);
  t.equal(c.get('sig|x'), failing, 'a second caller gets the computation in flight (coalesced)');
  reject(new Error('registry unreachable'));
  await failing.catch(() => {});
  await tick();
  t.equal(c.get('sig|x'), undefined, 'a failure is dropped once settled');
  t.equal(c.size, 0);
});

t.test('cache: size bound evicts the least recently used settled entries', async (t) => {
  const c = createResultCache({ maxEntries: 3 });
  for (const k of ['a', 'b', 'c']) c.offer(`sig|${k}`, Promise.resolve(k));
  await tick();
  c.get('sig|a'); // a is now most recent
  c.offer('sig|d', Promise.resolve('d'));
  await tick();
  t.equal(c.size, 3);
  t.equal(c.get('sig|b'), undefined, 'b (least recently used) evicted');
  t.ok(c.get('sig|a') && c.get('sig|c') && c.get('sig|d'));
  let pendingResolve!: (v: string) => void;
  c.offer('sig|p', new Promise((r) => (pendingResolve = r)));
  t.ok(c.get('sig|p'), 'a pending entry is never the one evicted');
  pendingResolve('p');
  await tick();
  t.ok(c.size <= 3);
});

t.test('cache: accept() false (dry run) keeps nothing', async (t) => {
  let dry = true;
  const c = createResultCache({ accept: () => !dry });
  c.offer('sig|x', Promise.resolve(1));
  await tick();
  t.equal(c.get('sig|x'), undefined);
  dry = false;
  c.offer('sig|x', Promise.resolve(1));
  await tick();
  t.equal(await c.get('sig|x'), 1);
});

t.test('semaphore: bounded concurrency, FIFO queue, queue bound, deadline while waiting', async (t) => {
  const s = createSemaphore(2, 1);
  const r1 = await s.acquire();
  const r2 = await s.acquire();
  t.equal(s.active, 2);
  let third = false;
  const p3 = s.acquire().then((r) => {
    third = true;
    return r;
  });
  await t.rejects(s.acquire(), /webhook overloaded/, 'queue full: refused at once');
  await tick();
  t.equal(third, false, 'third waits');
  r1();
  const r3 = await p3;
  t.equal(third, true, 'third runs once a slot frees');
  r1(); // releasing twice is harmless
  t.equal(s.active, 2);
  const ac = new AbortController();
  const p4 = s.acquire(ac.signal);
  ac.abort();
  await t.rejects(p4, /deadline passed while waiting/);
  t.equal(s.waiting, 0, 'the abandoned waiter left the queue');
  r2();
  r3();
  t.equal(s.active, 0);
});

t.test('deadline: answer before the API server gives up', async (t) => {
  t.equal(getDeadlineMs(10), 9000);
  t.equal(getDeadlineMs(30), 29000);
  t.equal(getDeadlineMs(1), 800);
  t.equal(getDeadlineMs(2), 1800);
  t.equal(parseTimeoutParam('10s'), 10);
  t.equal(parseTimeoutParam('1m0s'), 60);
  t.equal(parseTimeoutParam('1500ms'), 1.5);
  t.equal(parseTimeoutParam('junk'), undefined);
  t.equal(parseTimeoutParam(null), undefined);
});
