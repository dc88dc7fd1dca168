// Attack suite, hostile registry: the signed images are real, but the server
// sigward talks to lies (a proxy in front of the real registry rewrites,
// redirects, floods or answers differently the second time). `sigward verify`
// and `sigward check` (the binary) must deny, and whatever they decide must be
// about the digest they resolved: never allow content they did not verify.

import t from 'tap';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RegistryClient } from '../../lib/oci/registry.ts';
import { computeDigest } from '../../lib/digest.ts';
import { digestTag } from '../../lib/digest.ts';
import type { ImageManifest } from '../../lib/oci/types.ts';
import { type PushedImage, pushImageDetailed, withRegistry } from '../helpers/registry.ts';
import { makeKey, signImage } from '../helpers/cosign.ts';
import { kubectlPod } from '../helpers/kubectl.ts';
import { type Fault, isBlob, isManifest, startFaultProxy, startServer } from '../helpers/proxy.ts';
import { AttackLog, imageEntry, scratch, sigwardJson } from './helpers.ts';

/** A made-up manifest answer (HEAD: headers only). */
function serve(img: { bytes: Uint8Array; digest: string; descriptor: { mediaType: string } }, method: string): Fault {
  return {
    kind: 'respond',
    status: 200,
    headers: {
      'content-type': img.descriptor.mediaType,
      'docker-content-digest': img.digest,
      ...(method === 'HEAD' ? { 'content-length': String(img.bytes.length) } : {}),
    },
    body: method === 'HEAD' ? undefined : img.bytes,
  };
}

