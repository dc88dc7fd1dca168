// The UPDATE view of the mutate phase (lib/engine/update.ts): which image
// fields an update left alone, and whether it rewrote the verify-images record.

import t from 'tap';
import { hasVerifyImagesAnnotationChanged, toUpdateContext } from '../../lib/engine/update.ts';
import { kubectlCreate } from '../helpers/kubectl.ts';

const KEY = 'kyverno.io/verify-images';

function withRecord(obj: Record<string, any>, text: string | undefined): Record<string, any> {
  const o = structuredClone(obj);
  o.metadata.annotations = { ...(o.metadata.annotations ?? {}) };
  if (text === undefined) delete o.metadata.annotations[KEY];
  else o.metadata.annotations[KEY] = text;
  return o;
}

t.test('verify-images record: what counts as rewritten', async (t) => {
  const dep = kubectlCreate('deployment', 'app', 'registry.example.com/app:v1');
  const rec = JSON.stringify({
    'registry.example.com/app@sha256:aa': 'pass',
    'registry.example.com/side@sha256:bb': 'fail',
  });
  const old = withRecord(dep, rec);
  t.equal(hasVerifyImagesAnnotationChanged(withRecord(dep, rec), old), false, 'same text');
  t.equal(hasVerifyImagesAnnotationChanged(dep, dep), false, 'absent on both sides');
  t.equal(
    hasVerifyImagesAnnotationChanged(
      withRecord(
        dep,
        JSON.stringify({ 'registry.example.com/side@sha256:bb': 'pass', 'registry.example.com/app@sha256:aa': 'pass' }),
      ),
      old,
    ),
    true,
    'a fail turned into pass',
  );
  t.equal(
    hasVerifyImagesAnnotationChanged(
      withRecord(
        dep,
        JSON.stringify({
          'registry.example.com/app@sha256:aa': 'pass',
          'registry.example.com/side@sha256:bb': 'fail',
          'x/y@sha256:cc': 'pass',
        }),
      ),
      old,
    ),
    false,
    'an entry added for another image (it is re-recorded by the mutate phase)',
  );
  t.equal(hasVerifyImagesAnnotationChanged(withRecord(dep, undefined), old), true, 'record removed');
  t.equal(hasVerifyImagesAnnotationChanged(withRecord(dep, rec), dep), true, 'record added by the update');
  t.equal(hasVerifyImagesAnnotationChanged(withRecord(dep, '{not json'), old), true, 'unreadable record');
  t.equal(hasVerifyImagesAnnotationChanged(withRecord(dep, '["a"]'), withRecord(dep, '["b"]')), true, 'not an object');
});

t.test('unchanged image fields', async (t) => {
  const old = kubectlCreate('deployment', 'app', 'registry.example.com/app:v1');
  const now = structuredClone(old) as any;
  now.metadata.labels.extra = 'x';
  const ptr = '/spec/template/spec/containers/0/image';
  const u = toUpdateContext('UPDATE', now, old)!;
  t.equal(u.isUnchanged(ptr, 'registry.example.com/app:v1'), true);
  t.equal(u.isUnchanged(ptr, 'registry.example.com/app:v2'), false, 'another image at the same field');
  t.equal(
    u.isUnchanged('/spec/template/spec/containers/1/image', 'registry.example.com/app:v1'),
    false,
    'same image at a new field',
  );
  t.equal(
    u.isUnchanged('/spec/template/spec/initContainers/0/image', 'registry.example.com/app:v1'),
    false,
    'missing field in the old object',
  );
  t.equal(toUpdateContext('CREATE', now, old), undefined, 'CREATE: everything is verified');
  t.equal(toUpdateContext('UPDATE', now, undefined), undefined, 'UPDATE without an old object: everything is verified');
  t.equal(toUpdateContext('UPDATE', now, 'text'), undefined, 'old object that is not an object');
});

t.test("unchanged and verified: only when the stored record (sigward's, passed in) says so", async (t) => {
  const old = kubectlCreate('deployment', 'app', 'registry.example.com/app:v1@sha256:' + 'a'.repeat(64));
  const now = structuredClone(old) as any;
  now.metadata.labels.extra = 'x';
  const ptr = '/spec/template/spec/containers/0/image';
  const image = now.spec.template.spec.containers[0].image;
  const key = 'registry.example.com/app@sha256:' + 'a'.repeat(64);
  const record = { version: 1 as const, policies: { '/p': { 'autogen-r': { [key]: 'pass' as const } } } };
  t.equal(
    toUpdateContext('UPDATE', now, old)!.isVerifiedUnchanged(ptr, image, '/p', 'autogen-r'),
    false,
    'no record of the stored object: verified again',
  );
  const u = toUpdateContext('UPDATE', now, old, record)!;
  t.equal(u.isVerifiedUnchanged(ptr, image, '/p', 'autogen-r'), true, 'recorded as passed for this policy and rule');
  t.equal(u.isVerifiedUnchanged(ptr, image, '/p', 'autogen-other'), false, 'another rule');
  t.equal(u.isVerifiedUnchanged(ptr, image, '/q', 'autogen-r'), false, 'another policy');
  t.equal(
    u.isVerifiedUnchanged(ptr, 'registry.example.com/app:v2', '/p', 'autogen-r'),
    false,
    'another image at the field',
  );
  const failed = toUpdateContext('UPDATE', now, old, {
    version: 1,
    policies: { '/p': { 'autogen-r': { [key]: 'fail' } } },
  })!;
  t.equal(failed.isVerifiedUnchanged(ptr, image, '/p', 'autogen-r'), false, 'recorded as failed');
});
