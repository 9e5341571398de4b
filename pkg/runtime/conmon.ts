// Starting a container's monitor: conmon runs `runc create`, then stays as
// the container's parent (holding its stdio, writing its log, recording its
// exit code), detached from krilld so that krilld may restart at any time.
import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { KrillError } from '../errors/errors';
import type { Launcher } from '../spawn/launcher';
import type { ContainerPaths } from './paths';
import { globalArgs } from './oci_cli';
import type { CreateRequest } from './types';

const CREATE_TIMEOUT_MS = 120_000;

export interface ConmonConfig {
  launcher: Launcher;
  binary: string;
  paths: ContainerPaths;
}

export interface Created {
  /** The container's init pid. */
  pid: number;
}

export function conmonArgs(cfg: ConmonConfig, req: CreateRequest): string[] {
  const { paths } = cfg;
  const args = [
    '--api-version', '1',
    '-c', req.id,
    '-u', req.id,
    '-n', req.id,
    '-r', req.handler.binary,
    '-b', req.bundle,
    '-p', paths.containerPidFile(req.bundle),
    '-P', paths.conmonPidFile(req.bundle),
    '-l', req.logPath,
    '--exit-dir', paths.exitDir,
    '--persist-dir', paths.persistDir(req.id),
    '--socket-dir-path', paths.attachDir,
    '--log-level', 'error',
  ];
  for (const a of globalArgs(req.handler)) args.push('--runtime-arg', a);
  if (req.handler.systemdCgroup) args.push('-s');
  if (req.terminal) args.push('-t');
  if (req.stdin) {
    args.push('-i');
    if (!req.stdinOnce) args.push('--leave-stdin-open');
  }
  return args;
}

interface SyncMessage {
  data: number;
  message?: string;
}

/** Reads conmon's first sync message: {"data": pid} or {"data": -1, "message": "..."}. */
function readSync(pipe: Readable): Promise<SyncMessage> {
  return new Promise((resolve, reject) => {
    let buf = '';
    const onData = (chunk: Buffer): void => {
      buf += chunk.toString('utf8');
      const nl = buf.indexOf('\n');
      if (nl < 0) return;
      pipe.off('data', onData);
      pipe.off('end', onEnd);
      try {
        resolve(JSON.parse(buf.slice(0, nl)) as SyncMessage);
      } catch {
        reject(new KrillError('Internal', `conmon sent an unreadable sync message: ${buf.slice(0, 200)}`));
      }
    };
    const onEnd = (): void => reject(new KrillError('Internal', 'conmon exited without reporting the container'));
    pipe.on('data', onData);
    pipe.once('end', onEnd);
    pipe.once('error', onEnd);
  });
}

/**
 * Starts conmon for `req` and resolves once the runtime has created the
 * container (init pid known). A runtime failure rejects with its message.
 */
export async function createWithConmon(cfg: ConmonConfig, req: CreateRequest): Promise<Created> {
  await Promise.all([
    mkdir(cfg.paths.exitDir, { recursive: true }),
    mkdir(cfg.paths.attachDir, { recursive: true }),
    mkdir(cfg.paths.persistDir(req.id), { recursive: true }),
    mkdir(dirname(req.logPath), { recursive: true }),
  ]);
  const child = cfg.launcher.spawn(cfg.binary, conmonArgs(cfg, req), {
    cwd: req.bundle,
    detached: true,
    runtimeUmask: true,
    stdio: ['ignore', 'ignore', 'pipe', 'output', 'input'],
    env: { ...process.env, _OCI_SYNCPIPE: '3', _OCI_STARTPIPE: '4' },
  });
  const syncPipe = child.stdio[3] as Readable;
  const startPipe = child.stdio[4] as Writable;
  let stderr = '';
  child.stderr!.on('data', (b: Buffer) => (stderr += b.toString('utf8')));
  const spawned = new Promise<void>((resolve, reject) => {
    child.once('spawn', resolve);
    child.once('error', (err) => reject(new KrillError('Internal', `cannot run conmon (${cfg.binary}): ${err.message}`)));
  });
  const firstExit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));

  let timer: NodeJS.Timeout | undefined;
  try {
    await spawned;
    // conmon waits for this byte before it forks, so that it could be moved into a cgroup first.
    startPipe.end(Buffer.from([0]));
    const timeout = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => reject(new KrillError('DeadlineExceeded', `creating container ${req.id} took longer than ${CREATE_TIMEOUT_MS / 1000}s`)), CREATE_TIMEOUT_MS);
    });
    const earlyExit = firstExit.then((code) => {
      if (code !== 0) throw new KrillError('Internal', `conmon exited with code ${code}: ${stderr.trim()}`);
      return new Promise<never>(() => undefined); // the daemonized conmon reports on the sync pipe
    });
    const msg = await Promise.race([readSync(syncPipe), timeout, earlyExit]);
    if (msg.data < 0) {
      throw new KrillError('Internal', `${req.handler.name} could not create container ${req.id}: ${cleanRuntimeMessage(msg.message ?? '')}`);
    }
    return { pid: msg.data };
  } finally {
    if (timer) clearTimeout(timer);
    syncPipe.destroy();
    child.stderr!.destroy();
    child.unref();
  }
}

/** Trims runc's log decoration from an error message conmon relays. */
export function cleanRuntimeMessage(message: string): string {
  const lines = message.trim().split('\n').filter(Boolean);
  const msgs = lines.map((l) => /msg="((?:[^"\\]|\\.)*)"/.exec(l)?.[1]?.replace(/\\"/g, '"') ?? l.trim());
  return msgs.join('; ');
}
