// The agent's drop-ins in krilld's krill.d/ and the reload that makes krilld
// read them. A change goes in as: write the file (atomically), Admin/Reload;
// when that fails, the previous content goes back and krilld reloads again, so
// that the files on disk are always ones krilld accepted.
import { mkdir, readFile, rename, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '../log/logger';
import type { ReloadResult } from './cluster_config';
import type { AgentMetrics } from './metrics';
import { ReloadError, type KrillRuntime } from './runtime';

export type DropinOutcome = { ok: true; result: ReloadResult } | { ok: false; kind: 'rejected' | 'unavailable'; message: string };

export class Dropins {
  /** Reloads run one at a time (both controllers write drop-ins). */
  private queue: Promise<unknown> = Promise.resolve();
  private readonly listeners: ((r: ReloadResult) => void)[] = [];

  constructor(
    readonly dir: string,
    private readonly runtime: KrillRuntime,
    private readonly metrics: AgentMetrics,
    private readonly log: Logger,
  ) {}

  /** Called after every successful reload (node annotations, restart handling). */
  onReloaded(cb: (r: ReloadResult) => void): void {
    this.listeners.push(cb);
  }

  async read(name: string): Promise<string | null> {
    try {
      return await readFile(join(this.dir, name), 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw err;
    }
  }

  /** Puts `content` (null: no file) in place and reloads; on failure restores what was there. */
  set(name: string, content: string | null): Promise<DropinOutcome> {
    return this.serial(async () => {
      const before = await this.read(name);
      if (before !== content) await this.write(name, content);
      const outcome = await this.reloadOnce();
      if (!outcome.ok && before !== content) {
        await this.write(name, before);
        const again = await this.reloadOnce();
        this.log.warn({ file: name, reason: outcome.message, restored_reload_ok: again.ok }, 'reload failed: restored the previous drop-in');
      }
      return outcome;
    });
  }

  /** Removes the file and reloads, keeping it removed whatever the reload says (uninstall); undefined when there was no file. */
  remove(name: string): Promise<DropinOutcome | undefined> {
    return this.serial(async () => {
      if ((await this.read(name)) === null) return undefined;
      await this.write(name, null);
      return this.reloadOnce();
    });
  }

  /** Reloads without changing a file (to learn the hash at start). */
  reload(): Promise<DropinOutcome> {
    return this.serial(() => this.reloadOnce());
  }

  private async reloadOnce(): Promise<DropinOutcome> {
    try {
      const result = await this.runtime.reload();
      this.metrics.reloads.inc({ result: 'ok' });
      for (const l of this.listeners) l(result);
      return { ok: true, result };
    } catch (err) {
      const kind = err instanceof ReloadError ? err.kind : 'unavailable';
      this.metrics.reloads.inc({ result: kind === 'rejected' ? 'rejected' : 'error' });
      return { ok: false, kind, message: err instanceof Error ? err.message : String(err) };
    }
  }

  private async write(name: string, content: string | null): Promise<void> {
    const file = join(this.dir, name);
    if (content === null) {
      await unlink(file).catch((err: NodeJS.ErrnoException) => {
        if (err.code !== 'ENOENT') throw err;
      });
      return;
    }
    await mkdir(this.dir, { recursive: true, mode: 0o755 });
    const tmp = join(this.dir, `.${name}.${process.pid}.tmp`);
    await writeFile(tmp, content, { mode: 0o644 });
    await rename(tmp, file);
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn, fn);
    this.queue = run.catch(() => undefined);
    return run;
  }
}
