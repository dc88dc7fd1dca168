// The webhook's verification cache (lib/engine/cache.ts) and evaluation
// semaphore (lib/server/semaphore.ts): TTLs, size bound, coalescing, dry-run
// refusal, queue bound, per-registry shares and deadlines; shared work and
// deadlines of lib/abort.ts.

import t from 'tap';
import { getEventListeners } from 'node:events';
import { createDeadline, raceAbort, raceSignal, shareWork } from '../../lib/abort.ts';
import { type CacheLookup, createResultCache } from '../../lib/engine/cache.ts';
import { createSemaphore } from '../../lib/semaphore.ts';
import { getDeadlineMs } from '../../lib/server/webhook.ts';
import { parseTimeoutParam } from '../../lib/server/server.ts';

const tick = () => new Promise((r) => setImmediate(r));
/** Work a caller waits for (the engine offers, then joins, every computation). */
function running<T>(fn: () => Promise<T>) {
  const w = shareWork(fn);
  w.join().catch(() => {});
  return w;
}
const done = <T>(v: T) => running(() => Promise.resolve(v));

t.test('cache: settled successes kept for their TTL; resolve keys expire sooner', async (t) => {
  let now = 1000;
  const seen: Array<[string, CacheLookup]> = [];
  const c = createResultCache({
    ttlMs: 60_000,
    resolveTtlMs: 5_000,
    now: () => now,
    onLookup: (k, o) => seen.push([k, o]),
  });
  c.offer('sig|sha256:a|repo|fp|{}', done('verified'));
  c.offer('resolve|registry:r/x:v1@', done('sha256:a'));
  await c.get('sig|sha256:a|repo|fp|{}')!.promise;
  seen.length = 0;
  await tick();
  t.equal(await c.get('sig|sha256:a|repo|fp|{}')!.join(), 'verified');
  t.equal(await c.get('resolve|registry:r/x:v1@')!.join(), 'sha256:a');
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
  const failing = running(() => new Promise((_, r) => (reject = r)));
  c.offer('sig|x', failing);
  t.equal(c.get('sig|x'), failing, 'a second caller gets the computation in flight (coalesced)');
  reject(new Error('registry unreachable'));
  await failing.promise.catch(() => {});
  await tick();
  t.equal(c.get('sig|x'), undefined, 'a failure is dropped once settled');
  t.equal(c.size, 0);
});

t.test('cache: size bound evicts the least recently used settled entries', async (t) => {
  const c = createResultCache({ maxEntries: 3 });
  for (const k of ['a', 'b', 'c']) {
    c.offer(`sig|${k}`, done(k));
  }
  await tick();
  c.get('sig|a'); // a is now most recent
  const d = done('d');
  c.offer('sig|d', d);
  await d.promise;
  await tick();
  t.equal(c.size, 3);
  t.equal(c.get('sig|b'), undefined, 'b (least recently used) evicted');
  t.ok(c.get('sig|a') && c.get('sig|c') && c.get('sig|d'));
  let pendingResolve!: (v: string) => void;
  c.offer('sig|p', running(() => new Promise<string>((r) => (pendingResolve = r))));
  await tick();
  t.ok(c.get('sig|p'), 'a pending entry is never the one evicted');
  pendingResolve('p');
  await tick();
  t.ok(c.size <= 3);
});

