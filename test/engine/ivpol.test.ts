// Kyverno ImageValidatingPolicy through the engine (lib/engine/ivpol.ts):
// real images, signatures and attestations in the real registry, real
// `kubectl --dry-run=client` objects, the CEL verification functions.

import t from 'tap';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RegistryClient } from '../../lib/oci/registry.ts';
import { loadPolicies } from '../../lib/policy/index.ts';
import { createEngine } from '../../lib/engine/index.ts';
import { loadTrustMaterial } from '../../lib/trust/index.ts';
import { freePort, pushImage, pushImageDetailed, withRegistry } from '../helpers/registry.ts';
import { DEFAULT_ISSUER, pushLegacySignature, withSigstoreMock } from '../helpers/sigstore.ts';
import { runSigward } from '../helpers/cli.ts';
import { attestImage, makeKey, signImage, type TestKey } from '../helpers/cosign.ts';
import { kubectlCreate, kubectlPod } from '../helpers/kubectl.ts';
import { ROOT } from '../helpers/fixtures.ts';

const indent = (pem: string, by: string) => pem.trim().split('\n').map((l) => by + l).join('\n');

interface PolicyOpts {
  name?: string;
  actions?: string;
  glob?: string;
  key: TestKey;
  validations: { expression: string; message?: string }[];
  extra?: string;
  operations?: string;
  resources?: string;
}

function ivpol(o: PolicyOpts): string {
  return `apiVersion: policies.kyverno.io/v1beta1
kind: ImageValidatingPolicy
metadata:
  name: ${o.name ?? 'verify-ivpol'}
spec:
  validationActions: [${o.actions ?? 'Deny'}]
  matchConstraints:
    resourceRules:
      - apiGroups: [""]
        apiVersions: ["v1"]
        operations: [${o.operations ?? 'CREATE, UPDATE'}]
        resources: [${o.resources ?? 'pods'}]
  matchImageReferences:
    - glob: "${o.glob}"
  attestors:
    - name: release
      cosign:
        key:
          data: |
${indent(o.key.publicPem, '            ')}
        ctlog:
          insecureIgnoreTlog: true
          insecureIgnoreSCT: true
${o.extra ?? ''}  validations:
${
    o.validations.map((v) =>
      `    - expression: >-\n        ${v.expression}\n${
        v.message ? `      message: ${JSON.stringify(v.message)}\n` : ''
      }`
    ).join('')
  }`;
}

const SIGNED = 'images.containers.map(i, verifyImageSignatures(i, [attestors.release])).all(e, e > 0)';

