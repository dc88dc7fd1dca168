// `sigward verify-attestation` on attestations made by the REAL cosign 3.1.1
// (`cosign attest`, both storage formats: legacy `.att` and the v3 bundle) in
// the real registry, and on a cosign v3 bundle file. Two legacy artifacts are
// sigward's helper's, because no cosign command makes them: an envelope with a
// payload type other than in-toto (malformed), and an in-toto Statement v1
// (cosign attest writes v0.1).

import t from 'tap';
import { execFileSync } from 'node:child_process';
import { createPrivateKey } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RegistryClient } from '../../lib/oci/registry.ts';
import { pushImage, withRegistry } from '../helpers/registry.ts';
import { runSigward } from '../helpers/cli.ts';
import { attestImage } from '../helpers/cosign.ts';
import { FORMAT_FLAGS, type SignatureFormat } from '../helpers/cosign-images.ts';
import { cosignRunner, offlineSigningConfigArgs, withRealCosign } from '../helpers/peers.ts';
import { ROOT, SHARED } from '../helpers/fixtures.ts';

const tmp = mkdtempSync(join(tmpdir(), 'sigward-att-'));
const VULN = 'https://cosign.sigstore.dev/attestation/vuln/v1';
const FORMATS: SignatureFormat[] = ['legacy', 'bundle'];

