// cosign's encrypted private key files (`cosign generate-key-pair`):
// PEM `ENCRYPTED SIGSTORE PRIVATE KEY` (cosign >= 2.0.1) or `ENCRYPTED COSIGN
// PRIVATE KEY` (older), body = go-securesystemslib "encrypted" JSON:
// scrypt(N, r=8, p=1) -> 32-byte key, NaCl secretbox (XSalsa20-Poly1305),
// plaintext = PKCS#8 DER. sigward never signs images in production; this is
// for the test setup and fixture tools, which sign with real cosign key files.

import { createPrivateKey, createPublicKey, type KeyObject, randomBytes, scryptSync } from 'node:crypto';
import { xsalsa20poly1305 } from '@noble/ciphers/salsa.js';
import { SigwardError } from '../errors.ts';

const ACCEPTED_N = new Set([32768, 65536, 131072]);

interface EncryptedKeyJSON {
  kdf: { name: string; params: { N: number; r: number; p: number }; salt: string };
  cipher: { name: string; nonce: string };
  ciphertext: string;
}

function pemBody(pem: string): { label: string; der: Buffer } {
  const m = /-----BEGIN ([A-Z ]+)-----([\s\S]*?)-----END \1-----/.exec(pem);
  if (!m) throw new SigwardError('KEY_INVALID', 'not a PEM private key file');
  return { label: m[1]!, der: Buffer.from(m[2]!.replace(/\s+/g, ''), 'base64') };
}

function toPem(label: string, der: Uint8Array): string {
  const b64 = Buffer.from(der).toString('base64').replace(/.{1,64}/g, '$&\n');
  return `-----BEGIN ${label}-----\n${b64}-----END ${label}-----\n`;
}

/** Decrypts a cosign/sigstore encrypted private key file. */
export function decryptCosignPrivateKey(pem: string, password: string): KeyObject {
  const { label, der } = pemBody(pem);
  if (label !== 'ENCRYPTED SIGSTORE PRIVATE KEY' && label !== 'ENCRYPTED COSIGN PRIVATE KEY') {
    // unencrypted PEM (EC/RSA/PKCS#8): accepted as cosign import-key-pair does
    try {
      return createPrivateKey(pem);
    } catch (e) {
      throw new SigwardError('KEY_INVALID', `unsupported private key PEM type ${label}`, { cause: e });
    }
  }
  let enc: EncryptedKeyJSON;
  try {
    enc = JSON.parse(der.toString('utf8')) as EncryptedKeyJSON;
  } catch (e) {
    throw new SigwardError('KEY_INVALID', 'encrypted key body is not JSON', { cause: e });
  }
  if (enc.kdf?.name !== 'scrypt' || enc.cipher?.name !== 'nacl/secretbox') {
    throw new SigwardError('KEY_INVALID', `unsupported key encryption ${enc.kdf?.name}/${enc.cipher?.name}`);
  }
  const { N, r, p } = enc.kdf.params;
  if (!ACCEPTED_N.has(N) || r !== 8 || p !== 1) {
    throw new SigwardError('KEY_INVALID', `unsupported scrypt parameters N=${N} r=${r} p=${p}`);
  }
  const key = scryptSync(Buffer.from(password, 'utf8'), Buffer.from(enc.kdf.salt, 'base64'), 32, {
    N,
    r,
    p,
    maxmem: 256 * N * r + 1024 * 1024,
  });
  let plain: Uint8Array;
  try {
    plain = xsalsa20poly1305(key, Buffer.from(enc.cipher.nonce, 'base64')).decrypt(
      Buffer.from(enc.ciphertext, 'base64'),
    );
  } catch (e) {
    throw new SigwardError('KEY_INVALID', 'cannot decrypt private key: wrong password?', { cause: e });
  }
  return createPrivateKey({ key: Buffer.from(plain), format: 'der', type: 'pkcs8' });
}

/** Encrypts a private key the way `cosign generate-key-pair` does (N = 65536). */
export function encryptCosignPrivateKey(key: KeyObject, password: string, N = 65536): string {
  const salt = randomBytes(32);
  const nonce = randomBytes(24);
  const k = scryptSync(Buffer.from(password, 'utf8'), salt, 32, { N, r: 8, p: 1, maxmem: 256 * N * 8 + 1024 * 1024 });
  const plain = key.export({ type: 'pkcs8', format: 'der' });
  const ciphertext = xsalsa20poly1305(k, nonce).encrypt(plain);
  const body: EncryptedKeyJSON = {
    kdf: { name: 'scrypt', params: { N, r: 8, p: 1 }, salt: salt.toString('base64') },
    cipher: { name: 'nacl/secretbox', nonce: nonce.toString('base64') },
    ciphertext: Buffer.from(ciphertext).toString('base64'),
  };
  return toPem('ENCRYPTED SIGSTORE PRIVATE KEY', Buffer.from(JSON.stringify(body)));
}

export function publicKeyPem(key: KeyObject): string {
  const pub = key.type === 'private' ? createPublicKey(key) : key;
  return pub.export({ type: 'spki', format: 'pem' }).toString();
}
