// Notary Project signatures made by the real notation 1.3.2 against the real
// registry, verified by `sigward verify --notary` and by `notation verify` on
// the same images with the same trust policy and trust store (notation's own
// files, in an isolated HOME): JWS and COSE, RSA (notation cert
// generate-test) and an EC P-256 openssl root -> leaf chain, unsigned,
// another CA, a bad signature before a good one, tampered envelopes and
// payloads, a signature replayed onto another image, an expired signature,
// an expired certificate, critical headers, multi-arch, revocation
// endpoints. What notation will not make is forged with test/helpers/notary.ts
// (signed with the trusted keys, so only the forged property differs).

import t from 'tap';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RegistryClient } from '../../lib/oci/registry.ts';
import type { Descriptor } from '../../lib/oci/types.ts';
import { pushImageDetailed, pushIndex, withRegistry } from '../helpers/registry.ts';
import { runSigward } from '../helpers/cli.ts';
import {
  addSigningKey,
  addTrustStoreCert,
  forgeNotarySignature,
  notationRunner,
  pushNotarySignature,
  startTestTsa,
  withRealNotation,
  writeTrustPolicy,
} from '../helpers/notary.ts';

withRealNotation(main);

function main(): void {
  const tmp = mkdtempSync(join(tmpdir(), 'sigward-notary-'));
  const home = join(tmp, 'home');
  const { run: notation, config } = notationRunner(home);
  const f = (name: string) => join(tmp, name);
  const openssl = (args: string[]) => execFileSync('openssl', args, { cwd: tmp, stdio: 'pipe' });
  const ecKey = (name: string) =>
    openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', `${name}.key`]);
  const caExt = 'basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\n';
  const leafExt = 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=codeSigning\n';
  /** a root CA and a leaf it issues (EC P-256); returns the leaf+root chain file */
  const chain = (name: string, extraLeafExt = '') => {
    ecKey(`${name}-root`);
    writeFileSync(f(`${name}-ca.ext`), caExt);
    openssl([
      'req',
      '-x509',
      '-new',
      '-key',
      `${name}-root.key`,
      '-subj',
      `/C=US/ST=WA/O=sigward/CN=${name} root`,
      '-days',
      '2',
      '-out',
      `${name}-root.pem`,
      '-addext',
      'basicConstraints=critical,CA:TRUE',
      '-addext',
      'keyUsage=critical,keyCertSign,cRLSign',
    ]);
    ecKey(`${name}-leaf`);
    openssl([
      'req',
      '-new',
      '-key',
      `${name}-leaf.key`,
      '-subj',
      `/C=US/ST=WA/O=sigward/CN=${name} signer`,
      '-out',
      `${name}-leaf.csr`,
    ]);
    writeFileSync(f(`${name}-leaf.ext`), leafExt + extraLeafExt);
    openssl([
      'x509',
      '-req',
      '-in',
      `${name}-leaf.csr`,
      '-CA',
      `${name}-root.pem`,
      '-CAkey',
      `${name}-root.key`,
      '-CAcreateserial',
      '-days',
      '1',
      '-extfile',
      `${name}-leaf.ext`,
      '-out',
      `${name}-leaf.pem`,
    ]);
    writeFileSync(
      f(`${name}-chain.pem`),
      readFileSync(f(`${name}-leaf.pem`), 'utf8') + readFileSync(f(`${name}-root.pem`), 'utf8'),
    );
    return f(`${name}-chain.pem`);
  };

  t.test('notation-signed images: sigward decides as notation verify', async (t) => {
    const reg = await withRegistry(t);
    const store = new RegistryClient();
    t.teardown(() => store.close());

    // RSA-2048 self-signed test certificate (trust store ca:rsa), an EC chain (ca:ec, its root)
    t.equal((await notation(['cert', 'generate-test', 'rsa'])).code, 0, 'notation cert generate-test');
    const rsaCert = join(config, 'truststore/x509/ca/rsa/rsa.crt');
    const ecChain = chain('ec');
    addSigningKey(config, 'ec', f('ec-leaf.key'), ecChain);
    addTrustStoreCert(config, 'ca', 'ec', 'root.pem', readFileSync(f('ec-root.pem'), 'utf8'));
    // a chain whose leaf names a CRL distribution point (revocation cannot be checked offline)
    const crlChain = chain('crl', 'crlDistributionPoints=URI:http://127.0.0.1:9/crl.der\n');
    addSigningKey(config, 'crl', f('crl-leaf.key'), crlChain);
    addTrustStoreCert(config, 'ca', 'crl', 'root.pem', readFileSync(f('crl-root.pem'), 'utf8'));
    // an untrusted signer
    const otherChain = chain('other');

    let n = 0;
    const image = async (opts: Parameters<typeof pushImageDetailed>[2] = {}) => {
      const p = await pushImageDetailed(store, reg.ref('notary/app'), { tag: `t${n++}`, ...opts });
      return { ...p, ref: `${reg.host}/notary/app@${p.digest}` };
    };
    const sign = async (ref: string, key: string, format: 'jws' | 'cose', extra: string[] = []) => {
      const r = await notation(['sign', '--insecure-registry', '-k', key, '--signature-format', format, ...extra, ref]);
      t.equal(r.code, 0, `notation sign -k ${key} ${format} ${extra.join(' ')}: ${r.stderr.trim()}`);
    };
    /** notation verify and sigward verify --notary --trust-policy with the same trust policy and trust store */
    const both = async (
      ref: string,
      stores: string[],
      level = 'strict',
      override?: Record<string, string>,
      identities?: string[],
    ) => {
      writeTrustPolicy(config, stores, level, override, identities);
      const n = await notation(['verify', '--insecure-registry', ref]);
      const s = await runSigward([
        'verify',
        '--notary',
        '--trust-policy',
        join(config, 'trustpolicy.json'),
        '-o',
        'json',
        ref,
      ]);
      const out = s.stdout ? JSON.parse(s.stdout) : {};
      return { n, s, out, image: out.images?.[0] };
    };
    const agree = async (
      what: string,
      ref: string,
      stores: string[],
      expect: 'allow' | 'deny',
      reason?: RegExp,
      level?: string,
      override?: Record<string, string>,
      identities?: string[],
    ) => {
      const r = await both(ref, stores, level, override, identities);
      t.equal(
        r.n.code === 0,
        expect === 'allow',
        `${what}: notation ${expect === 'allow' ? 'verifies' : 'denies'} (${
          (r.n.stderr || r.n.stdout).trim().split('\n').pop()
        })`,
      );
      t.equal(
        r.s.code,
        expect === 'allow' ? 0 : 1,
        `${what}: sigward ${expect === 'allow' ? 'verifies' : 'denies'} as notation does (${
          r.image?.error?.message ?? r.s.stderr.trim()
        })`,
      );
      if (reason) t.match(r.image?.error?.message ?? r.s.stderr, reason, `${what}: sigward's reason`);
      return r;
    };

    const jwsRsa = await image();
    await sign(jwsRsa.ref, 'rsa', 'jws');
    const coseRsa = await image();
    await sign(coseRsa.ref, 'rsa', 'cose');
    const jwsEc = await image();
    await sign(jwsEc.ref, 'ec', 'jws');
    const coseEc = await image();
    await sign(coseEc.ref, 'ec', 'cose');

    await t.test('JWS and COSE, RSA and EC chains', async (t) => {
      for (
        const [what, img, stores] of [['JWS RSA', jwsRsa, ['ca:rsa']], ['COSE RSA', coseRsa, ['ca:rsa']], [
          'JWS EC chain',
          jwsEc,
          ['ca:ec'],
        ], ['COSE EC chain', coseEc, ['ca:ec']]] as const
      ) {
        const r = await agree(what, img.ref, [...stores], 'allow');
        t.equal(r.image?.notary?.artifact?.digest, img.digest, `${what}: the signed descriptor is the image's`);
      }
      const c = await runSigward(['verify', '--notary', '--certificate', rsaCert, coseRsa.ref]);
      t.equal(c.code, 0, `--certificate (Kyverno's trust store form) verifies too: ${c.stdout.trim()}`);
      t.match(c.stdout, /COSE PS256/);
      const ec = await runSigward(['verify', '--notary', '--certificate', f('ec-root.pem'), jwsEc.ref]);
      t.match(
        ec.stdout,
        /JWS ES256, signed .* by "C=US, ST=WA, O=sigward, CN=ec signer"/,
        'the EC signature is ES256 by the leaf',
      );
    });

    await t.test('unsigned image and another CA', async (t) => {
      const unsigned = await image();
      await agree('unsigned', unsigned.ref, ['ca:rsa'], 'deny', /no signature is associated with/);
      await agree(
        'signed by a CA not in the trust store',
        jwsRsa.ref,
        ['ca:ec'],
        'deny',
        /does not hold any trusted certificate/,
      );
      const wrong = await runSigward(['verify', '--notary', '--certificate', f('other-root.pem'), coseEc.ref]);
      t.equal(wrong.code, 1, '--certificate with an unrelated root: denied');
    });

    await t.test('trust policy: trusted identities, a pinned leaf, level audit', async (t) => {
      await agree('the signer is a trusted identity', jwsEc.ref, ['ca:ec'], 'allow', undefined, 'strict', undefined, [
        'x509.subject: C=US, ST=WA, O=sigward, CN=ec signer',
      ]);
      await agree(
        'the signer is not a trusted identity',
        jwsEc.ref,
        ['ca:ec'],
        'deny',
        /is not one of the trusted identities/,
        'strict',
        undefined,
        ['x509.subject: C=US, ST=WA, O=sigward, CN=someone else'],
      );
      addTrustStoreCert(config, 'ca', 'ecleaf', 'leaf.pem', readFileSync(f('ec-leaf.pem'), 'utf8'));
      // notation refuses a trust store certificate that is neither a CA nor self-signed; so does sigward with
      // notation's files (a usage error); Kyverno's in-memory trust store takes it, and so does --certificate
      const pinned = await both(coseEc.ref, ['ca:ecleaf']);
      t.not(
        pinned.n.code,
        0,
        `notation refuses a pinned leaf in its trust store: ${pinned.n.stderr.trim().split('\n').pop()}`,
      );
      t.equal(pinned.s.code, 2, 'sigward refuses that trust store as a usage error');
      t.match(
        pinned.image?.error?.message ?? pinned.out.error?.message ?? pinned.s.stderr,
        /is not a CA certificate or a self-signed signing certificate/,
      );
      const kyverno = await runSigward(['verify', '--notary', '--certificate', f('ec-leaf.pem'), coseEc.ref]);
      t.equal(kyverno.code, 0, "--certificate with the signing certificate: verified, as Kyverno's trust store does");
      await agree('level audit: an untrusted CA is only logged', jwsRsa.ref, ['ca:ec'], 'allow', undefined, 'audit');
      const tampered = await image();
      await forgeNotarySignature({
        store,
        repository: reg.ref('notary/app'),
        subject: tampered.descriptor,
        format: 'jws',
        keyPem: readFileSync(f('ec-leaf.key'), 'utf8'),
        chainPem: readFileSync(ecChain, 'utf8'),
        tamperSignature: true,
      });
      await agree(
        'level audit: integrity is still enforced',
        tampered.ref,
        ['ca:ec'],
        'deny',
        /integrity check failed/,
        'audit',
      );
    });

    await t.test('a bad signature before a good one: the first valid one wins', async (t) => {
      const img = await image();
      await forgeNotarySignature({
        store,
        repository: reg.ref('notary/app'),
        subject: img.descriptor,
        format: 'jws',
        keyPem: readFileSync(f('other-leaf.key'), 'utf8'),
        chainPem: readFileSync(otherChain, 'utf8'),
      });
      await sign(img.ref, 'ec', 'cose');
      const r = await agree('untrusted signature first, then a notation signature', img.ref, ['ca:ec'], 'allow');
      t.equal(r.image?.notary?.rejected?.length, 1, 'the untrusted signature was tried and rejected first');
    });

    await t.test('at most 10 signatures are tried (Kyverno sets notation MaxSignatureAttempts to 10)', async (t) => {
      const img = await image();
      for (let i = 0; i < 10; i++) {
        await forgeNotarySignature({
          store,
          repository: reg.ref('notary/app'),
          subject: img.descriptor,
          format: i % 2 ? 'cose' : 'jws',
          keyPem: readFileSync(f('other-leaf.key'), 'utf8'),
          chainPem: readFileSync(otherChain, 'utf8'),
        });
      }
      await sign(img.ref, 'ec', 'jws');
      writeTrustPolicy(config, ['ca:ec']);
      const n10 = await notation(['verify', '--insecure-registry', '--max-signatures', '10', img.ref]);
      const n11 = await notation(['verify', '--insecure-registry', '--max-signatures', '11', img.ref]);
      const s = await runSigward(['verify', '--notary', '--trust-policy', join(config, 'trustpolicy.json'), img.ref]);
      t.not(
        n10.code,
        0,
        `notation --max-signatures 10 stops before the 11th, valid, signature: ${n10.stderr.trim().split('\n').pop()}`,
      );
      t.equal(n11.code, 0, 'notation --max-signatures 11 reaches it');
      t.equal(s.code, 1, 'sigward stops after 10, as Kyverno does');
      t.match(s.stdout, /the limit of 10 signatures to verify per artifact was exceeded \(11 signatures\)/);
    });

    await t.test('forged envelopes: a faithful forgery verifies, each tampering is denied', async (t) => {
      const key = readFileSync(f('ec-leaf.key'), 'utf8');
      for (const format of ['jws', 'cose'] as const) {
        const forge = async (o: Partial<Parameters<typeof forgeNotarySignature>[0]> = {}) => {
          const img = await image();
          await forgeNotarySignature({
            store,
            repository: reg.ref('notary/app'),
            subject: img.descriptor,
            format,
            keyPem: key,
            chainPem: readFileSync(ecChain, 'utf8'),
            ...o,
          });
          return img;
        };
        await agree(`${format}: faithful forgery (control)`, (await forge()).ref, ['ca:ec'], 'allow');
        await agree(
          `${format}: signature bytes tampered`,
          (await forge({ tamperSignature: true })).ref,
          ['ca:ec'],
          'deny',
          /integrity check failed|not valid/,
        );
        await agree(
          `${format}: payload replaced after signing`,
          (await forge({ tamperPayload: true })).ref,
          ['ca:ec'],
          'deny',
          /integrity check failed/,
        );
        // the specification: an unknown critical attribute MUST fail verification. notation 1.3.2 verifies it
        // (it hands extended critical attributes to verification plugins only); sigward follows the
        // specification (README: where sigward differs from notation)
        const crit = await both(
          (await forge({ extraProtected: { 'io.example.unknown': 'x' }, extraCritical: ['io.example.unknown'] })).ref,
          ['ca:ec'],
        );
        t.equal(crit.n.code, 0, `${format}: unknown critical header: notation 1.3.2 verifies it (a known difference)`);
        t.equal(crit.s.code, 1, `${format}: unknown critical header: sigward denies, as the specification requires`);
        t.match(crit.image?.error?.message, /unknown critical header "io.example.unknown"/);
        await agree(
          `${format}: unknown header not marked critical`,
          (await forge({ extraProtected: { 'io.example.note': 'x' } })).ref,
          ['ca:ec'],
          'allow',
        );
        await agree(
          `${format}: signing scheme not marked critical`,
          (await forge({ dropCritical: ['io.cncf.notary.signingScheme'] })).ref,
          ['ca:ec'],
          'deny',
          /crit/,
        );
        await agree(
          `${format}: critical header that is absent`,
          (await forge({ extraCritical: ['io.cncf.notary.expiry'] })).ref,
          ['ca:ec'],
          'deny',
          /marked critical but is not present/,
        );
        const other = await image();
        await agree(
          `${format}: payload signs another image`,
          (await forge({ target: other.descriptor })).ref,
          ['ca:ec'],
          'deny',
          /signature is for another artifact/,
        );
        await agree(
          `${format}: alg ES384 claimed for a P-256 key (algorithm substitution)`,
          (await forge({ algOverride: { jws: 'ES384', cose: -35, hash: 'sha384' } })).ref,
          ['ca:ec'],
          'deny',
          /does not match the signing key \(ES256\)/,
        );
        for (
          const [what, ext, reason] of [
            [
              'a signing certificate with extended key usage serverAuth',
              'keyUsage=critical,digitalSignature\nextendedKeyUsage=codeSigning,serverAuth\n',
              /must not contain serverAuth/,
            ],
            [
              'a signing certificate whose keyUsage is not critical',
              'keyUsage=digitalSignature\nextendedKeyUsage=codeSigning\n',
              /keyUsage extension, marked critical/,
            ],
            [
              'a signing certificate with keyUsage keyEncipherment',
              'keyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=codeSigning\n',
              /must not have keyUsage keyEncipherment/,
            ],
            [
              'a signing certificate without code signing',
              'keyUsage=critical,digitalSignature\nextendedKeyUsage=emailProtection\n',
              /must not contain emailProtection|must contain code signing/,
            ],
          ] as const
        ) {
          const name = `bad-${format}-${reason.source.length}`;
          ecKey(name);
          openssl(['req', '-new', '-key', `${name}.key`, '-subj', `/CN=${name}`, '-out', `${name}.csr`]);
          writeFileSync(f(`${name}.ext`), ext);
          openssl([
            'x509',
            '-req',
            '-in',
            `${name}.csr`,
            '-CA',
            'ec-root.pem',
            '-CAkey',
            'ec-root.key',
            '-CAcreateserial',
            '-days',
            '1',
            '-extfile',
            `${name}.ext`,
            '-out',
            `${name}.pem`,
          ]);
          const bad = await forge({
            keyPem: readFileSync(f(`${name}.key`), 'utf8'),
            chainPem: readFileSync(f(`${name}.pem`), 'utf8') + readFileSync(f('ec-root.pem'), 'utf8'),
          });
          await agree(`${format}: ${what}`, bad.ref, ['ca:ec'], 'deny', reason);
        }
        const leafPem = readFileSync(f('ec-leaf.pem'), 'utf8');
        const rootPem = readFileSync(f('ec-root.pem'), 'utf8');
        await agree(
          `${format}: the chain lacks its root`,
          (await forge({ chainPem: leafPem })).ref,
          ['ca:ec'],
          'deny',
          /does not end with a self-signed root/,
        );
        await agree(
          `${format}: the chain is out of order`,
          (await forge({ chainPem: rootPem + leafPem })).ref,
          ['ca:ec'],
          'deny',
          /signature algorithm|not ordered|self-signed root|not valid/,
        );
        await agree(
          `${format}: an unrelated certificate in the chain`,
          (await forge({ chainPem: leafPem + readFileSync(f('other-root.pem'), 'utf8') + rootPem })).ref,
          ['ca:ec'],
          'deny',
          /not ordered leaf to root, or holds an unrelated certificate/,
        );
      }
    });

    await t.test('a notation signature replayed onto another image', async (t) => {
      const target = await image();
      const idx = await store.referrers(reg.ref('notary/app'), jwsRsa.digest, {
        artifactType: 'application/vnd.cncf.notary.signature',
      });
      const sigManifest = await store.getManifest(reg.ref('notary/app'), idx[0]!.digest);
      const layer = (sigManifest.manifest as { layers: Descriptor[] }).layers[0]!;
      const envelope = await store.getBlob(reg.ref('notary/app'), layer.digest);
      await pushNotarySignature(store, reg.ref('notary/app'), target.descriptor, {
        bytes: envelope,
        mediaType: layer.mediaType,
      });
      await agree(
        'JWS of another image as a referrer of this one',
        target.ref,
        ['ca:rsa'],
        'deny',
        /signature is for another artifact/,
      );
    });

    await t.test('expiry: an expired signature and an expired certificate', async (t) => {
      const img = await image();
      await sign(img.ref, 'ec', 'jws', ['--expiry', '2s']);
      await new Promise((r) => setTimeout(r, 3000));
      await agree('signature past its expiry', img.ref, ['ca:ec'], 'deny', /digital signature has expired/);
      await agree('expired signature under override expiry: log', img.ref, ['ca:ec'], 'allow', undefined, 'strict', {
        expiry: 'log',
      });

      // a leaf that expired in 2020, signature made while it was valid (notation refuses to sign with it)
      writeFileSync(
        f('ca.cnf'),
        `[ca]\ndefault_ca=x\n[x]\ndir=${tmp}\ndatabase=${f('index.txt')}\nnew_certs_dir=${tmp}\nserial=${
          f('serial')
        }\npolicy=p\ndefault_md=sha256\nunique_subject=no\n[p]\ncommonName=supplied\n`,
      );
      writeFileSync(f('index.txt'), '');
      writeFileSync(f('serial'), '1000\n');
      // a root valid 2019-2030 (so only the leaf's expiry matters)
      ecKey('old-root');
      openssl(['req', '-new', '-key', 'old-root.key', '-subj', '/CN=old root', '-out', 'old-root.csr']);
      openssl([
        'ca',
        '-batch',
        '-selfsign',
        '-config',
        'ca.cnf',
        '-keyfile',
        'old-root.key',
        '-in',
        'old-root.csr',
        '-out',
        'old-root.pem',
        '-notext',
        '-startdate',
        '20190101000000Z',
        '-enddate',
        '20300101000000Z',
        '-extfile',
        'ec-ca.ext',
      ]);
      addTrustStoreCert(config, 'ca', 'old', 'root.pem', readFileSync(f('old-root.pem'), 'utf8'));
      ecKey('old-leaf');
      openssl(['req', '-new', '-key', 'old-leaf.key', '-subj', '/CN=expired signer', '-out', 'old-leaf.csr']);
      openssl([
        'ca',
        '-batch',
        '-config',
        'ca.cnf',
        '-cert',
        'old-root.pem',
        '-keyfile',
        'old-root.key',
        '-in',
        'old-leaf.csr',
        '-out',
        'old-leaf.pem',
        '-notext',
        '-startdate',
        '20200101000000Z',
        '-enddate',
        '20200102000000Z',
        '-extfile',
        'ec-leaf.ext',
      ]);
      const oldChain = readFileSync(f('old-leaf.pem'), 'utf8') + readFileSync(f('old-root.pem'), 'utf8');
      const old = await image();
      await forgeNotarySignature({
        store,
        repository: reg.ref('notary/app'),
        subject: old.descriptor,
        format: 'cose',
        keyPem: readFileSync(f('old-leaf.key'), 'utf8'),
        chainPem: oldChain,
        signingTime: new Date('2020-01-01T12:00:00Z'),
      });
      await agree(
        'certificate expired since the signature was made (signing time within its validity)',
        old.ref,
        ['ca:old'],
        'deny',
        /"CN=expired signer" is not valid at 20[2-9]/,
      );
      const late = await image();
      await forgeNotarySignature({
        store,
        repository: reg.ref('notary/app'),
        subject: late.descriptor,
        format: 'jws',
        keyPem: readFileSync(f('old-leaf.key'), 'utf8'),
        chainPem: oldChain,
      });
      await agree(
        'signing time after the certificate expired',
        late.ref,
        ['ca:old'],
        'deny',
        /signing certificate is not valid at/,
      );
    });

    await t.test('RFC 3161 timestamps (notation sign --timestamp-url) against the tsa trust store', async (t) => {
      const tsa = await startTestTsa(tmp, 'one');
      const otherTsa = await startTestTsa(tmp, 'two');
      t.teardown(() => Promise.all([tsa.stop(), otherTsa.stop()]));
      writeFileSync(f('tsa-one.pem'), tsa.rootPem);
      addTrustStoreCert(config, 'tsa', 'one', 'root.pem', tsa.rootPem);
      addTrustStoreCert(config, 'tsa', 'two', 'root.pem', otherTsa.rootPem);
      const stamped = await image();
      await sign(stamped.ref, 'ec', 'cose', ['--timestamp-url', tsa.url, '--timestamp-root-cert', f('tsa-one.pem')]);
      const ok = await agree('timestamped, TSA trusted', stamped.ref, ['ca:ec', 'tsa:one'], 'allow');
      t.match(ok.image?.notary?.timestamp?.tsa, /CN=one TSA/, 'sigward used the countersignature');
      await agree(
        'timestamped by a TSA not in the tsa trust store',
        stamped.ref,
        ['ca:ec', 'tsa:two'],
        'deny',
        /TSA certificate .*no path to a trusted root/,
      );
      for (const format of ['jws', 'cose'] as const) {
        const forged = await image();
        await forgeNotarySignature({
          store,
          repository: reg.ref('notary/app'),
          subject: forged.descriptor,
          format,
          keyPem: readFileSync(f('ec-leaf.key'), 'utf8'),
          chainPem: readFileSync(ecChain, 'utf8'),
          timestamp: (sig) => tsa.stamp(sig),
        });
        await agree(`${format}: forged signature, timestamped over its signature (control)`, forged.ref, [
          'ca:ec',
          'tsa:one',
        ], 'allow');
        const moved = await image();
        await forgeNotarySignature({
          store,
          repository: reg.ref('notary/app'),
          subject: moved.descriptor,
          format,
          keyPem: readFileSync(f('ec-leaf.key'), 'utf8'),
          chainPem: readFileSync(ecChain, 'utf8'),
          timestamp: () => tsa.stamp(new TextEncoder().encode('another signature')),
        });
        await agree(
          `${format}: a countersignature over another signature`,
          moved.ref,
          ['ca:ec', 'tsa:one'],
          'deny',
          /does not cover this signature/,
        );
      }
      const none = await agree('timestamped, no tsa trust store (chain checked now)', stamped.ref, ['ca:ec'], 'allow');
      t.match(none.s.stderr, /no TSA certificates are trusted/, 'sigward warns that the countersignature was not used');

      // a leaf valid for a few seconds: signed and timestamped while valid, verified after it expired
      const stamp = (d: Date) => d.toISOString().replace(/[-:T]/g, '').replace(/\.\d{3}/, '');
      writeFileSync(
        f('short.cnf'),
        `[ca]\ndefault_ca=x\n[x]\ndir=${tmp}\ndatabase=${f('short-index.txt')}\nnew_certs_dir=${tmp}\nserial=${
          f('short-serial')
        }\npolicy=p\ndefault_md=sha256\nunique_subject=no\n[p]\ncommonName=supplied\n`,
      );
      writeFileSync(f('short-index.txt'), '');
      writeFileSync(f('short-serial'), '2000\n');
      ecKey('short-leaf');
      openssl(['req', '-new', '-key', 'short-leaf.key', '-subj', '/CN=short-lived signer', '-out', 'short-leaf.csr']);
      const until = new Date(Date.now() + 6000);
      openssl([
        'ca',
        '-batch',
        '-config',
        'short.cnf',
        '-cert',
        'ec-root.pem',
        '-keyfile',
        'ec-root.key',
        '-in',
        'short-leaf.csr',
        '-out',
        'short-leaf.pem',
        '-notext',
        '-startdate',
        stamp(new Date(Date.now() - 60_000)),
        '-enddate',
        stamp(until),
        '-extfile',
        'ec-leaf.ext',
      ]);
      writeFileSync(
        f('short-chain.pem'),
        readFileSync(f('short-leaf.pem'), 'utf8') + readFileSync(f('ec-root.pem'), 'utf8'),
      );
      addSigningKey(config, 'short', f('short-leaf.key'), f('short-chain.pem'));
      const late = await image();
      await sign(late.ref, 'short', 'jws', ['--timestamp-url', tsa.url, '--timestamp-root-cert', f('tsa-one.pem')]);
      await new Promise((r) => setTimeout(r, Math.max(0, until.getTime() - Date.now()) + 1500));
      await agree('certificate expired after a timestamped signature: the timestamp proves it was valid', late.ref, [
        'ca:ec',
        'tsa:one',
      ], 'allow');
      await agree(
        'the same without a tsa trust store',
        late.ref,
        ['ca:ec'],
        'deny',
        /"CN=short-lived signer" is not valid at/,
      );
    });

    await t.test('multi-arch: the index is signed, not its platform images', async (t) => {
      const amd = await image({ tag: false, platform: { os: 'linux', architecture: 'amd64' } });
      const arm = await image({ tag: false, platform: { os: 'linux', architecture: 'arm64' } });
      const idx = await pushIndex(store, reg.ref('notary/app'), [{
        descriptor: amd.descriptor,
        platform: { os: 'linux', architecture: 'amd64' },
      }, { descriptor: arm.descriptor, platform: { os: 'linux', architecture: 'arm64' } }], { tag: 'multi' });
      const ref = `${reg.host}/notary/app@${idx.digest}`;
      await sign(ref, 'rsa', 'cose');
      await agree('signed index', ref, ['ca:rsa'], 'allow');
      await agree('its unsigned platform image', amd.ref, ['ca:rsa'], 'deny', /no signature is associated/);
      const tag = await runSigward(['verify', '--notary', '--certificate', rsaCert, `${reg.host}/notary/app:multi`]);
      t.match(
        tag.stdout,
        new RegExp(`verified ${idx.digest}`),
        'a tag resolves to the index digest, which is verified',
      );
    });

    await t.test('revocation endpoints: cannot be checked offline', async (t) => {
      const img = await image();
      await sign(img.ref, 'crl', 'jws');
      await agree(
        'strict: a CRL that cannot be fetched',
        img.ref,
        ['ca:crl'],
        'deny',
        /revocation status cannot be determined offline/,
      );
      const r = await agree(
        'permissive: revocation only logged',
        img.ref,
        ['ca:crl'],
        'allow',
        undefined,
        'permissive',
      );
      t.match(
        r.s.stderr,
        /WARNING: .*revocation \(logged, not enforced\)/,
        'sigward warns that revocation was not checked',
      );
      await agree('override revocation: skip', img.ref, ['ca:crl'], 'allow', undefined, 'strict', {
        revocation: 'skip',
      });
    });

    await t.test('payload annotations (notation --user-metadata)', async (t) => {
      const img = await image();
      await sign(img.ref, 'ec', 'jws', ['-m', 'build=42']);
      writeTrustPolicy(config, ['ca:ec']);
      const nOk = await notation(['verify', '--insecure-registry', '-m', 'build=42', img.ref]);
      const nBad = await notation(['verify', '--insecure-registry', '-m', 'build=43', img.ref]);
      const sOk = await runSigward([
        'verify',
        '--notary',
        '--trust-policy',
        join(config, 'trustpolicy.json'),
        '-a',
        'build=42',
        img.ref,
      ]);
      const sBad = await runSigward([
        'verify',
        '--notary',
        '--trust-policy',
        join(config, 'trustpolicy.json'),
        '-a',
        'build=43',
        img.ref,
      ]);
      t.equal(nOk.code, 0, 'notation: matching metadata');
      t.equal(sOk.code, 0, 'sigward: matching annotation');
      t.not(nBad.code, 0, 'notation: other metadata denied');
      t.equal(sBad.code, 1, `sigward: other annotation denied: ${sBad.stdout.trim()}`);
    });

    await t.test('usage errors print no verdict', async (t) => {
      const none = await runSigward(['verify', '--notary', jwsRsa.ref]);
      t.equal(none.code, 2);
      t.equal(none.stdout, '');
      t.match(none.stderr, /--notary needs trust/);
      const cosignFlag = await runSigward([
        'verify',
        '--notary',
        '--certificate',
        rsaCert,
        '--certificate-identity',
        'x',
        jwsRsa.ref,
      ]);
      t.equal(cosignFlag.code, 2);
      t.match(cosignFlag.stderr, /--certificate-identity is a cosign flag/);
      const noNotary = await runSigward(['verify', '--trust-policy', join(config, 'trustpolicy.json'), jwsRsa.ref]);
      t.equal(noNotary.code, 2);
      t.match(noNotary.stderr, /add --notary/);
    });
  });
}
