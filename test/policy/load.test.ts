// Loader semantics: defaults, count, mutateDigest/Audit, legacy conversion,
// multi-key split, secrets, KMS, spec-level checks, document handling.

import t from 'tap';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isSigwardError } from '../../lib/errors.ts';
import {
  createFileSecretResolver,
  loadPolicies,
  parsePolicies,
  type PolicyDiagnostic,
  type SecretResolver,
  splitPublicKeys,
} from '../../lib/policy/index.ts';
import { asKyverno, brief, errorsOf, indent, noSecrets, OTHER_KEY, policyWith, TEST_KEY } from './helpers.ts';

const keysEntry = (pem: string, extra = ''): string =>
  `imageReferences: ["ghcr.io/org/*"]
          attestors:
            - entries:
                - keys:
                    publicKeys: |-
                      ${indent(pem, 22)}${extra}`;

function parse(text: string, resolveSecret = noSecrets) {
  return parsePolicies(text, { file: 'p.yaml', resolveSecret });
}
function errs(text: string): string[] {
  return errorsOf(parse(text).diagnostics).map(brief);
}
function first(text: string) {
  const r = parse(text);
  if (errorsOf(r.diagnostics).length > 0) throw new Error(errorsOf(r.diagnostics).map(brief).join('\n'));
  return asKyverno(r.policies[0]);
}

t.test('defaults', async (t) => {
  const p = first(policyWith(keysEntry(TEST_KEY)));
  t.same(
    { ...p.spec, rules: undefined },
    {
      validationFailureAction: 'Enforce',
      validationFailureActionOverrides: [],
      failurePolicy: 'Fail',
      background: true,
      admission: true,
      rules: undefined,
    },
  );
  const e = p.spec.rules[0]!.verifyImages[0]!;
  t.same(
    [e.type, e.mutateDigest, e.verifyDigest, e.required, e.useCache, e.cosignOCI11, e.failureAction, e.repository],
    ['Cosign', true, true, true, true, false, undefined, undefined],
  );
  t.equal(e.attestors[0]!.requiredCount, 1);
  t.equal(e.attestors[0]!.entries[0]!.signatureAlgorithm, 'sha256');
  const noAction = first(policyWith(keysEntry(TEST_KEY), { spec: '  background: false' }));
  t.equal(noAction.spec.validationFailureAction, 'Audit', 'default Audit');
  t.equal(noAction.spec.rules[0]!.verifyImages[0]!.mutateDigest, false, 'Audit: digest not mutated');
});

t.test('validationFailureAction: any case, lowercase deprecated', async (t) => {
  for (const [raw, want] of [['enforce', 'Enforce'], ['ENFORCE', 'Enforce'], ['audit', 'Audit']] as const) {
    const r = parse(
      policyWith('imageReferences: ["x/*"]\n          mutateDigest: false', {
        spec: `  validationFailureAction: ${raw}`,
      }),
    );
    t.equal(asKyverno(r.policies[0]).spec.validationFailureAction, want, raw);
    t.ok(
      r.diagnostics.some((d) =>
        d.severity === 'warning' && d.message === `spec.validationFailureAction: "${raw}" is deprecated, use "${want}"`
      ),
    );
  }
  t.same(errs(policyWith('imageReferences: ["x/*"]', { spec: '  validationFailureAction: Block' })), [
    '6:28 spec.validationFailureAction: unsupported value "Block": supported values: "Audit", "Enforce"',
  ]);
});

