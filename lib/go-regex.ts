// Go regular expressions (package regexp: RE2 syntax, leftmost-first, linear
// time) for every pattern that comes from a policy, a flag or a request:
// Kyverno's regex_* JMESPath functions, CEL's matches() and Kubernetes'
// find / findAll, keyless subjectRegExp / issuerRegExp and cosign's
// --certificate-*-regexp flags.
// Kyverno and cosign compile these with Go's regexp; a backtracking engine
// (JavaScript's RegExp) takes exponential time on patterns such as
// ^([a-z0-9]+[-_.]?)+$ and blocks the event loop, so none is used here.
//
// The engine is re2js, a port of RE2/J (itself a port of Go's regexp): Go's
// syntax ((?flags), (?P<name>..) and (?<name>..), \A, \z, \Q..\E,
// [[:alpha:]], \pL), Go's limits (repeat counts up to 1000, nesting depth
// 1000) and Go's refusals (backreferences, lookaround, possessive
// quantifiers, \Z, \C: a syntax error, as in Go). What re2js does the
// JavaScript way is done here as Go does it: the ReplaceAll and FindAll loops
// (an empty match right after a match does not count) and the $1 / ${name}
// template expansion. Known difference: a pattern that names two groups alike
// is refused (Go accepts it).

import { RE2JS, RE2JSException } from 're2js';

/** A pattern Go's regexp.Compile would refuse; the message is Go's ("error parsing regexp: ..."). */
export class GoRegexSyntaxError extends SyntaxError {
  readonly pattern: string;
  constructor(pattern: string, message: string) {
    super(message);
    this.name = 'GoRegexSyntaxError';
    this.pattern = pattern;
  }
}

/** A compiled Go regular expression. Every method runs in time linear in the input. */
export interface GoRegex {
  readonly pattern: string;
  /** regexp.MatchString: a match anywhere in s */
  test(s: string): boolean;
  /** the whole of s matches (an anchored match at both ends) */
  matchesWhole(s: string): boolean;
  /** Regexp.ReplaceAllString: every match replaced by the expanded template ($1, ${1}, $name, ${name}, $$) */
  replaceAll(s: string, template: string): string;
  /** Regexp.ReplaceAllLiteralString */
  replaceAllLiteral(s: string, replacement: string): string;
  /** Regexp.FindString: the leftmost match, undefined when there is none */
  find(s: string): string | undefined;
  /** Regexp.FindAllString(s, n): successive non-overlapping matches (n < 0: all), an empty match right after a match skipped */
  findAll(s: string, n?: number): string[];
}

const cache = new Map<string, GoRegex>();
const CACHE_LIMIT = 256;

/** Compiles a Go regular expression (cached). Throws GoRegexSyntaxError. */
export function compileGoRegex(pattern: string): GoRegex {
  const hit = cache.get(pattern);
  if (hit) {
    cache.delete(pattern); // most recently used last
    cache.set(pattern, hit);
    return hit;
  }
  let re: RE2JS;
  try {
    re = RE2JS.compile(pattern);
  } catch (e) {
    if (e instanceof RE2JSException) throw new GoRegexSyntaxError(pattern, e.message);
    if (e instanceof RangeError) throw new GoRegexSyntaxError(pattern, 'error parsing regexp: expression too large');
    throw e;
  }
  const compiled = toGoRegex(pattern, re);
  cache.set(pattern, compiled);
  if (cache.size > CACHE_LIMIT) cache.delete(cache.keys().next().value as string);
  return compiled;
}

/** The Go syntax error of a pattern, or undefined when Go's regexp compiles it. */
export function getGoRegexError(pattern: string): string | undefined {
  try {
    compileGoRegex(pattern);
    return undefined;
  } catch (e) {
    if (e instanceof GoRegexSyntaxError) return e.message;
    throw e;
  }
}

/** Go regexp.MatchString: true when the pattern matches anywhere in s. Throws GoRegexSyntaxError. */
export function goRegexMatch(pattern: string, s: string): boolean {
  return compileGoRegex(pattern).test(s);
}

/** Go Regexp.ReplaceAllString (template) or ReplaceAllLiteralString. Throws GoRegexSyntaxError. */
export function goRegexReplaceAll(pattern: string, s: string, replacement: string, literal: boolean): string {
  const re = compileGoRegex(pattern);
  return literal ? re.replaceAllLiteral(s, replacement) : re.replaceAll(s, replacement);
}