t.test('a hostile registry in front of real signed images', async (t) => {
  const reg = await withRegistry(t);
  const store = new RegistryClient();
  t.teardown(() => store.close());
  const proxy = await startFaultProxy(reg.url);
  t.teardown(() => proxy.stop());
  const s = scratch(t);
  const key = makeKey();
  const pub = s.file('cosign.pub', key.publicPem);
  const log = new AttackLog('attacks/registry');
  const verify = (images: string[]) =>
    sigwardJson([
      'verify',
      ...images,
      '--key',
      pub,
      '--insecure-ignore-tlog',
      '--registry-timeout',
      '5',
      '--timeout',
      '30',
    ]);
  const via = (name: string, ref = 'v1') => `${proxy.host}/${name}${ref.startsWith('sha256:') ? '@' : ':'}${ref}`;
  const signed = async (name: string, tag = 'v1'): Promise<PushedImage & { payload: Uint8Array }> => {
    const img = await pushImageDetailed(store, reg.ref(name), { tag });
    const { payload } = await signImage({
      store,
      repository: reg.ref(name),
      digest: img.digest,
      key,
      identity: `${proxy.host}/${name}`,
    });
    return { ...img, payload };
  };
  t.beforeEach(() => proxy.reset());

  await t.test('content that does not match its digest', async (t) => {
    const a = await signed('r/blob');
    const payloadDigest = computeDigest(a.payload);
    const b = await signed('r/sigmanifest');
    const c = await signed('r/tagbody');
    const other = await pushImageDetailed(store, reg.ref('r/tagbody'), { tag: 'other' });
    const sigTag = digestTag(b.digest, 'sig');
    proxy.rule = (req) => {
      // the signed payload blob swapped for another payload of the same length
      if (isBlob(req, payloadDigest)) {
        return {
          kind: 'rewrite',
          fn: (up) => ({ ...up, body: Buffer.from(up.body.toString().replace(a.digest.slice(-8), 'deadbeef')) }),
        };
      }
      // the signature manifest rewritten (its layer now points elsewhere), its Docker-Content-Digest kept
      if (isManifest(req, sigTag) && req.method === 'GET') {
        return {
          kind: 'rewrite',
          fn: (up) => {
            const m = JSON.parse(up.body.toString()) as ImageManifest;
            m.layers[0]!.annotations = { ...m.layers[0]!.annotations, 'dev.cosignproject.cosign/signature': 'AAAA' };
            return { ...up, body: Buffer.from(JSON.stringify(m)) };
          },
        };
      }
      // no HEAD: the tag is resolved by GET, whose body is another manifest than the header says
      if (isManifest(req, 'v1') && req.path.includes('/r/tagbody/')) {
        if (req.method === 'HEAD') return { kind: 'respond', status: 405 };
        return { kind: 'rewrite', fn: (up) => ({ ...up, body: Buffer.from(other.bytes) }) };
      }
      return undefined;
    };
    const r = await verify([via('r/blob'), via('r/sigmanifest'), via('r/tagbody')]);
    t.equal(r.code, 1);
    log.denied(t, 'signature payload blob replaced in transit', imageEntry(r.doc, via('r/blob')), {
      code: 'CONTENT_DIGEST_MISMATCH',
      reason: /digest mismatch/,
      digest: a.digest,
    });
    log.denied(
      t,
      'signature manifest rewritten in transit (Docker-Content-Digest kept)',
      imageEntry(r.doc, via('r/sigmanifest')),
      { code: 'CONTENT_DIGEST_MISMATCH', reason: /Docker-Content-Digest\) digest mismatch/, digest: b.digest },
    );
    log.denied(
      t,
      'tag resolved to a manifest body that does not match its Docker-Content-Digest',
      imageEntry(r.doc, via('r/tagbody')),
      { code: 'CONTENT_DIGEST_MISMATCH', reason: /digest mismatch/ },
    );
    t.not(
      imageEntry(r.doc, via('r/tagbody')).digest,
      c.digest,
      'the signed digest is never reported for content that was not it',
    );
  });

  await t.test("the signed image's signature served for an unsigned image", async (t) => {
    const a = await signed('r/alias');
    const b = await pushImageDetailed(store, reg.ref('r/alias'), { tag: 'unsigned' });
    const sigA = await store.getManifest(reg.ref('r/alias'), digestTag(a.digest, 'sig'));
    proxy.rule = (
      req,
    ) => (isManifest(req, digestTag(b.digest, 'sig'))
      ? serve({ bytes: sigA.bytes, digest: sigA.descriptor.digest, descriptor: sigA.descriptor }, req.method)
      : undefined);
    const r = await verify([via('r/alias', 'unsigned')]);
    t.equal(r.code, 1);
    log.denied(
      t,
      "registry answers an unsigned image's signature tag with a signed image's signatures",
      imageEntry(r.doc, via('r/alias', 'unsigned')),
      { code: 'MANIFEST_DIGEST_MISMATCH', reason: /manifest digest mismatch/, digest: b.digest },
    );
  });

  await t.test('the tag moves between resolution and verification', async (t) => {
    const a = await signed('r/moving');
    const b = await pushImageDetailed(store, reg.ref('r/moving'), { tag: 'unsigned' });
    // first answer for the tag: the unsigned manifest; every later answer: the signed one
    proxy.rule = (
      req,
    ) => (isManifest(req, 'v1') ? serve(req.seen === 0 && req.method === 'HEAD' ? b : a, req.method) : undefined);
    const r = await verify([via('r/moving')]);
    t.equal(r.code, 1);
    log.denied(
      t,
      'tag moved between resolve and verify (unsigned first, signed after)',
      imageEntry(r.doc, via('r/moving')),
      { code: 'SIGNATURE_NOT_FOUND', reason: /signature not found/, digest: b.digest },
    );
    t.equal(proxy.log.filter((l) => l.endsWith('/manifests/v1')).length, 1, 'the tag is resolved once');

    // the other way round: signed first, unsigned after. Allowed, and it is the signed digest
    // that is reported, and patched in by check (the runtime then pulls exactly that)
    proxy.reset();
    proxy.rule = (
      req,
    ) => (isManifest(req, 'v1') ? serve(req.seen === 0 && req.method === 'HEAD' ? a : b, req.method) : undefined);
    const ok = await verify([via('r/moving')]);
    t.equal(ok.code, 0, 'signed first: verified');
    t.equal(imageEntry(ok.doc, via('r/moving')).digest, a.digest, 'the verified digest is the one resolved');
    proxy.reset();
    proxy.rule = (
      req,
    ) => (isManifest(req, 'v1') ? serve(req.seen === 0 && req.method === 'HEAD' ? a : b, req.method) : undefined);
    const policy = s.file(
      'policy.yaml',
      `apiVersion: kyverno.io/v1
kind: ClusterPolicy
metadata: {name: signed}
spec:
  validationFailureAction: Enforce
  rules:
    - name: verify
      match: {any: [{resources: {kinds: [Pod]}}]}
      verifyImages:
        - imageReferences: ["*"]
          mutateDigest: true
          attestors:
            - entries:
                - keys:
                    publicKeys: |-
${key.publicPem.trim().split('\n').map((l) => '                      ' + l).join('\n')}
                    rekor: {ignoreTlog: true}
`,
    );
    const pod = s.file('pod.json', JSON.stringify(kubectlPod('web', via('r/moving'))));
    const c = await sigwardJson(['check', '--policy', policy, '--resource', pod]);
    t.equal(c.code, 0, 'check: allowed');
    t.same(c.doc.results[0].patches, [{
      op: 'replace',
      path: '/spec/containers/0/image',
      value: `${via('r/moving')}@${a.digest}`,
    }], 'check pins the digest it verified');
    proxy.reset();
    proxy.rule = (
      req,
    ) => (isManifest(req, 'v1') ? serve(req.seen === 0 && req.method === 'HEAD' ? b : a, req.method) : undefined);
    const denied = await sigwardJson(['check', '--policy', policy, '--resource', pod]);
    t.equal(denied.code, 1, 'check: unsigned first: blocked');
    t.equal(denied.doc.results[0].rules[0].images[0].digest, b.digest);
    t.same(denied.doc.results[0].patches, [], 'no patch for a blocked image');
  });

  await t.test('floods: huge signature manifests and blobs', async (t) => {
    const a = await signed('r/huge-cl');
    const b = await signed('r/huge-chunked');
    const c = await signed('r/huge-blob');
    const payloadC = computeDigest(c.payload);
    const MiB = 1024 * 1024;
    proxy.rule = (req) => {
      if (isManifest(req, digestTag(a.digest, 'sig'))) {
        return {
          kind: 'flood',
          size: 5 * MiB,
          headers: { 'content-type': 'application/vnd.oci.image.manifest.v1+json' },
        };
      }
      if (isManifest(req, digestTag(b.digest, 'sig'))) {
        return {
          kind: 'flood',
          size: 64 * MiB,
          chunked: true,
          headers: { 'content-type': 'application/vnd.oci.image.manifest.v1+json' },
        };
      }
      if (isBlob(req, payloadC)) return { kind: 'flood', size: 512 * MiB, chunked: true };
      return undefined;
    };
    const r = await verify([via('r/huge-cl'), via('r/huge-chunked'), via('r/huge-blob')]);
    t.equal(r.code, 1);
    log.denied(t, 'signature manifest above 4 MiB (announced by Content-Length)', imageEntry(r.doc, via('r/huge-cl')), {
      code: 'CONTENT_TOO_LARGE',
      reason: /exceeds the size limit of 4194304 bytes/,
      digest: a.digest,
    });
    log.denied(
      t,
      'signature manifest above 4 MiB (chunked, no Content-Length)',
      imageEntry(r.doc, via('r/huge-chunked')),
      { code: 'CONTENT_TOO_LARGE', reason: /exceeds the size limit of 4194304 bytes/, digest: b.digest },
    );
    log.denied(t, 'signature blob flooding far past its descriptor size', imageEntry(r.doc, via('r/huge-blob')), {
      code: 'CONTENT_DIGEST_MISMATCH',
      reason: /size mismatch/,
      digest: c.digest,
    });
    t.ok(r.ms < 30_000, `decided in ${r.ms} ms without reading the floods`);
  });

  log.report(t);
});

