// Every container image in the real AdmissionReview fixtures must parse.
import t from 'tap';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { formatReference, parseImageFromPodSpec, toKyvernoMatchString } from '../../lib/reference/index.ts';

const DIR = '/work/shared/testvectors/admission-requests';
const CONTAINER_LISTS = new Set(['containers', 'initContainers', 'ephemeralContainers']);

/** Collects `image` of every item in any containers/initContainers/ephemeralContainers list. */
function collectImages(node: unknown, out: string[]): void {
  if (Array.isArray(node)) {
    for (const v of node) collectImages(v, out);
    return;
  }
  if (node === null || typeof node !== 'object') return;
  for (const [k, v] of Object.entries(node)) {
    if (CONTAINER_LISTS.has(k) && Array.isArray(v)) {
      for (const c of v) {
        if (c && typeof c === 'object' && typeof (c as { image?: unknown }).image === 'string') {
          out.push((c as { image: string }).image);
        }
      }
    }
    collectImages(v, out);
  }
}

const files = readdirSync(DIR).filter((f) => f.endsWith('.json')).sort();

t.test('admission request fixtures: every container image parses', async (t) => {
  t.ok(files.length >= 20, `found ${files.length} fixtures`);
  const all: string[] = [];
  for (const f of files) {
    const images: string[] = [];
    collectImages(JSON.parse(readFileSync(join(DIR, f), 'utf8')), images);
    for (const image of images) {
      const r = parseImageFromPodSpec(image);
      t.equal(r.transport, 'registry', `${f}: ${image}`);
      t.ok(r.tag !== undefined || r.digest !== undefined, `${f}: ${image} has a tag or digest`);
      t.ok(toKyvernoMatchString(r).length > 0);
    }
    all.push(...images);
  }
  t.ok(all.length >= 30, `${all.length} images checked`);
  // spot checks on distinct shapes found in the fixtures
  const find = (s: string) => parseImageFromPodSpec(all.find((i) => i === s) ?? '');
  t.equal(formatReference(find('busybox')), 'docker.io/library/busybox:latest');
  t.equal(
    formatReference(find('securesystemsengineering/alice-image:test')),
    'docker.io/securesystemsengineering/alice-image:test',
  );
  t.equal(formatReference(find('registry.k8s.io/nginx-slim:0.8')), 'registry.k8s.io/nginx-slim:0.8');
  const both = find(
    'securesystemsengineering/alice-image:test@sha256:1234567890123456123456789012345612345678901234561234567890123456',
  );
  t.equal(both.tag, 'test');
  t.equal(both.digest, 'sha256:1234567890123456123456789012345612345678901234561234567890123456');
  t.equal(
    toKyvernoMatchString(both),
    'docker.io/securesystemsengineering/alice-image@sha256:1234567890123456123456789012345612345678901234561234567890123456',
  );
});
