// Credential providers: docker config.json matching, credential helpers, Kubernetes pull
// secrets (fixtures made by kubectl), kubelet-style key matching, chains.

import t from 'tap';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  chainCredentials,
  DOCKER_HUB_AUTH_KEY,
  dockerConfigCredentials,
  dockerConfigJsonCredentials,
  dockerConfigPath,
  getAuthEntry,
  kubernetesSecretCredentials,
  matchPullSecretKey,
  parseKubernetesPullSecret,
  runCredentialHelper,
  staticCredentials,
  toCredential,
} from '../../lib/oci/index.ts';

const fixtures = join(import.meta.dirname, '..', '..', 'testdata', 'oci');
const b64 = (s: string): string => Buffer.from(s).toString('base64');

async function tempDir(t: { teardown(fn: () => unknown): void }): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'sigward-creds-'));
  t.teardown(() => rm(d, { recursive: true, force: true }));
  return d;
}

t.test('docker config entries and key matching', async (t) => {
  t.same(
    toCredential({ auth: b64('user:pa:ss') }),
    { username: 'user', password: 'pa:ss' },
    'password may contain colons',
  );
  t.same(toCredential({ username: 'u', password: 'p' }), { username: 'u', password: 'p' });
  t.same(toCredential({ auth: b64('u:p'), identitytoken: 'idt' }), { identityToken: 'idt' });
  t.same(toCredential({ registrytoken: 'rt' }), { registryToken: 'rt' });
  t.same(toCredential({ username: '<token>', password: 'refresh' }), { identityToken: 'refresh' });
  t.equal(toCredential({}), undefined);
  t.throws(() => toCredential({ auth: b64('nocolon') }), { code: 'CONFIG_INVALID' });

  const auths = {
    [DOCKER_HUB_AUTH_KEY]: { auth: b64('hub:1') },
    'https://ghcr.io': { auth: b64('gh:2') },
    'http://localhost:5000/v2/': { auth: b64('local:3') },
    'quay.io': { auth: b64('quay:4') },
  };
  t.same(toCredential(getAuthEntry(auths, 'docker.io')), { username: 'hub', password: '1' });
  t.same(toCredential(getAuthEntry(auths, 'index.docker.io')), { username: 'hub', password: '1' });
  t.same(toCredential(getAuthEntry(auths, 'ghcr.io')), { username: 'gh', password: '2' });
  t.same(toCredential(getAuthEntry(auths, 'localhost:5000')), { username: 'local', password: '3' });
  t.same(toCredential(getAuthEntry(auths, 'QUAY.io')), { username: 'quay', password: '4' });
  t.equal(getAuthEntry(auths, 'localhost'), undefined, 'port matters');
  t.equal(getAuthEntry(auths, 'gcr.io'), undefined);
  t.same(toCredential(getAuthEntry({ 'docker.io': { auth: b64('d:5') } }, 'docker.io')), {
    username: 'd',
    password: '5',
  });

  t.equal(dockerConfigPath({ DOCKER_CONFIG: '/x' }), '/x/config.json');
  t.equal(dockerConfigPath({ HOME: '/home/me' }), '/home/me/.docker/config.json');
});

t.test('config files and helpers', async (t) => {
  const dir = await tempDir(t);
  t.equal(
    await dockerConfigCredentials({ path: join(dir, 'missing.json') })('ghcr.io'),
    undefined,
    'no file: anonymous',
  );
  await writeFile(join(dir, 'broken.json'), '{');
  await t.rejects(dockerConfigCredentials({ path: join(dir, 'broken.json') })('ghcr.io'), { code: 'CONFIG_INVALID' });

  const bin = join(dir, 'bin');
  await mkdir(bin);
  // echoes the server address it was asked about back as the username
  await writeFile(
    join(bin, 'docker-credential-echo'),
    '#!/bin/sh\nread server\nif [ "$server" = "token.example.com" ]; then printf \'{"Username":"<token>","Secret":"rt-1"}\'; exit 0; fi\nprintf \'{"ServerURL":"%s","Username":"%s","Secret":"pw"}\' "$server" "$server"\n',
  );
  await writeFile(join(bin, 'docker-credential-fail'), '#!/bin/sh\necho "boom: keychain locked" >&2\nexit 3\n');
  await chmod(join(bin, 'docker-credential-echo'), 0o755);
  await chmod(join(bin, 'docker-credential-fail'), 0o755);
  const env = { ...process.env, PATH: `${bin}:${process.env.PATH}` };
  const p = dockerConfigJsonCredentials(
    {
      credsStore: 'echo',
      credHelpers: { 'broken.example.com': 'fail' },
      auths: { 'file.example.com': { auth: b64('f:1') } },
    },
    { env },
  );
  t.same(await p('ghcr.io'), { username: 'ghcr.io', password: 'pw' });
  t.same(
    await p('docker.io'),
    { username: DOCKER_HUB_AUTH_KEY, password: 'pw' },
    'Docker Hub asked as https://index.docker.io/v1/',
  );
  t.same(await p('token.example.com'), { identityToken: 'rt-1' }, '<token> username means identity token');
  await t.rejects(p('broken.example.com'), {
    code: 'REGISTRY_UNAUTHORIZED',
    message: /docker-credential-fail failed: boom: keychain locked/,
  });
  await t.rejects(runCredentialHelper('../evil', 'x'), { code: 'CONFIG_INVALID' });
});

