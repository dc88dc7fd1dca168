// Connection reuse: bursts of parallel registry requests (what a cold
// verification makes: resolve, .sig tag, referrers, layers, for several
// images at once) reuse the connections the first burst opened instead of
// opening new ones each time. Counted at a TCP forwarder in front of the real
// docker-registry.

import t from 'tap';
import { createConnection, createServer, type Socket } from 'node:net';
import { RegistryClient } from '../../lib/oci/index.ts';
import { MAX_CONNECTIONS_PER_HOST } from '../../lib/oci/transport.ts';
import { pushImage, withRegistry } from '../helpers/registry.ts';

t.test('parallel bursts reuse their connections', async (t) => {
  const reg = await withRegistry(t);
  const [host, port] = [reg.host.split(':')[0]!, Number(reg.host.split(':')[1])];
  let connections = 0;
  const open = new Set<Socket>();
  const forwarder = createServer((client) => {
    connections++;
    const upstream = createConnection({ host, port });
    open.add(client).add(upstream);
    client.pipe(upstream).pipe(client);
    const close = () => {
      client.destroy();
      upstream.destroy();
      open.delete(client);
      open.delete(upstream);
    };
    client.on('error', close).on('close', close);
    upstream.on('error', close).on('close', close);
  });
  await new Promise<void>((resolve) => forwarder.listen(0, '127.0.0.1', resolve));
  t.teardown(() => {
    for (const s of open) s.destroy();
    forwarder.close();
  });
  const via = `127.0.0.1:${(forwarder.address() as { port: number }).port}`;

  const pusher = new RegistryClient();
  t.teardown(() => pusher.close());
  const digest = await pushImage(pusher, reg.ref('keepalive/app'), { tag: 'v1' });

  const client = new RegistryClient();
  t.teardown(() => client.close());
  const repo = { transport: 'registry' as const, registry: via, repository: 'keepalive/app' };
  const BURST = 12;
  t.ok(BURST <= MAX_CONNECTIONS_PER_HOST, 'a burst the client sends at once');
  await Promise.all(Array.from({ length: BURST }, () => client.getManifest(repo, digest)));
  const first = connections;
  t.ok(first >= 1 && first <= 2 * BURST, `the first burst opened ${first} connections`);
  for (let round = 1; round < 5; round++) {
    await Promise.all(Array.from({ length: BURST }, () => client.getManifest(repo, digest)));
  }
  t.equal(connections - first, 0, `4 more bursts of ${BURST} parallel requests opened no new connection`);
});
