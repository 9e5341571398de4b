// A StreamingBackend over host processes, for tests and local experiments:
// "containers" are names mapped to long-running host processes, exec runs the
// command on the host (under a pseudo-terminal made by util-linux `script`
// for tty sessions), and port-forward connects to 127.0.0.1.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { readFile, readlink } from 'node:fs/promises';
import { connect } from 'node:net';
import type { Duplex } from 'node:stream';
import { promisify } from 'node:util';
import type { ExecResult, StdioStreams, StreamingBackend, TerminalSize } from '../backend';

const execFileP = promisify(execFile);

function shellQuote(args: string[]): string {
  return args.map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
}

/**
 * Runs `cmd` under a pty made by util-linux `script`. `script` hands the
 * command to $SHELL; `exec` keeps that shell from staying behind as a parent
 * in the foreground process group, where dash would die of a typed Ctrl-C
 * and report 130 whatever the command did.
 */
function spawnUnderPty(cmd: string[]): ChildProcess {
  return spawn('script', ['-qfec', `exec ${shellQuote(cmd)}`, '/dev/null'], {
    stdio: 'pipe',
    env: { ...process.env, SHELL: '/bin/sh', TERM: 'xterm' },
  });
}

async function childPids(pid: number): Promise<number[]> {
  try {
    const text = await readFile(`/proc/${pid}/task/${pid}/children`, 'utf8');
    return text.split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

/** The pseudo-terminal `script` gave its child, found through the child's stdin. */
async function ptyOf(scriptPid: number): Promise<string | undefined> {
  for (let i = 0; i < 50; i++) {
    for (const child of await childPids(scriptPid)) {
      const target = await readlink(`/proc/${child}/fd/0`).catch(() => '');
      if (target.startsWith('/dev/pts/')) return target;
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  return undefined;
}

/** A host process standing in for a container's main process. */
export interface LocalContainer {
  process: ChildProcess;
  tty: boolean;
}

export class LocalProcessBackend extends EventEmitter<{ resized: [TerminalSize]; execStarted: [ChildProcess] }> implements StreamingBackend {
  readonly containers = new Map<string, LocalContainer>();
  readonly resizes: TerminalSize[] = [];
  readonly execs = new Set<ChildProcess>();

  /** Starts a "container" running `cmd` with piped stdio (under a pty when tty). */
  startContainer(id: string, cmd: string[], tty = false): LocalContainer {
    const proc = tty ? spawnUnderPty(cmd) : spawn(cmd[0]!, cmd.slice(1), { stdio: 'pipe' });
    const c = { process: proc, tty };
    this.containers.set(id, c);
    proc.on('exit', () => this.containers.delete(id));
    return c;
  }

  /** Stops every container and exec still running. */
  async stopAll(): Promise<void> {
    const procs = [...[...this.containers.values()].map((c) => c.process), ...this.execs];
    await Promise.all(
      procs.map(
        (p) =>
          new Promise<void>((resolve) => {
            if (p.exitCode !== null || p.signalCode !== null) return resolve();
            p.once('exit', () => resolve());
            p.kill('SIGKILL');
          }),
      ),
    );
  }

  async exec(containerId: string, cmd: string[], tty: boolean, streams: StdioStreams, resize: AsyncIterable<TerminalSize>, signal: AbortSignal): Promise<ExecResult> {
    if (!this.containers.has(containerId)) throw new Error(`container ${containerId} is not running`);
    const proc = tty
      ? spawnUnderPty(cmd)
      : spawn(cmd[0]!, cmd.slice(1), { stdio: 'pipe' });
    this.execs.add(proc);
    const spawned = new Promise<void>((resolve, reject) => {
      proc.once('spawn', resolve);
      proc.once('error', reject);
    });
    await spawned;
    this.emit('execStarted', proc);
    const onAbort = (): void => void proc.kill('SIGKILL');
    signal.addEventListener('abort', onAbort, { once: true });
    if (tty) void this.applyResizes(proc, resize);
    const done = this.wire(proc, streams, true);
    const code = await new Promise<number>((resolve) => proc.once('exit', (c, sig) => resolve(c ?? 128 + (sig ? 9 : 0))));
    await done;
    signal.removeEventListener('abort', onAbort);
    this.execs.delete(proc);
    return { exitCode: code };
  }

  async attach(containerId: string, tty: boolean, streams: StdioStreams, resize: AsyncIterable<TerminalSize>, signal: AbortSignal): Promise<void> {
    const c = this.containers.get(containerId);
    if (!c) throw new Error(`container ${containerId} is not running`);
    if (c.tty !== tty) throw new Error(`container ${containerId} ${c.tty ? 'has' : 'has no'} tty`);
    const proc = c.process;
    if (tty) void this.applyResizes(proc, resize);
    const unwire: (() => void)[] = [];
    const forward = (from: NodeJS.ReadableStream | null, to: NodeJS.WritableStream | undefined): void => {
      if (!from || !to) return;
      const onData = (chunk: Buffer): void => void to.write(chunk);
      from.on('data', onData);
      unwire.push(() => from.off('data', onData));
    };
    forward(proc.stdout, streams.stdout);
    forward(proc.stderr, streams.stderr);
    if (streams.stdin && proc.stdin) {
      // stdin_once is false here: the client's end of stdin is not passed on.
      const onData = (chunk: Buffer): void => void proc.stdin!.write(chunk);
      streams.stdin.on('data', onData);
      unwire.push(() => streams.stdin!.off('data', onData));
    }
    await new Promise<void>((resolve) => {
      const finish = (): void => resolve();
      signal.addEventListener('abort', finish, { once: true });
      proc.once('exit', finish);
    });
    for (const u of unwire) u();
  }

  async portForward(_podSandboxId: string, port: number, signal: AbortSignal): Promise<Duplex> {
    return new Promise((resolve, reject) => {
      const socket = connect({ host: '127.0.0.1', port, signal });
      socket.once('connect', () => {
        socket.off('error', reject);
        resolve(socket);
      });
      socket.once('error', reject);
    });
  }

  private wire(proc: ChildProcess, streams: StdioStreams, endStdin: boolean): Promise<void> {
    if (streams.stdin && proc.stdin) {
      proc.stdin.on('error', () => undefined);
      streams.stdin.pipe(proc.stdin, { end: endStdin });
    } else {
      proc.stdin?.end();
    }
    const outputs: Promise<void>[] = [];
    const copy = (from: NodeJS.ReadableStream | null, to: NodeJS.WritableStream | undefined): void => {
      if (!from) return;
      if (!to) {
        from.resume();
        return;
      }
      from.pipe(to, { end: false });
      outputs.push(new Promise((resolve) => from.once('end', () => resolve())));
    };
    copy(proc.stdout, streams.stdout);
    copy(proc.stderr, streams.stderr);
    return Promise.all(outputs).then(() => undefined);
  }

  private async applyResizes(scriptProc: ChildProcess, resize: AsyncIterable<TerminalSize>): Promise<void> {
    let pty: string | undefined;
    for await (const size of resize) {
      pty ??= await ptyOf(scriptProc.pid!);
      if (pty) await execFileP('stty', ['-F', pty, 'rows', String(size.height), 'cols', String(size.width)]).catch(() => undefined);
      this.resizes.push(size);
      this.emit('resized', size);
    }
  }
}
