// Kubernetes' CEL libraries (k8s.io/apiserver/pkg/cel/library), as the
// Kubernetes documentation describes them, on sigward's CEL engine:
//   - lists: isSorted, sum, min, max, indexOf, lastIndexOf (in cel-stdlib.ts)
//   - regex: find, findAll
//   - URLs: url, isURL, getScheme, getHost, getHostname, getPort, getEscapedPath, getQuery
//   - IP and CIDR: ip, isIP, ip.isCanonical, family, isUnspecified, isLoopback,
//     isLinkLocalMulticast, isLinkLocalUnicast, isGlobalUnicast; cidr, isCIDR,
//     containsIP, containsCIDR, ip, masked, prefixLength; string(ip), string(cidr)
//   - quantity: quantity, isQuantity, sign, isInteger, asInteger,
//     asApproximateFloat, add, sub, compareTo, isLessThan, isGreaterThan
//   - semver: semver, isSemver, major, minor, patch, compareTo, isLessThan, isGreaterThan
//   - format: format.<name>() and format.named(name), .validate(s)
// The authorizer library needs the API server and is not declared (an
// expression using `authorizer` is refused when compiled).

import { CelError, chargeSize, err, INT_MAX, INT_MIN, noOverload } from './cel-runtime.ts';
import type { CelFunctionTable } from './cel-stdlib.ts';
import { celRegex } from './cel-stdlib.ts';
import {
  addQuantities,
  compareQuantities,
  formatQuantity,
  parseQuantity,
  quantityToNumber,
  subtractQuantities,
} from './quantity.ts';
import type { Quantity } from './quantity.ts';
import { compareSemver, parseSemver } from './semver.ts';
import type { SemVer } from './semver.ts';
import { CelObject, CelOptional } from './cel-values.ts';

function str(v: unknown, fn: string): string {
  if (typeof v !== 'string') throw noOverload(fn, v);
  return v;
}

// ---------------------------------------------------------------------------
// regex: find / findAll (Go's FindString / FindAllString, on RE2)

function find(s: unknown, p: unknown): string {
  const text = str(s, 'find');
  const pattern = str(p, 'find');
  chargeSize(text.length + pattern.length);
  return celRegex(pattern).find(text) ?? '';
}

function findAll(s: unknown, p: unknown, n?: unknown): string[] {
  const text = str(s, 'findAll');
  const pattern = str(p, 'findAll');
  const limit = n === undefined ? -1 : Number(typeof n === 'bigint' ? n : NaN);
  if (Number.isNaN(limit)) throw noOverload('findAll', s, p, n);
  chargeSize(text.length + pattern.length);
  const out = celRegex(pattern).findAll(text, limit);
  for (const m of out) chargeSize(m.length);
  return out;
}

// ---------------------------------------------------------------------------
// URLs (Go's url.ParseRequestURI: an absolute URI or an absolute path)

const PATH_KEEP = /[A-Za-z0-9\-_.~$&+,/:;=@]/;

function percentDecode(s: string, plusIsSpace: boolean): string {
  const t = plusIsSpace ? s.replace(/\+/g, ' ') : s;
  if (!t.includes('%')) return t;
  const bytes: number[] = [];
  const enc = new TextEncoder();
  for (let i = 0; i < t.length; i++) {
    if (t[i] === '%') {
      const h = t.slice(i + 1, i + 3);
      if (!/^[0-9a-fA-F]{2}$/.test(h)) throw err(`invalid URL escape "%${h}"`);
      bytes.push(parseInt(h, 16));
      i += 2;
    } else for (const b of enc.encode(t[i])) bytes.push(b);
  }
  return new TextDecoder().decode(Uint8Array.from(bytes));
}

function escapePath(p: string): string {
  let out = '';
  for (const b of new TextEncoder().encode(p)) {
    const c = String.fromCharCode(b);
    out += b < 0x80 && PATH_KEEP.test(c) ? c : '%' + b.toString(16).toUpperCase().padStart(2, '0');
  }
  return out;
}

