// Attack suite, Docker Hub names: one policy must select the same image in
// all three roles, whatever spelling reached sigward. containerd hands its
// verifier the normalised name (`docker.io/library/nginx:latest` for a Pod's
// `nginx`), while the webhook and `check` see the name as written; a policy
// written the Kyverno way (`docker.io/nginx*`) must not let the node pull
// what the webhook would verify.
//
// Offline on purpose: the images live on Docker Hub, which this machine
// cannot reach. A rule that selects an image must then block it ("registry
// unreachable"); a rule that does not select it allows it ("no policy
// applies"). So the table below is decided by matching alone, with the real
// binary in each role: `sigward check` on a kubectl Pod, `sigward serve`
// answering an AdmissionReview over TLS, and the verifier run exactly as
// containerd 2.x runs it.

import t from 'tap';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeKey } from '../helpers/cosign.ts';
import { kubectlPod } from '../helpers/kubectl.ts';
import { BINARY, runSigward, runVerifier } from '../helpers/cli.ts';
import { startServe, toReview } from '../server/helpers.ts';
import { scratch } from './helpers.ts';
import { keyPolicy } from '../helpers/policies.ts';

const D = `sha256:${'ab'.repeat(32)}`;

/** [as written in the Pod, as containerd names it] */
const NGINX: [string, string][] = [
  [`nginx@${D}`, `docker.io/library/nginx@${D}`],
  [`docker.io/nginx@${D}`, `docker.io/library/nginx@${D}`],
  [`docker.io/library/nginx@${D}`, `docker.io/library/nginx@${D}`],
  [`index.docker.io/nginx@${D}`, `docker.io/library/nginx@${D}`],
  [`index.docker.io/library/nginx@${D}`, `docker.io/library/nginx@${D}`],
  ['nginx:1.25', 'docker.io/library/nginx:1.25'],
  ['nginx', 'docker.io/library/nginx:latest'],
];
const BITNAMI: [string, string][] = [
  [`bitnami/nginx@${D}`, `docker.io/bitnami/nginx@${D}`],
  [`docker.io/bitnami/nginx@${D}`, `docker.io/bitnami/nginx@${D}`],
  [`index.docker.io/bitnami/nginx@${D}`, `docker.io/bitnami/nginx@${D}`],
];

interface Case {
  refs: string[];
  skip?: string[];
  /** images the rule must verify (so: block here); the others must be allowed */
  selects: (written: string) => boolean;
}

const all = () => true;
const none = () => false;
const CASES: Case[] = [
  { refs: ['docker.io/nginx*'], selects: (w) => !w.includes('bitnami') },
  { refs: ['docker.io/library/nginx*'], selects: (w) => !w.includes('bitnami') },
  { refs: ['docker.io/nginx:*'], selects: (w) => !w.includes('bitnami') && !w.includes('@') },
  { refs: ['index.docker.io/*'], selects: all },
  { refs: ['docker.io/*'], selects: all },
  { refs: ['docker.io/bitnami/*'], selects: (w) => w.includes('bitnami') },
  // controls: patterns are not normalised, and other registries never match
  { refs: ['nginx*'], selects: none },
  { refs: ['ghcr.io/*'], selects: none },
  // skipImageReferences: a skip in any spelling skips the image everywhere
  { refs: ['*'], skip: ['docker.io/nginx*'], selects: (w) => w.includes('bitnami') },
  { refs: ['*'], skip: ['docker.io/library/*'], selects: (w) => w.includes('bitnami') },
  { refs: ['*'], skip: ['nginx*'], selects: all },
];

t.test('Docker Hub names decide alike in check, serve and containerd', async (t) => {
  const s = scratch(t);
  const key = makeKey();
  const images = [...NGINX, ...BITNAMI];
  let decided = 0;
  for (const [i, c] of CASES.entries()) {
    const label = `imageReferences ${JSON.stringify(c.refs)}${c.skip ? ` skip ${JSON.stringify(c.skip)}` : ''}`;
    const text = keyPolicy({
      key: key.publicPem,
      name: 'hub',
      refs: c.refs,
      ...(c.skip ? { entry: { skipImageReferences: c.skip } } : {}),
    });
    const policyDir = join(s.dir, `policies-${i}`);
    mkdirSync(policyDir);
    writeFileSync(join(policyDir, 'hub.yaml'), text);
    const nodeDir = join(s.dir, `node-${i}`);
    mkdirSync(join(nodeDir, 'policies'), { recursive: true });
    writeFileSync(join(nodeDir, 'policies', 'hub.yaml'), text);
    writeFileSync(join(nodeDir, 'config.yaml'), 'cache:\n  enabled: false\nregistry:\n  timeoutSeconds: 3\n');
    const srv = await startServe({ policyDir });
    try {
      for (const [written, normalised] of images) {
        const expectBlock = c.selects(written);
        const want = expectBlock ? 'verified (blocked: Docker Hub is unreachable)' : 'not selected (allowed)';
        const pod = kubectlPod('web', written);

        const check = await runSigward([
          'check',
          '--policy',
          join(policyDir, 'hub.yaml'),
          '--resource',
          s.file(`pod-${i}.json`, JSON.stringify(pod)),
          '-o',
          'json',
        ]);
        const doc = JSON.parse(check.stdout || '{}');
        const rules = doc.results?.[0]?.rules ?? [];
        const verified = rules.some((r: { status: string }) => r.status === 'fail' || r.status === 'error');
        t.equal(check.code !== 0 && verified, expectBlock, `check, ${label}, ${written}: ${want} (exit ${check.code})`);

        const review = await srv.review('/mutate', toReview(pod));
        t.equal(
          review.allowed,
          !expectBlock,
          `serve, ${label}, ${written}: ${want} (${review.status?.message ?? 'allowed'})`,
        );

        const node = await runVerifier(BINARY, normalised, D, {
          mediaType: 'application/vnd.oci.image.manifest.v1+json',
          digest: D,
          size: 1234,
        }, nodeDir);
        t.equal(node.code !== 0, expectBlock, `containerd, ${label}, ${normalised}: ${want} (${node.stdout.trim()})`);
        if (!expectBlock) t.match(node.stdout, /no policy applies|skip/i, 'containerd says why it allowed');
        decided += 3;
      }
    } finally {
      await srv.stop();
    }
  }
  t.comment(`${decided} decisions, ${CASES.length} policies x ${images.length} spellings x 3 roles`);
});
