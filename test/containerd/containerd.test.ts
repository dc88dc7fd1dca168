// `dist/sigward` as containerd 2.x's bindir image verifier runs it:
//   <bin> -name REF -digest D -stdin-media-type application/vnd.oci.descriptor.v1+json
// with the OCI descriptor (JSON + newline) on stdin, a 10 s timeout, no
// credentials, configuration from $SIGWARD_CONFIG_DIR. Images are made in the
// real registry and signed there by the REAL cosign 3.1.1; the verdict cache is proven by stopping it.

import t from 'tap';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RegistryClient } from '../../lib/oci/registry.ts';
import type { Descriptor } from '../../lib/oci/types.ts';
import { freePort, pushImageDetailed, withRegistry } from '../helpers/registry.ts';
import { makeCosignSigner } from '../helpers/cosign-images.ts';
import { withRealCosign } from '../helpers/peers.ts';
import { BINARY, runVerifier } from '../helpers/cli.ts';
import { ROOT } from '../helpers/fixtures.ts';
import { keyPolicy } from '../helpers/policies.ts';

const fromSource = process.env.SIGWARD_TEST_FROM_SOURCE === '1';
const tmp = mkdtempSync(join(tmpdir(), 'sigward-containerd-'));

function policyYaml(name: string, patterns: string[], key: { publicPem: string }): string {
  return keyPolicy({ key: key.publicPem, name, refs: patterns, ruleName: 'check-signatures' });
}

function makeConfig(dirName: string, policies: Record<string, string>, configYaml: string): string {
  const dir = join(tmp, dirName);
  mkdirSync(join(dir, 'policies'), { recursive: true });
  for (const [f, text] of Object.entries(policies)) writeFileSync(join(dir, 'policies', f), text);
  writeFileSync(join(dir, 'config.yaml'), configYaml);
  return dir;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
}

