import { mkdtempSync, mkdirSync, readdirSync, rmSync, symlinkSync, writeFileSync, existsSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sameProcess, startFromProc, sweepExecSessions } from './exec_sweep';

describe('startFromProc', () => {
  test('reads starttime (field 22) after a command name with spaces and parentheses, in USER_HZ ticks from btime', () => {
    const fields = Array.from({ length: 50 }, (_, i) => String(i + 3));
    fields[22 - 3] = '12345';
    const pidStat = `4242 (we (ird) name) ${fields.join(' ')}`;
    expect(startFromProc(pidStat, 'cpu 1 2 3\nbtime 1700000000\nprocesses 9\n')).toBe(1700000000 * 1000 + 123450);
  });

  test('undefined when a field is missing', () => {
    expect(startFromProc('1 (x) S', 'btime 5\n')).toBeUndefined();
    expect(startFromProc(`1 (x) ${Array(50).fill('1').join(' ')}`, 'no btime\n')).toBeUndefined();
  });

  test('this process started in the past', async () => {
    const { readFileSync } = await import('node:fs');
    const start = startFromProc(readFileSync(`/proc/${process.pid}/stat`, 'utf8'), readFileSync('/proc/stat', 'utf8'))!;
    expect(start).toBeLessThanOrEqual(Date.now() + 1000);
    expect(start).toBeGreaterThan(Date.now() - 24 * 3600 * 1000 * 365);
  });
});

describe('sameProcess', () => {
  test('a process that started before its pid was written is the one recorded', () => {
    expect(sameProcess(1000, 2000)).toBe(true);
    expect(sameProcess(2500, 2000)).toBe(true); // within btime's second of slack
  });
  test('one that started later reuses the pid', () => {
    expect(sameProcess(5000, 2000)).toBe(false);
  });
});

describe('sweepExecSessions', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'sweep-'));
    mkdirSync(join(dir, 'exec'));
    mkdirSync(join(dir, 'attach'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  test('kills a recorded command that still runs and removes session files and links, leaving containers’ links', async () => {
    const child = spawn('sleep', ['60'], { stdio: 'ignore' });
    await new Promise((r) => child.once('spawn', r));
    const exited = new Promise<NodeJS.Signals | null>((r) => child.once('exit', (_c, sig) => r(sig)));
    const session = 'a'.repeat(64);
    mkdirSync(join(dir, 'exec', session));
    writeFileSync(join(dir, 'exec', session, 'pid'), String(child.pid));
    symlinkSync(join(dir, 'exec', session), join(dir, 'attach', session));
    symlinkSync('/nonexistent-container-bundle', join(dir, 'attach', 'c'.repeat(64)));
    // An ExecSync whose command is gone, and one whose pid file names a process that started after it was written.
    writeFileSync(join(dir, 'exec', 'exec-1.json'), '{}');
    writeFileSync(join(dir, 'exec', 'exec-1.pid'), '999999999');
    const r = await sweepExecSessions(join(dir, 'exec'), join(dir, 'attach'));
    expect(await exited).toBe('SIGKILL');
    expect(r).toEqual({ killed: 1, removed: 3 });
    expect(readdirSync(join(dir, 'exec'))).toEqual([]);
    expect(readdirSync(join(dir, 'attach'))).toEqual(['c'.repeat(64)]);
  });

  test('does not kill a process that took the pid later', async () => {
    const session = 'b'.repeat(64);
    mkdirSync(join(dir, 'exec', session));
    const pidFile = join(dir, 'exec', session, 'pid');
    // This jest worker started long before a pid file written now... so make the file older than it.
    writeFileSync(pidFile, String(process.pid));
    const { utimesSync } = await import('node:fs');
    utimesSync(pidFile, new Date(0), new Date(0));
    const r = await sweepExecSessions(join(dir, 'exec'), join(dir, 'attach'));
    expect(r).toEqual({ killed: 0, removed: 1 });
    expect(existsSync(join(dir, 'exec', session))).toBe(false);
  });

  test('a missing scratch dir is nothing to do', async () => {
    expect(await sweepExecSessions(join(dir, 'nope'), join(dir, 'attach'))).toEqual({ killed: 0, removed: 0 });
  });
});
