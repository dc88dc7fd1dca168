// Fuzzing image references: parseReference / parseImageFromPodSpec on
// arbitrary and grammar-built strings, Kyverno matching, the wildcard matcher
// on adversarial patterns, signature-repository overrides.

import t from 'tap';
import {
  parseImageFromPodSpec,
  parseReference,
  referenceToString,
  toKyvernoMatchString,
} from '../../lib/reference/index.ts';
import { matchesPattern } from '../../lib/wildcard.ts';
import { signatureRepository } from '../../lib/oci/index.ts';
import { bounded, fc, fuzz, onlySigwardError, SEED, tokenSoup } from './helpers.ts';

const COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const DIGEST = /^(sha256:[a-f0-9]{64}|sha384:[a-f0-9]{96}|sha512:[a-f0-9]{128})$/;
const VOCAB = [
  'docker.io/',
  'library/',
  'localhost:5000/',
  'ghcr.io/',
  'oci:',
  '/',
  ':',
  '@',
  'sha256:',
  'a'.repeat(64),
  'A',
  '.',
  '-',
  '_',
  '__',
  'nginx',
  'latest',
  '[::1]',
  '127.0.0.1',
  ':443',
  '..',
  '//',
  '@sha256:' + '0'.repeat(64),
];

const component = fc.stringMatching(/^[a-z0-9]{1,6}([._-][a-z0-9]{1,4})?$/);
const host = fc.oneof(
  fc.constantFrom(
    'docker.io',
    'ghcr.io',
    'localhost',
    'registry.example.com',
    '127.0.0.1',
    '[::1]',
    'REGISTRY.Example.com',
  ),
  fc.tuple(fc.constantFrom('r.example', 'localhost', '10.0.0.1'), fc.integer({ min: 1, max: 65535 })).map(([h, p]) =>
    `${h}:${p}`
  ),
);
const tag = fc.stringMatching(/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,20}$/);
const hex64 = fc.uint8Array({ minLength: 32, maxLength: 32 }).map((b) => Buffer.from(b).toString('hex'));
/** references distribution accepts */
const validRef = fc
  .record({
    host: fc.option(host),
    path: fc.array(component, { minLength: 1, maxLength: 3 }),
    tag: fc.option(tag),
    digest: fc.option(hex64),
  })
  .map((r) =>
    `${r.host ? r.host + '/' : ''}${r.path.join('/')}${r.tag ? ':' + r.tag : ''}${
      r.digest ? '@sha256:' + r.digest : ''
    }`
  );

function checkInvariants(s: string, r: ReturnType<typeof parseReference>): void {
  if (r.transport === 'oci-layout') {
    if (!s.startsWith('oci:')) throw new Error(`layout reference from ${JSON.stringify(s)}`);
    return;
  }
  if (!r.registry) throw new Error(`empty registry for ${JSON.stringify(s)}`);
  if (!r.repository.split('/').every((c) => COMPONENT.test(c))) {
    throw new Error(`bad repository ${JSON.stringify(r.repository)} from ${JSON.stringify(s)}`);
  }
  if (r.digest !== undefined && !DIGEST.test(r.digest)) {
    throw new Error(`bad digest ${r.digest} from ${JSON.stringify(s)}`);
  }
  if (r.tag === undefined && r.digest === undefined) throw new Error(`neither tag nor digest for ${JSON.stringify(s)}`);
}

t.comment(`fast-check seed ${SEED}`);

t.test('parseReference: arbitrary strings', async (t) => {
  await fuzz(t, 'arbitrary text', tokenSoup(VOCAB, 16), (s) => {
    for (
      const parse of [
        (x: string) => parseReference(x),
        (x: string) => parseImageFromPodSpec(x),
        (x: string) => parseReference(x, { defaultRegistry: 'mirror.example.com/hub' }),
      ]
    ) {
      const { value, error } = bounded(
        () => onlySigwardError(() => parse(s), `parse ${JSON.stringify(s)}`),
        1000,
        'parse',
      );
      if (error && error.code !== 'REFERENCE_INVALID') {
        throw new Error(`unexpected code ${error.code} for ${JSON.stringify(s)}`);
      }
      if (value) {
        checkInvariants(s, value);
        // matching strings never throw
        toKyvernoMatchString(value);
      }
    }
  }, 3000);
});

t.test('parseReference: grammar-built references parse, and format back to themselves', async (t) => {
  await fuzz(t, 'valid references', validRef, (s) => {
    const r = parseReference(s);
    checkInvariants(s, r);
    const again = parseReference(referenceToString(r));
    if (
      again.registry !== r.registry || again.repository !== r.repository || again.tag !== r.tag ||
      again.digest !== r.digest
    ) {
      throw new Error(`round trip changed ${JSON.stringify(s)}: ${JSON.stringify(r)} -> ${JSON.stringify(again)}`);
    }
    // a pod-spec image is never a layout
    if (parseImageFromPodSpec(s).transport !== 'registry') throw new Error('pod-spec image parsed as a layout');
  }, 2000);
});

t.test('wildcard matching is linear, never exponential', async (t) => {
  const pattern = fc.array(fc.constantFrom('*', '?', 'a', 'b', '/'), { minLength: 1, maxLength: 60 }).map((a) =>
    a.join('')
  );
  const text = fc.tuple(fc.integer({ min: 0, max: 3000 }), fc.constantFrom('a', 'ab', 'a/')).map(([n, u]) =>
    u.repeat(n).slice(0, 3000)
  );
  await fuzz(t, 'adversarial patterns', fc.tuple(pattern, text), ([p, s]) => {
    bounded(() => matchesPattern(p, s), 1000, `matchesPattern(${JSON.stringify(p)}, ${s.length} chars)`);
  }, 400);
  // the classic catastrophic case for backtracking matchers
  bounded(() => t.equal(matchesPattern('*a'.repeat(30) + 'b', 'a'.repeat(5000)), false), 1000, 'catastrophic pattern');
});

t.test('signatureRepository overrides: only SigwardError, never a layout from a registry name', async (t) => {
  const base = { transport: 'registry' as const, registry: 'ghcr.io', repository: 'org/app' };
  await fuzz(
    t,
    'overrides',
    tokenSoup(
      ['oci:', 'ghcr.io/', 'x/', ':1', '@', ' ', 'docker.io', 'index.docker.io/', 'localhost:5000/', 'UPPER/'],
      8,
    ),
    (s) => {
      const { value, error } = onlySigwardError(() => signatureRepository(base, s), 'signatureRepository');
      if (error && error.code !== 'REFERENCE_INVALID') throw new Error(`unexpected code ${error.code}`);
      if (value && value.transport === 'oci-layout' && !s.trim().startsWith('oci:')) {
        throw new Error(
          `layout from ${JSON.stringify(s)}`,
        );
      }
      if (
        value && value.transport === 'registry' && !COMPONENT.test(value.repository.split('/')[0] ?? '')
      ) throw new Error(`bad repository from ${JSON.stringify(s)}`);
    },
    2000,
  );
});
