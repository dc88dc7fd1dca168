// CEL syntax -> sigward's CEL syntax tree (lib/conditions/cel-compile.ts
// compiles it). The grammar is cel-spec's (langdef.md), with the optional
// syntax (`a.?b`, `a[?b]`, `[?x]`, `{?k: v}`), quoted field names
// (`` a.`b-c` ``) and the macros of cel-go and its extensions expanded here:
// has, all, exists, exists_one/existsOne, map, filter (one or two
// variables), transformList, transformMap, transformMapEntry, cel.bind,
// cel.block (cel.index, cel.iterVar, cel.accuVar), optMap and optFlatMap.
//
// Nesting is bounded (MAX_DEPTH) so no input can overflow the stack.

import { CelUint } from './cel-values.ts';

export class CelSyntaxError extends Error {
  readonly offset: number;
  constructor(message: string, offset: number) {
    super(message);
    this.name = 'CelSyntaxError';
    this.offset = offset;
  }
}

export type ComprehensionKind =
  | 'all'
  | 'exists'
  | 'existsOne'
  | 'map'
  | 'filter'
  | 'transformList'
  | 'transformMap'
  | 'transformMapEntry';

export type CelNode =
  | { k: 'lit'; v: unknown; pos: number }
  | { k: 'ident'; name: string; abs: boolean; pos: number }
  | { k: 'select'; obj: CelNode; field: string; test: boolean; opt: boolean; pos: number }
  | { k: 'index'; obj: CelNode; idx: CelNode; opt: boolean; pos: number }
  | { k: 'call'; fn: string; target?: CelNode; args: CelNode[]; pos: number }
  | { k: 'list'; elems: CelNode[]; opt: boolean[]; pos: number }
  | { k: 'map'; entries: { key: CelNode; value: CelNode; opt: boolean }[]; pos: number }
  | { k: 'struct'; name: string; fields: { name: string; value: CelNode; opt: boolean }[]; pos: number }
  | { k: 'cond'; c: CelNode; t: CelNode; f: CelNode; pos: number }
  | { k: 'and' | 'or'; l: CelNode; r: CelNode; pos: number }
  | {
    k: 'compr';
    kind: ComprehensionKind;
    range: CelNode;
    v1: string;
    v2?: string;
    pred?: CelNode;
    expr?: CelNode;
    pos: number;
  }
  | { k: 'bind'; name: string; init: CelNode; body: CelNode; pos: number }
  | { k: 'block'; slots: CelNode[]; body: CelNode; pos: number }
  | { k: 'optMap'; target: CelNode; v: string; expr: CelNode; flat: boolean; pos: number };

/** Deepest nesting of the syntax tree accepted (cel-go's default recursion limit). */
export const MAX_DEPTH = 250;
/** Longest expression accepted, in characters. */
export const MAX_EXPRESSION_LENGTH = 100_000;

/** CEL's reserved words: never identifiers (true, false, null and in are reserved too). */
export const RESERVED = new Set([
  'as',
  'break',
  'const',
  'continue',
  'else',
  'for',
  'function',
  'if',
  'import',
  'let',
  'loop',
  'package',
  'namespace',
  'return',
  'var',
  'void',
  'while',
]);

type TokKind = 'ident' | 'int' | 'uint' | 'double' | 'string' | 'bytes' | 'op' | 'eof';
interface Tok {
  kind: TokKind;
  text: string;
  value?: unknown;
  pos: number;
  end: number;
}

const OPS2 = new Set(['==', '!=', '<=', '>=', '&&', '||', '.?', '[?']);
const OPS1 = new Set(['<', '>', '!', '+', '-', '*', '/', '%', '?', ':', '.', ',', '[', ']', '(', ')', '{', '}']);

const utf8 = new TextEncoder();

function isDigit(c: string): boolean {
  return c >= '0' && c <= '9';
}
function isIdentStart(c: string): boolean {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c === '_';
}
function isIdentPart(c: string): boolean {
  return isIdentStart(c) || isDigit(c);
}

class Lexer {
  readonly src: string;
  i = 0;
  constructor(src: string) {
    this.src = src;
  }

  fail(msg: string, at: number): never {
    throw new CelSyntaxError(msg, at);
  }

