import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync, existsSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mkdirInRoot, readFileInRoot, resolveInRoot } from './in_root';

let root: string;
let outside: string;
beforeEach(() => {
  const base = mkdtempSync(join(tmpdir(), 'krill-inroot-'));
  root = join(base, 'rootfs');
  outside = join(base, 'outside');
  mkdirSync(join(root, 'etc'), { recursive: true });
  mkdirSync(outside);
  writeFileSync(join(root, 'etc/passwd'), 'root:x:0:0::/root:/bin/sh\n');
  writeFileSync(join(outside, 'secret'), 'host secret');
});
afterEach(() => rmSync(join(root, '..'), { recursive: true, force: true }));

test('plain paths', async () => {
  expect(await resolveInRoot(root, '/etc/passwd')).toBe(join(root, 'etc/passwd'));
  expect(await readFileInRoot(root, '/etc/passwd')).toContain('root:x:0:0');
  expect(await readFileInRoot(root, '/etc/group')).toBeUndefined();
});

test('absolute symlinks are re-rooted', async () => {
  symlinkSync(outside, join(root, 'escape'));
  symlinkSync('/etc/passwd', join(root, 'etc/pw'));
  expect(await resolveInRoot(root, '/escape/secret')).toBe(join(root, outside.slice(1), 'secret'));
  expect(await readFileInRoot(root, '/escape/secret')).toBeUndefined();
  expect(await readFileInRoot(root, '/etc/pw')).toContain('root:x');
});

test('relative symlinks and .. stop at the root', async () => {
  symlinkSync('../../../../outside', join(root, 'etc/up'));
  expect(await resolveInRoot(root, '/etc/up/secret')).toBe(join(root, 'outside/secret'));
  expect(await resolveInRoot(root, '/../../etc/passwd')).toBe(join(root, 'etc/passwd'));
});

test('symlink loops are refused', async () => {
  symlinkSync('b', join(root, 'a'));
  symlinkSync('a', join(root, 'b'));
  await expect(resolveInRoot(root, '/a/x')).rejects.toThrow(/too many symbolic links/);
});

test('mkdirInRoot creates inside the root even through a hostile symlink', async () => {
  symlinkSync(outside, join(root, 'work'));
  const made = await mkdirInRoot(root, '/work/app/data');
  expect(made).toBe(join(root, outside.slice(1), 'app/data'));
  expect(existsSync(join(outside, 'app'))).toBe(false);
  expect(statSync(made).isDirectory()).toBe(true);
});

test('mkdirInRoot refuses a file in the way', async () => {
  await expect(mkdirInRoot(root, '/etc/passwd/x')).rejects.toThrow(/not a directory/);
});
