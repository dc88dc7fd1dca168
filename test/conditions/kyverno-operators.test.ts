import t from 'tap';
import type { Test } from 'tap';
import { evaluateOperator, KYVERNO_OPERATORS } from '../../lib/conditions/kyverno-operators.ts';
import type { KyvernoOperator } from '../../lib/conditions/kyverno-operators.ts';

type Case = [unknown, KyvernoOperator, unknown, boolean];

function check(t: Test, cases: Case[]): void {
  for (const [key, op, value, want] of cases) {
    t.equal(evaluateOperator(op, key, value), want, `${JSON.stringify(key)} ${op} ${JSON.stringify(value)}`);
  }
}

const IPS = ['1.1.1.1', '2.2.2.2', '3.3.3.3'];

t.test('Equals / NotEquals (and deprecated Equal / NotEqual)', async (t) => {
  check(t, [
    ['string', 'Equals', 'string', true],
    ['string', 'Equals', 'not string', false],
    [1, 'Equals', 1, true],
    [1, 'Equals', 1.0, true],
    [1, 'Equals', 2, false],
    [1.5, 'Equals', '1.5', true],
    [1, 'Equals', '2', false],
    ['string', 'Equals', 1, false],
    [true, 'Equals', true, true],
    [true, 'Equals', 'true', false],
    [false, 'Equals', false, true],
    // quantities
    ['1024', 'Equals', '1Ki', true],
    ['1Ki', 'Equals', '1024', true],
    ['1Gi', 'Equals', '1024Mi', true],
    ['10Gi', 'Equals', '1024Mi', false],
    ['8', 'Equals', '8.0', true],
    // durations
    ['1h', 'Equals', '60m', true],
    ['1h', 'Equals', '30m', false],
    ['1h', 'Equals', 3600, true],
    ['2h', 'Equals', 3600, false],
    // wildcards in the value
    ['1.5.2', 'Equals', '1.5.*', true],
    ['ghcr.io/org/app:v1', 'Equals', 'ghcr.io/org/*', true],
    ['ghcr.io/org/app:v1', 'Equals', 'ghcr.io/other/*', false],
    ['v1.2.3', 'Equals', 'v?.?.?', true],
    ['v1.2.3', 'Equals', 'v?.?', false],
    ['*', 'Equals', 'abc', false],
    // maps and lists
    [{ foo: 'bar' }, 'Equals', { foo: 'bar' }, true],
    [{ foo: 'bar' }, 'Equals', { bar: 'foo' }, false],
    [['foo', 'bar'], 'Equals', ['foo', 'bar'], true],
    [['foo', 'bar'], 'Equals', ['bar', 'foo'], false],
    [[{ foo: 'bar' }], 'Equals', [{ foo: 'bar' }], true],
    // unsupported key types are never equal (nor unequal)
    [null, 'Equals', null, false],
    [null, 'NotEquals', 'x', false],
    // deprecated alias
    ['a', 'Equal', 'a', true],
    ['a', 'NotEqual', 'a', false],
  ]);
  check(t, [
    ['string', 'NotEquals', 'string', false],
    ['string', 'NotEquals', 'not string', true],
    [1, 'NotEquals', 2, true],
    [1, 'NotEquals', '2', true],
    [1.0, 'NotEquals', '2.0', true],
    ['string', 'NotEquals', 1, true],
    [true, 'NotEquals', 'false', true],
    [true, 'NotEquals', false, true],
    ['1023', 'NotEquals', '1Ki', true],
    ['1Gi', 'NotEquals', '1024Mi', false],
    ['1h', 'NotEquals', '60m', false],
    ['2h', 'NotEquals', 3600, true],
    ['1.5.2', 'NotEquals', '1.5.*', false],
    [{ foo: 'bar' }, 'NotEquals', { bar: 'foo' }, true],
    [['foo', 'bar'], 'NotEquals', ['foo', 'bar'], false],
    ['1Gi', 'NotEquals', 'not-a-quantity', false],
  ]);
});

t.test('In / NotIn (deprecated)', async (t) => {
  check(t, [
    [1, 'In', [1, 2, 3], true],
    [1.5, 'In', [1, 1.5, 2, 3], true],
    ['1', 'In', ['1', '2', '3'], true],
    [['1.1.1.1', '2.2.2.2'], 'In', IPS, true],
    [5, 'In', [1, 2, 3], false],
    ['5', 'In', ['1', '2', '3'], false],
    ['1.1.1.1', 'In', ['1*'], true],
    [['1.1.1.1', '4.4.4.4'], 'In', IPS, false],
    ['bob@example.com', 'In', ['ana@example.com', 'bob@example.com'], true],
    [['bob@example.com'], 'In', ['ana@example.com', 'bob@example.com'], true],
    ['b', 'In', '["a","b"]', true],
    [1, 'NotIn', [1, 2, 3], false],
    [5, 'NotIn', [1, 2, 3], true],
    ['5', 'NotIn', ['1', '2', '3'], true],
    [['1.1.1.1', '2.2.2.2'], 'NotIn', IPS, false],
    [['1.1.1.1', '4.4.4.4'], 'NotIn', IPS, true],
  ]);
});

