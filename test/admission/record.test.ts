// lib/admission/record.ts: which verification record sigward trusts. The
// seal binds both annotation texts to the namespace, the kind, the uid and a
// time; a fresh seal is trusted for the request being admitted, a stored one
// only for the object it was sealed for. The clock is injected here; the
// webhook end to end is test/server/record.test.ts.

import t from 'tap';
import { randomBytes } from 'node:crypto';
import { applyPatch } from '../../lib/admission/patch.ts';
import {
  getRecordSealTime,
  getStoredRecord,
  getTrustedRecord,
  RECORD_MAX_AGE_SECONDS,
  type RecordContext,
  type RecordKeys,
  toRecordKey,
  toRecordPatches,
  type VerificationRecord,
} from '../../lib/admission/record.ts';
import type { JsonObject } from '../../lib/admission/types.ts';
import { kubectlPod } from '../helpers/kubectl.ts';

const keyA = toRecordKey(randomBytes(32));
const keyB = toRecordKey(randomBytes(32));
const keys: RecordKeys = { seal: keyA, verify: [keyA] };
const scope = { namespace: 'default', kind: '/Pod', uid: '' };
const at = (s: number) => new Date(Date.UTC(2025, 0, 1) + s * 1000);
const IMG = 'registry.example/app@sha256:' + 'a'.repeat(64);
const record: VerificationRecord = {
  images: { [IMG]: 'pass' },
  scoped: { version: 1, policies: { '/p': { r: { [IMG]: 'pass' } } } },
};

function sealed(obj: Record<string, unknown>, ctx: RecordContext, r = record): JsonObject {
  return applyPatch(obj as JsonObject, toRecordPatches(obj, r, ctx));
}

t.test('a fresh seal: trusted for its scope and within its age', async (t) => {
  const ctx = { keys, scope, now: at(0) };
  const pod = sealed(kubectlPod('app', IMG), ctx);
  t.same(getTrustedRecord(pod, ctx), { ...record, untrusted: false }, 'the record just sealed');
  t.same(
    getTrustedRecord(pod, { ...ctx, now: at(RECORD_MAX_AGE_SECONDS) }).scoped,
    record.scoped,
    'still at the end of its age',
  );
  t.equal(
    getTrustedRecord(pod, { ...ctx, now: at(RECORD_MAX_AGE_SECONDS + 1) }).untrusted,
    true,
    'older: not a verification any more',
  );
  t.equal(getTrustedRecord(pod, { ...ctx, now: at(-120) }).untrusted, true, 'from too far in the future');
  t.equal(
    getTrustedRecord(pod, { ...ctx, scope: { ...scope, namespace: 'other' } }).untrusted,
    true,
    'another namespace',
  );
  t.equal(
    getTrustedRecord(pod, { ...ctx, scope: { ...scope, kind: 'apps/Deployment' } }).untrusted,
    true,
    'another kind',
  );
  t.equal(getTrustedRecord(pod, { ...ctx, scope: { ...scope, uid: 'x' } }).untrusted, true, 'another uid');
  t.equal(getTrustedRecord(pod, { ...ctx, keys: { seal: keyB, verify: [keyB] } }).untrusted, true, 'another key');
  t.same(
    getTrustedRecord(pod, { ...ctx, keys: { seal: keyB, verify: [keyB, keyA] } }).scoped,
    record.scoped,
    'a previous key still accepted (rotation)',
  );

  const edited = structuredClone(pod) as any;
  edited.metadata.annotations['kyverno.io/verify-images-scoped'] = edited.metadata
    .annotations['kyverno.io/verify-images-scoped'].replace('"/p"', '"/q"');
  const e = getTrustedRecord(edited, ctx);
  t.same([e.untrusted, e.scoped.policies], [true, {}], 'a record edited after sealing: nothing of it counts');
  const flat = structuredClone(pod) as any;
  flat.metadata.annotations['kyverno.io/verify-images'] = JSON.stringify({
    [IMG]: 'pass',
    ['x/y@sha256:' + 'b'.repeat(64)]: 'pass',
  });
  t.equal(getTrustedRecord(flat, ctx).untrusted, true, 'the seal covers kyverno.io/verify-images too');
  const noSeal = structuredClone(pod) as any;
  delete noSeal.metadata.annotations['sigward.dev/verify-images-seal'];
  t.equal(getRecordSealTime(noSeal, keys, scope), undefined);
  t.same(getTrustedRecord(kubectlPod('plain', IMG), ctx), {
    images: {},
    scoped: { version: 1, policies: {} },
    untrusted: false,
  }, 'no record: nothing untrusted either');
});

t.test('stored (UPDATE): sealed for that object, or at its creation', async (t) => {
  const created = at(0);
  const atCreate = sealed(kubectlPod('app', IMG), { keys, scope, now: at(-2) }) as any;
  atCreate.metadata.uid = 'uid-1';
  atCreate.metadata.creationTimestamp = created.toISOString().replace(/\.\d+Z$/, 'Z');
  t.same(getStoredRecord(atCreate, keys, scope), record, 'sealed just before its creationTimestamp');

  const later = structuredClone(atCreate);
  later.metadata.creationTimestamp = at(3600).toISOString().replace(/\.\d+Z$/, 'Z');
  t.equal(
    getStoredRecord(later, keys, scope),
    undefined,
    'the seal of an object created an hour earlier: copied, not carried',
  );

  const byUpdate = sealed(structuredClone(later), { keys, scope: { ...scope, uid: 'uid-1' }, now: at(7200) });
  t.same(
    getStoredRecord(byUpdate, keys, scope),
    record,
    'sealed by an update of this very object (its uid): carried at any age',
  );
  const otherUid = structuredClone(byUpdate) as any;
  otherUid.metadata.uid = 'uid-2';
  t.equal(getStoredRecord(otherUid, keys, scope), undefined, "another object's update seal");

  const now = { keys, scope: { ...scope, uid: 'uid-1' }, now: at(99_999) };
  const next = structuredClone(atCreate) as any;
  const carried = getTrustedRecord(next, now, getStoredRecord(atCreate, keys, scope));
  t.same(
    [carried.untrusted, carried.scoped],
    [false, record.scoped],
    'the new object carries the stored record unchanged: trusted',
  );
  next.metadata.annotations['kyverno.io/verify-images-scoped'] = JSON.stringify({
    version: 1,
    policies: { '/p': { r: { [IMG]: 'pass' } }, '/q': { r: { [IMG]: 'pass' } } },
  });
  const added = getTrustedRecord(next, now, getStoredRecord(atCreate, keys, scope));
  t.same(
    [added.untrusted, added.scoped],
    [true, record.scoped],
    'an entry the update added: only the carried part counts',
  );
});

t.test('writing: exactly the given record, sealed; an empty record removes the annotations', async (t) => {
  const ctx = { keys, scope, now: at(0) };
  const pod = sealed(kubectlPod('app', IMG), ctx);
  const emptied = applyPatch(
    pod,
    toRecordPatches(pod, { images: {}, scoped: { version: 1, policies: {} } }, ctx),
  ) as any;
  t.same(Object.keys(emptied.metadata.annotations), [], 'every record annotation removed');
  t.same(
    toRecordPatches(kubectlPod('plain', IMG), { images: {}, scoped: { version: 1, policies: {} } }, ctx),
    [],
    'nothing to remove: no patch',
  );
  t.throws(() => toRecordKey(randomBytes(16)), { code: 'CONFIG_INVALID', message: /at least 32/ });
});