t.test('blob redirects to another host', async (t) => {
  const user = 'ci';
  const pass = 's3cret';
  const reg = await withRegistry(t, { htpasswd: { user, pass } });
  const store = new RegistryClient({ credentials: async () => ({ username: user, password: pass }) });
  t.teardown(() => store.close());
  const proxy = await startFaultProxy(reg.url);
  t.teardown(() => proxy.stop());
  const key = makeKey();
  const s = scratch(t);
  const pub = s.file('cosign.pub', key.publicPem);
  const log = new AttackLog('attacks/registry (redirects)');
  const img = await pushImageDetailed(store, reg.ref('r/redirect'), { tag: 'v1' });
  const { payload } = await signImage({
    store,
    repository: reg.ref('r/redirect'),
    digest: img.digest,
    key,
    identity: `${proxy.host}/r/redirect`,
  });
  const payloadDigest = computeDigest(payload);
  let serveForged = false;
  const cdn = await startServer((req, res) => {
    const body = serveForged
      ? Buffer.from(Buffer.from(payload).toString().replace(img.digest.slice(-8), 'deadbeef'))
      : Buffer.from(payload);
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(body.length) });
    res.end(req.method === 'HEAD' ? undefined : body);
  });
  t.teardown(() => cdn.stop());
  proxy.rule = (
    req,
  ) => (isBlob(req, payloadDigest) && req.method === 'GET'
    ? { kind: 'respond', status: 307, headers: { location: `${cdn.url}/blobs/${payloadDigest}?sig=x` } }
    : undefined);
  const dockerDir = mkdtempSync(join(tmpdir(), 'sigward-attack-docker-'));
  writeFileSync(
    join(dockerDir, 'config.json'),
    JSON.stringify({ auths: { [proxy.host]: { auth: Buffer.from(`${user}:${pass}`).toString('base64') } } }),
  );
  const run = () =>
    sigwardJson(['verify', `${proxy.host}/r/redirect:v1`, '--key', pub, '--insecure-ignore-tlog'], {
      env: { DOCKER_CONFIG: dockerDir },
    });

  const ok = await run();
  t.equal(ok.code, 0, 'redirect to a host serving the right bytes: verified');
  t.ok(
    proxy.requests.some((r) => String(r.headers.authorization ?? '').startsWith('Basic ')),
    'credentials were sent to the registry',
  );
  t.ok(cdn.requests.length > 0, 'the blob was fetched from the redirect target');
  t.ok(
    cdn.requests.every((r) => r.headers.authorization === undefined),
    'no Authorization header went to the other host',
  );

  serveForged = true;
  cdn.requests.length = 0;
  const r = await run();
  t.equal(r.code, 1);
  log.denied(
    t,
    'blob redirect to another host serving forged content',
    imageEntry(r.doc, `${proxy.host}/r/redirect:v1`),
    { code: 'CONTENT_DIGEST_MISMATCH', reason: /digest mismatch/, digest: img.digest },
  );
  t.ok(
    cdn.requests.length > 0 && cdn.requests.every((r) => r.headers.authorization === undefined),
    'no Authorization header went to the other host',
  );
  log.report(t);
});
