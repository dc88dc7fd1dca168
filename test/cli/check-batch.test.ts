// `sigward check` in batch: 1,000 image references to 200 distinct digests
// pushed in the real registry and signed by the REAL cosign 3.1.1 (half in the
// legacy .sig format, half as v3 bundles); every digest verified once, JSON
// summary per digest, JUnit XML, throughput; per-registry rate limiting;
// progress bar only when asked or on a terminal.

import t from 'tap';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RegistryClient } from '../../lib/oci/registry.ts';
import { openStore } from '../../lib/oci/index.ts';
import { createTokenBucket, withRateLimit } from '../../lib/oci/store-wrappers.ts';
import { createProgress, renderProgress } from '../../cmd/report/progress.ts';
import { escapeXml, toJUnitXml } from '../../cmd/report/junit.ts';
import { pushImageDetailed, withRegistry } from '../helpers/registry.ts';
import { FORMAT_FLAGS, type SignatureFormat } from '../helpers/cosign-images.ts';
import { cosignRunner, offlineSigningConfigArgs, withRealCosign } from '../helpers/peers.ts';
import { runSigward } from '../helpers/cli.ts';

const tmp = mkdtempSync(join(tmpdir(), 'sigward-batch-'));
const cosign = cosignRunner(tmp, { COSIGN_PASSWORD: 'pw', HOME: tmp, PATH: process.env.PATH ?? '/usr/bin:/bin' });
async function must(what: string, args: string[]): Promise<void> {
  const r = await cosign(args);
  if (r.code !== 0) throw new Error(`cosign ${what} failed (${r.code}): ${r.stderr.slice(-1500)}`);
}
/** One cosign key pair and the offline signing config, made once for the file; returns the public key PEM. */
let keyMade: Promise<string> | undefined;
function cosignKey(): Promise<string> {
  keyMade ??= (async () => {
    await must('generate-key-pair', ['generate-key-pair']);
    await must('signing-config create', offlineSigningConfigArgs('signing-config.json'));
    return readFileSync(join(tmp, 'cosign.pub'), 'utf8');
  })();
  return keyMade;
}
/** One `cosign sign` for all of `at` (the key is decrypted once, not per image). */
function cosignSign(format: SignatureFormat, at: string[]): Promise<void> {
  return must(`sign ${format} ${at.length} images`, [
    'sign',
    '--key',
    'cosign.key',
    ...FORMAT_FLAGS[format](tmp),
    '--allow-insecure-registry',
    '--yes',
    ...at,
  ]);
}

function policyYaml(pattern: string, publicKeyPem: string): string {
  const pem = publicKeyPem.trim().split('\n').map((l) => ' '.repeat(22) + l).join('\n');
  return `apiVersion: kyverno.io/v1
kind: ClusterPolicy
metadata:
  name: require-signed-images
spec:
  validationFailureAction: Enforce
  rules:
    - name: check-signatures
      match:
        any:
          - resources:
              kinds: [Pod]
      verifyImages:
        - imageReferences: ["${pattern}"]
          verifyDigest: false
          attestors:
            - entries:
                - keys:
                    publicKeys: |-
${pem}
                    rekor:
                      ignoreTlog: true
`;
}

async function mapLimit<T>(items: T[], limit: number, fn: (x: T, i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: limit }, async () => {
    while (next < items.length) {
      const i = next++;
      await fn(items[i]!, i);
    }
  }));
}

