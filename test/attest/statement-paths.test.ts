// One in-toto Statement parser (lib/attest/statement.ts) for both paths:
// Sigstore bundle verification (lib/trust verifyBundle, matching the artifact
// against the subjects) and attestation parsing (toStatement +
// verifySubjectDigest). A statement one path accepts and the other refuses
// fails here.

import t from 'tap';
import { createHash, generateKeyPairSync } from 'node:crypto';
import { toStatement, verifySubjectDigest } from '../../lib/attest/statement.ts';
import { parseTrustedRoot, toTrust, verifyBundle } from '../../lib/trust/index.ts';
import { SigwardError } from '../../lib/errors.ts';
import { IN_TOTO, withSigstoreMock } from '../helpers/sigstore.ts';

const artifact = Buffer.from('the attested artifact');
const hex = (alg: string, data: Uint8Array = artifact) => createHash(alg).update(data).digest('hex');
const other = Buffer.from('another artifact');

interface Case {
  name: string;
  statement: Record<string, unknown>;
  /** the digest the attestation path is asked for */
  digest: string;
  accepted: boolean;
}

const st = (type: string, subject: unknown, predicateType = 'https://example.com/p/v1') => ({
  _type: type,
  subject,
  predicateType,
  predicate: { ok: true },
});
const V01 = 'https://in-toto.io/Statement/v0.1';
const V1 = 'https://in-toto.io/Statement/v1';

const cases: Case[] = [
  {
    name: 'v0.1, sha512 subject',
    statement: st(V01, [{ name: 'a', digest: { sha512: hex('sha512') } }]),
    digest: `sha512:${hex('sha512')}`,
    accepted: true,
  },
  {
    name: 'v1, sha384 subject',
    statement: st(V1, [{ name: 'a', digest: { sha384: hex('sha384') } }]),
    digest: `sha384:${hex('sha384')}`,
    accepted: true,
  },
  {
    name: 'v1, sha256 subject (upper-case hex)',
    statement: st(V1, [{ digest: { sha256: hex('sha256').toUpperCase() } }]),
    digest: `sha256:${hex('sha256')}`,
    accepted: true,
  },
  {
    name: 'v0.1, second subject matches',
    statement: st(V01, [{ digest: { sha256: hex('sha256', other) } }, { digest: { sha512: hex('sha512') } }]),
    digest: `sha512:${hex('sha512')}`,
    accepted: true,
  },
  {
    name: 'v0.1, subject of another artifact',
    statement: st(V01, [{ digest: { sha512: hex('sha512', other) } }]),
    digest: `sha512:${hex('sha512')}`,
    accepted: false,
  },
  {
    name: 'unknown statement type v2',
    statement: st('https://in-toto.io/Statement/v2', [{ digest: { sha512: hex('sha512') } }]),
    digest: `sha512:${hex('sha512')}`,
    accepted: false,
  },
  {
    name: 'empty statement type',
    statement: st('', [{ digest: { sha512: hex('sha512') } }]),
    digest: `sha512:${hex('sha512')}`,
    accepted: false,
  },
  { name: 'no subject', statement: st(V1, []), digest: `sha512:${hex('sha512')}`, accepted: false },
  {
    name: 'subject without digest',
    statement: st(V1, [{ name: 'a' }]),
    digest: `sha512:${hex('sha512')}`,
    accepted: false,
  },
  {
    name: 'empty predicate type',
    statement: st(V01, [{ digest: { sha512: hex('sha512') } }], ''),
    digest: `sha512:${hex('sha512')}`,
    accepted: false,
  },
];

function outcome(f: () => unknown): { ok: true } | { ok: false; code: string; message: string } {
  try {
    f();
    return { ok: true };
  } catch (e) {
    if (!(e instanceof SigwardError)) throw e;
    return { ok: false, code: e.code, message: e.message };
  }
}

t.test('bundle verification and attestation parsing accept the same statements', async (t) => {
  const mock = await withSigstoreMock(t);
  const trust = toTrust(parseTrustedRoot(mock.trustedRoot));
  const key = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const publicKey = key.publicKey.export({ format: 'pem', type: 'spki' }).toString();
  for (const c of cases) {
    const payload = Buffer.from(JSON.stringify(c.statement));
    const bundle = await mock.signDSSEWithKey(payload, IN_TOTO, key);
    const viaBundle = outcome(() => verifyBundle(bundle, { artifact, trust, policy: { publicKey } }));
    const viaAttestation = outcome(() => verifySubjectDigest(toStatement(payload), c.digest));
    t.equal(
      viaBundle.ok,
      c.accepted,
      `${c.name}: bundle verification ${c.accepted ? 'accepts' : 'refuses'}${
        viaBundle.ok ? '' : ` (${viaBundle.code}: ${viaBundle.message})`
      }`,
    );
    t.equal(
      viaAttestation.ok,
      c.accepted,
      `${c.name}: attestation parsing ${c.accepted ? 'accepts' : 'refuses'}${
        viaAttestation.ok ? '' : ` (${viaAttestation.code}: ${viaAttestation.message})`
      }`,
    );
    if (!viaBundle.ok && !viaAttestation.ok && !/another artifact/.test(c.name)) {
      // a malformed statement: the same error code and reason on both paths
      t.equal(viaBundle.code, 'ATTESTATION_INVALID', `${c.name}: bundle code`);
      t.equal(viaBundle.message, viaAttestation.message, `${c.name}: same reason`);
    }
  }
});
