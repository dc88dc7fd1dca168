// `sigward export containers-policy`: the seed policies and the Kyverno test
// vectors exported to /etc/containers/policy.json, checked against the
// documented schema (containers-policy.json(5)) and loaded by Debian's skopeo
// (1.9.3, containers/image 5.23) with --compat 5.23. Then the exported policy
// against the real registry with skopeo itself.

import t from 'tap';
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { loadPolicies } from '../../lib/policy/index.ts';
import { getEmbeddedTrustedRoot } from '../../lib/trust/index.ts';
import { toContainersPolicy, toDockerScope, type Unexpressed } from '../../lib/export/containers-policy.ts';
import { RegistryClient } from '../../lib/oci/registry.ts';
import { runSigward } from '../helpers/cli.ts';
import { ROOT, SHARED } from '../helpers/fixtures.ts';
import { pushImage, withRegistry } from '../helpers/registry.ts';
import { makeKey, signImage, type TestKey } from '../helpers/cosign.ts';

const run = promisify(execFile);
const tmp = mkdtempSync(join(tmpdir(), 'sigward-export-'));
const LAYOUT = join(ROOT, 'testdata/demo/layout');
let n = 0;
function file(text: string, ext = 'yaml'): string {
  const p = join(tmp, `f${n++}.${ext}`);
  writeFileSync(p, text);
  return p;
}

// ---------------------------------------------------------------------------
// containers-policy.json(5) as of containers/image 5.33, checked strictly
// ---------------------------------------------------------------------------

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const isB64 = (v: unknown) =>
  typeof v === 'string' && v.length > 0 && /^[A-Za-z0-9+/]+={0,2}$/.test(v) &&
  Buffer.from(v, 'base64').toString('base64') === v;

function checkKeys(o: Obj, allowed: string[], where: string, errors: string[]): void {
  for (const k of Object.keys(o)) if (!allowed.includes(k)) errors.push(`${where}: unknown key ${k}`);
}

function checkRequirement(r: unknown, where: string, errors: string[], compat: string): void {
  if (!isObj(r)) return void errors.push(`${where}: not an object`);
  switch (r.type) {
    case 'insecureAcceptAnything':
    case 'reject':
      checkKeys(r, ['type'], where, errors);
      return;
    case 'sigstoreSigned': {
      const fields = compat === '5.23'
        ? ['type', 'keyPath', 'keyData', 'signedIdentity']
        : compat === '5.24'
        ? ['type', 'keyPath', 'keyData', 'fulcio', 'rekorPublicKeyPath', 'rekorPublicKeyData', 'signedIdentity']
        : [
          'type',
          'keyPath',
          'keyPaths',
          'keyData',
          'keyDatas',
          'fulcio',
          'rekorPublicKeyPath',
          'rekorPublicKeyPaths',
          'rekorPublicKeyData',
          'rekorPublicKeyDatas',
          'signedIdentity',
        ];
      checkKeys(r, fields, where, errors);
      const roots = ['keyPath', 'keyPaths', 'keyData', 'keyDatas', 'fulcio'].filter((k) => k in r);
      if (roots.length !== 1) {
        errors.push(
          `${where}: exactly one of keyPath, keyPaths, keyData, keyDatas, fulcio (found ${roots.join(', ') || 'none'})`,
        );
      }
      if ('keyData' in r && !isB64(r.keyData)) errors.push(`${where}.keyData: not base64`);
      if (
        'keyData' in r &&
        !/^-----BEGIN PUBLIC KEY-----\n[A-Za-z0-9+/=\n]+-----END PUBLIC KEY-----\n?$/.test(
          Buffer.from(r.keyData as string, 'base64').toString(),
        )
      ) errors.push(`${where}.keyData: not a plain PEM public key`);
      if ('keyDatas' in r && (!Array.isArray(r.keyDatas) || r.keyDatas.length < 1 || !r.keyDatas.every(isB64))) {
        errors.push(`${where}.keyDatas: not a list of base64`);
      }
      const rekor = ['rekorPublicKeyPath', 'rekorPublicKeyPaths', 'rekorPublicKeyData', 'rekorPublicKeyDatas'].filter((
        k,
      ) => k in r);
      if (rekor.length > 1) errors.push(`${where}: several rekorPublicKey* fields`);
      if ('fulcio' in r) {
        const f = r.fulcio;
        if (!isObj(f)) errors.push(`${where}.fulcio: not an object`);
        else {
          checkKeys(f, ['caPath', 'caData', 'oidcIssuer', 'subjectEmail'], `${where}.fulcio`, errors);
          if (!isB64(f.caData)) errors.push(`${where}.fulcio.caData: not base64`);
          if (typeof f.oidcIssuer !== 'string' || typeof f.subjectEmail !== 'string') {
            errors.push(`${where}.fulcio: oidcIssuer and subjectEmail are required`);
          }
        }
        if (!rekor.length) errors.push(`${where}: fulcio requires a rekorPublicKey*`);
      }
      const id = r.signedIdentity;
      if (
        id !== undefined &&
        !(isObj(id) &&
          [
            'matchExact',
            'matchRepoDigestOrExact',
            'matchRepository',
            'exactReference',
            'exactRepository',
            'remapIdentity',
          ].includes(id.type as string))
      ) errors.push(`${where}.signedIdentity: invalid`);
      return;
    }
    default:
      errors.push(`${where}: unknown requirement type ${String(r.type)}`);
  }
}

