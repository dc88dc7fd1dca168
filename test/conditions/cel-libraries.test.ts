// The CEL environment Kubernetes and Kyverno policies are written in: cel-go's
// extensions as Kubernetes enables them, Kubernetes' libraries (the examples
// of their documentation) and Kyverno's offline libraries, and the refusal of
// the ones that need the network or a cluster.
import t from 'tap';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { compileCel } from '../../lib/conditions/cel.ts';
import { KYVERNO_IMAGE_LIBRARY } from '../../lib/conditions/cel-kyverno.ts';
import { CelTypeValue } from '../../lib/conditions/cel-values.ts';

const ev = (expr: string, vars: Record<string, unknown> = {}) =>
  compileCel(expr, { variables: Object.keys(vars) }).evaluate(vars);
const kev = (expr: string, vars: Record<string, unknown> = {}) =>
  compileCel(expr, { variables: Object.keys(vars), library: KYVERNO_IMAGE_LIBRARY }).evaluate(vars);
function thrown(fn: () => unknown): any {
  try {
    fn();
  } catch (e) {
    return e;
  }
  throw new Error('did not throw');
}

t.test('cel-go extensions in Kubernetes-style expressions', async (t) => {
  const object = {
    metadata: { name: 'web', labels: { app: 'web', 'app.kubernetes.io/part-of': 'shop' } },
    spec: { containers: [{ name: 'a', image: 'x' }, { name: 'b', image: 'y' }] },
  };
  const vars = { object };
  t.equal(ev("object.metadata.?labels.?team.orValue('none')", vars), 'none', 'optional field chain with a default');
  t.equal(ev("object.metadata.labels[?'app'].orValue('') == 'web'", vars), true);
  t.equal(ev("'environment' in object.metadata.?annotations.orValue({})", vars), false);
  t.equal(ev('object.spec.containers.all(i, c, c.name != "" && i >= 0)', vars), true, 'two-variable all');
  t.same(ev('object.spec.containers.transformMap(i, c, c.image)', vars), new Map([[0n, 'x'], [1n, 'y']]));
  t.same(
    ev('object.metadata.labels.transformMapEntry(k, v, {v: k})', vars),
    new Map([['web', 'app'], ['shop', 'app.kubernetes.io/part-of']]),
  );
  t.equal(ev('cel.bind(names, object.spec.containers.map(c, c.name), names.size() == 2 && "a" in names)', vars), true);
  t.equal(ev('math.greatest([1, 5.5, 3u]) == 5.5 && math.least(3, -1) == -1', vars), true);
  t.equal(ev("base64.encode(b'hello') == 'aGVsbG8=' && base64.decode('aGVsbG8') == b'hello'", vars), true);
  t.equal(
    ev("'%s has %d containers'.format([object.metadata.name, size(object.spec.containers)])", vars),
    'web has 2 containers',
  );
  t.equal(ev("'a,b,c'.split(',').join('-') + ' ' + 'Hello'.lowerAscii() + ' ' + '  x '.trim()", vars), 'a-b-c hello x');
  t.equal(
    ev('[3, 1, 2].sort() == [1, 2, 3] && [1, [2, [3]]].flatten() == [1, 2, [3]] && lists.range(3) == [0, 1, 2]', vars),
    true,
  );
  t.equal(
    ev('sets.equivalent([1, 2], [2, 1, 1]) && sets.intersects([1], [3, 1]) && !sets.contains([1], [2])', vars),
    true,
  );
});

t.test('Kubernetes lists library', async (t) => {
  t.equal(ev('[1, 2, 3].isSorted()'), true);
  t.equal(ev("['a', 'c', 'b'].isSorted()"), false);
  t.equal(ev('[1, 2, 3].sum()'), 6n);
  t.equal(ev('[1.5, 2.5].sum()'), 4);
  t.equal(ev('[].sum()'), 0n);
  t.equal(ev('[1, 2, 3].min()'), 1n);
  t.equal(ev("['a', 'c', 'b'].max()"), 'c');
  t.match(thrown(() => ev('[].min()')).message, /empty list/);
  t.equal(ev("['a', 'b', 'b', 'c'].indexOf('b')"), 1n);
  t.equal(ev("['a', 'b', 'b', 'c'].lastIndexOf('b')"), 2n);
  t.equal(ev('[1, 2].indexOf(3)'), -1n);
});