  skip(): void {
    const s = this.src;
    for (;;) {
      const c = s[this.i];
      if (c === ' ' || c === '\t' || c === '\n' || c === '\r' || c === '\f' || c === '\v') this.i++;
      else if (c === '/' && s[this.i + 1] === '/') {
        while (this.i < s.length && s[this.i] !== '\n') this.i++;
      } else return;
    }
  }

  next(): Tok {
    this.skip();
    const s = this.src;
    const start = this.i;
    if (start >= s.length) return { kind: 'eof', text: '', pos: start, end: start };
    const c = s[start];
    // string and bytes literals, with r/b prefixes
    let j = start;
    let raw = false;
    let bytes = false;
    while (j < s.length && j - start < 2 && /[rRbB]/.test(s[j])) {
      if (s[j] === 'r' || s[j] === 'R') {
        if (raw) break;
        raw = true;
      } else {
        if (bytes) break;
        bytes = true;
      }
      j++;
    }
    if ((s[j] === '"' || s[j] === "'") && (j === start || !isIdentPart(s[j - 1]) || true)) {
      if (j === start || /^[rRbB]{1,2}$/.test(s.slice(start, j))) return this.quoted(start, j, raw, bytes);
    }
    if (isIdentStart(c)) {
      let k = start + 1;
      while (k < s.length && isIdentPart(s[k])) k++;
      this.i = k;
      return { kind: 'ident', text: s.slice(start, k), pos: start, end: k };
    }
    if (isDigit(c) || (c === '.' && isDigit(s[start + 1] ?? ''))) return this.number(start);
    if (c === '`') {
      const close = s.indexOf('`', start + 1);
      if (close < 0) this.fail('unterminated quoted identifier', start);
      const name = s.slice(start + 1, close);
      if (!/^[A-Za-z0-9_.\-/ ]+$/.test(name)) this.fail(`invalid quoted identifier \`${name}\``, start);
      this.i = close + 1;
      return { kind: 'ident', text: name, value: 'quoted', pos: start, end: this.i };
    }
    const two = s.slice(start, start + 2);
    if (OPS2.has(two)) {
      this.i = start + 2;
      return { kind: 'op', text: two, pos: start, end: this.i };
    }
    if (OPS1.has(c)) {
      this.i = start + 1;
      return { kind: 'op', text: c, pos: start, end: this.i };
    }
    if (c === '=' || c === '&' || c === '|') this.fail(`unexpected character '${c}'`, start);
    this.fail(`unexpected character '${c}'`, start);
  }

  number(start: number): Tok {
    const s = this.src;
    let k = start;
    if (s[k] === '0' && (s[k + 1] === 'x' || s[k + 1] === 'X')) {
      k += 2;
      const h = k;
      while (k < s.length && /[0-9a-fA-F]/.test(s[k])) k++;
      if (k === h) this.fail('invalid hexadecimal literal', start);
      const v = BigInt('0x' + s.slice(h, k));
      if (s[k] === 'u' || s[k] === 'U') {
        this.i = k + 1;
        if (v > 0xffff_ffff_ffff_ffffn) this.fail('unsigned integer literal out of range', start);
        return { kind: 'uint', text: s.slice(start, k + 1), value: v, pos: start, end: this.i };
      }
      this.i = k;
      this.checkAfterNumber(start);
      return { kind: 'int', text: s.slice(start, k), value: v, pos: start, end: k };
    }
    while (k < s.length && isDigit(s[k])) k++;
    let isDouble = false;
    if (s[k] === '.' && isDigit(s[k + 1] ?? '')) {
      isDouble = true;
      k++;
      while (k < s.length && isDigit(s[k])) k++;
    }
    if (s[k] === 'e' || s[k] === 'E') {
      let e = k + 1;
      if (s[e] === '+' || s[e] === '-') e++;
      if (isDigit(s[e] ?? '')) {
        isDouble = true;
        k = e;
        while (k < s.length && isDigit(s[k])) k++;
      } else this.fail('invalid exponent in number literal', start);
    }
    const text = s.slice(start, k);
    if (isDouble) {
      this.i = k;
      this.checkAfterNumber(start);
      return { kind: 'double', text, value: Number(text), pos: start, end: k };
    }
    if (s[k] === 'u' || s[k] === 'U') {
      this.i = k + 1;
      const v = BigInt(text);
      if (v > 0xffff_ffff_ffff_ffffn) this.fail('unsigned integer literal out of range', start);
      return { kind: 'uint', text: text + 'u', value: v, pos: start, end: this.i };
    }
    this.i = k;
    this.checkAfterNumber(start);
    return { kind: 'int', text, value: BigInt(text), pos: start, end: k };
  }