function validateContainersPolicy(doc: unknown, compat = '5.33'): string[] {
  const errors: string[] = [];
  if (!isObj(doc)) return ['not an object'];
  checkKeys(doc, ['default', 'transports'], 'policy', errors);
  if (!Array.isArray(doc.default) || !doc.default.length) errors.push('default: a non-empty list is required');
  else doc.default.forEach((r, i) => checkRequirement(r, `default[${i}]`, errors, compat));
  if (doc.transports !== undefined) {
    if (!isObj(doc.transports)) errors.push('transports: not an object');
    else {
      for (const [tr, scopes] of Object.entries(doc.transports)) {
        if (!isObj(scopes)) errors.push(`transports.${tr}: not an object`);
        else {
          for (const [scope, reqs] of Object.entries(scopes)) {
            if (
              tr === 'docker' && scope !== '' &&
              !/^(\*\.)?[a-z0-9.-]+(:\d+)?(\/[a-z0-9._/-]+)?(:[\w][\w.-]*|@sha256:[a-f0-9]{64})?$/.test(scope)
            ) errors.push(`transports.docker: invalid scope ${JSON.stringify(scope)}`);
            if (!Array.isArray(reqs) || !reqs.length) {
              errors.push(`transports.${tr}.${scope}: a non-empty list is required`);
            } else {reqs.forEach((r, i) =>
                checkRequirement(r, `transports.${tr}[${JSON.stringify(scope)}][${i}]`, errors, compat)
              );}
          }
        }
      }
    }
  }
  return errors;
}

/** Loads the policy with Debian's skopeo: `copy` evaluates the policy file before anything else. */
async function skopeoCopy(
  policyPath: string,
  src: string,
  extra: string[] = [],
): Promise<{ ok: boolean; out: string }> {
  const dest = join(tmp, `copy-${n++}`);
  try {
    const r = await run('skopeo', ['--policy', policyPath, ...extra, 'copy', src, `dir:${dest}`], { timeout: 60_000 });
    return { ok: true, out: r.stdout + r.stderr };
  } catch (e) {
    const err = e as { stdout?: string; stderr?: string; message: string };
    return { ok: false, out: `${err.stdout ?? ''}${err.stderr ?? err.message}` };
  } finally {
    rmSync(dest, { recursive: true, force: true });
  }
}

/** Adds `rekor: {ignoreTlog: true}` to every `keys:` entry (as the engine seed tests do). */
function ignoreTlog(policy: string): string {
  if (/^\s*rekor:/m.test(policy)) return policy.replace(/^(\s*)ignoreTlog: false/gm, '$1ignoreTlog: true');
  return policy.replace(
    /^([ \t]*)- keys: *\n/gm,
    (_m, indent: string) => `${indent}- keys:\n${indent}    rekor:\n${indent}      ignoreTlog: true\n`,
  );
}

