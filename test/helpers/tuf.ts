// A real TUF repository for the TUF tests: made by python-tuf (the unpacked
// python3-tuf peer, through scripts/peers.sh's peers-python3) with
// test/helpers/tuf_repo.py, served over HTTP on 127.0.0.1 by a small static
// server that can switch between the repository's states or go down.

import { execFile, execFileSync } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, normalize, sep } from 'node:path';
import { promisify } from 'node:util';
import t from 'tap';
import { ROOT } from './fixtures.ts';
import { PEERS_BIN } from './peer-paths.ts';

const run = promisify(execFile);

export const PEERS_PYTHON = join(PEERS_BIN, 'peers-python3');
const GENERATOR = join(ROOT, 'test/helpers/tuf_repo.py');

let problem: string | undefined | null = null;

/** Why python-tuf cannot build repositories here, or undefined when it can. */
export function getPythonTufProblem(): string | undefined {
  if (problem !== null) return problem;
  if (!existsSync(PEERS_PYTHON)) {
    problem = `python3-tuf is missing (no ${PEERS_PYTHON}): run bash scripts/peers.sh`;
    return problem;
  }
  try {
    // the generator's own imports, including the key types Debian's python3-cryptography must provide
    execFileSync(PEERS_PYTHON, ['-B', GENERATOR, '--help'], { stdio: 'pipe', timeout: 30_000 });
    problem = undefined;
  } catch (e) {
    const err = (e as { stderr?: Buffer }).stderr?.toString().trim();
    problem = `python3-tuf cannot run through ${PEERS_PYTHON} (${
      err || (e as Error).message
    }): run bash scripts/peers.sh; it needs /usr/bin/python3 with python3-cryptography`;
  }
  return problem;
}

/**
 * Runs `main` when python-tuf works. Without it the file is skipped locally,
 * saying what is missing, and fails under CI (as withRealCosign).
 */
export function withPythonTuf(main: () => void): void {
  const why = getPythonTufProblem();
  if (why === undefined) return main();
  if (process.env.CI) throw new Error(why);
  t.test('python-tuf repository', { skip: why }, async () => {});
}

export const TUF_STATES = [
  'v1',
  'v2',
  'rotated',
  'bad-rotation',
  'expired-timestamp',
  'expired-targets',
  'wrong-key-timestamp',
  'wrong-key-targets',
  'rollback-snapshot',
  'bad-target',
  'refreshed',
  'short-lived',
] as const;
export type TufState = (typeof TUF_STATES)[number];

export interface TufRepo {
  /** root.json version 1: the trust anchor clients start from */
  root: string;
  states: Partial<Record<TufState, string>>;
  /** timestamp.json expiry per state (ISO) */
  expires: Partial<Record<TufState, string>>;
}

/**
 * Builds (or adds states to) the repository in `out`. The three targets are
 * the trusted_root.json contents of targets versions 1, 2 and 3 (see
 * tuf_repo.py for what each state holds). Keys persist in out/keys.
 */
export async function buildTufRepo(
  out: string,
  targets: [string, string, string],
  o: { only?: TufState[]; shortLivedSeconds?: number } = {},
): Promise<TufRepo> {
  const args = ['-B', GENERATOR, out, ...targets.flatMap((x) => ['--target', x])];
  for (const s of o.only ?? []) args.push('--only', s);
  if (o.shortLivedSeconds !== undefined) args.push('--short-lived', String(o.shortLivedSeconds));
  const r = await run(PEERS_PYTHON, args, { timeout: 60_000 });
  return JSON.parse(r.stdout) as TufRepo;
}

export interface TufMirror {
  /** http://127.0.0.1:PORT, the same for the mirror's whole life (clients key their cache by it) */
  url: string;
  /** serve this state directory from now on */
  serve(stateDir: string): void;
  /** stop listening: connections are refused until up() */
  down(): Promise<void>;
  up(): Promise<void>;
  /** paths requested so far (reset with requests.length = 0) */
  requests: string[];
  stop(): Promise<void>;
}

/** A static HTTP server for TUF metadata and targets on 127.0.0.1. */
export async function startTufMirror(): Promise<TufMirror> {
  let dir: string | undefined;
  const requests: string[] = [];
  const handler = (req: import('node:http').IncomingMessage, res: import('node:http').ServerResponse) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    requests.push(path);
    const file = dir ? normalize(join(dir, path)) : undefined;
    if (!file || !file.startsWith(dir + sep) || !existsSync(file) || !statSync(file).isFile()) {
      res.writeHead(404).end('not found\n');
      return;
    }
    const body = readFileSync(file);
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': body.length }).end(body);
  };
  let server: Server = createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  let listening = true;
  const close = async () => {
    if (!listening) return;
    listening = false;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  return {
    url: `http://127.0.0.1:${port}`,
    serve: (d) => void (dir = d),
    down: close,
    up: async () => {
      if (listening) return;
      server = createServer(handler);
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, '127.0.0.1', () => resolve());
      });
      listening = true;
    },
    requests,
    stop: close,
  };
}
