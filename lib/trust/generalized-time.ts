// RFC 3161 genTime (and every ASN.1 GeneralizedTime) with a fraction of any
// length. @sigstore/core 3.x parses GeneralizedTime with exactly three
// fractional digits or none, so a TSA writing `...51.12Z` (120 ms, correct
// DER: trailing zeros are dropped) fails as "invalid time". Go's encoding/asn1,
// which cosign and sigstore-go use, accepts any fraction. sigward widens the
// parser at its one definition (ASN1Obj.prototype.toDate) and only for what the
// original rejects, so every caller (@sigstore/verify's timestamp checks, the
// certificate validity dates, sigward's own readers) sees the same time.
// To be fixed upstream in sigstore-js (@sigstore/core asn1/parse.ts, RE_TIME_LONG_YEAR);
// then this module goes.

import { ASN1Obj } from '@sigstore/core';

const GENERALIZED_TIME = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(?:\.(\d{1,9}))?Z$/;

/** `YYYYMMDDHHMMSS[.f+]Z` -> Date (milliseconds kept); throws on anything else. */
export function parseGeneralizedTime(text: string): Date {
  const m = GENERALIZED_TIME.exec(text);
  if (!m) throw new Error('invalid time');
  const ms = m[7] ? Math.floor(Number(`0.${m[7]}`) * 1000) : 0;
  const d = new Date(
    Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6]), ms),
  );
  const back = d.toISOString();
  // no rollover: 20240230 or 25:00 are not times
  if (back.slice(0, 19) !== `${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}`) throw new Error('invalid time');
  return d;
}

type Asn1Like = { tag: { isGeneralizedTime(): boolean }; value: Buffer };

/** Widens ASN1Obj.prototype.toDate once (idempotent); lib/trust/verifier.ts calls it at load. */
export function widenGeneralizedTime(): void {
  const proto = ASN1Obj.prototype as unknown as { toDate(): Date; __sigwardTime?: true };
  if (proto.__sigwardTime) return;
  const original = proto.toDate;
  proto.toDate = function (this: Asn1Like): Date {
    try {
      return original.call(this);
    } catch (e) {
      if (!this.tag.isGeneralizedTime()) throw e;
      return parseGeneralizedTime(this.value.toString('ascii'));
    }
  };
  proto.__sigwardTime = true;
}
