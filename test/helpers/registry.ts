// Test harness: a real Debian docker-registry (distribution 2.8) on 127.0.0.1, plus
// helpers that push small random images. Used by the oci tests and by other areas.

import { execFile, execFileSync, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import * as http from 'node:http';
import * as https from 'node:https';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { MEDIA_TYPES } from '../../lib/oci/types.ts';
import type { Descriptor, ImageIndex, ImageManifest, OciStore, Platform, RepositoryRef } from '../../lib/oci/types.ts';

const run = promisify(execFile);
const REGISTRY_BIN = '/usr/bin/docker-registry';

export interface StartRegistryOptions {
  /** serve HTTPS with a fresh CA (caCertPem) and a cert for 127.0.0.1/localhost */
  tls?: boolean;
  /** htpasswd (bcrypt) basic auth */
  htpasswd?: { user: string; pass: string };
  /** Docker token auth: the registry trusts JWTs signed by the holder of rootCertPem's key */
  tokenAuth?: { realm: string; service: string; issuer: string; rootCertPem: string };
}

export interface RegistryHandle {
  /** '127.0.0.1:<port>' */
  host: string;
  /** 'http(s)://127.0.0.1:<port>' */
  url: string;
  /** the CA that signed the server certificate (tls only) */
  caCertPem?: string;
  /** temp directory holding config, storage and certificates */
  dir: string;
  /** a RepositoryRef in this registry */
  ref(repository: string): RepositoryRef;
  stop(): Promise<void>;
}

// sh -c WATCHDOG docker-registry config.yml: prints the registry pid, waits for it, and
// kills it as soon as stdin reaches EOF.
const WATCHDOG = [
  'exec 3<&0',
  '"$0" serve "$1" <&- 3<&- &',
  'p=$!',
  'echo $p',
  '(read _ <&3; kill $p 2>/dev/null) &',
  'wait $p',
].join('\n');

const running = new Set<ChildProcess>();
let exitHookInstalled = false;
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const c of running) c.stdin?.destroy();
  });
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.unref();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

export interface TestCA {
  caCertPem: string;
  caCertPath: string;
  caKeyPath: string;
  certPath: string;
  keyPath: string;
}

/** A throwaway CA and a server certificate for 127.0.0.1 / localhost (openssl, EC P-256). */
export async function generateTls(dir: string, cn = 'sigward-test-ca'): Promise<TestCA> {
  const caKeyPath = join(dir, 'ca.key');
  const caCertPath = join(dir, 'ca.pem');
  const keyPath = join(dir, 'server.key');
  const csrPath = join(dir, 'server.csr');
  const certPath = join(dir, 'server.pem');
  const extPath = join(dir, 'server.ext');
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];
  await run('openssl', [
    'req',
    '-x509',
    ...ec,
    '-keyout',
    caKeyPath,
    '-out',
    caCertPath,
    '-days',
    '2',
    '-subj',
    `/CN=${cn}`,
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign',
  ]);
  await run('openssl', ['req', ...ec, '-keyout', keyPath, '-out', csrPath, '-subj', '/CN=127.0.0.1']);
  await writeFile(
    extPath,
    'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\nbasicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\n',
  );
  await run('openssl', [
    'x509',
    '-req',
    '-in',
    csrPath,
    '-CA',
    caCertPath,
    '-CAkey',
    caKeyPath,
    '-CAcreateserial',
    '-out',
    certPath,
    '-days',
    '2',
    '-extfile',
    extPath,
  ]);
  return { caCertPem: await readFile(caCertPath, 'utf8'), caCertPath, caKeyPath, certPath, keyPath };
}

function yamlString(s: string): string {
  return JSON.stringify(s);
}

