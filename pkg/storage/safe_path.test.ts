import { entryComponents, UnsafeEntryError } from './safe_path';

test('relative paths are split and cleaned', () => {
  expect(entryComponents('./a/b/')).toEqual(['a', 'b']);
  expect(entryComponents('a//./b')).toEqual(['a', 'b']);
  expect(entryComponents('./')).toEqual([]);
  expect(entryComponents('.wh..wh..opq')).toEqual(['.wh..wh..opq']);
  expect(entryComponents('a..b/..c')).toEqual(['a..b', '..c']);
});

test.each([
  ['../etc/passwd', '".."'],
  ['a/../../b', '".."'],
  ['a/..', '".."'],
  ['/etc/passwd', 'absolute path'],
  ['a\0b', 'NUL'],
])('%j is refused', (name, why) => {
  expect(() => entryComponents(name)).toThrow(UnsafeEntryError);
  expect(() => entryComponents(name)).toThrow(why);
  expect(() => entryComponents(name)).toThrow(`layer entry ${JSON.stringify(name)}`);
});