/** Well-formedness of the XML we write: one root, balanced tags, quoted attributes, no stray '<' or '&'. */
function checkXml(xml: string): string | undefined {
  const body = xml.replace(/^<\?xml [^?]*\?>\s*/, '');
  const stack: string[] = [];
  const re = /<(\/?)([A-Za-z][\w.-]*)((?:\s+[\w:-]+="[^"<]*")*)\s*(\/?)>|([^<]+)/gy;
  let m: RegExpExecArray | null;
  let pos = 0;
  let roots = 0;
  while (pos < body.length && (m = re.exec(body))) {
    pos = re.lastIndex;
    if (m[5] !== undefined) {
      if (/&(?!(amp|lt|gt|quot|apos);)/.test(m[5])) return `bad entity near ${m[5].slice(0, 40)}`;
      if (!stack.length && m[5].trim()) return 'text outside the root';
      continue;
    }
    if (m[1]) {
      if (stack.pop() !== m[2]) return `unbalanced </${m[2]}>`;
    } else if (!m[4]) {
      if (!stack.length) roots++;
      stack.push(m[2]!);
    } else if (!stack.length) roots++;
  }
  if (pos < body.length) return `cannot parse at ${body.slice(pos, pos + 40)}`;
  if (stack.length) return `unclosed <${stack.join('><')}>`;
  return roots === 1 ? undefined : `${roots} root elements`;
}

withRealCosign(() => {
  t.test('check over 1,000 references to 200 digests in the real registry', async (t) => {
    const reg = await withRegistry(t);
    const store = new RegistryClient();
    t.teardown(() => store.close());
    const key = await cosignKey();
    const setupStart = performance.now();
    const REPOS = 40;
    const PER_REPO = 5;
    const TAGS = 4;
    const UNSIGNED_EVERY = 10; // 20 of 200 digests stay unsigned
    const jobs = Array.from(
      { length: REPOS * PER_REPO },
      (_, i) => ({ repo: `batch/r${Math.floor(i / PER_REPO)}`, n: i % PER_REPO, i }),
    );
    const refs: string[] = [];
    const unsignedDigests = new Set<string>();
    // repositories in parallel, the images of one repository in sequence (the registry dislikes concurrent pushes of equal blobs to one repository)
    const byRepo = Array.from({ length: REPOS }, (_, r) => jobs.filter((j) => j.repo === `batch/r${r}`));
    const toSign: Record<SignatureFormat, string[]> = { legacy: [], bundle: [] };
    await mapLimit(byRepo, 8, async (list) => {
      for (const j of list) await pushOne(j);
    });
    async function pushOne(j: (typeof jobs)[number]): Promise<void> {
      const repo = reg.ref(j.repo);
      const img = await pushImageDetailed(store, repo, { tag: `i${j.n}-t0` });
      for (let k = 1; k < TAGS; k++) {
        await store.putManifest(repo, img.bytes, img.descriptor.mediaType, `i${j.n}-t${k}`);
      }
      if (j.i % UNSIGNED_EVERY === 0) unsignedDigests.add(img.digest);
      else toSign[j.i % 2 ? 'legacy' : 'bundle'].push(`${reg.host}/${j.repo}@${img.digest}`);
      for (let k = 0; k < TAGS; k++) refs.push(`${reg.host}/${j.repo}:i${j.n}-t${k}`);
      refs.push(`${reg.host}/${j.repo}@${img.digest}`);
    }
    // a few cosign processes, each signing a share of the images (the key is decrypted once per process)
    const chunks = (['legacy', 'bundle'] as const).flatMap((format) =>
      [0, 1, 2, 3].map((k) => ({ format, at: toSign[format].filter((_, n) => n % 4 === k) }))
    );
    await Promise.all(chunks.map((c) => cosignSign(c.format, c.at)));
    t.equal(refs.length, 1000);
    t.equal(unsignedDigests.size, 20);
    t.comment(`setup: 200 images, 800 tags, 180 signatures pushed in ${Math.round(performance.now() - setupStart)} ms`);

    const policy = join(tmp, 'policy.yaml');
    writeFileSync(policy, policyYaml(`${reg.host}/batch/*`, key));
    const junit = join(tmp, 'report.xml');
    const r = await runSigward([
      'check',
      '--policy',
      policy,
      '--image',
      '-',
      '-o',
      'json',
      '--junit',
      junit,
      '--concurrency',
      '16',
    ], { input: refs.join('\n') + '\n', timeoutMs: 120_000 });
    let doc: any;
    try {
      doc = JSON.parse(r.stdout);
    } catch {
      throw new Error(`no JSON (exit ${r.code}): ${r.stdout.slice(0, 500)}${r.stderr.slice(0, 2000)}`);
    }
    t.equal(r.code, 1, 'denials: exit 1');
    t.equal(doc.summary.images, 1000);
    t.equal(doc.summary.allowed, 900);
    t.equal(doc.summary.blocked, 100, '20 unsigned digests x 5 references');
    t.equal(doc.summary.distinctDigests, 200);
    t.equal(doc.summary.signatureVerifications, 200, 'each digest verified once');
    t.equal(doc.digests.length, 200, 'one verdict per digest');
    t.equal(doc.digests.filter((d: any) => !d.allowed).length, 20);
    t.ok(
      doc.digests.every((d: any) => d.references === 5 && d.allowed === !unsignedDigests.has(d.digest)),
      'per-digest verdicts and reference counts',
    );
    t.ok(doc.summary.throughput > 0);
    t.equal(r.stderr.includes('checking ['), false, 'no progress bar when stderr is not a terminal');
    t.comment(
      `check: 1000 references / 200 digests in ${doc.summary.ms} ms = ${doc.summary.throughput} references/s (concurrency 16)`,
    );

    const xml = readFileSync(junit, 'utf8');
    t.equal(checkXml(xml), undefined, 'JUnit XML is well formed');
    t.equal((xml.match(/<testcase /g) ?? []).length, 1000, 'one testcase per image x rule');
    t.equal((xml.match(/<failure /g) ?? []).length, 100, 'one failure per blocked reference');
    t.match(xml, /<testsuites name="sigward check" tests="1000" failures="100" errors="0" skipped="0"/);
    t.match(
      xml,
      /<failure message="failed to verify image [^"]+: \.attestors\[0\]\.entries\[0\]\.keys: signature not found" type="SIGNATURE_NOT_FOUND">/,
    );
  });

  t.test('rate limiting per registry host', async (t) => {
    const reg = await withRegistry(t);
    const store = new RegistryClient();
    t.teardown(() => store.close());
    const key = await cosignKey();
    const img = await pushImageDetailed(store, reg.ref('rl/app'), { tag: 'v1' });
    await cosignSign('legacy', [`${reg.host}/rl/app@${img.digest}`]);

    // 21 requests at 20/s with a burst of 1: at least 1 s
    const stores = withRateLimit((r) => openStore(r), { qps: 20, burst: 1 });
    const s = stores(reg.ref('rl/app'));
    const started = performance.now();
    await Promise.all(Array.from({ length: 21 }, () => s.resolve(reg.ref('rl/app'), 'v1')));
    const ms = performance.now() - started;
    t.ok(ms >= 950, `21 requests at 20 qps took ${Math.round(ms)} ms`);

    // a token bucket with an injected clock
    let now = 0;
    const waits: number[] = [];
    const b = createTokenBucket({ qps: 10, burst: 2, now: () => now, sleep: async (ms) => void waits.push(ms) });
    for (let i = 0; i < 4; i++) await b.take();
    t.same(waits.map((w) => Math.round(w)), [100, 200], 'burst of 2, then one token per 100 ms, queued');
    now = 1000;
    await b.take();
    t.equal(waits.length, 2, 'refilled after a pause');

    // through the CLI: one image needs several registry requests; at 2 qps (burst 2) that takes > 0.5 s
    const policy = join(tmp, 'rl-policy.yaml');
    writeFileSync(policy, policyYaml(`${reg.host}/rl/*`, key));
    const slow = await runSigward([
      'check',
      '--policy',
      policy,
      '--image',
      `${reg.host}/rl/app:v1`,
      '-o',
      'json',
      '--registry-qps',
      '2',
    ]);
    t.equal(slow.code, 0, slow.stdout + slow.stderr);
    const fast = await runSigward(['check', '--policy', policy, '--image', `${reg.host}/rl/app:v1`, '-o', 'json']);
    t.equal(fast.code, 0);
    const slowMs = JSON.parse(slow.stdout).summary.ms;
    t.ok(slowMs >= 500, `--registry-qps 2: ${slowMs} ms (unlimited: ${JSON.parse(fast.stdout).summary.ms} ms)`);
    const bad = await runSigward([
      'check',
      '--policy',
      policy,
      '--image',
      `${reg.host}/rl/app:v1`,
      '--registry-qps',
      '0',
    ]);
    t.equal(bad.code, 2, '--registry-qps 0 is a usage error');

    // progress bar when asked; JUnit on stdout with --junit -
    const prog = await runSigward([
      'check',
      '--policy',
      policy,
      '--image',
      `${reg.host}/rl/app:v1`,
      '--image',
      `${reg.host}/rl/app@${img.digest}`,
      '--progress',
    ]);
    t.match(prog.stderr, /\rchecking \[#+\] 2\/2 \(100%\)/);
    const j = await runSigward(['check', '--policy', policy, '--image', `${reg.host}/rl/app:v1`, '--junit', '-']);
    t.equal(j.code, 0);
    t.match(j.stdout, /^<\?xml version="1.0" encoding="UTF-8"\?>\n<testsuites /);
    t.equal(checkXml(j.stdout), undefined);
  });
});

t.test('progress and JUnit helpers', async (t) => {
  t.equal(
    renderProgress(50, 200, 2000, 'checking', 80),
    'checking [##########..............................] 50/200 (25%) 25.0/s',
  );
  const out: string[] = [];
  let now = 0;
  const p = createProgress({ total: 3, write: (s) => out.push(s), now: () => now, intervalMs: 100 });
  p.tick();
  now = 10;
  p.tick(); // throttled
  now = 20;
  p.tick(); // last one always drawn
  p.done();
  t.equal(out.length, 3, 'first, last, clear');
  t.match(out[1], /3\/3 \(100%\)/);
  t.equal(out[2], '\r\x1b[K');
  t.equal(escapeXml('a<b>&"\'\u0001'), 'a&lt;b&gt;&amp;&quot;&apos;\uFFFD');
  const xml = toJUnitXml([
    {
      resource: { kind: 'Image', name: 'x' },
      rules: [],
      patches: [],
      allowed: true,
      warnings: [],
      stats: { images: 1, distinctDigests: 0, signatureVerifications: 0, attestationVerifications: 0, ms: 0 },
    },
    {
      resource: { kind: 'Image', name: 'y' },
      rules: [{
        policy: 'p',
        rule: 'r',
        status: 'fail',
        message: 'm',
        action: 'Audit',
        failurePolicy: 'Fail',
        images: [{
          policy: 'p',
          rule: 'r',
          image: 'y',
          status: 'fail',
          message: 'bad <sig>',
          action: 'Audit',
          failurePolicy: 'Fail',
          required: true,
        }],
      }],
      patches: [],
      allowed: true,
      warnings: [],
      stats: { images: 1, distinctDigests: 0, signatureVerifications: 0, attestationVerifications: 0, ms: 0 },
    },
  ]);
  t.equal(checkXml(xml), undefined);
  t.match(xml, /<testsuite name="\(no policy\)" tests="1"/);
  t.match(
    xml,
    /<system-out>warning \(Audit\): bad &lt;sig&gt;<\/system-out>/,
    'Audit failures are warnings, not failures',
  );
  t.notMatch(xml, /<failure/);
});
