// openvex on OpenVEX documents in the vexctl shapes of v0.2.0 and v0.0.1.

import t from 'tap';
import { DIGEST, evaluate, local, readJson, statementOf } from './rule-helpers.ts';

const v02 = readJson(local('openvex-v0.2.json'));
const affected = readJson(local('openvex-affected.json'));
const v001 = readJson(local('openvex-v0.0.1.json'));
const OTHER = 'sha256:0f5e9d2a8b6c4e1f3a7d9b2c5e8f1a4d7b0c3e6f9a2d5b8c1e4f7a0d3b6c9e2f';

const run = (params: Record<string, string>, doc: unknown, digest = DIGEST) =>
  evaluate('openvex', params, statementOf('https://openvex.dev/ns/v0.2.0', doc), { image: { digest } });

t.test('v0.2: not affected / fixed statements', async (t) => {
  t.same(run({}, v02), { rule: 'openvex', passed: true, failures: [] }, 'no statement says affected');
  t.same(run({ cves: 'CVE-2023-44487,CVE-2024-0727' }, v02).failures, [], 'not_affected and fixed');
  t.same(run({ cves: 'GHSA-qppj-fm5r-hxr3' }, v02).failures, [], 'an alias');
  t.same(run({ cves: 'CVE-2023-44487', matchImage: 'true' }, v02).failures, [], 'the product names this image');
  t.same(
    evaluate('openvex', { cves: 'CVE-2023-44487' }, statementOf('openvex', v02)).failures,
    [],
    'cosign --type openvex',
  );
});

t.test('v0.2: CVEs not covered', async (t) => {
  t.same(run({ cves: 'CVE-2023-6129,CVE-2099-0001,CVE-2024-0727' }, v02).failures, [
    'vulnerabilities are not stated not_affected or fixed (CVE-2023-6129, CVE-2099-0001, CVE-2024-0727): not covered: CVE-2023-6129, CVE-2099-0001',
  ], 'under_investigation does not cover');
  t.same(run({ cves: 'CVE-2023-44487', matchImage: 'true' }, v02, OTHER).failures, [
    'vulnerabilities are not stated not_affected or fixed (CVE-2023-44487): not covered: CVE-2023-44487',
  ], 'statements about another image do not count');
});

t.test('affected statements', async (t) => {
  t.same(run({}, affected).failures, ['the VEX document says the image is affected by vulnerabilities: CVE-2024-0727']);
  t.same(run({ denyAffected: 'false' }, affected).failures, []);
  t.same(run({ denyAffected: 'false', cves: 'CVE-2024-0727' }, affected).failures, [
    'vulnerabilities are not stated not_affected or fixed (CVE-2024-0727): not covered: CVE-2024-0727',
  ]);
  t.same(
    run({ cves: 'CVE-2023-44487', denyAffected: 'false' }, affected).failures,
    [],
    'all statements count by default',
  );
  t.same(run({ cves: 'CVE-2023-44487', denyAffected: 'false', matchImage: 'true' }, affected).failures, [
    'vulnerabilities are not stated not_affected or fixed (CVE-2023-44487): not covered: CVE-2023-44487',
  ], 'the not_affected statement is about another image');
  t.same(run({ matchImage: 'true' }, affected, OTHER).failures, [], 'the affected statement is about this image only');
  // a conflict (fixed and affected) is not resolved by order: it fails
  const conflict = structuredClone(v02);
  conflict.statements.push({
    vulnerability: { name: 'CVE-2024-0727' },
    products: conflict.statements[1].products,
    status: 'affected',
  });
  t.equal(run({ cves: 'CVE-2024-0727', denyAffected: 'false' }, conflict).passed, false);
});

t.test('v0.0.1 documents', async (t) => {
  t.same(run({ cves: 'CVE-2023-44487', matchImage: 'true' }, v001).failures, []);
  t.notOk(run({ cves: 'CVE-2024-0727' }, v001).passed);
});

t.test('not an OpenVEX document', async (t) => {
  t.same(run({}, { '@context': 'https://openvex.dev/ns/v0.2.0' }).failures, [
    'the predicate is not an OpenVEX document (no statements)',
  ]);
});