export class CelURL extends CelObject {
  readonly celType = 'kubernetes.URL';
  readonly raw: string;
  readonly scheme: string;
  readonly host: string;
  readonly rawPath: string;
  readonly path: string;
  readonly rawQuery: string;
  constructor(raw: string) {
    super();
    const m = /^(?:([A-Za-z][A-Za-z0-9+.-]*):)?(?:\/\/([^/?]*))?([^?]*)(?:\?(.*))?$/s.exec(raw);
    if (!raw || !m) throw err(`URL parse error: ${JSON.stringify(raw)}`);
    const [, scheme = '', host, path = '', query = ''] = m;
    if (!scheme && !path.startsWith('/')) throw err(`URL parse error: invalid URI for request: ${JSON.stringify(raw)}`);
    if (scheme && host === undefined && !path.startsWith('/') && path !== '') {
      // opaque URIs (mailto:x) are accepted by Go as Opaque; keep the path as written
    }
    if (/[\x00-\x1f\x7f]/.test(raw)) throw err(`URL parse error: invalid control character in URL`);
    const h = host ?? '';
    if (h.includes('[') && !/^(?:[^@]*@)?\[[0-9A-Fa-f:.]+(?:%[^\]]*)?\](?::\d*)?$/.test(h)) {
      throw err(`URL parse error: invalid host ${JSON.stringify(h)}`);
    }
    const port = /:([^:\]]*)$/.exec(h.replace(/^[^@]*@/, ''));
    if (port && !h.replace(/^[^@]*@/, '').startsWith('[') && h.replace(/^[^@]*@/, '').split(':').length > 2) {
      throw err(`URL parse error: invalid host ${JSON.stringify(h)}`);
    }
    if (port && !/^\d*$/.test(port[1])) {
      throw err(`URL parse error: invalid port ${JSON.stringify(':' + port[1])} after host`);
    }
    this.raw = raw;
    this.scheme = scheme;
    this.host = h.replace(/^[^@]*@/, '');
    this.rawPath = path;
    this.path = percentDecode(path, false);
    this.rawQuery = query;
  }
  equals(o: CelObject): boolean {
    return o instanceof CelURL && o.raw === this.raw;
  }
  get hostname(): string {
    const h = this.host;
    if (h.startsWith('[')) return h.slice(1, h.indexOf(']'));
    const i = h.lastIndexOf(':');
    return i < 0 ? h : h.slice(0, i);
  }
  get port(): string {
    const h = this.host;
    const close = h.lastIndexOf(']');
    const i = h.lastIndexOf(':');
    return i > close ? h.slice(i + 1) : '';
  }
  /** Go's URL.EscapedPath: the path as written when it is a valid encoding of the path, else the path escaped. */
  get escapedPath(): string {
    if (/^(?:[A-Za-z0-9\-_.~$&+,/:;=@!'()*[\]]|%[0-9A-Fa-f]{2})*$/.test(this.rawPath)) return this.rawPath;
    return escapePath(this.path);
  }
  query(): Map<string, string[]> {
    const out = new Map<string, string[]>();
    if (!this.rawQuery) return out;
    for (const part of this.rawQuery.split('&')) {
      if (part === '' || part.includes(';')) continue;
      const eq = part.indexOf('=');
      let k: string;
      let v: string;
      try {
        k = percentDecode(eq < 0 ? part : part.slice(0, eq), true);
        v = eq < 0 ? '' : percentDecode(part.slice(eq + 1), true);
      } catch {
        continue;
      }
      const list = out.get(k);
      if (list) list.push(v);
      else out.set(k, [v]);
    }
    return out;
  }
  override toString(): string {
    return this.raw;
  }
}

function url(v: unknown): CelURL {
  return v instanceof CelURL ? v : new CelURL(str(v, 'url'));
}

function urlOf(v: unknown, fn: string): CelURL {
  if (!(v instanceof CelURL)) throw noOverload(fn, v);
  return v;
}

// ---------------------------------------------------------------------------
// IP addresses and CIDRs (Go's net/netip, as Kubernetes' library parses them)

function parseIPv4(s: string): number[] | undefined {
  const parts = s.split('.');
  if (parts.length !== 4) return undefined;
  const out: number[] = [];
  for (const p of parts) {
    if (!/^\d{1,3}$/.test(p) || (p.length > 1 && p.startsWith('0'))) return undefined;
    const n = Number(p);
    if (n > 255) return undefined;
    out.push(n);
  }
  return out;
}

/** 16 bytes for IPv6, 4 for IPv4; undefined when invalid (zones and IPv4-mapped IPv6 are refused, as in Kubernetes). */
function parseIPBytes(s: string): number[] | undefined {
  if (!s.includes(':')) return parseIPv4(s);
  if (s.includes('%')) return undefined;
  let head = s;
  let v4: number[] | undefined;
  const lastColon = s.lastIndexOf(':');
  if (s.slice(lastColon + 1).includes('.')) {
    v4 = parseIPv4(s.slice(lastColon + 1));
    if (!v4) return undefined;
    head = s.slice(0, lastColon + 1) + '0:0';
  }
  const halves = head.split('::');
  if (halves.length > 2) return undefined;
  const group = (x: string) => (x === '' ? [] : x.split(':'));
  const left = group(halves[0]);
  const right = halves.length === 2 ? group(halves[1]) : [];
  const total = left.length + right.length;
  if (halves.length === 1 ? total !== 8 : total > 7) return undefined;
  const words: number[] = [];
  for (const g of [...left, ...Array(8 - total).fill('0'), ...right]) {
    if (!/^[0-9A-Fa-f]{1,4}$/.test(g)) return undefined;
    words.push(parseInt(g, 16));
  }
  const bytes = words.flatMap((w) => [w >> 8, w & 0xff]);
  if (v4) bytes.splice(12, 4, ...v4);
  return bytes;
}

function formatIP(b: number[]): string {
  if (b.length === 4) return b.join('.');
  const words = Array.from({ length: 8 }, (_, i) => (b[2 * i] << 8) | b[2 * i + 1]);
  // longest run of two or more zero words is compressed (RFC 5952)
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8;) {
    if (words[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && words[j] === 0) j++;
    if (j - i > bestLen) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = words.map((w) => w.toString(16));
  if (best < 0) return hex.join(':');
  return `${hex.slice(0, best).join(':')}::${hex.slice(best + bestLen).join(':')}`;
}

export class CelIP extends CelObject {
  readonly celType = 'net.IP';
  readonly bytes: readonly number[];
  constructor(bytes: number[]) {
    super();
    this.bytes = bytes;
  }
  static parse(s: string): CelIP {
    const b = parseIPBytes(s);
    if (!b) {
      throw err(
        `IP Address ${JSON.stringify(s)} parse error during conversion from string: ParseAddr(${
          JSON.stringify(s)
        }): invalid IP address`,
      );
    }
    if (
      b.length === 16 && b.slice(0, 10).every((x) => x === 0) && b[10] === 0xff && b[11] === 0xff && s.includes('.')
    ) {
      throw err(`IPv4-mapped IPv6 address ${JSON.stringify(s)} is not allowed`);
    }
    return new CelIP(b);
  }
  equals(o: CelObject): boolean {
    return o instanceof CelIP && o.bytes.length === this.bytes.length && o.bytes.every((x, i) => x === this.bytes[i]);
  }
  get family(): bigint {
    return this.bytes.length === 4 ? 4n : 6n;
  }
  override toString(): string {
    return formatIP([...this.bytes]);
  }
}

function ipOf(v: unknown, fn: string): CelIP {
  if (!(v instanceof CelIP)) throw noOverload(fn, v);
  return v;
}

function isUnspecified(ip: CelIP): boolean {
  return ip.bytes.every((x) => x === 0);
}
function isLoopback(ip: CelIP): boolean {
  return ip.bytes.length === 4
    ? ip.bytes[0] === 127
    : ip.bytes.slice(0, 15).every((x) => x === 0) && ip.bytes[15] === 1;
}
function isLinkLocalMulticast(ip: CelIP): boolean {
  const b = ip.bytes;
  return b.length === 4 ? b[0] === 224 && b[1] === 0 && b[2] === 0 : b[0] === 0xff && (b[1] & 0x0f) === 0x02;
}
function isLinkLocalUnicast(ip: CelIP): boolean {
  const b = ip.bytes;
  return b.length === 4 ? b[0] === 169 && b[1] === 254 : b[0] === 0xfe && (b[1] & 0xc0) === 0x80;
}
function isGlobalUnicast(ip: CelIP): boolean {
  const b = ip.bytes;
  if (b.length === 4) {
    if (b.every((x) => x === 255)) return false; // broadcast
    return !isUnspecified(ip) && !isLoopback(ip) && !isLinkLocalUnicast(ip) && !(b[0] >= 224 && b[0] <= 239);
  }
  return !isUnspecified(ip) && !isLoopback(ip) && !isLinkLocalUnicast(ip) && b[0] !== 0xff;
}

export class CelCIDR extends CelObject {
  readonly celType = 'net.CIDR';
  readonly ip: CelIP;
  readonly bits: number;
  constructor(ip: CelIP, bits: number) {
    super();
    this.ip = ip;
    this.bits = bits;
  }
  static parse(s: string): CelCIDR {
    const i = s.lastIndexOf('/');
    const fail = () =>
      err(
        `network address ${JSON.stringify(s)} parse error during conversion from string: ParsePrefix(${
          JSON.stringify(s)
        }): invalid prefix`,
      );
    if (i < 0) throw fail();
    const b = parseIPBytes(s.slice(0, i));
    const len = s.slice(i + 1);
    if (!b || !/^(0|[1-9]\d{0,2})$/.test(len) || Number(len) > b.length * 8) throw fail();
    if (
      b.length === 16 && b.slice(0, 10).every((x) => x === 0) && b[10] === 0xff && b[11] === 0xff &&
      s.slice(0, i).includes('.')
    ) {
      throw err(`IPv4-mapped IPv6 address ${JSON.stringify(s)} is not allowed`);
    }
    return new CelCIDR(new CelIP(b), Number(len));
  }
  equals(o: CelObject): boolean {
    return o instanceof CelCIDR && o.bits === this.bits && o.ip.equals(this.ip);
  }
  contains(ip: CelIP): boolean {
    const a = this.ip.bytes;
    const b = ip.bytes;
    if (a.length !== b.length) return false;
    for (let bit = 0; bit < this.bits; bit++) {
      const k = bit >> 3;
      const m = 0x80 >> (bit & 7);
      if ((a[k] & m) !== (b[k] & m)) return false;
    }
    return true;
  }
  masked(): CelCIDR {
    const b = this.ip.bytes.map((x, k) => {
      const keep = Math.max(0, Math.min(8, this.bits - k * 8));
      return x & ((0xff << (8 - keep)) & 0xff);
    });
    return new CelCIDR(new CelIP(b), this.bits);
  }
  override toString(): string {
    return `${this.ip}/${this.bits}`;
  }
}

function cidrOf(v: unknown, fn: string): CelCIDR {
  if (!(v instanceof CelCIDR)) throw noOverload(fn, v);
  return v;
}

// ---------------------------------------------------------------------------
// quantity

export class CelQuantity extends CelObject {
  readonly celType = 'kubernetes.Quantity';
  readonly q: Quantity;
  constructor(q: Quantity) {
    super();
    this.q = q;
  }
  static parse(s: string): CelQuantity {
    const q = parseQuantity(s);
    if (!q) {
      throw err(
        `quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$': ${
          JSON.stringify(s)
        }`,
      );
    }
    return new CelQuantity(q);
  }
  equals(o: CelObject): boolean {
    return o instanceof CelQuantity && compareQuantities(this.q, o.q) === 0;
  }
  compareTo(o: CelQuantity): number {
    return compareQuantities(this.q, o.q);
  }
  override toString(): string {
    return formatQuantity(this.q);
  }
}

function qOf(v: unknown, fn: string): CelQuantity {
  if (!(v instanceof CelQuantity)) throw noOverload(fn, v);
  return v;
}

function qArg(v: unknown, fn: string): Quantity {
  if (v instanceof CelQuantity) return v.q;
  if (typeof v === 'bigint') return { num: v, den: 1n, format: 'DecimalSI' };
  throw noOverload(fn, v);
}

// ---------------------------------------------------------------------------
// semver

export class CelSemver extends CelObject {
  readonly celType = 'kubernetes.Semver';
  readonly v: SemVer;
  readonly text: string;
  constructor(v: SemVer, text: string) {
    super();
    this.v = v;
    this.text = text;
  }
  static parse(s: string, normalize = false): CelSemver {
    let t = s;
    if (normalize) {
      t = t.replace(/^v/, '');
      const m = /^(\d+)(?:\.(\d+))?(?:\.(\d+))?(.*)$/.exec(t);
      if (m) t = `${BigInt(m[1])}.${BigInt(m[2] ?? '0')}.${BigInt(m[3] ?? '0')}${m[4]}`;
    }
    const v = parseSemver(t);
    if (!v) throw err(`invalid semver ${JSON.stringify(s)}`);
    return new CelSemver(v, t);
  }
  equals(o: CelObject): boolean {
    return o instanceof CelSemver && compareSemver(this.v, o.v) === 0;
  }
  compareTo(o: CelSemver): number {
    return compareSemver(this.v, o.v);
  }
  override toString(): string {
    return this.text;
  }
}

function semverOf(v: unknown, fn: string): CelSemver {
  if (!(v instanceof CelSemver)) throw noOverload(fn, v);
  return v;
}

// ---------------------------------------------------------------------------
// format (k8s.io/apimachinery validation messages)

const DNS1123_LABEL = '[a-z0-9]([-a-z0-9]*[a-z0-9])?';
const DNS1123_SUBDOMAIN = `${DNS1123_LABEL}(\\.${DNS1123_LABEL})*`;
const DNS1035_LABEL = '[a-z]([-a-z0-9]*[a-z0-9])?';
const QUALIFIED_NAME = '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]';
const LABEL_VALUE = '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?';

function regexCheck(re: string, msg: string, examples: string[]): (s: string) => string[] {
  const full = new RegExp(`^(?:${re})$`);
  return (
    s,
  ) => (full.test(s)
    ? []
    : [`${msg} (e.g. ${examples.map((e) => `'${e}'`).join(',  or ')}, regex used for validation is '${re}')`]);
}
function maxLen(n: number, check: (s: string) => string[]): (s: string) => string[] {
  return (s) => [...(s.length > n ? [`must be no more than ${n} characters`] : []), ...check(s)];
}
const dns1123Label = maxLen(
  63,
  regexCheck(
    DNS1123_LABEL,
    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character",
    ['my-name', '123-abc'],
  ),
);
const dns1123Subdomain = maxLen(
  253,
  regexCheck(
    DNS1123_SUBDOMAIN,
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character",
    ['example.com'],
  ),
);
const dns1035Label = maxLen(
  63,
  regexCheck(
    DNS1035_LABEL,
    "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character",
    ['my-name', 'abc-123'],
  ),
);
const prefix = (check: (s: string) => string[]) => (s: string) => check(s.endsWith('-') ? s.slice(0, -1) + 'a' : s);
const qualifiedName = (s: string): string[] => {
  const parts = s.split('/');
  const name = parts[parts.length - 1];
  const errs: string[] = [];
  if (parts.length > 2) {
    return [
      `a qualified name must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '${QUALIFIED_NAME}') with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')`,
    ];
  }
  if (parts.length === 2) {
    if (parts[0] === '') errs.push('prefix part must be non-empty');
    else errs.push(...dns1123Subdomain(parts[0]).map((e) => `prefix part ${e}`));
  }
  if (name === '') errs.push('name part must be non-empty');
  else {
    if (name.length > 63) errs.push('name part must be no more than 63 characters');
    if (!new RegExp(`^${QUALIFIED_NAME}$`).test(name)) {
      errs.push(
        `name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '${QUALIFIED_NAME}')`,
      );
    }
  }
  return errs;
};
const labelValue = maxLen(
  63,
  regexCheck(
    LABEL_VALUE,
    "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character",
    ['MyValue', 'my_value', '12345'],
  ),
);
const FORMATS: Record<string, (s: string) => string[]> = {
  dns1123Label,
  dns1123Subdomain,
  dns1035Label,
  qualifiedName,
  dns1123LabelPrefix: prefix(dns1123Label),
  dns1123SubdomainPrefix: prefix(dns1123Subdomain),
  dns1035LabelPrefix: prefix(dns1035Label),
  labelValue,
  uri: (s) => {
    try {
      new CelURL(s);
      return [];
    } catch {
      return ['invalid URI'];
    }
  },
  uuid: (
    s,
  ) => (/^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/.test(s)
    ? []
    : ['does not match the UUID format']),
  byte: (s) => (/^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/.test(s) ? [] : ['invalid base64']),
  date: (
    s,
  ) => (/^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$/.test(s) && !Number.isNaN(Date.parse(s + 'T00:00:00Z'))
    ? []
    : ['invalid date']),
  datetime: (
    s,
  ) => (/^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/.test(s) &&
      !Number.isNaN(Date.parse(s.replace(' ', 'T')))
    ? []
    : ['invalid datetime']),
};

export class CelFormat extends CelObject {
  readonly celType = 'kubernetes.NamedFormat';
  readonly name: string;
  constructor(name: string) {
    super();
    this.name = name;
  }
  equals(o: CelObject): boolean {
    return o instanceof CelFormat && o.name === this.name;
  }
  validate(s: string): CelOptional {
    const errs = FORMATS[this.name](s);
    return errs.length ? CelOptional.of(errs) : CelOptional.NONE;
  }
  override toString(): string {
    return `format.${this.name}()`;
  }
}

// ---------------------------------------------------------------------------

const safe = <T>(fn: () => T): boolean => {
  try {
    fn();
    return true;
  } catch (e) {
    if (e instanceof CelError) return false;
    throw e;
  }
};

const ipFn = (fn: string, test: (ip: CelIP) => boolean) => (v: unknown) => test(ipOf(v, fn));

const k8s: CelFunctionTable = {
  // regex
  '.find/1': find,
  '.findAll/1': findAll,
  '.findAll/2': findAll,
  // URLs
  'url/1': url,
  'isURL/1': (v: unknown) => safe(() => new CelURL(str(v, 'isURL'))),
  '.getScheme/0': (u: unknown) => urlOf(u, 'getScheme').scheme,
  '.getHost/0': (u: unknown) => urlOf(u, 'getHost').host,
  '.getHostname/0': (u: unknown) => urlOf(u, 'getHostname').hostname,
  '.getPort/0': (u: unknown) => urlOf(u, 'getPort').port,
  '.getEscapedPath/0': (u: unknown) => urlOf(u, 'getEscapedPath').escapedPath,
  '.getQuery/0': (u: unknown) => urlOf(u, 'getQuery').query(),
  // IP
  'ip/1': (v: unknown) => (v instanceof CelIP ? v : CelIP.parse(str(v, 'ip'))),
  'isIP/1': (v: unknown) => safe(() => CelIP.parse(str(v, 'isIP'))),
  'ip.isCanonical/1': (v: unknown) => {
    const s = str(v, 'ip.isCanonical');
    return CelIP.parse(s).toString() === s;
  },
  '.family/0': (v: unknown) => ipOf(v, 'family').family,
  '.isUnspecified/0': ipFn('isUnspecified', isUnspecified),
  '.isLoopback/0': ipFn('isLoopback', isLoopback),
  '.isLinkLocalMulticast/0': ipFn('isLinkLocalMulticast', isLinkLocalMulticast),
  '.isLinkLocalUnicast/0': ipFn('isLinkLocalUnicast', isLinkLocalUnicast),
  '.isGlobalUnicast/0': ipFn('isGlobalUnicast', isGlobalUnicast),
  // CIDR
  'cidr/1': (v: unknown) => (v instanceof CelCIDR ? v : CelCIDR.parse(str(v, 'cidr'))),
  'isCIDR/1': (v: unknown) => safe(() => CelCIDR.parse(str(v, 'isCIDR'))),
  '.containsIP/1': (c: unknown, ip: unknown) =>
    cidrOf(c, 'containsIP').contains(ip instanceof CelIP ? ip : CelIP.parse(str(ip, 'containsIP'))),
  '.containsCIDR/1': (c: unknown, other: unknown) => {
    const a = cidrOf(c, 'containsCIDR');
    const b = other instanceof CelCIDR ? other : CelCIDR.parse(str(other, 'containsCIDR'));
    return b.bits >= a.bits && a.contains(b.ip);
  },
  '.ip/0': (c: unknown) => cidrOf(c, 'ip').ip,
  '.masked/0': (c: unknown) => cidrOf(c, 'masked').masked(),
  '.prefixLength/0': (c: unknown) => BigInt(cidrOf(c, 'prefixLength').bits),
  // quantity
  'quantity/1': (v: unknown) => (v instanceof CelQuantity ? v : CelQuantity.parse(str(v, 'quantity'))),
  'isQuantity/1': (v: unknown) => safe(() => CelQuantity.parse(str(v, 'isQuantity'))),
  '.sign/0': (v: unknown) => {
    const n = qOf(v, 'sign').q.num;
    return n > 0n ? 1n : n < 0n ? -1n : 0n;
  },
  '.isInteger/0': (v: unknown) => {
    const q = qOf(v, 'isInteger').q;
    return q.den === 1n && q.num >= INT_MIN && q.num <= INT_MAX;
  },
  '.asInteger/0': (v: unknown) => {
    const q = qOf(v, 'asInteger').q;
    if (q.den !== 1n || q.num < INT_MIN || q.num > INT_MAX) throw err('cannot convert value to integer');
    return q.num;
  },
  '.asApproximateFloat/0': (v: unknown) => quantityToNumber(qOf(v, 'asApproximateFloat').q),
  '.add/1': (a: unknown, b: unknown) => new CelQuantity(addQuantities(qOf(a, 'add').q, qArg(b, 'add'))),
  '.sub/1': (a: unknown, b: unknown) => new CelQuantity(subtractQuantities(qOf(a, 'sub').q, qArg(b, 'sub'))),
  '.compareTo/1': (a: unknown, b: unknown) => {
    if (a instanceof CelSemver) return BigInt(a.compareTo(semverOf(b, 'compareTo')));
    return BigInt(qOf(a, 'compareTo').compareTo(qOf(b, 'compareTo')));
  },
  '.isLessThan/1': (a: unknown, b: unknown) => {
    if (a instanceof CelSemver) return a.compareTo(semverOf(b, 'isLessThan')) < 0;
    return qOf(a, 'isLessThan').compareTo(qOf(b, 'isLessThan')) < 0;
  },
  '.isGreaterThan/1': (a: unknown, b: unknown) => {
    if (a instanceof CelSemver) return a.compareTo(semverOf(b, 'isGreaterThan')) > 0;
    return qOf(a, 'isGreaterThan').compareTo(qOf(b, 'isGreaterThan')) > 0;
  },
  // semver
  'semver/1': (v: unknown) => (v instanceof CelSemver ? v : CelSemver.parse(str(v, 'semver'))),
  'semver/2': (v: unknown, n: unknown) => CelSemver.parse(str(v, 'semver'), n === true),
  'isSemver/1': (v: unknown) => safe(() => CelSemver.parse(str(v, 'isSemver'))),
  'isSemver/2': (v: unknown, n: unknown) => safe(() => CelSemver.parse(str(v, 'isSemver'), n === true)),
  '.major/0': (v: unknown) => semverOf(v, 'major').v.major,
  '.minor/0': (v: unknown) => semverOf(v, 'minor').v.minor,
  '.patch/0': (v: unknown) => semverOf(v, 'patch').v.patch,
  // format
  'format.named/1': (v: unknown) => {
    const name = str(v, 'format.named');
    return Object.hasOwn(FORMATS, name) ? CelOptional.of(new CelFormat(name)) : CelOptional.NONE;
  },
  '.validate/1': (f: unknown, s: unknown) => {
    if (!(f instanceof CelFormat)) throw noOverload('validate', f, s);
    return f.validate(str(s, 'validate'));
  },
};
for (const name of Object.keys(FORMATS)) k8s[`format.${name}/0`] = () => new CelFormat(name);

export const K8S_FUNCTIONS: CelFunctionTable = k8s;
