// "Did you mean" for mistyped commands and options: the closest known name by
// edit distance, offered only when it is close enough to be a likely typo.

/** Levenshtein distance, with a transposition counted as one edit. */
export function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0]![j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) v = Math.min(v, d[i - 2]![j - 2]! + 1);
      d[i]![j] = v;
    }
  }
  return d[a.length]![b.length]!;
}

/** The known name closest to `word`, when within a third of its length (at least 1, at most 3 edits); a known name that `word` is a prefix of or that extends it by a plural counts too. */
export function closest(word: string, known: Iterable<string>): string | undefined {
  let best: string | undefined;
  let bestD = Infinity;
  const limit = Math.min(3, Math.max(1, Math.floor(word.length / 3)));
  for (const k of known) {
    if (k === word) return undefined;
    const dist = editDistance(word, k);
    if (dist < bestD) {
      bestD = dist;
      best = k;
    }
  }
  return best !== undefined && bestD <= limit ? best : undefined;
}

/**
 * Adds "did you mean" hints to yargs' "Unknown argument(s): a, b" message.
 * `options` are the option names of the command; `commands` the command names
 * (offered for a word that is not an option on the command line).
 */
export function withSuggestions(
  message: string,
  options: Iterable<string>,
  commands: Iterable<string>,
  argv: string[],
): string {
  const isOption = (w: string) =>
    argv.some((a) => a === `--${w}` || a.startsWith(`--${w}=`) || a === `-${w}` || a === `--no-${w}`);
  const m = /^Unknown arguments?: (.*)$/.exec(message);
  if (!m) return message;
  const hints: string[] = [];
  const opts = [...options];
  const cmds = [...commands];
  const seen = new Set<string>();
  for (const raw of m[1]!.split(', ')) {
    const word = raw.trim();
    const key = word.replace(/[A-Z]/g, (ch) => '-' + ch.toLowerCase());
    if (seen.has(key)) continue;
    seen.add(key);
    if (!isOption(word) && !isOption(key)) {
      const c = closest(word, cmds);
      if (c) hints.push(`"${word}": did you mean the command "${c}"?`);
      continue;
    }
    // yargs reports options camel-cased as well as dashed: compare dashed names
    const dashed = word.replace(/[A-Z]/g, (ch) => '-' + ch.toLowerCase());
    const o = closest(dashed, opts.filter((x) => x.length > 1));
    if (o) hints.push(`--${dashed}: did you mean --${o}?`);
  }
  const words = [...seen].map((w) => (isOption(w) ? (w.length === 1 ? `-${w}` : `--${w}`) : w));
  const head = `Unknown argument${words.length === 1 ? '' : 's'}: ${words.join(', ')}`;
  return hints.length ? `${head}\n${hints.join('\n')}` : head;
}
