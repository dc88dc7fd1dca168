// The containerd verdict cache against policy changes: a cached allow may be
// reused only while nothing that decides the verdict has changed. Each case
// first earns a cached allow, then makes the policy stricter in one field
// (the action, an override, a policy in a deep directory) and pulls again:
// the pull must be decided anew, never answered from the cache.

import t from 'tap';
import { existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RegistryClient } from '../../lib/oci/registry.ts';
import type { Descriptor } from '../../lib/oci/types.ts';
import { pushImageDetailed, withRegistry } from '../helpers/registry.ts';
import { makeKey, signImage, type TestKey } from '../helpers/cosign.ts';
import { BINARY, runVerifier } from '../helpers/cli.ts';
import { keyPolicy } from '../helpers/policies.ts';

interface PolicyOptions {
  action?: 'Audit' | 'Enforce';
  overrides?: unknown[];
  failurePolicy?: 'Fail' | 'Ignore';
}

function policyYaml(name: string, patterns: string[], key: TestKey, o: PolicyOptions = {}): string {
  const spec = {
    ...(o.overrides ? { validationFailureActionOverrides: o.overrides } : {}),
    ...(o.failurePolicy ? { failurePolicy: o.failurePolicy } : {}),
  };
  return keyPolicy({ key: key.publicPem, name, refs: patterns, action: o.action, ruleName: 'check-signatures', spec });
}

t.test('a cached allow never outlives a stricter policy', async (t) => {
  if (process.env.SIGWARD_TEST_FROM_SOURCE !== '1' && !existsSync(BINARY)) {
    throw new Error(`${BINARY} is missing: run "npm run build"`);
  }
  const tmp = mkdtempSync(join(tmpdir(), 'sigward-verdict-policy-'));
  t.teardown(() => rmSync(tmp, { recursive: true, force: true }));
  const reg = await withRegistry(t);
  const store = new RegistryClient();
  t.teardown(() => store.close());
  const key = makeKey();
  const host = reg.host;
  const unsigned = await pushImageDetailed(store, reg.ref('team/unsigned'), { tag: 'v1' });
  const signed = await pushImageDetailed(store, reg.ref('team/app'), { tag: 'v1' });
  await signImage({ store, repository: reg.ref('team/app'), digest: signed.digest, key });
  const desc = (d: Descriptor) => ({ mediaType: d.mediaType, digest: d.digest, size: d.size });
  const pull = (name: string, d: { digest: string; descriptor: Descriptor }, cfg: string) =>
    runVerifier(BINARY, name, d.digest, desc(d.descriptor), cfg);

  let n = 0;
  const config = (policies: Record<string, string>): { dir: string; write(file: string, text: string): void } => {
    const dir = join(tmp, `cfg-${n++}`);
    mkdirSync(join(dir, 'policies'), { recursive: true });
    writeFileSync(
      join(dir, 'config.yaml'),
      'cache:\n  dir: cache\n  ttlSeconds: 3600\nregistry:\n  timeoutSeconds: 3\n',
    );
    const write = (file: string, text: string) => {
      mkdirSync(join(dir, 'policies', file, '..'), { recursive: true });
      writeFileSync(join(dir, 'policies', file), text);
    };
    for (const [f, text] of Object.entries(policies)) write(f, text);
    return { dir, write };
  };

  await t.test('Audit let an unsigned image through; Enforce blocks it on the next pull', async (t) => {
    const c = config({ 'p.yaml': policyYaml('signed', [`${host}/team/*`], key, { action: 'Audit' }) });
    const first = await pull(`${host}/team/unsigned:v1`, unsigned, c.dir);
    t.equal(first.code, 0, `Audit allows: ${first.stdout}`);
    const again = await pull(`${host}/team/unsigned:v1`, unsigned, c.dir);
    t.equal(again.code, 0, 'still Audit: still allowed');
    t.notMatch(again.stdout, /cached verdict/, 'an Audit pass is not a verification: never answered from the cache');
    c.write('p.yaml', policyYaml('signed', [`${host}/team/*`], key, { action: 'Enforce' }));
    const enforced = await pull(`${host}/team/unsigned:v1`, unsigned, c.dir);
    t.equal(enforced.code, 1, `Enforce blocks: ${enforced.stdout}`);
    t.match(enforced.stdout, /image verification failed .*policy signed\/check-signatures/);
  });

  await t.test('a verified allow is cached; changing the action alone still invalidates it', async (t) => {
    const c = config({ 'p.yaml': policyYaml('signed', [`${host}/team/*`], key) });
    t.equal((await pull(`${host}/team/app:v1`, signed, c.dir)).code, 0, 'verified');
    const cached = await pull(`${host}/team/app:v1`, signed, c.dir);
    t.match(cached.stdout, /cached verdict/, 'the verified allow is reused');
    // same entry, other action and failurePolicy: a different policy, so a new verification
    c.write('p.yaml', policyYaml('signed', [`${host}/team/*`], key, { action: 'Audit', failurePolicy: 'Ignore' }));
    const changed = await pull(`${host}/team/app:v1`, signed, c.dir);
    t.equal(changed.code, 0, changed.stdout);
    t.notMatch(changed.stdout, /cached verdict/, 'the policy changed: verified again');
  });

  await t.test('an Enforce override for every namespace (none named) blocks on the node', async (t) => {
    const c = config({ 'p.yaml': policyYaml('signed', [`${host}/team/*`], key, { action: 'Audit' }) });
    t.equal((await pull(`${host}/team/unsigned:v1`, unsigned, c.dir)).code, 0, 'Audit allows');
    c.write(
      'p.yaml',
      policyYaml('signed', [`${host}/team/*`], key, { action: 'Audit', overrides: [{ action: 'Enforce' }] }),
    );
    const r = await pull(`${host}/team/unsigned:v1`, unsigned, c.dir);
    t.equal(r.code, 1, `the override applies everywhere (Kyverno): ${r.stdout}`);
  });

  await t.test('a policy added ten directories deep is loaded and invalidates the cache', async (t) => {
    const c = config({ 'other.yaml': policyYaml('elsewhere', ['ghcr.io/*'], key) });
    mkdirSync(join(c.dir, 'policies', 'a/b/c/d/e/f/g/h/i/j'), { recursive: true }); // the tree exists before the allow is cached
    const first = await pull(`${host}/team/unsigned:v1`, unsigned, c.dir);
    t.equal(first.code, 0, 'no policy applies');
    t.match((await pull(`${host}/team/unsigned:v1`, unsigned, c.dir)).stdout, /cached verdict/, 'the allow is cached');
    c.write('a/b/c/d/e/f/g/h/i/j/deep.yaml', policyYaml('deep', [`${host}/team/*`], key));
    const r = await pull(`${host}/team/unsigned:v1`, unsigned, c.dir);
    t.equal(r.code, 1, `the deep policy decides: ${r.stdout}`);
    t.match(r.stdout, /policy deep\/check-signatures/);
  });

  await t.test('a symbolic link loop in the policy directory blocks with a clear reason', async (t) => {
    const c = config({ 'p.yaml': policyYaml('signed', [`${host}/team/*`], key) });
    mkdirSync(join(c.dir, 'policies', 'loop'));
    symlinkSync('..', join(c.dir, 'policies', 'loop', 'up'));
    const r = await pull(`${host}/team/app:v1`, signed, c.dir);
    t.equal(r.code, 2, `a configuration error: blocked, exit 2: ${r.stdout}`);
    t.match(r.stdout, /symbolic link loops/);
  });
});
