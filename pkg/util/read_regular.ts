// Reads a small file a request names (a Localhost seccomp profile): only a
// regular file, and only up to a size. A FIFO would block the read forever
// and /dev/zero would fill memory; neither is opened for reading as a file.
import { constants, type Stats } from 'node:fs';
import { open, stat } from 'node:fs/promises';

export type ReadRegularFailure = 'missing' | 'not-regular' | 'too-large' | 'unreadable';

export class ReadRegularError extends Error {
  constructor(
    readonly reason: ReadRegularFailure,
    /** What is wrong, to follow the file's name: "is a FIFO", "does not exist". */
    readonly detail: string,
  ) {
    super(detail);
    this.name = 'ReadRegularError';
  }
}

function kind(st: Stats): string {
  if (st.isDirectory()) return 'a directory';
  if (st.isFIFO()) return 'a FIFO';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  if (st.isSocket()) return 'a socket';
  return 'not a regular file';
}

function sizeText(bytes: number): string {
  return bytes % (1 << 20) === 0 ? `${bytes >> 20} MiB` : bytes % 1024 === 0 ? `${bytes >> 10} KiB` : `${bytes} bytes`;
}

function codeOf(err: unknown): string {
  return (typeof err === 'object' && err !== null && (err as NodeJS.ErrnoException).code) || 'an error';
}

/** The text of the regular file at `path` (symlinks followed), at most `maxBytes` long; ReadRegularError otherwise. */
export async function readRegularFile(path: string, maxBytes: number): Promise<string> {
  const tooLarge = (): ReadRegularError => new ReadRegularError('too-large', `is larger than ${sizeText(maxBytes)}`);
  let before: Stats;
  try {
    // stat before open: a device or FIFO is never opened at all.
    before = await stat(path);
  } catch (err) {
    if (codeOf(err) === 'ENOENT' || codeOf(err) === 'ENOTDIR') throw new ReadRegularError('missing', 'does not exist');
    throw new ReadRegularError('unreadable', `cannot be read (${codeOf(err)})`);
  }
  if (!before.isFile()) throw new ReadRegularError('not-regular', `is ${kind(before)}, not a regular file`);
  if (before.size > maxBytes) throw tooLarge();
  let fh;
  try {
    // O_NONBLOCK: should the path have become a FIFO since the stat, opening it does not wait for a writer.
    fh = await open(path, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY);
  } catch (err) {
    throw new ReadRegularError('unreadable', `cannot be read (${codeOf(err)})`);
  }
  try {
    const now = await fh.stat();
    if (!now.isFile() || now.dev !== before.dev || now.ino !== before.ino) throw new ReadRegularError('not-regular', 'changed while it was opened');
    // Never more than one byte beyond the cap: enough to tell a file that grew since the stat.
    let buf = Buffer.alloc(Math.min(maxBytes, Math.max(now.size, 4096)) + 1);
    let total = 0;
    for (;;) {
      if (total === buf.length) {
        if (total > maxBytes) throw tooLarge();
        const bigger = Buffer.alloc(Math.min(maxBytes + 1, buf.length * 2));
        buf.copy(bigger, 0, 0, total);
        buf = bigger;
      }
      const { bytesRead } = await fh.read(buf, total, buf.length - total, null);
      if (bytesRead === 0) break;
      total += bytesRead;
    }
    if (total > maxBytes) throw tooLarge();
    return buf.toString('utf8', 0, total);
  } finally {
    await fh.close();
  }
}