t.test('Kubernetes regex library', async (t) => {
  t.equal(ev("'abc 123'.find('[0-9]+')"), '123');
  t.equal(ev("'abc'.find('[0-9]+')"), '');
  t.same(ev("'123 abc 456'.findAll('[0-9]+')"), ['123', '456']);
  t.same(ev("'123 abc 456'.findAll('[0-9]+', 1)"), ['123']);
  t.same(ev("'123 abc 456'.findAll('xyz')"), []);
  // a pattern that backtracks exponentially in a backtracking engine, on a string without a match: RE2 answers first
  const started = performance.now();
  t.same(ev(`'${'a'.repeat(40)}!'.findAll('(a+)+b')`), []);
  t.ok(performance.now() - started < 1000, 'no catastrophic backtracking');
  t.match(thrown(() => ev("'x'.find('(')")).message, /invalid regular expression/);
  t.match(thrown(() => ev("'x'.matches('(?=a)')")).message, /invalid regular expression/, 'lookahead is not RE2');
});

t.test('Kubernetes URL library', async (t) => {
  t.equal(ev("url('https://example.com:80/').getHost()"), 'example.com:80');
  t.equal(ev("url('https://[::1]:80/').getHost()"), '[::1]:80');
  t.equal(ev("url('https://example.com:80/').getHostname()"), 'example.com');
  t.equal(ev("url('https://[::1]:80/').getHostname()"), '::1');
  t.equal(ev("url('https://example.com:80/').getPort()"), '80');
  t.equal(ev("url('https://example.com/').getPort()"), '');
  t.equal(ev("url('https://example.com/path').getScheme()"), 'https');
  t.equal(ev("url('https://example.com/path with spaces/').getEscapedPath()"), '/path%20with%20spaces/');
  t.equal(ev("url('https://example.com/path').getEscapedPath()"), '/path');
  t.same(ev("url('https://example.com/path?k1=a&k2=b&k2=c').getQuery()"), new Map([['k1', ['a']], ['k2', ['b', 'c']]]));
  t.same(ev("url('https://example.com/path').getQuery()"), new Map());
  t.equal(ev("isURL('https://user:pass@example.com:80/path?query=val#fragment')"), true);
  t.equal(ev("isURL('/absolute-path')"), true);
  t.equal(ev("isURL('relative-path')"), false);
  t.equal(ev("isURL('https://example.com:abc/')"), false);
  t.match(thrown(() => ev("url('../relative')")).message, /URL parse error/);
});

t.test('Kubernetes IP and CIDR libraries', async (t) => {
  t.equal(ev("isIP('127.0.0.1')"), true);
  t.equal(ev("isIP('::1')"), true);
  t.equal(ev("isIP('127.0.0.256')"), false);
  t.equal(ev("isIP('01.2.3.4')"), false, 'leading zeros are refused');
  t.equal(ev("isIP('::ffff:1.2.3.4')"), false, 'IPv4-mapped IPv6 is refused');
  t.equal(ev("isIP('fe80::1%eth0')"), false, 'zones are refused');
  t.equal(ev("ip.isCanonical('127.0.0.1')"), true);
  t.equal(ev("ip.isCanonical('2001:db8::abcd')"), true);
  t.equal(ev("ip.isCanonical('2001:DB8::ABCD')"), false);
  t.equal(ev("ip.isCanonical('2001:db8:0:0:0:0:0:abcd')"), false);
  t.equal(ev("ip('127.0.0.1').family()"), 4n);
  t.equal(ev("ip('::1').family()"), 6n);
  t.equal(ev("ip('0.0.0.0').isUnspecified() && ip('::').isUnspecified()"), true);
  t.equal(ev("ip('127.0.0.1').isLoopback() && ip('::1').isLoopback() && !ip('10.0.0.1').isLoopback()"), true);
  t.equal(ev("ip('224.0.0.1').isLinkLocalMulticast() && ip('ff02::1').isLinkLocalMulticast()"), true);
  t.equal(ev("ip('169.254.169.254').isLinkLocalUnicast() && ip('fe80::1').isLinkLocalUnicast()"), true);
  t.equal(
    ev(
      "ip('192.168.0.1').isGlobalUnicast() && ip('2001:db8::abcd').isGlobalUnicast() && !ip('255.255.255.255').isGlobalUnicast()",
    ),
    true,
  );
  t.equal(ev("string(ip('2001:db8:0:0:0:0:2:1'))"), '2001:db8::2:1');
  t.equal(ev("ip('127.0.0.1') == ip('127.0.0.1') && ip('::1') != ip('::2')"), true);
  t.equal((ev("type(ip('::1'))") as CelTypeValue).name, 'net.IP');
  t.equal(ev("isCIDR('192.168.0.0/24')"), true);
  t.equal(ev("isCIDR('192.168.0.0/33')"), false);
  t.equal(ev("cidr('192.168.0.0/24').containsIP(ip('192.168.0.1'))"), true);
  t.equal(ev("cidr('192.168.0.0/24').containsIP('192.168.1.1')"), false);
  t.equal(ev("cidr('192.168.0.0/24').containsCIDR(cidr('192.168.0.0/25'))"), true);
  t.equal(ev("cidr('192.168.0.0/24').containsCIDR('192.168.0.0/23')"), false);
  t.equal(ev("cidr('::1/128').containsIP('::1')"), true);
  t.equal(ev("cidr('192.168.0.0/24').ip() == ip('192.168.0.0')"), true);
  t.equal(ev("string(cidr('192.168.0.1/24').masked())"), '192.168.0.0/24');
  t.equal(ev("cidr('192.168.0.0/16').prefixLength()"), 16n);
  t.equal(ev("string(cidr('2001:db8::/32'))"), '2001:db8::/32');
});

