// `sigward export containers-policy` consumed by the real skopeo 1.22
// (containers/image with sigstore enabled, scripts/peers.sh) with a
// registries.d `use-sigstore-attachments: true`, on images signed by the real
// cosign 3.1.1 in both formats. For every case skopeo's verdict is compared
// with sigward's own (`sigward check` on the policy the file was exported
// from): where they differ, the export must have said why.

import t from 'tap';
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RegistryClient } from '../../lib/oci/registry.ts';
import type { Unexpressed } from '../../lib/export/containers-policy.ts';
import { withRegistry } from '../helpers/registry.ts';
import { runSigward } from '../helpers/cli.ts';
import { COSIGN, SKOPEO, withRealPeers } from '../helpers/peers.ts';
import { keyAttestor, keyPolicy as buildKeyPolicy } from '../helpers/policies.ts';
import { keyPolicy, makeCosignImages, type SignedCase } from '../helpers/cosign-images.ts';

withRealPeers({ 'cosign 3.1.1': COSIGN, 'skopeo 1.22': SKOPEO }, main);

type Verdict = 'allow' | 'deny';

/**
 * What containers/image decides for a case, and the export's warning that
 * explains it where it differs from sigward: it reads no cosign v3 bundle,
 * and checks the platform manifest it copies, never the index.
 */
function skopeoPrediction(
  c: SignedCase,
  cases: SignedCase[],
): { verdict: Verdict; message?: string | RegExp; because?: { feature: string; effect: Unexpressed['effect'] } } {
  const none = 'Source image rejected: A signature was required, but no signature exists';
  if (c.kind === 'unmatched') return { verdict: 'allow' };
  if (c.format === 'bundle') {
    const message = c.kind.startsWith('multi-arch') ? `copying system image from manifest list: ${none}` : none;
    return c.expected === 'allow'
      ? { verdict: 'deny', message, because: { feature: 'cosign v3 bundles', effect: 'stricter' } }
      : { verdict: 'deny', message };
  }
  switch (c.kind) {
    case 'signed':
    case 'multi-arch':
      return { verdict: 'allow' };
    case 'unsigned':
      return { verdict: 'deny', message: none };
    case 'wrong-key':
    case 'tampered':
      return {
        verdict: 'deny',
        message:
          'Source image rejected: cryptographic signature verification failed: invalid signature when validating ASN.1 encoded signature',
      };
    case 'replayed':
      // containers/image names the digest the replayed signature claims
      return {
        verdict: 'deny',
        message: `Source image rejected: Signature for digest ${
          cases.find((x) => x.id === `${c.format}/signed`)!.digest
        } does not match`,
      };
    case 'multi-arch-index-only':
      return {
        verdict: 'deny',
        message: `copying system image from manifest list: ${none}`,
        because: { feature: 'multi-arch images', effect: 'stricter' },
      };
    case 'multi-arch-children-only':
      return { verdict: 'allow', because: { feature: 'multi-arch images', effect: 'weaker' } };
  }
  throw new Error(`no prediction for ${c.id}`);
}

