// code-review on the custom predicate of Kyverno's verify-images guide
// (testdata/conditions/code-review.json, predicate type https://example.com/CodeReview/v1).

import t from 'tap';
import { clone, conditions, evaluate, readJson, statementOf } from './rule-helpers.ts';

const TYPE = 'https://example.com/CodeReview/v1';
const seed = readJson(conditions('code-review.json'));
const run = (params: Record<string, string>, predicate: unknown = seed) =>
  evaluate('code-review', params, statementOf(TYPE, predicate));

t.test('the guide example passes', async (t) => {
  t.same(run({}), { rule: 'code-review', passed: true, failures: [] }, 'defaults: one approval');
  // the checks of the guide's policy: repo.uri, repo.branch, reviewers from a list
  t.same(
    run({
      repository: 'https://git-repo.com/org/app',
      branch: 'main',
      allowedReviewers: 'ana@example.com,bob@example.com',
    }).failures,
    [],
  );
  const full = clone(seed);
  full.repo.branch = 'refs/heads/main';
  t.ok(run({ branch: 'main' }, full).passed, 'branch main matches refs/heads/main');
});

t.test('too few approvals', async (t) => {
  t.same(run({ minApprovals: '2' }).failures, [
    'code review has fewer than 2 qualifying approval(s): 1 (bob@example.com)',
  ]);
  t.same(run({ allowedReviewers: 'ana@example.com,carol@example.com' }).failures, [
    'code review has fewer than 1 qualifying approval(s): none',
  ]);
  const two = clone(seed);
  two.reviewers = ['bob@example.com', 'ana@example.com', 'mallory@example.com'];
  t.ok(run({ minApprovals: '2' }, two).passed);
  t.ok(run({ minApprovals: '2', allowedReviewers: 'ana@example.com,bob@example.com' }, two).passed);
  t.notOk(
    run({ minApprovals: '3', allowedReviewers: 'ana@example.com,bob@example.com' }, two).passed,
    'mallory does not count',
  );
  t.ok(run({ minApprovals: '0' }, { ...seed, reviewers: [] }).passed, 'minApprovals 0');
});

t.test('the author does not approve their own change', async (t) => {
  const self = clone(seed);
  self.reviewers = ['alice@example.com'];
  t.same(run({}, self).failures, ['code review has fewer than 1 qualifying approval(s): none']);
  t.ok(run({ allowSelfReview: 'true' }, self).passed);
});

t.test('a reviewer listed twice counts once: the predicate is rejected', async (t) => {
  const dup = clone(seed);
  dup.reviewers = ['bob@example.com', 'bob@example.com'];
  const r = run({ minApprovals: '2' }, dup);
  t.equal(r.passed, false);
  t.ok(r.failures.includes('the code-review predicate names the same reviewer more than once'));
  t.ok(
    run({ minApprovals: '2', allowedReviewers: 'bob@example.com,ana@example.com' }, dup).failures.includes(
      'code review has fewer than 2 qualifying approval(s): 1 (bob@example.com)',
    ),
    'with an allowed list, bob counts once',
  );
});

t.test('wrong branch or repository', async (t) => {
  t.same(run({ branch: 'release' }).failures, ['the code review is not for branch release: reviewed branch main']);
  t.same(run({ repository: 'https://git-repo.com/org/other' }).failures, [
    'the code review is not for repository https://git-repo.com/org/other: reviewed repository https://git-repo.com/org/app',
  ]);
  const noRepo = clone(seed);
  delete noRepo.repo;
  t.same(run({ branch: 'main' }, noRepo).failures, [
    'the code review is not for branch main: the predicate names no branch',
  ]);
  t.ok(run({}, noRepo).passed, 'branch and repository are optional');
});

t.test('not a code-review predicate', async (t) => {
  const r = run({}, { author: 'alice@example.com' });
  t.equal(r.passed, false);
  t.equal(r.failures[0], 'the code-review predicate has no reviewers list');
  t.notOk(run({}, { ...seed, reviewers: 'bob@example.com' }).passed, 'reviewers must be a list');
});
