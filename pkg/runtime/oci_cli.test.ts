import { crunVersion } from './oci_cli';

test('crun versions are read from --version output', () => {
  expect(crunVersion('crun version 1.8.1\ncommit: abc\nspec: 1.0.0\n+SYSTEMD +SELINUX')).toEqual([1, 8]);
  expect(crunVersion('crun version 1.14\n')).toEqual([1, 14]);
  expect(crunVersion('runc version 1.1.5\n')).toBeUndefined();
});