t.test('AnyIn / AllIn / AnyNotIn / AllNotIn with wildcards in both directions and ranges', async (t) => {
  check(t, [
    [['1.1.1.1', '5.5.5.5'], 'AnyIn', IPS, true],
    [['1.1.1.1', '5.5.5.5'], 'AnyIn', '1.1.1.1', true],
    [['4.4.4.4', '5.5.5.5'], 'AnyIn', IPS, false],
    [[1, 5], 'AnyIn', [1, 2, 3, 4], true],
    [[5], 'AnyIn', [1, 2, 3, 4], false],
    [['1*'], 'AnyIn', IPS, true],
    [['5*'], 'AnyIn', IPS, false],
    [['1.1.1.1', '2.2.2.2', '5.5.5.5'], 'AnyIn', ['2*'], true],
    [['1.1.1.1', '2.2.2.2', '5.5.5.5'], 'AnyIn', ['4*'], false],
    ['1.1.1.1', 'AnyIn', ['1*'], true],
    [['5'], 'AnyIn', '1-3', false],
    ['5', 'AnyIn', '1-10', true],
    [5, 'AnyIn', '1-10', true],
    [[1, 5], 'AnyIn', '7-10', false],
    [[1, 5], 'AnyIn', '0-10', true],
    [[1.002, 1.222], 'AnyIn', '1.001-10', true],
    [['a', 'b'], 'AnyIn', '["b","c"]', true],
  ]);
  check(t, [
    [['1.1.1.1', '2.2.2.2'], 'AllIn', IPS, true],
    [['1.1.1.1', '5.5.5.5'], 'AllIn', IPS, false],
    [['1.1.1.1', '5.5.5.5'], 'AllIn', ['1.1.1.1'], false],
    [[1, 2], 'AllIn', [1, 2, 3, 4], true],
    [[1, 5], 'AllIn', [1, 2, 3, 4], false],
    [['1*'], 'AllIn', IPS, true],
    [['2.1.1.1', '2.2.2.2', '2.5.5.5'], 'AllIn', ['2*'], true],
    [['1.1.1.1', '2.2.2.2', '5.5.5.5'], 'AllIn', ['4*'], false],
    [['1.1.1.1', '5.5.5.5'], 'AllIn', '5.5.5.5', false],
    [5, 'AllIn', '1-10', true],
    [[3, 2], 'AllIn', '1-10', true],
    [[3, 2], 'AllIn', '5-10', false],
    [[3, 2], 'AllIn', '5!-10', true],
  ]);
  check(t, [
    [1, 'AllNotIn', [1, 2, 3], false],
    [1.5, 'AllNotIn', [1, 1.5, 2, 3], false],
    [5, 'AllNotIn', [1, 2, 3], true],
    [5.5, 'AllNotIn', [1, 1.5, 2, 3], true],
    [['1.1.1.1', '4.4.4.4'], 'AllNotIn', IPS, false],
    [['5.5.5.5', '4.4.4.4'], 'AllNotIn', IPS, true],
    [['7*', '6*', '5*'], 'AllNotIn', IPS, true],
    [['1*', '2*'], 'AllNotIn', IPS, false],
    [['1.1.1.1', '3.3.3.3', '5.5.5.5'], 'AllNotIn', ['2*'], true],
    [['4.1.1.1', '4.2.2.2'], 'AllNotIn', ['4*'], false],
    [['1.1.1.1', '4.4.4.4'], 'AllNotIn', '2.2.2.2', true],
    [5.5, 'AllNotIn', '6-10', true],
    ['5', 'AllNotIn', '1-6', false],
    [[3, 2], 'AllNotIn', '5-10', true],
    [[2, 6], 'AllNotIn', '5-10', false],
    // the CVE-2022-42889 policy: a default 'none' or the versions found
    ['none', 'AllNotIn', ['1.5', '1.6', '1.7', '1.8', '1.9'], true],
    [['1.10.0'], 'AllNotIn', ['1.5', '1.6', '1.7', '1.8', '1.9'], true],
    [['1.8'], 'AllNotIn', ['1.5', '1.6', '1.7', '1.8', '1.9'], false],
  ]);
  check(t, [
    [1, 'AnyNotIn', [1, 2, 3], false],
    [5, 'AnyNotIn', [1, 2, 3], true],
    [['1.1.1.1', '2.2.2.2'], 'AnyNotIn', IPS, false],
    [['1.1.1.1', '4.4.4.4'], 'AnyNotIn', IPS, true],
    [['5.5.5.5', '4.4.4.4'], 'AnyNotIn', '4.4.4.4', true],
    [['1*', '3*', '5*'], 'AnyNotIn', IPS, true],
    [['1.1.1.1', '2.2.2.2', '5.5.5.5'], 'AnyNotIn', ['2*'], true],
    [['2.2*'], 'AnyNotIn', ['2.2.2.2'], false],
    ['5', 'AnyNotIn', '1-3', true],
    [[1, 5, 11], 'AnyNotIn', '0-10', true],
    [[1, 5, 7], 'AnyNotIn', '0-10', false],
  ]);
  // unusable operands are false, not errors
  check(t, [
    [{ a: 1 }, 'AnyIn', ['a'], false],
    ['a', 'AnyIn', { a: 1 }, false],
    ['a', 'AllIn', '[not json', false],
    [null, 'AllNotIn', ['a'], false],
  ]);
});

