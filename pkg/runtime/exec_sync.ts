// ExecSync through conmon's exec mode, as kubelet's probes need it: conmon
// runs `<runtime> exec`, reaps the command as a subreaper and exits as soon as
// the command does (after draining its output), even when a background child
// still holds stdout. Output comes back through a CRI-format log in the state
// dir (tmpfs); the exit code through conmon's sync pipe.
import { spawn } from 'node:child_process';
import { readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { KrillError } from '../errors/errors';
import { newId } from '../util/id';
import { cleanRuntimeMessage } from './conmon';
import { splitStreams } from './crilog';
import { globalArgs } from './oci_cli';
import type { ExecSyncResult, HandlerSpec } from './types';

/** Each of stdout and stderr keeps at most this much; the rest is dropped and said so. */
export const EXEC_SYNC_OUTPUT_CAP = 16 * 1024 * 1024;
/** conmon stops logging here: both streams at their cap plus the log format's per-line overhead. */
const LOG_LIMIT = 2 * EXEC_SYNC_OUTPUT_CAP + 4 * 1024 * 1024;
const TIMED_OUT = 'command timed out';

export interface ExecSyncRequest {
  conmon: string;
  handler: HandlerSpec;
  id: string;
  /** The container's OCI process spec; args are replaced by `cmd`. */
  process: Record<string, unknown>;
  cmd: string[];
  /** 0: no timeout. Whole seconds are what conmon takes; it is rounded up. */
  timeoutMs: number;
  scratchDir: string;
  signal?: AbortSignal;
}

function readExitCode(pipe: Readable): Promise<{ code?: number; message?: string }> {
  return new Promise((resolve) => {
    let buf = '';
    pipe.on('data', (b: Buffer) => (buf += b.toString('utf8')));
    pipe.once('close', () => {
      const line = buf.split('\n').find((l) => l.trim());
      if (!line) return resolve({});
      try {
        const msg = JSON.parse(line) as { exit_code?: number; message?: string };
        resolve({ code: msg.exit_code, message: msg.message });
      } catch {
        resolve({});
      }
    });
  });
}

export async function execSync(req: ExecSyncRequest): Promise<ExecSyncResult> {
  if (req.cmd.length === 0) throw new KrillError('InvalidArgument', 'cmd must not be empty');
  const base = join(req.scratchDir, `exec-${newId().slice(0, 16)}`);
  const files = { spec: `${base}.json`, log: `${base}.log`, pid: `${base}.pid` };
  await writeFile(files.spec, JSON.stringify({ ...req.process, args: req.cmd, terminal: false }));
  const args = [
    '-c', req.id, '-n', req.id, '-r', req.handler.binary,
    '-p', files.pid, '-e', '--sync',
    '-l', files.log, '--log-global-size-max', String(LOG_LIMIT),
    '--exec-process-spec', files.spec, '--log-level', 'error',
  ];
  for (const a of globalArgs(req.handler)) args.push('--runtime-arg', a);
  if (req.handler.systemdCgroup) args.push('-s');
  if (req.timeoutMs > 0) args.push('-T', String(Math.ceil(req.timeoutMs / 1000)));

  const child = spawn(req.conmon, args, { stdio: ['ignore', 'ignore', 'pipe', 'pipe'], env: { ...process.env, _OCI_SYNCPIPE: '3' } });
  let stderr = '';
  child.stderr!.on('data', (b: Buffer) => (stderr += b.toString('utf8')));
  const exitMsg = readExitCode(child.stdio[3] as Readable);
  let cancelled = false;
  const onAbort = (): void => {
    cancelled = true;
    child.kill('SIGKILL');
  };
  req.signal?.addEventListener('abort', onAbort, { once: true });
  try {
    await new Promise<void>((resolve, reject) => {
      child.once('error', (e) => reject(new KrillError('Internal', `cannot run conmon: ${e.message}`)));
      child.once('close', () => resolve());
    });
    if (cancelled) throw new KrillError('Cancelled', 'ExecSync was cancelled');
    const msg = await exitMsg;
    if (msg.message === TIMED_OUT) {
      throw new KrillError('DeadlineExceeded', `command ${JSON.stringify(req.cmd)} timed out after ${req.timeoutMs / 1000}s`);
    }
    if (msg.code === undefined || msg.code < 0) {
      const why = cleanRuntimeMessage(msg.message ?? stderr) || 'conmon reported no exit code';
      // The runtime could not start the command (missing binary, container gone): kubelet reads this as a failed probe.
      // Shells say 127 for a command not found and 126 for one that cannot run; so do we.
      const exitCode = /not found|no such file/i.test(why) ? 127 : 126;
      return { stdout: Buffer.alloc(0), stderr: Buffer.from(`${why}\n`), exitCode, truncated: false };
    }
    const [log, size] = await Promise.all([readFile(files.log).catch(() => Buffer.alloc(0)), stat(files.log).then((s) => s.size, () => 0)]);
    const streams = splitStreams(log);
    const truncated = size >= LOG_LIMIT || streams.stdout.length > EXEC_SYNC_OUTPUT_CAP || streams.stderr.length > EXEC_SYNC_OUTPUT_CAP;
    const note = truncated ? Buffer.from(`\n[krill: output truncated to ${EXEC_SYNC_OUTPUT_CAP} bytes per stream]\n`) : Buffer.alloc(0);
    return {
      stdout: streams.stdout.subarray(0, EXEC_SYNC_OUTPUT_CAP),
      stderr: Buffer.concat([streams.stderr.subarray(0, EXEC_SYNC_OUTPUT_CAP), note]),
      exitCode: msg.code,
      truncated,
    };
  } finally {
    req.signal?.removeEventListener('abort', onAbort);
    await Promise.all(Object.values(files).map((f) => rm(f, { force: true })));
  }
}