function toGoRegex(pattern: string, re: RE2JS): GoRegex {
  const names = re.namedGroups();
  return {
    pattern,
    test: (s) => re.test(s),
    matchesWhole: (s) => re.testExact(s),
    replaceAll: (s, template) => replaceAll(re, s, (m) => expandTemplate(template, m, names, s)),
    replaceAllLiteral: (s, replacement) => replaceAll(re, s, () => replacement),
    find: (s) => {
      const m = re.matcher(s);
      return m.find(0) ? s.slice(m.start(0), m.end(0)) : undefined;
    },
    findAll: (s, n = -1) => findAll(re, s, n),
  };
}

// Go's Regexp.allMatches loop, as FindAllString runs it.
function findAll(re: RE2JS, s: string, n: number): string[] {
  const m = re.matcher(s);
  const out: string[] = [];
  let pos = 0;
  let prevMatchEnd = -1;
  while ((n < 0 || out.length < n) && pos <= s.length && m.find(pos)) {
    const start = m.start(0);
    const end = m.end(0);
    let accept = true;
    if (end === pos) {
      // an empty match: not right after the previous match; move on one character
      if (start === prevMatchEnd) accept = false;
      pos += pos < s.length ? codePointWidth(s, pos) : 1;
    } else {
      pos = end;
    }
    prevMatchEnd = end;
    if (accept) out.push(s.slice(start, end));
  }
  return out;
}

interface Match {
  start(group: number): number;
  end(group: number): number;
  groupCount(): number;
}

// Go's Regexp.replaceAll loop: successive non-overlapping matches; an empty
// match abutting the previous match is not replaced; the search advances at
// least one character (a code point: Go advances one UTF-8 sequence).
function replaceAll(re: RE2JS, s: string, replacement: (m: Match) => string): string {
  const m = re.matcher(s);
  let out = '';
  let lastMatchEnd = 0;
  let searchPos = 0;
  while (searchPos <= s.length && m.find(searchPos)) {
    const start = m.start(0);
    const end = m.end(0);
    out += s.slice(lastMatchEnd, start);
    if (end > lastMatchEnd || start === 0) out += replacement(m);
    lastMatchEnd = end;
    const width = searchPos < s.length ? codePointWidth(s, searchPos) : 0;
    if (searchPos + width > end) searchPos += width;
    else if (searchPos + 1 > end) searchPos++;
    else searchPos = end;
  }
  return out + s.slice(lastMatchEnd);
}

function codePointWidth(s: string, i: number): number {
  const c = s.charCodeAt(i);
  if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
    const d = s.charCodeAt(i + 1);
    if (d >= 0xdc00 && d <= 0xdfff) return 2;
  }
  return 1;
}

// A name in a template: Go's unicode.IsLetter, unicode.IsDigit or '_'.
const NAME_CHAR = /[\p{L}\p{Nd}_]/u;

// Go's Regexp.Expand for one match: $name or ${name} (name: letters, digits,
// '_'; as long as possible, so $1x is ${1x}); a number without a leading zero
// is a group index, anything else a group name; an unknown or unmatched group
// expands to nothing; $$ is '$'; a malformed reference keeps its '$'.
function expandTemplate(template: string, m: Match, names: Record<string, number>, s: string): string {
  const group = (i: number) => {
    if (i > m.groupCount()) return '';
    const start = m.start(i);
    return start < 0 ? '' : s.slice(start, m.end(i));
  };
  let out = '';
  let i = 0;
  while (i < template.length) {
    const dollar = template.indexOf('$', i);
    if (dollar === -1) break;
    out += template.slice(i, dollar);
    i = dollar + 1;
    if (template[i] === '$') {
      out += '$';
      i++;
      continue;
    }
    const brace = template[i] === '{';
    let j = brace ? i + 1 : i;
    const nameStart = j;
    while (j < template.length) {
      const cp = template.codePointAt(j)!;
      const ch = String.fromCodePoint(cp);
      if (!NAME_CHAR.test(ch)) break;
      j += ch.length;
    }
    const name = template.slice(nameStart, j);
    if (name === '' || (brace && template[j] !== '}')) {
      out += '$'; // malformed: the '$' is kept as text
      continue;
    }
    i = brace ? j + 1 : j;
    const num = /^(?:0|[1-9][0-9]{0,8})$/.test(name) ? Number(name) : -1;
    if (num >= 0) out += group(num);
    else if (Object.hasOwn(names, name)) out += group(names[name]!);
  }
  return out + template.slice(i);
}
