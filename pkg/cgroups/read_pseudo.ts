// Reads a small kernel pseudo-file (cgroupfs, procfs) in as few thread-pool
// round trips as it can: open, one read, close. fs.promises.readFile also
// fstats the file and reads again for the end, which doubles the cost of a
// scrape that reads thousands of these (they report size 0 or 4096, so the
// size says nothing).
import { open } from 'node:fs/promises';

const CHUNK = 16 * 1024;
// seq_file hands out whole lines: a read that stops more than a line short of
// the buffer's end has reached the end of the file. No line of these files is this long.
const LONGEST_LINE = 512;

export async function readPseudoFile(path: string): Promise<string> {
  const h = await open(path, 'r');
  try {
    const parts: Buffer[] = [];
    for (;;) {
      const buf = Buffer.allocUnsafe(CHUNK);
      const { bytesRead } = await h.read(buf, 0, CHUNK, null);
      if (bytesRead > 0) parts.push(buf.subarray(0, bytesRead));
      if (bytesRead <= CHUNK - LONGEST_LINE) break;
    }
    return Buffer.concat(parts).toString('utf8');
  } finally {
    await h.close();
  }
}