t.test('mutateDigest and Audit', async (t) => {
  const entry = (md: string, fa = '') =>
    `imageReferences: ["ghcr.io/*"]${fa ? `\n          failureAction: ${fa}` : ''}${
      md ? `\n          mutateDigest: ${md}` : ''
    }`;
  const msg =
    'spec.rules[0].verifyImages[0].mutateDigest: Invalid value: true: mutateDigest must be set to false for ‘Audit’ failure action';
  t.same(errs(policyWith(entry('true'), { spec: '  validationFailureAction: Audit' })), [`15:25 ${msg}`]);
  t.same(errs(policyWith(entry('true', 'Audit'))), [`16:25 ${msg}`], 'entry Audit overrides spec Enforce');
  t.same(
    errs(policyWith(entry('true', 'Enforce'), { spec: '  validationFailureAction: Audit' })),
    [],
    'entry Enforce overrides spec Audit',
  );
  t.same(errs(policyWith(entry('false'), { spec: '  validationFailureAction: Audit' })), []);
  const p = first(policyWith(entry('true', 'Enforce'), { spec: '  validationFailureAction: Audit' }));
  t.equal(p.spec.rules[0]!.verifyImages[0]!.mutateDigest, true);
  t.equal(p.spec.rules[0]!.verifyImages[0]!.failureAction, 'Enforce');
});

t.test('count validation', async (t) => {
  const set = (count: string, n: number) =>
    `imageReferences: ["ghcr.io/*"]
          attestors:
            - ${count}entries:
${
      Array.from(
        { length: n },
        (_, i) =>
          `                - keyless: {subject: "s${i}", issuer: "i", rekor: {url: "https://rekor.sigstore.dev"}}`,
      ).join('\n')
    }`;
  t.same(errs(policyWith(set('count: 2\n              ', 2))), []);
  t.same(errs(policyWith(set('count: 3\n              ', 2))), [
    '16:22 spec.rules[0].verifyImages[0].attestors[0].count: Invalid value: 3: Count cannot exceed length of entries (2)',
  ]);
  t.same(errs(policyWith(set('count: 0\n              ', 2))), [
    '16:22 spec.rules[0].verifyImages[0].attestors[0].count: Invalid value: 0: must be greater than or equal to 1',
  ]);
  t.same(errs(policyWith(set('count: -1\n              ', 1))), [
    '16:22 spec.rules[0].verifyImages[0].attestors[0].count: Invalid value: -1: must be greater than or equal to 1',
  ]);
  t.same(errs(policyWith(set('count: "2"\n              ', 2))), [
    '16:22 spec.rules[0].verifyImages[0].attestors[0].count: expected an integer, got string "2"',
  ]);
  t.same(errs(policyWith(set('', 0).replace('entries:', 'entries: []'))), [
    '16:15 spec.rules[0].verifyImages[0].attestors[0]: An entry is required',
  ]);
  const p = first(policyWith(set('count: 1\n              ', 3)));
  t.equal(p.spec.rules[0]!.verifyImages[0]!.attestors[0]!.requiredCount, 1);
  const all = first(policyWith(set('', 3)));
  t.equal(all.spec.rules[0]!.verifyImages[0]!.attestors[0]!.requiredCount, 3, 'no count: all entries');
});

t.test('nested attestor sets are validated recursively', async (t) => {
  const text = policyWith(`imageReferences: ["ghcr.io/*"]
          attestors:
            - count: 1
              entries:
                - attestor:
                    count: 2
                    entries:
                      - keys:
                          publicKeys: "{{ k1 }}"
                      - keys: {}`);
  t.same(errs(text), [
    '23:31 spec.rules[0].verifyImages[0].attestors[0].entries[0].attestor.entries[1].keys: A public key, kms key or secret is required',
  ]);
  const ok = first(text.replace('- keys: {}', '- keys: {publicKeys: "{{ k2 }}"}'));
  const nested = ok.spec.rules[0]!.verifyImages[0]!.attestors[0]!.entries[0]!.attestor!;
  t.equal(nested.path, 'spec.rules[0].verifyImages[0].attestors[0].entries[0].attestor');
  t.equal(nested.requiredCount, 2);
  t.equal(nested.entries[1]!.keys?.source.kind, 'variable');
});

