// Reading processes from /proc: command lines, parents, memory (RSS and PSS)
// and CPU time, for the density benchmark and for finding a daemon's helpers.
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';

export interface ProcInfo {
  pid: number;
  ppid: number;
  /** The executable's path (readlink /proc/pid/exe), '' when unreadable. */
  exe: string;
  cmdline: string[];
}

/** Fields of /proc/<pid>/stat after the command name (which may hold spaces). */
function statFields(pid: number): string[] | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return undefined;
  }
}

export function procInfo(pid: number): ProcInfo | undefined {
  const fields = statFields(pid);
  if (!fields) return undefined;
  let exe = '';
  let cmdline: string[] = [];
  try {
    exe = readlinkSync(`/proc/${pid}/exe`);
  } catch {
    // kernel thread or exited
  }
  try {
    cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter((s) => s !== '');
  } catch {
    return undefined;
  }
  return { pid, ppid: Number(fields[1]), exe, cmdline };
}

export function allProcesses(): ProcInfo[] {
  const out: ProcInfo[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const p = procInfo(Number(name));
    if (p) out.push(p);
  }
  return out;
}

/** `pid` and every process below it. */
export function descendants(root: number, procs: readonly ProcInfo[] = allProcesses()): ProcInfo[] {
  const byParent = new Map<number, ProcInfo[]>();
  for (const p of procs) byParent.set(p.ppid, [...(byParent.get(p.ppid) ?? []), p]);
  const out: ProcInfo[] = [];
  const self = procs.find((p) => p.pid === root);
  const queue = self ? [self] : [];
  while (queue.length > 0) {
    const p = queue.shift()!;
    out.push(p);
    queue.push(...(byParent.get(p.pid) ?? []));
  }
  return out;
}

export interface Memory {
  /** Resident set size, bytes. */
  rss: number;
  /** Proportional set size, bytes: shared pages divided among their users. */
  pss: number;
}

/** RSS and PSS of `pid` from /proc/<pid>/smaps_rollup; undefined when it is gone. */
export function memoryOf(pid: number): Memory | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
    const kb = (key: string): number => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? 0) * 1024;
    return { rss: kb('Rss'), pss: kb('Pss') };
  } catch {
    return undefined;
  }
}

export function sumMemory(pids: readonly number[]): Memory & { processes: number } {
  let rss = 0;
  let pss = 0;
  let processes = 0;
  for (const pid of pids) {
    const m = memoryOf(pid);
    if (!m) continue;
    rss += m.rss;
    pss += m.pss;
    processes++;
  }
  return { rss, pss, processes };
}

let ticksPerSecond: number | undefined;

function clockTicks(): number {
  if (ticksPerSecond === undefined) {
    try {
      ticksPerSecond = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      ticksPerSecond = 100;
    }
  }
  return ticksPerSecond;
}

/** User + system CPU seconds `pid` has used (its own, not its reaped children's). */
export function cpuSeconds(pid: number): number | undefined {
  const f = statFields(pid);
  if (!f) return undefined;
  // After the name: state(0) ppid(1) ... utime(11) stime(12)
  return (Number(f[11]) + Number(f[12])) / clockTicks();
}

/** User + system CPU seconds of `pid` and of its children that it has reaped. */
export function cpuSecondsWithChildren(pid: number): number | undefined {
  const f = statFields(pid);
  if (!f) return undefined;
  // cutime(13) cstime(14)
  return (Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14])) / clockTicks();
}

/** Whether `pid` still exists (and is not a zombie). */
export function alive(pid: number): boolean {
  const f = statFields(pid);
  return f !== undefined && f[0] !== 'Z';
}
