// The descriptor containerd wrote to stdin, read by the single executable's
// first stage (cmd/containerd-first-stage.ts) before it handed over to the full
// binary in the same process: stdin can be read only once.

export const STDIN_HANDOVER: unique symbol = Symbol.for('sigward.containerd.stdin') as never;

/** What the first stage read from stdin, once (undefined when it did not run). */
export function takeHandedOverStdin(): string | undefined {
  const g = globalThis as Record<symbol, unknown>;
  const text = g[STDIN_HANDOVER];
  delete g[STDIN_HANDOVER];
  return typeof text === 'string' ? text : undefined;
}
