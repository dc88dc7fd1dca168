// Collects errors, warnings and notes for one YAML document, each placed at
// the line/column of the path it is about.

import type { PolicyDiagnostic, Position, Severity } from './types.ts';
import { type NodeLocation, parentPath } from './yaml.ts';

export class DiagnosticCollector {
  readonly items: PolicyDiagnostic[] = [];
  readonly file: string | undefined;
  readonly locations: Map<string, NodeLocation>;
  readonly origin: Position;

  constructor(file: string | undefined, locations: Map<string, NodeLocation>, origin: Position) {
    this.file = file;
    this.locations = locations;
    this.origin = origin;
  }

  /** Position of `path` (its key when `onKey`), else of the nearest ancestor that exists. */
  position(path: string, onKey = false): Position {
    let p = path;
    for (;;) {
      const loc = this.locations.get(p);
      if (loc) return onKey && loc.key ? loc.key : loc.value;
      if (p === '') return this.origin;
      p = parentPath(p);
    }
  }

  add(severity: Severity, path: string, message: string, onKey = false): void {
    const { line, column } = this.position(path, onKey);
    const d: PolicyDiagnostic = { line, column, severity, message, path };
    if (this.file !== undefined) d.file = this.file;
    this.items.push(d);
  }

  error(path: string, message: string, onKey = false): void {
    this.add('error', path, message, onKey);
  }

  warn(path: string, message: string, onKey = false): void {
    this.add('warning', path, message, onKey);
  }

  info(path: string, message: string, onKey = false): void {
    this.add('info', path, message, onKey);
  }

  /** Paths whose value was rejected (wrong type, bad enum): follow-up "required" errors are left out. */
  readonly invalid = new Set<string>();

  /** True when an error was reported at `path` or below it. */
  hasErrorsUnder(path: string): boolean {
    return this.items.some(
      (d) =>
        d.severity === 'error' && d.path !== undefined &&
        (d.path === path || d.path.startsWith(path + '.') || d.path.startsWith(path + '[')),
    );
  }

  get errorCount(): number {
    return this.items.filter((d) => d.severity === 'error').length;
  }

  /** Plain map of path -> value position (for PolicySource.locations). */
  toLocationRecord(): Record<string, Position> {
    const out: Record<string, Position> = {};
    for (const [k, v] of this.locations) out[k] = v.value;
    return out;
  }
}

/** `file:line:col: message` (the file part is left out when unknown). */
export function formatLocation(d: Pick<PolicyDiagnostic, 'file' | 'line' | 'column'>): string {
  return `${d.file ?? '<input>'}:${d.line}:${d.column}`;
}

/** Sort by file, line, column; stable otherwise. */
export function sortDiagnostics(list: PolicyDiagnostic[]): PolicyDiagnostic[] {
  return list
    .map((d, i) => ({ d, i }))
    .sort((a, b) =>
      (a.d.file ?? '').localeCompare(b.d.file ?? '') || a.d.line - b.d.line || a.d.column - b.d.column || a.i - b.i
    )
    .map((x) => x.d);
}