async function waitReady(url: string, child: ChildProcess, stderr: () => string): Promise<void> {
  const until = Date.now() + 10_000;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`docker-registry exited early (${child.exitCode ?? child.signalCode}): ${stderr().slice(-2000)}`);
    }
    const status = await new Promise<number>((resolve) => {
      const mod = url.startsWith('https:') ? https : http;
      const req = mod.get(`${url}/v2/`, { rejectUnauthorized: false, agent: false }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', () => resolve(0));
      req.setTimeout(1000, () => req.destroy());
    });
    if (status === 200 || status === 401) return;
    if (Date.now() > until) throw new Error(`docker-registry did not answer on ${url}: ${stderr().slice(-2000)}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** Starts /usr/bin/docker-registry on a free 127.0.0.1 port with storage in a temp dir. */
export async function startRegistry(opts: StartRegistryOptions = {}): Promise<RegistryHandle> {
  installExitHook();
  const dir = await mkdtemp(join(tmpdir(), 'sigward-registry-'));
  let caCertPem: string | undefined;
  const lines: string[] = [
    'version: 0.1',
    'log:',
    '  level: error',
    '  accesslog:',
    '    disabled: true',
    'storage:',
    '  filesystem:',
    `    rootdirectory: ${yamlString(join(dir, 'data'))}`,
    '  delete:',
    '    enabled: true',
    '  maintenance:',
    '    uploadpurging:',
    '      enabled: false',
  ];
  const httpLines: string[] = [];
  if (opts.tls) {
    const ca = await generateTls(dir);
    caCertPem = ca.caCertPem;
    httpLines.push('  tls:', `    certificate: ${yamlString(ca.certPath)}`, `    key: ${yamlString(ca.keyPath)}`);
  }
  if (opts.htpasswd && opts.tokenAuth) throw new Error('startRegistry: choose htpasswd or tokenAuth');
  if (opts.htpasswd) {
    const { stdout } = await run('htpasswd', ['-Bbn', opts.htpasswd.user, opts.htpasswd.pass]);
    const path = join(dir, 'htpasswd');
    await writeFile(path, stdout.trim() + '\n');
    lines.push('auth:', '  htpasswd:', '    realm: sigward-test', `    path: ${yamlString(path)}`);
  }
  if (opts.tokenAuth) {
    const path = join(dir, 'token-root.pem');
    await writeFile(path, opts.tokenAuth.rootCertPem);
    lines.push(
      'auth:',
      '  token:',
      `    realm: ${yamlString(opts.tokenAuth.realm)}`,
      `    service: ${yamlString(opts.tokenAuth.service)}`,
      `    issuer: ${yamlString(opts.tokenAuth.issuer)}`,
      `    rootcertbundle: ${yamlString(path)}`,
    );
  }
  let lastErr: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    const host = `127.0.0.1:${port}`;
    const url = `${opts.tls ? 'https' : 'http'}://${host}`;
    const cfg =
      [...lines, 'http:', `  addr: ${host}`, `  secret: ${randomBytes(16).toString('hex')}`, ...httpLines].join('\n') +
      '\n';
    const cfgPath = join(dir, 'config.yml');
    await writeFile(cfgPath, cfg);
    // A watchdog shell owns the registry: it kills it when our stdin pipe closes, which
    // happens on stop() and also when this process dies without running exit hooks.
    const child = spawn('/bin/sh', ['-c', WATCHDOG, REGISTRY_BIN, cfgPath], { stdio: ['pipe', 'pipe', 'pipe'] });
    running.add(child);
    let err = '';
    let out = '';
    child.stderr!.on('data', (c: Buffer) => {
      if (err.length < 100_000) err += c.toString();
    });
    child.stdout!.on('data', (c: Buffer) => {
      out += c.toString();
    });
    child.on('exit', () => running.delete(child));
    const registryPid = (): number | undefined => {
      const n = Number.parseInt(out.trim(), 10);
      return Number.isSafeInteger(n) && n > 0 ? n : undefined;
    };
    const hardKill = (): void => {
      const pid = registryPid();
      if (pid !== undefined) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
      child.kill('SIGKILL');
    };
    try {
      await waitReady(url, child, () => err);
    } catch (e) {
      lastErr = e;
      child.stdin!.destroy();
      hardKill();
      continue;
    }
    let stopped: Promise<void> | undefined;
    const handle: RegistryHandle = {
      host,
      url,
      dir,
      ...(caCertPem ? { caCertPem } : {}),
      ref: (repository) => ({ transport: 'registry', registry: host, repository }),
      stop: () => (stopped ??= (async () => {
        if (child.exitCode === null && child.signalCode === null) {
          const exited = new Promise<void>((r) => child.once('exit', () => r()));
          child.stdin!.end();
          const timer = setTimeout(hardKill, 3000);
          await exited;
          clearTimeout(timer);
        }
        child.stdin!.destroy();
        running.delete(child);
        await rm(dir, { recursive: true, force: true });
      })()),
    };
    return handle;
  }
  await rm(dir, { recursive: true, force: true });
  throw lastErr;
}

/** startRegistry + t.teardown(stop). */
export async function withRegistry(
  t: { teardown(fn: () => unknown): void },
  opts: StartRegistryOptions = {},
): Promise<RegistryHandle> {
  const r = await startRegistry(opts);
  t.teardown(() => r.stop());
  return r;
}

export interface PushImageOptions {
  /** number of random layers (default 1) */
  layers?: number;
  /** bytes per layer (default 256) */
  layerSize?: number;
  /** layer contents instead of random bytes (e.g. `tarLayer()` for images a runtime unpacks) */
  layerData?: Uint8Array[];
  /** tag to push under (default 'latest'); false: by digest only */
  tag?: string | false;
  /** Docker schema2 media types instead of OCI */
  docker?: boolean;
  platform?: Platform;
  annotations?: Record<string, string>;
  /** OCI 1.1 subject (makes the image a referrer) */
  subject?: Descriptor;
  artifactType?: string;
}

