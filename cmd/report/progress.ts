// A one-line progress bar for long batch runs, drawn on a terminal only.

export interface Progress {
  tick(n?: number): void;
  done(): void;
}

export interface ProgressOptions {
  total: number;
  write: (s: string) => void;
  label?: string;
  /** terminal width (default 80) */
  columns?: number;
  /** ms between redraws (default 100) */
  intervalMs?: number;
  now?: () => number;
}

export const NO_PROGRESS: Progress = { tick() {}, done() {} };

/** Renders `label [#####.....] 120/1000 (12%) 35.1/s` with \r, at most every intervalMs. */
export function renderProgress(done: number, total: number, elapsedMs: number, label: string, columns: number): string {
  const pct = total ? Math.floor((done / total) * 100) : 100;
  const rate = elapsedMs > 0 ? (done / elapsedMs) * 1000 : 0;
  const tail = ` ${done}/${total} (${pct}%) ${rate.toFixed(1)}/s`;
  const width = Math.max(10, Math.min(40, columns - label.length - tail.length - 4));
  const filled = total ? Math.round((done / total) * width) : width;
  return `${label} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}]${tail}`;
}

export function createProgress(opts: ProgressOptions): Progress {
  const now = opts.now ?? (() => performance.now());
  const started = now();
  const interval = opts.intervalMs ?? 100;
  const label = opts.label ?? 'checking';
  const columns = opts.columns ?? 80;
  let count = 0;
  let last = -Infinity;
  let drawn = false;
  const draw = () => {
    opts.write(`\r${renderProgress(count, opts.total, now() - started, label, columns)}\x1b[K`);
    drawn = true;
    last = now();
  };
  return {
    tick(n = 1) {
      count += n;
      if (now() - last >= interval || count >= opts.total) draw();
    },
    done() {
      if (drawn) opts.write('\r\x1b[K');
    },
  };
}
