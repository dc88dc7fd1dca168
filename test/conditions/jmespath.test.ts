import t from 'tap';
import { search } from '@jmespath-community/jmespath';
import {
  compileJmespath,
  getJmespathFunctionNames,
  JmespathCompileError,
  JmespathNotFoundError,
  searchJmespath,
  withJmespathClock,
} from '../../lib/conditions/jmespath.ts';

const NOW = new Date('2022-04-13T00:10:00Z');

function q(expr: string, data: unknown = {}): unknown {
  return withJmespathClock(NOW, () => searchJmespath(compileJmespath(expr), data));
}

function err(expr: string, data: unknown = {}): Error {
  try {
    q(expr, data);
  } catch (e) {
    return e as Error;
  }
  throw new Error(`expected ${expr} to fail`);
}

t.test('Kyverno strictness: unknown keys fail, || falls back, projections are lenient', async (t) => {
  const data = { a: { b: 1, n: null }, list: [{ x: 5.9, n: 'a' }, { x: 9.1 }] };
  t.equal(q('a.b', data), 1);
  t.equal(q('a.n', data), null, 'a present null is null');
  const e = err('a.c', data);
  t.ok(e instanceof JmespathNotFoundError);
  t.equal(e.message, 'Unknown key "c" in path');
  t.equal(q("a.c || 'default'", data), 'default');
  t.equal(q('a.c.d || a.b', data), 1);
  t.same(q('list[].n', data), ['a']);
  t.same(q('list[?n == `"a"`].x', data), [5.9]);
  t.same(q('list[*].missing', data), []);
  t.equal(q('sort_by(list, &x)[-1].x', data), 9.1);
  t.ok(err('constructor', data) instanceof JmespathNotFoundError, 'inherited properties are not fields');
  t.same(q("`[]` || 'none'"), 'none');
  // the library's global registry is untouched (its own items() is different)
  t.same(search({ a: 1 } as never, 'items(@)'), [['a', 1]]);
});

t.test('string functions', async (t) => {
  t.equal(q("compare('a', 'b')"), -1);
  t.equal(q("compare('b', 'a')"), 1);
  t.equal(q("compare('a', 'a')"), 0);
  t.equal(q("equal_fold('pizza', 'pIzZa')"), true);
  t.equal(q("equal_fold('pizza', 'APPLE')"), false);
  t.equal(
    q("replace('Lorem ipsum dolor sit amet foo ipsum bar ipsum', 'ipsum', 'muspi', `2`)"),
    'Lorem muspi dolor sit amet foo muspi bar ipsum',
  );
  t.equal(q("replace('aaa', 'a', 'b', `-1`)"), 'bbb');
  t.equal(q("replace_all('Lorem ipsum dolor sit amet', 'ipsum', 'muspi')"), 'Lorem muspi dolor sit amet');
  t.equal(q("to_upper('abc')"), 'ABC');
  t.equal(q("to_lower('ABC')"), 'abc');
  t.equal(q("trim('¡¡¡Hello, Gophers!!!', '!¡')"), 'Hello, Gophers');
  t.equal(q("trim('foocorpcom', 'mo')"), 'foocorpc');
  t.equal(q("trim('foocorpcom', 'o')"), 'foocorpcom');
  t.equal(q("trim('foocorpcom', 'mcof')"), 'rp');
  t.equal(q("trim_prefix('docker://kubevirt/fedora', 'docker://')"), 'kubevirt/fedora');
  t.same(q("split('cat,dog,horse', ',')"), ['cat', 'dog', 'horse']);
  t.equal(q("truncate('foobar', `3`)"), 'foo');
  t.equal(q("truncate('foo', `10`)"), 'foo');
  t.equal(q("to_boolean('FalsE')"), false);
  t.equal(q("to_boolean('true')"), true);
  t.match(err("to_boolean('yes')").message, /to_boolean/);
  t.equal(q("path_canonicalize('/var//lib///kubelet')"), '/var/lib/kubelet');
  t.equal(
    q("path_canonicalize('/var/run/../run/./containerd/containerd.sock')"),
    '/var/run/containerd/containerd.sock',
  );
  t.equal(q("base64_decode('VzAyNDctNFJYRDM=')"), 'W0247-4RXD3');
  t.equal(q("base64_encode('W0247-4RXD3')"), 'VzAyNDctNFJYRDM=');
  t.match(err("base64_decode('not base64!')").message, /base64_decode/);
  t.equal(
    q("sha256('alertmanager-kube-prometheus-stack-alertmanager')"),
    '75c07bb807f2d80a85d34880b8af0c5f29f7c27577076ed5d0e4b427dee7dbcc',
  );
  t.equal(q("md5('hello')"), '5d41402abc4b2a76b9719d911017c592');
});

