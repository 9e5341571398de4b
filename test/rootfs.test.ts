// Overlay root filesystems over real layer directories: union, copy-up,
// many layers past the one-page mount option limit, cleanup.
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { RootfsManager } from '../pkg/storage/rootfs';
import { DirectLauncher } from '../pkg/spawn/launcher';
import { isMountPoint } from '../pkg/storage/mount';
import { testBaseDir } from './harness/paths';

let dir: string;
let fs: RootfsManager;
beforeAll(() => {
  dir = mkdtempSync(join(testBaseDir(), 'rootfs-'));
  fs = new RootfsManager(new DirectLauncher(), join(dir, 'layers'), join(dir, 'containers'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function layer(i: number, files: Record<string, string>): string {
  const d = join(dir, 'layers', `layer${i}`, 'diff');
  for (const [name, content] of Object.entries(files)) {
    mkdirSync(join(d, name, '..'), { recursive: true });
    writeFileSync(join(d, name), content);
  }
  mkdirSync(d, { recursive: true });
  return d;
}

test('upper layers win, writes go to the container layer, removal cleans up', async () => {
  const bottom = layer(1, { 'etc/a': 'bottom-a', 'etc/b': 'bottom-b' });
  const top = layer(2, { 'etc/a': 'top-a' });
  const target = join(dir, 'bundle1', 'rootfs');
  await fs.create('c1', [top, bottom], target);
  try {
    expect(await isMountPoint(target)).toBe(true);
    expect(readFileSync(join(target, 'etc/a'), 'utf8')).toBe('top-a');
    expect(readFileSync(join(target, 'etc/b'), 'utf8')).toBe('bottom-b');
    writeFileSync(join(target, 'etc/b'), 'changed');
    expect(readFileSync(join(bottom, 'etc/b'), 'utf8')).toBe('bottom-b');
    expect(readFileSync(join(fs.upperDir('c1'), 'etc/b'), 'utf8')).toBe('changed');
    const usage = (await fs.usage('c1'))!;
    expect(usage.inodes).toBe(2n); // etc/ and etc/b copied up
    expect(usage.bytes).toBeGreaterThan(0n);
  } finally {
    await fs.remove('c1', target);
  }
  expect(await isMountPoint(target)).toBe(false);
  expect(existsSync(join(dir, 'containers', 'c1'))).toBe(false);
  await fs.remove('c1', target); // idempotent
});

test('150 layers mount', async () => {
  const lowers = Array.from({ length: 150 }, (_, i) => layer(100 + i, { [`f${i}`]: String(i) })).reverse();
  const target = join(dir, 'bundle2', 'rootfs');
  await fs.create('c2', lowers, target);
  try {
    expect(readFileSync(join(target, 'f0'), 'utf8')).toBe('0');
    expect(readFileSync(join(target, 'f149'), 'utf8')).toBe('149');
  } finally {
    await fs.remove('c2', target);
  }
});

test('an image without layers gets an empty root', async () => {
  const target = join(dir, 'bundle3', 'rootfs');
  await fs.create('c3', [], target);
  try {
    expect(await isMountPoint(target)).toBe(true);
    expect(readdirSync(target)).toEqual([]);
    writeFileSync(join(target, 'x'), 'y');
    expect(readdirSync(target)).toEqual(['x']);
    expect(readFileSync(join(fs.upperDir('c3'), 'x'), 'utf8')).toBe('y');
  } finally {
    await fs.remove('c3', target);
  }
  expect(await isMountPoint(target)).toBe(false);
  expect(existsSync(join(dir, 'containers', 'c3'))).toBe(false);
});

test('a failed mount leaves nothing', async () => {
  const target = join(dir, 'bundle4', 'rootfs');
  await expect(fs.create('c4', [join(dir, 'no-such-layer')], target)).rejects.toThrow(/mount overlay/);
  expect(existsSync(join(dir, 'containers', 'c4'))).toBe(false);
  await fs.pruneLinks();
});
