// The real containerd 2.1.9 with `dist/sigward` as its bindir image verifier
// (a `sigward-verifier` symlink, as the README installs it), pulling images
// signed by the real cosign 3.1.1 (both storage formats) from the real
// registry, through ctr (Transfer Service) and through CRI `PullImage` on the
// gRPC socket. Asserted: containerd's own verdict (exit code / gRPC status),
// its message with sigward's reason, and whether the image landed in
// containerd's image store. Then what the verifier costs a pull.

import t from 'tap';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RegistryClient } from '../../lib/oci/registry.ts';
import { withRegistry } from '../helpers/registry.ts';
import { BINARY } from '../helpers/cli.ts';
import { ROOT } from '../helpers/fixtures.ts';
import { CONTAINERD, COSIGN, CTR, withRealPeers } from '../helpers/peers.ts';
import { keyPolicy, makeCosignImages, type SignedCase } from '../helpers/cosign-images.ts';
import { type ContainerdHandle, startContainerd, verifierDurations } from '../helpers/containerd.ts';
import { startFaultProxy } from '../helpers/proxy.ts';

const fromSource = process.env.SIGWARD_TEST_FROM_SOURCE === '1';
const POLICY = 'require-signed-images/check-signatures';

/** sigward's reason for each kind of bad signature (cosign's own wording differs, its verdict does not). */
function denyReason(c: SignedCase, cases: SignedCase[]): RegExp {
  switch (c.kind) {
    case 'unsigned':
    case 'multi-arch-children-only':
      return /\.keys: signature not found$/;
    case 'wrong-key':
    case 'tampered':
      return c.format === 'bundle' ? /\.keys: bundle [0-9a-f]{12}: invalid signature$/ : /\.keys: invalid signature$/;
    case 'replayed': {
      const source = cases.find((x) => x.id === `${c.format}/signed`)!;
      return c.format === 'bundle'
        ? new RegExp(
          `\\.keys: bundle [0-9a-f]{12}: digest mismatch: ${c.digest} is not a subject of the signed in-toto statement$`,
        )
        : new RegExp(`\\.keys: manifest digest mismatch: signature is for ${source.digest}, image is ${c.digest}$`);
    }
    default:
      throw new Error(`no denial expected for ${c.id}`);
  }
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
}

withRealPeers({ 'cosign 3.1.1': COSIGN, 'containerd 2.1': CONTAINERD, ctr: CTR }, main, { root: true });