t.test('GreaterThan / GreaterThanOrEquals / LessThan / LessThanOrEquals', async (t) => {
  check(t, [
    [10, 'GreaterThan', 1, true],
    [1.5, 'GreaterThan', 1, true],
    [1, 'GreaterThan', 1.5, false],
    [1, 'GreaterThan', 1, false],
    [-5, 'GreaterThan', -10, true],
    ['1025', 'GreaterThan', '1Ki', true],
    ['1Ki', 'GreaterThan', '1023', true],
    ['10Gi', 'GreaterThan', '1Gi', true],
    ['1Gi', 'GreaterThan', '1Mi', true],
    ['1Gi', 'GreaterThan', '10Gi', false],
    ['500m', 'GreaterThan', '0.4', true],
    ['100Mi', 'GreaterThan', '1Gi', false],
    ['10h', 'GreaterThan', '1h', true],
    ['1h', 'GreaterThan', '30m', true],
    ['1h30m', 'GreaterThan', '90m', false],
    ['1h', 'GreaterThan', '1h', false],
    ['10', 'GreaterThan', 1, true],
    [100, 'GreaterThan', '10', true],
    ['100', 'GreaterThan', '10', true],
    ['1', 'GreaterThan', '10', false],
    ['1h', 'GreaterThan', 3600, false],
    ['2h', 'GreaterThan', 3600, true],
    [3600, 'GreaterThan', '1h', false],
    [3600, 'GreaterThan', '30m', true],
    ['1.5.5', 'GreaterThan', '1.5.0', true],
    ['1.5.0', 'GreaterThan', '1.5.5', false],
    ['1.10.0', 'GreaterThan', '1.9.0', true],
    ['2.0.0-rc.1', 'GreaterThan', '2.0.0', false],
    ['abc', 'GreaterThan', 'abb', false],
    [null, 'GreaterThan', 1, false],
  ]);
  check(t, [
    [1, 'GreaterThanOrEquals', 1, true],
    [1.0, 'GreaterThanOrEquals', 1, true],
    ['1024', 'GreaterThanOrEquals', '1Ki', true],
    ['1h', 'GreaterThanOrEquals', 3600, true],
    ['1.5.5', 'GreaterThanOrEquals', '1.5.5', true],
    ['1.2.0', 'GreaterThanOrEquals', '1.2.1', false],
    [1, 'LessThan', 10, true],
    [1, 'LessThan', 1, false],
    ['1023', 'LessThan', '1Ki', true],
    ['1Mi', 'LessThan', '1Gi', true],
    ['30m', 'LessThan', 3600, true],
    ['1', 'LessThan', 10, true],
    ['1.5.0', 'LessThan', '1.5.5', true],
    [1, 'LessThanOrEquals', 1, true],
    ['10h', 'LessThanOrEquals', '1h', false],
    ['1Gi', 'LessThanOrEquals', '1Gi', true],
    ['2h', 'LessThanOrEquals', 3600, false],
    ['1.5.0', 'LessThanOrEquals', '1.5.5', true],
    // time_since output against a week
    ['24h0m0s', 'LessThanOrEquals', '168h', true],
    ['16824h10m0s', 'LessThanOrEquals', '168h', false],
  ]);
});

t.test('Duration operators', async (t) => {
  check(t, [
    ['2h', 'DurationGreaterThan', '1h', true],
    ['1h', 'DurationGreaterThan', '1h', false],
    ['1h', 'DurationGreaterThanOrEquals', '60m', true],
    ['30m', 'DurationLessThan', '1h', true],
    ['1h', 'DurationLessThanOrEquals', 3600, true],
    [7200, 'DurationGreaterThan', '1h', true],
    [1.9, 'DurationLessThan', '1s', false],
    ['bogus', 'DurationLessThan', '1h', false],
    ['1h', 'DurationLessThan', [1], false],
  ]);
});

t.test('every operator is covered', async (t) => {
  t.equal(KYVERNO_OPERATORS.length, 18);
});
