import { spawn } from 'node:child_process';
import { alive, allProcesses, cpuSeconds, descendants, memoryOf, procInfo, sumMemory } from './proc';

describe('reading /proc', () => {
  test('this process: its info, memory (PSS never above RSS) and CPU time', () => {
    const me = procInfo(process.pid)!;
    expect(me.ppid).toBe(process.ppid);
    expect(me.cmdline.length).toBeGreaterThan(0);
    const m = memoryOf(process.pid)!;
    expect(m.rss).toBeGreaterThan(1024 * 1024);
    expect(m.pss).toBeGreaterThan(0);
    expect(m.pss).toBeLessThanOrEqual(m.rss);
    expect(cpuSeconds(process.pid)).toBeGreaterThan(0);
    expect(alive(process.pid)).toBe(true);
  });

  test('a gone pid reads as undefined, not as zero', () => {
    const gone = 2 ** 22 + 1; // above any pid_max
    expect(procInfo(gone)).toBeUndefined();
    expect(memoryOf(gone)).toBeUndefined();
    expect(cpuSeconds(gone)).toBeUndefined();
    expect(alive(gone)).toBe(false);
    expect(sumMemory([gone])).toEqual({ rss: 0, pss: 0, processes: 0 });
  });

  test('descendants finds a child and its grandchild', async () => {
    // Its own process group, so that the grandchild goes too.
    const child = spawn('/bin/sh', ['-c', 'sleep 30 & wait'], { stdio: 'ignore', detached: true });
    try {
      let tree: number[] = [];
      for (let i = 0; i < 200 && tree.length < 3; i++) {
        tree = descendants(process.pid, allProcesses()).map((p) => p.pid);
        await new Promise((r) => setTimeout(r, 10));
      }
      expect(tree[0]).toBe(process.pid);
      expect(tree).toContain(child.pid);
      expect(tree.length).toBeGreaterThanOrEqual(3);
    } finally {
      process.kill(-child.pid!, 'SIGKILL');
    }
  });
});
