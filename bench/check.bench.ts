// Throughput of `sigward check` in batch: N image references (default 1,000)
// to N/5 distinct digests (4 tags + the digest each; 1 in 10 unsigned) in a
// real docker-registry on 127.0.0.1, checked by the single binary dist/sigward
// at a few concurrencies, with and without --registry-qps.
//   node bench/check.bench.ts [--refs 1000] [--concurrency 4,16,32]
// Prints a markdown table: references/s, ms, verifications (one per digest).

import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RegistryClient } from '../lib/oci/registry.ts';
import { pushImageDetailed, startRegistry } from '../test/helpers/registry.ts';
import { makeKey, signImage } from '../test/helpers/cosign.ts';
import { BINARY } from '../test/helpers/cli.ts';

const arg = (name: string, dflt: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1]! : dflt;
};
const REFS = Number(arg('refs', '1000'));
const CONCURRENCY = arg('concurrency', '4,16,32').split(',').map(Number);
const PER_DIGEST = 5;
const PER_REPO = 5;

if (!existsSync(BINARY)) throw new Error(`${BINARY} is missing: run npm run build`);
const digests = Math.ceil(REFS / PER_DIGEST);
const tmp = mkdtempSync(join(tmpdir(), 'sigward-bench-'));
const reg = await startRegistry();
const store = new RegistryClient();
try {
  const key = makeKey();
  const refs: string[] = [];
  const started = performance.now();
  const repos = Math.ceil(digests / PER_REPO);
  let nextRepo = 0;
  await Promise.all(Array.from({ length: 8 }, async () => {
    while (nextRepo < repos) {
      const r = nextRepo++;
      const repo = reg.ref(`bench/r${r}`);
      for (let n = 0; n < PER_REPO && r * PER_REPO + n < digests; n++) {
        const i = r * PER_REPO + n;
        const img = await pushImageDetailed(store, repo, { tag: `i${n}-t0` });
        for (let k = 1; k < PER_DIGEST - 1; k++) {
          await store.putManifest(repo, img.bytes, img.descriptor.mediaType, `i${n}-t${k}`);
        }
        if (i % 10 !== 0) await signImage({ store, repository: repo, digest: img.digest, key });
        for (let k = 0; k < PER_DIGEST - 1; k++) refs.push(`${reg.host}/bench/r${r}:i${n}-t${k}`);
        refs.push(`${reg.host}/bench/r${r}@${img.digest}`);
      }
    }
  }));
  const list = refs.slice(0, REFS);
  process.stderr.write(
    `setup: ${digests} images, ${list.length} references in ${Math.round(performance.now() - started)} ms\n`,
  );
  const pem = key.publicPem.trim().split('\n').map((l) => ' '.repeat(22) + l).join('\n');
  const policy = join(tmp, 'policy.yaml');
  writeFileSync(
    policy,
    `apiVersion: kyverno.io/v1
kind: ClusterPolicy
metadata: {name: require-signed-images}
spec:
  validationFailureAction: Enforce
  rules:
    - name: check-signatures
      match: {any: [{resources: {kinds: [Pod]}}]}
      verifyImages:
        - imageReferences: ["${reg.host}/bench/*"]
          verifyDigest: false
          attestors:
            - entries:
                - keys:
                    publicKeys: |-
${pem}
                    rekor: {ignoreTlog: true}
`,
  );
  const check = (extra: string[]) =>
    new Promise<any>((resolve, reject) => {
      const child = execFile(BINARY, ['check', '--policy', policy, '--image', '-', '-o', 'json', ...extra], {
        maxBuffer: 256 * 1024 * 1024,
        timeout: 300_000,
      }, (err, stdout) => {
        try {
          resolve(JSON.parse(String(stdout)));
        } catch {
          reject(err ?? new Error('no JSON'));
        }
      });
      child.stdin!.end(list.join('\n') + '\n');
    });
  console.log(`| references | digests | concurrency | registry qps | ms | references/s | signature verifications |`);
  console.log(`|---|---|---|---|---|---|---|`);
  for (const c of CONCURRENCY) {
    for (const qps of [undefined, 200]) {
      const doc = await check(['--concurrency', String(c), ...(qps ? ['--registry-qps', String(qps)] : [])]);
      const s = doc.summary;
      console.log(
        `| ${s.images} | ${s.distinctDigests} | ${c} | ${
          qps ?? '-'
        } | ${s.ms} | ${s.throughput} | ${s.signatureVerifications} |`,
      );
    }
  }
} finally {
  store.close();
  await reg.stop();
  rmSync(tmp, { recursive: true, force: true });
}
