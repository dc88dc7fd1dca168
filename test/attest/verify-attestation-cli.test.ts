// `sigward verify-attestation` on attestations the test makes with real keys
// in the real registry, and on a cosign v3 bundle file.

import t from 'tap';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RegistryClient } from '../../lib/oci/registry.ts';
import { pushImage, withRegistry } from '../helpers/registry.ts';
import { runSigward } from '../helpers/cli.ts';
import { attestImage, makeKey, signImage } from '../helpers/cosign.ts';
import { ROOT, SHARED } from '../helpers/fixtures.ts';

const tmp = mkdtempSync(join(tmpdir(), 'sigward-att-'));
const vuln = JSON.parse(readFileSync(join(SHARED, 'predicates/vuln-predicate.json'), 'utf8'));
const trivy = JSON.parse(readFileSync(join(ROOT, 'testdata/rules/vuln-trivy-clean.json'), 'utf8'));
const slsa02 = JSON.parse(readFileSync(join(SHARED, 'intoto-examples/resource_descriptor-1.json'), 'utf8'));

t.test('attestations in the real registry', async (t) => {
  const reg = await withRegistry(t);
  const store = new RegistryClient();
  t.teardown(() => store.close());
  const key = makeKey();
  const other = makeKey();
  const pub = join(tmp, 'k.pub');
  writeFileSync(pub, key.publicPem);
  const repo = reg.ref('att/app');
  const digest = await pushImage(store, repo, { tag: 'v1' });
  const scanned = await pushImage(store, repo, { tag: 'scanned' });
  await attestImage({
    store,
    repository: repo,
    digest: scanned,
    key,
    predicateType: 'https://cosign.sigstore.dev/attestation/vuln/v1',
    predicate: trivy,
  });
  const foreign = await pushImage(store, repo, { tag: 'foreign' });
  await signImage({ store, repository: repo, digest, key });
  await attestImage({
    store,
    repository: repo,
    digest,
    key,
    predicateType: 'https://cosign.sigstore.dev/attestation/vuln/v1',
    predicate: vuln,
  });
  await attestImage({
    store,
    repository: repo,
    digest,
    key,
    predicateType: 'https://example.com/custom/v1',
    predicate: { approved: true },
    statementType: 'https://in-toto.io/Statement/v1',
  });
  // never to be evaluated: wrong key, another subject, wrong payload type
  await attestImage({
    store,
    repository: repo,
    digest,
    key: other,
    predicateType: 'https://slsa.dev/provenance/v0.2',
    predicate: slsa02,
  });
  await attestImage({
    store,
    repository: repo,
    digest: foreign,
    key,
    predicateType: 'https://slsa.dev/provenance/v0.2',
    predicate: slsa02,
    subjectDigest: digest,
  });
  await attestImage({
    store,
    repository: repo,
    digest: foreign,
    key,
    predicateType: 'https://cosign.sigstore.dev/attestation/vuln/v1',
    predicate: vuln,
    payloadType: 'text/plain',
  });

  const base = ['verify-attestation', `${reg.host}/att/app:v1`, '--key', pub, '--insecure-ignore-tlog'];
  const ok = await runSigward([
    ...base,
    '--type',
    'vuln',
    '--condition',
    'predicate.scanner.uri.startsWith("fakescanner.example.com")',
    '-o',
    'json',
  ]);
  t.equal(ok.code, 0, 'vuln attestation verified and the condition holds');
  const doc = JSON.parse(ok.stdout);
  t.equal(doc.digest, digest);
  t.equal(doc.statements.length, 1);
  t.equal(
    doc.statements[0].statement.predicate.scanner.uri,
    'fakescanner.example.com/cosign-testing',
    'JSON output carries the decoded predicate',
  );

  const no = await runSigward([
    ...base,
    '--type',
    'vuln',
    '--condition',
    'predicate.metadata.scanFinishedOn > timestamp("2023-01-01T00:00:00Z")',
  ]);
  t.equal(no.code, 1, 'a false condition denies');
  t.match(no.stdout, /^fail /m);

  const v1 = await runSigward([
    ...base,
    '--type',
    'https://example.com/custom/v1',
    '--condition',
    'predicate.approved == true && statement._type == "https://in-toto.io/Statement/v1"',
  ]);
  t.equal(v1.code, 0, 'in-toto Statement v1 with a full predicate type URI');

  const wrongKey = await runSigward([...base, '--type', 'slsaprovenance', '-o', 'json']);
  t.equal(wrongKey.code, 1, 'an attestation signed by another key is never evaluated');
  t.match(JSON.parse(wrongKey.stdout).error.message, /invalid signature/);

  const subj = await runSigward([
    'verify-attestation',
    `${reg.host}/att/app:foreign`,
    '--key',
    pub,
    '--insecure-ignore-tlog',
    '--type',
    'slsaprovenance',
    '-o',
    'json',
  ]);
  t.equal(subj.code, 1, 'a statement about another digest is rejected');
  t.match(JSON.parse(subj.stdout).error.message, /subject mismatch/);

  const ptype = await runSigward([
    'verify-attestation',
    `${reg.host}/att/app:foreign`,
    '--key',
    pub,
    '--insecure-ignore-tlog',
    '--type',
    'vuln',
    '-o',
    'json',
  ]);
  t.equal(ptype.code, 1, 'a DSSE payload type other than in-toto is rejected');
  t.match(JSON.parse(ptype.stdout).error.message, /payload type/);

  const sbom = await runSigward([...base, '--type', 'cyclonedx']);
  t.equal(sbom.code, 1, 'no attestation of the requested type');
  t.match(sbom.stdout, /no attestations found|other predicate types/);

  const tlog = await runSigward(['verify-attestation', `${reg.host}/att/app:v1`, '--key', pub, '--type', 'vuln']);
  t.equal(tlog.code, 1, 'without --insecure-ignore-tlog an attestation not in Rekor is denied');
  t.match(tlog.stdout, /transparency log/);

  const scan = [
    'verify-attestation',
    `${reg.host}/att/app:scanned`,
    '--key',
    pub,
    '--insecure-ignore-tlog',
    '--type',
    'vuln',
    '--rule',
    'vuln-scan',
  ];
  const rule = await runSigward([
    ...scan,
    '--param',
    'scanners=pkg:github/aquasecurity/trivy',
    '--param',
    'maxSeverity=MEDIUM',
  ]);
  t.equal(rule.code, 0, 'built-in rule vuln-scan passes a Trivy scan with nothing above MEDIUM');
  const strict = await runSigward([...scan, '--param', 'maxSeverity=LOW']);
  t.equal(strict.code, 1, 'built-in rule vuln-scan denies a MEDIUM finding with maxSeverity=LOW');
  t.match(strict.stdout, /CVE-2023-6129 MEDIUM/);
  const ruleNo = await runSigward([...scan, '--param', 'scanners=pkg:github/anchore/grype']);
  t.equal(ruleNo.code, 1, 'built-in rule vuln-scan denies another scanner');
  const old = await runSigward([...scan, '--param', 'maxAge=168h']);
  t.equal(old.code, 1, 'built-in rule vuln-scan denies a scan older than maxAge');
  const empty = await runSigward([...base, '--type', 'vuln', '--rule', 'vuln-scan']);
  t.equal(empty.code, 1, 'built-in rule vuln-scan denies a scan whose result it cannot read');
  const unknown = await runSigward([...base, '--type', 'vuln', '--rule', 'vuln-scan', '--param', 'nope=1']);
  t.equal(unknown.code, 2, 'an unknown rule parameter is a usage error');
  const mismatch = await runSigward([...base, '--type', 'cyclonedx', '--rule', 'vuln-scan']);
  t.equal(mismatch.code, 2, 'a rule for another predicate type is a usage error');

  const bad = await runSigward([...base, '--type', 'vuln', '--condition', 'predicate.scanner.uri.startsWith(']);
  t.equal(bad.code, 2, 'a CEL syntax error is a usage error, reported before anything is verified');
});

