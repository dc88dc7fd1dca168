// Three bundle verifiers on every Sigstore bundle of ../shared/testvectors:
// sigward (`verify-bundle`, in-process), @sigstore/verify 4.1.3 (its Verifier
// called directly on the same trust material, as sigstore-js uses it) and
// sigstore-go 1.3.0 (the sigstore-go-verification process). Each vector is
// checked as signed and with one thing changed (identity, issuer, trust
// root, digest, signature, payload, log entry, certificate); the three must
// reach the same accept/reject. A peer that cannot decide a case says so
// (@sigstore/verify needs the artifact bytes for message signatures and never
// sees the digest of a DSSE subject); where a peer decides otherwise on
// purpose, the case names the README entry ("Where sigward differs from
// sigstore-go 1.3.0 and @sigstore/verify").

import t from 'tap';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bundleFromJSON } from '@sigstore/bundle';
import { TrustedRoot } from '@sigstore/protobuf-specs';
import { toSignedEntity, toTrustMaterial, Verifier } from '@sigstore/verify';
import { run } from '../../cmd/cli.ts';
import { ROOT, SHARED, SIGSTORE_JS_BUNDLES } from '../helpers/fixtures.ts';
import { runSigstoreGo, withSigstoreGo } from '../helpers/peers.ts';

const SB = `${SHARED}/sigstore-bundles`;
const PUBLIC_GOOD = `${SHARED}/trust-roots/public-good-trusted_root.json`;
const PGI = `${SHARED}/trust-roots/cosign-trusted_root_pgi.json`;
const GITHUB = `${SHARED}/trust-roots/github-trusted_root.json`;
const TD = join(ROOT, 'testdata/trust');