withRealCosign(() => {
  t.test('containerd bindir verifier', async (t) => {
    if (!fromSource && !existsSync(BINARY)) throw new Error(`${BINARY} is missing: run "npm run build"`);
    const reg = await withRegistry(t);
    const store = new RegistryClient();
    t.teardown(() => store.close());
    mkdirSync(join(tmp, 'cosign'));
    const signer = await makeCosignSigner(join(tmp, 'cosign'));
    const key = { publicPem: signer.publicPem };
    const other = { publicPem: await signer.newKey('other/cosign') };
    const host = reg.host;

    const signed = await pushImageDetailed(store, reg.ref('company/app'), { tag: 'v1' });
    await signer.sign('bundle', [`${host}/company/app@${signed.digest}`]);
    const unsigned = await pushImageDetailed(store, reg.ref('company/unsigned'), { tag: 'v1' });
    const elsewhere = await pushImageDetailed(store, reg.ref('public/tool'), { tag: 'v1' });
    const desc = (d: Descriptor) => ({ mediaType: d.mediaType, digest: d.digest, size: d.size });

    const deadPort = await freePort();
    const policy = policyYaml('require-signed-images', [`${host}/company/*`, `127.0.0.1:${deadPort}/*`], key);
    const cfg = makeConfig(
      'etc-sigward',
      { 'require-signed.yaml': policy },
      'deadlineSeconds: 8\ncache:\n  dir: cache\n  ttlSeconds: 3600\nregistry:\n  timeoutSeconds: 3\n',
    );
    const nocache = makeConfig('etc-sigward-nocache', { 'require-signed.yaml': policy }, 'cache:\n  enabled: false\n');
    const bin = BINARY;

    const verifierDir = join(tmp, 'bin');
    mkdirSync(verifierDir);
    const link = join(verifierDir, 'sigward-verifier');
    symlinkSync(BINARY, link);

    await t.test('signed image: allowed, reason on stdout', async (t) => {
      const r = await runVerifier(bin, `${host}/company/app:v1`, signed.digest, desc(signed.descriptor), cfg);
      t.equal(r.code, 0, r.stdout + r.stderr);
      t.match(
        r.stdout,
        new RegExp(
          `^sigward: allowed ${host}/company/app:v1@${signed.digest}: verified image signatures \\(require-signed-images/check-signatures\\)\\n$`,
        ),
      );
      t.notMatch(r.stdout, /cached verdict/, 'first pull is verified, not cached');
    });

    await t.test('unsigned image: blocked with the Kyverno reason, exit 1', async (t) => {
      const r = await runVerifier(bin, `${host}/company/unsigned:v1`, unsigned.digest, desc(unsigned.descriptor), cfg);
      t.equal(r.code, 1);
      t.match(r.stdout, `image verification failed for ${host}/company/unsigned:v1@${unsigned.digest}`);
      t.match(r.stdout, /\.attestors\[0\]\.entries\[0\]\.keys: signature not found\n$/);
      t.equal(r.stdout.split('\n').length, 2, 'one line');
      t.ok(Buffer.byteLength(r.stdout) <= 32 * 1024, 'within 32 KiB');
    });

    await t.test('image matched by no policy: allowed', async (t) => {
      const r = await runVerifier(bin, `${host}/public/tool:v1`, elsewhere.digest, desc(elsewhere.descriptor), cfg);
      t.equal(r.code, 0);
      t.match(r.stdout, /no policy applies to this image/);
    });

    await t.test('unreachable registry: blocked (fail closed), exit 3, well inside 10 s', async (t) => {
      const r = await runVerifier(
        bin,
        `127.0.0.1:${deadPort}/team/app:v2`,
        unsigned.digest,
        desc(unsigned.descriptor),
        cfg,
      );
      t.equal(r.code, 3, r.stdout);
      t.match(r.stdout, /image verification failed for .*registry unreachable/);
      t.ok(r.ms < 9000, `answered in ${Math.round(r.ms)} ms`);
    });

    await t.test('a registry that never answers: the internal deadline blocks before containerd kills us', async (t) => {
      const sockets = new Set<Socket>();
      const silent = createServer((s) => {
        sockets.add(s);
        s.on('close', () => sockets.delete(s));
      });
      await new Promise<void>((r) => silent.listen(0, '127.0.0.1', () => r()));
      t.teardown(() => {
        for (const s of sockets) s.destroy();
        silent.close();
      });
      const port = (silent.address() as { port: number }).port;
      const slow = makeConfig('etc-sigward-slow', {
        'p.yaml': policyYaml('require-signed-images', [`127.0.0.1:${port}/*`], key),
      }, 'deadlineSeconds: 2\ncache:\n  enabled: false\nregistry:\n  timeoutSeconds: 30\n');
      const r = await runVerifier(bin, `127.0.0.1:${port}/team/app:v1`, signed.digest, desc(signed.descriptor), slow);
      t.equal(r.code, 3, r.stdout + r.stderr);
      // whichever fires first: the verifier's deadline, or the registry client's deadline (the same instant)
      t.match(r.stdout, /did not finish within 2 s|registry unreachable: .*(time|deadline|abort)/i);
      t.ok(r.ms < 6000, `answered in ${Math.round(r.ms)} ms`);
    });

    await t.test('invocation and descriptor checks', async (t) => {
      const wrongDigest = await runVerifier(bin, `${host}/company/app:v1`, signed.digest, {
        ...desc(signed.descriptor),
        digest: unsigned.digest,
      }, cfg);
      t.equal(wrongDigest.code, 1);
      t.match(wrongDigest.stdout, /manifest digest mismatch/);
      const badType = await runVerifier(bin, `${host}/company/app:v1`, signed.digest, {
        ...desc(signed.descriptor),
        mediaType: 'application/vnd.oci.image.layer.v1.tar',
      }, cfg);
      t.not(badType.code, 0);
      t.match(badType.stdout, /unsupported image media type/);
      const notJson = await runVerifier(bin, `${host}/company/app:v1`, signed.digest, 'not json\n', cfg);
      t.not(notJson.code, 0);
      t.match(notJson.stdout, /not JSON/);
      const namePins = await runVerifier(
        bin,
        `${host}/company/app@${unsigned.digest}`,
        signed.digest,
        desc(signed.descriptor),
        cfg,
      );
      t.equal(namePins.code, 1, 'a name pinned to another digest is blocked');
      t.match(namePins.stdout, /manifest digest mismatch/);
      const missing = await runVerifier(
        bin,
        `${host}/company/app:v1`,
        signed.digest,
        desc(signed.descriptor),
        join(tmp, 'no-such-dir'),
      );
      t.equal(missing.code, 2);
      t.match(missing.stdout, /configuration directory .* does not exist/);
    });

    await t.test('a name that pins the digest: named once in the reason', async (t) => {
      const pinned = `${host}/company/app@${signed.digest}`;
      const r = await runVerifier(bin, pinned, signed.digest, desc(signed.descriptor), nocache);
      t.equal(r.code, 0, r.stdout + r.stderr);
      t.equal(
        r.stdout,
        `sigward: allowed ${pinned}: verified image signatures (require-signed-images/check-signatures)\n`,
      );
      const u = await runVerifier(
        bin,
        `${host}/company/unsigned@${unsigned.digest}`,
        unsigned.digest,
        desc(unsigned.descriptor),
        nocache,
      );
      t.equal(u.code, 1);
      t.match(u.stdout, `image verification failed for ${host}/company/unsigned@${unsigned.digest}: policy `);
      t.notMatch(u.stdout, `@${unsigned.digest}@`, 'the digest is not repeated');
      const tagged = await runVerifier(
        bin,
        `${host}/company/app:v1@${signed.digest}`,
        signed.digest,
        desc(signed.descriptor),
        nocache,
      );
      t.equal(tagged.code, 0, tagged.stdout);
      t.equal(
        tagged.stdout,
        `sigward: allowed ${host}/company/app:v1@${signed.digest}: verified image signatures (require-signed-images/check-signatures)\n`,
      );
    });

    await t.test("`sigward containerd-verify` followed by containerd's single-dash flags (a wrapper script in bin_dir)", async (t) => {
      const r = await runVerifier(bin, `${host}/company/app:v1`, signed.digest, desc(signed.descriptor), nocache, [], [
        'containerd-verify',
      ]);
      t.equal(r.code, 0, r.stdout + r.stderr);
      t.equal(
        r.stdout,
        `sigward: allowed ${host}/company/app:v1@${signed.digest}: verified image signatures (require-signed-images/check-signatures)\n`,
      );
      t.notMatch(r.stderr, /Unknown argument/);
      const d = await runVerifier(
        bin,
        `${host}/company/unsigned:v1`,
        unsigned.digest,
        desc(unsigned.descriptor),
        nocache,
        [],
        ['containerd-verify'],
      );
      t.equal(d.code, 1, d.stdout + d.stderr);
      t.match(d.stdout, /image verification failed/);
      const extra = await runVerifier(bin, `${host}/company/app:v1`, signed.digest, desc(signed.descriptor), nocache, [
        'surplus',
      ], ['containerd-verify']);
      t.equal(extra.code, 2, 'a stray word is a usage error');
      t.equal(extra.stdout, '', 'and prints no verdict');
      t.match(extra.stderr, /Unknown argument: surplus/);
    });

    await t.test('through a symlink named sigward-verifier in bin_dir', async (t) => {
      const r = await runVerifier(link, `${host}/company/app:v1`, signed.digest, desc(signed.descriptor), nocache);
      t.equal(r.code, 0, r.stdout + r.stderr);
      t.match(r.stdout, /verified image signatures/);
      const d = await runVerifier(
        link,
        `${host}/company/unsigned:v1`,
        unsigned.digest,
        desc(unsigned.descriptor),
        nocache,
      );
      t.equal(d.code, 1);
    });

    await t.test('start-to-verdict times (median of 20)', async (t) => {
      const runs = 20;
      const cached: number[] = [];
      const uncached: number[] = [];
      const bare: number[] = [];
      const version: number[] = [];
      const node = join(ROOT, 'node_modules/.bin/node');
      for (let i = 0; i < runs; i++) {
        const c = await runVerifier(bin, `${host}/company/app:v1`, signed.digest, desc(signed.descriptor), cfg);
        if (c.code !== 0 || !/cached verdict/.test(c.stdout)) {
          throw new Error(`cached run failed: ${c.stdout}${c.stderr}`);
        }
        cached.push(c.ms);
        const u = await runVerifier(bin, `${host}/company/app:v1`, signed.digest, desc(signed.descriptor), nocache);
        if (u.code !== 0) throw new Error(`uncached run failed: ${u.stdout}${u.stderr}`);
        uncached.push(u.ms);
        let s = performance.now();
        spawnSync(node, ['-e', '0']);
        bare.push(performance.now() - s);
        s = performance.now();
        if (!fromSource) spawnSync(bin, ['version']);
        version.push(performance.now() - s);
      }
      const m = { cached: median(cached), uncached: median(uncached), node: median(bare), version: median(version) };
      t.comment(
        `containerd-verify start to verdict, median of ${runs}: cached ${
          m.cached.toFixed(0)
        } ms, uncached (registry on loopback) ${m.uncached.toFixed(0)} ms; "sigward version" ${
          m.version.toFixed(0)
        } ms, bare "node -e 0" ${m.node.toFixed(0)} ms`,
      );
      t.ok(m.cached < m.uncached, 'the cached path is faster than a verification');
    });

    await t.test('the second pull of a digest is answered from the cache, even with the registry down', async (t) => {
      const file = `${signed.digest.replace(':', '-')}.json`;
      const files = readdirSync(join(cfg, 'cache', 'verdicts')).sort();
      t.same(
        files,
        [file, `${elsewhere.digest.replace(':', '-')}.json`].sort(),
        'verdict files for the allowed digests only (verified and unmatched)',
      );
      await reg.stop();
      const r = await runVerifier(bin, `${host}/company/app:v1`, signed.digest, desc(signed.descriptor), cfg);
      t.equal(r.code, 0, r.stdout);
      t.match(r.stdout, /verified image signatures \(require-signed-images\/check-signatures\) \(cached verdict of /);
      const viaLink = await runVerifier(link, `${host}/company/app:v1`, signed.digest, desc(signed.descriptor), cfg);
      t.equal(viaLink.code, 0, 'the symlink shares the cache');
      const denied = await runVerifier(
        bin,
        `${host}/company/unsigned:v1`,
        unsigned.digest,
        desc(unsigned.descriptor),
        cfg,
      );
      t.equal(denied.code, 3, 'denials are never cached: re-checked, registry down, blocked');
      const otherName = await runVerifier(bin, `${host}/company/copy:v1`, signed.digest, desc(signed.descriptor), cfg);
      t.equal(otherName.code, 3, 'the same digest under another name is verified again');

      // a different policy set: the cached allow no longer applies
      const policyFile = join(cfg, 'policies', 'require-signed.yaml');
      writeFileSync(policyFile, policyYaml('require-signed-images', [`${host}/company/*`], other));
      const changed = await runVerifier(bin, `${host}/company/app:v1`, signed.digest, desc(signed.descriptor), cfg);
      t.equal(changed.code, 3, 'policy changed: verified again (registry down: blocked)');
      // the same policies rewritten (new mtime, same meaning): found again by fingerprint
      writeFileSync(policyFile, policy);
      const same = await runVerifier(bin, `${host}/company/app:v1`, signed.digest, desc(signed.descriptor), cfg);
      t.equal(same.code, 0, same.stdout);
      t.match(same.stdout, /cached verdict/);

      // expired entries do not count; a corrupt cache file is a miss, never a crash
      const verdictPath = join(cfg, 'cache', 'verdicts', file);
      const good = readFileSync(verdictPath, 'utf8');
      const doc = JSON.parse(good);
      doc.entries = doc.entries.map((e: { expires: number }) => ({ ...e, expires: Date.now() - 1000 }));
      writeFileSync(verdictPath, JSON.stringify(doc));
      const expired = await runVerifier(bin, `${host}/company/app:v1`, signed.digest, desc(signed.descriptor), cfg);
      t.equal(expired.code, 3, 'an expired verdict is not used (registry down: blocked)');
      writeFileSync(verdictPath, '{"v":1,"digest":');
      const corrupt = await runVerifier(bin, `${host}/company/app:v1`, signed.digest, desc(signed.descriptor), cfg);
      t.equal(corrupt.code, 3, 'corrupt cache: a miss, verified again (registry down: blocked)');
      t.notMatch(corrupt.stderr, /internal error/);
    });
  });
});
