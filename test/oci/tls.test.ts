// TLS registries: custom CA, missing CA (clear failure, no silent downgrade), insecure modes.

import t from 'tap';
import { RegistryClient } from '../../lib/oci/index.ts';
import { pushImage, withRegistry } from '../helpers/registry.ts';
import { rejectsCode } from './util.ts';

t.test('TLS registry', async (t) => {
  const reg = await withRegistry(t, { tls: true });
  t.match(reg.url, /^https:/);
  const repo = reg.ref('secure/app');
  const withCa = new RegistryClient({ caCerts: [reg.caCertPem!] });
  t.teardown(() => withCa.close());
  const digest = await pushImage(withCa, repo, { tag: 'v1' });

  t.test('with the CA given: works', async (t) => {
    t.equal((await withCa.resolve(repo, 'v1')).digest, digest);
    // the certificate names localhost too
    const local = { ...repo, registry: reg.host.replace('127.0.0.1', 'localhost') };
    t.equal((await withCa.getManifest(local, digest)).descriptor.digest, digest);
  });

  t.test('without the CA: clear failure, no fallback to http', async (t) => {
    const plain = new RegistryClient({ retries: 0 });
    t.teardown(() => plain.close());
    const e = await rejectsCode(
      t,
      plain.resolve(repo, 'v1'),
      'REGISTRY_UNREACHABLE',
      /registry unreachable: 127\.0\.0\.1:\d+: TLS certificate verification failed: certificate signed by unknown authority .*CA certificate or mark the registry insecure/,
    );
    t.equal(e.outcome, 'undecided');
    const otherCa = new RegistryClient({ retries: 0, caCerts: [] });
    t.teardown(() => otherCa.close());
    await rejectsCode(t, otherCa.getManifest(repo, 'v1'), 'REGISTRY_UNREACHABLE', /certificate/);
  });

  t.test('allowInsecure / insecureRegistries: works without the CA', async (t) => {
    for (
      const opts of [{ allowInsecure: true }, { insecureRegistries: [reg.host] }, { insecureRegistries: ['127.0.0.1'] }]
    ) {
      const c = new RegistryClient(opts);
      t.teardown(() => c.close());
      t.equal((await c.getManifest(repo, 'v1')).descriptor.digest, digest, JSON.stringify(opts));
    }
    // allowHttp alone does not disable verification
    const httpOnly = new RegistryClient({ allowHttp: true, retries: 0 });
    t.teardown(() => httpOnly.close());
    await rejectsCode(t, httpOnly.resolve(repo, 'v1'), 'REGISTRY_UNREACHABLE', /certificate/);
  });
});
