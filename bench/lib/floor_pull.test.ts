import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { extractArgs, extractScript } from './floor_pull';

describe('the pull floor\'s pipeline', () => {
  test('tar decompresses as the layer\'s media type says and keeps owners, modes and every xattr', () => {
    expect(extractScript('gzip')).toContain('tar -x -z -f - -C "$2"');
    expect(extractScript('zstd')).toContain('tar -x --zstd -f -');
    expect(extractScript('none')).toContain('tar -x -f -');
    for (const d of ['gzip', 'zstd', 'none'] as const) {
      expect(extractScript(d)).toMatch(/^curl -sSf [^|]*"\$1" \| tar /);
      expect(extractScript(d)).toContain("'--xattrs' '--xattrs-include=*' '--same-owner' '--numeric-owner' '-p'");
    }
    expect(extractArgs('http://r/v2/x/blobs/sha256:a', '/d', 'gzip').slice(0, 2)).toEqual(['-o', 'pipefail']);
    expect(extractArgs('http://r/v2/x/blobs/sha256:a', '/d', 'gzip').slice(-3)).toEqual(['floor-pull', 'http://r/v2/x/blobs/sha256:a', '/d']);
  });

  test('it unpacks a gzip\'d tar fetched by curl (here from a file: URL), and a failing fetch fails it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'floor-pull-test-'));
    try {
      mkdirSync(join(dir, 'src', 'sub'), { recursive: true });
      writeFileSync(join(dir, 'src', 'sub', 'f.txt'), 'hello\n');
      execFileSync('tar', ['-czf', join(dir, 'layer.tar.gz'), '-C', join(dir, 'src'), '.']);
      mkdirSync(join(dir, 'out'));
      execFileSync('bash', extractArgs(`file://${dir}/layer.tar.gz`, join(dir, 'out'), 'gzip'));
      expect(readFileSync(join(dir, 'out', 'sub', 'f.txt'), 'utf8')).toBe('hello\n');
      expect(() => execFileSync('bash', extractArgs(`file://${dir}/missing.tar.gz`, join(dir, 'out'), 'gzip'), { stdio: 'ignore' })).toThrow();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