t.test('cache: accept() false (dry run) keeps nothing', async (t) => {
  let dry = true;
  const c = createResultCache({ accept: () => !dry });
  c.offer('sig|x', done(1));
  await tick();
  t.equal(c.get('sig|x'), undefined);
  dry = false;
  const one = done(1);
  c.offer('sig|x', one);
  await one.promise;
  await tick();
  t.equal(await c.get('sig|x')!.join(), 1);
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

t.test('semaphore: one registry host gets a share of the slots and of the queue, others pass it', async (t) => {
  const s = createSemaphore(4, 4); // defaults: 3 slots and 3 waiting per registry
  const hung = [
    await s.acquire(undefined, ['hung:5000']),
    await s.acquire(undefined, ['hung:5000']),
    await s.acquire(undefined, ['hung:5000']),
  ];
  t.equal(s.active, 3);
  const queued = [
    s.acquire(undefined, ['hung:5000']),
    s.acquire(undefined, ['hung:5000']),
    s.acquire(undefined, ['hung:5000']),
  ];
  t.equal(s.waiting, 3, 'a fourth evaluation for the same registry waits although a slot is free');
  await t.rejects(
    s.acquire(undefined, ['hung:5000']),
    /webhook overloaded: 3 running and 3 waiting for hung:5000/,
    "the registry's share of the queue is full",
  );
  const other = await s.acquire(undefined, ['registry.example']);
  t.equal(s.active, 4, 'another registry takes the free slot at once, past the waiters');
  const later = s.acquire(undefined, ['registry.example']);
  other();
  await later.then((r) => r());
  t.equal(s.waiting, 3, 'the freed slot went to the other registry waiting behind them, not to the capped ones');
  hung[0]!();
  const first = await queued[0]!;
  t.equal(s.waiting, 2, 'a slot of the capped registry goes to its first waiter');
  for (const r of [...hung.slice(1), first]) r();
  for (const r of await Promise.all(queued.slice(1))) r();
  t.same([s.active, s.waiting], [0, 0]);
  const both = await s.acquire(undefined, ['a', 'b', 'a']);
  t.equal(s.active, 1, 'a request naming several registries takes one slot');
  both();
});

t.test('shared work: every caller has its own deadline; the work stops when the last one leaves', async (t) => {
  let aborted: unknown;
  let finish!: (v: string) => void;
  const w = shareWork((signal) => {
    signal.addEventListener('abort', () => (aborted = signal.reason));
    return new Promise<string>((r) => (finish = r));
  });
  const a = new AbortController();
  const b = new AbortController();
  const pa = w.join(a.signal);
  const pb = w.join(b.signal);
  a.abort();
  await t.rejects(
    pa,
    { code: 'REGISTRY_UNREACHABLE', message: /verification abandoned/ },
    'the caller that gave up gets an undecided error at once',
  );
  t.equal(aborted, undefined, 'the other caller still waits: the work goes on');
  finish('verified');
  t.equal(await pb, 'verified');
  t.equal(w.abandoned, false);

  const lone = shareWork((signal) =>
    new Promise<string>((_, reject) => signal.addEventListener('abort', () => reject(new Error('aborted'))))
  );
  const c = new AbortController();
  const pc = lone.join(c.signal);
  c.abort();
  await t.rejects(pc, /verification abandoned/);
  await t.rejects(lone.promise, /aborted/, 'the last caller gone: the work itself is aborted');
  t.equal(lone.abandoned, true, 'and marked so that nobody reuses it');

  let started = 0;
  const idle = shareWork(async () => ++started);
  const gone = new AbortController();
  gone.abort();
  await t.rejects(idle.join(gone.signal), /abandoned/);
  await tick();
  t.equal(started, 0, 'a caller that arrives already cancelled starts nothing');
  t.equal(await idle.join(), 1, 'a caller without a signal waits for the result');
});

t.test('deadline: fires after its time or with its parent; clear() releases the timer on every path', async (t) => {
  const timers = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
  const before = timers();
  const many = Array.from({ length: 50 }, () => createDeadline(60_000));
  t.equal(timers(), before + 50, 'one timer per deadline');
  for (const d of many) d.clear();
  t.equal(timers(), before, 'cleared: no timer is left behind for the rest of the budget');
  t.ok(many.every((d) => !d.signal.aborted), 'clear() does not abort');

  const short = createDeadline(20);
  await new Promise((r) => setTimeout(r, 40));
  t.equal(short.signal.aborted, true);
  t.equal((short.signal.reason as Error).name, 'TimeoutError');
  short.clear();

  const parent = new AbortController();
  const child = createDeadline(60_000, [parent.signal, undefined]);
  parent.abort(new Error('client gone'));
  t.equal(child.signal.aborted, true, 'the parent aborts it');
  t.equal((child.signal.reason as Error).message, 'client gone');
  t.equal(timers(), before, 'and its timer is gone with it');
  const late = createDeadline(60_000, [parent.signal]);
  t.equal(late.signal.aborted, true, 'a parent already aborted: aborted at once, no timer');
  t.equal(timers(), before);
});

t.test('raceSignal / raceAbort: the signal or the promise, whichever comes first, and no listener left', async (t) => {
  const never = new Promise<string>(() => {});
  const ac = new AbortController();
  const timedOut = raceSignal(never, ac.signal, () => 'timed out' as const);
  t.equal(getEventListeners(ac.signal, 'abort').length, 1);
  ac.abort();
  t.equal(await timedOut, 'timed out', 'the signal first: what ifAborted gives');
  t.equal(getEventListeners(ac.signal, 'abort').length, 0);

  const live = new AbortController();
  t.equal(await raceSignal(Promise.resolve('done'), live.signal, () => 'timed out'), 'done');
  await t.rejects(raceSignal(Promise.reject(new Error('boom')), live.signal, () => 'timed out'), /boom/);
  t.equal(getEventListeners(live.signal, 'abort').length, 0, 'settled first: the listener is removed');

  // already aborted: at once, and a later rejection of the promise is not left unhandled
  let rejectLater!: (e: Error) => void;
  const later = new Promise<string>((_, reject) => (rejectLater = reject));
  t.equal(await raceSignal(later, ac.signal, () => 'timed out'), 'timed out');
  rejectLater(new Error('late'));

  const gone = new AbortController();
  const abandoned = raceAbort(never, gone.signal);
  gone.abort(new DOMException('deadline', 'TimeoutError'));
  await t.rejects(abandoned, { code: 'REGISTRY_UNREACHABLE', message: 'verification abandoned: deadline exceeded' });
  await t.rejects(raceAbort(never, gone.signal), { code: 'REGISTRY_UNREACHABLE' }, 'already aborted: rejects at once');
  t.equal(await raceAbort(Promise.resolve(7), undefined), 7, 'no signal: the promise itself');
});