t.test('ImageValidatingPolicy', async (t) => {
  const reg = await withRegistry(t);
  const store = new RegistryClient();
  t.teardown(() => store.close());
  const trust = await loadTrustMaterial({});
  const key = makeKey();
  const other = makeKey();
  const repo = reg.ref('ivpol/app');
  const good = await pushImage(store, repo, { tag: 'good' });
  const unsigned = await pushImage(store, repo, { tag: 'unsigned' });
  await signImage({ store, repository: repo, digest: good, key });
  const sbom = JSON.parse(readFileSync(join(ROOT, 'testdata/ivpol/sbom-predicate.json'), 'utf8'));
  await attestImage({
    store,
    repository: repo,
    digest: good,
    key,
    predicateType: 'https://cyclonedx.org/bom',
    predicate: sbom,
  });
  const glob = `${reg.host}/ivpol/*`;
  const img = (tag: string) => `${reg.host}/ivpol/app:${tag}`;

  const run = async (policyText: string, obj: unknown, req: Record<string, unknown> = { operation: 'CREATE' }) => {
    const { policies } = loadPolicies(policyText);
    const engine = createEngine({ policies, stores: () => store, trust });
    return engine.evaluateResource(obj, req);
  };

  await t.test('signed pod: allowed, digest pinned', async (t) => {
    const ev = await run(
      ivpol({ key, glob, validations: [{ expression: SIGNED, message: 'image must be signed' }] }),
      kubectlPod('app', img('good')),
    );
    t.equal(ev.allowed, true);
    t.equal(ev.rules.length, 1);
    t.equal(ev.rules[0]!.status, 'pass');
    t.same(ev.patches, [{ op: 'replace', path: '/spec/containers/0/image', value: `${img('good')}@${good}` }]);
    t.equal(ev.rules[0]!.images[0]!.digest, good);
  });

  await t.test('unsigned pod: denied with the policy message', async (t) => {
    const ev = await run(
      ivpol({ key, glob, validations: [{ expression: SIGNED, message: 'image must be signed' }] }),
      kubectlPod('app', img('unsigned')),
    );
    t.equal(ev.allowed, false);
    t.match(ev.message, /^Policy verify-ivpol failed: image must be signed/);
    t.match(ev.message, /signature not found|no signatures/i, 'the reason is reported');
    t.same(ev.patches, [], 'no digest patch for an image that failed');
    t.ok(unsigned);
  });

  await t.test('wrong key: denied; default message', async (t) => {
    const ev = await run(
      ivpol({ key: other, glob, validations: [{ expression: SIGNED }] }),
      kubectlPod('app', img('good')),
    );
    t.equal(ev.allowed, false);
    t.match(ev.message, /Policy verify-ivpol failed: CEL expression validation failed at index 0/);
  });

  await t.test('attestor options sigward cannot honour: tagPrefix fails closed, trust-root fields warn', async (t) => {
    const withSource = ivpol({ key, glob, validations: [{ expression: SIGNED, message: 'image must be signed' }] })
      .replace('        ctlog:\n', '        source:\n          tagPrefix: "v1-"\n        ctlog:\n');
    const loaded = loadPolicies(withSource);
    t.match(loaded.warnings.map((w) => w.message).join('\n'), /tagPrefix.*not supported/);
    const ev = await run(withSource, kubectlPod('app', img('good')));
    t.equal(ev.allowed, false, 'a signature looked up under another tag scheme is never counted as verified');
    t.match(ev.message, /tagPrefix/);
    const withTuf = ivpol({ key, glob, validations: [{ expression: SIGNED }] }).replace(
      '        ctlog:\n',
      '        tuf:\n          mirror: https://tuf.example\n        ctlog:\n',
    );
    t.match(
      loadPolicies(withTuf).warnings.map((w) => w.message).join('\n'),
      /tuf: sigward does not fetch TUF metadata for a policy/,
    );
    t.equal(
      (await run(withTuf, kubectlPod('app', img('good')))).allowed,
      true,
      'a key attestor does not need the trust root',
    );
    const missingRoot = ivpol({ key, glob, validations: [{ expression: SIGNED }] }).replace(
      '        ctlog:\n',
      '        trustedRoot: /nonexistent/trusted_root.json\n        ctlog:\n',
    );
    t.throws(
      () => loadPolicies(missingRoot),
      /trustedRoot: cannot read the trusted root file/,
      'a trust root that cannot be read is a load error',
    );
  });

  await t.test('image outside matchImageReferences: not verified, no result', async (t) => {
    const ev = await run(
      ivpol({ key, glob: 'ghcr.io/other/*', validations: [{ expression: SIGNED }] }),
      kubectlPod('app', img('unsigned')),
    );
    t.equal(ev.allowed, true);
    t.same(ev.rules, []);
    t.equal(ev.stats.signatureVerifications, 0);
    // mixed pod: only the matched container counts; the other image gets 0 from the function
    const pod = kubectlPod('app', img('good')) as any;
    pod.spec.containers.push({ name: 'side', image: 'nginx:1.27' });
    const ev2 = await run(
      ivpol({
        key,
        glob,
        validations: [{ expression: SIGNED }, {
          expression: `verifyImageSignatures('nginx:1.27', [attestors.release]) == 0`,
          message: 'unmatched counts 0',
        }],
      }),
      pod,
    );
    t.equal(ev2.allowed, true, 'nginx is not in images.containers and counts 0');
    t.equal(ev2.patches.length, 1, 'only the matched image is pinned');
  });

  await t.test('Audit: allowed with a warning', async (t) => {
    const ev = await run(
      ivpol({ key, glob, actions: 'Audit', validations: [{ expression: SIGNED, message: 'image must be signed' }] }),
      kubectlPod('app', img('unsigned')),
    );
    t.equal(ev.allowed, true);
    t.equal(ev.rules[0]!.status, 'fail');
    t.match(ev.warnings.join('\n'), /Policy verify-ivpol failed: image must be signed/);
  });

  const attPolicy = (cond: string) =>
    ivpol({
      key,
      glob,
      extra: `  attestations:\n    - name: sbom\n      intoto:\n        type: https://cyclonedx.org/bom\n`,
      validations: [
        {
          expression:
            'images.containers.map(i, verifyAttestationSignatures(i, attestations.sbom, [attestors.release])).all(e, e > 0)',
          message: 'no sbom',
        },
        {
          expression: `images.containers.all(i, extractPayload(i, attestations.sbom).${cond})`,
          message: 'sbom check failed',
        },
      ],
    });

  await t.test('attestations + extractPayload', async (t) => {
    const ok = await run(attPolicy(`bomFormat == 'CycloneDX'`), kubectlPod('app', img('good')));
    t.equal(ok.allowed, true, ok.message ?? '');
    t.equal(ok.stats.attestationVerifications, 1);
    const bad = await run(attPolicy(`components.exists(c, c.name == 'log4j')`), kubectlPod('app', img('good')));
    t.equal(bad.allowed, false);
    t.match(bad.message, /Policy verify-ivpol failed: sbom check failed/);
    const none = await run(attPolicy(`bomFormat == 'CycloneDX'`), kubectlPod('app', img('unsigned')));
    t.equal(none.allowed, false);
    t.match(none.message, /no sbom/);
    // extractPayload without a verification first: a CEL error (never a pass)
    const early = await run(
      ivpol({
        key,
        glob,
        extra: `  attestations:\n    - name: sbom\n      intoto:\n        type: https://cyclonedx.org/bom\n`,
        validations: [{
          expression: `images.containers.all(i, extractPayload(i, attestations.sbom).bomFormat == 'CycloneDX')`,
        }],
      }),
      kubectlPod('app', img('good')),
    );
    t.equal(early.allowed, false);
    t.equal(early.rules[0]!.status, 'error');
    t.match(early.message, /Policy verify-ivpol error: .*cannot be fetch before verifying/);
  });

  await t.test('variables, custom images, expression matching, image references', async (t) => {
    const pol = ivpol({
      key,
      glob,
      validations: [
        { expression: `variables.signed.all(e, e > 0)`, message: 'unsigned' },
        {
          expression:
            `images.containers.all(i, parseImageReference(i).registry() == '${reg.host}' && parseImageReference(i).repository() == 'ivpol/app' && !image(i).containsDigest() && isImage(i))`,
          message: 'reference',
        },
        {
          expression: `images.extra.all(i, verifyImageSignatures(i, [attestors.release]) > 0)`,
          message: 'extra image unsigned',
        },
      ],
      extra: `  variables:
    - name: refs
      expression: images.containers
    - name: signed
      expression: "variables.refs.map(i, verifyImageSignatures(i, [attestors.release]))"
  images:
    - name: extra
      expression: "[object.metadata.annotations['extra-image']]"
`,
    });
    const pod = (extra: string) => {
      const p = kubectlPod('app', img('good')) as any;
      p.metadata.annotations = { 'extra-image': extra };
      return p;
    };
    const ok = await run(pol, pod(img('good')));
    t.equal(ok.allowed, true, ok.message ?? '');
    const bad = await run(pol, pod(img('unsigned')));
    t.equal(bad.allowed, false, 'the custom extractor image is verified too');
    t.match(bad.message, /extra image unsigned/);
    const byExpr = pol.replace(
      `    - glob: "${glob}"`,
      `    - expression: "parseImageReference(ref).repository().startsWith('ivpol/')"`,
    );
    const ex = await run(byExpr, pod(img('unsigned')));
    t.match(ex.message, /extra image unsigned/, 'matchImageReferences expression selects the images');
    const none = await run(byExpr.replace("startsWith('ivpol/')", "startsWith('nothing/')"), pod(img('unsigned')));
    t.same(none.rules, [], 'expression selecting nothing: the policy does not apply');
  });

  await t.test('Deployment through autogen', async (t) => {
    const dep = kubectlCreate('deployment', 'app', img('good'));
    const ev = await run(ivpol({ key, glob, validations: [{ expression: SIGNED }] }), dep);
    t.equal(ev.allowed, true);
    t.equal(ev.patches[0]?.path, '/spec/template/spec/containers/0/image');
    const bad = await run(
      ivpol({ key, glob, validations: [{ expression: SIGNED }] }),
      kubectlCreate('cronjob', 'app', img('unsigned'), 'default', ['--schedule=* * * * *']),
    );
    t.equal(bad.allowed, false, 'CronJob: denied');
    const off = await run(
      ivpol({
        key,
        glob,
        validations: [{ expression: SIGNED }],
        extra: '  autogen:\n    podControllers:\n      controllers: [jobs]\n',
      }),
      kubectlCreate('deployment', 'app', img('unsigned')),
    );
    t.same(off.rules, [], 'deployments not in autogen.podControllers: not matched');
    // object.spec of the pod is the template's spec on a controller
    const specPol = ivpol({
      key,
      glob,
      validations: [{
        expression: `object.spec.containers.all(c, verifyImageSignatures(c.image, [attestors.release]) > 0)`,
        message: 'containers unsigned',
      }],
    });
    t.equal(
      (await run(specPol, kubectlCreate('deployment', 'app', img('good')))).allowed,
      true,
      'object.spec rewritten for a Deployment',
    );
    const cj = await run(
      specPol,
      kubectlCreate('cronjob', 'app', img('unsigned'), 'default', ['--schedule=* * * * *']),
    );
    t.match(cj.message, /containers unsigned/, 'and for a CronJob');
  });

  await t.test('matchConstraints not matching: no result', async (t) => {
    const pol = ivpol({ key, glob, validations: [{ expression: SIGNED }] });
    const del = await run(pol, kubectlPod('app', img('unsigned')), { operation: 'DELETE' });
    t.same(del.rules, []);
    const svc = await run(
      ivpol({ key, glob, resources: 'services', validations: [{ expression: SIGNED }] }),
      kubectlPod('app', img('unsigned')),
    );
    t.same(svc.rules, []);
    const cond = await run(
      pol.replace(
        '  matchImageReferences:',
        `  matchConditions:\n    - name: only-prod\n      expression: "object.metadata.namespace == 'prod'"\n  matchImageReferences:`,
      ),
      kubectlPod('app', img('unsigned')),
    );
    t.same(cond.rules, [], 'matchConditions false');
  });

  await t.test('verifyDigest and required', async (t) => {
    const noPin = ivpol({
      key,
      glob,
      validations: [{ expression: SIGNED }],
      extra: '  validationConfigurations:\n    mutateDigest: false\n',
    });
    const ev = await run(noPin, kubectlPod('app', img('good')));
    t.equal(ev.allowed, false);
    t.match(ev.message, `Policy verify-ivpol failed: image ${img('good')} does not have a digest`);
    const pinned = await run(noPin, kubectlPod('app', `${img('good')}@${good}`));
    t.equal(pinned.allowed, true, 'a digest reference passes verifyDigest');
    const noCheck = ivpol({ key, glob, validations: [{ expression: `images.containers.size() > 0` }] });
    const r1 = await run(noCheck, kubectlPod('app', img('good')));
    t.equal(r1.allowed, false);
    t.match(
      r1.message,
      `image ${img('good')} is not verified: no policy performed a signature or attestation check on it`,
    );
    const tolerant = ivpol({
      key,
      glob,
      validations: [{ expression: `images.containers.all(i, verifyImageSignatures(i, [attestors.release]) >= 0)` }],
    });
    const r2 = await run(tolerant, kubectlPod('app', img('unsigned')));
    t.match(r2.message, `image ${img('unsigned')} is not verified: failed signature or attestation verification`);
    const notRequired = await run(
      noCheck.replace('  validations:', '  validationConfigurations:\n    required: false\n  validations:'),
      kubectlPod('app', img('good')),
    );
    t.equal(notRequired.allowed, true, 'required: false');
  });

  await t.test('Notary attestor (test vector policy): an image with cosign signatures only is denied', async (t) => {
    const text = readFileSync(join(ROOT, '../shared/testvectors/kyverno-policies/verify-image-ivpol.yaml'), 'utf8')
      .replace('ghcr.io/kyverno/test-verify-image*', `${reg.host}/ivpol/*`);
    const { policies } = loadPolicies(text);
    const ev = await createEngine({ policies, stores: () => store, trust }).evaluateResource(
      kubectlPod('app', img('good')),
      { operation: 'CREATE' },
    );
    t.equal(ev.allowed, false);
    t.match(ev.message, /^Policy verify-image-ivpol failed: failed the verification/);
    t.match(ev.message, /no signature is associated with/, "no Notary signature: denied with notation's reason");
  });

  await t.test('registry unreachable: error, failurePolicy honoured', async (t) => {
    const port = await freePort();
    const gone = `127.0.0.1:${port}/ivpol/app:v1`;
    const pol = ivpol({ key, glob: '127.0.0.1:*', validations: [{ expression: SIGNED }] });
    const ev = await run(pol, kubectlPod('app', gone));
    t.equal(ev.rules[0]!.status, 'error');
    t.equal(ev.allowed, false, 'failurePolicy Fail: blocked');
    t.match(ev.message, /Policy verify-ivpol error: /);
    const ign = await run(pol.replace('spec:\n', 'spec:\n  failurePolicy: Ignore\n'), kubectlPod('app', gone));
    t.equal(ign.rules[0]!.status, 'error');
    t.equal(ign.allowed, true, 'failurePolicy Ignore: allowed');
    t.match(ign.warnings.join('\n'), /Policy verify-ivpol error/);
  });

  await t.test('getImageData reads the manifest and config from the registry, as skopeo reads them', async (t) => {
    const skopeo = (...args: string[]) =>
      JSON.parse(
        execFileSync('skopeo', ['inspect', '--tls-verify=false', ...args, `docker://${img('good')}`], {
          encoding: 'utf8',
        }),
      );
    const manifest = skopeo('--raw');
    const config = skopeo('--config', '--raw');
    const data = `getImageData(images.containers[0])`;
    const validations = [
      { expression: SIGNED },
      {
        expression:
          `${data}.digest == '${good}' && ${data}.resolvedImage == '${reg.host}/ivpol/app@${good}' && ${data}.tag == 'good'`,
      },
      {
        expression:
          `${data}.manifest.config.digest == '${manifest.config.digest}' && size(${data}.manifest.layers) == ${manifest.layers.length}`,
      },
      { expression: `${data}.config.architecture == '${config.architecture}' && ${data}.config.os == '${config.os}'` },
    ];
    const ev = await run(ivpol({ key, glob, validations }), kubectlPod('app', img('good')));
    t.equal(ev.rules[0]!.status, 'pass', ev.message ?? '');
    t.equal(ev.allowed, true);
    const wrong = await run(
      ivpol({
        key,
        glob,
        validations: [{ expression: SIGNED }, {
          expression: `${data}.config.architecture == 'not-${config.architecture}'`,
          message: 'wrong architecture',
        }],
      }),
      kubectlPod('app', img('good')),
    );
    t.equal(wrong.allowed, false);
    t.match(wrong.message, /wrong architecture/);
    const missing = await run(
      ivpol({
        key,
        glob,
        validations: [{ expression: SIGNED }, {
          expression: `getImageData('${reg.host}/ivpol/app:no-such-tag').digest != ''`,
        }],
      }),
      kubectlPod('app', img('good')),
    );
    t.equal(missing.allowed, false, 'an image that cannot be read fails the rule');
    t.match(missing.message, /failed to get image data/);
  });

  await t.test("Kyverno's time_now() reads the engine's clock", async (t) => {
    const { policies } = loadPolicies(
      ivpol({
        key,
        glob,
        validations: [{ expression: SIGNED }, { expression: "time_now() == '2030-01-02T03:04:05Z'", message: 'clock' }],
      }),
    );
    const at = (iso: string) =>
      createEngine({ policies, stores: () => store, trust, now: () => new Date(iso) }).evaluateResource(
        kubectlPod('app', img('good')),
        { operation: 'CREATE' },
      );
    t.equal((await at('2030-01-02T03:04:05Z')).allowed, true);
    t.equal((await at('2031-01-02T03:04:05Z')).allowed, false);
  });

  await t.test('CLI: sigward check --policy ivpol --resource pod', async (t) => {
    const tmp = mkdtempSync(join(tmpdir(), 'sigward-ivpol-'));
    const pol = join(tmp, 'ivpol.yaml');
    writeFileSync(pol, ivpol({ key, glob, validations: [{ expression: SIGNED, message: 'image must be signed' }] }));
    const pod = (tag: string) => {
      const p = join(tmp, `pod-${tag}.json`);
      writeFileSync(p, JSON.stringify(kubectlPod('app', img(tag))));
      return p;
    };
    // run from source: a prebuilt dist/sigward may predate this module
    const prev = process.env.SIGWARD_TEST_FROM_SOURCE;
    process.env.SIGWARD_TEST_FROM_SOURCE = '1';
    t.teardown(() => {
      if (prev === undefined) delete process.env.SIGWARD_TEST_FROM_SOURCE;
      else process.env.SIGWARD_TEST_FROM_SOURCE = prev;
    });
    const env = { SIGWARD_TEST_FROM_SOURCE: '1' };
    const ok = await runSigward(['check', '--policy', pol, '--resource', pod('good'), '-o', 'json'], { env });
    t.equal(ok.code, 0, ok.stderr);
    const bad = await runSigward(['check', '--policy', pol, '--resource', pod('unsigned'), '-o', 'json'], { env });
    t.equal(bad.code, 1, bad.stderr);
    t.match(JSON.parse(bad.stdout).results[0].message, /image must be signed/);
    const byImage = await runSigward([
      'check',
      '--policy',
      pol,
      '--image',
      img('good'),
      '--image',
      img('unsigned'),
      '-o',
      'json',
    ], { env });
    t.equal(byImage.code, 1, 'check --image: the unsigned one blocks');
    t.same(JSON.parse(byImage.stdout).results.map((r: any) => r.allowed), [true, false]);
  });
});

