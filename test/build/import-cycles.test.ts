// No module in lib/ or cmd/ imports itself through others, not even for
// types: result types live apart from the evaluators (lib/engine/result.ts)
// and the command contract apart from the CLI (cmd/commands/types.ts).

import t from 'tap';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { ROOT } from '../helpers/fixtures.ts';

function sources(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) sources(p, out);
    else if (p.endsWith('.ts')) out.push(resolve(p));
  }
  return out;
}

/** Every relative `import ... from` / `export ... from` (types too) of each file. */
function importGraph(files: string[]): Map<string, string[]> {
  const known = new Set(files);
  const graph = new Map<string, string[]>();
  for (const f of files) {
    const text = readFileSync(f, 'utf8');
    const targets = [...text.matchAll(/^(?:import|export)\b[^;]*?\bfrom\s+['"](\.[^'"]+)['"]/gms)].map((m) =>
      resolve(dirname(f), m[1]!)
    );
    graph.set(f, targets.filter((x) => known.has(x)));
  }
  return graph;
}

function findCycles(graph: Map<string, string[]>): string[][] {
  const state = new Map<string, 'open' | 'done'>();
  const path: string[] = [];
  const cycles: string[][] = [];
  const visit = (n: string): void => {
    state.set(n, 'open');
    path.push(n);
    for (const d of graph.get(n) ?? []) {
      if (state.get(d) === 'open') cycles.push([...path.slice(path.indexOf(d)), d]);
      else if (!state.has(d)) visit(d);
    }
    path.pop();
    state.set(n, 'done');
  };
  for (const n of graph.keys()) if (!state.has(n)) visit(n);
  return cycles;
}

t.test('the cycle finder sees a cycle', async (t) => {
  const g = new Map([['a', ['b']], ['b', ['c']], ['c', ['a']], ['d', []]]);
  t.same(findCycles(g), [['a', 'b', 'c', 'a']]);
});

t.test('lib/ and cmd/ have no import cycles', async (t) => {
  const files = [...sources(join(ROOT, 'lib')), ...sources(join(ROOT, 'cmd'))];
  t.ok(files.length > 100, `${files.length} modules read`);
  const cycles = findCycles(importGraph(files)).map((c) => c.map((f) => relative(ROOT, f)).join(' -> '));
  t.same(cycles, [], 'no module imports itself through others');
});