t.test('multi-key publicKeys: one entry per key, count across them', async (t) => {
  t.same(splitPublicKeys(`${TEST_KEY}\n${OTHER_KEY}\n`), [TEST_KEY, OTHER_KEY]);
  t.same(splitPublicKeys(`${TEST_KEY}\n`), [`${TEST_KEY}\n`], 'one key: unchanged');
  const text = policyWith(
    keysEntry(
      `${TEST_KEY}\n${OTHER_KEY}`,
      '\n                    rekor: {ignoreTlog: true}\n                  annotations: {team: a}\n                - keyless: {subject: s, issuer: i, roots: r}',
    ).replace('- entries:', '- count: 1\n              entries:'),
  );
  const set = first(text).spec.rules[0]!.verifyImages[0]!.attestors[0]!;
  t.equal(set.entries.length, 3);
  t.same(set.entries.map((e) => [e.kind, e.sourceIndex, e.keyIndex, e.path]), [
    ['keys', 0, 0, 'spec.rules[0].verifyImages[0].attestors[0].entries[0]'],
    ['keys', 0, 1, 'spec.rules[0].verifyImages[0].attestors[0].entries[0]'],
    ['keyless', 1, undefined, 'spec.rules[0].verifyImages[0].attestors[0].entries[1]'],
  ]);
  t.same(set.entries.map((e) => e.keys?.publicKeys), [TEST_KEY, OTHER_KEY, undefined]);
  t.same(
    set.entries[1]!.keys?.rekor,
    { url: 'https://rekor.sigstore.dev', ignoreTlog: true },
    'options copied to every key',
  );
  t.same(set.entries[1]!.annotations, { team: 'a' });
  t.equal(set.requiredCount, 1);
  const noCount = first(text.replace('- count: 1\n              entries:', '- entries:'));
  t.equal(noCount.spec.rules[0]!.verifyImages[0]!.attestors[0]!.requiredCount, 3, 'AND over the split keys');
  // count is checked against the entries as written (Kyverno admits before splitting)
  t.same(errs(text.replace('- count: 1', '- count: 3')), [
    '16:22 spec.rules[0].verifyImages[0].attestors[0].count: Invalid value: 3: Count cannot exceed length of entries (2)',
  ]);
});

t.test('deprecated image/key/issuer form (Convert)', async (t) => {
  const keyForm = first(policyWith(`image: "ghcr.io/a/*"
          imageReferences: ["ghcr.io/b/*"]
          key: |-
            ${indent(TEST_KEY, 12)}
          annotations: {sig: original}
          repository: registry.io/signatures`));
  const e = keyForm.spec.rules[0]!.verifyImages[0]!;
  t.equal(e.convertedFromLegacy, true);
  t.same(e.imageReferences, ['ghcr.io/b/*', 'ghcr.io/a/*']);
  t.equal(e.repository, 'registry.io/signatures');
  t.equal(e.attestors.length, 1);
  t.same(e.attestors[0]!.entries[0]!.annotations, { sig: 'original' });
  t.equal(e.attestors[0]!.entries[0]!.keys?.publicKeys, TEST_KEY);

  const keyless = first(policyWith(`image: "ghcr.io/a/*"
          subject: "*@example.com"
          issuer: https://accounts.google.com
          roots: ROOTS
          additionalExtensions: {githubWorkflowTrigger: push}`)).spec.rules[0]!.verifyImages[0]!;
  t.same(keyless.attestors[0]!.entries[0]!.keyless, {
    issuer: 'https://accounts.google.com',
    subject: '*@example.com',
    roots: 'ROOTS',
    additionalExtensions: { githubWorkflowTrigger: 'push' },
  });

  const withAttestations = first(policyWith(`image: "ghcr.io/a/*"
          key: "{{ k }}"
          attestations:
            - type: https://slsa.dev/provenance/v1`)).spec.rules[0]!.verifyImages[0]!;
  t.equal(withAttestations.attestors.length, 0);
  t.equal(
    withAttestations.attestations[0]!.attestors[0]!.entries[0]!.keys?.source.kind,
    'variable',
    'key applies to the attestations',
  );

  const r = parse(policyWith(`imageReferences: ["x/*"]
          subject: lonely`));
  t.ok(
    r.diagnostics.some((d) =>
      d.severity === 'warning' && d.message.includes('subject is ignored without image, key or issuer')
    ),
  );
  t.same(errs(policyWith('image: "ghcr.io/{{ request.namespace }}/*"\n          key: "{{ k }}"')), [
    '14:18 spec.rules[0].verifyImages[0].image: variables are not allowed in image reference',
  ]);
});