function main(): void {
  t.test('skopeo 1.22 with the exported policy.json', async (t) => {
    const tmp = mkdtempSync(join(tmpdir(), 'sigward-real-skopeo-'));
    t.teardown(() => rmSync(tmp, { recursive: true, force: true }));
    const reg = await withRegistry(t);
    const store = new RegistryClient();
    t.teardown(() => store.close());
    const fx = await makeCosignImages({ reg, store, dir: join(tmp, 'cosign') });
    const byId = (id: string) => fx.cases.find((c) => c.id === id)!;
    const regd = join(tmp, 'registries.d');
    mkdirSync(regd);
    writeFileSync(join(regd, 'sigward.yaml'), `docker:\n  ${reg.host}:\n    use-sigstore-attachments: true\n`);
    let n = 0;
    let decided = 0;
    const skopeo = (image: string, policy: string, extra: string[] = []): Promise<{ verdict: Verdict; out: string }> =>
      new Promise((resolve) => {
        const dest = join(tmp, `copy-${n++}`);
        const args = [
          '--policy',
          policy,
          '--registries.d',
          regd,
          'copy',
          ...extra,
          '--src-tls-verify=false',
          `docker://${image}`,
          `dir:${dest}`,
        ];
        execFile(
          SKOPEO,
          args,
          { timeout: 60_000, env: { PATH: '/usr/bin:/bin', HOME: tmp } },
          (err, stdout, stderr) => {
            rmSync(dest, { recursive: true, force: true });
            decided++;
            resolve({ verdict: err ? 'deny' : 'allow', out: `${stdout}${stderr}` });
          },
        );
      });
    /** sigward's own verdicts for the images under a policy file (one `check` run). */
    const sigwardVerdicts = async (policy: string, images: string[]): Promise<Map<string, Verdict>> => {
      const r = await runSigward(['check', '--policy', policy, ...images.flatMap((i) => ['--image', i]), '-o', 'json']);
      if (r.code !== 0 && r.code !== 1) throw new Error(`sigward check failed (${r.code}): ${r.stderr}`);
      const doc = JSON.parse(r.stdout) as { results: Array<{ source: string; allowed: boolean }> };
      return new Map(doc.results.map((x) => [x.source, x.allowed ? 'allow' : 'deny']));
    };
    const exportPolicy = async (policy: string, extra: string[] = []) => {
      const out = join(tmp, `policy-${n++}.json`);
      const text = await runSigward(['export', 'containers-policy', '--policy', policy, '--out', out, ...extra]);
      const json = await runSigward([
        'export',
        'containers-policy',
        '--policy',
        policy,
        '--out',
        join(tmp, `report-${n++}.json`),
        '-o',
        'json',
        ...extra,
      ]);
      if (text.code !== 0 || json.code !== 0) throw new Error(`export failed: ${text.stderr}${json.stderr}`);
      const report = JSON.parse(json.stdout) as { unexpressed: Unexpressed[]; sigstoreScopes: string[] };
      return { out, stderr: text.stderr, report };
    };

    const keyPolicyPath = join(tmp, 'require-signed.yaml');
    writeFileSync(keyPolicyPath, keyPolicy('require-signed-images', [fx.pattern], fx.publicKeyPem));
    const exported = await exportPolicy(keyPolicyPath);
    const scope = `${reg.host}/company`;

    await t.test('the export says what containers/image will not honour (stderr and the JSON report)', async (t) => {
      const { stderr, report } = exported;
      t.match(
        stderr,
        /\*: cosign v3 bundles: containers\/image reads cosign's legacy signatures only .*: an image signed only in cosign's v3 bundle format .* is rejected; .*--new-bundle-format=false .*\[stricter; listed\]/,
      );
      t.match(
        stderr,
        /\*: multi-arch images: signatures are checked on the platform manifest that is pulled, never on the index: an index signed without its platform manifests .* is rejected; sign multi-arch images with cosign sign --recursive \[stricter; listed\]/,
      );
      t.match(
        stderr,
        /\*: multi-arch images: an unsigned index over signed platform manifests is accepted .*--multi-arch index-only checks no signature at all \[weaker; listed\]/,
      );
      t.match(
        stderr,
        `containers/image reads the signatures only with use-sigstore-attachments: true in /etc/containers/registries.d for: ${scope}\n`,
      );
      t.same(report.sigstoreScopes, [scope]);
      for (
        const [feature, effect] of [['cosign v3 bundles', 'stricter'], ['multi-arch images', 'stricter'], [
          'multi-arch images',
          'weaker',
        ]] as const
      ) {
        t.ok(
          report.unexpressed.some((u) => u.feature === feature && u.effect === effect && u.action === 'listed'),
          `JSON report: ${feature} (${effect})`,
        );
      }
      const policy = JSON.parse(readFileSync(exported.out, 'utf8'));
      t.equal(
        policy.transports.docker[scope][0].type,
        'sigstoreSigned',
        'the scope is exported, not rejected: these are listed, not blocking',
      );
      const nothing = join(tmp, 'audit.yaml');
      writeFileSync(
        nothing,
        keyPolicy('audit-only', [fx.pattern], fx.publicKeyPem).replace(
          'validationFailureAction: Enforce',
          'validationFailureAction: Audit',
        ),
      );
      const none = await exportPolicy(nothing);
      t.notMatch(
        none.stderr,
        /cosign v3 bundles|multi-arch images|use-sigstore-attachments/,
        'no sigstoreSigned requirement: nothing to warn about',
      );
    });

    await t.test('every cosign case: skopeo against sigward, each difference announced by the export', async (t) => {
      const ours = await sigwardVerdicts(keyPolicyPath, fx.cases.map((c) => c.image));
      for (const c of fx.cases) {
        const want = skopeoPrediction(c, fx.cases);
        const r = await skopeo(c.image, exported.out);
        const sigward = ours.get(c.image);
        t.equal(sigward, c.expected, `${c.id}: sigward ${sigward} (${c.how})`);
        t.equal(
          r.verdict,
          want.verdict,
          `${c.id}: skopeo ${r.verdict}${r.verdict === 'deny' ? `: ${r.out.trim().split('\n').pop()}` : ''}`,
        );
        if (want.message) t.match(r.out, want.message, `${c.id}: skopeo's reason`);
        if (r.verdict !== sigward) {
          t.ok(want.because, `${c.id}: a known difference`);
          if (want.because) {
            t.ok(
              exported.report.unexpressed.some((u) =>
                u.feature === want.because!.feature && u.effect === want.because!.effect
              ),
              `${c.id}: announced by the export (${want.because.feature}, ${want.because.effect})`,
            );
          }
          t.equal(
            want.because?.effect,
            r.verdict === 'allow' ? 'weaker' : 'stricter',
            `${c.id}: skopeo ${r.verdict === 'allow' ? 'accepts more' : 'rejects more'}, as announced`,
          );
        }
      }
    });

    await t.test('what the multi-arch warnings claim, with skopeo --multi-arch all / index-only', async (t) => {
      const all = await skopeo(byId('legacy/multi-arch-index-only').image, exported.out, ['--multi-arch', 'all']);
      t.equal(all.verdict, 'deny', 'every platform copied: each must be signed');
      t.match(
        all.out,
        /copying image 1\/2 from manifest list: Source image rejected: A signature was required, but no signature exists/,
      );
      const recursive = await skopeo(byId('legacy/multi-arch').image, exported.out, ['--multi-arch', 'all']);
      t.equal(recursive.verdict, 'allow', 'signed with --recursive: every platform is accepted');
      const indexOnly = await skopeo(byId('bundle/multi-arch-children-only').image, exported.out, [
        '--multi-arch',
        'index-only',
      ]);
      t.equal(
        indexOnly.verdict,
        'allow',
        'index-only: an index with no legacy signature anywhere is copied (nothing is checked)',
      );
    });

    await t.test('attestations: the scope is rejected by default; with --on-unsupported skip, skopeo accepts what sigward denies', async (t) => {
      const attested = join(tmp, 'attested.yaml');
      writeFileSync(
        attested,
        buildKeyPolicy({
          key: fx.publicKeyPem,
          name: 'require-provenance',
          refs: [fx.pattern],
          ruleName: 'check-signatures',
          entry: {
            attestations: [{
              type: 'https://slsa.dev/provenance/v1',
              attestors: [{ entries: [keyAttestor(fx.publicKeyPem)] }],
            }],
          },
        }),
      );
      const signed = byId('legacy/signed');
      const ours = await sigwardVerdicts(attested, [signed.image]);
      t.equal(ours.get(signed.image), 'deny', 'sigward: signed, but no provenance attestation');
      const reject = await exportPolicy(attested);
      t.match(
        reject.stderr,
        /attestations: attestations \(https:\/\/slsa\.dev\/provenance\/v1\) and their conditions are not checked by policy\.json \[weaker; scope rejected\]/,
      );
      const r = await skopeo(signed.image, reject.out);
      t.equal(r.verdict, 'deny', 'fail closed: the scope is rejected');
      t.match(r.out, /Source image rejected: Running image docker:\/\/.* is rejected by policy\./);
      const skip = await exportPolicy(attested, ['--on-unsupported', 'skip']);
      t.match(skip.stderr, /not checked by policy\.json \[weaker; omitted\]/);
      const s = await skopeo(signed.image, skip.out);
      t.equal(
        s.verdict,
        'allow',
        'skip: the signature is checked, the attestation is not (announced as weaker; omitted)',
      );
    });

    t.comment(`copies decided by the real skopeo: ${decided}`);
  });
}
