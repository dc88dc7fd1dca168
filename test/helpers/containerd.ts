// A real containerd 2.1 (scripts/peers.sh) for end-to-end tests: its own
// config, root, state and sockets in a temp dir, the native snapshotter (no
// mounts), NRI off and its "opt" directory inside the temp dir, so that
// nothing outside the temp dir is touched and runs can overlap. Pulls go
// through ctr (Transfer Service) and through CRI `PullImage` over the gRPC
// socket, with a client just big enough for that call (no gRPC library is a
// dependency; the messages are encoded with @bufbuild/protobuf's wire format).
// containerd is killed on every path: teardown, process exit, and, through a
// watchdog shell, the death of the test process.

import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect as http2Connect } from 'node:http2';
import { connect as netConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BinaryReader, BinaryWriter, WireType } from '@bufbuild/protobuf/wire';
import { CONTAINERD, CTR } from './peers.ts';

export interface CommandRun {
  code: number;
  stdout: string;
  stderr: string;
  ms: number;
}

export interface CriRun {
  /** gRPC status (0 OK, 2 Unknown, ...) */
  status: number;
  message: string;
  /** PullImageResponse.image_ref */
  imageRef?: string;
  ms: number;
}

export interface ContainerdHandle {
  dir: string;
  socket: string;
  /** hosts.toml directory (plain HTTP for the given registries), for ctr --hosts-dir and CRI */
  hostsDir: string;
  /** reach `host` (host:port) over plain HTTP from now on (writes its hosts.toml) */
  allowPlainHttp(host: string): void;
  /** containerd's log (debug level) so far */
  log(): string;
  ctr(args: string[], opts?: { namespace?: string; timeoutMs?: number }): Promise<CommandRun>;
  /** `ctr image pull` through the Transfer Service, native snapshotter */
  pull(image: string, opts?: { namespace?: string; extra?: string[] }): Promise<CommandRun>;
  /** CRI runtime.v1.ImageService/PullImage */
  criPull(image: string): Promise<CriRun>;
  /** image names in a namespace (`default` for ctr, `k8s.io` for CRI) */
  images(namespace?: string): Promise<string[]>;
  /** removes images and waits for the garbage collection (content and snapshots gone) */
  removeImages(names: string[], namespace?: string): Promise<void>;
  stop(): Promise<void>;
}

// sh -c WATCHDOG containerd config.toml: the daemon dies when our stdin pipe closes.
const WATCHDOG = [
  'exec 3<&0',
  '"$0" --config "$1" <&- 3<&- 2>>"$2" >&2 &',
  'p=$!',
  'echo $p',
  '(read _ <&3; kill -9 $p 2>/dev/null) &',
  'wait $p',
].join('\n');

const running = new Set<ChildProcess>();
let hooked = false;

function toml(s: string): string {
  return JSON.stringify(s);
}

function runFile(
  file: string,
  args: string[],
  opts: { env?: Record<string, string>; timeoutMs?: number } = {},
): Promise<CommandRun> {
  const started = performance.now();
  return new Promise((resolve) => {
    const child = execFile(file, args, {
      env: opts.env ?? { PATH: '/usr/bin:/bin' },
      timeout: opts.timeoutMs ?? 60_000,
      killSignal: 'SIGKILL',
      maxBuffer: 16 * 1024 * 1024,
    }, (err, stdout, stderr) => {
      const code = err
        ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 99)
        : 0;
      resolve({ code, stdout: String(stdout), stderr: String(stderr), ms: performance.now() - started });
    });
    child.stdin?.end();
  });
}