const dir = mkdtempSync(join(tmpdir(), 'sigward-conformance-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));

// the othername bundle's log signs its checkpoints as its pod name, not its URL
const SCAFFOLDING = `${TD}/sigstore-go-scaffolding-trusted_root.json`;
const SCAFFOLDING_NAMED = join(dir, 'scaffolding-named.json');
{
  const r = JSON.parse(readFileSync(SCAFFOLDING, 'utf8'));
  r.tlogs[0].baseUrl = 'http://rekor-00001-deployment-56bf7777c9-jds5x';
  writeFileSync(SCAFFOLDING_NAMED, JSON.stringify(r));
}

type Verdict = boolean | 'undecided';
type Peer = 'sigward' | 'sigstore-js' | 'sigstore-go';

interface Vector {
  file: string;
  root: string;
  otherRoot: string;
  identity?: { san: string; issuer: string };
  key?: string;
  ignoreTlog?: boolean;
  accept: boolean;
  /** peers that decide this vector otherwise on purpose, and the README entry saying why */
  differs?: Partial<Record<Peer, { verdict: Verdict; readme: string }>>;
}

interface Case {
  name: string;
  bundle: string;
  root: string;
  identity?: { san: string; sanRegExp?: string; issuer: string };
  key?: string;
  ignoreTlog?: boolean;
  digest: { algorithm: 'sha256' | 'sha512'; hex: string };
  /** the digest is the one the bundle signs (@sigstore/verify only decides such DSSE cases) */
  digestIsSigned: boolean;
  message: boolean;
  accept: boolean;
  differs?: Vector['differs'];
}

const BRIAN = { san: 'brian@dehamer.com', issuer: 'https://github.com/login/oauth' };
const CODY = { san: 'cody@soyland.com', issuer: 'https://github.com/login/oauth' };
const NPM_RELEASE = {
  san: 'https://github.com/sigstore/sigstore-js/.github/workflows/release.yml@refs/heads/main',
  issuer: 'https://token.actions.githubusercontent.com',
};

const CHECKPOINT_NAME = 'checkpoint signer name must name the log';
const vectors: Vector[] = [
  ...SIGSTORE_JS_BUNDLES.map((file) => ({ file, root: PUBLIC_GOOD, otherRoot: GITHUB, identity: BRIAN, accept: true })),
  {
    file: 'sigstore.js@2.0.0-provenance.sigstore.json',
    root: PUBLIC_GOOD,
    otherRoot: GITHUB,
    identity: NPM_RELEASE,
    accept: true,
  },
  { file: 'cosign-oci-attestation.sigstore.json', root: PGI, otherRoot: GITHUB, identity: CODY, accept: true },
  { file: 'cosign-oci-attestation.sigstore.json', root: PUBLIC_GOOD, otherRoot: GITHUB, identity: CODY, accept: true },
  { file: 'dsse-2sigs.sigstore.json', root: PUBLIC_GOOD, otherRoot: GITHUB, identity: BRIAN, accept: false },
  {
    file: 'othername.sigstore.json',
    root: SCAFFOLDING_NAMED,
    otherRoot: PUBLIC_GOOD,
    identity: { san: 'foo!oidc.local', issuer: 'http://oidc.local:8080' },
    accept: true,
  },
  {
    file: 'othername.sigstore.json',
    root: SCAFFOLDING,
    otherRoot: PUBLIC_GOOD,
    identity: { san: 'foo!oidc.local', issuer: 'http://oidc.local:8080' },
    accept: false,
    differs: { 'sigstore-go': { verdict: true, readme: CHECKPOINT_NAME } },
  },
  {
    file: 'public-key-validity.sigstore.json',
    root: `${TD}/sigstore-go-public-key-validity-trusted_root.json`,
    otherRoot: PUBLIC_GOOD,
    key: `${TD}/sigstore-go-public-key-validity.pem`,
    ignoreTlog: true,
    accept: true,
  },
];

let written = 0;
const writeBundle = (json: unknown): string => {
  const p = join(dir, `b${written++}.json`);
  writeFileSync(p, JSON.stringify(json));
  return p;
};
const flipBase64 = (b64: string, at = 0.5): string => {
  const b = Buffer.from(b64, 'base64');
  b[Math.floor(b.length * at)]! ^= 0x01;
  return b.toString('base64');
};
const flipHex = (hex: string): string => (hex[0] === '0' ? '1' : '0') + hex.slice(1);

/** The digest a bundle signs: the message digest, or the DSSE statement's first subject. */
function signedDigest(b: any): Case['digest'] {
  if (b.messageSignature) {
    const alg = b.messageSignature.messageDigest.algorithm === 'SHA2_512' ? 'sha512' : 'sha256';
    return { algorithm: alg, hex: Buffer.from(b.messageSignature.messageDigest.digest, 'base64').toString('hex') };
  }
  const st = JSON.parse(Buffer.from(b.dsseEnvelope.payload, 'base64').toString('utf8'));
  const d = st.subject[0].digest;
  return d.sha256 ? { algorithm: 'sha256', hex: d.sha256 } : { algorithm: 'sha512', hex: d.sha512 };
}

// a certificate from another bundle (another signer, another key)
const certOf = (file: string): string => {
  const vm = JSON.parse(readFileSync(`${SB}/${file}`, 'utf8')).verificationMaterial;
  return (vm.certificate ?? vm.x509CertificateChain.certificates[0]).rawBytes;
};
const CODY_CERT = certOf('cosign-oci-attestation.sigstore.json');
const BRIAN_CERT = certOf('bundleV03-dsse.sigstore');

// For these bundles' log index, the Merkle path in a tree one leaf larger is
// the same path: sigstore-go's proof check passes, and it does not compare the
// proof's tree size with the signed checkpoint's.
const SAME_PATH_ONE_LEAF_MORE = new Set([
  'bundleV01-intoto-with-proof.sigstore',
  'bundleV02-intoto.sigstore',
  'bundleV03-intoto.sigstore',
]);
const PROOF_MATCHES_CHECKPOINT = 'an inclusion proof must be for the tree its checkpoint signs';

/** One thing changed; apply returns false when the change does not apply to this bundle. */
const mutations: { name: string; apply: (b: any) => boolean; differs?: (file: string) => Vector['differs'] }[] = [
  {
    name: 'signature changed',
    apply: (b) => {
      if (b.dsseEnvelope) b.dsseEnvelope.signatures[0].sig = flipBase64(b.dsseEnvelope.signatures[0].sig);
      else b.messageSignature.signature = flipBase64(b.messageSignature.signature);
      return true;
    },
  },
  {
    name: 'DSSE statement changed (subject name)',
    apply: (b) => {
      if (!b.dsseEnvelope) return false;
      const st = JSON.parse(Buffer.from(b.dsseEnvelope.payload, 'base64').toString('utf8'));
      st.subject[0].name = `${st.subject[0].name ?? ''}-evil`;
      b.dsseEnvelope.payload = Buffer.from(JSON.stringify(st)).toString('base64');
      return true;
    },
  },
  {
    name: 'transparency log entry removed',
    apply: (b) => {
      if (!b.verificationMaterial.tlogEntries?.length) return false;
      b.verificationMaterial.tlogEntries = [];
      return true;
    },
  },
  {
    name: 'integrated time moved by a second',
    apply: (b) => {
      const e = b.verificationMaterial.tlogEntries?.[0];
      if (!e) return false;
      e.integratedTime = String(Number(e.integratedTime) + 1);
      return true;
    },
  },
  {
    name: 'signed entry timestamp changed',
    apply: (b) => {
      const e = b.verificationMaterial.tlogEntries?.[0];
      if (!e?.inclusionPromise) return false;
      e.inclusionPromise.signedEntryTimestamp = flipBase64(e.inclusionPromise.signedEntryTimestamp, 0.7);
      return true;
    },
  },
  {
    name: 'inclusion proof root hash changed',
    apply: (b) => {
      const p = b.verificationMaterial.tlogEntries?.[0]?.inclusionProof;
      if (!p) return false;
      p.rootHash = flipBase64(p.rootHash);
      return true;
    },
    // @sigstore/verify checks the path against the checkpoint only
    differs: () => ({ 'sigstore-js': { verdict: true, readme: PROOF_MATCHES_CHECKPOINT } }),
  },
  {
    name: 'inclusion proof tree size changed',
    apply: (b) => {
      const p = b.verificationMaterial.tlogEntries?.[0]?.inclusionProof;
      if (!p) return false;
      p.treeSize = String(Number(p.treeSize) + 1);
      return true;
    },
    differs: (file) => ({
      'sigstore-js': { verdict: true, readme: PROOF_MATCHES_CHECKPOINT },
      ...(SAME_PATH_ONE_LEAF_MORE.has(file)
        ? { 'sigstore-go': { verdict: true, readme: PROOF_MATCHES_CHECKPOINT } }
        : {}),
    }),
  },
  {
    name: 'inclusion proof log index differs from the entry',
    apply: (b) => {
      const p = b.verificationMaterial.tlogEntries?.[0]?.inclusionProof;
      if (!p) return false;
      p.logIndex = String(Number(p.logIndex) - 1);
      return true;
    },
  },
  {
    name: 'log index of the entry changed',
    apply: (b) => {
      const e = b.verificationMaterial.tlogEntries?.[0];
      if (!e) return false;
      e.logIndex = String(Number(e.logIndex) + 1);
      return true;
    },
  },
  {
    name: 'log entry body of another signature',
    apply: (b) => {
      const e = b.verificationMaterial.tlogEntries?.[0];
      if (!e) return false;
      const other = JSON.parse(
        readFileSync(`${SB}/${b.dsseEnvelope ? 'bundleV03-intoto.sigstore' : 'othername.sigstore.json'}`, 'utf8'),
      ).verificationMaterial.tlogEntries[0];
      if (other.canonicalizedBody === e.canonicalizedBody) return false;
      e.canonicalizedBody = other.canonicalizedBody;
      return true;
    },
  },
  {
    name: 'certificate of another signer',
    apply: (b) => {
      const vm = b.verificationMaterial;
      const own = (vm.certificate ?? vm.x509CertificateChain?.certificates[0])?.rawBytes;
      if (!own) return false;
      const other = own === CODY_CERT ? BRIAN_CERT : CODY_CERT;
      if (vm.certificate) vm.certificate.rawBytes = other;
      else vm.x509CertificateChain.certificates[0].rawBytes = other;
      return true;
    },
  },
];

function toCases(v: Vector): Case[] {
  const json = JSON.parse(readFileSync(`${SB}/${v.file}`, 'utf8'));
  const digest = signedDigest(json);
  const message = !!json.messageSignature;
  const base = {
    bundle: `${SB}/${v.file}`,
    root: v.root,
    identity: v.identity,
    key: v.key,
    ignoreTlog: v.ignoreTlog,
    digest,
    digestIsSigned: true,
    message,
  };
  const label = `${v.file} [${v.root.split('/').pop()}]`;
  const cases: Case[] = [{ ...base, name: `${label}: as signed`, accept: v.accept, differs: v.differs }];
  if (!v.accept) return cases; // a rejected vector: its variants say nothing more
  cases.push({ ...base, name: `${label}: another trust root`, root: v.otherRoot, accept: false });
  cases.push({
    ...base,
    name: `${label}: another digest`,
    digest: { ...digest, hex: flipHex(digest.hex) },
    digestIsSigned: false,
    accept: false,
  });
  if (v.identity) {
    const id = v.identity;
    cases.push({ ...base, name: `${label}: another identity`, identity: { ...id, san: `x${id.san}` }, accept: false });
    cases.push({
      ...base,
      name: `${label}: another issuer`,
      identity: { ...id, issuer: 'https://accounts.google.com' },
      accept: false,
    });
    const escaped = id.san.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    cases.push({
      ...base,
      name: `${label}: anchored identity regexp`,
      identity: { ...id, sanRegExp: `^${escaped}$` },
      accept: true,
    });
    // a regexp that matches only part of the identity: accepted by all three (Go's MatchString semantics, as cosign)
    const part = escaped.slice(1, -1);
    cases.push({
      ...base,
      name: `${label}: identity regexp matching a substring`,
      identity: { ...id, sanRegExp: part },
      accept: true,
    });
    cases.push({
      ...base,
      name: `${label}: anchored regexp of a substring`,
      identity: { ...id, sanRegExp: `^${part}$` },
      accept: false,
    });
  }
  for (const m of mutations) {
    const copy = structuredClone(json);
    if (!m.apply(copy)) continue;
    cases.push({
      ...base,
      name: `${label}: ${m.name}`,
      bundle: writeBundle(copy),
      accept: false,
      differs: m.differs?.(v.file),
    });
  }
  return cases;
}

async function bySigward(c: Case): Promise<{ verdict: Verdict; why: string }> {
  const args = ['verify-bundle', '--bundle', c.bundle, '--trusted-root', c.root];
  if (c.key) args.push('--key', c.key);
  if (c.identity) {
    args.push(
      ...(c.identity.sanRegExp !== undefined
        ? ['--certificate-identity-regexp', c.identity.sanRegExp]
        : ['--certificate-identity', c.identity.san]),
    );
    args.push('--certificate-oidc-issuer', c.identity.issuer);
  }
  if (c.ignoreTlog) args.push('--insecure-ignore-tlog');
  args.push(`${c.digest.algorithm}:${c.digest.hex}`, '-o', 'json');
  let stdout = '';
  let stderr = '';
  const code = await run(args, { stdout: (x) => void (stdout += x), stderr: (x) => void (stderr += x) }, {
    PATH: process.env.PATH,
  });
  let why = stderr.trim();
  try {
    why = JSON.parse(stdout).error?.message ?? 'verified';
  } catch {
    // stderr says it
  }
  return { verdict: code === 0 ? true : code === 1 ? false : 'undecided', why };
}

async function bySigstoreGo(c: Case): Promise<{ verdict: Verdict; why: string }> {
  const args = ['-trustedrootJSONpath', c.root];
  if (c.key) args.push('-publicKey', c.key, '-requireCTlog=false');
  if (c.identity) {
    args.push(
      ...(c.identity.sanRegExp !== undefined
        ? ['-expectedSANRegex', c.identity.sanRegExp]
        : ['-expectedSAN', c.identity.san]),
    );
    args.push('-expectedIssuer', c.identity.issuer);
  }
  if (c.ignoreTlog) args.push('-requireTlog=false');
  args.push('-artifact-digest', c.digest.hex, '-artifact-digest-algorithm', c.digest.algorithm, c.bundle);
  const r = await runSigstoreGo(args);
  return { verdict: r.code === 0, why: r.stderr.trim().split('\n').pop() ?? '' };
}

// @sigstore/verify as sigstore-js calls it: bundle -> SignedEntity -> Verifier
// over the trusted root; its identity policy is a RegExp (anchored here for an
// exact identity). It never sees an artifact digest.
function bySigstoreJs(c: Case): { verdict: Verdict; why: string } {
  if (c.message) return { verdict: 'undecided', why: 'a message signature needs the artifact bytes' };
  if (!c.digestIsSigned) return { verdict: 'undecided', why: 'the DSSE subject digest is left to the caller' };
  if (c.key) return { verdict: 'undecided', why: 'no DSSE key-signed vector' };
  try {
    const bundle = bundleFromJSON(JSON.parse(readFileSync(c.bundle, 'utf8')));
    const material = toTrustMaterial(TrustedRoot.fromJSON(JSON.parse(readFileSync(c.root, 'utf8'))));
    const verifier = new Verifier(material, {
      tlogThreshold: c.ignoreTlog ? 0 : 1,
      ctlogThreshold: 1,
      timestampThreshold: 1,
    });
    const id = c.identity!;
    const san = id.sanRegExp !== undefined
      ? new RegExp(id.sanRegExp)
      : new RegExp(`^${id.san.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`);
    verifier.verify(toSignedEntity(bundle), { subjectAlternativeName: san, extensions: { issuer: id.issuer } });
    return { verdict: true, why: 'verified' };
  } catch (e) {
    return { verdict: false, why: (e as Error).message };
  }
}

t.test('every bundle of the test vectors is a conformance vector', async (t) => {
  t.same([...new Set(vectors.map((v) => v.file))].sort(), readdirSync(SB).sort());
});

withSigstoreGo(() => {
  t.test('sigward, @sigstore/verify and sigstore-go decide every test-vector bundle alike', async (t) => {
    const cases = vectors.flatMap(toCases);
    const decided: Record<Peer, number> = { sigward: 0, 'sigstore-js': 0, 'sigstore-go': 0 };
    const differences: string[] = [];
    for (const c of cases) {
      const results: Record<Peer, { verdict: Verdict; why: string }> = {
        sigward: await bySigward(c),
        'sigstore-js': bySigstoreJs(c),
        'sigstore-go': await bySigstoreGo(c),
      };
      for (const peer of Object.keys(results) as Peer[]) {
        const r = results[peer];
        const documented = c.differs?.[peer];
        const want = documented ? documented.verdict : c.accept;
        if (r.verdict === 'undecided' && peer !== 'sigward') continue;
        decided[peer]++;
        t.equal(
          r.verdict,
          want,
          `${c.name}: ${peer} ${want === true ? 'accepts' : 'rejects'}${
            documented ? ` (documented: ${documented.readme})` : ''
          } -- ${r.why}`,
        );
        if (documented) {
          differences.push(
            `${c.name}: ${peer} ${r.verdict ? 'accepts' : 'rejects'}, sigward ${
              results.sigward.verdict ? 'accepts' : 'rejects'
            } (${documented.readme})`,
          );
        }
      }
    }
    t.comment(
      `${cases.length} cases over ${
        new Set(vectors.map((v) => v.file)).size
      } bundle files; decided by sigward ${decided.sigward}, @sigstore/verify ${decided['sigstore-js']}, sigstore-go ${
        decided['sigstore-go']
      }`,
    );
    for (const d of differences) t.comment(`documented difference: ${d}`);
    t.equal(decided.sigward, cases.length, 'sigward decides every case');
    t.equal(decided['sigstore-go'], cases.length, 'sigstore-go decides every case');
  });
});
