// Go's strings package where the condition languages follow it: CEL's
// strings extension (cel-go) and Kyverno's JMESPath functions are Go code,
// so their string functions give Go's answers, edge cases included.

/**
 * Go strings.Replace: the first `n` non-overlapping `old` in `s` replaced by
 * `repl`, left to right (n < 0: all). An empty `old` matches before every
 * code point and at the end, as Go's does for UTF-8 runes.
 */
export function goReplace(s: string, old: string, repl: string, n: number): string {
  if (n === 0 || old === repl) return s;
  if (old === '') {
    const cps = Array.from(s);
    let out = '';
    let done = 0;
    for (let i = 0; i <= cps.length; i++) {
      if (n < 0 || done < n) {
        out += repl;
        done++;
      }
      if (i < cps.length) out += cps[i];
    }
    return out;
  }
  let out = '';
  let i = 0;
  let done = 0;
  while (n < 0 || done < n) {
    const j = s.indexOf(old, i);
    if (j < 0) break;
    out += s.slice(i, j) + repl;
    i = j + old.length;
    done++;
  }
  return out + s.slice(i);
}