export interface PushedImage {
  digest: string;
  descriptor: Descriptor;
  bytes: Uint8Array;
  manifest: ImageManifest;
  config: Descriptor;
  layers: Descriptor[];
}

/** Pushes a small random image (config + layers) and returns everything about it. */
export async function pushImageDetailed(
  store: OciStore,
  repo: RepositoryRef,
  opts: PushImageOptions = {},
): Promise<PushedImage> {
  const docker = !!opts.docker;
  const layerType = docker
    ? 'application/vnd.docker.image.rootfs.diff.tar.gzip'
    : 'application/vnd.oci.image.layer.v1.tar';
  const layers: Descriptor[] = [];
  const data = opts.layerData ??
    Array.from({ length: opts.layers ?? 1 }, () => new Uint8Array(randomBytes(opts.layerSize ?? 256)));
  for (const bytes of data) layers.push(await store.putBlob(repo, bytes, layerType));
  const platform = opts.platform ?? { os: 'linux', architecture: 'amd64' };
  const configJson = {
    architecture: platform.architecture,
    os: platform.os,
    ...(platform.variant ? { variant: platform.variant } : {}),
    created: '2024-01-01T00:00:00Z',
    config: { Labels: { 'sigward.test': randomBytes(8).toString('hex') } },
    rootfs: { type: 'layers', diff_ids: layers.map((l) => l.digest) },
  };
  const config = await store.putBlob(
    repo,
    new TextEncoder().encode(JSON.stringify(configJson)),
    docker ? MEDIA_TYPES.dockerConfig : MEDIA_TYPES.ociConfig,
  );
  const mediaType = docker ? MEDIA_TYPES.dockerManifest : MEDIA_TYPES.ociManifest;
  const manifest: ImageManifest = {
    schemaVersion: 2,
    mediaType,
    ...(opts.artifactType ? { artifactType: opts.artifactType } : {}),
    config,
    layers,
    ...(opts.subject ? { subject: opts.subject } : {}),
    ...(opts.annotations ? { annotations: opts.annotations } : {}),
  };
  const bytes = new TextEncoder().encode(JSON.stringify(manifest));
  const tag = opts.tag === undefined ? 'latest' : opts.tag === false ? undefined : opts.tag;
  const descriptor = await store.putManifest(repo, bytes, mediaType, tag);
  return { digest: descriptor.digest, descriptor, bytes, manifest, config, layers };
}

/**
 * An uncompressed tar layer holding one file of random bytes, made by the
 * system's tar: what containerd and CRI-O can unpack (random bytes cannot be).
 */
export function tarLayer(size = 256): Uint8Array {
  const dir = mkdtempSync(join(tmpdir(), 'sigward-layer-'));
  try {
    writeFileSync(join(dir, 'random.bin'), randomBytes(size));
    return new Uint8Array(
      execFileSync('tar', ['-C', dir, '--owner=0', '--group=0', '--numeric-owner', '-cf', '-', 'random.bin']),
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Pushes a small random image and returns its manifest digest. */
export async function pushImage(store: OciStore, repo: RepositoryRef, opts: PushImageOptions = {}): Promise<string> {
  return (await pushImageDetailed(store, repo, opts)).digest;
}

/** Pushes an image index over the given (already pushed) manifests. */
export async function pushIndex(
  store: OciStore,
  repo: RepositoryRef,
  children: Array<{ descriptor: Descriptor; platform?: Platform; annotations?: Record<string, string> }>,
  opts: { tag?: string | false; docker?: boolean } = {},
): Promise<{ digest: string; descriptor: Descriptor; bytes: Uint8Array; index: ImageIndex }> {
  const mediaType = opts.docker ? MEDIA_TYPES.dockerManifestList : MEDIA_TYPES.ociIndex;
  const index: ImageIndex = {
    schemaVersion: 2,
    mediaType,
    manifests: children.map((c) => ({
      mediaType: c.descriptor.mediaType,
      digest: c.descriptor.digest,
      size: c.descriptor.size,
      ...(c.platform ? { platform: c.platform } : {}),
      ...(c.annotations ? { annotations: c.annotations } : {}),
    })),
  };
  const bytes = new TextEncoder().encode(JSON.stringify(index));
  const tag = opts.tag === undefined ? 'latest' : opts.tag === false ? undefined : opts.tag;
  const descriptor = await store.putManifest(repo, bytes, mediaType, tag);
  return { digest: descriptor.digest, descriptor, bytes, index };
}