  checkAfterNumber(start: number): void {
    const c = this.src[this.i];
    if (c !== undefined && isIdentStart(c)) {
      this.fail(`invalid number literal ${this.src.slice(start, this.i + 1)}`, start);
    }
  }

  quoted(start: number, q: number, raw: boolean, bytes: boolean): Tok {
    const s = this.src;
    const quote = s[q];
    const triple = s.startsWith(quote.repeat(3), q);
    const delim = triple ? quote.repeat(3) : quote;
    let k = q + delim.length;
    const parts: number[] = []; // code points (string) or bytes (bytes)
    const pushCodePoint = (cp: number) => {
      if (bytes) { for (const b of utf8.encode(String.fromCodePoint(cp))) parts.push(b); }
      else parts.push(cp);
    };
    for (;;) {
      if (k >= s.length) this.fail('unterminated string literal', start);
      if (s.startsWith(delim, k)) {
        k += delim.length;
        break;
      }
      const c = s[k];
      if (!triple && (c === '\n' || c === '\r')) this.fail('newline in string literal', k);
      if (c === '\\' && !raw) {
        const e = s[k + 1];
        k += 2;
        switch (e) {
          case 'a':
            pushCodePoint(7);
            break;
          case 'b':
            pushCodePoint(8);
            break;
          case 'f':
            pushCodePoint(12);
            break;
          case 'n':
            pushCodePoint(10);
            break;
          case 'r':
            pushCodePoint(13);
            break;
          case 't':
            pushCodePoint(9);
            break;
          case 'v':
            pushCodePoint(11);
            break;
          case '\\':
          case '?':
          case '"':
          case "'":
          case '`':
            pushCodePoint(e.charCodeAt(0));
            break;
          case 'x':
          case 'X': {
            const h = s.slice(k, k + 2);
            if (!/^[0-9a-fA-F]{2}$/.test(h)) this.fail('invalid \\x escape', k - 2);
            k += 2;
            if (bytes) parts.push(parseInt(h, 16));
            else parts.push(parseInt(h, 16));
            break;
          }
          case 'u':
          case 'U': {
            const n = e === 'u' ? 4 : 8;
            const h = s.slice(k, k + n);
            if (!new RegExp(`^[0-9a-fA-F]{${n}}$`).test(h)) this.fail(`invalid \\${e} escape`, k - 2);
            k += n;
            const cp = parseInt(h, 16);
            if (bytes) this.fail(`\\${e} escape in bytes literal`, k - n - 2);
            if (cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
              this.fail('invalid unicode code point in escape', k - n - 2);
            }
            parts.push(cp);
            break;
          }
          default: {
            if (e !== undefined && e >= '0' && e <= '3') {
              const o = s.slice(k - 1, k + 2);
              if (!/^[0-3][0-7]{2}$/.test(o)) this.fail('invalid octal escape', k - 2);
              k += 2;
              parts.push(parseInt(o, 8));
              break;
            }
            this.fail(`invalid escape sequence \\${e ?? ''}`, k - 2);
          }
        }
        continue;
      }
      const cp = s.codePointAt(k) as number;
      k += cp > 0xffff ? 2 : 1;
      if (c === '\r' && s[k] === '\n' && triple) {
        // CRLF in a multi-line string is kept as written
      }
      pushCodePoint(cp);
    }
    this.i = k;
    if (bytes) return { kind: 'bytes', text: s.slice(start, k), value: Uint8Array.from(parts), pos: start, end: k };
    let out = '';
    for (const cp of parts) out += String.fromCodePoint(cp);
    return { kind: 'string', text: s.slice(start, k), value: out, pos: start, end: k };
  }
}

