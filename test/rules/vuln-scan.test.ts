// vuln-scan on cosign's vuln predicate: the predicate of cosign's test data
// (no result), and Trivy JSON, Grype JSON and Trivy SARIF results.

import t from 'tap';
import { clone, conditions, evaluate, local, readJson, shared, statementOf } from './rule-helpers.ts';

const cosignVuln = readJson(shared('predicates/vuln-predicate.json'));
const trivy = readJson(conditions('vuln-scan.json')); // HIGH findings, finished 2024-03-01T10:02:13Z
const trivyClean = readJson(local('vuln-trivy-clean.json')); // MEDIUM and LOW, finished 2024-03-08T10:02:13Z
const sarif = readJson(local('vuln-trivy-sarif.json')); // HIGH and MEDIUM
const grype = {
  invocation: { parameters: null, uri: '', event_id: '', 'builder.id': '' },
  scanner: {
    uri: 'pkg:github/anchore/grype@0.74.7',
    version: '0.74.7',
    db: { uri: '', version: '' },
    result: readJson(conditions('grype-scan.json')),
  },
  metadata: { scanStartedOn: '2024-03-08T09:00:00Z', scanFinishedOn: '2024-03-08T09:00:30Z' },
};

const NOW = new Date('2024-03-08T12:00:00Z');
const run = (params: Record<string, string>, predicate: unknown, now = NOW) =>
  evaluate('vuln-scan', params, statementOf('vuln', predicate), { now });

t.test("cosign's test predicate: scanner and age, no result", async (t) => {
  const now = new Date('2022-04-12T12:00:00Z');
  t.same(run({}, cosignVuln, now).failures, [
    'the scan result is missing or in a format sigward does not read (Trivy JSON, Grype JSON, SARIF): scanner.result is empty',
  ]);
  t.same(
    run({ requireResult: 'false', scanners: 'fakescanner.example.com/cosign-testing', maxAge: '24h' }, cosignVuln, now)
      .failures,
    [],
  );
  t.same(run({ requireResult: 'false', maxAge: '1h' }, cosignVuln, now).failures, [
    'the scan is older than 1h0m0s: scan finished at 2022-04-12T00:10:00Z',
  ]);
  t.same(run({ requireResult: 'false', scanners: 'pkg:github/aquasecurity/trivy' }, cosignVuln, now).failures, [
    'the scan was not made by an allowed scanner (pkg:github/aquasecurity/trivy): scanner.uri is fakescanner.example.com/cosign-testing',
  ]);
});

t.test('trivy JSON', async (t) => {
  t.same(run({}, trivy).failures, [], 'default maxSeverity HIGH: HIGH findings are allowed');
  t.same(run({ maxSeverity: 'MEDIUM' }, trivy).failures, [
    'the scan reports vulnerabilities above MEDIUM: CVE-2024-0727 HIGH libssl3, CVE-2023-44487 HIGH io.netty:netty-codec-http2',
  ]);
  t.same(run({ maxSeverity: 'MEDIUM', ignoreCVEs: 'CVE-2024-0727,CVE-2023-44487' }, trivy).failures, []);
  t.same(run({ maxSeverity: 'medium', ignoreCVEs: 'CVE-2024-0727' }, trivy).failures, [
    'the scan reports vulnerabilities above MEDIUM: CVE-2023-44487 HIGH io.netty:netty-codec-http2',
  ]);
  t.same(run({ maxSeverity: 'LOW' }, trivyClean).failures, [
    'the scan reports vulnerabilities above LOW: CVE-2023-6129 MEDIUM libcrypto3',
  ]);
  t.same(run({ maxSeverity: 'NONE' }, trivyClean).failures, [
    'the scan reports vulnerabilities above NONE: CVE-2023-6129 MEDIUM libcrypto3, CVE-2023-6237 LOW libcrypto3',
  ]);
  t.same(run({ maxSeverity: 'MEDIUM' }, trivyClean).failures, []);
  const critical = clone(trivyClean);
  critical.scanner.result.Results[0].Vulnerabilities.push({
    VulnerabilityID: 'CVE-2024-3094',
    PkgName: 'xz-libs',
    Severity: 'CRITICAL',
  });
  t.same(run({}, critical).failures, ['the scan reports vulnerabilities above HIGH: CVE-2024-3094 CRITICAL xz-libs']);
  const clean = clone(trivyClean);
  delete clean.scanner.result.Results[0].Vulnerabilities;
  t.same(run({ maxSeverity: 'NONE' }, clean).failures, [], 'a Trivy report without findings');
});

