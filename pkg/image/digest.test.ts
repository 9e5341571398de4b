import { chainIds, checkDigest, isSha256Digest, sha256Digest } from './digest';

test('chain IDs follow the OCI definition', () => {
  const a = sha256Digest('a');
  const b = sha256Digest('b');
  const c = sha256Digest('c');
  const ids = chainIds([a, b, c]);
  expect(ids[0]).toBe(a);
  expect(ids[1]).toBe(sha256Digest(`${a} ${b}`));
  expect(ids[2]).toBe(sha256Digest(`${ids[1]} ${c}`));
  expect(chainIds([])).toEqual([]);
});

test('only sha256 digests are accepted', () => {
  const d = sha256Digest('x');
  expect(isSha256Digest(d)).toBe(true);
  expect(checkDigest(d, 'layer 0')).toBe(d);
  expect(() => checkDigest(`sha512:${'a'.repeat(128)}`, 'layer 0')).toThrow('layer 0: digest algorithm of sha512');
  expect(() => checkDigest('sha256:XYZ', 'config')).toThrow('config: invalid digest');
  expect(() => checkDigest(undefined, 'config')).toThrow('config: invalid digest');
});