function balance(k: 'and' | 'or', items: CelNode[], ops: number[], lo: number, hi: number): CelNode {
  if (lo === hi) return items[lo];
  const mid = (lo + hi + 1) >> 1;
  return { k, l: balance(k, items, ops, lo, mid - 1), r: balance(k, items, ops, mid, hi), pos: ops[mid - 1] };
}

function identName(n: CelNode): string | undefined {
  return n.k === 'ident' && !n.abs ? n.name : undefined;
}

/** `a.b.c` for an identifier/select chain (no optional or test selects), else undefined. */
export function qualifiedName(n: CelNode): string | undefined {
  if (n.k === 'ident') return n.abs ? '.' + n.name : n.name;
  if (n.k === 'select' && !n.test && !n.opt) {
    const q = qualifiedName(n.obj);
    return q === undefined ? undefined : `${q}.${n.field}`;
  }
  return undefined;
}

class Parser {
  readonly lex: Lexer;
  tok: Tok;
  depth = 0;
  constructor(src: string) {
    this.lex = new Lexer(src);
    this.tok = this.lex.next();
  }

  fail(msg: string, at = this.tok.pos): never {
    throw new CelSyntaxError(msg, at);
  }

  advance(): Tok {
    const t = this.tok;
    this.tok = this.lex.next();
    return t;
  }

  isOp(text: string): boolean {
    return this.tok.kind === 'op' && this.tok.text === text;
  }

  expectOp(text: string): Tok {
    if (!this.isOp(text)) this.fail(`expected '${text}' but found ${this.describe()}`);
    return this.advance();
  }

  describe(): string {
    return this.tok.kind === 'eof' ? 'end of input' : `'${this.tok.text}'`;
  }

  enter(): void {
    if (++this.depth > MAX_DEPTH) this.fail(`expression nested more than ${MAX_DEPTH} levels deep`);
  }

  parseTop(): CelNode {
    const e = this.expr();
    if (this.tok.kind !== 'eof') this.fail(`unexpected ${this.describe()}`);
    return e;
  }

  expr(): CelNode {
    this.enter();
    const c = this.or();
    let out = c;
    if (this.isOp('?')) {
      const pos = this.advance().pos;
      const t = this.or();
      this.expectOp(':');
      const f = this.expr();
      out = { k: 'cond', c, t, f, pos };
    }
    this.depth--;
    return out;
  }

  // `a || b || c ...` and `a && b && c ...` become balanced trees, as cel-go
  // builds them (the operators are commutative in CEL), so long chains of
  // conditions do not count against the nesting limit.
  or(): CelNode {
    const first = this.and();
    if (!this.isOp('||')) return first;
    const items: CelNode[] = [first];
    const ops: number[] = [];
    while (this.isOp('||')) {
      ops.push(this.advance().pos);
      items.push(this.and());
    }
    return balance('or', items, ops, 0, items.length - 1);
  }

  and(): CelNode {
    const first = this.relation();
    if (!this.isOp('&&')) return first;
    const items: CelNode[] = [first];
    const ops: number[] = [];
    while (this.isOp('&&')) {
      ops.push(this.advance().pos);
      items.push(this.relation());
    }
    return balance('and', items, ops, 0, items.length - 1);
  }

  relation(): CelNode {
    let l = this.addition();
    let levels = 0;
    for (;;) {
      const t = this.tok;
      let fn: string | undefined;
      if (t.kind === 'op' && ['<', '<=', '>', '>=', '==', '!='].includes(t.text)) fn = `_${t.text}_`;
      else if (t.kind === 'ident' && t.text === 'in' && t.value === undefined) fn = '@in';
      if (!fn) break;
      this.advance();
      this.enter();
      levels++;
      l = { k: 'call', fn, args: [l, this.addition()], pos: t.pos };
    }
    this.depth -= levels;
    return l;
  }

  addition(): CelNode {
    let l = this.multiplication();
    let levels = 0;
    while (this.isOp('+') || this.isOp('-')) {
      const t = this.advance();
      this.enter();
      levels++;
      l = { k: 'call', fn: `_${t.text}_`, args: [l, this.multiplication()], pos: t.pos };
    }
    this.depth -= levels;
    return l;
  }