t.test('keyless subjectRegExp / issuerRegExp must be Go RE2 regular expressions', async (t) => {
  const keyless = (field: string, pattern: string) =>
    policyWith(`imageReferences: ["ghcr.io/*"]
          attestors:
            - entries:
                - keyless: {subject: s, issuer: i, rekor: {url: "https://rekor.sigstore.dev"}, ${field}: '${pattern}'}`);
  t.same(errs(keyless('subjectRegExp', '^(a)\\1$')), [
    '17:111 spec.rules[0].verifyImages[0].attestors[0].entries[0].keyless.subjectRegExp: error parsing regexp: invalid escape sequence: `\\1` (Go RE2 syntax: no backreferences, lookahead or lookbehind)',
  ]);
  t.match(errs(keyless('issuerRegExp', 'https://(?!evil)')), [
    /keyless\.issuerRegExp: error parsing regexp: invalid or unsupported Perl syntax: `\(\?!`/,
  ]);
  t.same(errs(keyless('subjectRegExp', '(?i)^(?P<user>[a-z]+)@corp\\.example$')), [], 'Go syntax loads');
});

t.test('attestor kinds: exactly one, and each one complete', async (t) => {
  const entry = (body: string) =>
    policyWith(`imageReferences: ["ghcr.io/*"]
          attestors:
            - entries:
                - ${body}`);
  t.same(errs(entry('{repository: x}')), [
    '17:19 spec.rules[0].verifyImages[0].attestors[0].entries[0]: keys, certificates, keyless, or a nested attestor is required',
  ]);
  t.same(errs(entry('certificates: {}')), [
    '17:33 spec.rules[0].verifyImages[0].attestors[0].entries[0].certificates: cert or certChain required',
  ]);
  t.same(errs(entry('keys: {publicKeys: x, signatureAlgorithm: md5}')), [
    '17:61 spec.rules[0].verifyImages[0].attestors[0].entries[0].keys.signatureAlgorithm: unsupported value "md5": supported values: "", "sha224", "sha256", "sha384", "sha512"',
  ]);
  const algo = first(entry('keys: {publicKeys: "{{ k }}"}\n                  signatureAlgorithm: sha512'));
  t.equal(algo.spec.rules[0]!.verifyImages[0]!.attestors[0]!.entries[0]!.signatureAlgorithm, 'sha512');
  const r = parse(entry('keys: {publicKeys: "{{ k }}", kms: "gcpkms://x"}'));
  t.ok(
    r.diagnostics.some((d) =>
      d.severity === 'warning' && d.message.endsWith('publicKeys, kms are all set: only publicKeys is used')
    ),
  );
});

t.test('Notary: loaded and verifiable, with a note on revocation; keys/keyless rejected', async (t) => {
  const r = parse(policyWith(`type: Notary
          imageReferences: ["ghcr.io/*"]
          attestors:
            - entries:
                - certificates: {cert: CERT}`));
  const e = asKyverno(r.policies[0]).spec.rules[0]!.verifyImages[0]!;
  t.equal(e.type, 'Notary');
  t.equal(e.unsupported, undefined, 'Notary entries are verified, not flagged unsupported');
  t.notOk(r.diagnostics.some((d) => d.message.includes('not supported')), 'no "not supported" warning');
  t.ok(
    r.diagnostics.some((d) =>
      d.severity === 'info' && d.line === 14 && d.message.includes('checks no certificate revocation')
    ),
    'a note says how revocation differs from Kyverno',
  );
  t.same(
    errs(policyWith(`type: Notary
          imageReferences: ["ghcr.io/*"]
          attestors:
            - entries:
                - keys: {publicKeys: "{{ k }}"}`)),
    ['18:25 spec.rules[0].verifyImages[0].attestors[0].entries[0]: Keys field is not allowed for type notary'],
  );
  t.same(errs(policyWith('type: Foo\n          imageReferences: ["x/*"]')), [
    '14:17 spec.rules[0].verifyImages[0].type: unsupported value "Foo": supported values: "Cosign", "SigstoreBundle", "Notary"',
  ]);
});

