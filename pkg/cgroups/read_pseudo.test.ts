import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readPseudoFile } from './read_pseudo';

test('reads a pseudo-file as readFile does', async () => {
  for (const f of ['/proc/self/status', '/proc/self/mountinfo', '/proc/meminfo']) {
    const got = await readPseudoFile(f);
    expect(got.split('\n')[0]).toBe(readFileSync(f, 'utf8').split('\n')[0]);
  }
});

test('a seq_file of many pages (read a page at a time by the kernel) comes whole', async () => {
  // /proc/kallsyms: megabytes of short lines that do not change.
  expect(await readPseudoFile('/proc/kallsyms')).toBe(readFileSync('/proc/kallsyms', 'utf8'));
});

test('a file longer than one read comes whole; an empty one is empty; a missing one rejects', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'krill-pseudo-'));
  try {
    const big = Array.from({ length: 5000 }, (_v, i) => `line ${i} ${'x'.repeat(i % 90)}`).join('\n');
    writeFileSync(join(dir, 'big'), big);
    expect(await readPseudoFile(join(dir, 'big'))).toBe(big);
    writeFileSync(join(dir, 'empty'), '');
    expect(await readPseudoFile(join(dir, 'empty'))).toBe('');
    await expect(readPseudoFile(join(dir, 'missing'))).rejects.toMatchObject({ code: 'ENOENT' });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
