// Streaming exec (kubectl exec, crictl exec -i/-t) through conmon's
// exec-attach mode: conmon allocates the terminal when asked, serves the
// session's stdio on an attach socket, applies resizes from its ctl FIFO and
// reports the exit code. The handshake:
//   start byte 1 → conmon sets up the attach socket → "ready" on the attach
//   pipe → we connect → start byte 2 → the runtime execs → pid, later exit code
//   on the sync pipe.
import { rm } from 'node:fs/promises';
import { ensureDir, PRIVATE_DIR, PRIVATE_FILE, writeFileMode } from '../util/modes';
import { join } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { KrillError } from '../errors/errors';
import { newId } from '../util/id';
import type { Launcher } from '../spawn/launcher';
import { attachSocket, type AttachIO } from './attach';
import { cleanRuntimeMessage } from './conmon';
import { resizeTerminal } from './ctl';
import { killExecCommand } from './exec_kill';
import { globalArgs } from './oci_cli';
import type { HandlerSpec } from './types';

export interface ExecAttachRequest {
  launcher: Launcher;
  conmon: string;
  /** The krill-seqpacket helper. */
  helper: string;
  handler: HandlerSpec;
  /** The container. */
  id: string;
  process: Record<string, unknown>;
  cmd: string[];
  tty: boolean;
  io: AttachIO;
  /** Sessions get <scratchDir>/<session id>/ and their sockets under <attachDir>. */
  scratchDir: string;
  attachDir: string;
}

export interface ExecSession {
  resize(width: number, height: number): Promise<void>;
  /** Resolves with the command's exit code once it has exited and its output is delivered. */
  done: Promise<{ exitCode: number }>;
  /** Kills the command (the client went away). */
  kill(): void;
}

/** Yields conmon's JSON messages ({"data": n, "message"?: s}) from a pipe, one per line. */
function messages(pipe: Readable): () => Promise<{ data: number; message?: string } | undefined> {
  const queue: { data: number; message?: string }[] = [];
  const waiters: ((m: { data: number; message?: string } | undefined) => void)[] = [];
  let buf = '';
  let ended = false;
  pipe.on('data', (b: Buffer) => {
    buf += b.toString('utf8');
    for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      if (!line.trim()) continue;
      try {
        const msg = JSON.parse(line) as { data: number; message?: string };
        const w = waiters.shift();
        if (w) w(msg);
        else queue.push(msg);
      } catch {
        // not a message
      }
    }
  });
  const end = (): void => {
    ended = true;
    for (const w of waiters.splice(0)) w(undefined);
  };
  pipe.once('end', end);
  pipe.once('close', end);
  pipe.once('error', end);
  return () => {
    const m = queue.shift();
    if (m || ended) return Promise.resolve(m);
    return new Promise((resolve) => waiters.push(resolve));
  };
}

export async function execAttached(req: ExecAttachRequest): Promise<ExecSession> {
  if (req.cmd.length === 0) throw new KrillError('InvalidArgument', 'cmd must not be empty');
  const session = newId();
  const dir = join(req.scratchDir, session);
  await ensureDir(dir, PRIVATE_DIR);
  const spec = join(dir, 'process.json');
  // The spec carries the container's environment (Secrets, often): root's alone.
  await writeFileMode(spec, JSON.stringify({ ...req.process, args: req.cmd, terminal: req.tty }), PRIVATE_FILE);
  const args = [
    '--api-version', '1', '-c', req.id, '-u', session, '-n', req.id, '-r', req.handler.binary,
    '-b', dir, '-p', join(dir, 'pid'), '-e', '--exec-attach', '--exec-process-spec', spec,
    // The session's output is streamed, not logged: conmon needs a log, so it gets a tiny one.
    '-l', join(dir, 'log'), '--log-global-size-max', '1',
    '--socket-dir-path', req.attachDir, '--sync', '--log-level', 'error',
  ];
  for (const a of globalArgs(req.handler)) args.push('--runtime-arg', a);
  if (req.handler.systemdCgroup) args.push('-s');
  if (req.tty) args.push('-t');
  if (req.io.stdin) args.push('-i');

  const child = req.launcher.spawn(req.conmon, args, {
    cwd: dir,
    runtimeUmask: true,
    stdio: ['ignore', 'ignore', 'pipe', 'output', 'input', 'output'],
    env: { ...process.env, _OCI_SYNCPIPE: '3', _OCI_STARTPIPE: '4', _OCI_ATTACHPIPE: '5' },
  });
  let stderr = '';
  child.stderr!.on('data', (b: Buffer) => (stderr += b.toString('utf8')));
  const pipes = child.stdio as unknown as (Readable & Writable)[];
  const sync = messages(pipes[3]!);
  const startPipe: Writable = pipes[4]!;
  const attachReady = messages(pipes[5]!);
  const exited = new Promise<void>((resolve) => child.once('close', () => resolve()));
  // conmon leaves the symlink it makes under the attach dir (it unlinks only the socket inside).
  const cleanup = (): Promise<void> =>
    Promise.all([rm(dir, { recursive: true, force: true }), rm(join(req.attachDir, session), { force: true })]).then(() => undefined);

  try {
    await new Promise<void>((resolve, reject) => {
      child.once('spawn', resolve);
      child.once('error', (e) => reject(new KrillError('Internal', `cannot run conmon: ${e.message}`)));
    });
    startPipe.write(Buffer.from([0]));
    const ready = await attachReady();
    if (!ready) throw new KrillError('Internal', `conmon did not set up the exec session: ${stderr.trim()}`);
  } catch (err) {
    child.kill('SIGKILL');
    await exited;
    await cleanup();
    throw err;
  }

  const attached = attachSocket(req.launcher, req.helper, join(req.attachDir, session, 'attach'), req.io);
  // Let the command run only once we are connected, so no output is lost.
  startPipe.end(Buffer.from([0]));

  const done = (async () => {
    try {
      const started = await sync();
      if (!started || started.data < 0) {
        throw new KrillError('Internal', `exec failed: ${cleanRuntimeMessage(started?.message ?? stderr) || 'the runtime reported no process'}`);
      }
      const ended = await sync();
      await Promise.race([attached.done.catch(() => undefined), new Promise((r) => setTimeout(r, 1000))]);
      if (!ended) throw new KrillError('Internal', `exec session ended without an exit code: ${stderr.trim()}`);
      return { exitCode: ended.data < 0 ? 255 : ended.data };
    } finally {
      attached.close();
      await exited;
      await cleanup();
    }
  })();

  return {
    resize: (width, height) => resizeTerminal(join(dir, 'ctl'), width, height),
    done,
    kill: () => {
      // The command (and its group), so that conmon reaps it and reports; conmon only if there is none.
      void killExecCommand(join(dir, 'pid')).then((killed) => {
        if (!killed) child.kill('SIGKILL');
      });
    },
  };
}