t.test('Secrets: k8s:// and secret{} resolve through the injected resolver', async (t) => {
  const calls: string[] = [];
  const resolver: SecretResolver = (ns, name) => {
    calls.push(`${ns}/${name}`);
    return ns === 'kyverno' && name === 'cosign-pub'
      ? { 'cosign.pub': TEST_KEY }
      : name === 'empty'
      ? ({} as Record<string, string>)
      : undefined;
  };
  const entry = (keys: string) =>
    policyWith(`imageReferences: ["ghcr.io/*"]
          attestors:
            - entries:
                - keys: ${keys}`);
  const a = asKyverno(parse(entry('{publicKeys: "k8s://kyverno/cosign-pub"}'), resolver).policies[0]).spec.rules[0]!
    .verifyImages[0]!.attestors[0]!.entries[0]!;
  t.same(a.keys?.source, {
    kind: 'secret',
    namespace: 'kyverno',
    name: 'cosign-pub',
    key: 'cosign.pub',
    pem: TEST_KEY,
  });
  const b = asKyverno(parse(entry('{secret: {name: cosign-pub, namespace: kyverno}}'), resolver).policies[0]).spec
    .rules[0]!.verifyImages[0]!.attestors[0]!.entries[0]!;
  t.equal(b.keys?.source.kind === 'secret' && b.keys.source.pem, TEST_KEY);
  t.same(b.keys?.secret, { name: 'cosign-pub', namespace: 'kyverno' });
  const missing = parse(entry('{secret: {name: nope, namespace: kyverno}}'), resolver);
  t.same(errorsOf(missing.diagnostics), [], 'unresolved secret is not a load error');
  const w = missing.diagnostics.find((d) => d.severity === 'warning');
  t.equal(
    w?.message,
    'spec.rules[0].verifyImages[0].attestors[0].entries[0].keys.secret: secret kyverno/nope not found: mount it so that $SIGWARD_SECRETS_DIR/kyverno/nope/cosign.pub holds the public key',
  );
  const src = asKyverno(missing.policies[0]).spec.rules[0]!.verifyImages[0]!.attestors[0]!.entries[0]!.keys!.source;
  t.equal(src.kind === 'secret' && src.unresolved, w?.message.split(': ').slice(1).join(': '));
  const empty = asKyverno(parse(entry('{kms: "k8s://kyverno/empty"}'), resolver).policies[0]).spec.rules[0]!
    .verifyImages[0]!.attestors[0]!.entries[0]!;
  t.equal(
    empty.keys?.source.kind === 'secret' && empty.keys.source.unresolved,
    'secret kyverno/empty has no key cosign.pub',
  );
  t.ok(calls.includes('kyverno/cosign-pub'));
});

t.test('default secret resolver reads $SIGWARD_SECRETS_DIR/<ns>/<name>/<key>', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'sigward-secrets-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  mkdirSync(join(dir, 'kyverno', 'keys', '..data'), { recursive: true });
  writeFileSync(join(dir, 'kyverno', 'keys', 'cosign.pub'), TEST_KEY);
  writeFileSync(join(dir, 'kyverno', 'keys', 'other'), 'x');
  const resolve = createFileSecretResolver(dir);
  t.same(resolve('kyverno', 'keys'), { 'cosign.pub': TEST_KEY, other: 'x' });
  t.equal(resolve('kyverno', 'missing'), undefined);
  t.equal(resolve('..', 'kyverno'), undefined, 'no path traversal');
  t.equal(createFileSecretResolver(undefined)('kyverno', 'keys'), undefined, 'unset dir: nothing');
  const r = parsePolicies(
    policyWith(
      'imageReferences: ["x/*"]\n          attestors: [{entries: [{keys: {publicKeys: "k8s://kyverno/keys"}}]}]',
    ),
    { resolveSecret: resolve },
  );
  const src = asKyverno(r.policies[0]).spec.rules[0]!.verifyImages[0]!.attestors[0]!.entries[0]!.keys!.source;
  t.equal(src.kind === 'secret' && src.pem, TEST_KEY);
});

