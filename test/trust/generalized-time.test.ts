// GeneralizedTime with a short fraction (`...05.12Z`, what a TSA writing
// milliseconds emits for 120 ms) is a valid time for every ASN.1 reader, as
// in Go's encoding/asn1 (cosign, sigstore-go).

import t from 'tap';
import { ASN1Obj } from '@sigstore/core';
import '../../lib/trust/verifier.ts';
import { parseGeneralizedTime } from '../../lib/trust/generalized-time.ts';

/** DER GeneralizedTime (tag 0x18) of `text`. */
function der(text: string, tag = 0x18): Buffer<ArrayBuffer> {
  const body = Buffer.from(text, 'ascii');
  return Buffer.concat([Buffer.from([tag, body.length]), body]) as Buffer<ArrayBuffer>;
}

t.test('fractions of every length, through ASN1Obj.toDate', async (t) => {
  const at = (s: string) => ASN1Obj.parseBuffer(der(s)).toDate().toISOString();
  t.equal(at('20241203105112Z'), '2024-12-03T10:51:12.000Z', 'no fraction');
  t.equal(
    at('20241203105112.123Z'),
    '2024-12-03T10:51:12.000Z',
    'three digits: the library itself (it drops the fraction)',
  );
  t.equal(at('20241203105112.12Z'), '2024-12-03T10:51:12.120Z', 'two digits');
  t.equal(at('20241203105112.1Z'), '2024-12-03T10:51:12.100Z', 'one digit');
  t.equal(at('20241203105112.123456Z'), '2024-12-03T10:51:12.123Z', 'microseconds');
  for (const bad of ['20241203105112.Z', '20241203105112.12', '20241203105112+0100', '2024120310511.2Z', 'x']) {
    t.throws(() => ASN1Obj.parseBuffer(der(bad)).toDate(), { message: 'invalid time' }, `${bad} is not a time`);
  }
  t.throws(() => ASN1Obj.parseBuffer(der('241203105112.12Z', 0x17)).toDate(), 'UTCTime has no fraction: still refused');
});

t.test('parseGeneralizedTime', async (t) => {
  t.equal(
    parseGeneralizedTime('20000229000000.999999Z').toISOString(),
    '2000-02-29T00:00:00.999Z',
    'leap day, truncated to ms',
  );
  t.throws(() => parseGeneralizedTime('20010229000000Z'), 'no 29 February in 2001');
});
