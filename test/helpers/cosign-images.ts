// Images signed by the REAL cosign 3.1.1 in the real registry, in both of
// cosign's storage formats, and the ways a signature can fail to belong to
// an image, also made with cosign (`sign --upload=false` + `attach
// signature`): only the tampering itself (one edited JSON field) is ours.
// Shared by the end-to-end suites whose peers decide these images
// (containerd, skopeo); each case says what a Kyverno key policy decides.

import { execFile } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { OciStore, Platform } from '../../lib/oci/types.ts';
import { COSIGN, offlineSigningConfigArgs } from './peers.ts';
import { keyPolicy as buildKeyPolicy } from './policies.ts';
import { pushImageDetailed, pushIndex, type RegistryHandle, tarLayer } from './registry.ts';

const run = promisify(execFile);

export type SignatureFormat = 'legacy' | 'bundle';
export type CaseKind =
  | 'signed'
  | 'unsigned'
  | 'wrong-key'
  | 'tampered'
  | 'replayed'
  | 'multi-arch'
  | 'multi-arch-index-only'
  | 'multi-arch-children-only'
  | 'unmatched';

export interface SignedCase {
  /** `<format>/<kind>`, e.g. `bundle/replayed` */
  id: string;
  format: SignatureFormat | 'none';
  kind: CaseKind;
  /** `host/repository:tag` */
  image: string;
  digest: string;
  mediaType: string;
  /** what a Kyverno key policy over `host/company/*` decides (and cosign verify, for the matched ones) */
  expected: 'allow' | 'deny';
  /** how the case was made, for messages */
  how: string;
}

export interface CosignImages {
  cases: SignedCase[];
  /** the key every allowed case is signed with */
  publicKeyPem: string;
  publicKeyPath: string;
  /** the key pattern a policy needs: `host/company/*` */
  pattern: string;
  /** runs the real cosign in the fixture's home (COSIGN_PASSWORD set) */
  cosign(args: string[]): Promise<{ code: number; stdout: string; stderr: string }>;
}

/** `cosign sign` flags for each storage format, offline (no Rekor, no Fulcio); bundle needs `<dir>/signing-config.json`. */
export const FORMAT_FLAGS: Record<SignatureFormat, (dir: string) => string[]> = {
  legacy: () => ['--use-signing-config=false', '--tlog-upload=false', '--new-bundle-format=false'],
  bundle: (dir) => ['--signing-config', join(dir, 'signing-config.json')],
};

export const PLATFORMS: Platform[] = [
  { os: 'linux', architecture: 'amd64' },
  { os: 'linux', architecture: 'arm64' },
];

/**
 * Pushes and signs the cases below in `reg` (repositories `company/...`,
 * `public/tool`), with two cosign key pairs made in `dir`:
 *   <format>/signed                    cosign sign --key                                   allow
 *   <format>/wrong-key                 signed with another key                             deny
 *   <format>/tampered                  payload edited after signing, attached with cosign  deny
 *   <format>/replayed                  the signature of <format>/signed attached to another
 *                                      image of the same repository                        deny
 *   <format>/multi-arch                an index (amd64, arm64) signed with --recursive     allow
 *   <format>/multi-arch-index-only     the index signed, its platform manifests not        allow
 *   <format>/multi-arch-children-only  each platform manifest signed, not the index        deny
 *   none/unsigned, none/unmatched      no signature (unmatched: outside the pattern)       deny, allow
 */
