// The small part of gopkg.in/yaml.v2's Marshal that Kyverno's messages depend on: block
// mappings of strings (policy -> rule -> message). Reproduced behaviour:
//   - keys sorted with yaml.v2's "natural" order (letters after non-letters, digit runs
//     compared as numbers);
//   - scalar style: plain when possible; single-quoted when plain is not allowed (e.g. the
//     text contains ": " or " #", starts with an indicator, has leading/trailing spaces);
//     double-quoted when the plain text would read as another type (`true`, `1.5`, `null`,
//     `""`, dates, `1:20`) or has non-printable characters; literal block for text with
//     newlines;
//   - line folding at column 80 (best_width): a space after column 80 becomes a line break
//     followed by the scalar's indentation (mapping indent + 2).
// Not handled: keys longer than 128 bytes (yaml.v2 would switch to `? ` complex keys) and
// the finer points of literal blocks holding U+2028/U+2029.

export type YamlStringMap = { [key: string]: string | YamlStringMap };

const BEST_WIDTH = 80;
const BEST_INDENT = 2;

type Style = 'plain' | 'single' | 'double' | 'literal';

function cp(ch: string): number {
  return ch.codePointAt(0) as number;
}

function isBreak(ch: string): boolean {
  return ch === '\r' || ch === '\n' || ch === '\u0085' || ch === '\u2028' || ch === '\u2029';
}

function isBlank(ch: string | undefined): boolean {
  return ch === ' ' || ch === '\t';
}

/** go-yaml's is_printable, per code point. */
function isPrintable(ch: string): boolean {
  const c = cp(ch);
  return (
    c === 0x0a ||
    (c >= 0x20 && c <= 0x7e) ||
    (c >= 0xa0 && c <= 0xd7ff) ||
    (c >= 0xe000 && c <= 0xfffd && c !== 0xfeff)
  );
}

interface Analysis {
  multiline: boolean;
  blockPlainAllowed: boolean;
  singleQuotedAllowed: boolean;
  blockAllowed: boolean;
}

function analyze(chars: string[]): Analysis {
  const n = chars.length;
  if (n === 0) return { multiline: false, blockPlainAllowed: true, singleQuotedAllowed: true, blockAllowed: false };
  let blockIndicators = false;
  let lineBreaks = false;
  let special = false;
  let leadingSpace = false;
  let leadingBreak = false;
  let trailingSpace = false;
  let trailingBreak = false;
  let breakSpace = false;
  let spaceBreak = false;
  let previousSpace = false;
  let previousBreak = false;
  const head = chars.slice(0, 3).join('');
  if (head === '---' || head === '...') blockIndicators = true;
  let precededByWhitespace = true;
  for (let i = 0; i < n; i++) {
    const c = chars[i];
    const followedByWhitespace = i + 1 >= n || isBlank(chars[i + 1]) || isBreak(chars[i + 1]);
    if (i === 0) {
      if ('#,[]{}&*!|>\'"%@`'.includes(c)) blockIndicators = true;
      else if ((c === '?' || c === ':' || c === '-') && followedByWhitespace) blockIndicators = true;
    } else if (c === ':' && followedByWhitespace) {
      blockIndicators = true;
    } else if (c === '#' && precededByWhitespace) {
      blockIndicators = true;
    }
    if (!isPrintable(c)) special = true;
    if (c === ' ') {
      if (i === 0) leadingSpace = true;
      if (i === n - 1) trailingSpace = true;
      if (previousBreak) breakSpace = true;
      previousSpace = true;
      previousBreak = false;
    } else if (isBreak(c)) {
      lineBreaks = true;
      if (i === 0) leadingBreak = true;
      if (i === n - 1) trailingBreak = true;
      if (previousSpace) spaceBreak = true;
      previousSpace = false;
      previousBreak = true;
    } else {
      previousSpace = false;
      previousBreak = false;
    }
    precededByWhitespace = isBlank(c) || isBreak(c);
  }
  const a: Analysis = { multiline: lineBreaks, blockPlainAllowed: true, singleQuotedAllowed: true, blockAllowed: true };
  if (leadingSpace || leadingBreak || trailingSpace || trailingBreak) a.blockPlainAllowed = false;
  if (trailingSpace) a.blockAllowed = false;
  if (breakSpace) {
    a.blockPlainAllowed = false;
    a.singleQuotedAllowed = false;
  }
  if (spaceBreak || special) {
    a.blockPlainAllowed = false;
    a.singleQuotedAllowed = false;
    a.blockAllowed = false;
  }
  if (lineBreaks) a.blockPlainAllowed = false;
  if (blockIndicators) a.blockPlainAllowed = false;
  return a;
}

