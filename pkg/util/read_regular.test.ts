import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readRegularFile, ReadRegularError } from './read_regular';

let dir: string;
let sock: Server;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'read-regular-'));
  execFileSync('mkfifo', [join(dir, 'fifo')]);
  sock = createServer();
  await new Promise<void>((resolve) => sock.listen(join(dir, 'sock'), resolve));
});

afterAll(async () => {
  await new Promise((r) => sock.close(r));
  rmSync(dir, { recursive: true, force: true });
});

async function failure(path: string, maxBytes = 1024): Promise<ReadRegularError> {
  const err = await readRegularFile(path, maxBytes).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ReadRegularError);
  return err as ReadRegularError;
}

describe('readRegularFile', () => {
  test('reads a regular file, through a symlink too, up to exactly the cap', async () => {
    writeFileSync(join(dir, 'profile.json'), '{"defaultAction":"SCMP_ACT_ALLOW"}');
    symlinkSync(join(dir, 'profile.json'), join(dir, 'link.json'));
    expect(await readRegularFile(join(dir, 'profile.json'), 1024)).toBe('{"defaultAction":"SCMP_ACT_ALLOW"}');
    expect(await readRegularFile(join(dir, 'link.json'), 1024)).toBe('{"defaultAction":"SCMP_ACT_ALLOW"}');
    const big = 'x'.repeat(100_000);
    writeFileSync(join(dir, 'exact'), big);
    expect(await readRegularFile(join(dir, 'exact'), big.length)).toBe(big);
  });

  test('a file over the cap is too-large', async () => {
    writeFileSync(join(dir, 'large'), 'x'.repeat(1025));
    expect(await failure(join(dir, 'large'))).toMatchObject({ reason: 'too-large', detail: 'is larger than 1 KiB' });
  });

  test.each([
    ['a FIFO (which would block the read forever)', 'fifo', 'is a FIFO, not a regular file'],
    ['/dev/zero (which would never end)', '/dev/zero', 'is a character device, not a regular file'],
    ['a directory', '.', 'is a directory, not a regular file'],
    ['a socket', 'sock', 'is a socket, not a regular file'],
  ])('%s is refused without being read', async (_what, name, detail) => {
    expect(await failure(name.startsWith('/') ? name : join(dir, name))).toMatchObject({ reason: 'not-regular', detail });
  });

  test('a missing file is missing', async () => {
    expect(await failure(join(dir, 'nope'))).toMatchObject({ reason: 'missing', detail: 'does not exist' });
    expect(await failure(join(dir, 'profile.json', 'below'))).toMatchObject({ reason: 'missing' });
  });
});
