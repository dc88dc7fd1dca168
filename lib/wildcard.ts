// The one Kyverno wildcard matcher (Kyverno's ext/wildcard semantics), used
// everywhere a policy takes a wildcard: imageReferences, skipImageReferences,
// match/exclude kinds, names, namespaces and annotations,
// validationFailureActionOverrides namespaces, keyless subject/issuer
// wildcards, condition operators (Equals, AnyIn, ...) and JMESPath `wildcard`:
//   `*` matches any run of characters, including none, `/` and `:`
//   `?` matches exactly one character
//   everything else is literal (no regex, no character classes, no escapes).
// The pattern is never compiled to a RegExp. The matcher is the classic
// two-pointer algorithm that remembers only the last `*`: O(len(pattern) *
// len(text)) in the worst case, never exponential, so patterns such as
// `*a*a*a*a*b` cannot stall an admission request.

const SURROGATE = /[\ud800-\udfff]/;

/** True when `text` matches the Kyverno wildcard `pattern` as a whole. */
export function matchesPattern(pattern: string, text: string): boolean {
  if (pattern === '*') return true;
  if (pattern === text) return true;
  if (!pattern.includes('*') && !pattern.includes('?')) return false;
  // Work on code points so `?` consumes one character, not half a surrogate pair
  // (without surrogates a UTF-16 unit is a code point: no copy is needed).
  const p: ArrayLike<string> = SURROGATE.test(pattern) ? Array.from(pattern) : pattern;
  const s: ArrayLike<string> = SURROGATE.test(text) ? Array.from(text) : text;
  let pi = 0;
  let si = 0;
  let star = -1; // index in p of the last `*` seen
  let starSi = 0; // position in s that the last `*` currently extends to
  while (si < s.length) {
    const pc = p[pi];
    if (pi < p.length && pc === '*') {
      star = pi;
      starSi = si;
      pi++;
    } else if (pi < p.length && (pc === '?' || pc === s[si])) {
      pi++;
      si++;
    } else if (star >= 0) {
      // let the last `*` absorb one more character and retry after it
      pi = star + 1;
      starSi++;
      si = starSi;
    } else {
      return false;
    }
  }
  while (pi < p.length && p[pi] === '*') pi++;
  return pi === p.length;
}

/** True when the pattern contains a wildcard (`*` or `?`). */
export function containsWildcard(pattern: string): boolean {
  return pattern.includes('*') || pattern.includes('?');
}
