// `--certificate` decided as the real cosign 3.1.1 decides (issue 20, 1-3):
// images signed by real cosign with an imported key and a private-CA
// certificate for it (legacy and v3 bundle formats), verified by cosign and
// by sigward with the same flags. Identity flags apply to a supplied
// certificate; without them certificate verification is a usage error; a
// bundle that carries only the public key does not verify against the
// certificate. And imported P-384 / P-521 keys (issue 20.4): cosign signs
// with SHA-384 / SHA-512 and --signature-digest-algorithm verifies it, in both
// formats.

import t from 'tap';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RegistryClient } from '../../lib/oci/registry.ts';
import { pushImage, withRegistry } from '../helpers/registry.ts';
import { runSigward } from '../helpers/cli.ts';
import { cosignRunner, createOfflineSigningConfig, withRealCosign } from '../helpers/peers.ts';

withRealCosign(main);

function main(): void {
  const tmp = mkdtempSync(join(tmpdir(), 'sigward-cert-'));
  const env = { COSIGN_PASSWORD: 'pw', HOME: tmp, PATH: process.env.PATH ?? '/usr/bin:/bin' };
  const cosign = cosignRunner(tmp, env);
  const openssl = (args: string[]) => execFileSync('openssl', args, { cwd: tmp, stdio: 'pipe' });
  const f = (name: string) => join(tmp, name);

  t.test('a private-CA certificate given with --certificate', async (t) => {
    // an EC key, imported into cosign; a root CA and a code-signing leaf for that key
    openssl(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', 'ec.pem']);
    openssl(['pkcs8', '-topk8', '-nocrypt', '-in', 'ec.pem', '-out', 'key.pem']);
    t.equal(
      (await cosign(['import-key-pair', '--key', 'key.pem', '--output-key-prefix', 'imported'])).code,
      0,
      'cosign import-key-pair',
    );
    openssl([
      'req',
      '-x509',
      '-new',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-keyout',
      'ca.key',
      '-subj',
      '/CN=sigward test CA',
      '-days',
      '2',
      '-out',
      'ca.pem',
      '-addext',
      'basicConstraints=critical,CA:TRUE',
      '-addext',
      'keyUsage=critical,keyCertSign,cRLSign',
    ]);
    openssl([
      'req',
      '-x509',
      '-new',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-keyout',
      'other-ca.key',
      '-subj',
      '/CN=another CA',
      '-days',
      '2',
      '-out',
      'other-ca.pem',
      '-addext',
      'basicConstraints=critical,CA:TRUE',
      '-addext',
      'keyUsage=critical,keyCertSign,cRLSign',
    ]);
    openssl(['req', '-new', '-key', 'key.pem', '-subj', '/CN=dev', '-out', 'leaf.csr']);
    writeFileSync(
      f('leaf.ext'),
      'subjectAltName=critical,email:dev@example.com\nextendedKeyUsage=codeSigning\nkeyUsage=critical,digitalSignature\n',
    );
    openssl([
      'x509',
      '-req',
      '-in',
      'leaf.csr',
      '-CA',
      'ca.pem',
      '-CAkey',
      'ca.key',
      '-CAcreateserial',
      '-days',
      '1',
      '-extfile',
      'leaf.ext',
      '-out',
      'leaf.pem',
    ]);

    const reg = await withRegistry(t);
    const store = new RegistryClient();
    t.teardown(() => store.close());
    t.equal(await createOfflineSigningConfig(cosign), 0, 'cosign signing-config create (offline)');
    const images: Record<string, string> = {};
    for (
      const [name, flags] of [
        ['bundle', ['--signing-config', 'sc.json']],
        ['legacy', ['--use-signing-config=false', '--tlog-upload=false', '--new-bundle-format=false']],
        ['bundle-keyonly', ['--signing-config', 'sc.json']],
      ] as const
    ) {
      const d = await pushImage(store, reg.ref(`cert/${name}`), { tag: 'v1' });
      images[name] = `${reg.host}/cert/${name}@${d}`;
      const cert = name === 'bundle-keyonly' ? [] : ['--certificate', 'leaf.pem', '--certificate-chain', 'ca.pem'];
      const s = await cosign([
        'sign',
        '--key',
        'imported.key',
        ...cert,
        ...flags,
        '--allow-insecure-registry',
        '--yes',
        images[name]!,
      ]);
      t.equal(s.code, 0, `cosign sign ${name}: ${s.stderr}`);
    }

    const base = [
      '--certificate',
      f('leaf.pem'),
      '--certificate-chain',
      f('ca.pem'),
      '--insecure-ignore-tlog',
      '--insecure-ignore-sct',
    ];
    const both = async (args: string[]) => ({
      c: await cosign(['verify', '--allow-insecure-registry', ...args]),
      s: await runSigward(['verify', ...args]),
    });
    for (const name of ['bundle', 'legacy']) {
      const img = images[name]!;
      const right = await both([
        ...base,
        '--certificate-identity',
        'dev@example.com',
        '--certificate-oidc-issuer-regexp',
        '.*',
        img,
      ]);
      if (name === 'bundle') {
        // cosign 3.1.1 refuses --certificate for v3 bundles (the certificate must come from the bundle);
        // sigward verifies it, only when the bundle carries that very certificate (README: differs from cosign)
        t.not(
          right.c.code,
          0,
          `cosign refuses --certificate with a v3 bundle ("certificate must be in bundle"): ${
            right.c.stderr.trim().split('\n').pop()
          }`,
        );
        t.equal(right.s.code, 0, `sigward verifies the bundle that carries this certificate: ${right.s.stderr}`);
        const chainOnly = await both([
          '--certificate-chain',
          f('ca.pem'),
          '--insecure-ignore-tlog',
          '--insecure-ignore-sct',
          '--certificate-identity',
          'dev@example.com',
          '--certificate-oidc-issuer-regexp',
          '.*',
          img,
        ]);
        // cosign 3.1.1 refuses --certificate-chain for v3 bundles (it takes the CA through --trusted-root);
        // sigward takes the chain as that trust root: same chain, identity and current-time checks (README)
        t.not(
          chainOnly.c.code,
          0,
          `cosign refuses --certificate-chain with a v3 bundle: ${chainOnly.c.stderr.trim().split('\n').pop()}`,
        );
        t.equal(
          chainOnly.s.code,
          0,
          `sigward verifies it against the chain, at the current time: ${chainOnly.s.stdout.slice(0, 200)}`,
        );
        const chainWrong = await runSigward([
          'verify',
          '--certificate-chain',
          f('ca.pem'),
          '--insecure-ignore-tlog',
          '--insecure-ignore-sct',
          '--certificate-identity',
          'mallory@example.com',
          '--certificate-oidc-issuer-regexp',
          '.*',
          img,
        ]);
        t.equal(chainWrong.code, 1, 'the chain path still checks the identity');
        const otherCa = await runSigward([
          'verify',
          '--certificate-chain',
          f('other-ca.pem'),
          '--insecure-ignore-tlog',
          '--insecure-ignore-sct',
          '--certificate-identity',
          'dev@example.com',
          '--certificate-oidc-issuer-regexp',
          '.*',
          img,
        ]);
        t.equal(otherCa.code, 1, 'and the chain: a certificate from another CA is denied');
      } else {
        t.equal(right.c.code, 0, `${name}: cosign allows the matching identity: ${right.c.stderr}`);
        t.equal(right.s.code, 0, `${name}: sigward allows it: ${right.s.stderr}`);
      }
      const wrong = await both([
        ...base,
        '--certificate-identity',
        'mallory@example.com',
        '--certificate-oidc-issuer-regexp',
        '.*',
        img,
      ]);
      t.not(wrong.c.code, 0, `${name}: cosign denies another identity`);
      t.equal(wrong.s.code, 1, `${name}: sigward denies another identity`);
      const wrongRe = await both([
        ...base,
        '--certificate-identity-regexp',
        '^admin@',
        '--certificate-oidc-issuer-regexp',
        '.*',
        img,
      ]);
      t.not(wrongRe.c.code, 0, `${name}: cosign denies an identity regexp that does not match`);
      t.equal(wrongRe.s.code, 1, `${name}: sigward denies an identity regexp that does not match`);
      const none = await both([...base, img]);
      t.not(none.c.code, 0, `${name}: cosign refuses --certificate without identity flags`);
      t.equal(none.s.code, 2, `${name}: sigward refuses it as a usage error`);
      t.match(
        none.s.stderr,
        /--certificate-identity or --certificate-identity-regexp is required/,
        `${name}: cosign's words`,
      );
      t.equal(none.s.stdout, '', `${name}: no verdict printed for a usage error`);
    }
    const keyOnly = await both([
      ...base,
      '--certificate-identity',
      'dev@example.com',
      '--certificate-oidc-issuer-regexp',
      '.*',
      images['bundle-keyonly']!,
    ]);
    t.not(keyOnly.c.code, 0, 'cosign denies a key-only bundle against the certificate');
    t.equal(keyOnly.s.code, 1, 'sigward denies a key-only bundle against the certificate');
  });

  t.test('imported P-384 and P-521 keys with --signature-digest-algorithm', async (t) => {
    const reg = await withRegistry(t);
    const store = new RegistryClient();
    t.teardown(() => store.close());
    for (const [curve, hash] of [['secp384r1', 'sha384'], ['secp521r1', 'sha512']] as const) {
      openssl(['ecparam', '-name', curve, '-genkey', '-noout', '-out', `${curve}.ec`]);
      openssl(['pkcs8', '-topk8', '-nocrypt', '-in', `${curve}.ec`, '-out', `${curve}.pem`]);
      t.equal(
        (await cosign(['import-key-pair', '--key', `${curve}.pem`, '--output-key-prefix', curve])).code,
        0,
        `import ${curve}`,
      );
      for (
        const [fmt, flags] of [
          ['bundle', ['--signing-config', 'sc.json']],
          ['legacy', ['--use-signing-config=false', '--tlog-upload=false', '--new-bundle-format=false']],
        ] as const
      ) {
        const d = await pushImage(store, reg.ref(`alg/${curve}-${fmt}`), { tag: 'v1' });
        const img = `${reg.host}/alg/${curve}-${fmt}@${d}`;
        const s = await cosign(['sign', '--key', `${curve}.key`, ...flags, '--allow-insecure-registry', '--yes', img]);
        t.equal(s.code, 0, `cosign sign ${curve} ${fmt}: ${s.stderr}`);
        const args = ['--key', f(`${curve}.pub`), '--insecure-ignore-tlog', '--signature-digest-algorithm', hash, img];
        const c = await cosign(['verify', '--allow-insecure-registry', ...args]);
        const sw = await runSigward(['verify', ...args]);
        t.equal(
          sw.code === 0,
          c.code === 0,
          `${curve} ${fmt} --signature-digest-algorithm ${hash}: decided as cosign (cosign ${c.code}, sigward ${sw.code}: ${
            sw.stdout.trim().slice(0, 300)
          })`,
        );
        const wrong = await runSigward([
          'verify',
          '--key',
          f('imported.pub'),
          '--insecure-ignore-tlog',
          '--signature-digest-algorithm',
          hash,
          img,
        ]);
        t.equal(wrong.code, 1, `${curve} ${fmt}: another key is denied`);
      }
    }
  });
}
