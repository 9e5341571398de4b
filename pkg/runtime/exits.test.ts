import { mkdirSync, mkdtempSync, renameSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ExitWatcher, readExit } from './exits';
import { ContainerPaths } from './paths';

const ID = 'a'.repeat(64);
const OTHER = 'b'.repeat(64);

let dir: string;
let paths: ContainerPaths;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'krill-exits-'));
  paths = new ContainerPaths({ persistRoot: join(dir, 'persist'), stateRoot: join(dir, 'state') });
  mkdirSync(paths.exitDir, { recursive: true });
  mkdirSync(paths.persistDir(ID), { recursive: true });
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('readExit', () => {
  test('undefined while no exit file exists', async () => {
    expect(await readExit(paths, ID)).toBeUndefined();
  });

  test('the code of the volatile exit file, its mtime as the finish time, no OOM', async () => {
    writeFileSync(paths.exitFile(ID), '7\n');
    utimesSync(paths.exitFile(ID), 1_700_000_000, 1_700_000_000);
    expect(await readExit(paths, ID)).toEqual({ exitCode: 7, finishedAt: 1_700_000_000n * 1_000_000_000n, oomKilled: false });
  });

  test('the persistent exit file when the volatile one is gone (after a reboot)', async () => {
    writeFileSync(paths.persistedExitFile(ID), '3');
    expect(await readExit(paths, ID)).toMatchObject({ exitCode: 3 });
  });

  test('the volatile file wins over the persistent one', async () => {
    writeFileSync(paths.exitFile(ID), '1');
    writeFileSync(paths.persistedExitFile(ID), '2');
    expect(await readExit(paths, ID)).toMatchObject({ exitCode: 1 });
  });

  test('-1 (conmon could not learn the status) is reported as 255', async () => {
    writeFileSync(paths.exitFile(ID), '-1');
    expect(await readExit(paths, ID)).toMatchObject({ exitCode: 255 });
  });

  test('an oom file beside the persistent exit file means OOM-killed', async () => {
    writeFileSync(paths.exitFile(ID), '137');
    writeFileSync(paths.oomFile(ID), '');
    expect(await readExit(paths, ID)).toMatchObject({ exitCode: 137, oomKilled: true });
  });

  test('a file that holds no number (being written) counts as not exited yet', async () => {
    writeFileSync(paths.exitFile(ID), '');
    expect(await readExit(paths, ID)).toBeUndefined();
    writeFileSync(paths.exitFile(ID), 'garbage');
    expect(await readExit(paths, ID)).toBeUndefined();
  });
});

describe('ExitWatcher', () => {
  let w: ExitWatcher;
  beforeEach(async () => {
    w = new ExitWatcher(paths);
    await w.start();
  });
  afterEach(() => w.stop());

  test('start makes the exit directory', async () => {
    rmSync(paths.exitDir, { recursive: true });
    const fresh = new ExitWatcher(paths);
    await fresh.start();
    try {
      writeFileSync(paths.exitFile(ID), '0');
      expect(await readExit(paths, ID)).toMatchObject({ exitCode: 0 });
    } finally {
      fresh.stop();
    }
  });

  test('emits exit for a container ID renamed into place (as conmon writes), not for other names', async () => {
    const seen: string[] = [];
    w.on('exit', (id) => seen.push(id));
    writeFileSync(join(paths.exitDir, 'tmp-not-an-id'), '0');
    writeFileSync(join(paths.exitDir, '.tmp'), '5');
    renameSync(join(paths.exitDir, '.tmp'), paths.exitFile(ID));
    const deadline = Date.now() + 10_000;
    while (!seen.includes(ID) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(seen).toContain(ID);
    expect(seen.every((id) => id === ID)).toBe(true);
  });

  test('waitFor resolves at once with an exit already recorded', async () => {
    writeFileSync(paths.exitFile(ID), '4');
    expect(await w.waitFor(ID, 10_000)).toMatchObject({ exitCode: 4 });
  });

  test('waitFor resolves when the exit is written later, and ignores other containers', async () => {
    const waiting = w.waitFor(ID, 30_000);
    writeFileSync(paths.exitFile(OTHER), '1');
    setTimeout(() => writeFileSync(paths.exitFile(ID), '9'), 50);
    expect(await waiting).toMatchObject({ exitCode: 9 });
  });

  test('waitFor finds the exit by polling when no event comes (fs.watch can miss one)', async () => {
    w.stop();
    const waiting = w.waitFor(ID, 30_000, 20);
    setTimeout(() => writeFileSync(paths.exitFile(ID), '6'), 50);
    expect(await waiting).toMatchObject({ exitCode: 6 });
  });

  test('waitFor resolves undefined after its timeout when nothing exits', async () => {
    expect(await w.waitFor(ID, 50, 10)).toBeUndefined();
  });
});