t.test('regex and pattern functions', async (t) => {
  t.equal(q("regex_match('^[1-7]$', `1`)"), true);
  t.equal(q("regex_match('^[1-7]$', '1')"), true);
  t.equal(q("regex_match('^[1-7]$', '8')"), false);
  t.equal(
    q("regex_match('^https://github.com/slsa-framework/slsa-github-generator/.github/workflows/generator_container_slsa3.yml@refs/tags/v[0-9].[0-9].[0-9]$', 'https://github.com/slsa-framework/slsa-github-generator/.github/workflows/generator_container_slsa3.yml@refs/tags/v1.9.0')"),
    true,
  );
  t.equal(q("regex_replace_all('([0-9])([0-9])', 'hello im 42 months old', '${1}1')"), 'hello im 41 months old');
  t.equal(q("regex_replace_all('([0-9])([0-9])', 'days_37', '${1}0')"), 'days_30');
  t.equal(q("regex_replace_all_literal('^(\\d{3}-?\\d{2}-?\\d{4})$', '123-45-6789', 'redacted')"), 'redacted');
  t.equal(
    q("regex_replace_all_literal('^[^/]+', 'docker.io/nginx:latest', 'myregistry.corp.com')"),
    'myregistry.corp.com/nginx:latest',
  );
  t.match(err("regex_match('(', 'x')").message, /regex_match.*error parsing regexp/);
  // Go's RE2: linear time (a backtracking engine needs minutes for this label), Go's syntax and refusals
  const started = performance.now();
  t.equal(q("regex_match('^([a-z0-9]+[-_.]?)+$', team)", { team: 'a'.repeat(30) + '!' }), false);
  t.equal(
    q("regex_replace_all('^([a-z0-9]+[-_.]?)+$', team, 'x')", { team: 'a'.repeat(63) + '!' }),
    'a'.repeat(63) + '!',
  );
  t.ok(performance.now() - started < 500, 'catastrophic pattern: fast');
  t.equal(q("regex_replace_all('a*', 'baaac', 'X')"), 'XbXcX', 'Go skips an empty match right after a match');
  for (const p of ['(a)\\1', 'a(?=b)', '(?<!a)b']) {
    const e = err(`regex_match('${p}', 'ab')`);
    t.ok(e instanceof JmespathCompileError, `${p}: a literal pattern is checked when the expression is compiled`);
    t.match(e.message, /function regex_match\(\): error parsing regexp: /);
  }
  const dynamic = err('regex_match(p, s)', { p: '(a)\\1', s: 'aa' });
  t.notOk(dynamic instanceof JmespathCompileError);
  t.match(dynamic.message, /JMESPath function 'regex_match': error parsing regexp: invalid escape sequence/);
  t.equal(q("pattern_match('158-7?-4*', '158-73-417')"), true);
  t.equal(q("pattern_match('158-6?-3*', '158-73-417')"), false);
  t.equal(q("pattern_match('1*', `123`)"), true);
});

