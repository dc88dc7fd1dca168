// Go (RE2) regular expressions as Kyverno's regex_* functions use them, run on
// JavaScript RegExp: the common syntax is the same; this maps what differs
// (leading (?flags), (?P<name>...), \A, \z, \Q...\E) and Go's replacement
// templates ($1, ${1}, $name, ${name}, $$).

const cache = new Map<string, RegExp>();
const CACHE_LIMIT = 256;

function escapeLiteral(s: string): string {
  return s.replace(/[\\^$.*+?()[\]{}|/-]/g, '\\$&');
}

/** Compiles a Go regular expression (global flag set). Throws SyntaxError. */
export function compileGoRegex(pattern: string): RegExp {
  const hit = cache.get(pattern);
  if (hit) {
    hit.lastIndex = 0;
    return hit;
  }
  let src = pattern;
  let flags = 'g';
  const lead = /^\(\?([imsU]+)\)/.exec(src);
  if (lead) {
    if (lead[1].includes('U')) throw new SyntaxError(`unsupported flag U in regular expression ${pattern}`);
    for (const f of new Set(lead[1])) flags += f;
    src = src.slice(lead[0].length);
  }
  src = src
    .replace(/\\Q([\s\S]*?)(?:\\E|$)/g, (_m, lit: string) => escapeLiteral(lit))
    .replace(/\(\?P</g, '(?<')
    .replace(/\\A/g, '^')
    .replace(/\\z/g, '(?![\\s\\S])');
  let re: RegExp;
  try {
    re = new RegExp(src, flags + 'u');
  } catch {
    re = new RegExp(src, flags); // tolerate escapes that unicode mode rejects (e.g. \-)
  }
  cache.set(pattern, re);
  if (cache.size > CACHE_LIMIT) cache.delete(cache.keys().next().value as string);
  return re;
}

/** Go regexp.MatchString: true when the pattern matches anywhere in s. */
export function goRegexMatch(pattern: string, s: string): boolean {
  const re = compileGoRegex(pattern);
  re.lastIndex = 0;
  return re.test(s);
}

/** Expands a Go replacement template for one match. */
function expandTemplate(template: string, m: RegExpExecArray): string {
  let out = '';
  for (let i = 0; i < template.length; i++) {
    const c = template[i];
    if (c !== '$') {
      out += c;
      continue;
    }
    if (template[i + 1] === '$') {
      out += '$';
      i++;
      continue;
    }
    let name: string | undefined;
    let end = i;
    if (template[i + 1] === '{') {
      const close = template.indexOf('}', i + 2);
      const inner = close === -1 ? '' : template.slice(i + 2, close);
      if (close !== -1 && /^\w+$/.test(inner)) {
        name = inner;
        end = close;
      }
    } else {
      const w = /^\w+/.exec(template.slice(i + 1));
      if (w) {
        name = w[0];
        end = i + w[0].length;
      }
    }
    if (name === undefined) {
      out += '$'; // malformed reference: kept literally
      continue;
    }
    if (/^\d+$/.test(name)) out += m[Number(name)] ?? '';
    else out += m.groups?.[name] ?? '';
    i = end;
  }
  return out;
}

/** Go Regexp.ReplaceAllString (template) or ReplaceAllLiteralString. */
export function goRegexReplaceAll(pattern: string, s: string, replacement: string, literal: boolean): string {
  const re = compileGoRegex(pattern);
  re.lastIndex = 0;
  return s.replace(re, (...args: unknown[]) => {
    if (literal) return replacement;
    // rebuild a RegExpExecArray-like view from replace() callback arguments
    const hasGroups = typeof args[args.length - 1] === 'object' && args[args.length - 1] !== null;
    const groups = hasGroups ? (args[args.length - 1] as Record<string, string>) : undefined;
    const captures = args.slice(0, hasGroups ? -3 : -2) as string[];
    const m = Object.assign([...captures], { groups, index: 0, input: s }) as unknown as RegExpExecArray;
    return expandTemplate(replacement, m);
  });
}
