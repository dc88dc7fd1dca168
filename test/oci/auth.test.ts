// Registry authentication against the real docker-registry: htpasswd Basic auth with
// credentials from docker config.json / a credential helper, and Docker token auth
// (bearer JWTs from a local token server, anonymous, basic, and refresh-token grants).

import t from 'tap';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dockerConfigCredentials, RegistryClient } from '../../lib/oci/index.ts';
import { pushImage, pushImageDetailed, withRegistry } from '../helpers/registry.ts';
import { startTokenServer } from './token-server.ts';
import { rejectsCode } from './util.ts';

async function tempDir(t: { teardown(fn: () => unknown): void }): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'sigward-oci-auth-'));
  t.teardown(() => rm(d, { recursive: true, force: true }));
  return d;
}

t.test('htpasswd basic auth', async (t) => {
  const reg = await withRegistry(t, { htpasswd: { user: 'alice', pass: 's3cret' } });
  const dir = await tempDir(t);
  const repo = reg.ref('private/app');

  t.test('credentials from a docker config.json', async (t) => {
    const cfg = join(dir, 'config.json');
    await writeFile(
      cfg,
      JSON.stringify({ auths: { [reg.host]: { auth: Buffer.from('alice:s3cret').toString('base64') } } }),
    );
    const client = new RegistryClient({ credentials: dockerConfigCredentials({ path: cfg }) });
    t.teardown(() => client.close());
    const digest = await pushImage(client, repo, { tag: 'v1' });
    const m = await client.getManifest(repo, 'v1');
    t.equal(m.descriptor.digest, digest);
    t.same(await client.listTags(repo), ['v1']);

    // DOCKER_CONFIG directory form, with an http:// key as docker writes for some registries
    const dcDir = join(dir, 'dc');
    await rm(dcDir, { recursive: true, force: true });
    await (await import('node:fs/promises')).mkdir(dcDir);
    await writeFile(
      join(dcDir, 'config.json'),
      JSON.stringify({ auths: { [`http://${reg.host}/v2/`]: { username: 'alice', password: 's3cret' } } }),
    );
    const viaEnv = new RegistryClient({ credentials: dockerConfigCredentials({ env: { DOCKER_CONFIG: dcDir } }) });
    t.teardown(() => viaEnv.close());
    t.equal((await viaEnv.resolve(repo, 'v1')).digest, digest);
  });

  t.test('no credentials / wrong password -> REGISTRY_UNAUTHORIZED', async (t) => {
    const anon = new RegistryClient();
    t.teardown(() => anon.close());
    const e = await rejectsCode(
      t,
      anon.getManifest(repo, 'v1'),
      'REGISTRY_UNAUTHORIZED',
      /no registry credentials configured/,
    );
    t.equal(e.outcome, 'undecided');
    await rejectsCode(t, anon.resolve(repo, 'v1'), 'REGISTRY_UNAUTHORIZED');
    const wrong = new RegistryClient({ credentials: async () => ({ username: 'alice', password: 'nope' }) });
    t.teardown(() => wrong.close());
    const w = await rejectsCode(t, wrong.getManifest(repo, 'v1'), 'REGISTRY_UNAUTHORIZED');
    t.notMatch(w.message, /nope/, 'password not in the message');
  });

  t.test('credential helper on PATH (credHelpers), and credsStore that has nothing', async (t) => {
    const bin = join(dir, 'bin');
    await (await import('node:fs/promises')).mkdir(bin, { recursive: true });
    const stdinLog = join(dir, 'helper-stdin.txt');
    await writeFile(
      join(bin, 'docker-credential-test'),
      `#!/bin/sh\nif [ "$1" != get ]; then exit 2; fi\ncat > ${
        JSON.stringify(stdinLog)
      }\necho '{"ServerURL":"x","Username":"alice","Secret":"s3cret"}'\n`,
    );
    await writeFile(
      join(bin, 'docker-credential-empty'),
      `#!/bin/sh\ncat >/dev/null\necho "credentials not found in native keychain"\nexit 1\n`,
    );
    await chmod(join(bin, 'docker-credential-test'), 0o755);
    await chmod(join(bin, 'docker-credential-empty'), 0o755);
    const env = { ...process.env, PATH: `${bin}:${process.env.PATH}` };
    const cfg = join(dir, 'helper-config.json');
    await writeFile(cfg, JSON.stringify({ credsStore: 'empty', credHelpers: { [reg.host]: 'test' } }));
    const client = new RegistryClient({ credentials: dockerConfigCredentials({ path: cfg, env }) });
    t.teardown(() => client.close());
    const d = await client.resolve(repo, 'v1');
    t.match(d.digest, /^sha256:/);
    t.equal(await readFile(stdinLog, 'utf8'), reg.host, 'helper got the server address on stdin');

    const cfg2 = join(dir, 'store-config.json');
    await writeFile(cfg2, JSON.stringify({ credsStore: 'empty' }));
    const none = new RegistryClient({ credentials: dockerConfigCredentials({ path: cfg2, env }) });
    t.teardown(() => none.close());
    await rejectsCode(t, none.resolve(repo, 'v1'), 'REGISTRY_UNAUTHORIZED');

    const cfg3 = join(dir, 'missing-helper.json');
    await writeFile(cfg3, JSON.stringify({ credsStore: 'does-not-exist' }));
    const missing = new RegistryClient({ credentials: dockerConfigCredentials({ path: cfg3, env }) });
    t.teardown(() => missing.close());
    await rejectsCode(
      t,
      missing.resolve(repo, 'v1'),
      'REGISTRY_UNAUTHORIZED',
      /docker-credential-does-not-exist .*not found on PATH/,
    );
  });
});

