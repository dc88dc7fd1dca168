import t from 'tap';
import { formatGoDuration, parseGoDuration } from '../../lib/conditions/go-duration.ts';
import {
  compileGoRegex,
  getGoRegexError,
  goRegexMatch,
  goRegexReplaceAll,
  GoRegexSyntaxError,
} from '../../lib/go-regex.ts';
import { formatRFC3339, parseGoLayout, parseRFC3339 } from '../../lib/conditions/go-time.ts';
import { addQuantities, compareQuantities, formatQuantity, parseQuantity } from '../../lib/conditions/quantity.ts';
import { compareSemver, parseSemver, semverSatisfies } from '../../lib/conditions/semver.ts';
import { matchesPattern } from '../../lib/wildcard.ts';

t.test('wildcards', async (t) => {
  const cases: [string, string, boolean][] = [
    ['*', '', true],
    ['*', 'anything/at:all', true],
    ['ghcr.io/kyverno/test-verify-image*', 'ghcr.io/kyverno/test-verify-image:signed', true],
    ['ghcr.io/*', 'docker.io/nginx', false],
    ['v?.?.?', 'v1.2.3', true],
    ['v?.?.?', 'v1.22.3', false],
    ['a*b*c', 'aXXbYYc', true],
    ['a*b*c', 'aXXbYY', false],
    ['exact', 'exact', true],
    ['exact', 'exactly', false],
    ['*.example.com', 'x.example.com', true],
    ['?', 'é', true],
  ];
  for (const [p, s, want] of cases) t.equal(matchesPattern(p, s), want, `${p} ~ ${s}`);
});

t.test('Go durations', async (t) => {
  t.equal(parseGoDuration('1h30m'), 5_400_000_000_000n);
  t.equal(parseGoDuration('-1.5h'), -5_400_000_000_000n);
  t.equal(parseGoDuration('300ms'), 300_000_000n);
  t.equal(parseGoDuration('1µs'), 1_000n);
  t.equal(parseGoDuration('2h45m0.5s'), 9_900_500_000_000n);
  t.equal(parseGoDuration('0'), 0n);
  for (const bad of ['', '1', '1d', 'h', '1.h.', '-', '10 m']) {
    t.equal(parseGoDuration(bad), undefined, `"${bad}" is not a duration`);
  }
  t.equal(formatGoDuration(86_400_000_000_000n), '24h0m0s');
  t.equal(formatGoDuration(-86_400_000_000_000n), '-24h0m0s');
  t.equal(formatGoDuration(3_605_000_000_000n), '1h0m5s');
  t.equal(formatGoDuration(1_500_000_000n), '1.5s');
  t.equal(formatGoDuration(500_000_000n), '500ms');
  t.equal(formatGoDuration(1_500n), '1.5µs');
  t.equal(formatGoDuration(0n), '0s');
  t.equal(formatGoDuration(100_833_825_739_400n), '28h0m33.8257394s');
});

t.test('quantities', async (t) => {
  const q = (s: string) => {
    const v = parseQuantity(s);
    if (!v) throw new Error(`not a quantity: ${s}`);
    return v;
  };
  t.equal(compareQuantities(q('1Gi'), q('1024Mi')), 0);
  t.equal(compareQuantities(q('1024'), q('1Ki')), 0);
  t.equal(compareQuantities(q('500m'), q('0.5')), 0);
  t.equal(compareQuantities(q('1.5'), q('1500m')), 0);
  t.equal(compareQuantities(q('2e3'), q('2k')), 0);
  t.equal(compareQuantities(q('100Mi'), q('1Gi')), -1);
  t.equal(compareQuantities(q('1Ki'), q('1023')), 1);
  for (const bad of ['', 'Mi', '1.5.2', '1h', '10 Mi', '1Qi', 'abc']) {
    t.equal(parseQuantity(bad), undefined, `"${bad}" is not a quantity`);
  }
  t.equal(formatQuantity(addQuantities(addQuantities(q('2Ki'), q('5Gi')), q('8Mi'))), '5251074Ki');
  t.equal(formatQuantity(q('1024Mi')), '1Gi');
  t.equal(formatQuantity(q('1.5')), '1500m');
  t.equal(formatQuantity(q('2000')), '2k');
  t.equal(formatQuantity(q('100')), '100');
});

