// Multi-document YAML (and JSON) to plain values, keeping the line/column of
// every key and value so that policy errors can point at the exact spot.

import { isAlias, isMap, isPair, isScalar, isSeq, LineCounter, type Node, parseAllDocuments } from 'yaml';
import type { Position } from './types.ts';

export interface NodeLocation {
  /** position of the key (map entries only) */
  key?: Position;
  /** position of the value (the key's position when the value is empty) */
  value: Position;
}

export interface YamlDocument {
  /** 0-based index in the file */
  index: number;
  /** plain JS value (maps -> objects, sequences -> arrays) */
  value: unknown;
  position: Position;
  /** path (`spec.rules[0].name`) -> location */
  locations: Map<string, NodeLocation>;
}

export interface YamlError {
  line: number;
  column: number;
  message: string;
}

export interface YamlParseResult {
  documents: YamlDocument[];
  errors: YamlError[];
}

const IDENT = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Appends a map key to a path: `a.b`, or `a["x.y/z"]` for keys that are not identifiers. */
export function childPath(path: string, key: string): string {
  if (IDENT.test(key)) return path === '' ? key : `${path}.${key}`;
  return `${path}[${JSON.stringify(key)}]`;
}

export function indexPath(path: string, index: number): string {
  return `${path}[${index}]`;
}

const LAST_SEGMENT = /(?:\.[A-Za-z_][A-Za-z0-9_]*|\[\d+\]|\["(?:[^"\\]|\\.)*"\]|^[A-Za-z_][A-Za-z0-9_]*)$/;

/** `a.b[0]` -> `a.b`; `a` -> `` */
export function parentPath(path: string): string {
  const m = LAST_SEGMENT.exec(path);
  if (!m) return '';
  return path.slice(0, m.index);
}

/** Parses every document in `text`. Documents with syntax errors are left out and reported. */
export function toYamlDocuments(text: string): YamlParseResult {
  const lineCounter = new LineCounter();
  const docs = parseAllDocuments(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const documents: YamlDocument[] = [];
  const errors: YamlError[] = [];
  const pos = (offset: number): Position => {
    const p = lineCounter.linePos(offset);
    return { line: p.line, column: p.col };
  };
  // parseAllDocuments returns an EmptyStream (array-like, no documents) for empty input
  const list = Array.isArray(docs) ? docs : [];
  list.forEach((doc, index) => {
    if (doc.errors.length > 0) {
      for (const e of doc.errors) {
        const p = pos(e.pos[0]);
        errors.push({ line: p.line, column: p.column, message: `invalid YAML: ${firstLine(e.message)}` });
      }
      return;
    }
    const contents = doc.contents;
    if (contents === null || (isScalar(contents) && contents.value === null)) return;
    const locations = new Map<string, NodeLocation>();
    const start = contents.range ? pos(contents.range[0]) : { line: 1, column: 1 };
    locations.set('', { value: start });
    walk(contents, '', locations, pos);
    let value: unknown;
    try {
      value = doc.toJS({ maxAliasCount: 100 });
    } catch (e) {
      errors.push({ line: start.line, column: start.column, message: `invalid YAML: ${(e as Error).message}` });
      return;
    }
    documents.push({ index, value, position: start, locations });
  });
  return { documents, errors };
}

function firstLine(s: string): string {
  const i = s.indexOf('\n');
  return (i < 0 ? s : s.slice(0, i)).replace(/:$/, '');
}

function walk(
  node: Node | null | undefined,
  path: string,
  locations: Map<string, NodeLocation>,
  pos: (o: number) => Position,
): void {
  if (!node || isAlias(node)) return;
  if (isMap(node)) {
    for (const item of node.items) {
      if (!isPair(item)) continue;
      const keyNode = item.key as Node | null;
      const key = isScalar(keyNode) ? String(keyNode.value) : undefined;
      if (key === undefined || !keyNode?.range) continue;
      const p = childPath(path, key);
      const keyPos = pos(keyNode.range[0]);
      const valueNode = item.value as Node | null;
      let valuePos = keyPos;
      if (
        valueNode?.range &&
        !(isScalar(valueNode) && valueNode.value === null && valueNode.range[0] === valueNode.range[1])
      ) {
        valuePos = pos(valueNode.range[0]);
      }
      locations.set(p, { key: keyPos, value: valuePos });
      walk(valueNode, p, locations, pos);
    }
  } else if (isSeq(node)) {
    node.items.forEach((item, i) => {
      const n = item as Node | null;
      const p = indexPath(path, i);
      if (n?.range) locations.set(p, { value: pos(n.range[0]) });
      walk(n, p, locations, pos);
    });
  }
}
