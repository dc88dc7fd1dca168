#!/usr/bin/env node
// Compares two V8 heap snapshots (.heapsnapshot, as written by
// --heapsnapshot-signal) and prints the object groups that grew the most
// between them: per (node type, constructor or string class) the change in
// count and in self size. Used to tell a leak (one group growing with the
// number of requests) from allocator noise (RSS rising, live objects not).
//   node scripts/heap-diff.mjs before.heapsnapshot after.heapsnapshot [--top 25]

import { readFileSync } from 'node:fs';

function summarise(file) {
  const snap = JSON.parse(readFileSync(file, 'utf8'));
  const meta = snap.snapshot.meta;
  const fields = meta.node_fields;
  const width = fields.length;
  const typeAt = fields.indexOf('type');
  const nameAt = fields.indexOf('name');
  const sizeAt = fields.indexOf('self_size');
  const types = meta.node_types[typeAt];
  const groups = new Map();
  let total = 0;
  for (let i = 0; i < snap.nodes.length; i += width) {
    const type = types[snap.nodes[i + typeAt]];
    let name = snap.strings[snap.nodes[i + nameAt]];
    // strings and code are grouped by type only: their names are their contents
    if (
      type === 'string' || type === 'concatenated string' || type === 'sliced string' || type === 'code' ||
      type === 'number'
    ) name = '';
    else if (name.length > 80) name = name.slice(0, 77) + '...';
    const key = `${type}\t${name}`;
    const size = snap.nodes[i + sizeAt];
    total += size;
    const g = groups.get(key);
    if (g) {
      g.count++;
      g.size += size;
    } else groups.set(key, { count: 1, size });
  }
  return { groups, total, nodes: snap.nodes.length / width };
}

const args = process.argv.slice(2);
const topAt = args.indexOf('--top');
const top = topAt >= 0 ? Number(args[topAt + 1]) : 25;
const files = args.filter((a, i) => !a.startsWith('--') && i !== topAt + 1);
if (files.length !== 2) {
  process.stderr.write('usage: heap-diff.mjs before.heapsnapshot after.heapsnapshot [--top N]\n');
  process.exit(2);
}
const [a, b] = files.map(summarise);
const rows = [];
for (const key of new Set([...a.groups.keys(), ...b.groups.keys()])) {
  const x = a.groups.get(key) ?? { count: 0, size: 0 };
  const y = b.groups.get(key) ?? { count: 0, size: 0 };
  rows.push({ key, dCount: y.count - x.count, dSize: y.size - x.size, count: y.count, size: y.size });
}
rows.sort((p, q) => q.dSize - p.dSize);
const mib = (n) => (n / 1024 / 1024).toFixed(2);
process.stdout.write(
  `heap: ${mib(a.total)} MiB (${a.nodes} objects) -> ${mib(b.total)} MiB (${b.nodes} objects), change ${
    mib(b.total - a.total)
  } MiB\n\n`,
);
process.stdout.write(
  '| type | name | change in count | change in KiB | count after | KiB after |\n|---|---|---:|---:|---:|---:|\n',
);
for (const r of rows.slice(0, top)) {
  const [type, name] = r.key.split('\t');
  process.stdout.write(
    `| ${type} | ${name.replace(/\|/g, '\\|')} | ${r.dCount} | ${(r.dSize / 1024).toFixed(1)} | ${r.count} | ${
      (r.size / 1024).toFixed(1)
    } |\n`,
  );
}