t.test('semantic versions', async (t) => {
  const v = (s: string) => {
    const x = parseSemver(s);
    if (!x) throw new Error(s);
    return x;
  };
  t.equal(compareSemver(v('1.5.5'), v('1.5.0')), 1);
  t.equal(compareSemver(v('1.0.0-alpha'), v('1.0.0')), -1);
  t.equal(compareSemver(v('1.0.0-alpha.1'), v('1.0.0-alpha.beta')), -1);
  t.equal(compareSemver(v('1.0.0-rc.2'), v('1.0.0-rc.10')), -1);
  t.equal(compareSemver(v('1.0.0+build.5'), v('1.0.0')), 0);
  for (const bad of ['v1.2.3', '1.2', '01.2.3', '1.2.3-01']) t.equal(parseSemver(bad), undefined, bad);
  t.equal(semverSatisfies('1.2.3', '1.2.4'), false);
  t.equal(semverSatisfies('4.1.3', '>=4.1.x'), true);
  t.equal(semverSatisfies('4.1.3', '!4.x.x'), false);
  t.equal(semverSatisfies('1.8.6', '>1.0.0 <2.0.0'), true);
  t.equal(semverSatisfies('2.1.5', '<2.0.0 || >=3.0.0'), false);
  t.equal(semverSatisfies('3.0.1', '<2.0.0 || >=3.0.0'), true);
  t.equal(semverSatisfies('4.5.14', '>4.5.0'), true);
  t.equal(semverSatisfies('1.9.9', '1.x'), true);
  t.equal(semverSatisfies('2.0.0', '<=1.x'), false);
  t.throws(() => semverSatisfies('abc', '>1.0.0'), RangeError);
  t.throws(() => semverSatisfies('1.0.0', '>abc'), RangeError);
});

t.test('Go time parsing and RFC 3339 output', async (t) => {
  const a = parseRFC3339('2023-01-12T12:37:56-05:00');
  t.equal(formatRFC3339(a), '2023-01-12T12:37:56-05:00');
  t.equal(formatRFC3339({ ns: a.ns, offset: 0 }), '2023-01-12T17:37:56Z');
  t.equal(parseRFC3339('2024-01-01T00:00:00.123456789Z').ns % 1_000_000_000n, 123_456_789n);
  t.throws(() => parseRFC3339('2024-13-01T00:00:00Z'));
  t.throws(() => parseRFC3339('2024-01-01 00:00:00Z'));
  t.equal(
    formatRFC3339(parseGoLayout('Mon Jan 02 2006 15:04:05 -0700', 'Fri Jun 22 2022 17:45:00 +0100')),
    '2022-06-22T17:45:00+01:00',
  );
  t.equal(formatRFC3339(parseGoLayout('2006-Jan-02', '2020-Jan-14')), '2020-01-14T00:00:00Z');
  t.equal(
    formatRFC3339(parseGoLayout('Mon Jan _2 15:04:05 MST 2006', 'Mon Jan  2 15:04:05 UTC 2021')),
    '2021-01-02T15:04:05Z',
  );
  t.equal(formatRFC3339(parseGoLayout('01/02/2006 3:04PM', '12/25/2023 9:30PM')), '2023-12-25T21:30:00Z');
  t.equal(
    formatRFC3339(parseGoLayout('2006-01-02T15:04:05.000Z07:00', '2023-05-06T07:08:09.123+02:00')),
    '2023-05-06T07:08:09+02:00',
  );
  t.throws(() => parseGoLayout('2006-01-02', '2023/01/02'));
  t.throws(() => parseGoLayout('2006-01-02', '2023-02-30'));
});

t.test('Go regular expressions', async (t) => {
  t.equal(
    goRegexMatch('^https://github.com/.*@refs/tags/v[0-9].[0-9].[0-9]$', 'https://github.com/x/y@refs/tags/v1.2.3'),
    true,
  );
  t.equal(goRegexMatch('(?i)^abc$', 'ABC'), true);
  t.equal(goRegexMatch('^(?P<major>\\d+)\\.', '12.3'), true);
  t.equal(goRegexMatch('\\Aa.c\\z', 'abc'), true);
  t.equal(goRegexMatch('\\Aa.c\\z', 'abc\n'), false);
  t.equal(goRegexReplaceAll('([0-9])([0-9])', 'hello im 42 months old', '${1}1', false), 'hello im 41 months old');
  t.equal(goRegexReplaceAll('(?P<first>\\w+) (?P<second>\\w+)', 'hello world', '$second $first', false), 'world hello');
  t.equal(goRegexReplaceAll('a(x*)b', '-ab-axxb-', '$1W', false), '---');
  t.equal(goRegexReplaceAll('a(x*)b', '-ab-axxb-', '${1}W', false), '-W-xxW-');
  t.equal(goRegexReplaceAll('^[^/]+', 'docker.io/nginx', 'myregistry.corp.com', true), 'myregistry.corp.com/nginx');
  t.equal(goRegexReplaceAll('a', 'aa', '$$', false), '$$');
  t.throws(() => goRegexMatch('(unclosed', 'x'), SyntaxError);
});

