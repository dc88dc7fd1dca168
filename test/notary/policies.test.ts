// Notary Project signatures through policies, as Kyverno's Notary verifier
// runs them: a ClusterPolicy `verifyImages[].type: Notary` entry with
// certificate attestors and a Notary attestation (an SBOM attached with the
// real oras as a referrer of artifactType sbom/cyclone-dx, signed by the real
// notation, with conditions over it), and an ImageValidatingPolicy with a
// `notary` attestor and a `referrer` attestation, through `sigward check`.

import t from 'tap';
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { RegistryClient } from '../../lib/oci/registry.ts';
import { pushImageDetailed, withRegistry } from '../helpers/registry.ts';
import { runSigward } from '../helpers/cli.ts';
import { PEERS_BIN } from '../helpers/peers.ts';
import { notationRunner, startTestTsa, withRealNotation } from '../helpers/notary.ts';

const run = promisify(execFile);
withRealNotation(main);

function main(): void {
  const tmp = mkdtempSync(join(tmpdir(), 'sigward-notary-policy-'));
  const { run: notation, config } = notationRunner(join(tmp, 'home'));
  let files = 0;
  const file = (text: string, ext = 'yaml') => {
    const p = join(tmp, `f${files++}.${ext}`);
    writeFileSync(p, text);
    return p;
  };
  const indent = (pem: string, by: string) => pem.trim().split('\n').map((l) => by + l).join('\n');

  t.test('Notary policies', async (t) => {
    const reg = await withRegistry(t);
    const store = new RegistryClient();
    t.teardown(() => store.close());
    t.equal((await notation(['cert', 'generate-test', 'rsa'])).code, 0);
    t.equal((await notation(['cert', 'generate-test', 'other'])).code, 0);
    const cert = readFileSync(join(config, 'truststore/x509/ca/rsa/rsa.crt'), 'utf8');
    const otherCert = readFileSync(join(config, 'truststore/x509/ca/other/other.crt'), 'utf8');
    const repo = reg.ref('np/app');
    const img = async (tag: string) => `${reg.host}/np/app@${(await pushImageDetailed(store, repo, { tag })).digest}`;
    const sign = async (ref: string) =>
      t.equal((await notation(['sign', '--insecure-registry', '-k', 'rsa', ref])).code, 0, `notation sign ${ref}`);
    /** oras attach an SBOM; returns the referrer's reference */
    const attach = async (ref: string, bom: object) => {
      const sbom = file(JSON.stringify(bom), 'json').slice(tmp.length + 1);
      const r = await run(join(PEERS_BIN, 'oras'), [
        'attach',
        '--plain-http',
        '--artifact-type',
        'sbom/cyclone-dx',
        '--format',
        'json',
        ref,
        `${sbom}:application/json`,
      ], { cwd: tmp, env: { HOME: join(tmp, 'home'), PATH: process.env.PATH ?? '/usr/bin:/bin' } });
      const out = JSON.parse(r.stdout) as { reference?: string; digest?: string };
      return `${reg.host}/np/app@${out.digest ?? out.reference!.split('@')[1]}`;
    };

    const signed = await img('signed');
    await sign(signed);
    const unsigned = await img('unsigned');
    const withSbom = await img('sbom');
    await sign(withSbom);
    await sign(await attach(withSbom, { bomFormat: 'CycloneDX', specVersion: '1.5' }));
    const unsignedSbom = await img('unsigned-sbom');
    await sign(unsignedSbom);
    await attach(unsignedSbom, { bomFormat: 'CycloneDX' });
    const otherSbom = await img('other-sbom');
    await sign(otherSbom);
    await sign(await attach(otherSbom, { bomFormat: 'SPDX' }));

    const clusterPolicy = (pem: string, attestations = '') =>
      `apiVersion: kyverno.io/v1
kind: ClusterPolicy
metadata:
  name: check-notary
spec:
  validationFailureAction: Enforce
  webhookTimeoutSeconds: 30
  rules:
    - name: verify-signature-notary
      match:
        any:
          - resources:
              kinds: [Pod]
      verifyImages:
        - type: Notary
          imageReferences: ["${reg.host}/np/*"]
          attestors:
            - count: 1
              entries:
                - certificates:
                    cert: |-
${indent(pem, '                      ')}
${attestations}`;
    const sbomAttestation = `          attestations:
            - type: sbom/cyclone-dx
              conditions:
                - all:
                    - key: "{{ bomFormat }}"
                      operator: Equals
                      value: CycloneDX
`;
    const check = async (policy: string, image: string) => {
      const r = await runSigward(['check', '--policy', file(policy), '--image', image, '-o', 'json']);
      const out = JSON.parse(r.stdout || '{}');
      return { code: r.code, result: out.results?.[0], stderr: r.stderr };
    };

    await t.test('ClusterPolicy type: Notary, certificate attestor', async (t) => {
      const ok = await check(clusterPolicy(cert), signed);
      t.equal(ok.code, 0, `signed with the policy's certificate: allowed ${ok.stderr}`);
      t.equal(ok.result.rules[0].status, 'pass');
      const no = await check(clusterPolicy(cert), unsigned);
      t.equal(no.code, 1, 'unsigned: denied');
      t.match(
        no.result.rules[0].message,
        /\.attestors\[0\]\.entries\[0\]\.certificates: no signature is associated with ".*", make sure the image was signed successfully/,
        "Kyverno's wording",
      );
      const wrong = await check(clusterPolicy(otherCert), signed);
      t.equal(wrong.code, 1, 'another certificate: denied');
      t.match(wrong.result.rules[0].message, /does not hold any trusted certificate/);
      const lint = await runSigward(['policy', 'lint', file(clusterPolicy(cert)), '--notes']);
      t.match(
        lint.stdout + lint.stderr,
        /checks no certificate revocation/,
        'the lint notes the revocation difference',
      );
    });

    await t.test('ClusterPolicy Notary attestation: a signed SBOM referrer with conditions', async (t) => {
      const ok = await check(clusterPolicy(cert, sbomAttestation), withSbom);
      t.equal(
        ok.code,
        0,
        `signed SBOM that passes the conditions: allowed ${JSON.stringify(ok.result?.rules?.[0]?.message)}`,
      );
      const noSig = await check(clusterPolicy(cert, sbomAttestation), unsignedSbom);
      t.equal(noSig.code, 1, 'an SBOM without a Notary signature is not used: denied');
      t.match(
        noSig.result.rules[0].message,
        /no verified attestation of type sbom\/cyclone-dx: referrer sha256:[0-9a-f]+: .*no signature is associated/,
      );
      const cond = await check(clusterPolicy(cert, sbomAttestation), otherSbom);
      t.equal(cond.code, 1, 'a signed SBOM that fails the condition: denied');
      t.match(cond.result.rules[0].message, /attestation checks failed|bomFormat/);
      const none = await check(clusterPolicy(cert, sbomAttestation), signed);
      t.equal(none.code, 1, 'no SBOM attached: denied');
      t.match(none.result.rules[0].message, /no attestation of type sbom\/cyclone-dx is attached/);
    });

    await t.test('containerd-verify: a Notary ClusterPolicy decides the pull', async (t) => {
      const cfg = join(tmp, 'etc-sigward');
      mkdirSync(join(cfg, 'policies'), { recursive: true });
      writeFileSync(join(cfg, 'policies', 'notary.yaml'), clusterPolicy(cert));
      writeFileSync(join(cfg, 'config.yaml'), 'cache:\n  enabled: false\n');
      const pull = async (ref: string) => {
        const d = await store.getManifest(repo, ref.split('@')[1]!);
        const desc =
          JSON.stringify({ mediaType: d.descriptor.mediaType, digest: d.descriptor.digest, size: d.descriptor.size }) +
          '\n';
        return runSigward([
          '-name',
          ref,
          '-digest',
          d.descriptor.digest,
          '-stdin-media-type',
          'application/vnd.oci.descriptor.v1+json',
        ], { env: { SIGWARD_CONFIG_DIR: cfg, HOME: tmp }, input: desc });
      };
      const ok = await pull(signed);
      t.equal(ok.code, 0, `signed: the pull is allowed (${ok.stdout.trim()})`);
      const no = await pull(unsigned);
      t.not(no.code, 0, 'unsigned: the pull is refused');
      t.match(no.stdout, /no signature is associated/, "containerd's reason line says why");
    });

    await t.test('ImageValidatingPolicy notary attestor and referrer attestation', async (t) => {
      const ivpol = (validation: string) =>
        `apiVersion: policies.kyverno.io/v1alpha1
kind: ImageValidatingPolicy
metadata:
  name: notary-ivpol
spec:
  validationActions: [Deny]
  matchConstraints:
    resourceRules:
      - apiGroups: [""]
        apiVersions: ["v1"]
        operations: ["CREATE", "UPDATE"]
        resources: ["pods"]
  matchImageReferences:
    - glob: "${reg.host}/np/*"
  attestors:
    - name: notary
      notary:
        certs:
          value: |-
${indent(cert, '            ')}
  attestations:
    - name: sbom
      referrer:
        type: sbom/cyclone-dx
  validations:
    - expression: >-
        ${validation}
      message: not verified
`;
      const sig = 'images.containers.map(image, verifyImageSignatures(image, [attestors.notary])).all(e, e > 0)';
      const att =
        'images.containers.map(image, verifyAttestationSignatures(image, attestations.sbom, [attestors.notary])).all(e, e > 0) && images.containers.all(image, extractPayload(image, attestations.sbom).bomFormat == "CycloneDX")';
      t.equal((await check(ivpol(sig), signed)).code, 0, 'signature: allowed');
      const no = await check(ivpol(sig), unsigned);
      t.equal(no.code, 1, 'unsigned: denied');
      t.match(no.result.rules[0].message, /no signature is associated/);
      t.equal((await check(ivpol(att), withSbom)).code, 0, 'signed SBOM, payload checked: allowed');
      t.equal((await check(ivpol(att), otherSbom)).code, 1, 'signed SBOM whose payload fails: denied');
      const u = await check(ivpol(att), unsignedSbom);
      t.equal(u.code, 1, 'unsigned SBOM: denied');

      // tsaCerts: the countersignature of a timestamped signature is checked against them
      const tsa = await startTestTsa(tmp, 'ivpol');
      const other = await startTestTsa(tmp, 'ivpol-other');
      t.teardown(() => Promise.all([tsa.stop(), other.stop()]));
      const stamped = await img('stamped');
      t.equal(
        (await notation([
          'sign',
          '--insecure-registry',
          '-k',
          'rsa',
          '--timestamp-url',
          tsa.url,
          '--timestamp-root-cert',
          file(tsa.rootPem, 'pem'),
          stamped,
        ])).code,
        0,
        'notation sign --timestamp-url',
      );
      const withTsa = (pem: string) =>
        ivpol(sig).replace(
          '  attestations:',
          `        tsaCerts:\n          value: |-\n${indent(pem, '            ')}\n  attestations:`,
        );
      t.equal((await check(withTsa(tsa.rootPem), stamped)).code, 0, 'tsaCerts of the TSA that stamped it: allowed');
      const wrongTsa = await check(withTsa(other.rootPem), stamped);
      t.equal(wrongTsa.code, 1, 'tsaCerts of another TSA: denied');
      t.match(wrongTsa.result.rules[0].message, /RFC 3161 countersignature is invalid/);
    });
  });
}
