// What a krilld that died (SIGKILL, crash) leaves of its exec sessions: their
// commands, still running in containers with nobody connected, and their
// files under the state directory. On start, krilld kills those commands
// (a client that went away takes its command with it) and removes the files.
// A command is killed only if its pid still names the process that runc
// recorded: one that started before the pid file was written.
import { readdir, readFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';

/** Linux reports process start times in USER_HZ ticks, 100 a second on every architecture it runs on. */
const USER_HZ = 100;

/** When the process started, in ms since the epoch, from /proc/<pid>/stat and the boot time; undefined if it is gone. */
async function processStart(pid: number): Promise<number | undefined> {
  try {
    const [statText, procStat] = await Promise.all([readFile(`/proc/${pid}/stat`, 'utf8'), readFile('/proc/stat', 'utf8')]);
    return startFromProc(statText, procStat);
  } catch {
    return undefined;
  }
}

/** The start time (ms since the epoch) a /proc/<pid>/stat text gives, with /proc/stat's btime. */
export function startFromProc(pidStat: string, procStat: string): number | undefined {
  // Fields after the command name (which may hold spaces and parentheses): state is field 3, starttime field 22.
  const fields = pidStat.slice(pidStat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[22 - 3]);
  const btime = Number(/^btime (\d+)$/m.exec(procStat)?.[1]);
  if (!Number.isFinite(ticks) || !Number.isFinite(btime)) return undefined;
  return btime * 1000 + (ticks * 1000) / USER_HZ;
}

/**
 * Whether a process that started at `startedMs` can be the one whose pid was
 * written at `pidWrittenMs`: it must have started first. btime has whole
 * seconds, so the comparison allows a second of slack.
 */
export function sameProcess(startedMs: number, pidWrittenMs: number): boolean {
  return startedMs <= pidWrittenMs + 1000;
}

async function killRecorded(pidFile: string): Promise<boolean> {
  try {
    const [text, st] = await Promise.all([readFile(pidFile, 'utf8'), stat(pidFile)]);
    const pid = Number.parseInt(text, 10);
    if (!(pid > 1)) return false;
    const started = await processStart(pid);
    if (started === undefined || !sameProcess(started, st.mtimeMs)) return false;
    process.kill(pid, 'SIGKILL');
    return true;
  } catch {
    return false;
  }
}

/**
 * Ends what earlier runs left in `scratchDir` (ExecSync's exec-<id>.json/.pid
 * files and streaming sessions' directories) and the sessions' links in
 * `attachDir`. Returns how many commands were killed and entries removed.
 */
export async function sweepExecSessions(scratchDir: string, attachDir: string): Promise<{ killed: number; removed: number }> {
  let killed = 0;
  let removed = 0;
  const entries = await readdir(scratchDir, { withFileTypes: true }).catch(() => []);
  for (const e of entries) {
    const path = join(scratchDir, e.name);
    if (e.isDirectory()) {
      if (await killRecorded(join(path, 'pid'))) killed++;
      await rm(join(attachDir, e.name), { force: true });
    } else if (e.name.endsWith('.pid')) {
      if (await killRecorded(path)) killed++;
    }
    await rm(path, { recursive: true, force: true });
    removed++;
  }
  return { killed, removed };
}
