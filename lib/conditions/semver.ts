// Semantic versions (semver 2.0.0, strict MAJOR.MINOR.PATCH as parsed by
// blang/semver, which Kyverno uses) and the range syntax of semver_compare():
// operators > >= < <= = == ! !=, AND by space, OR by "||", "x" wildcards.

export interface SemVer {
  major: bigint;
  minor: bigint;
  patch: bigint;
  pre: (string | bigint)[];
}

const NUM = '(0|[1-9]\\d*)';
const IDENT = '[0-9A-Za-z-]+';
const SEMVER_RE = new RegExp(
  `^${NUM}\\.${NUM}\\.${NUM}(?:-(${IDENT}(?:\\.${IDENT})*))?(?:\\+(${IDENT}(?:\\.${IDENT})*))?$`,
);

/** Parses a strict semantic version; undefined when invalid. */
export function parseSemver(text: string): SemVer | undefined {
  const m = SEMVER_RE.exec(text);
  if (!m) return undefined;
  const pre: (string | bigint)[] = [];
  if (m[4] !== undefined) {
    for (const p of m[4].split('.')) {
      if (/^\d+$/.test(p)) {
        if (p.length > 1 && p.startsWith('0')) return undefined; // no leading zeros in numeric identifiers
        pre.push(BigInt(p));
      } else pre.push(p);
    }
  }
  return { major: BigInt(m[1]), minor: BigInt(m[2]), patch: BigInt(m[3]), pre };
}

function cmp<T>(a: T, b: T): -1 | 0 | 1 {
  return a < b ? -1 : a > b ? 1 : 0;
}

export function compareSemver(a: SemVer, b: SemVer): -1 | 0 | 1 {
  const c = cmp(a.major, b.major) || cmp(a.minor, b.minor) || cmp(a.patch, b.patch);
  if (c) return c;
  if (a.pre.length === 0 || b.pre.length === 0) return cmp(a.pre.length === 0 ? 1 : 0, b.pre.length === 0 ? 1 : 0);
  for (let i = 0; i < Math.max(a.pre.length, b.pre.length); i++) {
    const x = a.pre[i];
    const y = b.pre[i];
    if (x === undefined) return -1;
    if (y === undefined) return 1;
    if (typeof x === typeof y) {
      const r = cmp(x, y);
      if (r) return r;
    } else return typeof x === 'bigint' ? -1 : 1; // numeric identifiers sort before alphanumeric ones
  }
  return 0;
}

type Op = '>' | '>=' | '<' | '<=' | '=' | '!=';
type Comparator = { op: Op; v: SemVer };

/** Expands one "op version" token (with x wildcards) into comparators (AND) or alternatives (OR). */
function expandToken(token: string): Comparator[][] {
  const m = /^(>=|<=|>|<|==|=|!=|!)?(.+)$/.exec(token);
  if (!m) throw new RangeError(`invalid version constraint "${token}"`);
  let op = (m[1] ?? '=') as string;
  if (op === '==') op = '=';
  if (op === '!') op = '!=';
  const parts = m[2].split('.');
  const wildcard = (p: string | undefined) => p === undefined || p === 'x' || p === 'X' || p === '*';
  const wildIdx = parts.findIndex((p) => wildcard(p));
  if (wildIdx === -1 || parts.length > 3 || (parts.length === 3 && wildIdx === -1)) {
    const v = parseSemver(m[2]);
    if (!v) throw new RangeError(`invalid version "${m[2]}"`);
    return [[{ op: op as Op, v }]];
  }
  // wildcard: parts before wildIdx are fixed numbers, the rest are x
  const nums = parts.slice(0, wildIdx).map((p) => {
    if (!/^\d+$/.test(p)) throw new RangeError(`invalid version "${m[2]}"`);
    return BigInt(p);
  });
  if (parts.slice(wildIdx).some((p) => !wildcard(p))) throw new RangeError(`invalid version "${m[2]}"`);
  const lower: SemVer = { major: nums[0] ?? 0n, minor: nums[1] ?? 0n, patch: 0n, pre: [] };
  const upper: SemVer = nums.length === 0
    ? { major: 0n, minor: 0n, patch: 0n, pre: [] }
    : nums.length === 1
    ? { major: nums[0] + 1n, minor: 0n, patch: 0n, pre: [] }
    : { major: nums[0], minor: nums[1] + 1n, patch: 0n, pre: [] };
  if (nums.length === 0) {
    // "x" alone: any version (or none, negated)
    return op === '!=' || op === '>' || op === '<' ? [[{ op: '<', v: lower }]] : [[{ op: '>=', v: lower }]];
  }
  switch (op) {
    case '>':
      return [[{ op: '>=', v: upper }]];
    case '>=':
      return [[{ op: '>=', v: lower }]];
    case '<':
      return [[{ op: '<', v: lower }]];
    case '<=':
      return [[{ op: '<', v: upper }]];
    case '!=':
      return [[{ op: '<', v: lower }], [{ op: '>=', v: upper }]];
    default:
      return [[{ op: '>=', v: lower }, { op: '<', v: upper }]];
  }
}

function test(c: Comparator, v: SemVer): boolean {
  const r = compareSemver(v, c.v);
  switch (c.op) {
    case '>':
      return r > 0;
    case '>=':
      return r >= 0;
    case '<':
      return r < 0;
    case '<=':
      return r <= 0;
    case '=':
      return r === 0;
    case '!=':
      return r !== 0;
  }
}

/**
 * True when `version` satisfies `range` ("1.2.3", ">=1.0.0 <2.0.0", "<2.0.0 || >=3.0.0", "!4.x.x").
 * Throws RangeError for an invalid version or range.
 */
export function semverSatisfies(version: string, range: string): boolean {
  const v = parseSemver(version);
  if (!v) throw new RangeError(`invalid version "${version}"`);
  const alternatives = range.split('||').map((s) => s.trim());
  if (alternatives.some((a) => a === '')) throw new RangeError(`invalid version range "${range}"`);
  return alternatives.some((alt) => {
    // "> 1.0.0" is written with a space after the operator in some policies
    const tokens = alt.replace(/(>=|<=|!=|==|[><=!])\s+/g, '$1').split(/\s+/);
    // every token is a set of OR'ed AND-groups; the alternative holds when every token holds
    return tokens.every((tok) => expandToken(tok).some((group) => group.every((c) => test(c, v))));
  });
}
