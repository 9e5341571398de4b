// The OCI runtime command line (runc and crun share it): start, kill, delete,
// state, update, list. Every call is one short-lived child process.
import { writeFile, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { KrillError } from '../errors/errors';
import { run, type RunResult } from '../util/exec';
import type { HandlerSpec, RuntimeState, RuntimeStatus } from './types';

const NOT_FOUND = /does not exist|No such file or directory|not found/i;
const CALL_TIMEOUT_MS = 60_000;

export class RuntimeCommandError extends KrillError {
  constructor(
    readonly handler: string,
    readonly verb: string,
    readonly result: RunResult,
  ) {
    super('Internal', `${handler} ${verb} failed: ${lastError(result) || `exit code ${result.code}`}`);
  }

  get notFound(): boolean {
    return NOT_FOUND.test(this.result.stderr);
  }
}

/** runc logs as `time=... level=error msg="..."`; crun prints plain text. Keep the message. */
export function lastError(result: RunResult): string {
  const lines = result.stderr.trim().split('\n').filter(Boolean);
  const last = lines[lines.length - 1] ?? '';
  const m = /msg="((?:[^"\\]|\\.)*)"/.exec(last);
  return (m ? m[1]!.replace(/\\"/g, '"') : last).trim();
}

export function globalArgs(h: HandlerSpec): string[] {
  const args = ['--root', h.root];
  if (h.systemdCgroup) args.push('--systemd-cgroup');
  return args;
}

async function call(h: HandlerSpec, verb: string, args: string[], input?: string): Promise<RunResult> {
  const result = await run(h.binary, [...globalArgs(h), verb, ...args], { timeoutMs: CALL_TIMEOUT_MS, input, runtimeUmask: true });
  if (result.code !== 0) throw new RuntimeCommandError(h.name, verb, result);
  return result;
}

export async function start(h: HandlerSpec, id: string): Promise<void> {
  await call(h, 'start', [id]);
}

/** Sends `signal` to the init process, or with `all` to every process of the container. */
export async function kill(h: HandlerSpec, id: string, signal: string, all = false): Promise<void> {
  await call(h, 'kill', [...(all ? ['--all'] : []), id, signal]);
}

/** Deletes the runtime's record (and cgroup); a container it never knew is fine. */
export async function remove(h: HandlerSpec, id: string, force: boolean): Promise<void> {
  try {
    await call(h, 'delete', [...(force ? ['--force'] : []), id]);
  } catch (err) {
    if (err instanceof RuntimeCommandError && err.notFound) return;
    throw err;
  }
}

const STATUSES: readonly RuntimeStatus[] = ['creating', 'created', 'running', 'paused', 'stopped'];

/** The runtime's view of a container, or undefined when it does not know it. */
export async function state(h: HandlerSpec, id: string): Promise<RuntimeState | undefined> {
  let result: RunResult;
  try {
    result = await call(h, 'state', [id]);
  } catch (err) {
    if (err instanceof RuntimeCommandError && err.notFound) return undefined;
    throw err;
  }
  const parsed = JSON.parse(result.stdout) as { status?: string; pid?: number };
  const status = STATUSES.find((s) => s === parsed.status) ?? 'stopped';
  return { status, pid: parsed.pid ?? 0 };
}

/** Applies new cgroup limits (an OCI LinuxResources object) to a live container. */
export async function update(h: HandlerSpec, id: string, bundle: string, resources: object): Promise<void> {
  // crun takes no "-" for stdin, so both get a file.
  const file = join(bundle, `resources-${process.hrtime.bigint()}.json`);
  await writeFile(file, JSON.stringify(resources));
  try {
    await call(h, 'update', ['--resources', file, id]);
  } finally {
    await unlink(file).catch(() => undefined);
  }
}
