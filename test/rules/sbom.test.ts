// sbom-cyclonedx and sbom-spdx on the SBOMs of cosign's test data
// (shared/testvectors/predicates/bom-go-mod.*: real, empty go.mod SBOMs) and
// on syft-shaped SBOMs with components (testdata/conditions, testdata/rules).

import t from 'tap';
import { clone, conditions, evaluate, local, readJson, shared, statementOf } from './rule-helpers.ts';

const cdx = readJson(conditions('cyclonedx-sbom.json'));
const cdxEmpty = readJson(shared('predicates/bom-go-mod.cyclonedx.json'));
const cdxNested = readJson(local('cyclonedx-nested.json'));
const spdx = readJson(conditions('spdx-sbom.json'));
const spdxEmpty = readJson(shared('predicates/bom-go-mod.spdx.json'));

const runCdx = (params: Record<string, string>, bom: unknown = cdx) =>
  evaluate('sbom-cyclonedx', params, statementOf('cyclonedx', bom));
const runSpdx = (params: Record<string, string>, doc: unknown = spdx) =>
  evaluate('sbom-spdx', params, statementOf('spdxjson', doc));

t.test('cyclonedx: an SBOM with components passes', async (t) => {
  t.same(runCdx({}), { rule: 'sbom-cyclonedx', passed: true, failures: [] });
  t.ok(
    runCdx({
      minComponents: '5',
      deniedComponents: 'log4j-core,pkg:maven/org.apache.commons/commons-text@1.9*',
      deniedLicenses: 'GPL-3.0-only,AGPL-3.0-only',
    }).passed,
  );
  t.ok(runCdx({}, cdxNested).passed);
});

t.test('cyclonedx: the empty go.mod SBOM of cosign test data', async (t) => {
  t.same(runCdx({}, cdxEmpty).failures, ['the SBOM lists fewer than 1 component(s): 0 listed']);
  t.same(runCdx({ minComponents: '0' }, cdxEmpty).failures, [], 'an empty SBOM is accepted with minComponents=0');
  t.notOk(runCdx({ minComponents: '6' }).passed, '5 components < 6');
});

t.test('cyclonedx: denied components', async (t) => {
  t.same(runCdx({ deniedComponents: 'commons-text' }).failures, [
    'the SBOM contains denied components (commons-text): pkg:maven/org.apache.commons/commons-text@1.10.0',
  ]);
  t.same(runCdx({ deniedComponents: 'pkg:maven/org.apache.commons/commons-text' }).failures, [
    'the SBOM contains denied components (pkg:maven/org.apache.commons/commons-text): pkg:maven/org.apache.commons/commons-text@1.10.0',
  ], 'a purl without version denies every version');
  t.notOk(runCdx({ deniedComponents: 'pkg:maven/org.apache.commons/*' }).passed, 'purl prefix');
  t.same(
    runCdx({ deniedComponents: 'pkg:maven/org.apache.commons/commons-tex' }).failures,
    [],
    'no partial purl match without *',
  );
  t.same(runCdx({ deniedComponents: 'commons-*' }).failures, [
    'the SBOM contains denied components (commons-*): pkg:maven/org.apache.commons/commons-text@1.10.0, pkg:maven/commons-logging/commons-logging@1.2',
  ]);
  // nested components (one level) are checked too
  t.same(runCdx({ deniedComponents: 'pkg:maven/org.apache.logging.log4j/log4j-core@2.14*' }, cdxNested).failures, [
    'the SBOM contains denied components (pkg:maven/org.apache.logging.log4j/log4j-core@2.14*): pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1',
  ]);
  t.ok(runCdx({ deniedComponents: 'pkg:maven/org.apache.logging.log4j/log4j-core@2.17*' }, cdxNested).passed);
});

t.test('cyclonedx: denied licenses (id, name, expression)', async (t) => {
  t.same(runCdx({ deniedLicenses: 'BSD-3-Clause' }).failures, [
    'the SBOM contains components under denied licenses (BSD-3-Clause): pkg:golang/golang.org/x/net@v0.17.0',
  ]);
  t.same(runCdx({ deniedLicenses: 'GPL-2.0-only' }, cdxNested).failures, [
    'the SBOM contains components under denied licenses (GPL-2.0-only): pkg:maven/com.mysql/mysql-connector-j@8.3.0',
  ], 'an id inside a WITH expression of a nested component');
  t.same(runCdx({ deniedLicenses: 'MIT' }, cdxNested).failures, [
    'the SBOM contains components under denied licenses (MIT): pkg:maven/com.example/app-bundle@2.1.0, pkg:apk/alpine/musl@1.2.4-r2?arch=x86_64',
  ], 'expression "(Apache-2.0 OR MIT)" and license.name');
});