t.test('token auth (bearer)', async (t) => {
  const dir = await tempDir(t);
  const ts = await startTokenServer({
    dir,
    users: { bob: 'hunter2' },
    refreshTokens: { 'refresh-abc': 'bob' },
    anonymousPull: true,
  });
  t.teardown(() => ts.stop());
  const reg = await withRegistry(t, {
    tokenAuth: { realm: ts.realm, service: ts.service, issuer: ts.issuer, rootCertPem: ts.rootCertPem },
  });
  const repo = reg.ref('team/app');

  const bob = new RegistryClient({
    credentials: async (r) => (r === reg.host ? { username: 'bob', password: 'hunter2' } : undefined),
  });
  t.teardown(() => bob.close());
  const img = await pushImageDetailed(bob, repo, { tag: 'v1' });

  t.test('basic credentials exchanged for a push token; tokens cached per scope', async (t) => {
    const pushReqs = ts.requests.filter((r) => r.user === 'bob');
    t.ok(pushReqs.length >= 1);
    t.ok(pushReqs.every((r) => r.scopes.includes('repository:team/app:pull,push')), 'push scope requested');
    t.ok(pushReqs.length <= 2, `token reused across the push (${pushReqs.length} token requests)`);
    ts.requests.length = 0;
    await bob.getManifest(repo, 'v1');
    await bob.getBlob(repo, img.config.digest);
    await bob.resolve(repo, img.digest);
    t.equal(ts.requests.length, 1, 'one pull token for three pulls');
    t.same(ts.requests[0]!.scopes, ['repository:team/app:pull']);
  });

  t.test('anonymous pull token; anonymous push refused', async (t) => {
    const anon = new RegistryClient();
    t.teardown(() => anon.close());
    t.equal((await anon.getManifest(repo, 'v1')).descriptor.digest, img.digest);
    await rejectsCode(t, pushImage(anon, repo, { tag: 'v2' }), 'REGISTRY_UNAUTHORIZED');
  });

  t.test('identity token (refresh_token grant via POST)', async (t) => {
    ts.requests.length = 0;
    const cfg = join(dir, 'config.json');
    await writeFile(cfg, JSON.stringify({ auths: { [reg.host]: { identitytoken: 'refresh-abc' } } }));
    const client = new RegistryClient({ credentials: dockerConfigCredentials({ path: cfg }) });
    t.teardown(() => client.close());
    await pushImage(client, repo, { tag: 'v3' });
    t.ok(ts.requests.length > 0);
    t.ok(ts.requests.every((r) => r.method === 'POST' && r.grantType === 'refresh_token'), 'OAuth2 refresh grant used');
    t.equal((await client.resolve(repo, 'v3')).mediaType, 'application/vnd.oci.image.manifest.v1+json');
  });

  t.test('bad credentials at the token server -> REGISTRY_UNAUTHORIZED', async (t) => {
    const bad = new RegistryClient({ credentials: async () => ({ username: 'bob', password: 'wrong' }) });
    t.teardown(() => bad.close());
    const e = await rejectsCode(
      t,
      bad.getManifest(repo, 'v1'),
      'REGISTRY_UNAUTHORIZED',
      /token server .* refused the credentials/,
    );
    t.notMatch(e.message, /wrong/);
    const badRt = new RegistryClient({ credentials: async () => ({ identityToken: 'nope' }) });
    t.teardown(() => badRt.close());
    await rejectsCode(t, badRt.getManifest(repo, 'v1'), 'REGISTRY_UNAUTHORIZED');
  });

  t.test('registry token used as is', async (t) => {
    const none = new RegistryClient({ credentials: async () => ({ registryToken: 'not-a-jwt' }) });
    t.teardown(() => none.close());
    await rejectsCode(t, none.getManifest(repo, 'v1'), 'REGISTRY_UNAUTHORIZED');
  });
});