t.test('Kubernetes pull secrets', async (t) => {
  const priv = kubernetesSecretCredentials(join(fixtures, 'pull-secret-private.yaml'));
  t.same(await priv('registry.example.com:5000', 'team/app'), { username: 'u', password: 'p:w' });
  t.equal(await priv('registry.example.com', 'team/app'), undefined, 'port must match');
  t.equal(await priv('other.example.com:5000'), undefined);
  const hub = kubernetesSecretCredentials([
    join(fixtures, 'pull-secret-hub.json'),
    join(fixtures, 'pull-secret-private.yaml'),
  ]);
  t.same(await hub('docker.io', 'library/nginx'), { username: 'hubuser', password: 'hubpass' });
  t.same(await hub('index.docker.io', 'library/nginx'), { username: 'hubuser', password: 'hubpass' });
  t.same(await hub('registry.example.com:5000'), { username: 'u', password: 'p:w' });

  const dockercfg = JSON.stringify({ 'legacy.example.com': { auth: b64('old:pw'), email: 'x@y' } });
  const list = {
    apiVersion: 'v1',
    kind: 'List',
    items: [
      { kind: 'Secret', type: 'kubernetes.io/dockercfg', data: { '.dockercfg': b64(dockercfg) } },
      {
        kind: 'Secret',
        type: 'kubernetes.io/dockerconfigjson',
        stringData: {
          '.dockerconfigjson': JSON.stringify({ auths: { 'sd.example.com': { username: 's', password: 'd' } } }),
        },
      },
    ],
  };
  const auths = parseKubernetesPullSecret(JSON.stringify(list));
  t.same(Object.keys(auths).sort(), ['legacy.example.com', 'sd.example.com']);
  t.same(Object.keys(parseKubernetesPullSecret(JSON.stringify({ auths: { 'raw.example.com': {} } }))), [
    'raw.example.com',
  ], 'raw .dockerconfigjson');
  t.throws(() => parseKubernetesPullSecret('a: [b'), { code: 'CONFIG_INVALID' });
});

t.test('kubelet key matching', async (t) => {
  t.ok(matchPullSecretKey('*.example.com', 'reg.example.com') >= 0);
  t.ok(matchPullSecretKey('*.example.com', 'example.com') < 0, 'a glob label needs a label');
  t.ok(matchPullSecretKey('*.example.com', 'a.b.example.com') < 0, 'globs do not cross dots');
  t.ok(matchPullSecretKey('reg-*.example.com', 'reg-eu.example.com') >= 0);
  const started = performance.now();
  t.ok(
    matchPullSecretKey(`${'a*'.repeat(12)}b.example.com`, `${'a'.repeat(63)}.example.com`) < 0,
    'many globs in a label against a long label',
  );
  t.ok(matchPullSecretKey(`${'a*'.repeat(12)}b.example.com`, `${'a'.repeat(62)}b.example.com`) >= 0);
  t.ok(
    performance.now() - started < 500,
    'linear time (a backtracking RegExp took 33 s for 8 globs and 60 characters)',
  );
  t.ok(matchPullSecretKey('reg(1).example.com', 'reg(1).example.com') >= 0, 'other characters are literal');
  t.ok(matchPullSecretKey('reg?.example.com', 'regx.example.com') < 0);
  t.ok(matchPullSecretKey('https://reg.example.com:5000', 'reg.example.com:5000') >= 0);
  t.ok(matchPullSecretKey('reg.example.com:5000', 'reg.example.com') < 0);
  t.ok(matchPullSecretKey('reg.example.com/team', 'reg.example.com', 'team/app') >= 0);
  t.ok(matchPullSecretKey('reg.example.com/team', 'reg.example.com', 'teamx/app') < 0, 'path prefix by segment');
  t.ok(matchPullSecretKey(DOCKER_HUB_AUTH_KEY, 'docker.io', 'library/nginx') >= 0);
  const p = kubernetesSecretCredentials([]);
  t.equal(await p('x'), undefined);
  // most specific key wins
  const { getPullSecretCredential } = await import('../../lib/oci/credentials.ts');
  const auths = { 'reg.example.com': { auth: b64('broad:1') }, 'reg.example.com/team/app': { auth: b64('narrow:2') } };
  t.same(getPullSecretCredential(auths, 'reg.example.com', 'team/app'), { username: 'narrow', password: '2' });
  t.same(getPullSecretCredential(auths, 'reg.example.com', 'team/other'), { username: 'broad', password: '1' });
});

t.test('chain and static', async (t) => {
  const calls: string[] = [];
  const a = async (r: string) => {
    calls.push(`a:${r}`);
    return r === 'a.io' ? { username: 'a', password: '1' } : undefined;
  };
  const chain = chainCredentials(
    a,
    undefined,
    staticCredentials({ 'b.io': { identityToken: 't' }, 'docker.io': { username: 'h', password: '2' } }),
  );
  t.same(await chain('a.io'), { username: 'a', password: '1' });
  t.same(await chain('b.io'), { identityToken: 't' });
  t.same(await chain('index.docker.io'), { username: 'h', password: '2' });
  t.equal(await chain('c.io'), undefined);
  t.same(calls, ['a:a.io', 'a:b.io', 'a:index.docker.io', 'a:c.io']);
});
