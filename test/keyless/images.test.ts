// Keyless image signatures end to end: a private Sigstore (mock Fulcio with
// CT log, Rekor, TSA on 127.0.0.1) signs images with @sigstore/sign in both
// cosign formats (legacy `.sig` layer and cosign v3 bundle referrer); they
// are pushed to the real registry (Debian docker-registry, no referrers API:
// the `sha256-<hex>` tag index is used) or an OCI layout, and the sigward
// binary verifies them with --trusted-root pointing at the mock's root.
// Every negative case must be denied (exit 1) naming the failed check.

import t, { type Test } from 'tap';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RegistryClient } from '../../lib/oci/registry.ts';
import { LayoutStore } from '../../lib/oci/layout.ts';
import type { OciStore, RepositoryRef } from '../../lib/oci/types.ts';
import { ANNOTATION } from '../../lib/cosign/annotations.ts';
import { type PushedImage, pushImageDetailed, withRegistry } from '../helpers/registry.ts';
import { runSigward } from '../helpers/cli.ts';
import {
  DEFAULT_ISSUER,
  IN_TOTO,
  pushBundleReferrer,
  pushLegacySignature,
  type SignOptions,
  type SigstoreMock,
  toImageSignatureStatement,
  withSigstoreMock,
} from '../helpers/sigstore.ts';

type Format = 'legacy' | 'bundle';

const USER = 'user@example.com';

interface Target {
  store: OciStore;
  repo(name: string): RepositoryRef;
  ref(name: string, img: PushedImage): string;
}

async function sign(
  mock: SigstoreMock,
  target: Target,
  name: string,
  img: PushedImage,
  format: Format,
  o: SignOptions,
  tamper?: (sig: any) => Promise<void> | void,
): Promise<void> {
  const repo = target.repo(name);
  if (format === 'legacy') {
    const sig = await mock.signLegacy(img.digest, `${repo.registry}/${repo.repository}`, o);
    await tamper?.(sig);
    await pushLegacySignature(target.store, repo, img.digest, sig);
  } else {
    const bundle = await mock.signDSSE(toImageSignatureStatement(img.digest), IN_TOTO, o);
    await tamper?.(bundle);
    await pushBundleReferrer(target.store, repo, img.descriptor, bundle);
  }
}

async function verify(args: string[], env: Record<string, string> = {}) {
  const r = await runSigward(['verify', ...args, '-o', 'json'], { env });
  let doc: any;
  try {
    doc = JSON.parse(r.stdout);
  } catch {
    throw new Error(`sigward printed no JSON (exit ${r.code}): ${r.stdout}\n${r.stderr}`);
  }
  return { code: r.code, doc, stderr: r.stderr };
}