export async function makeCosignImages(
  o: { reg: RegistryHandle; store: OciStore; dir: string; formats?: SignatureFormat[] },
): Promise<CosignImages> {
  const { reg, store, dir } = o;
  mkdirSync(join(dir, 'other'), { recursive: true });
  const env = {
    COSIGN_PASSWORD: 'pw',
    HOME: dir,
    DOCKER_CONFIG: join(dir, 'docker'),
    PATH: process.env.PATH ?? '/usr/bin:/bin',
  };
  const cosign = (args: string[], cwd = dir) =>
    run(COSIGN, args, { cwd, env, timeout: 60_000 }).then(
      (r) => ({ code: 0, stdout: r.stdout, stderr: r.stderr }),
      (e: { code?: number; stdout?: string; stderr?: string }) => ({
        code: typeof e.code === 'number' ? e.code : 99,
        stdout: e.stdout ?? '',
        stderr: e.stderr ?? '',
      }),
    );
  const must = async (what: string, args: string[], cwd = dir) => {
    const r = await cosign(args, cwd);
    if (r.code !== 0) throw new Error(`cosign ${what} failed (${r.code}): ${r.stderr.slice(-1500)}`);
    return r;
  };
  await must('generate-key-pair', ['generate-key-pair']);
  await must('generate-key-pair (other key)', ['generate-key-pair'], join(dir, 'other'));
  await must('signing-config create', offlineSigningConfigArgs('signing-config.json'));
  const key = join(dir, 'cosign.key');
  const otherKey = join(dir, 'other', 'cosign.key');
  const host = reg.host;
  const cases: SignedCase[] = [];

  const push = async (repository: string, tag: string, platform?: Platform) => {
    const img = await pushImageDetailed(store, reg.ref(repository), {
      tag,
      layerData: [tarLayer()],
      ...(platform ? { platform } : {}),
    });
    return {
      image: `${host}/${repository}:${tag}`,
      at: `${host}/${repository}@${img.digest}`,
      digest: img.digest,
      mediaType: img.descriptor.mediaType,
      descriptor: img.descriptor,
    };
  };
  const pushMulti = async (repository: string, tag: string) => {
    const children = [];
    for (const p of PLATFORMS) {
      children.push({ ...(await push(repository, `${tag}-${p.architecture}`, p)), platform: p });
    }
    const idx = await pushIndex(
      store,
      reg.ref(repository),
      children.map((c) => ({ descriptor: c.descriptor, platform: c.platform })),
      { tag },
    );
    return {
      image: `${host}/${repository}:${tag}`,
      at: `${host}/${repository}@${idx.digest}`,
      digest: idx.digest,
      mediaType: idx.descriptor.mediaType,
      children,
    };
  };
  const sign = (what: string, format: SignatureFormat, at: string, extra: string[] = [], k = key) =>
    must(`sign ${what}`, [
      'sign',
      '--key',
      k,
      ...FORMAT_FLAGS[format](dir),
      '--allow-insecure-registry',
      '--yes',
      ...extra,
      at,
    ]);
  const attach = (what: string, at: string, files: string[]) =>
    must(`attach signature ${what}`, ['attach', 'signature', '--allow-insecure-registry', ...files, at]);
  const add = (
    format: SignedCase['format'],
    kind: CaseKind,
    img: { image: string; digest: string; mediaType: string },
    expected: SignedCase['expected'],
    how: string,
  ) =>
    cases.push({
      id: `${format}/${kind}`,
      format,
      kind,
      image: img.image,
      digest: img.digest,
      mediaType: img.mediaType,
      expected,
      how,
    });

  for (const format of o.formats ?? (['legacy', 'bundle'] as const)) {
    const out = (name: string) => join(dir, `${format}-${name}`);
    // signed; its signature is kept in files for the replay below
    const signed = await push(`company/${format}-signed`, 'v1');
    const keep = format === 'legacy'
      ? ['--output-signature', out('signed.sig'), '--output-payload', out('signed.payload')]
      : ['--bundle', out('signed.bundle.json')];
    await sign('signed', format, signed.at, keep);
    add(format, 'signed', signed, 'allow', 'cosign sign --key');

    const wrong = await push(`company/${format}-wrong-key`, 'v1');
    await sign('wrong-key', format, wrong.at, [], otherKey);
    add(format, 'wrong-key', wrong, 'deny', 'cosign sign with a key the policy does not name');

    // tampered: sign without uploading, edit the signed content, attach the edited copy
    const tampered = await push(`company/${format}-tampered`, 'v1');
    if (format === 'legacy') {
      await sign('tampered', format, tampered.at, [
        '--upload=false',
        '--output-signature',
        out('tampered.sig'),
        '--output-payload',
        out('tampered.payload'),
      ]);
      const payload = JSON.parse(readFileSync(out('tampered.payload'), 'utf8'));
      payload.optional = { ...(payload.optional ?? {}), approved: 'yes' };
      writeFileSync(out('tampered.payload'), JSON.stringify(payload));
      await attach('tampered', tampered.at, ['--payload', out('tampered.payload'), '--signature', out('tampered.sig')]);
    } else {
      await sign('tampered', format, tampered.at, ['--upload=false', '--bundle', out('tampered.bundle.json')]);
      const bundle = JSON.parse(readFileSync(out('tampered.bundle.json'), 'utf8'));
      const statement = JSON.parse(Buffer.from(bundle.dsseEnvelope.payload, 'base64').toString('utf8'));
      statement.predicate = { ...(statement.predicate ?? {}), approved: 'yes' };
      bundle.dsseEnvelope.payload = Buffer.from(JSON.stringify(statement)).toString('base64');
      writeFileSync(out('tampered.bundle.json'), JSON.stringify(bundle));
      await attach('tampered', tampered.at, ['--bundle', out('tampered.bundle.json')]);
    }
    add(format, 'tampered', tampered, 'deny', 'signed content edited after signing');

    // replayed: the signed image's signature attached to another image of its repository
    const replayed = await push(`company/${format}-signed`, 'replayed');
    await attach(
      'replayed',
      replayed.at,
      format === 'legacy'
        ? ['--payload', out('signed.payload'), '--signature', out('signed.sig')]
        : ['--bundle', out('signed.bundle.json')],
    );
    add(format, 'replayed', replayed, 'deny', `the signature of ${signed.image} attached with cosign attach signature`);

    const multi = await pushMulti(`company/${format}-multi`, 'v1');
    await sign('multi-arch', format, multi.at, ['--recursive']);
    add(format, 'multi-arch', multi, 'allow', 'an index signed with cosign sign --recursive');

    const indexOnly = await pushMulti(`company/${format}-multi-index`, 'v1');
    await sign('multi-arch index', format, indexOnly.at);
    add(
      format,
      'multi-arch-index-only',
      indexOnly,
      'allow',
      'the index signed (cosign sign without --recursive), its platform manifests not',
    );

    const children = await pushMulti(`company/${format}-multi-children`, 'v1');
    for (const c of children.children) await sign(`multi-arch child ${c.platform.architecture}`, format, c.at);
    add(format, 'multi-arch-children-only', children, 'deny', 'every platform manifest signed, the index not');
  }

  add('none', 'unsigned', await push('company/unsigned', 'v1'), 'deny', 'no signature');
  add('none', 'unmatched', await push('public/tool', 'v1'), 'allow', 'no signature, outside every policy');

  return {
    cases,
    publicKeyPem: readFileSync(join(dir, 'cosign.pub'), 'utf8'),
    publicKeyPath: join(dir, 'cosign.pub'),
    pattern: `${host}/company/*`,
    cosign: (args) => cosign(args),
  };
}

