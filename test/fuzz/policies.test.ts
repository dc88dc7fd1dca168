// Fuzzing policy loading: parsePolicies on random YAML, mutated real policies
// (Kyverno policy library, the seed guides) and YAML bombs. parsePolicies
// never throws (problems are diagnostics) and stays bounded; whatever it
// accepts can be handed to the engine's condition compiler without a crash.

import t from 'tap';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parsePolicies } from '../../lib/policy/index.ts';
import { compileKyvernoConditions } from '../../lib/conditions/kyverno.ts';
import { ROOT, SHARED } from '../helpers/fixtures.ts';
import { bounded, fc, fuzz, onlySigwardError, SEED } from './helpers.ts';

const dirs = [join(SHARED, 'kyverno-policies'), join(ROOT, 'testdata/policy/seeds')];
const REAL = dirs.flatMap((d) =>
  readdirSync(d).filter((f) => f.endsWith('.yaml')).map((f) => readFileSync(join(d, f), 'utf8'))
);
const noSecrets = { resolveSecret: () => undefined };

function check(text: string): void {
  let r: ReturnType<typeof parsePolicies>;
  try {
    r = bounded(() => parsePolicies(text, noSecrets), 3000, 'parsePolicies');
  } catch (e) {
    throw new Error(`parsePolicies threw: ${(e as Error).stack ?? e}`);
  }
  for (const p of r.policies) {
    if (p.format !== 'kyverno') continue;
    for (const rule of (p as any).spec.rules ?? []) {
      for (const entry of rule.verifyImages ?? []) {
        for (const att of entry.attestations ?? []) {
          onlySigwardError(() => compileKyvernoConditions(att.conditions), 'compileKyvernoConditions');
        }
      }
      if (rule.preconditions) {
        onlySigwardError(() => compileKyvernoConditions([rule.preconditions]), 'compileKyvernoConditions');
      }
    }
  }
}

const YAML_BITS = [
  '&a ',
  '*a',
  '<<: *a',
  '!!binary ',
  '!!str ',
  '? ',
  '- ',
  '---\n',
  '...\n',
  '%YAML 1.2\n',
  '{',
  '}',
  '[',
  ']',
  '"',
  "'",
  '|-\n',
  '>\n',
  '#',
  ': ',
  '\t',
  '  ',
  '\n',
  'null',
  '~',
  '0x1F',
  '.inf',
  '2001-12-14',
  'kind: ClusterPolicy\n',
  'apiVersion: kyverno.io/v1\n',
  'verifyImages:',
  'attestors:',
  'entries:',
  'keys:',
  'publicKeys: ',
  'imageReferences:',
  'conditions:',
  '{{ request.object }}',
  'key: "{{ x }}"',
  'operator: Equals',
];

function mutateLines(text: string, ops: { at: number; op: number; bit: string }[]): string {
  const lines = text.split('\n');
  for (const { at, op, bit } of ops) {
    const i = at % Math.max(1, lines.length);
    switch (op % 5) {
      case 0:
        lines.splice(i, 1);
        break;
      case 1:
        lines.splice(i, 0, lines[i] ?? '');
        break;
      case 2:
        lines[i] = ' '.repeat(op % 7) + (lines[i] ?? '').trimStart();
        break;
      case 3:
        lines[i] = (lines[i] ?? '').replace(/:\s*(.*)$/, `: ${bit}`);
        break;
      default:
        lines[i] = (lines[i] ?? '') + bit;
    }
  }
  return lines.join('\n');
}

t.comment(`fast-check seed ${SEED}`);

t.test('parsePolicies', async (t) => {
  t.ok(REAL.length >= 20, `${REAL.length} real policies`);
  for (const text of REAL) t.doesNotThrow(() => check(text));
  await fuzz(
    t,
    'random YAML-ish text',
    fc.array(fc.oneof(fc.constantFrom(...YAML_BITS), fc.string({ maxLength: 6 })), { maxLength: 40 }).map((a) =>
      a.join('')
    ),
    check,
    1500,
  );
  const op = fc.record({
    at: fc.nat(),
    op: fc.nat(),
    bit: fc.oneof(fc.constantFrom(...YAML_BITS), fc.string({ maxLength: 8 })),
  });
  await fuzz(
    t,
    'mutated real policies',
    fc.tuple(fc.constantFrom(...REAL), fc.array(op, { minLength: 1, maxLength: 4 })),
    ([text, ops]) => check(mutateLines(text, ops)),
    1200,
  );
  await fuzz(
    t,
    'arbitrary JSON documents',
    fc.jsonValue({ maxDepth: 5 }),
    (v) => check(JSON.stringify(v) ?? 'null'),
    800,
  );
});

t.test('YAML bombs stay bounded', async (t) => {
  const laughs = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]'];
  for (let i = 1; i < 10; i++) {
    laughs.push(
      `${String.fromCharCode(97 + i)}: &${String.fromCharCode(97 + i)} [${
        Array(9).fill('*' + String.fromCharCode(96 + i)).join(',')
      }]`,
    );
  }
  const bombs = [
    laughs.join('\n'),
    'apiVersion: kyverno.io/v1\nkind: ClusterPolicy\nmetadata: {name: x}\nspec:\n  rules:\n' +
    '    - name: r\n      verifyImages: [' + '['.repeat(5000) + ']'.repeat(5000) + ']\n',
    '['.repeat(100_000),
    'a: ' + '{'.repeat(20_000),
    ('- ' + 'x'.repeat(100) + '\n').repeat(20_000),
  ];
  for (const [i, b] of bombs.entries()) t.doesNotThrow(() => check(b), `bomb ${i}`);
});