t.test('KMS references: kept, unresolved with a precise message', async (t) => {
  for (
    const uri of [
      'awskms:///alias/k',
      'gcpkms://projects/p/locations/l/keyRings/r/cryptoKeys/k',
      'azurekms://vault.vault.azure.net/k',
      'hashivault://transit-key',
    ]
  ) {
    for (const field of ['kms', 'publicKeys']) {
      const r = parse(
        policyWith(`imageReferences: ["x/*"]\n          attestors: [{entries: [{keys: {${field}: "${uri}"}}]}]`),
      );
      const src = asKyverno(r.policies[0]).spec.rules[0]!.verifyImages[0]!.attestors[0]!.entries[0]!.keys!.source;
      t.equal(src.kind, 'kms', `${field} ${uri}`);
      t.equal(
        'unresolved' in src && src.unresolved,
        `KMS key ${uri} cannot be used offline: provide the public key with publicKeys`,
      );
    }
  }
  const bad = parse(
    policyWith('imageReferences: ["x/*"]\n          attestors: [{entries: [{keys: {kms: "foo://bar"}}]}]'),
  );
  t.ok(bad.diagnostics.some((d) => d.message.includes('unsupported KMS reference "foo://bar"')));
});

t.test('spec-level checks', async (t) => {
  const e = 'imageReferences: ["x/*"]\n          mutateDigest: false';
  t.same(errs(policyWith(e, { spec: '  webhookTimeoutSeconds: 31' })), [
    '6:26 spec.webhookTimeoutSeconds: Invalid value: 31: the timeout value must be between 1 and 30 seconds',
  ]);
  t.same(
    errs(policyWith(e, { spec: '  webhookTimeoutSeconds: 10\n  webhookConfiguration:\n    timeoutSeconds: 10' })),
    [
      '8:21 spec.webhookTimeoutSeconds and spec.webhookConfiguration.timeoutSeconds cannot both be set: use webhookConfiguration.timeoutSeconds only',
    ],
  );
  t.same(errs(policyWith(e, { spec: '  failurePolicy: Ignore\n  webhookConfiguration:\n    failurePolicy: Fail' })), [
    '8:20 spec.failurePolicy and spec.webhookConfiguration.failurePolicy cannot both be set: use webhookConfiguration.failurePolicy only',
  ]);
  const p = first(policyWith(e, { spec: '  failurePolicy: Ignore\n  webhookTimeoutSeconds: 15' }));
  t.same([p.spec.failurePolicy, p.spec.timeoutSeconds], ['Ignore', 15]);
  const q = first(policyWith(e, { spec: '  webhookConfiguration:\n    failurePolicy: Ignore\n    timeoutSeconds: 5' }));
  t.same([q.spec.failurePolicy, q.spec.timeoutSeconds], ['Ignore', 5]);
  t.same(errs(policyWith(e, { spec: '  admission: false' })), [
    '6:14 spec.admission: Invalid value: false: verifyImages rules require admission to be enabled',
  ]);
  t.same(errs(policyWith(e, { kinds: '["*"]' })), [
    '12:23 spec.rules[0].match.any[0].resources.kinds[0]: wildcard policy does not support rule type',
  ]);
  t.same(errs(policyWith('imageReferences: []')), [
    '14:11 spec.rules[0].verifyImages[0]: An image reference is required',
  ]);
  const dup = policyWith(e).replace(
    '  rules:\n',
    '  rules:\n    - name: check-image\n      match: {any: [{resources: {kinds: [Pod]}}]}\n      verifyImages: [{imageReferences: ["y/*"]}]\n',
  );
  t.same(errs(dup), ['11:13 spec.rules[1].name: Duplicate value: "check-image": rule names must be unique']);
  const ov = first(
    policyWith(e, {
      spec:
        '  validationFailureAction: Audit\n  validationFailureActionOverrides:\n    - action: enforce\n      namespaces: [prod]',
    }),
  );
  t.same(ov.spec.validationFailureActionOverrides, [{ action: 'Enforce', namespaces: ['prod'] }]);
});

