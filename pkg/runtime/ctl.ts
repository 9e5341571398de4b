// conmon's control FIFO in the bundle: "1 H W\n" resizes the terminal,
// "2 0 0\n" makes conmon reopen the container's log file.
import { constants } from 'node:fs';
import { open } from 'node:fs/promises';
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

export function reopenLog(fifo: string): Promise<void> {
  return writeCtl(fifo, '2 0 0\n');
}
