// ExecSync, as kubelet's probes need it: the krill-exec monitor (cmd/krill-exec)
// runs `<runtime> exec --detach`, reaps the command as a subreaper and reports
// its exit code on fd 3 as soon as it exits. At the timeout krilld kills the
// command (the monitor still reaps it). This is conmon's exec mode without
// conmon's start-up cost, which was most of an ExecSync's latency.
//
// The command's stdout and stderr are pipes straight to krilld (the runtime
// hands the monitor's stdio to the command): bytes arrive exactly as written,
// and the cap applies as they come. A background child that keeps the pipes
// open does not hold the call: once the exit code is in, whatever is already
// in the pipes is read for a short while and the pipes are closed.
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { KrillError } from '../errors/errors';
import { newId } from '../util/id';
import type { Launcher } from '../spawn/launcher';
import { cleanRuntimeMessage } from './conmon';
import { killExecCommand } from './exec_kill';
import { CappedBuffer, EXEC_SYNC_OUTPUT_BUDGET, fitOutput } from './exec_output';
import { globalArgs } from './oci_cli';
import type { ExecSyncResult, HandlerSpec } from './types';
import { PRIVATE_FILE, writeFileMode } from '../util/modes';
import { crashPoint } from '../util/crash_points';

export { EXEC_SYNC_OUTPUT_BUDGET } from './exec_output';

/** How long the monitor gets to report a command we killed before it is killed too. */
const KILL_GRACE_MS = 5000;
/**
 * After the command exited, how long its pipes may stay open (held by a
 * background child) before they are closed. What the command wrote is in the
 * pipe buffers by then and is read in a few event-loop turns.
 */
const DRAIN_MS = 200;

export interface ExecSyncRequest {
  launcher: Launcher;
  /** The krill-exec monitor. */
  helper: string;
  handler: HandlerSpec;
  id: string;
  /** The container's OCI process spec; args are replaced by `cmd`. */
  process: Record<string, unknown>;
  cmd: string[];
  /** 0: no timeout. */
  timeoutMs: number;
  scratchDir: string;
  signal?: AbortSignal;
}

/** The monitor's report on fd 3: "exit N" (the command's status) or "runtime N" (the runtime failed). */
function readReport(pipe: Readable): Promise<{ kind?: 'exit' | 'runtime'; code?: number }> {
  return new Promise((resolve) => {
    let buf = '';
    pipe.on('data', (b: Buffer) => (buf += b.toString('utf8')));
    pipe.on('error', () => undefined);
    pipe.once('close', () => {
      const m = /^(exit|runtime) (-?\d+)$/m.exec(buf);
      resolve(m ? { kind: m[1] as 'exit' | 'runtime', code: Number(m[2]) } : {});
    });
  });
}

/** Resolves when the stream has ended (or was destroyed). */
function ended(stream: Readable): Promise<void> {
  if (stream.readableEnded || stream.destroyed) return Promise.resolve();
  return new Promise((resolve) => {
    stream.once('end', resolve);
    stream.once('close', resolve);
  });
}

export async function execSync(req: ExecSyncRequest): Promise<ExecSyncResult> {
  if (req.cmd.length === 0) throw new KrillError('InvalidArgument', 'cmd must not be empty');
  const base = join(req.scratchDir, `exec-${newId().slice(0, 16)}`);
  const files = { spec: `${base}.json`, pid: `${base}.pid` };
  // The spec carries the container's environment (Secrets, often): root's alone.
  await writeFileMode(files.spec, JSON.stringify({ ...req.process, args: req.cmd, terminal: false }), PRIVATE_FILE);
  crashPoint('exec.spec-written');
  const args = [files.pid, req.handler.binary, ...globalArgs(req.handler), 'exec', '--detach', '--pid-file', files.pid, '--process', files.spec, req.id];
  const child = req.launcher.spawn(req.helper, args, { stdio: ['ignore', 'pipe', 'pipe', 'output'], runtimeUmask: true });
  const stdout = child.stdout!;
  const stderr = child.stderr!;
  const out = new CappedBuffer(EXEC_SYNC_OUTPUT_BUDGET);
  const err = new CappedBuffer(EXEC_SYNC_OUTPUT_BUDGET);
  stdout.on('data', (b: Buffer) => out.push(b));
  stderr.on('data', (b: Buffer) => err.push(b));
  stdout.on('error', () => undefined);
  stderr.on('error', () => undefined);
  const report = readReport(child.stdio[3] as Readable);
  let exited = false;
  const conmonExit = new Promise<void>((resolve, reject) => {
    child.once('error', (e) => reject(new KrillError('Internal', `cannot run ${req.helper}: ${e.message}`)));
    child.once('exit', () => {
      exited = true;
      resolve();
    });
  });
  // At the timeout the command dies by our hand; the monitor reaps it and reports, so no zombie outlives the call.
  let ending: 'timeout' | 'cancel' | undefined;
  let lastResort: NodeJS.Timeout | undefined;
  const end = (why: 'timeout' | 'cancel'): void => {
    if (ending || exited) return;
    ending = why;
    void (async () => {
      // Until the runtime has written the pid, there is nothing to kill yet.
      while (!exited && !(await killExecCommand(files.pid))) await new Promise((r) => setTimeout(r, 50));
    })();
    lastResort = setTimeout(() => child.kill('SIGKILL'), KILL_GRACE_MS);
  };
  const timer = req.timeoutMs > 0 ? setTimeout(() => end('timeout'), req.timeoutMs) : undefined;
  const onAbort = (): void => end('cancel');
  if (req.signal?.aborted) onAbort();
  else req.signal?.addEventListener('abort', onAbort, { once: true });
  let drainTimer: NodeJS.Timeout | undefined;
  try {
    await conmonExit;
    clearTimeout(timer);
    await Promise.race([
      Promise.all([ended(stdout), ended(stderr)]),
      new Promise<void>((resolve) => (drainTimer = setTimeout(resolve, DRAIN_MS))),
    ]);
    if (ending === 'cancel') throw new KrillError('Cancelled', 'ExecSync was cancelled');
    if (ending === 'timeout') {
      throw new KrillError('DeadlineExceeded', `command ${JSON.stringify(req.cmd)} timed out after ${req.timeoutMs / 1000}s`);
    }
    const msg = await report;
    if (msg.kind !== 'exit' || msg.code === undefined) {
      // The runtime could not start the command (missing binary, container gone); its error is on our
      // stderr pipe. kubelet reads this as a failed probe.
      // Shells say 127 for a command not found and 126 for one that cannot run; so do we.
      const why = cleanRuntimeMessage(err.bytes().toString('utf8')) || 'the runtime reported no exit code';
      const exitCode = /not found|no such file/i.test(why) ? 127 : 126;
      return { stdout: Buffer.alloc(0), stderr: Buffer.from(`${why}\n`), exitCode, truncated: false };
    }
    const fitted = fitOutput(out.bytes(), err.bytes(), out.total, err.total);
    return { ...fitted, exitCode: msg.code };
  } finally {
    clearTimeout(timer);
    clearTimeout(lastResort);
    clearTimeout(drainTimer);
    req.signal?.removeEventListener('abort', onAbort);
    // A background child may hold the other ends for as long as it lives.
    stdout.destroy();
    stderr.destroy();
    await Promise.all(Object.values(files).map((f) => rm(f, { force: true })));
  }
}