t.test('rules that are not verifyImages are kept aside with a note', async (t) => {
  const text = policyWith('imageReferences: ["x/*"]').replace(
    '  rules:\n',
    '  rules:\n    - name: require-labels\n      match: {any: [{resources: {kinds: [Pod]}}]}\n      validate: {message: m, pattern: {metadata: {labels: {app: "?*"}}}}\n',
  );
  const r = parse(text);
  t.same(errorsOf(r.diagnostics), []);
  const p = asKyverno(r.policies[0]);
  t.same(p.spec.rules.map((x) => [x.name, x.otherTypes, x.verifyImages.length]), [
    ['require-labels', ['validate'], 0],
    ['check-image', [], 1],
  ]);
  t.ok(
    r.diagnostics.some((d) =>
      d.severity === 'info' && d.message.includes('"require-labels" (validate) is not a verifyImages rule')
    ),
  );
  t.same(
    errs(
      text.replace('validate: {message: m', 'verifyImages: [{imageReferences: ["x/*"]}]\n      validate: {message: m'),
    ),
    [
      '8:7 spec.rules[0]: a rule can hold only one of mutate, validate, generate or verifyImages, found validate, verifyImages',
    ],
  );
});

t.test('preconditions, validate.deny, conditions', async (t) => {
  const p = first(
    policyWith(`imageReferences: ["x/*"]
          validate:
            message: no critical vulns
            deny:
              conditions:
                any:
                  - key: "{{ trivy.critical }}"
                    operator: GreaterThan
                    value: 0
          attestations:
            - name: trivy
              type: https://cosign.sigstore.dev/attestation/vuln/v1
              conditions:
                - all:
                    - {key: "{{ scanner.uri }}", operator: Equals, value: "https://aquasecurity.github.io/trivy"}`)
      .replace(
        '      verifyImages:',
        '      preconditions:\n        - key: "{{ request.operation }}"\n          operator: NotEquals\n          value: DELETE\n      verifyImages:',
      ),
  );
  const rule = p.spec.rules[0]!;
  t.same(
    rule.preconditions,
    { all: [{ key: '{{ request.operation }}', operator: 'NotEquals', value: 'DELETE' }] },
    'legacy list means all',
  );
  const e = rule.verifyImages[0]!;
  t.same(e.validate, {
    message: 'no critical vulns',
    deny: { conditions: { any: [{ key: '{{ trivy.critical }}', operator: 'GreaterThan', value: 0 }] } },
  });
  t.equal(e.attestations[0]!.name, 'trivy');
  t.same(
    errs(
      policyWith(
        'imageReferences: ["x/*"]\n          attestations: [{type: t, conditions: [{all: [{key: a, operator: Is, value: b}]}]}]',
      ),
    ),
    [
      '15:75 spec.rules[0].verifyImages[0].attestations[0].conditions[0].all[0].operator: unsupported value "Is": supported values: Equals, NotEquals, AnyIn, AllIn, AnyNotIn, AllNotIn, GreaterThan, GreaterThanOrEquals, LessThan, LessThanOrEquals, DurationGreaterThan, DurationGreaterThanOrEquals, DurationLessThan, DurationLessThanOrEquals',
    ],
  );
  t.same(errs(policyWith('imageReferences: ["x/*"]\n          attestations: [{conditions: []}]')), [
    '15:26 spec.rules[0].verifyImages[0].attestations[0].type: Required value: an attestation needs a type',
  ]);
});