const SEED_DIR = join(ROOT, 'testdata/policy/seeds');
const VECTOR_DIR = join(SHARED, 'kyverno-policies');
// 000-3 sets mutateDigest on an Audit rule, which Kyverno (and sigward) reject: fixed as the guide intends
const fixSeed = (
  name: string,
  text: string,
) => (name.startsWith('000-3')
  ? text.replace(/(failureAction: Audit[^\n]*\n[\s\S]*?)mutateDigest: true/, '$1mutateDigest: false')
  : text);
const inputs = [
  ...readdirSync(SEED_DIR).filter((f) => f.endsWith('.yaml')).map((f) => ({
    name: `seed ${f}`,
    text: fixSeed(f, readFileSync(join(SEED_DIR, f), 'utf8')),
  })),
  ...readdirSync(VECTOR_DIR).filter((f) => f.endsWith('.yaml')).map((f) => ({
    name: `vector ${f}`,
    text: readFileSync(join(VECTOR_DIR, f), 'utf8'),
  })),
];

t.test('seed policies and test vectors: valid policy.json for every containers/image level, loaded by Debian skopeo', async (t) => {
  const trustedRoot = getEmbeddedTrustedRoot();
  let sigstoreRequirements = 0;
  for (const input of inputs) {
    for (const [variant, text] of [['as written', input.text], ['ignoreTlog', ignoreTlog(input.text)]] as const) {
      // every level in process (the schema of that level) ...
      const { policies } = loadPolicies(text);
      for (const compat of ['5.33', '5.24', '5.23'] as const) {
        for (const onUnsupported of ['reject', 'skip'] as const) {
          const doc = toContainersPolicy(policies, { compat, onUnsupported, trustedRoot }).policy;
          t.same(
            validateContainersPolicy(JSON.parse(JSON.stringify(doc)), compat),
            [],
            `${input.name} ${variant} (${compat}, ${onUnsupported}): schema`,
          );
        }
      }
      if (variant !== 'ignoreTlog') continue;
      // ... and the binary's 5.23 output loaded by Debian's skopeo
      const out = join(tmp, `out-${n++}.json`);
      const r = await runSigward([
        'export',
        'containers-policy',
        '--policy',
        file(text),
        '--compat',
        '5.23',
        '--out',
        out,
        '-o',
        'json',
      ]);
      t.equal(r.code, 0, `${input.name}: exported ${r.stderr.slice(0, 300)}`);
      t.ok(Array.isArray(JSON.parse(r.stdout).unexpressed), 'the JSON report lists what was not expressed');
      const doc = JSON.parse(readFileSync(out, 'utf8'));
      t.same(validateContainersPolicy(doc, '5.23'), [], `${input.name}: schema (5.23)`);
      sigstoreRequirements +=
        Object.values(doc.transports.docker as Record<string, { type: string }[]>).flat().filter((x) =>
          x.type === 'sigstoreSigned'
        ).length;
      const s = await skopeoCopy(out, `oci:${LAYOUT}:unsigned`);
      t.ok(s.ok, `${input.name}: Debian skopeo loads the policy (${s.out.trim().split('\n').pop()})`);
    }
  }
  t.ok(sigstoreRequirements >= 5, `sigstoreSigned requirements were loaded by skopeo (${sigstoreRequirements})`);
});

