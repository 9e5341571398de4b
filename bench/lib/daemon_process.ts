// A daemon the bench starts: its output to a log file, ready once its CRI
// socket answers Version, stopped with SIGTERM (SIGKILL after a grace period).
import { spawn, type ChildProcess } from 'node:child_process';
import { openSync, closeSync, readFileSync } from 'node:fs';
import type { CriClient } from '../../pkg/criclient/client';

export interface DaemonProcess {
  /** The running process (a new one after restart()). */
  readonly child: ChildProcess;
  logFile: string;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves when it has exited. */
  stop(graceMs?: number): Promise<void>;
  /** Stops it (SIGTERM; its containers keep running) and starts it again: milliseconds from the start until it answers. */
  restart(): Promise<number>;
}

function exited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null;
}

function tail(file: string, lines = 30): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}

async function stopChild(child: ChildProcess, graceMs: number): Promise<void> {
  if (exited(child)) return;
  const done = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await done;
  clearTimeout(timer);
}

export async function startDaemon(opts: {
  name: string;
  file: string;
  args: string[];
  env?: NodeJS.ProcessEnv;
  logFile: string;
  client: CriClient;
  timeoutMs?: number;
}): Promise<DaemonProcess> {
  const launch = async (): Promise<ChildProcess> => {
    const fd = openSync(opts.logFile, 'a');
    // Its own process group: a Ctrl-C in the terminal reaches the bench, which
    // then stops the daemon in order (pods first) instead of having it die mid-work.
    const child = spawn(opts.file, opts.args, { stdio: ['ignore', fd, fd], env: { ...process.env, ...opts.env }, detached: true });
    closeSync(fd);
    const deadline = Date.now() + (opts.timeoutMs ?? 30_000);
    for (;;) {
      if (exited(child)) throw new Error(`${opts.name} exited (${child.exitCode ?? child.signalCode}) before serving:\n${tail(opts.logFile)}`);
      try {
        await opts.client.runtime.version({ version: '' }, { timeoutMs: 1000 });
        return child;
      } catch {
        if (Date.now() > deadline) {
          await stopChild(child, 5000);
          throw new Error(`${opts.name} did not answer on its socket in time:\n${tail(opts.logFile)}`);
        }
        await new Promise((r) => setTimeout(r, 20));
      }
    }
  };
  let child = await launch();
  return {
    get child() {
      return child;
    },
    logFile: opts.logFile,
    stop: (graceMs = 30_000) => stopChild(child, graceMs),
    restart: async () => {
      await stopChild(child, 30_000);
      const start = performance.now();
      child = await launch();
      return performance.now() - start;
    },
  };
}
