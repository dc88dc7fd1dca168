import t from 'tap';
import { generateKeyPairSync } from 'node:crypto';
import { parsePublicKey, parsePublicKeys, verifySignatureBytes } from '../../lib/cosign/keys.ts';
import { decryptCosignPrivateKey, encryptCosignPrivateKey, publicKeyPem } from '../../lib/cosign/privatekey.ts';
import { type KeyKind, makeKey, signBytes } from '../helpers/cosign.ts';
import { mustReadVector, parseContainersImageSignature } from '../helpers/fixtures.ts';

t.test('every key type cosign uses verifies its own signature and rejects tampering', async (t) => {
  for (const kind of ['ecdsa-p256', 'ecdsa-p384', 'ecdsa-p521', 'rsa', 'ed25519'] as KeyKind[]) {
    const k = makeKey(kind);
    const info = parsePublicKey(k.publicPem);
    t.equal(info.type, kind, `${kind} detected`);
    const data = Buffer.from('{"critical":{}}');
    const sig = signBytes(k, data);
    t.ok(verifySignatureBytes(info.key, data, sig), `${kind} verifies`);
    t.notOk(verifySignatureBytes(info.key, Buffer.from('{"critical":{} }'), sig), `${kind} rejects other bytes`);
    t.notOk(
      verifySignatureBytes(parsePublicKey(makeKey(kind).publicPem).key, data, sig),
      `${kind} rejects another key`,
    );
  }
});

t.test('PKCS#1 RSA public keys and certificates are accepted, private keys refused', async (t) => {
  const { publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const pkcs1 = publicKey.export({ type: 'pkcs1', format: 'pem' }).toString();
  t.match(pkcs1, /BEGIN RSA PUBLIC KEY/);
  t.equal(parsePublicKey(pkcs1).type, 'rsa');
  const cert = mustReadVector('cosign-legacy/containers-image/fulcio_v1.crt.pem').toString();
  t.equal(parsePublicKey(cert).type, 'ecdsa-p384');
  const rsa = mustReadVector('cosign-legacy/containers-image/some-rsa-key.pub').toString();
  t.equal(parsePublicKey(rsa).type, 'rsa');
  const priv = makeKey().privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  t.throws(() => parsePublicKeys(priv), { code: 'KEY_INVALID', message: /private key/ });
  t.throws(() => parsePublicKeys('hello'), { code: 'KEY_INVALID', message: /no PEM public key/ });
  t.throws(() => parsePublicKeys('-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----'), {
    code: 'KEY_INVALID',
  });
});

t.test('a multi-key PEM yields one key per block', async (t) => {
  const text = ['alice', 'bob', 'charlie'].map((n) => mustReadVector(`cosign-legacy/connaisseur/${n}.key`).toString())
    .join('\n');
  const keys = parsePublicKeys(text);
  t.equal(keys.length, 3);
  t.equal(new Set(keys.map((k) => k.id)).size, 3, 'distinct key ids');
});

t.test('cosign encrypted private key files round-trip and reject a wrong password', async (t) => {
  const k = makeKey('ecdsa-p256');
  const pem = encryptCosignPrivateKey(k.privateKey, 'hunter2', 32768);
  t.match(pem, /^-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----/);
  const body = JSON.parse(Buffer.from(pem.split('\n').slice(1, -2).join(''), 'base64').toString());
  t.same(body.kdf.params, { N: 32768, r: 8, p: 1 });
  t.equal(body.cipher.name, 'nacl/secretbox');
  const back = decryptCosignPrivateKey(pem, 'hunter2');
  t.equal(publicKeyPem(back), k.publicPem);
  t.throws(() => decryptCosignPrivateKey(pem, 'wrong'), { code: 'KEY_INVALID', message: /wrong password/ });
});

t.test('real cosign signatures from containers/image verify with cosign.pub over the exact payload', async (t) => {
  const key = parsePublicKey(mustReadVector('cosign-legacy/containers-image/cosign.pub').toString());
  const other = parsePublicKey(mustReadVector('cosign-legacy/containers-image/cosign2.pub').toString());
  for (const dir of ['dir-img-cosign-valid', 'dir-img-cosign-valid-with-tag']) {
    const s = parseContainersImageSignature(mustReadVector(`cosign-legacy/containers-image/${dir}/signature-1`));
    const sig = Buffer.from(s.annotations['dev.cosignproject.cosign/signature']!, 'base64');
    t.ok(verifySignatureBytes(key.key, s.payload, sig), `${dir} verifies`);
    t.notOk(verifySignatureBytes(other.key, s.payload, sig), `${dir} fails with cosign2.pub`);
    const reserialised = Buffer.from(JSON.stringify(JSON.parse(s.payload.toString()), null, 1));
    t.notOk(verifySignatureBytes(key.key, reserialised, sig), `${dir} fails once the payload is re-serialised`);
  }
});