/** One unary gRPC call over a unix socket: 5-byte framing, status from the trailers. */
function grpcUnary(
  socket: string,
  path: string,
  request: Uint8Array,
  timeoutMs = 60_000,
): Promise<{ status: number; message: string; body: Uint8Array; ms: number }> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const session = http2Connect('http://localhost', { createConnection: () => netConnect(socket) });
    const timer = setTimeout(() => {
      session.destroy();
      reject(new Error(`gRPC ${path} did not answer within ${timeoutMs} ms`));
    }, timeoutMs);
    session.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    const frame = Buffer.alloc(5 + request.length);
    frame.writeUInt32BE(request.length, 1);
    frame.set(request, 5);
    const req = session.request({
      ':method': 'POST',
      ':path': path,
      'content-type': 'application/grpc',
      te: 'trailers',
    });
    const chunks: Buffer[] = [];
    let headers: Record<string, unknown> = {};
    let trailers: Record<string, unknown> | undefined;
    req.on('response', (h) => (headers = h as Record<string, unknown>));
    req.on('trailers', (h) => (trailers = h as Record<string, unknown>));
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('error', (e) => {
      clearTimeout(timer);
      session.destroy();
      reject(e);
    });
    req.on('end', () => {
      clearTimeout(timer);
      session.close();
      const meta = trailers ?? headers;
      const data = Buffer.concat(chunks);
      const body = data.length >= 5 ? data.subarray(5, 5 + data.readUInt32BE(1)) : new Uint8Array();
      resolve({
        status: Number(meta['grpc-status'] ?? -1),
        message: decodeURIComponent(String(meta['grpc-message'] ?? '')),
        body,
        ms: performance.now() - started,
      });
    });
    req.end(frame);
  });
}

/** PullImageRequest{image: ImageSpec{image}} (k8s.io/cri-api runtime/v1 api.proto: fields 1 and 1). */
function encodePullImageRequest(image: string): Uint8Array {
  return new BinaryWriter().tag(1, WireType.LengthDelimited).fork().tag(1, WireType.LengthDelimited).string(image)
    .join().finish();
}

/** PullImageResponse{image_ref = 1} */
function decodePullImageResponse(body: Uint8Array): string | undefined {
  const r = new BinaryReader(body);
  let ref: string | undefined;
  while (r.pos < r.len) {
    const [field, wire] = r.tag();
    if (field === 1 && wire === WireType.LengthDelimited) ref = r.string();
    else r.skip(wire);
  }
  return ref;
}

/** Parses containerd's logrus timestamps (time="2026-01-02T03:04:05.123456789Z") to epoch ms with sub-ms precision. */
export function logTime(line: string): number | undefined {
  const m = /time="(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(\.\d+)?Z"/.exec(line);
  if (!m) return undefined;
  return Date.parse(`${m[1]}Z`) + Number(m[2] ?? 0) * 1000;
}

/**
 * The verifier runs containerd logged (debug): from "Verifying image pull"
 * to the verdict ("Image verifier allowed pull" or a block), per pull of `name`.
 */
export function verifierDurations(log: string, name: string): number[] {
  const out: number[] = [];
  let start: number | undefined;
  for (const line of log.split('\n')) {
    if (!line.includes(`name=${JSON.stringify(name)}`) && !line.includes(`name=${name} `)) continue;
    if (line.includes('msg="Verifying image pull"')) start = logTime(line);
    else if (start !== undefined && /msg="Image verifier (allowed|blocked)/.test(line)) {
      const end = logTime(line);
      if (end !== undefined) out.push(end - start);
      start = undefined;
    }
  }
  return out;
}

export interface StartContainerdOptions {
  /** the image-verifier bindir */
  binDir: string;
  /** containerd's environment, which it passes to verifiers */
  env: Record<string, string>;
  /** registries (host:port) reached over plain HTTP */
  plainHttp: string[];
  perVerifierTimeout?: string;
}