const RESOLVE_MAP = new Set([
  '',
  '~',
  'null',
  'Null',
  'NULL',
  'y',
  'Y',
  'yes',
  'Yes',
  'YES',
  'true',
  'True',
  'TRUE',
  'on',
  'On',
  'ON',
  'n',
  'N',
  'no',
  'No',
  'NO',
  'false',
  'False',
  'FALSE',
  'off',
  'Off',
  'OFF',
  '.nan',
  '.NaN',
  '.NAN',
  '.inf',
  '.Inf',
  '.INF',
  '+.inf',
  '+.Inf',
  '+.INF',
  '-.inf',
  '-.Inf',
  '-.INF',
  '<<',
]);
const GO_INT = /^[-+]?(?:0[xX][0-9a-fA-F]+|0[oO][0-7]+|0[bB][01]+|0[0-7]*|[1-9][0-9]*)$/;
const YAML_FLOAT = /^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?$/;
const BASE60_FLOAT = /^[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?$/;
const TIMESTAMP =
  /^[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}(?:(?:[Tt]| )[0-9]{1,2}:[0-9]{1,2}:[0-9]{1,2}(?:\.[0-9]+)?(?:Z|[-+][0-9]{2}:[0-9]{2})?)?$/;

function fitsGoInt(s: string): boolean {
  try {
    let t = s;
    let neg = false;
    if (t[0] === '+' || t[0] === '-') {
      neg = t[0] === '-';
      t = t.slice(1);
    }
    let v: bigint;
    if (/^0[oO]/.test(t)) v = BigInt('0o' + t.slice(2));
    else if (/^0[0-7]+$/.test(t)) v = BigInt('0o' + t.slice(1));
    else v = BigInt(t);
    return neg ? v <= 2n ** 63n : v <= 2n ** 64n - 1n;
  } catch {
    return false;
  }
}

/** yaml.v2 resolve(): would this text, written plain, read back as something else than a string? */
function resolvesToNonString(s: string): boolean {
  if (RESOLVE_MAP.has(s)) return true;
  const first = s[0];
  if (first === '.') return YAML_FLOAT.test(s);
  if (first === '+' || first === '-' || (first >= '0' && first <= '9')) {
    if (TIMESTAMP.test(s)) return true;
    const plain = s.replace(/_/g, '');
    if (GO_INT.test(plain) && fitsGoInt(plain)) return true;
    if (YAML_FLOAT.test(plain) && Number.isFinite(Number(plain))) return true;
  }
  return false;
}

function chooseStyle(text: string, chars: string[], simpleKey: boolean): Style {
  let style: Style;
  const canUsePlain = !resolvesToNonString(text) && !BASE60_FLOAT.test(text);
  if (text.includes('\n')) style = 'literal';
  else if (canUsePlain) style = 'plain';
  else style = 'double';
  const a = analyze(chars);
  if (simpleKey && a.multiline) return 'double';
  if (style === 'plain') {
    if (!a.blockPlainAllowed) style = 'single';
    if (chars.length === 0 && simpleKey) style = 'single';
  }
  if (style === 'single' && !a.singleQuotedAllowed) style = 'double';
  if (style === 'literal' && (!a.blockAllowed || simpleKey)) style = 'double';
  return style;
}

const ESCAPES: Record<string, string> = {
  '\0': '0',
  '\x07': 'a',
  '\b': 'b',
  '\t': 't',
  '\n': 'n',
  '\v': 'v',
  '\f': 'f',
  '\r': 'r',
  '\x1b': 'e',
  '"': '"',
  '\\': '\\',
  '\u0085': 'N',
  '\u00a0': '_',
  '\u2028': 'L',
  '\u2029': 'P',
};

function escapeChar(ch: string): string {
  if (Object.hasOwn(ESCAPES, ch)) return '\\' + ESCAPES[ch];
  const v = cp(ch);
  const hex = v.toString(16).toUpperCase();
  if (v <= 0xff) return '\\x' + hex.padStart(2, '0');
  if (v <= 0xffff) return '\\u' + hex.padStart(4, '0');
  return '\\U' + hex.padStart(8, '0');
}

/** Writes a scalar starting at `column`; returns the text and the column after it. */
function writeScalar(
  chars: string[],
  style: Style,
  column: number,
  indent: number,
  allowBreaks: boolean,
): { text: string; column: number } {
  let out = '';
  let col = column;
  const n = chars.length;
  const newline = (): void => {
    out += '\n' + ' '.repeat(indent);
    col = indent;
  };
  // `width` is in characters (one per code point), as go-yaml counts columns
  const put = (text: string, width = 1): void => {
    out += text;
    col += width;
  };
  if (style === 'plain' || style === 'single' || style === 'double') {
    const quote = style === 'single' ? "'" : style === 'double' ? '"' : '';
    if (quote) put(quote);
    let spaces = false;
    for (let i = 0; i < n; i++) {
      const c = chars[i];
      if (style === 'double' && (!isPrintable(c) || c === '\ufeff' || isBreak(c) || c === '"' || c === '\\')) {
        const e = escapeChar(c);
        put(e, e.length);
        spaces = false;
      } else if (c === ' ') {
        // plain scalars may break at their first and last space, quoted ones not
        const inner = style === 'plain' || (i > 0 && i < n - 1);
        // a double-quoted break before a second space escapes it; the others never break there
        const canBreak = allowBreaks && !spaces && col > BEST_WIDTH && inner &&
          (style === 'double' || chars[i + 1] !== ' ');
        if (canBreak) {
          newline();
          if (style === 'double' && chars[i + 1] === ' ') put('\\');
        } else put(' ');
        spaces = true;
      } else {
        if (style === 'single' && c === "'") put("'");
        put(c);
        spaces = false;
      }
    }
    if (quote) put(quote);
    return { text: out, column: col };
  }
  // literal block
  out += '|';
  if (chars[0] === ' ' || isBreak(chars[0])) out += String(BEST_INDENT);
  const text = chars.join('');
  if (!text.endsWith('\n')) out += '-';
  else if (text === '\n' || text.endsWith('\n\n')) out += '+';
  const lines = text.split('\n');
  out += '\n';
  lines.forEach((line, i) => {
    if (line !== '') out += ' '.repeat(indent) + line;
    if (i < lines.length - 1) out += '\n';
  });
  const last = lines[lines.length - 1];
  return { text: out, column: last === '' ? 0 : indent + Array.from(last).length };
}

function isLetter(ch: string): boolean {
  return /^\p{L}$/u.test(ch);
}

function isDigit(ch: string): boolean {
  return /^\p{Nd}$/u.test(ch);
}

/** yaml.v2 keyList.Less for string keys. */
export function yamlKeyLess(a: string, b: string): boolean {
  const ar = Array.from(a);
  const br = Array.from(b);
  for (let i = 0; i < ar.length && i < br.length; i++) {
    if (ar[i] === br[i]) continue;
    const al = isLetter(ar[i]);
    const bl = isLetter(br[i]);
    if (al && bl) return cp(ar[i]) < cp(br[i]);
    if (al || bl) return bl;
    let an = 0;
    let bn = 0;
    if (ar[i] === '0' || br[i] === '0') {
      for (let j = i - 1; j >= 0 && isDigit(ar[j]); j--) {
        if (ar[j] !== '0') {
          an = 1;
          bn = 1;
          break;
        }
      }
    }
    let ai = i;
    let bi = i;
    for (; ai < ar.length && isDigit(ar[ai]); ai++) an = an * 10 + (cp(ar[ai]) - 48);
    for (; bi < br.length && isDigit(br[bi]); bi++) bn = bn * 10 + (cp(br[bi]) - 48);
    if (an !== bn) return an < bn;
    if (ai !== bi) return ai < bi;
    return cp(ar[i]) < cp(br[i]);
  }
  return ar.length < br.length;
}

const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

function emitMapping(map: YamlStringMap, indent: number, state: { out: string; column: number }): void {
  const keys = Object.keys(map).sort((a, b) => (yamlKeyLess(a, b) ? -1 : yamlKeyLess(b, a) ? 1 : 0));
  for (const key of keys) {
    // write_indent: new line unless already at the start of one, then pad to the indent
    if (state.column > 0) {
      state.out += '\n';
      state.column = 0;
    }
    state.out += ' '.repeat(indent);
    state.column = indent;
    const kchars = Array.from(key.replace(LONE_SURROGATE, '\ufffd'));
    const k = writeScalar(
      kchars,
      chooseStyle(kchars.join(''), kchars, true),
      state.column,
      indent + BEST_INDENT,
      false,
    );
    state.out += k.text + ':';
    state.column = k.column + 1;
    const value = map[key];
    if (typeof value === 'string') {
      const vchars = Array.from(value.replace(LONE_SURROGATE, '\ufffd'));
      state.out += ' ';
      state.column++;
      const v = writeScalar(
        vchars,
        chooseStyle(vchars.join(''), vchars, false),
        state.column,
        indent + BEST_INDENT,
        true,
      );
      state.out += v.text;
      state.column = v.column;
    } else if (Object.keys(value).length === 0) {
      state.out += ' {}';
      state.column += 3;
    } else {
      emitMapping(value, indent + BEST_INDENT, state);
    }
  }
}

/** yaml.v2 Marshal of a nested string map (ends with a newline; `{}` for an empty map). */
export function toGoYaml(map: YamlStringMap): string {
  if (Object.keys(map).length === 0) return '{}\n';
  const state = { out: '', column: 0 };
  emitMapping(map, 0, state);
  if (state.column > 0) state.out += '\n';
  return state.out;
}