t.test('documents: multi-document, non-policy kinds, Lists, JSON, unknown kinds', async (t) => {
  const cm = 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: keys}\ndata: {production: x}\n';
  const r = parse(
    `${cm}---\n${policyWith('imageReferences: ["x/*"]', { name: 'a' })}---\n${
      policyWith('imageReferences: ["y/*"]', { name: 'b' })
    }`,
  );
  t.same(r.policies.map((p) => p.metadata.name), ['a', 'b']);
  t.same(r.policies.map((p) => p.source.document), [1, 2]);
  t.equal(r.policies[1]!.source.line, 21, 'document start line');
  const note = r.diagnostics.find((d) => d.severity === 'info' && d.message.startsWith('ignoring ConfigMap'));
  t.equal(note?.message, 'ignoring ConfigMap: not an image verification policy (ConfigMap "keys")');

  const list = {
    apiVersion: 'v1',
    kind: 'List',
    items: [
      JSON.parse(
        JSON.stringify({
          apiVersion: 'kyverno.io/v1',
          kind: 'ClusterPolicy',
          metadata: { name: 'json' },
          spec: {
            validationFailureAction: 'Enforce',
            rules: [{
              name: 'r',
              match: { any: [{ resources: { kinds: ['Pod'] } }] },
              verifyImages: [{ imageReferences: ['x/*'], atestors: [] }],
            }],
          },
        }),
      ),
    ],
  };
  const lr = parse(JSON.stringify(list, null, 2));
  t.same(errorsOf(lr.diagnostics).map(brief), [
    '32:17 unknown field "spec.rules[0].verifyImages[0].atestors" (did you mean "attestors"?)',
  ], 'JSON and List items keep positions');

  t.same(errs('apiVersion: kyverno.io/v1\nkind: ClusterPolicyy\nmetadata: {name: x}\n'), [
    '2:7 kind: unknown kind "ClusterPolicyy" for kyverno.io/v1 (did you mean "ClusterPolicy"?)',
  ]);
  t.same(errs('apiVersion: kyverno.io/v2\nkind: ClusterPolicy\nmetadata: {name: x}\n'), [
    '1:13 apiVersion: kyverno.io/v2 is not supported for ClusterPolicy: use kyverno.io/v1 or kyverno.io/v2beta1',
  ]);
  t.same(errs('- a\n- b\n'), ['1:1 expected a Kubernetes object (a map with apiVersion and kind), got a list']);
  t.same(parse('').policies, []);
  t.same(parse('# only a comment\n').diagnostics, []);
  const exc = parse('apiVersion: kyverno.io/v2\nkind: PolicyException\nmetadata: {name: x}\n');
  t.same(exc.diagnostics.map((d) => d.severity), ['info']);
});

t.test('loadPolicies throws one POLICY_INVALID with every error in detail.errors', async (t) => {
  const text = policyWith('imageReferences: "x"\n          mutateDigest: 1\n          verifyDigest: 2');
  try {
    loadPolicies(text, { file: 'f.yaml', resolveSecret: noSecrets });
    t.fail('should throw');
  } catch (e) {
    if (!isSigwardError(e)) throw e;
    t.equal(e.code, 'POLICY_INVALID');
    const list = e.detail?.['errors'] as PolicyDiagnostic[];
    t.equal(list.length, 3);
    t.same(list.map((d) => `${d.file}:${d.line}:${d.column}`), ['f.yaml:14:28', 'f.yaml:15:25', 'f.yaml:16:25']);
    t.equal(e.message.split('\n').length, 3);
  }
  const ok = loadPolicies(policyWith('imageReferences: ["x/*"]'), { resolveSecret: noSecrets });
  t.equal(ok.policies.length, 1);
  t.ok(ok.warnings.every((w) => w.severity !== 'error'));
});
