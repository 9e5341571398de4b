// Runs one CNI plugin binary the way the CNI spec says: parameters in CNI_*
// environment variables, the network config on stdin, a result or an error
// object on stdout. Each plugin runs in its own process group so that a
// timeout kills whatever it started (a plugin that execs IPAM, iptables...).
import { access, constants } from 'node:fs/promises';
import { join } from 'node:path';
import { killProcessGroup, type Launcher } from '../spawn/launcher';

export type CniCommand = 'ADD' | 'DEL' | 'CHECK' | 'VERSION';

export interface PluginInvocation {
  binDirs: readonly string[];
  type: string;
  command: CniCommand;
  containerId: string;
  netns: string;
  ifName: string;
  /** CNI_ARGS: "K=V;K=V". */
  args: string;
  stdin: unknown;
  timeoutMs: number;
  signal?: AbortSignal;
}

export class CniPluginError extends Error {
  constructor(
    readonly plugin: string,
    readonly command: CniCommand,
    message: string,
    /** The CNI error code, when the plugin returned an error object. */
    readonly cniCode?: number,
  ) {
    super(`plugin type="${plugin}" failed (${command.toLowerCase()}): ${message}`);
    this.name = 'CniPluginError';
  }
}

const MAX_OUTPUT = 1024 * 1024;

/** The first executable named `type` in the plugin directories. */
export async function findPlugin(binDirs: readonly string[], type: string): Promise<string | undefined> {
  for (const dir of binDirs) {
    const file = join(dir, type);
    try {
      await access(file, constants.X_OK);
      return file;
    } catch {
      // try the next directory
    }
  }
  return undefined;
}

/** Extracts the message of a CNI error object ({code, msg, details}), or the raw text. */
export function pluginErrorText(stdout: string, stderr: string): { message: string; code?: number } {
  try {
    const obj = JSON.parse(stdout) as { code?: unknown; msg?: unknown; details?: unknown };
    if (typeof obj.msg === 'string') {
      const details = typeof obj.details === 'string' && obj.details ? `; ${obj.details}` : '';
      return { message: `${obj.msg}${details}`, ...(typeof obj.code === 'number' ? { code: obj.code } : {}) };
    }
  } catch {
    // not JSON: fall through
  }
  const text = (stderr.trim() || stdout.trim()).split('\n').slice(-5).join('\n');
  return { message: text || 'no output' };
}

export async function invokePlugin(launcher: Launcher, inv: PluginInvocation): Promise<unknown> {
  const binary = await findPlugin(inv.binDirs, inv.type);
  if (!binary) throw new CniPluginError(inv.type, inv.command, `plugin not found in ${inv.binDirs.join(', ')}`);
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin',
    CNI_COMMAND: inv.command,
    CNI_CONTAINERID: inv.containerId,
    CNI_NETNS: inv.netns,
    CNI_IFNAME: inv.ifName,
    CNI_ARGS: inv.args,
    CNI_PATH: inv.binDirs.join(':'),
  };
  const { code, stdout, stderr, timedOut, aborted } = await spawnGroup(launcher, binary, JSON.stringify(inv.stdin), env, inv.timeoutMs, inv.signal);
  if (timedOut) throw new CniPluginError(inv.type, inv.command, `timed out after ${inv.timeoutMs} ms`);
  if (aborted) throw new CniPluginError(inv.type, inv.command, 'cancelled');
  if (code !== 0) {
    const e = pluginErrorText(stdout, stderr);
    throw new CniPluginError(inv.type, inv.command, e.message, e.code);
  }
  if (inv.command === 'DEL' || inv.command === 'CHECK' || stdout.trim() === '') return undefined;
  try {
    return JSON.parse(stdout);
  } catch {
    throw new CniPluginError(inv.type, inv.command, `returned a result that is not JSON: ${stdout.slice(0, 200)}`);
  }
}

interface GroupResult {
  code: number | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
  aborted: boolean;
}

function spawnGroup(launcher: Launcher, file: string, input: string, env: NodeJS.ProcessEnv, timeoutMs: number, signal?: AbortSignal): Promise<GroupResult> {
  return new Promise((resolve, reject) => {
    const child = launcher.spawn(file, [], { env, detached: true, stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let outLen = 0;
    let errLen = 0;
    let timedOut = false;
    let aborted = false;
    const killGroup = (): void => killProcessGroup(child, 'SIGKILL');
    child.stdout!.on('data', (b: Buffer) => {
      if (outLen < MAX_OUTPUT) out.push(b);
      outLen += b.length;
    });
    child.stderr!.on('data', (b: Buffer) => {
      if (errLen < MAX_OUTPUT) err.push(b);
      errLen += b.length;
    });
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup();
    }, timeoutMs);
    const onAbort = (): void => {
      aborted = true;
      killGroup();
    };
    if (signal?.aborted) onAbort();
    else signal?.addEventListener('abort', onAbort, { once: true });
    const done = (): void => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
    };
    child.on('error', (e) => {
      done();
      reject(e);
    });
    child.on('close', (code) => {
      done();
      // Children the plugin left behind in its group go with it.
      if (timedOut || aborted) killGroup();
      resolve({ code, timedOut, aborted, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') });
    });
    child.stdin!.on('error', () => undefined);
    child.stdin!.end(input);
  });
}