t.test('a cosign v3 bundle file (--bundle), offline with its trusted root', async (t) => {
  const file = join(SHARED, 'sigstore-bundles/cosign-oci-attestation.sigstore.json');
  const b = JSON.parse(readFileSync(file, 'utf8'));
  const subject = 'sha256:' +
    JSON.parse(Buffer.from(b.dsseEnvelope.payload, 'base64').toString()).subject[0].digest.sha256;
  const args = [
    'verify-attestation',
    '--bundle',
    file,
    '--subject-digest',
    subject,
    '--trusted-root',
    join(SHARED, 'trust-roots/cosign-trusted_root_pgi.json'),
    '--certificate-oidc-issuer-regexp',
    '.*',
  ];
  const ok = await runSigward([
    ...args,
    '--certificate-identity',
    'cody@soyland.com',
    '--condition',
    'signer.identity == "cody@soyland.com"',
  ]);
  t.equal(ok.code, 0, 'verified with the signer identity');
  const who = await runSigward([...args, '--certificate-identity', 'cody@soyland.co']);
  t.equal(who.code, 1, 'another identity is denied');
  const subj = await runSigward([
    ...args,
    '--certificate-identity',
    'cody@soyland.com',
    '--subject-digest',
    'sha256:' + 'e'.repeat(64),
  ]);
  t.equal(subj.code, 1, 'another subject digest is denied');
});
