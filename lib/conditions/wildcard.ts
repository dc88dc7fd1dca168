// Kyverno wildcard patterns: `*` matches any run of characters (including none,
// '/' and ':'), `?` matches exactly one character. Everything else is literal.

/** True when `name` matches the wildcard `pattern` (the whole string). */
export function wildcardMatch(pattern: string, name: string): boolean {
  if (pattern === '*') return true;
  if (!hasWildcard(pattern)) return pattern === name;
  const p = Array.from(pattern);
  const s = Array.from(name);
  let pi = 0;
  let si = 0;
  let star = -1;
  let mark = 0;
  while (si < s.length) {
    if (pi < p.length && (p[pi] === '?' || (p[pi] !== '*' && p[pi] === s[si]))) {
      pi++;
      si++;
    } else if (pi < p.length && p[pi] === '*') {
      star = pi++;
      mark = si;
    } else if (star >= 0) {
      pi = star + 1;
      si = ++mark;
    } else {
      return false;
    }
  }
  while (pi < p.length && p[pi] === '*') pi++;
  return pi === p.length;
}

export function hasWildcard(s: string): boolean {
  return s.includes('*') || s.includes('?');
}
