// Attack suite, attestations: in-toto statements signed (DSSE) with a real key
// and pushed under the real registry's `.att` tags, then altered or misused.
// `sigward verify-attestation` (the binary) must deny each with its reason,
// and never hand an unverified statement to a condition.

import t, { type Test } from 'tap';
import { RegistryClient } from '../../lib/oci/registry.ts';
import { attachLayer } from '../../lib/cosign/attach.ts';
import { ANNOTATION } from '../../lib/cosign/annotations.ts';
import { MEDIA_TYPES } from '../../lib/oci/types.ts';
import { pushImage, withRegistry } from '../helpers/registry.ts';
import { attestImage, makeKey, signBytes, signImage } from '../helpers/cosign.ts';
import { AttackLog, scratch, sigwardJson } from './helpers.ts';

const SLSA = 'https://slsa.dev/provenance/v0.2';
const CYCLONEDX = 'https://cyclonedx.org/bom';

t.test('attestations altered or misused by an attacker', async (t) => {
  const reg = await withRegistry(t);
  const store = new RegistryClient();
  t.teardown(() => store.close());
  const s = scratch(t);
  const victim = makeKey();
  const attacker = makeKey();
  const pub = s.file('cosign.pub', victim.publicPem);
  const log = new AttackLog('attacks/attestations');
  const repo = (n: string) => reg.ref(n);
  const verifyAtt = (name: string, type: string, extra: string[] = []) =>
    sigwardJson([
      'verify-attestation',
      `${reg.host}/${name}:v1`,
      '--key',
      pub,
      '--insecure-ignore-tlog',
      '--type',
      type,
      ...extra,
    ]);
  const denied = (
    t: Test,
    name: string,
    r: Awaited<ReturnType<typeof verifyAtt>>,
    digest: string,
    code: string,
    reason: RegExp,
  ) => {
    t.equal(r.code, 1, `${name}: exit 1`);
    t.equal(r.doc.verified, false, `${name}: not verified`);
    t.equal(r.doc.digest, digest, `${name}: digest`);
    t.equal(r.doc.error?.code, code, `${name}: code ${code}`);
    t.match(r.doc.error?.message ?? '', reason, `${name}: reason`);
    log.record(name);
  };

  // control: an unaltered SLSA attestation verifies
  const good = await pushImage(store, repo('a/good'), { tag: 'v1' });
  await attestImage({
    store,
    repository: repo('a/good'),
    digest: good,
    key: victim,
    predicateType: SLSA,
    predicate: { builder: { id: 'ci' } },
  });
  const ok = await verifyAtt('a/good', 'slsaprovenance', ['--condition', 'predicate.builder.id == "ci"']);
  t.equal(ok.code, 0, 'control: the unaltered attestation verifies and its condition holds');

  await t.test('DSSE payload type changed (signed as text/plain)', async (t) => {
    const d = await pushImage(store, repo('a/ptype'), { tag: 'v1' });
    await attestImage({
      store,
      repository: repo('a/ptype'),
      digest: d,
      key: victim,
      predicateType: SLSA,
      predicate: {},
      payloadType: 'text/plain',
    });
    denied(
      t,
      'DSSE payload type changed',
      await verifyAtt('a/ptype', 'slsaprovenance'),
      d,
      'ATTESTATION_INVALID',
      /DSSE payload type is "text\/plain"/,
    );
  });

  await t.test('statement subject for another digest', async (t) => {
    const d = await pushImage(store, repo('a/subject'), { tag: 'v1' });
    await attestImage({
      store,
      repository: repo('a/subject'),
      digest: d,
      key: victim,
      predicateType: SLSA,
      predicate: {},
      subjectDigest: good,
    });
    denied(
      t,
      'statement subject for another digest',
      await verifyAtt('a/subject', 'slsaprovenance'),
      d,
      'ATTESTATION_INVALID',
      new RegExp(`subject mismatch: expected ${d}`),
    );
  });

  await t.test('predicate type confusion: an SBOM is not provenance', async (t) => {
    const d = await pushImage(store, repo('a/sbom-only'), { tag: 'v1' });
    await attestImage({
      store,
      repository: repo('a/sbom-only'),
      digest: d,
      key: victim,
      predicateType: CYCLONEDX,
      predicate: { bomFormat: 'CycloneDX' },
    });
    denied(
      t,
      'predicate type confusion (CycloneDX SBOM asked for as SLSA)',
      await verifyAtt('a/sbom-only', 'slsaprovenance'),
      d,
      'ATTESTATION_NOT_FOUND',
      /no verified attestations for predicate type https:\/\/slsa.dev\/provenance\/v0.2; verified attestations have other predicate types: https:\/\/cyclonedx.org\/bom/,
    );
  });

  await t.test('the unsigned layer annotation claims another predicate type', async (t) => {
    const d = await pushImage(store, repo('a/lying-annotation'), { tag: 'v1' });
    const envelope = await attestImage({
      store,
      repository: repo('a/other'),
      digest: d,
      key: victim,
      predicateType: CYCLONEDX,
      predicate: {},
    });
    await attachLayer({
      store,
      repository: repo('a/lying-annotation'),
      digest: d,
      suffix: 'att',
      payload: envelope,
      annotations: { [ANNOTATION.signature]: '', [ANNOTATION.predicateType]: SLSA },
    });
    denied(
      t,
      'layer annotation claims SLSA for a signed CycloneDX statement',
      await verifyAtt('a/lying-annotation', 'slsaprovenance'),
      d,
      'ATTESTATION_NOT_FOUND',
      /other predicate types: https:\/\/cyclonedx.org\/bom/,
    );
  });

  await t.test('predicate altered after signing', async (t) => {
    const d = await pushImage(store, repo('a/altered'), { tag: 'v1' });
    const envelope = JSON.parse(
      Buffer.from(
        await attestImage({
          store,
          repository: repo('a/scratch'),
          digest: d,
          key: victim,
          predicateType: SLSA,
          predicate: { builder: { id: 'untrusted' } },
        }),
      ).toString(),
    );
    const statement = JSON.parse(Buffer.from(envelope.payload, 'base64').toString());
    statement.predicate.builder.id = 'ci';
    envelope.payload = Buffer.from(JSON.stringify(statement)).toString('base64');
    await attachLayer({
      store,
      repository: repo('a/altered'),
      digest: d,
      suffix: 'att',
      payload: Buffer.from(JSON.stringify(envelope)),
      annotations: { [ANNOTATION.signature]: '', [ANNOTATION.predicateType]: SLSA },
    });
    denied(
      t,
      'attestation predicate altered after signing',
      await verifyAtt('a/altered', 'slsaprovenance', ['--condition', 'predicate.builder.id == "ci"']),
      d,
      'SIGNATURE_INVALID',
      /invalid signature/,
    );
  });

  await t.test('a signature presented as an attestation', async (t) => {
    const d = await pushImage(store, repo('a/sig-as-att'), { tag: 'v1' });
    const { payload, signatureB64 } = await signImage({
      store,
      repository: repo('a/sig-as-att'),
      digest: d,
      key: victim,
    });
    await attachLayer({
      store,
      repository: repo('a/sig-as-att'),
      digest: d,
      suffix: 'att',
      payload,
      mediaType: MEDIA_TYPES.cosignSimpleSigning,
      annotations: { [ANNOTATION.signature]: signatureB64, [ANNOTATION.predicateType]: SLSA },
    });
    denied(
      t,
      'signature layer presented as an attestation',
      await verifyAtt('a/sig-as-att', 'slsaprovenance'),
      d,
      'ATTESTATION_INVALID',
      /layer is not an attestation/,
    );
  });

  await t.test('a DSSE envelope signed with PAE of another payload type (type swapped after signing)', async (t) => {
    const d = await pushImage(store, repo('a/type-swap'), { tag: 'v1' });
    // signed as "application/json", then relabelled in-toto: the PAE changes, the signature does not
    const statement = Buffer.from(
      JSON.stringify({
        _type: 'https://in-toto.io/Statement/v0.1',
        predicateType: SLSA,
        subject: [{ name: 'x', digest: { sha256: d.slice(7) } }],
        predicate: {},
      }),
    );
    const pae = (type: string) =>
      Buffer.concat([Buffer.from(`DSSEv1 ${type.length} ${type} ${statement.length} `), statement]);
    const env = {
      payloadType: 'application/vnd.in-toto+json',
      payload: statement.toString('base64'),
      signatures: [{ keyid: '', sig: signBytes(victim, pae('application/json')).toString('base64') }],
    };
    await attachLayer({
      store,
      repository: repo('a/type-swap'),
      digest: d,
      suffix: 'att',
      payload: Buffer.from(JSON.stringify(env)),
      annotations: { [ANNOTATION.signature]: '', [ANNOTATION.predicateType]: SLSA },
    });
    denied(
      t,
      'DSSE payload type relabelled after signing',
      await verifyAtt('a/type-swap', 'slsaprovenance'),
      d,
      'SIGNATURE_INVALID',
      /invalid signature/,
    );
  });

  await t.test("an attacker's attestation never reaches the condition", async (t) => {
    const d = await pushImage(store, repo('a/condition'), { tag: 'v1' });
    await attestImage({
      store,
      repository: repo('a/condition'),
      digest: d,
      key: victim,
      predicateType: SLSA,
      predicate: { approved: false },
    });
    await attestImage({
      store,
      repository: repo('a/condition'),
      digest: d,
      key: attacker,
      predicateType: SLSA,
      predicate: { approved: true },
    });
    const r = await verifyAtt('a/condition', 'slsaprovenance', ['--condition', 'predicate.approved == true']);
    t.equal(r.code, 1, 'exit 1');
    t.equal(r.doc.verified, false);
    t.equal(r.doc.statements.length, 1, 'only the victim-signed statement was evaluated');
    t.equal(r.doc.statements[0].passed, false);
    t.equal(r.doc.statements[0].statement.predicate.approved, false);
    t.same(
      r.doc.rejected.map((x: { code: string }) => x.code),
      ['SIGNATURE_INVALID'],
      'the attacker-signed one was rejected',
    );
    log.record('attacker-signed attestation with a passing predicate next to a failing signed one');
    // alone, the attacker's attestation verifies nothing
    const d2 = await pushImage(store, repo('a/condition-only'), { tag: 'v1' });
    await attestImage({
      store,
      repository: repo('a/condition-only'),
      digest: d2,
      key: attacker,
      predicateType: SLSA,
      predicate: { approved: true },
    });
    denied(
      t,
      'only an attacker-signed attestation',
      await verifyAtt('a/condition-only', 'slsaprovenance', ['--condition', 'predicate.approved == true']),
      d2,
      'SIGNATURE_INVALID',
      /invalid signature/,
    );
  });

  log.report(t);
});
