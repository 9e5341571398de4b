import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { killExecCommand, pgidFromStat } from './exec_kill';

function isRunning(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.[0] !== 'Z';
  } catch {
    return false;
  }
}

test('pgidFromStat reads field 5 after a command name with spaces and parentheses', () => {
  expect(pgidFromStat('77 (a (b) c) S 1 77 77 0 -1 4194560')).toBe(77);
  expect(pgidFromStat('77 (x) S 1 123 77 0')).toBe(123);
  expect(pgidFromStat('77 (x)')).toBeUndefined();
});

describe('killExecCommand', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'kill-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  test('kills a group leader with its group', async () => {
    // A shell leading its own group, with a child in it.
    const sh = spawn('sh', ['-c', 'sleep 60 & echo $!; wait'], { detached: true, stdio: ['ignore', 'pipe', 'ignore'] });
    const childPid = await new Promise<number>((resolve) => sh.stdout!.once('data', (b: Buffer) => resolve(Number(b.toString().trim()))));
    writeFileSync(join(dir, 'pid'), String(sh.pid));
    const exited = new Promise<NodeJS.Signals | null>((r) => sh.once('exit', (_c, sig) => r(sig)));
    expect(await killExecCommand(join(dir, 'pid'))).toBe(true);
    expect(await exited).toBe('SIGKILL');
    // The child got the same signal: dead, or a zombie waiting for its new parent to reap it.
    let running = true;
    for (let i = 0; i < 50 && running; i++) {
      running = isRunning(childPid);
      if (running) await new Promise((r) => setTimeout(r, 20));
    }
    expect(running).toBe(false);
  });

  test('false without a pid file or a process', async () => {
    expect(await killExecCommand(join(dir, 'none'))).toBe(false);
    writeFileSync(join(dir, 'pid'), '999999999');
    expect(await killExecCommand(join(dir, 'pid'))).toBe(false);
  });
});
