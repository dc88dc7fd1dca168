// Change detection for mounted files (policies, serving certificate): a
// content fingerprint polled every `intervalMs`, with fs.watch events
// triggering an early check. Kubernetes updates ConfigMap and Secret volumes
// by swapping a symlink, which fs.watch on the file itself misses; watching
// the directory and comparing contents catches every kind of update.
// A change is reported only once the fingerprint holds still for `settleMs`,
// so a file caught half written (an editor truncating then writing) is not
// loaded.

import { type FSWatcher, statSync, watch } from 'node:fs';
import { dirname } from 'node:path';

export interface WatchOptions {
  /** files or directories whose changes matter (directories are watched recursively where supported) */
  paths: string[];
  /** current state; any change of the returned string is a change */
  fingerprint: () => string;
  onChange: () => void | Promise<void>;
  /** polling period, default 2000 ms */
  intervalMs?: number;
  /** quiet time before a change is reported, default 300 ms */
  settleMs?: number;
  onError?: (e: unknown) => void;
}

export interface FileWatch {
  /** checks now (also used by tests); resolves once any reload it triggered is done */
  check(): Promise<void>;
  close(): void;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export function watchFiles(opts: WatchOptions): FileWatch {
  const intervalMs = opts.intervalMs ?? 2000;
  const settleMs = opts.settleMs ?? 300;
  let last = safeFingerprint();
  let closed = false;
  let running: Promise<void> | undefined;
  let again = false;
  let eventTimer: NodeJS.Timeout | undefined;

  function safeFingerprint(): string {
    try {
      return opts.fingerprint();
    } catch (e) {
      opts.onError?.(e);
      return `<error ${e instanceof Error ? e.message : String(e)}>`;
    }
  }

  async function run(): Promise<void> {
    do {
      again = false;
      let fp = safeFingerprint();
      if (fp === last) continue;
      // wait until it holds still
      for (let i = 0; i < 20 && !closed; i++) {
        await sleep(settleMs);
        const next = safeFingerprint();
        if (next === fp) break;
        fp = next;
      }
      if (closed) return;
      last = fp;
      try {
        await opts.onChange();
      } catch (e) {
        opts.onError?.(e);
      }
    } while (again && !closed);
  }

  function check(): Promise<void> {
    if (closed) return Promise.resolve();
    if (running) {
      again = true;
      return running;
    }
    running = run().finally(() => {
      running = undefined;
    });
    return running;
  }

  const watchers: FSWatcher[] = [];
  const onEvent = () => {
    if (closed) return;
    clearTimeout(eventTimer);
    eventTimer = setTimeout(() => void check(), 50);
    eventTimer.unref();
  };
  const targets = new Set<string>();
  for (const p of opts.paths) {
    let isDir = false;
    try {
      isDir = statSync(p).isDirectory();
    } catch {
      // missing now: the parent directory shows when it appears
    }
    targets.add(isDir ? p : dirname(p));
  }
  for (const t of targets) {
    try {
      const w = watch(t, { persistent: false, recursive: true }, onEvent);
      w.on('error', (e) => opts.onError?.(e));
      watchers.push(w);
    } catch {
      try {
        const w = watch(t, { persistent: false }, onEvent);
        w.on('error', (e) => opts.onError?.(e));
        watchers.push(w);
      } catch (e) {
        opts.onError?.(e); // polling still works
      }
    }
  }
  const timer = setInterval(() => void check(), intervalMs);
  timer.unref();

  return {
    check,
    close() {
      closed = true;
      clearInterval(timer);
      clearTimeout(eventTimer);
      for (const w of watchers) w.close();
    },
  };
}
