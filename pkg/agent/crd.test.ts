// The ImageCache CRD: the chart's copy is the same file, and its schema names the fields the agent reads and writes.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { IMAGE_CACHE_GROUP, IMAGE_CACHE_PLURAL, IMAGE_CACHE_VERSION } from './image_cache';

const ROOT = join(__dirname, '..', '..');
const crd = readFileSync(join(ROOT, 'deploy/crds/imagecaches.krill.dev.yaml'), 'utf8');

test("the chart's CRD is deploy/crds' one", () => {
  expect(readFileSync(join(ROOT, 'deploy/charts/krill/crds/imagecaches.krill.dev.yaml'), 'utf8')).toBe(crd);
});

test('the CRD matches what the agent uses', () => {
  expect(crd).toContain(`name: ${IMAGE_CACHE_PLURAL}.${IMAGE_CACHE_GROUP}`);
  expect(crd).toContain(`- name: ${IMAGE_CACHE_VERSION}`);
  expect(crd).toContain('scope: Cluster');
  expect(crd).toContain('x-kubernetes-list-map-keys: [node, image]');
  for (const field of ['node:', 'image:', 'digest:', 'pulled:', 'error:', 'lastPulled:', 'matchLabels:', 'images:']) expect(crd).toContain(field);
});