t.test('Debian skopeo rejects what containers/image 5.23 does not know, so --compat matters', async (t) => {
  const key = makeKey();
  const policy = file(`apiVersion: kyverno.io/v1
kind: ClusterPolicy
metadata: {name: p}
spec:
  validationFailureAction: Enforce
  rules:
    - name: r
      match: {any: [{resources: {kinds: [Pod]}}]}
      verifyImages:
        - imageReferences: ["registry.example.com/*"]
          attestors:
            - entries:
                - keys:
                    publicKeys: |-
${key.publicPem.trim().split('\n').map((l) => ' '.repeat(22) + l).join('\n')}
`);
  const modern = join(tmp, 'modern.json');
  t.equal((await runSigward(['export', 'containers-policy', '--policy', policy, '--out', modern])).code, 0);
  t.ok(
    JSON.parse(readFileSync(modern, 'utf8')).transports.docker['registry.example.com'][0].rekorPublicKeyData,
    'Rekor required: rekorPublicKeyData',
  );
  const s = await skopeoCopy(modern, `oci:${LAYOUT}:unsigned`);
  t.notOk(s.ok);
  t.match(s.out, /Unknown key \\?"rekorPublicKeyData/, 'skopeo 1.9 does not know rekorPublicKeyData');
  const legacy = join(tmp, 'legacy.json');
  const r = await runSigward(['export', 'containers-policy', '--policy', policy, '--compat', '5.23', '--out', legacy]);
  t.match(r.stderr, /Rekor inclusion cannot be required before containers\/image 5.24.*\[weaker; scope rejected\]/);
  t.same(
    JSON.parse(readFileSync(legacy, 'utf8')).transports.docker['registry.example.com'],
    [{ type: 'reject' }],
    'fail closed: the scope is rejected',
  );
  const skip = join(tmp, 'skip.json');
  await runSigward([
    'export',
    'containers-policy',
    '--policy',
    policy,
    '--compat',
    '5.23',
    '--on-unsupported',
    'skip',
    '--out',
    skip,
  ]);
  t.equal(
    JSON.parse(readFileSync(skip, 'utf8')).transports.docker['registry.example.com'][0].type,
    'sigstoreSigned',
    '--on-unsupported skip: the key requirement without Rekor',
  );
  t.ok((await skopeoCopy(skip, `oci:${LAYOUT}:unsigned`)).ok);
});

t.test('the exported policy in skopeo against the real registry', async (t) => {
  const reg = await withRegistry(t);
  const store = new RegistryClient();
  t.teardown(() => store.close());
  const key = makeKey();
  const signed = await pushImage(store, reg.ref('company/app'), { tag: 'v1' });
  await signImage({ store, repository: reg.ref('company/app'), digest: signed, key });
  await pushImage(store, reg.ref('company/unsigned'), { tag: 'v1' });
  await pushImage(store, reg.ref('public/tool'), { tag: 'v1' });
  const pem = key.publicPem.trim().split('\n').map((l) => ' '.repeat(22) + l).join('\n');
  const policy = file(`apiVersion: kyverno.io/v1
kind: ClusterPolicy
metadata: {name: require-signed}
spec:
  validationFailureAction: Enforce
  rules:
    - name: r
      match: {any: [{resources: {kinds: [Pod]}}]}
      verifyImages:
        - imageReferences: ["${reg.host}/company/*"]
          attestors:
            - entries:
                - keys:
                    publicKeys: |-
${pem}
                    rekor: {ignoreTlog: true}
`);
  const out = join(tmp, 'registry.json');
  const r = await runSigward(['export', 'containers-policy', '--policy', policy, '--compat', '5.23', '--out', out]);
  t.equal(r.code, 0, r.stderr);
  const doc = JSON.parse(readFileSync(out, 'utf8'));
  t.same(Object.keys(doc.transports.docker), [`${reg.host}/company`]);
  const regd = join(tmp, 'registries.d');
  mkdirSync(regd, { recursive: true });
  writeFileSync(join(regd, 'default.yaml'), 'default-docker:\n  use-sigstore-attachments: true\n');
  const opts = ['--registries.d', regd];
  const tls = ['--src-tls-verify=false'];
  const skopeo = async (img: string, p = out) => {
    const dest = join(tmp, `c${n++}`);
    try {
      await run('skopeo', ['--policy', p, ...opts, 'copy', ...tls, `docker://${reg.host}/${img}`, `dir:${dest}`], {
        timeout: 60_000,
      });
      return { ok: true, out: '' };
    } catch (e) {
      return { ok: false, out: String((e as { stderr?: string }).stderr) };
    } finally {
      rmSync(dest, { recursive: true, force: true });
    }
  };
  const unmatched = await skopeo('public/tool:v1');
  t.ok(unmatched.ok, 'an image outside every scope is copied (default insecureAcceptAnything, as Kyverno allows it)');
  const unsigned = await skopeo('company/unsigned:v1');
  t.notOk(unsigned.ok);
  t.match(
    unsigned.out,
    /A signature was required, but no signature exists/,
    'the sigstoreSigned requirement applies to the scope',
  );
  const sig = await skopeo('company/app:v1');
  t.notOk(sig.ok, 'Debian skopeo cannot verify sigstore signatures at all');
  t.match(sig.out, /Debian-local change: sigstore disabled/);
  const rejectDefault = join(tmp, 'reject.json');
  await runSigward([
    'export',
    'containers-policy',
    '--policy',
    policy,
    '--compat',
    '5.23',
    '--default',
    'reject',
    '--out',
    rejectDefault,
  ]);
  const rejected = await skopeo('public/tool:v1', rejectDefault);
  t.notOk(rejected.ok, '--default reject: unmatched images are rejected');
  t.match(rejected.out, /rejected by policy/);
});

/** Some item of `list` has every field of `want` (strings equal, RegExps matching). */
function some(list: object[], want: Record<string, string | RegExp>): boolean {
  return list.some((item) =>
    Object.entries(want).every(([k, v]) => {
      const x = (item as Record<string, unknown>)[k];
      return typeof v === 'string' ? x === v : typeof x === 'string' && v.test(x);
    })
  );
}

t.test('toContainersPolicy: scopes, count, keyless, fail-closed', async (t) => {
  const trustedRoot = getEmbeddedTrustedRoot();
  const k1 = makeKey();
  const k2 = makeKey();
  const k3 = makeKey();
  const keysBlock = (keys: TestKey[], indent: number) =>
    keys.map((k) =>
      `${' '.repeat(indent)}- keys:\n${' '.repeat(indent + 4)}publicKeys: |-\n${
        k.publicPem.trim().split('\n').map((l) => ' '.repeat(indent + 6) + l).join('\n')
      }\n${' '.repeat(indent + 4)}rekor: {ignoreTlog: true}`
    ).join('\n');
  const entry = (refs: string[], attestors: string, extra = '') =>
    `        - imageReferences: ${JSON.stringify(refs)}\n          attestors:\n${attestors}\n${extra}`;
  const policy = (entries: string) =>
    loadPolicies(`apiVersion: kyverno.io/v1
kind: ClusterPolicy
metadata: {name: p}
spec:
  validationFailureAction: Enforce
  rules:
    - name: r
      match: {any: [{resources: {kinds: [Pod]}}]}
      verifyImages:
${entries}`).policies;

  t.same(toDockerScope('*'), { scope: '' });
  t.same(toDockerScope('registry.company.com/*'), { scope: 'registry.company.com' });
  t.match(toDockerScope('registry.company.com/team/*'), { scope: 'registry.company.com/team' });
  t.match(toDockerScope('ghcr.io/org/app:*'), { scope: 'ghcr.io/org/app' });
  t.same(toDockerScope('ghcr.io/org/app:v1'), { scope: 'ghcr.io/org/app:v1' });
  t.match(toDockerScope('ghcr.io/org/app*'), { problem: /not a registry or repository prefix/ });
  t.match(toDockerScope('*/library/nginx:*'), { problem: /not a registry or repository prefix/ });
  t.match(toDockerScope('nginx'), { problem: /fully qualified/ });

  // AND: all entries of a set, and several sets
  const and = toContainersPolicy(
    policy(
      entry(
        ['r.io/a/*'],
        `            - entries:\n${keysBlock([k1, k2], 16)}\n            - entries:\n${keysBlock([k3], 16)}`,
      ),
    ),
    { trustedRoot },
  );
  const reqs = and.policy.transports.docker['r.io/a']!;
  t.equal(reqs.length, 3, 'three signatures required (AND)');
  t.ok(
    reqs.every((r) => r.type === 'sigstoreSigned' && r.keyData && !r.rekorPublicKeyData),
    'ignoreTlog: no Rekor key',
  );

  // any 1 of N keys: keyDatas (5.33), not expressible before
  const anyOf = policy(
    entry(['r.io/b/*'], `            - count: 1\n              entries:\n${keysBlock([k1, k2], 16)}`),
  );
  const r533 = toContainersPolicy(anyOf, { trustedRoot });
  t.match(r533.policy.transports.docker['r.io/b'], [{ type: 'sigstoreSigned', keyDatas: [String, String] }]);
  const r524 = toContainersPolicy(anyOf, { trustedRoot, compat: '5.24' });
  t.same(r524.policy.transports.docker['r.io/b'], [{ type: 'reject' }], '1 of 2 before 5.33: rejected (fail closed)');
  t.ok(some(r524.unexpressed, { feature: 'count', effect: 'weaker', action: 'scope rejected' }));

  // 2 of 3: never expressible
  const twoOf3 = toContainersPolicy(
    policy(entry(['r.io/c/*'], `            - count: 2\n              entries:\n${keysBlock([k1, k2, k3], 16)}`)),
    { trustedRoot, onUnsupported: 'skip' },
  );
  t.notOk(twoOf3.policy.transports.docker['r.io/c'], 'skip: nothing exported for 2 of 3');
  t.ok(some(twoOf3.unexpressed, { feature: 'count', detail: /count 2 of 3/, action: 'omitted' }));

  // keyless: exact email -> fulcio with the public-good CA and Rekor key; URI subject / wildcard -> unexpressed
  const keyless = (subject: string) =>
    `            - entries:\n                - keyless:\n                    subject: "${subject}"\n                    issuer: "https://accounts.google.com"\n                    rekor: {url: "https://rekor.sigstore.dev"}`;
  const kl = toContainersPolicy(policy(entry(['r.io/d/*'], keyless('dev@example.com'))), { trustedRoot });
  const f = kl.policy.transports.docker['r.io/d']![0] as {
    fulcio: { caData: string; oidcIssuer: string; subjectEmail: string };
    rekorPublicKeyData: string;
  };
  t.equal(f.fulcio.subjectEmail, 'dev@example.com');
  t.equal(f.fulcio.oidcIssuer, 'https://accounts.google.com');
  t.match(Buffer.from(f.fulcio.caData, 'base64').toString(), /-----BEGIN CERTIFICATE-----/);
  t.match(
    Buffer.from(f.rekorPublicKeyData, 'base64').toString(),
    /-----BEGIN PUBLIC KEY-----/,
    'the ECDSA public-good Rekor key (the Ed25519 Rekor v2 log is not usable by containers/image)',
  );
  t.ok(some(kl.unexpressed, { feature: 'SCT', effect: 'weaker', action: 'listed' }), 'SCTs are not checked: listed');
  const uri = toContainersPolicy(
    policy(entry(['r.io/e/*'], keyless('https://github.com/org/repo/.github/workflows/release.yml@refs/heads/main'))),
    { trustedRoot },
  );
  t.same(uri.policy.transports.docker['r.io/e'], [{ type: 'reject' }]);
  t.ok(some(uri.unexpressed, { feature: 'subject', detail: /not an email address/ }));
  const wild = toContainersPolicy(policy(entry(['r.io/f/*'], keyless('*@example.com'))), {
    trustedRoot,
    compat: '5.23',
  });
  t.ok(some(wild.unexpressed, { feature: 'keyless', detail: /5\.24/ }));

  // broader scopes' requirements are copied into narrower ones (policy.json picks one scope)
  const nested = toContainersPolicy(
    policy(
      entry(['r.io/*'], `            - entries:\n${keysBlock([k1], 16)}`) +
        entry(['r.io/team/*'], `            - entries:\n${keysBlock([k2], 16)}`),
    ),
    { trustedRoot },
  );
  t.equal(nested.policy.transports.docker['r.io']!.length, 1);
  t.equal(
    nested.policy.transports.docker['r.io/team']!.length,
    2,
    'r.io/team needs both signatures, as both Kyverno rules match it',
  );

  // attestations cannot be checked: fail closed by default, expressible part with skip
  const att =
    `          attestations:\n            - type: https://slsa.dev/provenance/v0.2\n              attestors:\n                - entries:\n${
      keysBlock([k1], 20)
    }`;
  const withAtt = policy(entry(['r.io/g/*'], `            - entries:\n${keysBlock([k1], 16)}`, att));
  t.same(toContainersPolicy(withAtt, { trustedRoot }).policy.transports.docker['r.io/g'], [{ type: 'reject' }]);
  t.equal(
    toContainersPolicy(withAtt, { trustedRoot, onUnsupported: 'skip' }).policy.transports.docker['r.io/g']![0]!.type,
    'sigstoreSigned',
  );
  t.same(toContainersPolicy(withAtt, { trustedRoot, defaultPolicy: 'reject' }).policy.default, [{ type: 'reject' }]);
});

t.test('keyless details policy.json cannot express are each said, with their effect, on stderr and in the report', async (t) => {
  const trustedRoot = getEmbeddedTrustedRoot();
  const doc = (keyless: string) =>
    `apiVersion: kyverno.io/v1
kind: ClusterPolicy
metadata: {name: p}
spec:
  validationFailureAction: Enforce
  rules:
    - name: r
      match: {any: [{resources: {kinds: [Pod]}}]}
      verifyImages:
        - imageReferences: ["r.io/app/*"]
          attestors:
            - entries:
                - keyless:
${keyless.trim().split('\n').map((l) => ' '.repeat(20) + l.trim()).join('\n')}
`;
  const issuer = 'issuer: "https://accounts.google.com"';
  // [case, keyless fields, feature, effect, action, detail, exported requirement type]
  const table: Array<[string, string, string, Unexpressed['effect'], Unexpressed['action'], RegExp, string]> = [
    [
      'subjectRegExp',
      `subjectRegExp: ".*@example.com"\n${issuer}`,
      'subjectRegExp',
      'weaker',
      'scope rejected',
      /exact email subject only/,
      'reject',
    ],
    [
      'URI subject (GitHub Actions)',
      `subject: "https://github.com/org/app/.github/workflows/release.yml@refs/heads/main"\n${issuer}`,
      'subject',
      'weaker',
      'scope rejected',
      /not an email address: policy\.json checks email SANs only/,
      'reject',
    ],
    [
      'wildcard subject',
      `subject: "*@example.com"\n${issuer}`,
      'subject',
      'weaker',
      'scope rejected',
      /wildcard subject/,
      'reject',
    ],
    ['no subject', issuer, 'subject', 'weaker', 'scope rejected', /keyless without a subject/, 'reject'],
    [
      'issuerRegExp',
      'subject: "dev@example.com"\nissuerRegExp: "https://.*"',
      'issuer',
      'weaker',
      'scope rejected',
      /one exact OIDC issuer/,
      'reject',
    ],
    [
      'additionalExtensions',
      `subject: "dev@example.com"\n${issuer}\nadditionalExtensions: {githubWorkflowTrigger: push}`,
      'additionalExtensions',
      'weaker',
      'scope rejected',
      /certificate extensions are not checked/,
      'reject',
    ],
    [
      'SCT required (the default)',
      `subject: "dev@example.com"\n${issuer}`,
      'SCT',
      'weaker',
      'listed',
      /certificate transparency \(SCT\) is not checked/,
      'sigstoreSigned',
    ],
    [
      'ignoreTlog',
      `subject: "dev@example.com"\n${issuer}\nrekor: {ignoreTlog: true}`,
      'transparency log',
      'stricter',
      'listed',
      /always requires a Rekor entry for Fulcio certificates/,
      'sigstoreSigned',
    ],
  ];
  for (const [name, keyless, feature, effect, action, detail, type] of table) {
    const text = doc(keyless);
    const r = toContainersPolicy(loadPolicies(text).policies, { trustedRoot });
    t.ok(
      some(r.unexpressed, { feature, effect, action, detail }),
      `${name}: ${feature} [${effect}; ${action}] in the report`,
    );
    t.equal(
      r.policy.transports.docker['r.io/app']?.[0]?.type,
      type,
      `${name}: the scope is ${type === 'reject' ? 'rejected (fail closed)' : 'exported'}`,
    );
    const cli = await runSigward(['export', 'containers-policy', '--policy', file(text)]);
    t.equal(cli.code, 0, cli.stderr);
    t.match(
      cli.stderr,
      new RegExp(
        `p/r \\(spec\\.rules\\[0\\]\\.verifyImages\\[0\\]\\.attestors\\[0\\]\\.entries\\[0\\]\\): ${feature}: .*${detail.source}.* \\[${effect}; ${action}\\]`,
      ),
      `${name}: said on stderr`,
    );
  }
});