t.test('Kubernetes quantity library', async (t) => {
  t.equal(ev("isQuantity('1.3G') && isQuantity('1.3Gi') && !isQuantity('1.3GiB') && !isQuantity('')"), true);
  t.equal(ev("quantity('1Gi').isGreaterThan(quantity('1G'))"), true);
  t.equal(ev("quantity('50M').isLessThan(quantity('100M'))"), true);
  t.equal(ev("quantity('200M').compareTo(quantity('0.2G'))"), 0n);
  t.equal(ev("quantity('50k').add(quantity('20k')) == quantity('70k')"), true);
  t.equal(ev("quantity('50k').add(20) == quantity('50020')"), true);
  t.equal(ev("quantity('50k').sub(quantity('20k')) == quantity('30k')"), true);
  t.equal(ev("quantity('50k').sub(20).asInteger()"), 49980n);
  t.equal(ev("quantity('-1').sign()"), -1n);
  t.equal(ev("quantity('0').sign()"), 0n);
  t.equal(ev("quantity('1.5').isInteger()"), false);
  t.equal(ev("quantity('5k').isInteger()"), true);
  t.equal(ev("quantity('5k').asInteger()"), 5000n);
  t.match(thrown(() => ev("quantity('1.5').asInteger()")).message, /cannot convert value to integer/);
  t.equal(ev("quantity('1.1').asApproximateFloat()"), 1.1);
  t.match(thrown(() => ev("quantity('1.3GiB')")).message, /quantities must match/);
});

t.test('Kubernetes semver library', async (t) => {
  t.equal(ev("isSemver('1.0.0') && !isSemver('1.0') && !isSemver('v1.0.0')"), true);
  t.equal(ev("isSemver('v1.0', true)"), true, 'normalized: v prefix, missing minor or patch');
  t.equal(ev("semver('1.2.3').major() == 1 && semver('1.2.3').minor() == 2 && semver('1.2.3').patch() == 3"), true);
  t.equal(ev("semver('v01.01', true) == semver('1.1.0')"), true);
  t.equal(ev("semver('1.2.3').compareTo(semver('2.0.0'))"), -1n);
  t.equal(ev("semver('1.10.0').isGreaterThan(semver('1.9.0'))"), true);
  t.equal(ev("semver('1.0.0-alpha').isLessThan(semver('1.0.0'))"), true);
  t.match(thrown(() => ev("semver('1.0')")).message, /invalid semver/);
});

t.test('Kubernetes format library', async (t) => {
  t.equal(ev("format.dns1123Label().validate('my-name').hasValue()"), false);
  const errs = ev("format.dns1123Label().validate('MyName').value()") as string[];
  t.equal(errs.length, 1);
  t.match(errs[0], /a lowercase RFC 1123 label must consist of lower case alphanumeric characters/);
  t.equal(ev("format.named('dns1123Subdomain').value().validate('a.example.com').hasValue()"), false);
  t.equal(ev("format.named('no-such-format').hasValue()"), false);
  t.equal(ev("format.labelValue().validate('').hasValue()"), false);
  t.equal(ev(`format.dns1123Label().validate('${'a'.repeat(64)}').value()[0]`), 'must be no more than 63 characters');
  t.equal(ev("format.qualifiedName().validate('example.com/MyName').hasValue()"), false);
  t.equal(ev("format.uuid().validate('a6ef8ec2-5a5f-4f5e-9fb1-3b7d5a7f9a3e').hasValue()"), false);
});

