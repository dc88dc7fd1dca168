// Attack suite, keyless: legacy cosign `.sig` layers with Fulcio-style
// certificates, SCTs and Rekor SETs minted by a private Sigstore whose keys the
// test holds (test/helpers/sigstore.ts), pushed to the real registry, then
// forged or misused. `sigward verify --trusted-root` (the binary) must deny
// every one with its reason.

import t, { type Test } from 'tap';
import { RegistryClient } from '../../lib/oci/registry.ts';
import { attachLayer } from '../../lib/cosign/attach.ts';
import { ANNOTATION } from '../../lib/cosign/annotations.ts';
import { makeSimpleSigningPayload } from '../../lib/cosign/payload.ts';
import { pushImage, withRegistry } from '../helpers/registry.ts';
import { AttackLog, type Expect, imageEntry, scratch, sigwardJson } from './helpers.ts';
import { type LegacyLayer, startSigstore } from '../helpers/sigstore.ts';

const USER = 'user@example.com';
const ISSUER = 'https://oidc.example.test';
const GH_ISSUER = 'https://token.actions.githubusercontent.com';
const WORKFLOW = 'https://github.com/org/repo/.github/workflows/release.yml@refs/heads/main';

t.test('keyless signatures forged or misused by an attacker', async (t) => {
  const reg = await withRegistry(t);
  const store = new RegistryClient();
  t.teardown(() => store.close());
  const s = scratch(t);
  const ms = await startSigstore({ withX509CA: true });
  const evil = await startSigstore({ withX509CA: true }); // the attacker's own CA, CT log and Rekor
  const root = s.file('trusted_root.json', JSON.stringify(ms.trustedRoot));
  const log = new AttackLog('attacks/keyless');
  let n = 0;

  /** pushes a fresh image and attaches the layer `make` builds for it; returns its reference and digest */
  const image = async (make: (digest: string, payload: Uint8Array) => Promise<LegacyLayer>) => {
    const name = `keyless/img${n++}`;
    const digest = await pushImage(store, reg.ref(name), { tag: 'v1' });
    const layer = await make(digest, makeSimpleSigningPayload(`${reg.host}/${name}`, digest, null));
    await attachLayer({
      store,
      repository: reg.ref(name),
      digest,
      suffix: 'sig',
      payload: layer.payload,
      annotations: layer.annotations,
    });
    return { image: `${reg.host}/${name}:v1`, digest };
  };
  type Case = { name: string; x: { image: string; digest: string }; expect: Omit<Expect, 'digest'> };

  async function run(
    t: Test,
    args: string[],
    controls: { name: string; x: { image: string; digest: string } }[],
    cases: Case[],
  ) {
    const r = await sigwardJson([
      'verify',
      ...controls.map((c) => c.x.image),
      ...cases.map((c) => c.x.image),
      '--trusted-root',
      root,
      ...args,
    ]);
    t.equal(r.code, 1, `exit 1 (${r.stderr.trim().slice(0, 200)})`);
    for (const c of controls) t.equal(imageEntry(r.doc, c.x.image).verified, true, `${c.name}: verified`);
    for (const c of cases) log.denied(t, c.name, imageEntry(r.doc, c.x.image), { ...c.expect, digest: c.x.digest });
  }

  await t.test('Fulcio-style certificates, exact identity', async (t) => {
    const exact = ['--certificate-identity', USER, '--certificate-oidc-issuer', ISSUER];
    const leaf = () => ms.fulcioLeaf({ san: USER, issuer: ISSUER });
    const control = await image(async (_d, p) => ms.signLegacy(p, await leaf()));
    const cases: Case[] = [
      {
        name:
          'certificate from an untrusted CA (same issuer name, its root in the chain annotation, logged in the trusted Rekor)',
        x: await image(async (_d, p) => {
          const l = await evil.fulcioLeaf({ san: USER, issuer: ISSUER });
          const layer = await evil.signLegacy(p, l, { noTlog: true });
          layer.annotations[ANNOTATION.bundle] = await ms.logHashedRekord({
            payload: p,
            signature: Buffer.from(layer.annotations[ANNOTATION.signature]!, 'base64'),
            verifierPEM: l.certPEM,
          });
          return layer;
        }),
        expect: { code: 'CERTIFICATE_INVALID', reason: /not issued by a trusted certificate authority/ },
      },
      {
        name: 'certificate expired when the signature entered the log',
        x: await image(async (_d, p) => ms.signLegacy(p, await leaf(), { late: true })),
        expect: { code: 'CERTIFICATE_INVALID', reason: /not valid at/ },
      },
      {
        name: 'identity with the expected one as a prefix (user@example.com.evil.org)',
        x: await image(async (_d, p) =>
          ms.signLegacy(p, await ms.fulcioLeaf({ san: `${USER}.evil.org`, issuer: ISSUER }))
        ),
        expect: {
          code: 'IDENTITY_MISMATCH',
          reason: /certificate identity mismatch: expected subject "user@example.com", got "user@example.com.evil.org"/,
        },
      },
      {
        name: 'identity with the expected one as a suffix (evil-user@example.com)',
        x: await image(async (_d, p) => ms.signLegacy(p, await ms.fulcioLeaf({ san: `evil-${USER}`, issuer: ISSUER }))),
        expect: { code: 'IDENTITY_MISMATCH', reason: /certificate identity mismatch/ },
      },
      {
        name: 'OIDC issuer with the expected one as a prefix',
        x: await image(async (_d, p) =>
          ms.signLegacy(p, await ms.fulcioLeaf({ san: USER, issuer: `${ISSUER}.evil.org` }))
        ),
        expect: { code: 'IDENTITY_MISMATCH', reason: /issuer mismatch/ },
      },
      {
        name: 'certificate without an SCT',
        x: await image(async (_d, p) =>
          ms.signLegacy(p, await ms.fulcioLeaf({ san: USER, issuer: ISSUER, noSCT: true }))
        ),
        expect: { code: 'SCT_INVALID', reason: /certificate transparency/ },
      },
      {
        name: 'forged SET (one bit of the signed entry timestamp)',
        x: await image(async (_d, p) => {
          const layer = await ms.signLegacy(p, await leaf());
          const set = JSON.parse(layer.annotations[ANNOTATION.bundle]!);
          const b = Buffer.from(set.SignedEntryTimestamp, 'base64');
          b[b.length - 4] ^= 0x01;
          set.SignedEntryTimestamp = b.toString('base64');
          layer.annotations[ANNOTATION.bundle] = JSON.stringify(set);
          return layer;
        }),
        expect: { code: 'TLOG_INVALID', reason: /signed entry timestamp \(SET\)/ },
      },
      {
        name: 'forged SET: integrated time moved into the certificate validity',
        x: await image(async (_d, p) => {
          const layer = await ms.signLegacy(p, await leaf(), { late: true });
          const set = JSON.parse(layer.annotations[ANNOTATION.bundle]!);
          set.Payload.integratedTime -= 3500;
          layer.annotations[ANNOTATION.bundle] = JSON.stringify(set);
          return layer;
        }),
        expect: { code: 'TLOG_INVALID', reason: /signed entry timestamp \(SET\)/ },
      },
      {
        name: "SET from the attacker's Rekor",
        x: await image(async (_d, p) => {
          const l = await leaf();
          const layer = await ms.signLegacy(p, l, { noTlog: true });
          layer.annotations[ANNOTATION.bundle] = await evil.logHashedRekord({
            payload: p,
            signature: Buffer.from(layer.annotations[ANNOTATION.signature]!, 'base64'),
            verifierPEM: l.certPEM,
          });
          return layer;
        }),
        expect: { code: 'TLOG_INVALID', reason: /transparency log \w+ is not trusted .*no matching Rekor key/ },
      },
      {
        name: 'Rekor entry made for another certificate (another key, same identity)',
        x: await image(async (_d, p) => {
          const l = await leaf();
          const layer = await ms.signLegacy(p, l, { noTlog: true });
          const other = await leaf();
          layer.annotations[ANNOTATION.bundle] = await ms.logHashedRekord({
            payload: p,
            signature: Buffer.from(layer.annotations[ANNOTATION.signature]!, 'base64'),
            verifierPEM: other.certPEM,
          });
          return layer;
        }),
        expect: { code: 'TLOG_INVALID', reason: /transparency log entry is for another certificate/ },
      },
      {
        name: 'Rekor entry made for another payload',
        x: await image(async (_d, p) => {
          const l = await leaf();
          const layer = await ms.signLegacy(p, l, { noTlog: true });
          const otherPayload = makeSimpleSigningPayload('elsewhere/app', 'sha256:' + 'e'.repeat(64), null);
          layer.annotations[ANNOTATION.bundle] = (await ms.signLegacy(otherPayload, l)).annotations[ANNOTATION.bundle]!;
          return layer;
        }),
        expect: { code: 'TLOG_INVALID', reason: /transparency log entry does not match the signature/ },
      },
      {
        name: 'certificate annotation swapped for another valid certificate of the same identity',
        x: await image(async (_d, p) => {
          const layer = await ms.signLegacy(p, await leaf());
          const other = await leaf();
          layer.annotations[ANNOTATION.certificate] = other.certPEM;
          layer.annotations[ANNOTATION.bundle] = await ms.logHashedRekord({
            payload: p,
            signature: Buffer.from(layer.annotations[ANNOTATION.signature]!, 'base64'),
            verifierPEM: other.certPEM,
          });
          return layer;
        }),
        expect: { code: 'SIGNATURE_INVALID', reason: /^invalid signature$/ },
      },
      {
        name: 'key-signed layer (no certificate) presented to keyless verification',
        x: await image(async (_d, p) => {
          const layer = await ms.signLegacy(p, await leaf());
          delete layer.annotations[ANNOTATION.certificate];
          delete layer.annotations[ANNOTATION.chain];
          return layer;
        }),
        expect: { code: 'SIGNATURE_INVALID', reason: /no certificate/ },
      },
      {
        name: 'no transparency log entry',
        x: await image(async (_d, p) => ms.signLegacy(p, await leaf(), { noTlog: true })),
        expect: { code: 'TLOG_MISSING', reason: /signature not found in transparency log/ },
      },
    ];
    await run(t, exact, [{ name: 'control: Fulcio-style certificate, logged', x: control }], cases);
  });

  await t.test('certificates of the private CA (no SCT: --insecure-ignore-sct)', async (t) => {
    const args = ['--certificate-identity', USER, '--certificate-oidc-issuer', ISSUER, '--insecure-ignore-sct'];
    const control = await image(async (_d, p) => ms.signLegacy(p, await ms.x509Leaf({ san: USER, issuer: ISSUER })));
    const cases: Case[] = [
      {
        name: 'certificate for TLS servers (EKU serverAuth, not codeSigning)',
        x: await image(async (_d, p) =>
          ms.signLegacy(p, await ms.x509Leaf({ san: USER, issuer: ISSUER, eku: ['1.3.6.1.5.5.7.3.1'] }))
        ),
        expect: {
          code: 'CERTIFICATE_INVALID',
          reason: /not valid for code signing \(extended key usage: 1\.3\.6\.1\.5\.5\.7\.3\.1\)/,
        },
      },
      {
        name: 'certificate issued after the signature entered the log (backdated signature)',
        x: await image(async (_d, p) =>
          ms.signLegacy(
            p,
            await ms.x509Leaf({
              san: USER,
              issuer: ISSUER,
              notBefore: new Date(ms.clock.getTime() + 1800_000),
              notAfter: new Date(ms.clock.getTime() + 7200_000),
            }),
          )
        ),
        expect: { code: 'CERTIFICATE_INVALID', reason: /not valid at/ },
      },
    ];
    await run(t, args, [{ name: 'control: private-CA certificate with codeSigning', x: control }], cases);
  });

  await t.test('expired certificate without a trusted timestamp (--insecure-ignore-tlog)', async (t) => {
    const args = [
      '--certificate-identity',
      USER,
      '--certificate-oidc-issuer',
      ISSUER,
      '--insecure-ignore-tlog',
      '--insecure-ignore-sct',
    ];
    const control = await image(async (_d, p) =>
      ms.signLegacy(p, await ms.x509Leaf({ san: USER, issuer: ISSUER, notAfter: new Date(Date.now() + 3600_000) }), {
        noTlog: true,
      })
    );
    const day = 86400_000;
    const cases: Case[] = [
      {
        name: 'expired certificate, no trusted time: checked against the current time',
        x: await image(async (_d, p) =>
          ms.signLegacy(
            p,
            await ms.x509Leaf({
              san: USER,
              issuer: ISSUER,
              notBefore: new Date(Date.now() - 2 * day),
              notAfter: new Date(Date.now() - day),
            }),
            { noTlog: true },
          )
        ),
        expect: { code: 'CERTIFICATE_INVALID', reason: /not valid at/ },
      },
    ];
    await run(t, args, [{ name: 'control: valid certificate, no transparency log', x: control }], cases);
  });

  // cosign matches identity regexps anywhere in the value (Go's MatchString): the policy a careful user writes is anchored
  await t.test('identity regular expressions anchored with ^...$', async (t) => {
    const args = [
      '--certificate-identity-regexp',
      '^https://github\\.com/org/repo/\\.github/workflows/.*$',
      '--certificate-oidc-issuer-regexp',
      '^https://token\\.actions\\.githubusercontent\\.com$',
    ];
    const signAs = (san: string, issuer = GH_ISSUER) =>
      image(async (_d, p) => ms.signLegacy(p, await ms.fulcioLeaf({ san, issuer })));
    const control = await signAs(WORKFLOW);
    const cases: Case[] = [
      {
        name: 'workflow of a look-alike repository (org/repo-evil)',
        x: await signAs('https://github.com/org/repo-evil/.github/workflows/release.yml@refs/heads/main'),
        expect: { code: 'IDENTITY_MISMATCH', reason: /certificate identity mismatch/ },
      },
      {
        name: 'workflow on a look-alike host (github.com.evil.org)',
        x: await signAs('https://github.com.evil.org/org/repo/.github/workflows/release.yml@refs/heads/main'),
        expect: { code: 'IDENTITY_MISMATCH', reason: /certificate identity mismatch/ },
      },
      {
        name: 'identity embedding the expected one after a prefix (regexp not anchored at the start)',
        x: await signAs(`https://evil.org/${WORKFLOW}`),
        expect: { code: 'IDENTITY_MISMATCH', reason: /certificate identity mismatch/ },
      },
      {
        name: 'issuer with the expected one as a prefix (regexp not anchored at the end)',
        x: await signAs(WORKFLOW, `${GH_ISSUER}.evil.org`),
        expect: { code: 'IDENTITY_MISMATCH', reason: /issuer mismatch/ },
      },
    ];
    await run(t, args, [{ name: 'control: the expected workflow', x: control }], cases);
  });

  log.report(t);
});
