// conmon's control FIFO in the bundle: "1 H W\n" resizes the terminal,
// "2 0 0\n" makes conmon reopen the container's log file.
import { constants } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import { KrillError, isErrno } from '../errors/errors';

async function writeCtl(fifo: string, line: string): Promise<void> {
  let fh;
  try {
    // Non-blocking: with no reader (conmon gone) open fails at once with ENXIO instead of hanging.
    fh = await open(fifo, constants.O_WRONLY | constants.O_NONBLOCK);
  } catch (err) {
    if (isErrno(err, 'ENXIO') || isErrno(err, 'ENOENT')) {
      throw new KrillError('FailedPrecondition', 'the container is not running (its monitor is gone)');
    }
    throw err;
  }
  try {
    await fh.write(line);
  } finally {
    await fh.close();
  }
}

export function resizeTerminal(fifo: string, width: number, height: number): Promise<void> {
  return writeCtl(fifo, `1 ${height} ${width}\n`);
}

async function inode(path: string): Promise<bigint | undefined> {
  try {
    return (await stat(path, { bigint: true })).ino;
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return undefined;
    throw err;
  }
}

/**
 * Makes conmon reopen the log at `logPath` and resolves once it has: conmon
 * opens a new file beside it and renames it into place, so the path then
 * names another inode (or exists again, after a rotation moved it away).
 * Callers (kubelet's log rotation, critest) expect the file to exist on return.
 */
export async function reopenLog(fifo: string, logPath: string, timeoutMs = 5000, pollMs = 10): Promise<void> {
  const before = await inode(logPath);
  await writeCtl(fifo, '2 0 0\n');
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const now = await inode(logPath);
    if (now !== undefined && now !== before) return;
    if (Date.now() > deadline) throw new KrillError('Internal', `conmon did not reopen the log file ${logPath} within ${timeoutMs / 1000}s`);
    await new Promise((r) => setTimeout(r, pollMs));
  }
}