t.test('ImageValidatingPolicy: keyless and certificate attestors', async (t) => {
  const reg = await withRegistry(t);
  const mock = await withSigstoreMock(t);
  const store = new RegistryClient();
  t.teardown(() => store.close());
  const trust = await loadTrustMaterial({});
  const repo = reg.ref('ivkeyless/app');
  const signed = await pushImageDetailed(store, repo, { tag: 'signed' });
  const stranger = await pushImageDetailed(store, repo, { tag: 'stranger' });
  await pushLegacySignature(
    store,
    repo,
    signed.digest,
    await mock.signLegacy(signed.digest, `${reg.host}/ivkeyless/app`, { identity: 'dev@nirmata.com' }),
  );
  await pushLegacySignature(
    store,
    repo,
    stranger.digest,
    await mock.signLegacy(stranger.digest, `${reg.host}/ivkeyless/app`, { identity: 'dev@nirmata.com.evil.org' }),
  );
  const ctlog = `        ctlog:
          rekorPubKey: |-
${indent(mock.rekorKeyPEM, '            ')}
          ctLogPubKey: |-
${indent(mock.ctlogKeyPEM, '            ')}
`;
  const policy = (attestor: string) =>
    `apiVersion: policies.kyverno.io/v1
kind: ImageValidatingPolicy
metadata:
  name: ivpol-keyless
spec:
  matchConstraints:
    resourceRules:
      - apiGroups: [""]
        apiVersions: ["v1"]
        operations: ["CREATE"]
        resources: ["pods"]
  matchImageReferences:
    - glob: "${reg.host}/ivkeyless/*"
  attestors:
    - name: ci
      cosign:
${attestor}${ctlog}  validations:
    - expression: "images.containers.map(i, verifyImageSignatures(i, [attestors.ci])).all(e, e > 0)"
      message: not signed by CI
`;
  const keyless = `        keyless:
          identities:
            - subjectRegExp: "^[a-z]+@nirmata\\\\.com$"
              issuer: "${DEFAULT_ISSUER}"
          roots: |-
${indent(mock.caRootPEM, '            ')}
`;
  const run = async (text: string, image: string) => {
    const { policies } = loadPolicies(text);
    return createEngine({ policies, stores: () => store, trust }).evaluateResource(kubectlPod('app', image), {
      operation: 'CREATE',
    });
  };
  const ok = await run(policy(keyless), `${reg.host}/ivkeyless/app:signed`);
  t.equal(ok.allowed, true, ok.message ?? '');
  const evil = await run(policy(keyless), `${reg.host}/ivkeyless/app:stranger`);
  t.equal(evil.allowed, false, 'anchored subjectRegExp: the .evil.org identity is denied');
  t.match(evil.message, /not signed by CI/);
  const otherRekor = makeKey().publicPem;
  const wrongRekor = await run(
    policy(keyless).replace(indent(mock.rekorKeyPEM, '            '), indent(otherRekor, '            ')),
    `${reg.host}/ivkeyless/app:signed`,
  );
  t.equal(
    wrongRekor.allowed,
    false,
    'ctlog.rekorPubKey replaces the Rekor key: an entry signed by the mock Rekor no longer verifies',
  );
  const noRoots = await run(
    policy(keyless.replace(/ {10}roots: \|-\n(?: {12}.*\n)+/, '')),
    `${reg.host}/ivkeyless/app:signed`,
  );
  t.equal(noRoots.allowed, false, 'without the CA roots the mock Fulcio is not trusted');
  const cert = `        certificate:
          certChain:
            value: |-
${indent(mock.caRootPEM, '              ')}
`;
  const c = await run(policy(cert), `${reg.host}/ivkeyless/app:signed`);
  t.equal(c.allowed, true, c.message ?? '');

  // the attestor's own trust root (cosign.trustedRoot), in each shape the CRDs take
  const bare = `        keyless:
          identities:
            - subjectRegExp: "^[a-z]+@nirmata\\\\.com$"
              issuer: "${DEFAULT_ISSUER}"
`;
  const noCtlog = (attestor: string) => policy(attestor).replace(ctlog, '');
  const rootJSON = JSON.stringify(mock.trustedRoot);
  const shapes: [string, string][] = [
    [
      'trustedRoot: {value: <inline JSON>}',
      `        trustedRoot:\n          value: '${rootJSON.replace(/'/g, "''")}'\n`,
    ],
    ['trustedRoot: {value: <file path>}', `        trustedRoot:\n          value: ${mock.trustedRootPath}\n`],
    ['trustedRoot: <file path>', `        trustedRoot: ${mock.trustedRootPath}\n`],
  ];
  const without = await run(noCtlog(bare), `${reg.host}/ivkeyless/app:signed`);
  t.equal(
    without.allowed,
    false,
    'control: with the trust root sigward runs with, the mock Fulcio and Rekor are not trusted',
  );
  for (const [name, field] of shapes) {
    const r = await run(noCtlog(bare + field), `${reg.host}/ivkeyless/app:signed`);
    t.equal(r.allowed, true, `${name}: verified against the attestor's own root (${r.message ?? ''})`);
    const e = await run(noCtlog(bare + field), `${reg.host}/ivkeyless/app:stranger`);
    t.equal(e.allowed, false, `${name}: the identity policy still applies`);
  }
  const other = mock.writeTrustedRoot('other-ca.json', (root) => {
    root.certificateAuthorities = [];
  });
  const wrong = await run(noCtlog(bare + `        trustedRoot: ${other}\n`), `${reg.host}/ivkeyless/app:signed`);
  t.equal(wrong.allowed, false, 'a trust root without the signing CA: denied');
  t.throws(
    () => loadPolicies(noCtlog(bare + '        trustedRoot:\n          value: \'{"mediaType": 1}\'\n')),
    /trustedRoot/,
    'a malformed inline root is a load error',
  );
  t.throws(
    () => loadPolicies(noCtlog(bare + '        trustedRoot:\n          expression: "roots.main"\n')),
    /trustedRoot.expression/,
    'an expression is refused',
  );
});
