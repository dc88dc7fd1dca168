// A TUF repository on 127.0.0.1 serving trusted_root.json, as Sigstore's TUF
// CDN does: root, targets, snapshot and timestamp metadata built and signed
// with @tufjs/models (the TUF library @sigstore/tuf's client is made of), one
// Ed25519 key for every role, no consistent snapshots. Nothing here verifies
// anything; sigward's TUF client (@sigstore/tuf) fetches from it.

import { Key, Metadata, MetaFile, Root, Signature, Snapshot, TargetFile, Targets, Timestamp } from '@tufjs/models';
import { canonicalize } from '@tufjs/canonical-json';
import { createHash, generateKeyPairSync, sign } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Test } from 'tap';

export interface TufRepository {
  /** the mirror URL to give @sigstore/tuf (--tuf-mirror) */
  url: string;
  /** the initial root.json (--tuf-root) */
  rootPath: string;
  /** an empty cache directory (--tuf-cache) */
  cachePath: string;
}

/** Serves `targets` (name -> content) from a freshly signed TUF repository until the test ends. */
export async function withTufRepository(t: Test, targets: Record<string, string>): Promise<TufRepository> {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  const keyVal = { public: publicKey.export({ format: 'der', type: 'spki' }).subarray(12).toString('hex') };
  const keyID = createHash('sha256').update(canonicalize({ keytype: 'ed25519', scheme: 'ed25519', keyval: keyVal }))
    .digest('hex');
  const key = new Key({ keyID, keyType: 'ed25519', scheme: 'ed25519', keyVal });
  const signer = (data: Buffer) => new Signature({ keyID, sig: sign(null, data, privateKey).toString('hex') });
  const common = {
    version: 1,
    specVersion: '1.0.31',
    expires: new Date(Date.now() + 86_400_000).toISOString().replace(/\.\d{3}Z$/, 'Z'),
  };

  const root = new Root({ ...common, consistentSnapshot: false });
  for (const role of ['root', 'targets', 'snapshot', 'timestamp']) root.addKey(key, role);
  const files: Record<string, TargetFile> = {};
  for (const [name, content] of Object.entries(targets)) {
    files[name] = new TargetFile({
      path: name,
      length: Buffer.byteLength(content),
      hashes: { sha256: createHash('sha256').update(content).digest('hex') },
    });
  }
  const signed = (m: Root | Targets | Snapshot | Timestamp) => {
    const md = new Metadata(m);
    md.sign(signer);
    return JSON.stringify(md.toJSON());
  };
  const served = new Map<string, string>([
    ['/1.root.json', signed(root)],
    ['/targets.json', signed(new Targets({ ...common, targets: files }))],
    ['/snapshot.json', signed(new Snapshot({ ...common, meta: { 'targets.json': new MetaFile({ version: 1 }) } }))],
    ['/timestamp.json', signed(new Timestamp({ ...common, snapshotMeta: new MetaFile({ version: 1 }) }))],
    ...Object.entries(targets).map(([name, content]) => [`/targets/${name}`, content] as [string, string]),
  ]);
  const server = createServer((req, res) => {
    const body = served.get(req.url ?? '');
    res.writeHead(body === undefined ? 404 : 200, { 'content-type': 'application/json' });
    res.end(body ?? '');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const dir = mkdtempSync(join(tmpdir(), 'sigward-tuf-repo-'));
  const rootPath = join(dir, 'root.json');
  writeFileSync(rootPath, served.get('/1.root.json')!);
  t.teardown(() => {
    server.close();
    rmSync(dir, { recursive: true, force: true });
  });
  return {
    url: `http://127.0.0.1:${(server.address() as { port: number }).port}`,
    rootPath,
    cachePath: join(dir, 'cache'),
  };
}
