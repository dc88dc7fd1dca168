// The JSON helpers the verification record is written with: Go's key order
// (code points, i.e. UTF-8 bytes), Go's string escaping and RFC 6901 tokens,
// on strings that mix ASCII, characters above the surrogates (U+E000-U+FFFF,
// which sort after astral characters in code points but before them in
// UTF-16 units), astral characters and lone surrogates. The fast paths for
// plain strings must give what the general definitions give.

import t from 'tap';
import { compareCodePoints, escapePointerSegment, parseJsonPointer, toGoJson } from '../../lib/admission/pointer.ts';

const ALPHABET = [
  'a',
  'b',
  'z',
  '~',
  '/',
  '<',
  '>',
  '&',
  '"',
  '\\',
  '\u00e9',
  '\u2028',
  '\u2029',
  '\ue000',
  '\uffff',
  '😀',
  '\u{10ffff}',
  '\ud800',
  '\udc00',
];

function randomString(rand: () => number): string {
  let s = '';
  const n = Math.floor(rand() * 6);
  for (let i = 0; i < n; i++) s += ALPHABET[Math.floor(rand() * ALPHABET.length)];
  return s;
}

/** A small deterministic generator: the same cases on every run. */
function lcg(seed: number): () => number {
  let x = seed;
  return () => {
    x = (x * 1103515245 + 12345) % 2 ** 31;
    return x / 2 ** 31;
  };
}

function byCodePoints(a: string, b: string): number {
  const x = Array.from(a, (c) => c.codePointAt(0)!);
  const y = Array.from(b, (c) => c.codePointAt(0)!);
  for (let i = 0; i < Math.min(x.length, y.length); i++) if (x[i] !== y[i]) return x[i]! < y[i]! ? -1 : 1;
  return Math.sign(x.length - y.length);
}

t.test('compareCodePoints orders as code points (UTF-8 bytes), not UTF-16 units', (t) => {
  t.equal(compareCodePoints('\uffff', '😀'), -1, 'U+FFFF before U+1F600');
  t.equal(compareCodePoints('a\ue000', 'a😀'), -1);
  t.equal(compareCodePoints('😀', '\ue000'), 1);
  t.equal(compareCodePoints('ab', 'abc'), -1);
  t.equal(compareCodePoints('abc', 'abc'), 0);
  t.equal(compareCodePoints('b', 'abc'), 1);
  const rand = lcg(16);
  let wrong = 0;
  for (let i = 0; i < 20000; i++) {
    const a = randomString(rand);
    const b = rand() < 0.3 ? a + randomString(rand) : randomString(rand);
    if (compareCodePoints(a, b) !== byCodePoints(a, b)) wrong++;
  }
  t.equal(wrong, 0, '20000 random pairs ordered as their code points');
  t.end();
});

t.test('toGoJson writes strings as Go encoding/json does', (t) => {
  t.equal(toGoJson('plain: text/with "quotes" and \\'), JSON.stringify('plain: text/with "quotes" and \\'));
  t.equal(toGoJson('<a href="x">&</a>'), '"\\u003ca href=\\"x\\"\\u003e\\u0026\\u003c/a\\u003e"');
  t.equal(toGoJson('line\u2028para\u2029'), '"line\\u2028para\\u2029"');
  t.equal(toGoJson('lone \ud800 high'), '"lone \ufffd high"');
  t.equal(toGoJson('pair 😀'), '"pair 😀"');
  t.equal(toGoJson({ b: '&', a: ['<'], '\uffff': 1, '😀': 2 }), '{"a":["\\u003c"],"b":"\\u0026","\uffff":1,"😀":2}');
  t.end();
});

t.test('escapePointerSegment round-trips through parseJsonPointer', (t) => {
  t.equal(escapePointerSegment('kyverno.io/verify-images'), 'kyverno.io~1verify-images');
  t.equal(escapePointerSegment('a~b/c'), 'a~0b~1c');
  t.equal(escapePointerSegment('plain'), 'plain');
  const rand = lcg(6901);
  for (let i = 0; i < 2000; i++) {
    const seg = randomString(rand);
    if (parseJsonPointer(`/${escapePointerSegment(seg)}`)[0] !== seg) {
      t.fail(`segment ${JSON.stringify(seg)} does not round-trip`);
    }
  }
  t.end();
});