/** Starts containerd and waits until it answers on its socket. */
export async function startContainerd(opts: StartContainerdOptions): Promise<ContainerdHandle> {
  if (!hooked) {
    hooked = true;
    process.on('exit', () => {
      for (const c of running) c.stdin?.destroy();
    });
  }
  const dir = mkdtempSync(join(tmpdir(), 'sigward-containerd-peer-'));
  const state = join(dir, 'state');
  const socket = join(state, 'containerd.sock');
  const hostsDir = join(dir, 'certs.d');
  for (const d of [join(dir, 'root'), state, hostsDir, join(dir, 'opt')]) mkdirSync(d, { recursive: true });
  const allowPlainHttp = (host: string) => {
    mkdirSync(join(hostsDir, host), { recursive: true });
    writeFileSync(
      join(hostsDir, host, 'hosts.toml'),
      `server = ${toml(`http://${host}`)}\n[host.${toml(`http://${host}`)}]\n  capabilities = ["pull", "resolve"]\n`,
    );
  };
  for (const host of opts.plainHttp) allowPlainHttp(host);
  const config = `version = 3
root = ${toml(join(dir, 'root'))}
state = ${toml(state)}
disabled_plugins = ["io.containerd.nri.v1.nri"]
[grpc]
  address = ${toml(socket)}
[ttrpc]
  address = ${toml(socket + '.ttrpc')}
[debug]
  level = "debug"
[plugins."io.containerd.internal.v1.opt"]
  path = ${toml(join(dir, 'opt'))}
[plugins."io.containerd.image-verifier.v1.bindir"]
  bin_dir = ${toml(opts.binDir)}
  max_verifiers = 10
  per_verifier_timeout = ${toml(opts.perVerifierTimeout ?? '10s')}
[[plugins."io.containerd.transfer.v1.local".unpack_config]]
  platform = "linux/amd64"
  snapshotter = "native"
[plugins."io.containerd.cri.v1.images"]
  snapshotter = "native"
  use_local_image_pull = false
  [plugins."io.containerd.cri.v1.images".registry]
    config_path = ${toml(hostsDir)}
`;
  const configPath = join(dir, 'config.toml');
  writeFileSync(configPath, config);
  const logPath = join(dir, 'containerd.log');
  writeFileSync(logPath, '');
  const child = spawn('/bin/sh', ['-c', WATCHDOG, CONTAINERD, configPath, logPath], {
    stdio: ['pipe', 'pipe', 'ignore'],
    env: opts.env,
  });
  running.add(child);
  let pidText = '';
  child.stdout!.on('data', (c: Buffer) => (pidText += c.toString()));
  child.on('exit', () => running.delete(child));
  const log = () => (existsSync(logPath) ? readFileSync(logPath, 'utf8') : '');
  const ctrEnv = { PATH: '/usr/bin:/bin', HOME: dir };
  const ctr = (args: string[], o: { namespace?: string; timeoutMs?: number } = {}) =>
    runFile(CTR, ['--address', socket, '--namespace', o.namespace ?? 'default', ...args], {
      env: ctrEnv,
      ...(o.timeoutMs ? { timeoutMs: o.timeoutMs } : {}),
    });

  let stopped: Promise<void> | undefined;
  const stop = () => (stopped ??= (async () => {
    const pid = Number.parseInt(pidText.trim(), 10);
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise<void>((r) => child.once('exit', () => r()));
      if (Number.isSafeInteger(pid) && pid > 0) {
        try {
          process.kill(pid, 'SIGTERM');
        } catch {
          // already gone
        }
      }
      const hard = setTimeout(() => child.stdin?.end(), 5000);
      await exited;
      clearTimeout(hard);
    }
    child.stdin?.destroy();
    running.delete(child);
    rmSync(dir, { recursive: true, force: true });
  })());

  const until = Date.now() + 20_000;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      const text = log();
      await stop();
      throw new Error(`containerd exited early: ${text.slice(-3000)}`);
    }
    if (existsSync(socket) && (await ctr(['version'], { timeoutMs: 5000 })).code === 0) break;
    if (Date.now() > until) {
      const text = log();
      await stop();
      throw new Error(`containerd did not answer on ${socket}: ${text.slice(-3000)}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }

  return {
    dir,
    socket,
    hostsDir,
    allowPlainHttp,
    log,
    ctr,
    pull: (image, o = {}) =>
      ctr(['image', 'pull', '--hosts-dir', hostsDir, '--snapshotter', 'native', ...(o.extra ?? []), image], o),
    criPull: async (image) => {
      const r = await grpcUnary(socket, '/runtime.v1.ImageService/PullImage', encodePullImageRequest(image));
      const imageRef = r.status === 0 ? decodePullImageResponse(r.body) : undefined;
      return { status: r.status, message: r.message, ms: r.ms, ...(imageRef ? { imageRef } : {}) };
    },
    images: async (namespace = 'default') => {
      const r = await ctr(['image', 'ls', '-q'], { namespace });
      if (r.code !== 0) throw new Error(`ctr image ls: ${r.stderr}`);
      return r.stdout.split('\n').filter(Boolean);
    },
    removeImages: async (names, namespace = 'default') => {
      if (!names.length) return;
      const r = await ctr(['image', 'rm', '--sync', ...names], { namespace });
      if (r.code !== 0) throw new Error(`ctr image rm: ${r.stderr}`);
    },
    stop,
  };
}
