import { mountPointsIn, pointsUnder, unescapeMountPath } from './mountinfo';

const TABLE = [
  '22 1 0:21 / / rw,relatime shared:1 - ext4 /dev/vda1 rw',
  '40 22 0:35 / /tmp/with\\040space rw - tmpfs tmpfs rw',
  '41 22 0:36 / /tmp/krill rw - tmpfs tmpfs rw',
  '42 41 0:4 net:[4026532] /tmp/krill/ns/net rw - nsfs nsfs rw',
  '43 22 0:37 / /tmp/krill-other rw - tmpfs tmpfs rw',
  '',
].join('\n');

test('octal escapes in paths are decoded', () => {
  expect(unescapeMountPath('/a\\040b\\011c\\134d')).toBe('/a b\tc\\d');
});

test('mount points come from field 5, in table order', () => {
  expect(mountPointsIn(TABLE)).toEqual(['/', '/tmp/with space', '/tmp/krill', '/tmp/krill/ns/net', '/tmp/krill-other']);
});

test('pointsUnder takes the dir and what is below it, not a sibling sharing its prefix', () => {
  const points = mountPointsIn(TABLE);
  expect(pointsUnder(points, '/tmp/krill')).toEqual(['/tmp/krill', '/tmp/krill/ns/net']);
  expect(pointsUnder(points, '/tmp/krill/')).toEqual(['/tmp/krill/ns/net']);
  expect(pointsUnder(points, '/nowhere')).toEqual([]);
});