  multiplication(): CelNode {
    let l = this.unary();
    let levels = 0;
    while (this.isOp('*') || this.isOp('/') || this.isOp('%')) {
      const t = this.advance();
      this.enter();
      levels++;
      l = { k: 'call', fn: `_${t.text}_`, args: [l, this.unary()], pos: t.pos };
    }
    this.depth -= levels;
    return l;
  }

  unary(): CelNode {
    if (this.isOp('!')) {
      const pos = this.tok.pos;
      let n = 0;
      while (this.isOp('!')) {
        this.advance();
        n++;
      }
      this.enter();
      const m = this.member();
      this.depth--;
      return n % 2 === 0 ? m : { k: 'call', fn: '!_', args: [m], pos };
    }
    if (this.isOp('-')) {
      const pos = this.tok.pos;
      let n = 0;
      while (this.isOp('-')) {
        this.advance();
        n++;
      }
      // the last minus folds into a number literal (so -9223372036854775808 is an int)
      if (this.tok.kind === 'int' || this.tok.kind === 'double') {
        n--;
        const lit = this.advance();
        let v: unknown;
        if (lit.kind === 'int') {
          const b = -(lit.value as bigint);
          if (b < -(2n ** 63n)) this.fail('integer literal out of range', lit.pos);
          v = b;
        } else v = -(lit.value as number);
        this.enter();
        const m = this.memberSuffix({ k: 'lit', v, pos });
        this.depth--;
        return n % 2 === 0 ? m : { k: 'call', fn: '-_', args: [m], pos };
      }
      this.enter();
      const m = this.member();
      this.depth--;
      return n % 2 === 0 ? m : { k: 'call', fn: '-_', args: [m], pos };
    }
    return this.member();
  }

  member(): CelNode {
    return this.memberSuffix(this.primary());
  }

  memberSuffix(e: CelNode): CelNode {
    let levels = 0;
    for (;;) {
      if (this.isOp('.') || this.isOp('.?')) {
        const opt = this.tok.text === '.?';
        const pos = this.advance().pos;
        if (this.tok.kind !== 'ident') this.fail(`expected a field name but found ${this.describe()}`);
        const idt = this.advance();
        if (!opt && this.isOp('(') && idt.value !== 'quoted') {
          this.advance();
          const args = this.exprList(')');
          e = this.expandCall(idt.text, e, args, pos);
        } else e = { k: 'select', obj: e, field: idt.text, test: false, opt, pos };
      } else if (this.isOp('[') || this.isOp('[?')) {
        const opt = this.tok.text === '[?';
        const pos = this.advance().pos;
        const idx = this.expr();
        this.expectOp(']');
        e = { k: 'index', obj: e, idx, opt, pos };
      } else break;
      levels++;
      this.enter();
    }
    this.depth -= levels;
    return e;
  }

  exprList(close: string): CelNode[] {
    const out: CelNode[] = [];
    if (this.isOp(close)) {
      this.advance();
      return out;
    }
    for (;;) {
      out.push(this.expr());
      if (this.isOp(',')) {
        this.advance();
        continue;
      }
      this.expectOp(close);
      return out;
    }
  }