t.test('object and list functions', async (t) => {
  t.equal(q('label_match(`{"dog":"lab","color":"tan"}`, `{"color":"tan","weight":"chonky","dog":"lab"}`)'), true);
  t.equal(q('label_match(`{"dog":"lab","color":"tan"}`, `{"color":"black","dog":"lab"}`)'), false);
  t.same(q("items(@, 'key', 'value')", { team: 'apple', organization: 'banana' }), [
    { key: 'organization', value: 'banana' },
    { key: 'team', value: 'apple' },
  ]);
  t.same(q("items(@, 'key', 'value')", [{ team: 'apple' }, { organization: 'banana' }]), [
    { key: 0, value: { team: 'apple' } },
    { key: 1, value: { organization: 'banana' } },
  ]);
  const env = [{ name: 'KEY', value: '123-456-789' }, { name: 'endpoint', value: 'licensing.corp.org' }];
  t.same(q('object_from_lists(env[].name, env[].value)', { env }), {
    KEY: '123-456-789',
    endpoint: 'licensing.corp.org',
  });
  t.same(q("object_from_lists(['a', 'b'], `[1]`)"), { a: 1, b: null });
  t.equal(q('lookup(`{"key1": "value1", "key2": "value2"}`, `"key2"`)'), 'value2');
  t.equal(q('lookup(`["item0", "item1", "item2"]`, `1`)'), 'item1');
  t.equal(q('lookup(`["item0"]`, `5`)'), null);
  t.equal(
    q("lookup(@, join('', ['container.apparmor.security.beta.kubernetes.io/', 'nginx']))", {
      'container.apparmor.security.beta.kubernetes.io/nginx': 'runtime/default',
    }),
    'runtime/default',
  );
  t.same(q('parse_json(\'["1001","1002"]\')[*].to_number(@)'), [1001, 1002]);
  t.equal(q('parse_yaml(pets).species.isGoodBoi', { pets: 'species:\n  dog: lab\n  isGoodBoi: false\n' }), false);
  t.match(err("parse_json('{')").message, /parse_json/);
});

t.test('arithmetic on numbers, quantities and durations', async (t) => {
  t.equal(q('add(`1`, `2`)'), 3);
  t.equal(q("add('100Mi', '100Mi')"), '200Mi');
  t.match(err("add('1h', '30m')").message, /types mismatch/, 'a bare "30m" is a quantity (milli), not minutes');
  t.equal(q("add('1h', '1h30m')"), '2h30m0s');
  t.match(err("add('1h', `5`)").message, /'add': types mismatch/);
  t.equal(q('subtract(`10`, `4`)'), 6);
  t.equal(q("subtract('10Mi', '5Ki')"), '10235Ki');
  t.equal(q("subtract('2h', '1h30m')"), '30m0s');
  t.equal(q('multiply(`3`, `4`)'), 12);
  t.equal(q("multiply('10Mi', `2`)"), '20Mi');
  t.equal(q("multiply(`2`, '1h')"), '2h0m0s');
  t.equal(q('divide(`10`, `4`)'), 2.5);
  t.equal(q("divide('10Mi', '5Ki')"), 2048);
  t.equal(q("divide('1h', '30m0s')"), 2);
  t.equal(q("divide('1h', `4`)"), '15m0s');
  t.equal(q("divide('10Mi', `2`)"), '5Mi');
  t.match(err('divide(`1`, `0`)').message, /'divide': Zero divisor passed/);
  t.equal(q('modulo(`10`, `3`)'), 1);
  t.equal(q("modulo('10Ki', '3Ki')"), '1Ki');
  t.equal(q("modulo('1h', '25m0s')"), '10m0s');
  t.match(err('modulo(`10.5`, `3`)').message, /Non-integer/);
  t.equal(q("sum(['2Ki', '5Gi', '8Mi'])"), '5251074Ki');
  t.equal(q("sum(['2h', '50s', '90s'])"), '2h2m20s');
  t.equal(q('sum(`[6, 3, 8]`)'), 17);
  t.match(err("sum(['1h', `1`])").message, /types mismatch|invalid operands/);
  t.equal(q('round(`10.125`, `2`)'), 10.13);
  t.equal(q('round(`10.123456`, `2`)'), 10.12);
  t.equal(q('round(`-2.5`, `0`)'), -3);
});

t.test('semver_compare', async (t) => {
  t.equal(q("semver_compare('1.2.3', '1.2.4')"), false);
  t.equal(q("semver_compare('4.1.3', '>=4.1.x')"), true);
  t.equal(q("semver_compare('4.1.3', '!4.x.x')"), false);
  t.equal(q("semver_compare('1.8.6', '>1.0.0 <2.0.0')"), true);
  t.equal(q("semver_compare('2.1.5', '<2.0.0 || >=3.0.0')"), false);
  t.equal(
    q("semver_compare(components[?name == 'httpclient'].version | [0], '>4.5.0')", {
      components: [{ name: 'httpclient', version: '4.5.14' }],
    }),
    true,
  );
  t.match(err("semver_compare('x', '>1.0.0')").message, /semver_compare/);
});

