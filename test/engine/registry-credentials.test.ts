// imageRegistryCredentials as a Kyverno user writes them: the entry's pull
// Secret (read from the secrets directory) opens a registry that sigward's own
// credentials do not, and a secret that is missing fails the rule with the
// file it looked for. A real registry with basic auth, kubectl Pods, the binary.

import t from 'tap';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { RegistryClient } from '../../lib/oci/registry.ts';
import { staticCredentials } from '../../lib/oci/index.ts';
import { pushImage, withRegistry } from '../helpers/registry.ts';
import { makeKey, signImage } from '../helpers/cosign.ts';
import { kubectlPod } from '../helpers/kubectl.ts';
import { runSigward } from '../helpers/cli.ts';
import { keyPolicy } from '../helpers/policies.ts';
import { scratch } from '../attacks/helpers.ts';

t.test('imageRegistryCredentials.secrets open a private registry', async (t) => {
  const reg = await withRegistry(t, { htpasswd: { user: 'ci', pass: 'secret' } });
  const store = new RegistryClient({
    credentials: staticCredentials({ [reg.host]: { username: 'ci', password: 'secret' } }),
  });
  t.teardown(() => store.close());
  const s = scratch(t);
  const key = makeKey();
  const digest = await pushImage(store, reg.ref('private/app'), { tag: 'v1' });
  await signImage({ store, repository: reg.ref('private/app'), digest, key });
  const secrets = join(s.dir, 'secrets');
  const auth = Buffer.from('ci:secret').toString('base64');
  for (const [ns, name] of [['kyverno', 'regcred'], ['team', 'pull']]) {
    mkdirSync(join(secrets, ns, name), { recursive: true });
    writeFileSync(join(secrets, ns, name, '.dockerconfigjson'), JSON.stringify({ auths: { [reg.host]: { auth } } }));
  }
  const pod = s.file('pod.json', JSON.stringify(kubectlPod('web', `${reg.host}/private/app@${digest}`)));
  const check = (
    creds: Record<string, unknown> | undefined,
    env: Record<string, string> = { SIGWARD_SECRETS_DIR: secrets },
  ) =>
    runSigward([
      'check',
      '--policy',
      s.file(
        `p-${JSON.stringify(creds ?? {}).replace(/\W/g, '')}.yaml`,
        keyPolicy({
          key: key.publicPem,
          refs: [`${reg.host}/*`],
          entry: { mutateDigest: false, verifyDigest: false, ...(creds ? { imageRegistryCredentials: creds } : {}) },
        }),
      ),
      '--resource',
      pod,
      '-o',
      'json',
    ], { env });

  const without = await check(undefined);
  t.equal(without.code, 1, 'without credentials the private registry denies access');
  t.match(without.stdout, /unauthorized|authentication|401/i);
  const withSecret = await check({ secrets: ['regcred'] });
  t.equal(
    withSecret.code,
    0,
    `the entry's pull Secret (in $SIGWARD_NAMESPACE, default kyverno) opens it: ${withSecret.stdout.slice(0, 400)}`,
  );
  const namespaced = await check({ secrets: ['team/pull'] });
  t.equal(namespaced.code, 0, 'namespace/name is read as written');
  const missing = await check({ secrets: ['nosuch'] });
  t.equal(missing.code, 1, 'a missing pull Secret fails the rule');
  t.match(missing.stdout, /nosuch\/\.dockerconfigjson/, 'naming the file it looked for');
  const noDir = await check({ secrets: ['regcred'] }, {});
  t.equal(noDir.code, 1, 'without a secrets directory the credentials cannot be honoured: the rule fails');
  t.match(noDir.stdout, /set SIGWARD_SECRETS_DIR/);
});
