// Killing an exec'd command (a timeout, or a client that went away) while its
// conmon lives on: conmon is the command's parent and a subreaper, so it reaps
// what dies and reports the exit. Killing conmon instead would leave the
// command running, or a zombie for some far-off reaper. The runtime makes the
// command a session (and group) leader; its whole group goes, so a shell's
// children die with it.
import { readFile } from 'node:fs/promises';

/** The process group in a /proc/<pid>/stat text (field 5). */
export function pgidFromStat(stat: string): number | undefined {
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const pgid = Number(fields[5 - 3]);
  return Number.isInteger(pgid) && pgid > 0 ? pgid : undefined;
}

/**
 * SIGKILLs the command whose pid the runtime wrote to `pidFile`, with its
 * process group when it leads one. False when there is no such process (yet).
 */
export async function killExecCommand(pidFile: string): Promise<boolean> {
  try {
    const pid = Number.parseInt(await readFile(pidFile, 'utf8'), 10);
    if (!(pid > 1)) return false;
    const pgid = pgidFromStat(await readFile(`/proc/${pid}/stat`, 'utf8'));
    process.kill(pgid === pid ? -pid : pid, 'SIGKILL');
    return true;
  } catch {
    return false;
  }
}
