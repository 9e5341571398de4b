// Exit codes as conmon records them: one file per container in the exit
// directory (volatile) and an `exit` file in its persistent directory, both
// holding the code; the file's mtime is the exit time. An `oom` file beside
// the persistent one means the kernel OOM-killed something in the container.
import { EventEmitter } from 'node:events';
import { watch, type FSWatcher } from 'node:fs';
import { access, mkdir, readFile, stat } from 'node:fs/promises';
import { basename } from 'node:path';
import type { ContainerPaths } from './paths';
import type { ExitInfo } from './types';

async function readExitFile(file: string): Promise<{ code: number; mtimeNs: bigint } | undefined> {
  try {
    const [text, st] = await Promise.all([readFile(file, 'utf8'), stat(file, { bigint: true })]);
    const code = Number.parseInt(text.trim(), 10);
    if (!Number.isFinite(code)) return undefined;
    return { code, mtimeNs: st.mtimeNs };
  } catch {
    return undefined;
  }
}

async function exists(file: string): Promise<boolean> {
  try {
    await access(file);
    return true;
  } catch {
    return false;
  }
}

/** The recorded exit of container `id`, or undefined while it has not exited. */
export async function readExit(paths: ContainerPaths, id: string): Promise<ExitInfo | undefined> {
  const found = (await readExitFile(paths.exitFile(id))) ?? (await readExitFile(paths.persistedExitFile(id)));
  if (!found) return undefined;
  // conmon writes -1 when it could not learn the status (e.g. a timed-out exec).
  const exitCode = found.code < 0 ? 255 : found.code;
  return { exitCode, finishedAt: found.mtimeNs, oomKilled: await exists(paths.oomFile(id)) };
}

/**
 * Emits `exit` (id) whenever conmon writes an exit file. Missed events are
 * harmless: readers always re-check the file itself.
 */
export class ExitWatcher extends EventEmitter<{ exit: [id: string] }> {
  private watcher: FSWatcher | undefined;

  constructor(private readonly paths: ContainerPaths) {
    super();
    this.setMaxListeners(0);
  }

  async start(): Promise<void> {
    await mkdir(this.paths.exitDir, { recursive: true });
    this.watcher = watch(this.paths.exitDir, (_event, filename) => {
      if (!filename) return;
      const name = basename(filename.toString());
      // conmon writes a temporary file and renames it into place.
      if (/^[0-9a-f]{64}$/.test(name)) this.emit('exit', name);
    });
    this.watcher.on('error', () => undefined);
  }

  stop(): void {
    this.watcher?.close();
    this.watcher = undefined;
  }

  /** Resolves with the exit once recorded, or undefined after `timeoutMs`. */
  async waitFor(id: string, timeoutMs: number, pollMs = 250): Promise<ExitInfo | undefined> {
    const already = await readExit(this.paths, id);
    if (already) return already;
    return new Promise((resolve) => {
      let done = false;
      const finish = (info: ExitInfo | undefined): void => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        clearInterval(poll);
        this.off('exit', onExit);
        resolve(info);
      };
      const check = (): void => {
        void readExit(this.paths, id).then((info) => info && finish(info));
      };
      const onExit = (exited: string): void => {
        if (exited === id) check();
      };
      this.on('exit', onExit);
      // fs.watch can miss an event under load; a slow poll backs it up.
      const poll = setInterval(check, pollMs);
      const timer = setTimeout(() => finish(undefined), timeoutMs);
    });
  }
}