function main(): void {
  t.test('real containerd with sigward as its bindir image verifier', async (t) => {
    if (!fromSource && !existsSync(BINARY)) throw new Error(`${BINARY} is missing: run "npm run build"`);
    const tmp = mkdtempSync(join(tmpdir(), 'sigward-real-containerd-'));
    t.teardown(() => rmSync(tmp, { recursive: true, force: true }));
    const reg = await withRegistry(t);
    const store = new RegistryClient();
    t.teardown(() => store.close());
    const fx = await makeCosignImages({ reg, store, dir: join(tmp, 'cosign') });
    const byId = (id: string) => fx.cases.find((c) => c.id === id)!;

    // /etc/sigward for the node, as the README lays it out
    const cfg = join(tmp, 'etc-sigward');
    mkdirSync(join(cfg, 'policies'), { recursive: true });
    writeFileSync(
      join(cfg, 'policies', 'require-signed.yaml'),
      keyPolicy('require-signed-images', [fx.pattern], fx.publicKeyPem),
    );
    const cacheDir = join(tmp, 'cache');
    mkdirSync(cacheDir, { mode: 0o700 });
    const configYaml = (cache: boolean) =>
      `deadlineSeconds: 8\nregistry:\n  insecure: [${
        JSON.stringify(reg.host)
      }]\n  timeoutSeconds: 5\ncache:\n  enabled: ${cache}\n  dir: ${JSON.stringify(cacheDir)}\n  ttlSeconds: 3600\n`;
    writeFileSync(join(cfg, 'config.yaml'), configYaml(false));

    // bin_dir: a sigward-verifier symlink to the binary (from source: a wrapper running node)
    const binDir = join(tmp, 'image-verifier-bin');
    mkdirSync(binDir);
    const verifier = join(binDir, 'sigward-verifier');
    const install = (how: 'symlink' | 'wrapper' | 'none') => {
      for (const f of readdirSync(binDir)) unlinkSync(join(binDir, f));
      if (how === 'none') return;
      if (how === 'symlink' && !fromSource) return symlinkSync(BINARY, verifier);
      const sigward = fromSource
        ? `${JSON.stringify(process.execPath)} ${JSON.stringify(join(ROOT, 'cmd/main.ts'))}`
        : JSON.stringify(BINARY);
      // 'wrapper': the subcommand written out, followed by containerd's single-dash flags
      writeFileSync(verifier, `#!/bin/sh\nexec ${sigward} ${how === 'wrapper' ? 'containerd-verify ' : ''}"$@"\n`);
      chmodSync(verifier, 0o755);
    };
    install('symlink');

    const ctd: ContainerdHandle = await startContainerd({
      binDir,
      env: { PATH: '/usr/bin:/bin', HOME: tmp, SIGWARD_CONFIG_DIR: cfg },
      plainHttp: [reg.host],
    });
    t.teardown(() => ctd.stop());
    let decided = 0;

    /** containerd's block message around sigward's reason (pkg/imageverifier/bindir + transfer). */
    const blocked = (c: SignedCase) =>
      `image verifier bindir blocked pull of ${c.image} with digest ${c.digest} for reason: verifier sigward-verifier rejected image (exit code 1): sigward: image verification failed for ${c.image}@${c.digest}: policy ${POLICY}: `;
    const reasonOf = (message: string) => message.slice(message.indexOf(`policy ${POLICY}: `)).trim();

    await t.test('the real cosign decides each case as expected (the fixtures are what they claim)', async (t) => {
      for (const c of fx.cases.filter((c) => c.kind !== 'unmatched')) {
        const r = await fx.cosign([
          'verify',
          '--key',
          fx.publicKeyPath,
          '--insecure-ignore-tlog',
          '--allow-insecure-registry',
          `${c.image.replace(/:[^:/]+$/, '')}@${c.digest}`,
        ]);
        t.equal(
          r.code === 0 ? 'allow' : 'deny',
          c.expected,
          `cosign verify ${c.id} (${c.how}): ${r.code ? r.stderr.trim().split('\n').pop() : 'verified'}`,
        );
      }
    });

    await t.test('ctr image pull (Transfer Service): containerd runs sigward and obeys it', async (t) => {
      for (const c of fx.cases) {
        const r = await ctd.pull(c.image);
        const stored = (await ctd.images()).includes(c.image);
        decided++;
        if (c.expected === 'allow') {
          t.equal(r.code, 0, `${c.id}: pulled (${c.how}) ${r.code ? r.stderr.slice(-600) : ''}`);
          t.ok(stored, `${c.id}: in containerd's image store`);
          continue;
        }
        t.not(r.code, 0, `${c.id}: ctr pull fails (${c.how})`);
        t.match(r.stderr, blocked(c), `${c.id}: containerd's message carries sigward's reason`);
        t.match(reasonOf(r.stderr), denyReason(c, fx.cases), `${c.id}: ${reasonOf(r.stderr)}`);
        t.notOk(stored, `${c.id}: not in containerd's image store`);
      }
      const log = ctd.log();
      t.match(
        log,
        `reason="sigward-verifier => sigward: allowed ${byId('legacy/signed').image}@${
          byId('legacy/signed').digest
        }: verified image signatures (${POLICY})`,
        "containerd's log has sigward's allow reason",
      );
      t.match(
        log,
        `reason="sigward-verifier => sigward: allowed ${byId('none/unmatched').image}@${
          byId('none/unmatched').digest
        }: no policy applies to this image`,
      );
      t.match(
        log,
        new RegExp(`msg="Verifying image pull" digest="${byId('bundle/multi-arch').digest}"`),
        'a multi-arch image is verified by its index digest',
      );
    });

    await t.test('CRI PullImage over the gRPC socket: the same verdicts', async (t) => {
      for (const c of fx.cases) {
        const r = await ctd.criPull(c.image);
        const stored = (await ctd.images('k8s.io')).includes(c.image);
        decided++;
        if (c.expected === 'allow') {
          t.equal(r.status, 0, `${c.id}: PullImage OK (${c.how}) ${r.message}`);
          t.match(r.imageRef, /^sha256:[0-9a-f]{64}$/, `${c.id}: image ref`);
          t.ok(stored, `${c.id}: in the k8s.io namespace`);
          continue;
        }
        t.equal(r.status, 2, `${c.id}: gRPC Unknown (${c.how})`);
        t.match(
          r.message,
          `failed to pull and unpack image "${c.image}": ${blocked(c)}`,
          `${c.id}: the kubelet would see sigward's reason`,
        );
        t.match(reasonOf(r.message), denyReason(c, fx.cases), `${c.id}: the same reason`);
        t.notOk(stored, `${c.id}: not in the k8s.io namespace`);
      }
    });

    await t.test('CRI PullImage by digest: containerd passes the pinned name, the reason names it once', async (t) => {
      const c = byId('none/unsigned');
      const pinned = c.image.replace(/:v1$/, `@${c.digest}`);
      const r = await ctd.criPull(pinned);
      decided++;
      t.equal(r.status, 2);
      t.match(
        r.message,
        `verifier sigward-verifier rejected image (exit code 1): sigward: image verification failed for ${pinned}: policy ${POLICY}: `,
      );
      t.notMatch(r.message, `${c.digest}@${c.digest}`);
      const ok = byId('legacy/signed');
      const okPinned = ok.image.replace(/:v1$/, `@${ok.digest}`);
      const a = await ctd.criPull(okPinned);
      decided++;
      t.equal(a.status, 0, a.message);
      t.match(ctd.log(), `reason="sigward-verifier => sigward: allowed ${okPinned}: verified image signatures`);
    });

    await t.test('a wrapper script in bin_dir running `sigward containerd-verify "$@"`', async (t) => {
      install('wrapper');
      t.teardown(() => install('symlink'));
      const ok = byId('bundle/signed');
      const r = await ctd.pull(ok.image);
      decided++;
      t.equal(r.code, 0, r.stderr.slice(-600));
      const bad = byId('bundle/replayed');
      const d = await ctd.pull(bad.image);
      decided++;
      t.not(d.code, 0);
      t.match(d.stderr, blocked(bad));
      t.notMatch(ctd.log(), /Unknown argument/);
    });

    await t.test('README caveat: `ctr image pull --local` does not run verifiers', async (t) => {
      const c = byId('none/unsigned');
      const r = await ctd.pull(c.image, { extra: ['--local'] });
      t.equal(r.code, 0, `the unsigned image is pulled: ${r.stderr.slice(-300)}`);
      t.ok((await ctd.images()).includes(c.image));
      await ctd.removeImages([c.image]);
    });

    await t.test('signatures that never arrive: sigward answers before per_verifier_timeout, else containerd kills it (both block)', async (t) => {
      // a proxy in front of the registry: containerd resolves the image through it, sigward's signature reads hang
      const proxy = await startFaultProxy(
        reg.url,
        (req) => (/\/manifests\/sha256-|\/referrers\//.test(req.path) ? { kind: 'hang' } : undefined),
      );
      t.teardown(() => proxy.stop());
      const slowPolicy = join(cfg, 'policies', 'via-proxy.yaml');
      writeFileSync(
        slowPolicy,
        keyPolicy('require-signed-images', [`${proxy.host}/company/*`], fx.publicKeyPem).replace(
          'name: require-signed-images',
          'name: via-proxy',
        ),
      );
      writeFileSync(join(cfg, 'config.yaml'), configYaml(false).replace('deadlineSeconds: 8', 'deadlineSeconds: 2'));
      t.teardown(() => {
        rmSync(slowPolicy, { force: true });
        writeFileSync(join(cfg, 'config.yaml'), configYaml(false));
      });
      ctd.allowPlainHttp(proxy.host);
      const image = byId('legacy/signed').image.replace(reg.host, proxy.host);
      const digest = byId('legacy/signed').digest;
      const r = await ctd.pull(image);
      decided++;
      t.not(r.code, 0, 'blocked');
      t.match(
        r.stderr,
        `image verifier bindir blocked pull of ${image} with digest ${digest} for reason: verifier sigward-verifier rejected image (exit code 3): sigward: cannot verify ${image}@${digest}: verification did not finish within 2 s`,
        "sigward's own deadline: containerd gets a reason",
      );
      t.ok(r.ms < 9000, `answered in ${Math.round(r.ms)} ms`);

      const short = await startContainerd({
        binDir,
        env: { PATH: '/usr/bin:/bin', HOME: tmp, SIGWARD_CONFIG_DIR: cfg },
        plainHttp: [proxy.host],
        perVerifierTimeout: '1s',
      });
      t.teardown(() => short.stop());
      const k = await short.pull(image);
      decided++;
      t.not(k.code, 0, 'per_verifier_timeout shorter than deadlineSeconds: still blocked (fail closed)');
      t.match(
        k.stderr,
        new RegExp(
          `blocking pull of ${image} with digest ${digest}: image verifier bindir returned error: failed to call verifier sigward-verifier \\(runtime [0-9.]+m?s\\): waiting on command to exit: signal: killed`,
        ),
      );
      t.notMatch(k.stderr, /sigward: /, 'with no reason from sigward: containerd killed it');
      t.notOk((await short.images()).includes(image), 'not in the image store');
    });

    await t.test("the verifier's share of a pull: no verifier, a fresh verdict, a cached verdict", async (t) => {
      // One signed image under fresh tags: a new name is a cache miss (a verification), the warmed name a cached
      // verdict. The three modes alternate within each round, so that a change of load hits them alike.
      const c = byId('legacy/signed');
      const repository = c.image.slice(reg.host.length + 1).replace(/:v1$/, '');
      const { bytes, descriptor } = await store.getManifest(reg.ref(repository), c.digest);
      const rounds = 9;
      writeFileSync(join(cfg, 'config.yaml'), configYaml(true));
      const warm = await ctd.pull(c.image);
      if (warm.code !== 0) throw new Error(`warm-up pull failed: ${warm.stderr}`);
      const wall: Record<string, number[]> = {};
      const inVerifier: Record<string, number[]> = {};
      const pullOnce = async (path: 'ctr' | 'cri', image: string): Promise<number> => {
        const ns = path === 'ctr' ? 'default' : 'k8s.io';
        await ctd.removeImages(await ctd.images(ns), ns); // nothing left to share content with: every pull fetches and unpacks
        if (path === 'ctr') {
          const r = await ctd.pull(image);
          if (r.code !== 0) throw new Error(`ctr pull ${image} failed: ${r.stderr}`);
          return r.ms;
        }
        const r = await ctd.criPull(image);
        if (r.status !== 0) throw new Error(`CRI pull ${image} failed: ${r.message}`);
        return r.ms;
      };
      for (let i = 0; i < rounds; i++) {
        for (const path of ['ctr', 'cri'] as const) {
          for (const mode of ['none', 'fresh', 'cached'] as const) {
            install(mode === 'none' ? 'none' : 'symlink');
            let image = c.image;
            if (mode !== 'cached') {
              image = `${reg.host}/${repository}:${path}-${mode}-${i}`;
              await store.putManifest(reg.ref(repository), bytes, descriptor.mediaType, `${path}-${mode}-${i}`);
            }
            (wall[`${path}/${mode}`] ??= []).push(await pullOnce(path, image));
            if (mode === 'fresh') (inVerifier[`${path}/fresh`] ??= []).push(...verifierDurations(ctd.log(), image));
          }
        }
      }
      install('symlink');
      const cachedRuns = verifierDurations(ctd.log(), c.image).slice(-2 * rounds);
      inVerifier['ctr/cached'] = cachedRuns.filter((_, j) => j % 2 === 0);
      inVerifier['cri/cached'] = cachedRuns.filter((_, j) => j % 2 === 1);
      const log = ctd.log();
      const allows = (name: string) =>
        log.split('\n').filter((l) => l.includes('msg="Image verifier allowed pull"') && l.includes(`name="${name}"`));
      t.equal(
        allows(c.image).slice(-2 * rounds).filter((l) => /\(cached verdict of /.test(l)).length,
        2 * rounds,
        'every pull of the warmed name was answered from the verdict cache',
      );
      const fresh = Array.from(
        { length: rounds },
        (_, i) => ['ctr', 'cri'].map((p) => `${reg.host}/${repository}:${p}-fresh-${i}`),
      ).flat();
      t.ok(
        fresh.every((n) => allows(n).length === 1 && !/cached verdict/.test(allows(n)[0]!)),
        'every fresh name was verified',
      );
      const none = Array.from(
        { length: rounds },
        (_, i) => ['ctr', 'cri'].map((p) => `${reg.host}/${repository}:${p}-none-${i}`),
      ).flat();
      t.ok(
        none.every((n) =>
          allows(n).length === 1 && allows(n)[0]!.includes(`reason="no image verifier binaries found in ${binDir}"`)
        ),
        'with an empty bin_dir containerd ran no verifier',
      );
      for (const k of ['ctr/fresh', 'ctr/cached', 'cri/fresh', 'cri/cached']) {
        t.equal(inVerifier[k]!.length, rounds, `containerd logged the verifier runs (${k})`);
      }
      const m = (k: string) => median(wall[k]!);
      const v = (k: string) => median(inVerifier[k]!);
      const row = (path: string, mode: string) =>
        `${m(`${path}/${mode}`).toFixed(0)} ms (${v(`${path}/${mode}`).toFixed(0)} ms in the verifier, ${
          ((100 * v(`${path}/${mode}`)) / m(`${path}/${mode}`)).toFixed(0)
        } %)`;
      const load = readFileSync('/proc/loadavg', 'utf8').split(' ')[0];
      t.comment(
        `median of ${rounds} rounds, modes alternating, one small image (content removed before each pull), loopback registry, 2 cores, load average ${load}; time in the verifier from containerd's debug log ("Verifying image pull" to the verdict):`,
      );
      for (const path of ['ctr', 'cri']) {
        t.comment(
          `${path}: no verifier ${m(`${path}/none`).toFixed(0)} ms; fresh verdict ${
            row(path, 'fresh')
          }; cached verdict ${row(path, 'cached')}`,
        );
      }
    });

    t.comment(`pulls decided by the real containerd with sigward as its verifier: ${decided}`);
  });
}