withRealCosign(() => {
  t.test('attestations made by the real cosign in the real registry', async (t) => {
    const reg = await withRegistry(t);
    const store = new RegistryClient();
    t.teardown(() => store.close());
    const env = { COSIGN_PASSWORD: 'pw', HOME: tmp, PATH: process.env.PATH ?? '/usr/bin:/bin' };
    const cosign = cosignRunner(tmp, env);
    const must = async (what: string, args: string[]) => {
      const r = await cosign(args);
      if (r.code !== 0) throw new Error(`cosign ${what} failed (${r.code}): ${r.stderr.slice(-1500)}`);
      return r;
    };
    // the attesting key is made by openssl and imported into cosign, so that the one malformed
    // envelope below (which cosign cannot make) is signed by the same key
    execFileSync('openssl', ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', 'key.pem'], {
      cwd: tmp,
      stdio: 'pipe',
    });
    await must('import-key-pair', ['import-key-pair', '--key', 'key.pem', '--output-key-prefix', 'cosign']);
    mkdirSync(join(tmp, 'other'), { recursive: true });
    await must('generate-key-pair (other key)', ['generate-key-pair', '--output-key-prefix', 'other/cosign']);
    await must('signing-config create', offlineSigningConfigArgs('signing-config.json'));
    const pub = join(tmp, 'cosign.pub');
    const file = (name: string, from: string) => {
      writeFileSync(join(tmp, name), readFileSync(from));
      return name;
    };
    const vuln = file('vuln.json', join(SHARED, 'predicates/vuln-predicate.json'));
    const trivy = file('trivy.json', join(ROOT, 'testdata/rules/vuln-trivy-clean.json'));
    const slsa02 = file('slsa02.json', join(SHARED, 'intoto-examples/resource_descriptor-1.json'));
    writeFileSync(join(tmp, 'approved.json'), JSON.stringify({ approved: true }));

    const attest = (
      format: SignatureFormat,
      at: string,
      type: string,
      predicate: string,
      o: { key?: string; extra?: string[] } = {},
    ) =>
      must(`attest ${format} ${type} ${at}`, [
        'attest',
        '--key',
        o.key ?? 'cosign.key',
        ...FORMAT_FLAGS[format](tmp),
        '--allow-insecure-registry',
        '--yes',
        '--type',
        type,
        '--predicate',
        predicate,
        ...(o.extra ?? []),
        at,
      ]);
    const digests: Record<string, Record<string, string>> = {};
    for (const format of FORMATS) {
      const repository = `att/${format}`;
      const repo = reg.ref(repository);
      const at = (digest: string) => `${reg.host}/${repository}@${digest}`;
      const digest = await pushImage(store, repo, { tag: 'v1' });
      const scanned = await pushImage(store, repo, { tag: 'scanned' });
      const foreign = await pushImage(store, repo, { tag: 'foreign' });
      digests[format] = { digest, scanned, foreign };
      await attest(format, at(scanned), 'vuln', trivy);
      await must(`sign ${format}`, [
        'sign',
        '--key',
        'cosign.key',
        ...FORMAT_FLAGS[format](tmp),
        '--allow-insecure-registry',
        '--yes',
        at(digest),
      ]);
      await attest(format, at(digest), 'vuln', vuln);
      await attest(format, at(digest), 'https://example.com/custom/v1', 'approved.json');
      // never to be evaluated: another key, another subject
      await attest(format, at(digest), 'https://slsa.dev/provenance/v0.2', slsa02, { key: 'other/cosign.key' });
      // a statement about another image (`donor`), made by cosign, its .att tag moved onto `foreign`
      // (cosign 3.1.1 attest --no-upload writes nothing in the legacy format; in the bundle format it
      // writes --bundle, which cosign attach signature attaches)
      if (format === 'legacy') {
        const donor = await pushImage(store, repo, { tag: 'donor' });
        await attest(format, at(donor), 'https://slsa.dev/provenance/v0.2', slsa02);
        const att = await store.getManifest(repo, `sha256-${donor.slice(7)}.att`);
        await store.putManifest(repo, att.bytes, att.descriptor.mediaType, `sha256-${foreign.slice(7)}.att`);
        // an in-toto Statement v1: cosign attest writes v0.1 and its --statement fails ("predicate
        // cannot be empty"), so sigward's helper makes it, signed with the imported key
        await attestImage({
          store,
          repository: repo,
          digest,
          key: createPrivateKey(readFileSync(join(tmp, 'key.pem'))),
          predicateType: 'https://example.com/statement-v1/v1',
          predicate: { approved: true },
          statementType: 'https://in-toto.io/Statement/v1',
        });
        // a DSSE payload type other than in-toto: no cosign command writes one (a malformed
        // attestation), so sigward's helper makes it, signed with the imported key
        await attestImage({
          store,
          repository: repo,
          digest: foreign,
          key: createPrivateKey(readFileSync(join(tmp, 'key.pem'))),
          predicateType: VULN,
          predicate: JSON.parse(readFileSync(join(tmp, vuln), 'utf8')),
          payloadType: 'text/plain',
        });
      } else {
        await attest(format, at(digest), 'https://slsa.dev/provenance/v0.2', slsa02, {
          extra: ['--no-upload', '--bundle', 'foreign.bundle.json'],
        });
        await must('attach signature --bundle', [
          'attach',
          'signature',
          '--allow-insecure-registry',
          '--bundle',
          'foreign.bundle.json',
          at(foreign),
        ]);
      }
    }

    for (const format of FORMATS) {
      await t.test(`${format} format`, async (t) => {
        const { digest } = digests[format]!;
        const image = (tag: string) => `${reg.host}/att/${format}:${tag}`;
        const base = ['verify-attestation', image('v1'), '--key', pub, '--insecure-ignore-tlog'];
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

        const custom = await runSigward([
          ...base,
          '--type',
          'https://example.com/custom/v1',
          '--condition',
          'predicate.approved == true && statement._type == "https://in-toto.io/Statement/v0.1"',
        ]);
        t.equal(custom.code, 0, 'a full predicate type URI (cosign writes in-toto Statement v0.1)');
        if (format === 'legacy') {
          const v1 = await runSigward([
            ...base,
            '--type',
            'https://example.com/statement-v1/v1',
            '--condition',
            'predicate.approved == true && statement._type == "https://in-toto.io/Statement/v1"',
          ]);
          t.equal(v1.code, 0, 'in-toto Statement v1 with a full predicate type URI');
        }

        const wrongKey = await runSigward([...base, '--type', 'slsaprovenance', '-o', 'json']);
        t.equal(wrongKey.code, 1, 'an attestation signed by another key is never evaluated');
        t.match(JSON.parse(wrongKey.stdout).error.message, /invalid signature/);

        const subj = await runSigward([
          'verify-attestation',
          image('foreign'),
          '--key',
          pub,
          '--insecure-ignore-tlog',
          '--type',
          'slsaprovenance',
          '-o',
          'json',
        ]);
        t.equal(subj.code, 1, 'a statement about another digest is rejected');
        t.match(
          JSON.parse(subj.stdout).error.message,
          format === 'legacy' ? /subject mismatch/ : /digest mismatch: .* is not a subject/,
        );

        // the malformed envelope exists in the legacy format only (sigward's helper writes .att layers)
        if (format === 'legacy') {
          const ptype = await runSigward([
            'verify-attestation',
            image('foreign'),
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
        }

        const sbom = await runSigward([...base, '--type', 'cyclonedx']);
        t.equal(sbom.code, 1, 'no attestation of the requested type');
        t.match(sbom.stdout, /no attestations found|other predicate types/);

        const tlog = await runSigward(['verify-attestation', image('v1'), '--key', pub, '--type', 'vuln']);
        t.equal(tlog.code, 1, 'without --insecure-ignore-tlog an attestation not in Rekor is denied');
        t.match(tlog.stdout, /transparency log/);

        const scan = [
          'verify-attestation',
          image('scanned'),
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
    }
  });
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