t.test('scanner and age', async (t) => {
  t.same(
    run({ scanners: 'pkg:github/aquasecurity/trivy', maxAge: '168h' }, trivyClean).failures,
    [],
    'scanner without version, a fresh scan',
  );
  t.ok(run({ scanners: 'pkg:github/aquasecurity/trivy@0.49*' }, trivyClean).passed);
  t.same(run({ scanners: 'pkg:github/aquasecurity/trivy@0.50*,pkg:github/anchore/grype' }, trivyClean).failures, [
    'the scan was not made by an allowed scanner (pkg:github/aquasecurity/trivy@0.50*, pkg:github/anchore/grype): scanner.uri is pkg:github/aquasecurity/trivy@0.49.1',
  ]);
  t.notOk(run({ scanners: 'pkg:github/aquasecurity/triv' }, trivyClean).passed, 'no partial match without *');
  t.same(run({ maxAge: '168h' }, trivy).failures, [
    'the scan is older than 168h0m0s: scan finished at 2024-03-01T10:02:13Z',
  ]);
  t.ok(run({ maxAge: '170h' }, trivy).passed);
  const noTime = clone(trivyClean);
  delete noTime.metadata.scanFinishedOn;
  t.same(run({ maxAge: '24h' }, noTime).failures, [
    'the scan is older than 24h0m0s: the predicate has no metadata.scanFinishedOn',
  ]);
});

t.test('grype JSON', async (t) => {
  t.same(run({}, grype).failures, ['the scan reports vulnerabilities above HIGH: CVE-2022-37434 Critical zlib']);
  t.same(run({ maxSeverity: 'CRITICAL' }, grype).failures, []);
  t.same(run({ maxSeverity: 'MEDIUM', scanners: 'pkg:github/anchore/grype' }, grype).failures, [
    'the scan reports vulnerabilities above MEDIUM: CVE-2022-37434 Critical zlib, CVE-2022-40674 High expat',
  ]);
  const related = clone(grype);
  related.scanner.result.matches[0].vulnerability.id = 'GHSA-cfmr-vrgj-vqwv';
  related.scanner.result.matches[0].relatedVulnerabilities = [{ id: 'CVE-2022-37434', namespace: 'nvd:cpe' }];
  t.same(run({ ignoreCVEs: 'CVE-2022-37434' }, related).failures, [], 'ignored through a related id');
});

t.test('trivy SARIF', async (t) => {
  t.same(run({}, sarif).failures, []);
  t.same(run({ maxSeverity: 'MEDIUM' }, sarif).failures, [
    'the scan reports vulnerabilities above MEDIUM: CVE-2024-0727',
  ]);
  t.same(run({ maxSeverity: 'LOW' }, sarif).failures, [
    'the scan reports vulnerabilities above LOW: CVE-2024-0727, CVE-2023-6129',
  ]);
  t.same(run({ maxSeverity: 'LOW', ignoreCVEs: 'CVE-2024-0727,CVE-2023-6129' }, sarif).failures, []);

  // without severity tags: the security-severity score (7.5 -> HIGH, 6.5 -> MEDIUM)
  const scores = clone(sarif);
  for (const r of scores.scanner.result.runs[0].tool.driver.rules) delete r.properties.tags;
  t.same(run({ maxSeverity: 'MEDIUM' }, scores).failures, [
    'the scan reports vulnerabilities above MEDIUM: CVE-2024-0727',
  ]);
  scores.scanner.result.runs[0].tool.driver.rules[0].properties['security-severity'] = '9.8';
  t.same(run({ maxSeverity: 'HIGH' }, scores).failures, ['the scan reports vulnerabilities above HIGH: CVE-2024-0727']);

  // without rules: the result level (error -> HIGH, warning -> MEDIUM)
  const levels = clone(sarif);
  delete levels.scanner.result.runs[0].tool.driver.rules;
  t.same(run({ maxSeverity: 'MEDIUM' }, levels).failures, [
    'the scan reports vulnerabilities above MEDIUM: CVE-2024-0727',
  ]);
  t.same(run({ maxSeverity: 'HIGH' }, levels).failures, []);
});

t.test('unknown result formats', async (t) => {
  const text = clone(trivyClean);
  text.scanner.result = 'CVE-2024-0727 HIGH';
  t.same(run({}, text).failures, [
    'the scan result is missing or in a format sigward does not read (Trivy JSON, Grype JSON, SARIF): scanner.result is not Trivy JSON, Grype JSON or SARIF',
  ]);
  t.ok(run({ requireResult: 'false' }, text).passed);
  t.same(run({}, { predicate: 'x' }).failures[0], 'the predicate is not a cosign vulnerability scan (no scanner)');
});

t.test('large scans', async (t) => {
  const big = clone(trivyClean);
  big.scanner.result.Results[0].Vulnerabilities = Array.from(
    { length: 6000 },
    (_, i) => ({ VulnerabilityID: `CVE-2024-${10000 + i}`, PkgName: `p${i}`, Severity: i % 2 ? 'LOW' : 'MEDIUM' }),
  );
  t.same(run({ maxSeverity: 'MEDIUM' }, big).failures, []);
  big.scanner.result.Results[0].Vulnerabilities[5000].Severity = 'CRITICAL';
  t.same(run({}, big).failures, ['the scan reports vulnerabilities above HIGH: CVE-2024-15000 CRITICAL p5000']);
});