  primary(): CelNode {
    const t = this.tok;
    switch (t.kind) {
      case 'int':
      case 'uint':
      case 'double':
      case 'string':
      case 'bytes':
        this.advance();
        return { k: 'lit', v: t.kind === 'uint' ? new CelUint(t.value as bigint) : t.value, pos: t.pos };
      case 'eof':
        this.fail('unexpected end of input');
    }
    if (this.isOp('-')) {
      // a negative number literal after '!' (`!!-5`): the grammar's literal has a sign
      const save = { i: this.lex.i, tok: this.tok };
      this.advance();
      const lit = this.tok;
      if (lit.kind === 'int' || lit.kind === 'double') {
        this.advance();
        if (lit.kind === 'double') return { k: 'lit', v: -(lit.value as number), pos: save.tok.pos };
        const b = -(lit.value as bigint);
        if (b < -(2n ** 63n)) this.fail('integer literal out of range', lit.pos);
        return { k: 'lit', v: b, pos: save.tok.pos };
      }
      this.lex.i = save.i;
      this.tok = save.tok;
    }
    if (t.kind === 'ident') {
      if (t.value === 'quoted') this.fail('a quoted identifier is only allowed as a field name', t.pos);
      if (t.text === 'true' || t.text === 'false') {
        this.advance();
        return { k: 'lit', v: t.text === 'true', pos: t.pos };
      }
      if (t.text === 'null') {
        this.advance();
        return { k: 'lit', v: null, pos: t.pos };
      }
      return this.identOrCall(false, t.pos);
    }
    if (this.isOp('.')) {
      const pos = this.advance().pos;
      if (this.tok.kind !== 'ident') this.fail(`expected an identifier after '.' but found ${this.describe()}`);
      return this.identOrCall(true, pos);
    }
    if (this.isOp('(')) {
      this.advance();
      const e = this.expr();
      this.expectOp(')');
      return e;
    }
    if (this.isOp('[') || this.isOp('[?')) {
      let firstOptional = this.tok.text === '[?';
      const pos = this.advance().pos;
      const elems: CelNode[] = [];
      const opt: boolean[] = [];
      while (firstOptional || !this.isOp(']')) {
        let o = firstOptional;
        firstOptional = false;
        if (!o && this.isOp('?')) {
          this.advance();
          o = true;
        }
        elems.push(this.expr());
        opt.push(o);
        if (this.isOp(',')) this.advance();
        else break;
      }
      this.expectOp(']');
      return { k: 'list', elems, opt, pos };
    }
    if (this.isOp('{')) {
      const pos = this.advance().pos;
      const entries: { key: CelNode; value: CelNode; opt: boolean }[] = [];
      while (!this.isOp('}')) {
        let o = false;
        if (this.isOp('?')) {
          this.advance();
          o = true;
        }
        const key = this.expr();
        this.expectOp(':');
        const value = this.expr();
        entries.push({ key, value, opt: o });
        if (this.isOp(',')) this.advance();
        else break;
      }
      this.expectOp('}');
      return { k: 'map', entries, pos };
    }
    this.fail(`unexpected ${this.describe()}`);
  }

  identOrCall(abs: boolean, pos: number): CelNode {
    const t = this.advance();
    if (RESERVED.has(t.text) || t.text === 'in') this.fail(`reserved identifier '${t.text}'`, t.pos);
    if (this.isOp('(')) {
      this.advance();
      const args = this.exprList(')');
      if (abs) return { k: 'call', fn: t.text, args, pos: t.pos };
      return this.expandCall(t.text, undefined, args, t.pos);
    }
    let e: CelNode = { k: 'ident', name: t.text, abs, pos };
    if (this.isOp('{')) return this.struct(e);
    if (this.isOp('.')) {
      // a.b.Name{...}: look ahead over the qualified name for '{'
      const save = { i: this.lex.i, tok: this.tok };
      const chain: Tok[] = [];
      while (this.isOp('.')) {
        this.advance();
        if (this.tok.kind !== 'ident' || this.tok.value === 'quoted') break;
        chain.push(this.advance());
      }
      if (chain.length > 0 && this.isOp('{')) {
        for (const id of chain) e = { k: 'select', obj: e, field: id.text, test: false, opt: false, pos: id.pos };
        return this.struct(e);
      }
      this.lex.i = save.i;
      this.tok = save.tok;
    }
    return e;
  }

  struct(nameNode: CelNode): CelNode {
    const name = qualifiedName(nameNode) as string;
    const pos = this.advance().pos;
    const fields: { name: string; value: CelNode; opt: boolean }[] = [];
    while (!this.isOp('}')) {
      let o = false;
      if (this.isOp('?')) {
        this.advance();
        o = true;
      }
      if (this.tok.kind !== 'ident') this.fail(`expected a field name but found ${this.describe()}`);
      const f = this.advance();
      this.expectOp(':');
      fields.push({ name: f.text, value: this.expr(), opt: o });
      if (this.isOp(',')) this.advance();
      else break;
    }
    this.expectOp('}');
    return { k: 'struct', name: name.startsWith('.') ? name.slice(1) : name, fields, pos };
  }

