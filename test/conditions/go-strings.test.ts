// Go strings.Replace, as both condition languages give it (CEL's strings
// extension and Kyverno's JMESPath replace are Go's strings.Replace): the
// answers below are Go's, from its documentation and its rune semantics for
// an empty `old`. Both front ends must give the same one for every case.

import t from 'tap';
import { goReplace } from '../../lib/conditions/go-strings.ts';
import { compileCel } from '../../lib/conditions/cel.ts';
import { compileJmespath, searchJmespath } from '../../lib/conditions/jmespath.ts';

const CASES: [s: string, old: string, repl: string, n: number, want: string][] = [
  ['oink oink oink', 'k', 'ky', 2, 'oinky oinky oink'],
  ['oink oink oink', 'oink', 'moo', -1, 'moo moo moo'],
  ['oink oink oink', 'oink', 'moo', 0, 'oink oink oink'],
  ['aaaa', 'aa', 'b', -1, 'bb'], // non-overlapping, left to right
  ['aaa', 'aa', 'b', -1, 'ba'],
  ['abc', '', '-', -1, '-a-b-c-'], // empty old: before every rune and at the end
  ['abc', '', '-', 2, '-a-bc'],
  ['', '', '-', -1, '-'],
  ['h\u00e9\u{1F600}', '', '.', -1, '.h.\u00e9.\u{1F600}.'], // runes, not UTF-16 units
  ['x', 'x', 'x', -1, 'x'],
  ['abcabc', 'b', '', 1, 'acabc'],
  ['abc', 'z', 'y', -1, 'abc'],
];

t.test('goReplace gives Go strings.Replace', async (t) => {
  for (const [s, old, repl, n, want] of CASES) {
    t.equal(goReplace(s, old, repl, n), want, JSON.stringify([s, old, repl, n]));
  }
});

t.test('CEL replace and JMESPath replace give the same Go answers', async (t) => {
  for (const [s, old, repl, n, want] of CASES) {
    const what = JSON.stringify([s, old, repl, n]);
    const cel = compileCel('s.replace(o, r, n)', { variables: ['s', 'o', 'r', 'n'] });
    t.equal(cel.evaluate({ s, o: old, r: repl, n: BigInt(n) }), want, `CEL ${what}`);
    const jp = compileJmespath('replace(s, o, r, n)');
    t.equal(searchJmespath(jp, { s, o: old, r: repl, n }), want, `JMESPath ${what}`);
  }
});