t.test('Kyverno offline libraries: json, yaml, hash, math, time, x509', async (t) => {
  t.same(kev(`json.unmarshal('{"a": [1, {"b": true}]}').a`), [1, new Map([['b', true]])]);
  t.match(thrown(() => kev("json.unmarshal('{')")).message, /json.unmarshal/);
  t.equal(kev("yaml.parse('spec:\\n  replicas: 3\\n').spec.replicas == 3"), true);
  t.match(
    thrown(() => kev("yaml.parse('a: &x [*x, *x, *x, *x, *x, *x, *x, *x, *x, *x, *x, *x, *x]')")).message,
    /yaml.parse/,
  );
  // digests as the real tools print them
  const digest = (alg: string) =>
    execFileSync('openssl', ['dgst', `-${alg}`, '-r'], { input: 'hello' }).toString().split(' ')[0];
  t.equal(kev("sha256('hello')"), digest('sha256'));
  t.equal(kev("sha1('hello')"), digest('sha1'));
  t.equal(kev("md5('hello')"), digest('md5'));
  t.equal(kev('math.round(3.14159, 2)'), 3.14);
  t.equal(kev("time_parse('2006-01-02', '2024-03-01')"), '2024-03-01T00:00:00Z');
  t.equal(kev("time_add('2024-03-01T00:00:00Z', '90m')"), '2024-03-01T01:30:00Z');
  t.equal(kev("time_diff('2024-03-01T00:00:00Z', '2024-03-01T01:30:00Z')"), '1h30m0s');
  t.equal(
    kev(
      "time_before('2024-03-01T00:00:00Z', '2024-03-02T00:00:00Z') && time_after('2024-03-02T00:00:00Z', '2024-03-01T00:00:00Z')",
    ),
    true,
  );
  t.match(kev('time_now()') as string, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);

  // x509.decode on a real certificate (made by openssl), checked against openssl's own reading of it
  const certFile = new URL('../../../shared/testvectors/cosign-legacy/containers-image/pki-cert', import.meta.url);
  const pem = readFileSync(certFile, 'utf8');
  const openssl = (...args: string[]) =>
    execFileSync('openssl', ['x509', '-noout', ...args], { input: pem }).toString().trim();
  const c = kev('x509.decode(cert)', { cert: pem }) as Map<string, any>;
  t.equal(c.get('Subject').get('CommonName'), 'Team A Cosign Certificate');
  t.same(c.get('Subject').get('Country'), ['ES']);
  t.equal(c.get('Issuer').get('CommonName'), 'Linuxera Intermediate Certificate Authority');
  t.equal(
    c.get('NotAfter'),
    new Date(openssl('-enddate').replace('notAfter=', '')).toISOString().replace('.000Z', 'Z'),
  );
  t.same(c.get('DNSNames'), ['myhost.example.com']);
  t.same(c.get('EmailAddresses'), ['qiwan@redhat.com']);
  t.equal(BigInt(c.get('PublicKey').get('N')).toString(16).toUpperCase(), openssl('-modulus').replace('Modulus=', ''));
  t.equal(c.get('PublicKey').get('E'), 65537);
  t.equal(Buffer.from(c.get('Raw'), 'base64').toString('base64'), pem.replace(/-----[A-Z ]+-----|\s+/g, ''));
  t.match(thrown(() => kev("x509.decode('not a pem')")).message, /failed to decode PEM block/);
});

t.test('libraries that need the network or a cluster make compiling an error naming the function', async (t) => {
  for (
    const [expr, fn] of [
      ["http.Get('https://registry.example.com/allowed').allowed == true", 'http.Get'],
      ["http.Post('https://x.example.com', {}, {}).ok", 'http.Post'],
      ["resource.Get('v1', 'configmaps', 'default', 'registries').data.x == 'y'", 'resource.Get'],
      ["resource.List('apps/v1', 'deployments', '').items.size() > 0", 'resource.List'],
      ["globalContext.Get('gctx', '') == 1", 'globalContext.Get'],
      ["true || http.Get('https://x.example.com').ok", 'http.Get'],
    ]
  ) {
    const e = thrown(() => kev(expr));
    t.equal(e.code, 'CONDITION_INVALID', `${fn}: refused when compiling`);
    t.match(e.message, new RegExp(`function '${fn.replace('.', '\\.')}' is not available`));
  }
  // an unknown function is refused too, never evaluated to a pass
  t.match(thrown(() => kev('randomFunction(1) == 1')).message, /undeclared reference to function 'randomFunction'/);
  t.ok(ev('type(1)') instanceof CelTypeValue);
});