  /** Macro expansion; anything that is not a macro stays a call. */
  expandCall(fn: string, target: CelNode | undefined, args: CelNode[], pos: number): CelNode {
    if (!target) {
      if (fn === 'has') {
        if (args.length !== 1) this.fail('has() takes exactly one argument', pos);
        const a = args[0];
        if (a.k !== 'select' || a.opt) this.fail('invalid argument to has() macro', pos);
        return { ...a, test: true };
      }
      return { k: 'call', fn, args, pos };
    }
    const ns = identName(target);
    if (ns === 'cel') {
      if (fn === 'bind' && args.length === 3) {
        const v = this.varName(args[0], 'cel.bind');
        return { k: 'bind', name: v, init: args[1], body: args[2], pos };
      }
      if (fn === 'block' && args.length === 2) {
        if (args[0].k !== 'list') this.fail('cel.block requires a list literal as its first argument', pos);
        return { k: 'block', slots: args[0].elems, body: args[1], pos };
      }
      if (fn === 'index' && args.length === 1) {
        const a = args[0];
        if (a.k !== 'lit' || typeof a.v !== 'bigint' || a.v < 0n) {
          this.fail('cel.index requires a non-negative int literal', pos);
        }
        return { k: 'ident', name: `@index${a.v}`, abs: false, pos };
      }
      if ((fn === 'iterVar' || fn === 'accuVar') && args.length === 2) {
        const [a, b] = args;
        if (a.k !== 'lit' || typeof a.v !== 'bigint' || b.k !== 'lit' || typeof b.v !== 'bigint') {
          this.fail(`cel.${fn} requires int literals`, pos);
        }
        return { k: 'ident', name: `@${fn === 'iterVar' ? 'it' : 'ac'}:${a.v}:${b.v}`, abs: false, pos };
      }
    }
    const n = args.length;
    const simple = (i: number) => args[i] !== undefined && identName(args[i]) !== undefined;
    switch (fn) {
      case 'all':
      case 'exists':
      case 'exists_one':
      case 'existsOne': {
        const kind: ComprehensionKind = fn === 'exists_one' ? 'existsOne' : fn;
        if (n === 2) return { k: 'compr', kind, range: target, v1: this.varName(args[0], fn), pred: args[1], pos };
        if (n === 3) return { k: 'compr', kind, range: target, ...this.twoVars(args, fn), pred: args[2], pos };
        break;
      }
      case 'map':
        if (n === 2) {
          return { k: 'compr', kind: 'map', range: target, v1: this.varName(args[0], fn), expr: args[1], pos };
        }
        if (n === 3) {
          return {
            k: 'compr',
            kind: 'map',
            range: target,
            v1: this.varName(args[0], fn),
            pred: args[1],
            expr: args[2],
            pos,
          };
        }
        break;
      case 'filter':
        if (n === 2) {
          return { k: 'compr', kind: 'filter', range: target, v1: this.varName(args[0], fn), pred: args[1], pos };
        }
        break;
      case 'transformList':
      case 'transformMap':
      case 'transformMapEntry':
        if (n === 3 && simple(0)) {
          return { k: 'compr', kind: fn, range: target, ...this.twoVars(args, fn), expr: args[2], pos };
        }
        if (n === 4 && simple(0)) {
          return { k: 'compr', kind: fn, range: target, ...this.twoVars(args, fn), pred: args[2], expr: args[3], pos };
        }
        break;
      case 'optMap':
      case 'optFlatMap':
        if (n === 2) {
          return { k: 'optMap', target, v: this.varName(args[0], fn), expr: args[1], flat: fn === 'optFlatMap', pos };
        }
        break;
    }
    return { k: 'call', fn, target, args, pos };
  }

  varName(n: CelNode, macro: string): string {
    const name = identName(n);
    if (name === undefined) this.fail(`${macro}() variable name must be a simple identifier`, n.pos);
    return name;
  }

  twoVars(args: CelNode[], macro: string): { v1: string; v2: string } {
    const v1 = this.varName(args[0], macro);
    const v2 = this.varName(args[1], macro);
    if (v1 === v2) this.fail(`${macro}() variables must be different: ${v1}`, args[1].pos);
    return { v1, v2 };
  }
}

/** Parses a CEL expression. Throws CelSyntaxError with the offset of the problem. */
export function parseCel(src: string): CelNode {
  if (src.length > MAX_EXPRESSION_LENGTH) {
    throw new CelSyntaxError(`expression longer than ${MAX_EXPRESSION_LENGTH} characters`, 0);
  }
  return new Parser(src).parseTop();
}