t.test('keyless signatures in the real registry', async (t) => {
  const reg = await withRegistry(t);
  const mock = await withSigstoreMock(t);
  const client = new RegistryClient();
  t.teardown(() => client.close());
  const target: Target = {
    store: client,
    repo: (n) => reg.ref(`keyless/${n}`),
    ref: (n, img) => `${reg.host}/keyless/${n}@${img.digest}`,
  };
  const trusted = ['--trusted-root', mock.trustedRootPath];
  const identity = (
    id = USER,
    issuer = DEFAULT_ISSUER,
  ) => ['--certificate-identity', id, '--certificate-oidc-issuer', issuer];

  const image = async (name: string) => pushImageDetailed(client, target.repo(name), { tag: 'v1' });
  const strangerDER = await mock.strangerCA();
  const otherRoot = mock.writeTrustedRoot('stranger-ca', (r) => {
    r.certificateAuthorities[0].certChain.certificates = [{ rawBytes: Buffer.from(strangerDER).toString('base64') }];
  });
  const expiredKeyRoot = mock.writeTrustedRoot('expired-rekor-key', (r) => {
    r.tlogs[0].publicKey.validFor = {
      start: '2000-01-01T00:00:00Z',
      end: new Date(mock.clock.getTime() - 86400_000).toISOString(),
    };
  });

  const FORMATS = ['legacy', 'bundle'] as const;

  await t.test('legacy and bundle signatures verify with the mock trusted root', async (t) => {
    const imgs: PushedImage[] = [];
    for (const format of FORMATS) {
      const img = await image(`${format}-ok`);
      await sign(mock, target, `${format}-ok`, img, format, { identity: USER });
      imgs.push(img);
    }
    // by tag: resolved once, the digest is what was verified
    const r = await verify([...FORMATS.map((f) => `${reg.host}/keyless/${f}-ok:v1`), ...trusted, ...identity()]);
    t.equal(r.code, 0, r.stderr);
    t.equal(r.doc.verified, true);
    FORMATS.forEach((format, i) => {
      const img0 = r.doc.images[i];
      t.equal(img0.digest, imgs[i]!.digest, `${format}: verified digest`);
      t.equal(img0.signatures.length, 1);
      t.equal(img0.signatures[0].format, format);
      t.equal(img0.signatures[0].signer.kind, 'keyless');
      t.equal(img0.signatures[0].signer.identity.subject, USER);
      t.equal(img0.signatures[0].signer.identity.issuer, DEFAULT_ISSUER);
      t.ok(img0.signatures[0].signer.tlog.logIndex, `${format}: transparency log entry reported`);
      if (format === 'bundle') {
        t.equal(img0.signatures[0].statement.predicateType, 'https://sigstore.dev/cosign/sign/v1');
        t.equal(img0.signatures[0].content, 'dsse');
      } else {
        t.equal(img0.signatures[0].payload.critical.image['docker-manifest-digest'], imgs[i]!.digest);
      }
    });
    const refs = FORMATS.map((f, i) => target.ref(`${f}-ok`, imgs[i]!));
    // text output
    const text = await runSigward(['verify', ...refs, ...trusted, ...identity()]);
    t.equal(text.code, 0);
    t.match(text.stdout, new RegExp(`allow .*verified ${imgs[0]!.digest} \\(1 valid signature\\)`));
    t.match(
      text.stdout,
      new RegExp(`allow .*verified ${imgs[1]!.digest} \\(1 valid signature, 1 in Sigstore bundle\\)`),
    );
    // the embedded public-good root does not trust the mock CA
    const pg = await verify([...refs, ...identity()]);
    t.equal(pg.code, 1, 'public-good root: denied');
    for (const i of [0, 1]) t.match(pg.doc.images[i].error.message, /transparency log|trusted certificate authority/);
    // anchored regular expressions that do match
    const re = await verify([
      ...refs,
      ...trusted,
      '--certificate-identity-regexp',
      '.*@example\\.com',
      '--certificate-oidc-issuer-regexp',
      'https://oidc\\.sigward\\.(test|example)',
    ]);
    t.equal(re.code, 0, 'matching anchored regexps');
  });

  interface Case {
    name: string;
    sign?: SignOptions;
    tamper?: (format: Format, sig: any) => Promise<void> | void;
    args?: string[];
    reason: RegExp;
    code: string;
  }
  const cases: Case[] = [
    {
      name: 'wrong identity',
      args: identity('other@example.com'),
      reason: /certificate identity mismatch: expected subject "other@example.com", got "user@example.com"/,
      code: 'IDENTITY_MISMATCH',
    },
    {
      name: 'wrong issuer',
      args: identity(USER, 'https://accounts.google.com'),
      reason: /issuer mismatch: expected issuer "https:\/\/accounts.google.com"/,
      code: 'IDENTITY_MISMATCH',
    },
    {
      name: 'substring identity (cert has a longer SAN)',
      sign: { identity: `${USER}.evil.org` },
      reason: /certificate identity mismatch/,
      code: 'IDENTITY_MISMATCH',
    },
    {
      name: 'substring identity (policy has a longer SAN)',
      args: identity(`${USER}.evil.org`),
      reason: /certificate identity mismatch/,
      code: 'IDENTITY_MISMATCH',
    },
    {
      name: 'anchored regexp: an identity that only contains a match',
      sign: { identity: `evil-${USER}.evil.org` },
      args: ['--certificate-identity-regexp', '^user@example\\.com$', '--certificate-oidc-issuer', DEFAULT_ISSUER],
      reason: /certificate identity mismatch/,
      code: 'IDENTITY_MISMATCH',
    },
    {
      name: 'anchored issuer regexp: an issuer that only contains a match',
      args: ['--certificate-identity', USER, '--certificate-oidc-issuer-regexp', '^oidc\\.sigward'],
      reason: /issuer mismatch/,
      code: 'IDENTITY_MISMATCH',
    },
    {
      name: 'certificate expired at the integrated time',
      sign: { identity: USER, rekorDelaySeconds: 1200 },
      reason: /signing certificate is not valid at/,
      code: 'CERTIFICATE_INVALID',
    },
    {
      name: 'certificate without SCT',
      sign: { identity: USER, noSCT: true },
      reason: /certificate transparency/,
      code: 'SCT_INVALID',
    },
    {
      name: 'tampered SET',
      tamper: (format, sig) => {
        if (format === 'legacy') {
          const set = JSON.parse(sig.annotations[ANNOTATION.bundle]);
          const b = Buffer.from(set.SignedEntryTimestamp, 'base64');
          b[b.length - 5] ^= 1;
          set.SignedEntryTimestamp = b.toString('base64');
          sig.annotations[ANNOTATION.bundle] = JSON.stringify(set);
        } else {
          const e = sig.verificationMaterial.tlogEntries[0];
          const b = Buffer.from(e.inclusionPromise.signedEntryTimestamp, 'base64');
          b[b.length - 5] ^= 1;
          e.inclusionPromise.signedEntryTimestamp = b.toString('base64');
        }
      },
      reason: /signed entry timestamp \(SET\)/,
      code: 'TLOG_INVALID',
    },
    {
      name: 'Rekor entry of another signature',
      tamper: async (format, sig) => {
        // a valid, properly logged signature by the same identity over the same content
        if (format === 'legacy') {
          const other = await mock.signLegacy('sha256:' + '0'.repeat(64), 'x', {
            identity: USER,
            payload: sig.payload,
          });
          sig.annotations[ANNOTATION.bundle] = other.annotations[ANNOTATION.bundle];
        } else {
          const stmt = Buffer.from(sig.dsseEnvelope.payload, 'base64');
          const other = (await mock.signDSSE(stmt, IN_TOTO, { identity: USER })) as any;
          sig.verificationMaterial.tlogEntries = other.verificationMaterial.tlogEntries;
        }
      },
      reason: /transparency log entry (is for another|does not match)/,
      code: 'TLOG_INVALID',
    },
    {
      name: 'untrusted CA',
      args: ['--trusted-root', otherRoot, ...identity()],
      reason: /not issued by a trusted certificate authority/,
      code: 'CERTIFICATE_INVALID',
    },
    {
      name: 'trust-root Rekor key expired before the integrated time',
      args: ['--trusted-root', expiredKeyRoot, ...identity()],
      reason: /transparency log/,
      code: 'TLOG_INVALID',
    },
  ];
  const setupCase = async (c: Case): Promise<string[]> => {
    const refs: string[] = [];
    for (const format of FORMATS) {
      const name = `${format}-${c.name.replace(/[^a-z]+/g, '-')}`.replace(/-+$/, '');
      const img = await image(name);
      await sign(
        mock,
        target,
        name,
        img,
        format,
        c.sign ?? { identity: USER },
        c.tamper && ((sig) => c.tamper!(format, sig)),
      );
      refs.push(target.ref(name, img));
    }
    return refs;
  };
  const expectDenied = (t: Test, c: Case, images: any[]) => {
    FORMATS.forEach((format, i) => {
      t.equal(images[i].verified, false, `${c.name}, ${format}: not verified`);
      t.match(images[i].error.message, c.reason, `${c.name}, ${format}: reason`);
      t.equal(images[i].error.code, c.code, `${c.name}, ${format}: code`);
    });
  };
  // cases with their own flags: one sigward run each
  for (const c of cases.filter((x) => x.args)) {
    await t.test(`${c.name}: denied (legacy and bundle)`, async (t) => {
      const refs = await setupCase(c);
      const args = c.args!;
      const r = await verify([...refs, ...(args.includes('--trusted-root') ? [] : trusted), ...args]);
      t.equal(r.code, 1, `exit 1 (${r.stderr.trim()})`);
      t.equal(r.doc.verified, false);
      expectDenied(t, c, r.doc.images);
    });
  }
  // cases with the standard flags: one sigward run for all of them
  await t.test('signature-side failures: denied (legacy and bundle)', async (t) => {
    const standard = cases.filter((x) => !x.args);
    const refs: string[][] = [];
    for (const c of standard) refs.push(await setupCase(c));
    const r = await verify([...refs.flat(), ...trusted, ...identity()]);
    t.equal(r.code, 1, `exit 1 (${r.stderr.trim()})`);
    t.same(r.doc.images.map((i: any) => i.verified), refs.flat().map(() => false), 'none verified');
    standard.forEach((c, i) => expectDenied(t, c, r.doc.images.slice(2 * i, 2 * i + 2)));
    const sct = refs[standard.findIndex((c) => c.name === 'certificate without SCT')]!;
    const ok = await verify([...sct, ...trusted, ...identity(), '--insecure-ignore-sct']);
    t.equal(ok.code, 0, 'without SCT: --insecure-ignore-sct accepts both');
  });

  await t.test('bundles: image signatures only, bound to the image digest', async (t) => {
    // every image is set up first, then verified by ONE sigward run (same flags)
    const checks: { ref: string; expect: (img: any) => void }[] = [];
    const add = (ref: string, expect: (img: any) => void) => checks.push({ ref, expect });

    // an attestation bundle is listed as skipped, never counted as a signature
    const att = await image('att-only');
    const stmt = toImageSignatureStatement(att.digest, { predicateType: 'https://slsa.dev/provenance/v1' });
    await pushBundleReferrer(
      client,
      target.repo('att-only'),
      att.descriptor,
      await mock.signDSSE(stmt, IN_TOTO, { identity: USER }),
      { predicateType: 'https://slsa.dev/provenance/v1' },
    );
    add(target.ref('att-only', att), (i) => {
      t.equal(i.error.code, 'SIGNATURE_NOT_FOUND', 'attestation only: not found');
      t.match(
        i.error.message,
        /signature not found \(1 bundle skipped: attestation \(predicate type https:\/\/slsa.dev\/provenance\/v1\)/,
      );
    });
    // the same, without cosign's manifest annotation: the statement decides
    const att2 = await image('att-unannotated');
    await pushBundleReferrer(
      client,
      target.repo('att-unannotated'),
      att2.descriptor,
      await mock.signDSSE(
        toImageSignatureStatement(att2.digest, { predicateType: 'https://cyclonedx.org/bom' }),
        IN_TOTO,
        { identity: USER },
      ),
      { predicateType: null },
    );
    add(
      target.ref('att-unannotated', att2),
      (i) =>
        t.match(
          i.error.message,
          /skipped: attestation \(predicate type https:\/\/cyclonedx.org\/bom\)/,
          'unannotated attestation skipped',
        ),
    );

    // a valid signature statement for ANOTHER image, attached to this one
    const a = await image('moved-a');
    const b = await image('moved-b');
    await pushBundleReferrer(
      client,
      target.repo('moved-b'),
      b.descriptor,
      await mock.signDSSE(toImageSignatureStatement(a.digest), IN_TOTO, { identity: USER }),
    );
    add(target.ref('moved-b', b), (i) => {
      t.equal(i.error.code, 'MANIFEST_DIGEST_MISMATCH', 'statement for another image');
      t.match(i.error.message, /digest mismatch/);
    });

    // cosign sign-blob style: message signature over the manifest bytes
    const m = await image('blob-style');
    await pushBundleReferrer(
      client,
      target.repo('blob-style'),
      m.descriptor,
      await mock.signBlob(m.bytes, { identity: USER }),
    );
    add(target.ref('blob-style', m), (i) => {
      t.equal(i.verified, true, 'message signature over the manifest');
      t.equal(i.signatures[0].format, 'bundle');
      t.equal(i.signatures[0].content, 'message');
    });
    // ... but not over other bytes
    const m2 = await image('blob-other');
    await pushBundleReferrer(
      client,
      target.repo('blob-other'),
      m2.descriptor,
      await mock.signBlob(m.bytes, { identity: USER }),
    );
    add(
      target.ref('blob-other', m2),
      (i) => t.equal(i.error.code, 'MANIFEST_DIGEST_MISMATCH', 'message signature over other bytes'),
    );

    // referrers that are not single-layer bundle manifests are skipped silently
    const two = await image('two-layers');
    const extra = await client.putBlob(
      target.repo('two-layers'),
      new TextEncoder().encode('x'),
      'application/octet-stream',
    );
    await pushBundleReferrer(
      client,
      target.repo('two-layers'),
      two.descriptor,
      await mock.signDSSE(toImageSignatureStatement(two.digest), IN_TOTO, { identity: USER }),
      { extraLayers: [extra] },
    );
    add(
      target.ref('two-layers', two),
      (i) => t.equal(i.error.message, 'signature not found', 'two-layer referrer ignored'),
    );

    // bundles older than v0.3 are not accepted for images (cosign: MinVersion v0.3)
    const old = await image('old-bundle');
    const v02 = {
      ...((await mock.signDSSE(toImageSignatureStatement(old.digest), IN_TOTO, { identity: USER })) as any),
      mediaType: 'application/vnd.dev.sigstore.bundle+json;version=0.2',
    };
    await pushBundleReferrer(client, target.repo('old-bundle'), old.descriptor, v02);
    add(target.ref('old-bundle', old), (i) => {
      t.equal(i.error.code, 'BUNDLE_INVALID', 'v0.2 bundle refused');
      t.match(i.error.message, /v0\.3/);
    });

    const r = await verify([...checks.map((c) => c.ref), ...trusted, ...identity()]);
    t.equal(r.code, 1, 'some images denied');
    checks.forEach((c, i) => c.expect(r.doc.images[i]));
    t.same(
      r.doc.images.map((i: any) => i.verified),
      checks.map((_, i) => i === 3),
      'only the message-signature image verified',
    );

    // cosign -a: annotations are matched on the statement subject
    const ann = await image('annotated');
    await pushBundleReferrer(
      client,
      target.repo('annotated'),
      ann.descriptor,
      await mock.signDSSE(toImageSignatureStatement(ann.digest, { annotations: { env: 'prod' } }), IN_TOTO, {
        identity: USER,
      }),
    );
    t.equal(
      (await verify([target.ref('annotated', ann), ...trusted, ...identity(), '-a', 'env=prod'])).code,
      0,
      'annotation present',
    );
    const bad = await verify([target.ref('annotated', ann), ...trusted, ...identity(), '-a', 'env=dev']);
    t.equal(bad.code, 1);
    t.equal(bad.doc.images[0].error.code, 'ANNOTATION_MISMATCH');
  });

  await t.test('both formats: each reported; any valid signature passes', async (t) => {
    const refs: string[] = [];
    const setup = async (name: string, legacy: SignOptions, bundle: SignOptions) => {
      const img = await image(name);
      await sign(mock, target, name, img, 'legacy', legacy);
      await sign(mock, target, name, img, 'bundle', bundle);
      refs.push(target.ref(name, img));
    };
    await setup('both', { identity: USER }, { identity: USER, tsa: true });
    // a valid bundle next to a bad legacy signature, and vice versa
    await setup('mixed', { identity: 'someone@else.org' }, { identity: USER });
    await setup('mixed2', { identity: USER }, { identity: USER, noSCT: true });
    // neither valid
    await setup('both-bad', { identity: USER, noSCT: true }, { identity: 'someone@else.org' });
    const none = await image('unsigned');
    refs.push(target.ref('unsigned', none));

    const r = await verify([...refs, ...trusted, ...identity()]);
    t.equal(r.code, 1);
    const [both, mixed, mixed2, bad, unsigned] = r.doc.images;
    t.equal(both.verified, true);
    t.same(both.signatures.map((s: any) => s.format), ['legacy', 'bundle']);
    t.same(
      both.signatures[1].signer.timestamps.map((x: any) => x.source),
      ['tlog', 'tsa'],
      'RFC 3161 timestamp verified',
    );

    t.equal(mixed.verified, true, 'bad legacy + good bundle');
    t.same(mixed.signatures.map((s: any) => s.format), ['bundle']);
    t.same(mixed.rejected.map((x: any) => [x.format, x.code]), [['legacy', 'IDENTITY_MISMATCH']]);
    t.equal(mixed.legacyError.code, 'IDENTITY_MISMATCH');

    t.equal(mixed2.verified, true, 'good legacy + bad bundle');
    t.same(mixed2.signatures.map((s: any) => s.format), ['legacy']);
    t.same(mixed2.rejected.map((x: any) => [x.format, x.code]), [['bundle', 'SCT_INVALID']]);

    // the most specific reason wins, every reason is listed
    t.equal(bad.verified, false);
    t.equal(bad.error.code, 'IDENTITY_MISMATCH');
    t.match(bad.error.message, /^no matching signatures: /);
    t.match(bad.error.message, /certificate identity mismatch/);
    t.match(bad.error.message, /certificate transparency/);
    t.equal(bad.error.detail.rejected[0].code, 'SCT_INVALID');
    t.equal(bad.error.detail.rejectedBundles[0].code, 'IDENTITY_MISMATCH');

    t.equal(unsigned.verified, false);
    t.equal(unsigned.error.message, 'signature not found');
  });

  await t.test('signature repository override (COSIGN_REPOSITORY) holds the bundle', async (t) => {
    const img = await image('override-image');
    const sigRepo = target.repo('override-sigs');
    const bundle = await mock.signDSSE(toImageSignatureStatement(img.digest), IN_TOTO, { identity: USER });
    // the subject lives in another repository: the registry accepts the manifest anyway
    await pushBundleReferrer(client, sigRepo, img.descriptor, bundle);
    let r = await verify([target.ref('override-image', img), ...trusted, ...identity()]);
    t.equal(r.code, 1, 'not in the image repository');
    r = await verify([target.ref('override-image', img), ...trusted, ...identity()], {
      COSIGN_REPOSITORY: `${sigRepo.registry}/${sigRepo.repository}`,
    });
    t.equal(r.code, 0, r.stderr);
    t.equal(r.doc.images[0].signatures[0].format, 'bundle');
  });
});

t.test('keyless signatures in an OCI layout', async (t) => {
  const mock = await withSigstoreMock(t);
  const dir = mkdtempSync(join(tmpdir(), 'sigward-keyless-layout-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const store = new LayoutStore();
  const target: Target = {
    store,
    repo: (n) => ({ transport: 'oci-layout', registry: join(dir, n), repository: '' }),
    ref: (n, img) => `oci:${join(dir, n)}@${img.digest}`,
  };
  const args = [
    '--trusted-root',
    mock.trustedRootPath,
    '--certificate-identity',
    USER,
    '--certificate-oidc-issuer',
    DEFAULT_ISSUER,
  ];
  const refs: string[] = [];
  for (const format of ['legacy', 'bundle'] as const) {
    const img = await pushImageDetailed(store, target.repo(format), { tag: 'v1' });
    await sign(mock, target, format, img, format, { identity: USER });
    refs.push(target.ref(format, img));
  }
  const r = await verify([...refs, ...args]);
  t.equal(r.code, 0, r.stderr);
  t.same(r.doc.images.map((i: any) => i.signatures[0].format), ['legacy', 'bundle']);
  const bad = await verify([
    ...refs,
    ...args.slice(0, 2),
    '--certificate-identity',
    'x@example.com',
    '--certificate-oidc-issuer',
    DEFAULT_ISSUER,
  ]);
  t.equal(bad.code, 1, 'wrong identity denied');
  t.same(bad.doc.images.map((i: any) => i.error.code), ['IDENTITY_MISMATCH', 'IDENTITY_MISMATCH']);
});
