// Notary trust material from a policy: Kyverno builds a `ca` trust store from
// an attestor's `certificates.cert` and `certificates.certChain` (both, one
// PEM text), an ImageValidatingPolicy from `notary.certs` (and `tsaCerts`),
// under a trust policy of level strict that trusts any identity.

import { SigwardError } from '../errors.ts';
import { parseCertificates } from '../trust/index.ts';
import type { NotaryTrust } from './verify.ts';

/** PEM text(s) -> a strict, any-identity trust (Kyverno's). Throws CONFIG_INVALID when no certificate is given. */
export function toNotaryTrust(pems: (string | undefined)[], what: string, tsa?: string): NotaryTrust {
  const text = pems.filter((p): p is string => typeof p === 'string' && p.trim() !== '').join('\n');
  const certificates = text ? parseCertificates(text) : [];
  if (certificates.length === 0) {
    throw new SigwardError('CONFIG_INVALID', `${what}: no PEM certificate is given to verify Notary signatures with`);
  }
  const trust: NotaryTrust = { certificates };
  if (tsa?.trim()) trust.tsaCertificates = parseCertificates(tsa);
  return trust;
}
