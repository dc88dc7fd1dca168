// Parses and selections the webhook remembers between calls (a review asks
// for the same image in rule selection, the evaluation and the record): each
// answer is the one a fresh parse gives, for the options it was asked with,
// and what a caller does to a returned value never reaches the next caller.

import t from 'tap';
import { parseImageFromPodSpec, parseReference } from '../../lib/reference/index.ts';
import { getImageInfo } from '../../lib/admission/imageinfo.ts';
import { entrySelectsImage } from '../../lib/engine/image-selection.ts';
import type { VerifyImagesEntry } from '../../lib/policy/types.ts';

t.test('parseReference: a returned reference is the caller’s own', (t) => {
  const first = parseImageFromPodSpec('nginx:1.27');
  t.match(first, { registry: 'docker.io', repository: 'library/nginx', tag: '1.27', kyverno: { path: 'nginx' } });
  first.tag = 'changed';
  first.digest = 'sha256:' + '0'.repeat(64);
  first.kyverno!.registry = 'changed.example';
  const second = parseImageFromPodSpec('nginx:1.27');
  t.equal(second.tag, '1.27');
  t.notOk('digest' in second, 'no digest');
  t.equal(second.kyverno?.registry, 'docker.io');
  t.end();
});

t.test('parseReference: the options are part of the answer', (t) => {
  t.equal(parseReference('app:v1').registry, 'docker.io');
  t.equal(parseReference('app:v1', { defaultRegistry: 'mirror.example:5000' }).registry, 'mirror.example:5000');
  t.equal(parseReference('app:v1', { defaultRegistry: 'mirror.example/team' }).repository, 'team/app');
  t.equal(parseReference('app:v1', { enableDefaultRegistryMutation: false }).kyverno?.registry, '');
  t.equal(parseReference('app:v1').kyverno?.registry, 'docker.io');
  t.throws(() => parseReference('App:v1'), /must be lowercase/);
  t.throws(() => parseReference('App:v1'), /must be lowercase/, 'an error is thrown every time');
  t.end();
});

t.test('getImageInfo: a returned image is the caller’s own; the options are part of the answer', (t) => {
  const first = getImageInfo('nginx');
  t.equal(first.reference, 'docker.io/nginx:latest');
  first.reference = 'changed';
  first.tag = 'changed';
  t.equal(getImageInfo('nginx').reference, 'docker.io/nginx:latest');
  t.equal(getImageInfo('nginx').tag, 'latest');
  t.equal(getImageInfo('nginx', { defaultRegistry: 'mirror.example' }).reference, 'mirror.example/nginx:latest');
  t.equal(getImageInfo('nginx', { enableDefaultRegistryMutation: false }).registry, '');
  t.equal(getImageInfo('nginx').registry, 'docker.io');
  t.end();
});

t.test('entrySelectsImage: per entry and per default registry', (t) => {
  const entry = (imageReferences: string[]) => ({ imageReferences }) as unknown as VerifyImagesEntry;
  const hub = entry(['docker.io/*']);
  const mirror = entry(['mirror.example/*']);
  t.equal(entrySelectsImage(hub, 'nginx'), true);
  t.equal(entrySelectsImage(mirror, 'nginx'), false, 'another entry, another answer');
  t.equal(entrySelectsImage(hub, 'nginx', 'mirror.example'), false, 'another default registry, another answer');
  t.equal(entrySelectsImage(mirror, 'nginx', 'mirror.example'), true);
  t.equal(entrySelectsImage(hub, 'nginx'), true, 'the first answer still holds');
  t.end();
});
