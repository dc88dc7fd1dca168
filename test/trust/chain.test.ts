import t from 'tap';
import { CI, readText } from '../helpers/fixtures.ts';
import { mintCert } from '../helpers/sigstore.ts';
import {
  parseCertificates,
  toCertificate,
  verifyCertificateChain,
  verifyCertificateWithTrust,
} from '../../lib/trust/index.ts';

const DAY = 86400_000;
const now = new Date();

t.test('private PKI fixture (containers/image pki-*)', async (t) => {
  const roots = parseCertificates(readText(`${CI}pki_root_crts.pem`));
  const intermediates = parseCertificates(readText(`${CI}pki_intermediate_crts.pem`));
  const leaf = readText(`${CI}pki-cert`);
  const path = verifyCertificateChain(leaf, { roots, intermediates, at: new Date('2025-06-01T00:00:00Z') });
  t.equal(path.length, 3, 'leaf → intermediate → root');
  t.ok(path[2].equals(roots[0]));
  t.throws(() => verifyCertificateChain(leaf, { roots, intermediates, at: new Date('2053-01-01T00:00:00Z') }), {
    code: 'CERTIFICATE_INVALID',
    message: /not valid at 2053/,
  });
  t.throws(() => verifyCertificateChain(leaf, { roots, at: now }), {
    code: 'CERTIFICATE_INVALID',
    message: /no path to a trusted root/,
  }, 'intermediate missing');
  t.throws(
    () =>
      verifyCertificateChain(leaf, {
        roots: parseCertificates(readText(`${CI}fulcio_v1.crt.pem`)),
        intermediates,
        at: now,
      }),
    {
      code: 'CERTIFICATE_INVALID',
    },
    'untrusted root',
  );
  // the intermediate may itself be the trust anchor
  t.equal(verifyCertificateChain(leaf, { roots: intermediates, at: now }).length, 2);
});

t.test('minted chains: CA constraints, pathLen, validity, signatures', async (t) => {
  const root = await mintCert({ name: 'Root', ca: true });
  const inter = await mintCert({ name: 'Inter', ca: true, issuer: root, pathLen: 0 });
  const leaf = await mintCert({ name: 'Leaf', issuer: inter, email: 'dev@example.com' });
  const roots = [toCertificate(root.der)];
  const intermediates = [toCertificate(inter.der)];
  t.equal(verifyCertificateChain(leaf.der, { roots, intermediates, at: now }).length, 3);

  // intermediate that is not a CA
  const notCA = await mintCert({ name: 'NotCA', issuer: root, ca: false, keyUsage: null, eku: null });
  const leaf2 = await mintCert({ name: 'Leaf2', issuer: notCA });
  t.throws(() => verifyCertificateChain(leaf2.der, { roots, intermediates: [toCertificate(notCA.der)], at: now }), {
    code: 'CERTIFICATE_INVALID',
    message: /not a certificate authority/,
  });

  // CA without keyCertSign
  const noSign = await mintCert({ name: 'NoSign', issuer: root, ca: true, keyUsage: 1 /* digitalSignature */ });
  const leaf3 = await mintCert({ name: 'Leaf3', issuer: noSign });
  t.throws(() => verifyCertificateChain(leaf3.der, { roots, intermediates: [toCertificate(noSign.der)], at: now }), {
    code: 'CERTIFICATE_INVALID',
    message: /keyCertSign/,
  });

  // pathLen 0 on the intermediate forbids a second intermediate below it
  const inter2 = await mintCert({ name: 'Inter2', ca: true, issuer: inter });
  const leaf4 = await mintCert({ name: 'Leaf4', issuer: inter2 });
  t.throws(
    () =>
      verifyCertificateChain(leaf4.der, {
        roots,
        intermediates: [toCertificate(inter.der), toCertificate(inter2.der)],
        at: now,
      }),
    { code: 'CERTIFICATE_INVALID', message: /path length/ },
  );

  // CA restricted to server auth cannot issue code-signing certificates
  const tlsCA = await mintCert({ name: 'TLSCA', ca: true, issuer: root, eku: ['1.3.6.1.5.5.7.3.1'] });
  const leaf5 = await mintCert({ name: 'Leaf5', issuer: tlsCA });
  t.throws(() => verifyCertificateChain(leaf5.der, { roots, intermediates: [toCertificate(tlsCA.der)], at: now }), {
    code: 'CERTIFICATE_INVALID',
    message: /code signing/,
  });
  t.doesNotThrow(() =>
    verifyCertificateChain(leaf5.der, { roots, intermediates: [toCertificate(tlsCA.der)], at: now, codeSigning: false })
  );

  // expired leaf / not yet valid
  const old = await mintCert({
    name: 'Old',
    issuer: inter,
    notBefore: new Date(now.getTime() - 3 * DAY),
    notAfter: new Date(now.getTime() - 2 * DAY),
  });
  t.throws(() => verifyCertificateChain(old.der, { roots, intermediates, at: now }), {
    message: /signing certificate is not valid at/,
  });
  t.doesNotThrow(() =>
    verifyCertificateChain(old.der, { roots, intermediates, at: new Date(now.getTime() - 2.5 * DAY) })
  );
  t.throws(
    () => verifyCertificateChain(old.der, { roots, intermediates, at: [new Date(now.getTime() - 2.5 * DAY), now] }),
    {
      code: 'CERTIFICATE_INVALID',
    },
    'every time must be covered',
  );

  // same issuer name, different key: signature does not verify
  const impostor = await mintCert({ name: 'Inter', ca: true });
  const forged = await mintCert({ name: 'Forged', issuer: impostor });
  t.throws(() => verifyCertificateChain(forged.der, { roots, intermediates, at: now }), { message: /no path/ });
});

t.test('verifyCertificateWithTrust picks a CA valid at the signing time', async (t) => {
  const root = await mintCert({ name: 'Root', ca: true });
  const leaf = await mintCert({ name: 'Leaf', issuer: root });
  const ca = (start: Date, end: Date) => ({ certChain: [toCertificate(root.der)], validFor: { start, end } });
  const past = new Date(now.getTime() - 10 * DAY);
  const r = verifyCertificateWithTrust(leaf.der, { authorities: [ca(past, new Date(now.getTime() + DAY))], at: [now] });
  t.equal(r.path.length, 2);
  t.throws(
    () => verifyCertificateWithTrust(leaf.der, { authorities: [ca(past, new Date(now.getTime() - DAY))], at: [now] }),
    {
      code: 'CERTIFICATE_INVALID',
      message: /no trusted certificate authority is valid/,
    },
  );
});
