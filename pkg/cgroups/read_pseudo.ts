// Reads a kernel pseudo-file of short lines (cgroupfs files, cgroup.procs,
// /proc/<pid>/net/dev) in as few thread-pool round trips as it can: open,
// one read, close. fs.promises.readFile also fstats the file and reads again
// for the end, which doubles the cost of a scrape that reads thousands of
// these (they report size 0 or 4096, so the size says nothing).
import { open } from 'node:fs/promises';

const CHUNK = 16 * 1024;
// The kernel's seq_file hands out whole records from a buffer of a page (or
// more): a read before the end returns at least a page less one record, and
// only the last read returns less. The records of the files this reads are
// lines far shorter than this; a file with longer ones (mountinfo) needs readFile.
const PAGE = 4096;
const LONGEST_LINE = 1024;

export async function readPseudoFile(path: string): Promise<string> {
  const h = await open(path, 'r');
  try {
    const parts: Buffer[] = [];
    for (;;) {
      const buf = Buffer.allocUnsafe(CHUNK);
      const { bytesRead } = await h.read(buf, 0, CHUNK, null);
      if (bytesRead > 0) parts.push(buf.subarray(0, bytesRead));
      if (bytesRead < PAGE - LONGEST_LINE) break;
    }
    return Buffer.concat(parts).toString('utf8');
  } finally {
    await h.close();
  }
}
