// On-disk cache of "allow" verdicts for the containerd verifier, so that a
// repeated pull of the same digest costs one small file read.
//
//   <cache dir>/verdicts/<algorithm>-<hex>.json  (one file per digest)
//     { "v": 1, "digest": "sha256:...", "entries": [
//         { "name": "registry/app:v1", "fingerprint": "<policy set>", "stamp": "<config files>",
//           "created": 1700000000000, "expires": 1700003600000, "reason": "..." } ] }
//
// An entry answers a pull of `name` at `digest` while it has not expired and
//   - its `stamp` equals the stamp of the configuration files (sizes, mtimes,
//     inodes: stat calls only, no file is read or parsed): the fast path; or
//   - its `fingerprint` equals the fingerprint of the loaded policy set (the
//     policies were rewritten but mean the same, e.g. a ConfigMap remount).
// Only allow verdicts are stored; denials and errors are always re-checked.
// Files are written atomically (temp file + rename); unreadable or corrupt
// files count as misses. The directory must belong to the user running
// sigward and not be writable by others, else the cache is not used.

import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex, utf8ToBytes } from '@noble/hashes/utils.js';
import { mkdirSync, readFileSync, renameSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { walkFileTree } from '../file-tree.ts';
import { join } from 'node:path';

const VERSION = 1;
const MAX_ENTRIES = 32;

export interface VerdictEntry {
  name: string;
  fingerprint: string;
  stamp: string;
  created: number;
  expires: number;
  reason: string;
}

interface VerdictFile {
  v: number;
  digest: string;
  entries: VerdictEntry[];
}

export interface VerdictCache {
  dir: string;
  /** why the cache is not used (unsafe directory), if so */
  disabled?: string;
  /** entry for name@digest under the current configuration stamp */
  getByStamp(digest: string, name: string, stamp: string, now: number): VerdictEntry | undefined;
  /** entry for name@digest under an equivalent policy set */
  getByFingerprint(digest: string, name: string, fingerprint: string, now: number): VerdictEntry | undefined;
  /** stores an allow verdict (replacing older entries for the same name) */
  putAllow(digest: string, entry: VerdictEntry): void;
}

function fileName(digest: string): string {
  return digest.replace(':', '-').replace(/[^a-z0-9-]/g, '') + '.json';
}

function isEntry(e: unknown): e is VerdictEntry {
  if (!e || typeof e !== 'object') return false;
  const x = e as Record<string, unknown>;
  return typeof x.name === 'string' && typeof x.fingerprint === 'string' && typeof x.stamp === 'string' &&
    typeof x.created === 'number' && typeof x.expires === 'number' && typeof x.reason === 'string';
}

/** A directory we may trust: ours, and not group/world writable. */
function checkDirectory(dir: string): string | undefined {
  let st;
  try {
    st = statSync(dir);
  } catch {
    return undefined; // created on first write
  }
  if (!st.isDirectory()) return `${dir} is not a directory`;
  if (typeof process.getuid === 'function' && st.uid !== process.getuid()) {
    return `${dir} is owned by uid ${st.uid}, not by the user running sigward`;
  }
  if (st.mode & 0o022) return `${dir} is writable by group or others (mode ${(st.mode & 0o777).toString(8)})`;
  return undefined;
}

export function openVerdictCache(dir: string): VerdictCache {
  const verdicts = join(dir, 'verdicts');
  const disabled = checkDirectory(dir) ?? checkDirectory(verdicts);

  const read = (digest: string): VerdictFile | undefined => {
    if (disabled) return undefined;
    let text: string;
    try {
      text = readFileSync(join(verdicts, fileName(digest)), 'utf8');
    } catch {
      return undefined;
    }
    try {
      const doc = JSON.parse(text) as VerdictFile;
      if (doc?.v !== VERSION || doc.digest !== digest || !Array.isArray(doc.entries)) return undefined;
      return { v: VERSION, digest, entries: doc.entries.filter(isEntry) };
    } catch {
      return undefined; // corrupt: ignored, rewritten on the next allow
    }
  };

  const find = (digest: string, pred: (e: VerdictEntry) => boolean, now: number) =>
    read(digest)?.entries.find((e) => pred(e) && e.expires > now && e.created <= now + 60_000);

  return {
    dir,
    ...(disabled ? { disabled } : {}),
    getByStamp: (digest, name, stamp, now) => find(digest, (e) => e.name === name && e.stamp === stamp, now),
    getByFingerprint: (digest, name, fingerprint, now) =>
      find(digest, (e) => e.name === name && e.fingerprint === fingerprint, now),
    putAllow(digest, entry) {
      if (disabled) return;
      mkdirSync(verdicts, { recursive: true, mode: 0o700 });
      const old = read(digest)?.entries ?? [];
      const entries = [entry, ...old.filter((e) => e.name !== entry.name && e.expires > entry.created)].slice(
        0,
        MAX_ENTRIES,
      );
      const target = join(verdicts, fileName(digest));
      const tmp = `${target}.${process.pid}.${
        process.getBuiltinModule('node:crypto').randomBytes(4).toString('hex')
      }.tmp`;
      try {
        writeFileSync(tmp, JSON.stringify({ v: VERSION, digest, entries } satisfies VerdictFile), {
          mode: 0o600,
          flag: 'wx',
        });
        renameSync(tmp, target);
      } catch (e) {
        try {
          unlinkSync(tmp);
        } catch {
          // never created
        }
        throw e;
      }
    },
  };
}

/**
 * A stamp of the files that decide a verdict, from stat calls only: path,
 * size, mtime, ctime and inode of every file under the given roots, walked
 * exactly as the loaders walk them (lib/file-tree.ts), with missing,
 * unreadable and looping entries recorded as such. SHA-256 from @noble/hashes
 * (the same digest as node:crypto's): this is the cached verdict's path, and
 * loading Node's crypto modules would cost it more than hashing the lines.
 */
export function getConfigStamp(roots: string[], extra = ''): string {
  const h = sha256.create();
  const update = (s: string) => h.update(utf8ToBytes(s));
  update(`v${VERSION}\0${extra}\0`);
  for (const r of roots) {
    walkFileTree(r, (e) => {
      if (e.kind === 'file') {
        update(`file ${e.path} ${e.stat.size} ${e.stat.mtimeNs} ${e.stat.ctimeNs} ${e.stat.ino} ${e.stat.dev}\0`);
      } else update(`${e.kind} ${e.path}\0`);
    });
  }
  return bytesToHex(h.digest());
}