t.test('time functions with an injected clock', async (t) => {
  t.equal(q('time_now_utc()'), '2022-04-13T00:10:00Z');
  t.equal(q('time_now()'), '2022-04-13T00:10:00Z');
  t.equal(q("time_since('', '2022-04-10T03:14:05-07:00', '2022-04-11T03:14:05-07:00')"), '24h0m0s');
  t.equal(
    q("time_since('Mon Jan _2 15:04:05 MST 2006', 'Mon Jan 02 15:04:05 MST 2021', 'Mon Jan 10 03:14:16 MST 2021')"),
    '180h10m11s',
  );
  t.equal(q("time_since('2006-Jan-02', '2020-Jan-14', '2020-Jan-17')"), '72h0m0s');
  t.equal(q("time_since('', '2022-04-12T00:10:00Z', '')"), '24h0m0s', 'an empty end is now');
  t.equal(q("time_add('2023-01-12T12:37:56-05:00', '6h')"), '2023-01-12T18:37:56-05:00');
  t.equal(q("time_after('2023-01-12T14:07:55-05:00', '2023-01-12T19:05:59Z')"), true);
  t.equal(q("time_after('2023-01-12T19:05:59Z', '2023-01-13T19:05:59Z')"), false);
  t.equal(q("time_before('2023-01-12T19:05:59Z', '2023-01-13T19:05:59Z')"), true);
  t.equal(q("time_before('2023-01-12T19:05:59Z', '2023-01-11T19:05:59Z')"), false);
  t.equal(q("time_between('2023-01-12T19:05:59Z', '2023-01-01T19:05:59Z', '2023-01-15T19:05:59Z')"), true);
  t.equal(q("time_between('2023-01-12T19:05:59Z', '2023-01-01T19:05:59Z', '2023-01-11T19:05:59Z')"), false);
  t.equal(q("time_diff('2023-01-10T00:00:00Z', '2023-01-11T00:00:00Z')"), '24h0m0s');
  t.equal(q("time_diff('2023-01-12T00:00:00Z', '2023-01-11T00:00:00Z')"), '-24h0m0s');
  t.equal(
    q("time_parse('Mon Jan 02 2006 15:04:05 -0700', 'Fri Jun 22 2022 17:45:00 +0100')"),
    '2022-06-22T17:45:00+01:00',
  );
  t.equal(q("time_parse('2006-01-02T15:04:05Z07:00', '2021-01-02T15:04:05-07:00')"), '2021-01-02T15:04:05-07:00');
  t.equal(q("time_parse('1702691171', '1702691171')"), '2023-12-16T01:46:11Z');
  t.equal(q("time_to_cron('2022-04-11T03:14:05-07:00')"), '14 3 11 4 1');
  t.equal(q("time_add(time_now_utc(), '4h') | time_to_cron(@)"), '10 4 13 4 3');
  t.equal(q("time_truncate('2023-01-12T17:37:00Z', '1h')"), '2023-01-12T17:00:00Z');
  t.equal(q("time_truncate('2023-01-12T17:37:00Z', '2h')"), '2023-01-12T16:00:00Z');
  t.equal(q("time_utc('2021-01-02T18:04:05-05:00')"), '2021-01-02T23:04:05Z');
  t.equal(q("time_utc('2021-01-02T02:04:05+08:30')"), '2021-01-01T17:34:05Z');
  t.match(err("time_add('yesterday', '1h')").message, /time_add/);
  t.match(err("time_add('2023-01-12T12:37:56Z', '1 day')").message, /invalid duration/);
});

t.test('compile-time checks: syntax, unknown functions, arity', async (t) => {
  t.throws(() => compileJmespath('[?'), { name: 'JmespathCompileError' });
  let e: unknown;
  try {
    compileJmespath('foo(`1`)');
  } catch (x) {
    e = x;
  }
  t.ok(e instanceof JmespathCompileError);
  t.match((e as Error).message, /unknown function: foo\(\)/);
  t.throws(() => compileJmespath('to_upper()'), /expects 1 argument\(s\), got 0/);
  t.throws(() => compileJmespath("time_since('', 'x')"), /expects 3 argument/);
  t.throws(() => compileJmespath('x509_decode(@)'), /unknown function/, 'x509_decode is not implemented');
  t.ok(compileJmespath('not_null(a, b, c)'), 'variadic built-ins accept any count');
  const names = getJmespathFunctionNames();
  for (const f of ['regex_match', 'time_since', 'semver_compare', 'sum', 'items', 'length', 'to_number', 'contains']) {
    t.ok(names.includes(f), f);
  }
});
