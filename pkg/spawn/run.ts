// Runs a child process to its end through a Launcher: output collected, an
// optional timeout and abort signal, stdin from a buffer.
import type { Launcher } from './launcher';

export interface RunOptions {
  input?: string | Buffer;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Kill with SIGKILL after this many milliseconds. */
  timeoutMs?: number;
  signal?: AbortSignal;
  /** Cap on bytes kept of each of stdout and stderr (default 16 MiB). */
  maxOutputBytes?: number;
  /** umask 022 instead of krilld's 077 (see SpawnOptions.runtimeUmask). */
  runtimeUmask?: boolean;
}

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
}

export class CommandError extends Error {
  constructor(
    readonly command: string,
    readonly result: RunResult,
  ) {
    const why = result.timedOut ? 'timed out' : result.signal ? `was killed by ${result.signal}` : `exited with code ${result.code}`;
    const detail = (result.stderr.trim() || result.stdout.trim()).split('\n').slice(-5).join('\n');
    super(`${command} ${why}${detail ? `: ${detail}` : ''}`);
    this.name = 'CommandError';
  }
}

export function run(launcher: Launcher, file: string, args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  const max = opts.maxOutputBytes ?? 16 * 1024 * 1024;
  return new Promise((resolve, reject) => {
    const child = launcher.spawn(file, args, { env: opts.env ?? process.env, cwd: opts.cwd, stdio: ['pipe', 'pipe', 'pipe'], runtimeUmask: opts.runtimeUmask });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let outLen = 0;
    let errLen = 0;
    let timedOut = false;
    child.stdout!.on('data', (b: Buffer) => {
      if (outLen < max) out.push(b);
      outLen += b.length;
    });
    child.stderr!.on('data', (b: Buffer) => {
      if (errLen < max) err.push(b);
      errLen += b.length;
    });
    const timer = opts.timeoutMs
      ? setTimeout(() => {
          timedOut = true;
          child.kill('SIGKILL');
        }, opts.timeoutMs)
      : undefined;
    const onAbort = (): void => {
      child.kill('SIGKILL');
    };
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    child.on('error', (e) => {
      if (timer) clearTimeout(timer);
      opts.signal?.removeEventListener('abort', onAbort);
      reject(e);
    });
    child.on('close', (code, signal) => {
      if (timer) clearTimeout(timer);
      opts.signal?.removeEventListener('abort', onAbort);
      resolve({
        code,
        signal,
        timedOut,
        stdout: Buffer.concat(out).toString('utf8', 0, Math.min(outLen, max)),
        stderr: Buffer.concat(err).toString('utf8', 0, Math.min(errLen, max)),
      });
    });
    child.stdin!.on('error', () => undefined); // a child that exits before reading its stdin
    child.stdin!.end(opts.input ?? '');
  });
}

/** Like run(), but a non-zero exit, a signal or a timeout throws CommandError. */
export async function runChecked(launcher: Launcher, file: string, args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  const result = await run(launcher, file, args, opts);
  if (result.code !== 0 || result.timedOut) throw new CommandError([file, ...args.slice(0, 3)].join(' '), result);
  return result;
}
