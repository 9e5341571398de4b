import { execFileSync } from 'node:child_process';
import { closeSync, constants, mkdtempSync, openSync, readSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { reopenLog, resizeTerminal } from './ctl';

let dir: string;
let fifo: string;
let reader: number | undefined;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'krill-ctl-'));
  fifo = join(dir, 'ctl');
  execFileSync('mkfifo', [fifo]);
});
afterEach(() => {
  if (reader !== undefined) closeSync(reader);
  reader = undefined;
  rmSync(dir, { recursive: true, force: true });
});

/** Opens the FIFO's read end as conmon holds it (without blocking). */
function listen(): void {
  reader = openSync(fifo, constants.O_RDONLY | constants.O_NONBLOCK);
}

/** What was written to the FIFO so far ('' when nothing). */
function received(): string {
  const buf = Buffer.alloc(256);
  try {
    return buf.subarray(0, readSync(reader!, buf)).toString();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EAGAIN') return '';
    throw err;
  }
}

test('resizeTerminal writes "1 <height> <width>"', async () => {
  listen();
  await resizeTerminal(fifo, 120, 40);
  expect(received()).toBe('1 40 120\n');
});

test('with no reader (conmon gone) or no FIFO, the container is not running: FailedPrecondition at once', async () => {
  await expect(resizeTerminal(fifo, 80, 24)).rejects.toMatchObject({ code: 'FailedPrecondition', message: expect.stringContaining('not running') });
  await expect(resizeTerminal(join(dir, 'missing'), 80, 24)).rejects.toMatchObject({ code: 'FailedPrecondition' });
});

test('reopenLog asks conmon to reopen and resolves once a new file is in place', async () => {
  const log = join(dir, 'ctr.log');
  writeFileSync(log, 'old\n');
  listen();
  let asked = '';
  const conmon = (async () => {
    // conmon: on "2 0 0", a new file beside the log, renamed over it
    while (!(asked += received())) await new Promise((r) => setTimeout(r, 5));
    writeFileSync(`${log}.new`, '');
    renameSync(`${log}.new`, log);
  })();
  await reopenLog(fifo, log, 30_000);
  await conmon;
  expect(asked).toBe('2 0 0\n');
});

test('reopenLog after a rotation moved the log away resolves once the file exists again', async () => {
  const log = join(dir, 'ctr.log');
  listen();
  const conmon = (async () => {
    while (!received()) await new Promise((r) => setTimeout(r, 5));
    writeFileSync(log, '');
  })();
  await reopenLog(fifo, log, 30_000);
  await conmon;
});

test('reopenLog fails with Internal, naming the file, when conmon does not reopen it in time', async () => {
  const log = join(dir, 'ctr.log');
  writeFileSync(log, 'old\n');
  listen();
  await expect(reopenLog(fifo, log, 50, 5)).rejects.toMatchObject({ code: 'Internal', message: expect.stringContaining(`did not reopen the log file ${log}`) });
});