t.test('cyclonedx: not a CycloneDX document', async (t) => {
  t.same(runCdx({ minComponents: '0' }, spdx).failures, [
    'the predicate is not a CycloneDX SBOM (bomFormat is not CycloneDX)',
  ]);
  const broken = clone(cdx);
  broken.components = 'none';
  t.notOk(runCdx({}, broken).passed);
});

t.test('spdx: an SBOM with packages passes', async (t) => {
  t.same(runSpdx({}), { rule: 'sbom-spdx', passed: true, failures: [] });
  t.ok(runSpdx({ minComponents: '4', deniedComponents: 'log4j-core', deniedLicenses: 'AGPL-3.0-only' }).passed);
});

t.test('spdx: the empty go.mod SBOM of cosign test data', async (t) => {
  t.same(runSpdx({}, spdxEmpty).failures, ['the SBOM lists fewer than 1 package(s): 0 listed']);
  t.same(runSpdx({ minComponents: '0' }, spdxEmpty).failures, []);
});

t.test('spdx: denied packages and licenses', async (t) => {
  t.same(runSpdx({ deniedComponents: 'busybox' }).failures, ['the SBOM contains denied packages (busybox): busybox']);
  t.same(runSpdx({ deniedComponents: 'pkg:apk/alpine/alpine-baselayout' }).failures, [
    'the SBOM contains denied packages (pkg:apk/alpine/alpine-baselayout): alpine-baselayout',
  ]);
  t.same(runSpdx({ deniedLicenses: 'GPL-2.0-only' }).failures, [
    'the SBOM contains packages under denied licenses (GPL-2.0-only): alpine-baselayout (GPL-2.0-only, GPL-2.0-only), busybox (GPL-2.0-only, GPL-2.0-only)',
  ]);
  const expr = clone(spdx);
  expr.packages[1].licenseDeclared = '(MIT OR LGPL-2.1-or-later)';
  t.match(runSpdx({ deniedLicenses: 'LGPL-2.1-or-later' }, expr).failures, [
    /under denied licenses \(LGPL-2.1-or-later\): musl \(LGPL-2.1-or-later\)/,
  ]);
});

t.test('spdx: not an SPDX document', async (t) => {
  t.same(runSpdx({ minComponents: '0' }, cdx).failures, [
    'the predicate is not an SPDX JSON document (no spdxVersion)',
  ]);
  // cosign --type spdx (tag-value) stores the document as a string predicate
  t.notOk(runSpdx({ minComponents: '0' }, 'SPDXVersion: SPDX-2.2\nDataLicense: CC0-1.0\n').passed);
});

t.test('large SBOMs (beyond the depth where re-shaped CEL lists overflow)', async (t) => {
  const big = clone(cdx);
  big.components = Array.from(
    { length: 6000 },
    (_, i) => ({
      type: 'library',
      name: `lib${i}`,
      version: '1.0.0',
      purl: `pkg:npm/lib${i}@1.0.0`,
      licenses: [{ license: { id: 'MIT' } }],
    }),
  );
  big.components[4321].name = 'event-stream';
  big.components[4321].purl = 'pkg:npm/event-stream@3.3.6';
  t.same(
    runCdx({ deniedComponents: 'pkg:npm/event-stream', deniedLicenses: 'AGPL-3.0-only', minComponents: '6000' }, big)
      .failures,
    [
      'the SBOM contains denied components (pkg:npm/event-stream): pkg:npm/event-stream@3.3.6',
    ],
  );
  const bigSpdx = clone(spdx);
  bigSpdx.packages = Array.from(
    { length: 6000 },
    (_, i) => ({
      SPDXID: `SPDXRef-Package-${i}`,
      name: `pkg${i}`,
      licenseConcluded: 'MIT',
      downloadLocation: 'NOASSERTION',
    }),
  );
  t.same(runSpdx({ deniedComponents: 'busybox', deniedLicenses: 'GPL-2.0-only' }, bigSpdx).failures, []);
});
