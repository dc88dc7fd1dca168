// The registry client against a host that accepts connections and never
// answers: at most 16 requests hold a connection to it, the rest wait in the
// client's own queue; when their signal fires every request ends at once and
// closes its connection; a real registry answers meanwhile as if nothing were
// wrong.

import t from 'tap';
import type { Test } from 'tap';
import { createServer, type Socket } from 'node:net';
import { RegistryClient } from '../../lib/oci/registry.ts';
import { pushImage, withRegistry } from '../helpers/registry.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function blackhole(t: Test) {
  const sockets = new Set<Socket>();
  let peak = 0;
  const server = createServer((s) => {
    sockets.add(s);
    peak = Math.max(peak, sockets.size);
    s.resume();
    s.on('error', () => {});
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  t.teardown(() => {
    for (const s of sockets) s.destroy();
    server.close();
  });
  return {
    host: `127.0.0.1:${(server.address() as { port: number }).port}`,
    open: () => sockets.size,
    peak: () => peak,
  };
}

t.test('a host that never answers: bounded, abortable, and no harm to other hosts', async (t) => {
  const reg = await withRegistry(t);
  const hole = await blackhole(t);
  const client = new RegistryClient({ timeoutMs: 60_000 });
  t.teardown(() => client.close());
  const digest = await pushImage(client, reg.ref('ok/app'), { tag: 'v1' });

  const ac = new AbortController();
  const hung = Array.from(
    { length: 40 },
    (_, i) =>
      client.resolve({ transport: 'registry', registry: hole.host, repository: `x/img${i}` }, 'v1', {
        signal: ac.signal,
      }).then(
        () => 'answered',
        (e: { code?: string; message?: string }) => `${e.code}: ${e.message}`,
      ),
  );
  await sleep(300);
  t.equal(hole.open(), 16, 'sixteen connections to the host; the other 24 requests wait in the client');
  const started = Date.now();
  t.equal((await client.resolve(reg.ref('ok/app'), 'v1')).digest, digest, 'another registry answers meanwhile');
  t.ok(Date.now() - started < 2000, `without waiting behind them (${Date.now() - started} ms)`);

  ac.abort();
  const outcomes = await Promise.all(hung);
  t.ok(
    outcomes.every((o) => /^REGISTRY_UNREACHABLE: registry unreachable: 127\.0\.0\.1:\d+: request aborted$/.test(o)),
    `every request ends at once, undecided (${outcomes[0]})`,
  );
  await sleep(300);
  t.equal(hole.open(), 0, 'and closes its connection, also those still connecting');
  t.equal(hole.peak(), 16, 'never more than sixteen at once');
});

t.test('a token fetch shared by two requests: the one that gives up does not fail the other', async (t) => {
  const { mkdtemp, rm } = await import('node:fs/promises');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const { startTokenServer } = await import('./token-server.ts');
  const dir = await mkdtemp(join(tmpdir(), 'sigward-token-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const ts = await startTokenServer({ dir, users: { bob: 'hunter2' }, anonymousPull: true, delayMs: 400 });
  t.teardown(() => ts.stop());
  const reg = await withRegistry(t, {
    tokenAuth: { realm: ts.realm, service: ts.service, issuer: ts.issuer, rootCertPem: ts.rootCertPem },
  });
  const bob = new RegistryClient({
    credentials: async (r) => (r === reg.host ? { username: 'bob', password: 'hunter2' } : undefined),
  });
  t.teardown(() => bob.close());
  const digest = await pushImage(bob, reg.ref('team/app'), { tag: 'v1' });

  const anon = new RegistryClient();
  t.teardown(() => anon.close());
  await t.rejects(anon.resolve(reg.ref('team/other'), 'v1'), 'learns the challenge (and caches nothing for team/app)');
  ts.requests.length = 0;
  const quitter = new AbortController();
  const a = anon.resolve(reg.ref('team/app'), 'v1', { signal: quitter.signal });
  await sleep(50);
  const b = anon.resolve(reg.ref('team/app'), 'v1');
  await sleep(50);
  quitter.abort();
  await t.rejects(a, { code: 'REGISTRY_UNREACHABLE' }, 'the request that gave up ends at once');
  t.equal((await b).digest, digest, 'the other gets the token it waited for, and its answer');
  t.equal(ts.requests.length, 1, 'from one token request');
});
