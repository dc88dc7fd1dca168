// Fault injection under `sigward verify` (the binary): a proxy in front of the
// real registry answers with 5xx, 429 + Retry-After, resets, silence, slow
// drips and truncated bodies. Transient faults are retried and the image
// verifies; persistent ones end in exit 3 (could not decide) or a denial,
// never an allow; deadlines hold (--timeout 5 ends in under 8 s).

import t from 'tap';
import { RegistryClient } from '../../lib/oci/registry.ts';
import { computeDigest } from '../../lib/digest.ts';
import { digestTag } from '../../lib/digest.ts';
import { pushImage, withRegistry } from '../helpers/registry.ts';
import { makeKey, signImage } from '../helpers/cosign.ts';
import { runSigward } from '../helpers/cli.ts';
import { deadlineBound, type Fault, type FaultRequest, isBlob, isManifest, startFaultProxy } from '../helpers/proxy.ts';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

t.test('registry faults under sigward verify', async (t) => {
  const reg = await withRegistry(t);
  const store = new RegistryClient();
  t.teardown(() => store.close());
  const proxy = await startFaultProxy(reg.url);
  t.teardown(() => proxy.stop());
  const dir = mkdtempSync(join(tmpdir(), 'sigward-faults-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const key = makeKey();
  const pub = join(dir, 'cosign.pub');
  writeFileSync(pub, key.publicPem);
  const digest = await pushImage(store, reg.ref('f/app'), { tag: 'v1' });
  const { payload } = await signImage({ store, repository: reg.ref('f/app'), digest, key });
  const sigTag = digestTag(digest, 'sig');
  const payloadDigest = computeDigest(payload);
  const image = `${proxy.host}/f/app:v1`;

  const verify = async (extra: string[] = []) => {
    const t0 = Date.now();
    const r = await runSigward(['verify', image, '--key', pub, '--insecure-ignore-tlog', '-o', 'json', ...extra], {
      timeoutMs: 60_000,
    });
    const ms = Date.now() - t0;
    let doc: any;
    try {
      doc = JSON.parse(r.stdout);
    } catch {
      throw new Error(`no JSON (exit ${r.code}): ${r.stdout}\n${r.stderr}`);
    }
    return {
      code: r.code,
      ms,
      error: doc.images?.[0]?.error,
      verified: doc.images?.[0]?.verified,
      digest: doc.images?.[0]?.digest,
    };
  };
  /** faults `fault` on the requests `match` selects, the first `times` of them (Infinity: all) */
  const inject = (match: (r: FaultRequest) => boolean, fault: Fault, times = Infinity) => {
    proxy.reset();
    proxy.rule = (r) => (match(r) && r.seen < times ? fault : undefined);
  };
  const tagHead = (r: FaultRequest) => isManifest(r, 'v1');
  const sigManifest = (r: FaultRequest) => isManifest(r, sigTag);
  const sigBlob = (r: FaultRequest) => isBlob(r, payloadDigest);

  const ok = await verify();
  const t0 = Date.now();
  await runSigward(['version']);
  const startup = Date.now() - t0;
  const bound = deadlineBound(startup);
  t.comment(`process start-up ${startup} ms: --timeout 5 must end within ${bound} ms`);
  t.equal(ok.code, 0, 'control: verified through the proxy');

  await t.test('transient faults are retried', async (t) => {
    inject(tagHead, { kind: 'respond', status: 503, body: 'busy' }, 2);
    let r = await verify();
    t.equal(r.code, 0, '503, 503, then 200: verified');
    t.equal(proxy.log.filter((l) => l.endsWith('/manifests/v1')).length, 3, 'two retries');

    inject(sigManifest, { kind: 'respond', status: 429, headers: { 'retry-after': '1' } }, 1);
    r = await verify();
    t.equal(r.code, 0, '429 with Retry-After: 1, then 200: verified');
    const times = proxy.requests.filter((x) => x.path.includes(sigTag)).length;
    t.equal(times, 2, 'asked twice');
    t.ok(r.ms >= 1000, `waited for Retry-After (${r.ms} ms in all)`);

    inject(sigBlob, { kind: 'reset' }, 1);
    r = await verify();
    t.equal(r.code, 0, 'connection reset once, then the blob: verified');

    inject(sigManifest, { kind: 'delay', ms: 1500 });
    r = await verify();
    t.equal(r.code, 0, 'slow (1.5 s) but within the deadline: verified');
  });

  await t.test('persistent faults: could not decide, never allow', async (t) => {
    inject(sigManifest, { kind: 'respond', status: 500, body: '{"errors":[{"code":"UNKNOWN","message":"boom"}]}' });
    let r = await verify();
    t.equal(r.code, 3, '500 forever: exit 3');
    t.equal(r.error.code, 'REGISTRY_ERROR');
    t.match(r.error.message, /answered UNKNOWN: boom .* after 3 retries/);

    inject(sigManifest, { kind: 'reset' });
    r = await verify();
    t.equal(r.code, 3, 'reset forever: exit 3');
    t.equal(r.error.code, 'REGISTRY_UNREACHABLE');
    t.match(r.error.message, /connection reset|socket hang up/);

    inject(tagHead, { kind: 'respond', status: 429, headers: { 'retry-after': '1' } });
    r = await verify();
    t.equal(r.code, 3, '429 forever: exit 3');
    t.equal(r.error.code, 'REGISTRY_RATE_LIMITED');

    inject(sigBlob, { kind: 'respond', status: 404, body: '{"errors":[{"code":"BLOB_UNKNOWN"}]}' });
    r = await verify();
    t.equal(r.code, 1, 'the signature blob is gone: denied');
    t.equal(r.error.code, 'BLOB_UNKNOWN');
  });

  await t.test('truncated bodies never verify', async (t) => {
    inject(sigManifest, { kind: 'truncate', bytes: 100 });
    let r = await verify();
    t.equal(r.code, 3, 'signature manifest cut short (Content-Length promised more): exit 3');
    t.equal(r.error.code, 'REGISTRY_UNREACHABLE');

    inject(sigBlob, { kind: 'truncate', bytes: 50 });
    r = await verify();
    t.equal(r.code, 3, 'signature blob cut short: exit 3');
    t.not(r.verified, true);

    inject(sigBlob, { kind: 'truncate', bytes: 50, chunked: true });
    r = await verify();
    t.equal(r.code, 1, 'signature blob ends early, cleanly (chunked): denied');
    t.equal(r.error.code, 'CONTENT_DIGEST_MISMATCH');
    t.match(r.error.message, /size mismatch/);

    inject(sigManifest, { kind: 'truncate', bytes: 100, chunked: true });
    r = await verify();
    t.equal(r.code, 1, 'signature manifest ends early, cleanly: denied');
    t.match(r.error.code, /CONTENT_DIGEST_MISMATCH|MANIFEST_INVALID/);
  });

  await t.test('deadlines hold', async (t) => {
    inject(tagHead, { kind: 'hang' });
    let r = await verify(['--timeout', '5']);
    t.equal(r.code, 3, 'registry never answers: exit 3');
    t.ok(r.ms < bound, `--timeout 5 ended in ${r.ms} ms (< ${bound})`);
    t.equal(r.error.code, 'REGISTRY_UNREACHABLE');
    t.match(r.error.message, /deadline exceeded/);

    inject(sigBlob, { kind: 'drip', chunk: 1, intervalMs: 300 });
    r = await verify(['--timeout', '5']);
    t.equal(r.code, 3, 'signature blob dripped one byte at a time: exit 3');
    t.ok(r.ms < bound, `--timeout 5 ended in ${r.ms} ms (< ${bound})`);

    inject(sigManifest, { kind: 'drip', chunk: 4, intervalMs: 250 });
    r = await verify(['--timeout', '5', '--registry-timeout', '30']);
    t.equal(r.code, 3, 'signature manifest dripped, per-request timeout longer than the deadline: exit 3');
    t.ok(r.ms < bound, `--timeout 5 ended in ${r.ms} ms (< ${bound})`);

    inject(sigManifest, { kind: 'hang' });
    r = await verify(['--registry-timeout', '1', '--timeout', '30']);
    t.equal(r.code, 3, 'silent registry, --registry-timeout 1: exit 3');
    t.ok(r.ms < 15_000, `per-request timeout (with retries) ended in ${r.ms} ms`);
    t.match(r.error.message, /timed out/);
  });
});