// Expected values are Go's (regexp package docs and semantics: leftmost-first,
// `.` excludes only \n, ReplaceAll skips an empty match right after a match).
t.test('Go regular expressions: Go semantics where JavaScript differs', async (t) => {
  const replace: [string, string, string, string][] = [
    ['a(x*)b', '-ab-axxb-', 'T', '-T-T-'],
    ['a(x*)b', '-ab-axxb-', '$1', '--xx-'],
    ['a(?P<1W>x*)b', '-ab-axxb-', '$1W', '--xx-'],
    ['a(?P<1W>x*)b', '-ab-axxb-', '${1}W', '-W-xxW-'],
    ['a*', 'baaac', 'X', 'XbXcX'],
    ['', 'abc', '-', '-a-b-c-'],
    ['', '\u{1F600}', '-', '-\u{1F600}-'],
    ['x*', '', 'X', 'X'],
    ['(?U)a+', 'aaa', 'X', 'XXX'],
    ['.', '\r\u2028', 'X', 'XX'],
    ['a|ab', 'ab', 'X', 'Xb'],
    ['(a)|b', 'ab', '[$1]', '[a][]'],
    ['(a)', 'a', '$2|${9}|$x|$$|$|${|${1', '|||$|$|${|${1'],
    ['(a)', 'a', '$01|$0', '|a'],
  ];
  for (const [p, s, tpl, want] of replace) {
    t.equal(goRegexReplaceAll(p, s, tpl, false), want, `ReplaceAllString(${p}, ${escape(s)}, ${tpl})`);
  }
  t.equal(goRegexReplaceAll('a(x*)b', '-ab-axxb-', '$1', true), '-$1-$1-', 'ReplaceAllLiteralString');
  t.equal(goRegexMatch('^a.c$', 'a\rc'), true, '. matches \\r in Go');
  t.equal(goRegexMatch('^a.c$', 'a\nc'), false);
  t.equal(goRegexMatch('(?s)^a.c$', 'a\nc'), true);
  t.equal(goRegexMatch('^[[:alpha:]]+\\pN$', 'abc7'), true);
  t.equal(goRegexMatch('\\Qa.b\\E', 'a.b'), true);
  t.equal(goRegexMatch('\\Qa.b\\E', 'axb'), false);
  t.equal(goRegexMatch('(?i)k', '\u212a'), true, 'Unicode case folding (Kelvin sign)');
  t.equal(compileGoRegex('a|b').matchesWhole('ab'), false);
  t.equal(compileGoRegex('(?m)a$').matchesWhole('a\n'), false, 'whole value, (?m) or not');
  t.equal(compileGoRegex('((a{10}){10}){10}').test('a'.repeat(1000)), true, 'repeat product 1000: Go accepts');
});

t.test('Go regular expressions: what Go refuses is a syntax error', async (t) => {
  const refused: [string, RegExp][] = [
    ['(a)\\1', /invalid escape sequence: `\\1`/],
    ['a(?=b)', /invalid or unsupported Perl syntax: `\(\?=`/],
    ['a(?!b)', /invalid or unsupported Perl syntax/],
    ['(?<=a)b', /invalid named capture/],
    ['a++', /invalid nested repetition operator/],
    ['a\\Z', /invalid escape sequence/],
    ['((a{10}){10}){11}', /invalid repeat count/],
    ['('.repeat(1001) + 'a' + ')'.repeat(1001), /expression nests too deeply/],
    ['(?P<n>a)(?P<n>b)', /duplicate capture group name/], // Go accepts this one: a documented difference
  ];
  for (const [p, message] of refused) {
    t.throws(() => compileGoRegex(p), { name: 'GoRegexSyntaxError', message }, p.slice(0, 40));
    t.match(getGoRegexError(p), /^error parsing regexp: /);
  }
  t.ok(new GoRegexSyntaxError('x', 'y') instanceof SyntaxError);
  t.equal(getGoRegexError('(?P<major>\\d+)\\.(?<minor>\\d+)'), undefined, 'both named-group spellings (Go 1.22+)');
});

// A backtracking engine takes 2^n steps on these (about 1 s at n = 25 for the
// first, doubling per character); RE2 takes linear time. Each must finish in
// a fraction of a second even on the longest input a label or SAN can hold.
t.test('Go regular expressions: linear time on catastrophic patterns', async (t) => {
  const cases: [string, string][] = [
    ['^([a-z0-9]+[-_.]?)+$', 'a'.repeat(30) + '!'],
    ['^([a-z0-9]+[-_.]?)+$', 'a'.repeat(63) + '!'],
    ['^(a|aa)+$', 'a'.repeat(5000) + 'b'],
    ['^(x+x+)+y$', 'x'.repeat(5000)],
    ['(.*a){20}', 'a'.repeat(5000)],
  ];
  for (const [p, s] of cases) {
    const started = performance.now();
    t.equal(goRegexMatch(p, s), p === '(.*a){20}');
    t.type(goRegexReplaceAll(p, s, '<$1>', false), 'string');
    const ms = performance.now() - started;
    t.ok(ms < 500, `${p} on ${s.length} characters: ${ms.toFixed(1)} ms`);
  }
});