/** A Kyverno ClusterPolicy (Enforce) requiring a signature by `publicKeyPem` for `patterns`, without Rekor (offline signing). */
export function keyPolicy(name: string, patterns: string[], publicKeyPem: string): string {
  return buildKeyPolicy({ key: publicKeyPem, name, refs: patterns, ruleName: 'check-signatures' });
}

/** The real cosign with a key pair (`<dir>/cosign.key`, password `pw`) and an offline signing config in `dir`. */
export interface CosignSigner {
  /** PEM of `<dir>/cosign.pub` */
  publicPem: string;
  /** makes another key pair `<dir>/<prefix>.key|.pub`; returns its public key PEM */
  newKey(prefix: string): Promise<string>;
  /** one `cosign sign` (offline, `format`) for all of `refs` (`host/repo@digest`): the key is decrypted once */
  sign(format: SignatureFormat, refs: string[], o?: { key?: string; extra?: string[] }): Promise<void>;
}

/** Makes the key pair and the signing config with the real cosign; throws, with cosign's stderr, when it fails. */
export async function makeCosignSigner(dir: string): Promise<CosignSigner> {
  const env = { COSIGN_PASSWORD: 'pw', HOME: dir, PATH: process.env.PATH ?? '/usr/bin:/bin' };
  const must = async (what: string, args: string[]) => {
    const r = await run(COSIGN, args, { cwd: dir, env, timeout: 60_000 }).catch((e: { stderr?: string }) => {
      throw new Error(`cosign ${what} failed: ${(e.stderr ?? String(e)).slice(-1500)}`);
    });
    return r;
  };
  const newKey = async (prefix: string) => {
    mkdirSync(join(dir, prefix, '..'), { recursive: true });
    await must(`generate-key-pair ${prefix}`, ['generate-key-pair', '--output-key-prefix', prefix]);
    return readFileSync(join(dir, `${prefix}.pub`), 'utf8');
  };
  const publicPem = await newKey('cosign');
  await must('signing-config create', offlineSigningConfigArgs('signing-config.json'));
  return {
    publicPem,
    newKey,
    sign: async (format, refs, o = {}) => {
      if (!refs.length) return;
      await must(`sign ${format} ${refs.join(' ')}`, [
        'sign',
        '--key',
        o.key ?? 'cosign.key',
        ...FORMAT_FLAGS[format](dir),
        '--allow-insecure-registry',
        '--yes',
        ...(o.extra ?? []),
        ...refs,
      ]);
    },
  };
}
