// Walking a configuration tree (policies, trust material, secrets). One
// walker for every reader, so that the files sigward loads and the files
// the containerd verdict cache stamps are always the same set:
//   - entries are visited in sorted order, dot entries skipped (a Kubernetes
//     ConfigMap or Secret mount keeps its real files under `..data`);
//   - symbolic links are followed;
//   - there is no depth limit: a directory already on the path being walked
//     (a link loop) is reported as `loop` and not entered again.

import { type BigIntStats, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

export type TreeEntry =
  | { kind: 'file' | 'dir'; path: string; stat: BigIntStats }
  /** `missing`: no such path, or a dangling link; `other`: sockets, devices, fifos */
  | { kind: 'missing' | 'unreadable' | 'loop' | 'other'; path: string; error?: string };

function errorText(e: unknown): string {
  return (e as NodeJS.ErrnoException).code ?? (e as Error).message;
}

/** Calls `visit` for `root` and everything under it, depth first, in sorted order. */
export function walkFileTree(root: string, visit: (e: TreeEntry) => void): void {
  const walk = (path: string, ancestors: Set<string>): void => {
    let stat: BigIntStats;
    try {
      stat = statSync(path, { bigint: true });
    } catch (e) {
      visit({ kind: 'missing', path, error: errorText(e) });
      return;
    }
    if (stat.isFile()) return visit({ kind: 'file', path, stat });
    if (!stat.isDirectory()) return visit({ kind: 'other', path });
    const id = `${stat.dev}:${stat.ino}`;
    if (ancestors.has(id)) {
      return visit({ kind: 'loop', path, error: 'a symbolic link loops back to a directory above it' });
    }
    let names: string[];
    try {
      names = readdirSync(path).sort();
    } catch (e) {
      visit({ kind: 'unreadable', path, error: errorText(e) });
      return;
    }
    visit({ kind: 'dir', path, stat });
    const inner = new Set(ancestors).add(id);
    for (const n of names) if (!n.startsWith('.')) walk(join(path, n), inner);
  };
  walk(root, new Set());
}
