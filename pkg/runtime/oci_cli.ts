// The OCI runtime command line of one handler (runc and crun share it):
// start, kill, delete, state, update, and what the binary supports. Every
// call is one short-lived child process.
import { writeFile, unlink } from 'node:fs/promises';
import { release } from 'node:os';
import { join } from 'node:path';
import { KrillError } from '../errors/errors';
import { kernelAtLeast } from '../oci/host_facts';
import type { Launcher } from '../spawn/launcher';
import { run, type RunResult } from '../spawn/run';
import type { HandlerFeatures, HandlerSpec, RuntimeState, RuntimeStatus } from './types';

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

const STATUSES: readonly RuntimeStatus[] = ['creating', 'created', 'running', 'paused', 'stopped'];

/** "crun version 1.8.1" → [1, 8]; undefined for anything else. */
export function crunVersion(versionOutput: string): [number, number] | undefined {
  const m = /^crun version (\d+)\.(\d+)/m.exec(versionOutput);
  return m ? [Number(m[1]), Number(m[2])] : undefined;
}

/** `runc features` (JSON) as Krill uses it. */
export function parseFeatures(json: string): HandlerFeatures {
  const f = JSON.parse(json) as { mountOptions?: string[]; linux?: { namespaces?: string[]; mountExtensions?: { idmap?: { enabled?: boolean } } } };
  return {
    recursiveReadOnlyMounts: (f.mountOptions ?? []).includes('rro') && kernelAtLeast(release(), '5.12'),
    userNamespaces: (f.linux?.namespaces ?? []).includes('user'),
    idmappedMounts: f.linux?.mountExtensions?.idmap?.enabled === true,
  };
}

export class OciCli {
  constructor(
    private readonly launcher: Launcher,
    readonly spec: HandlerSpec,
  ) {}

  private async call(verb: string, args: string[], input?: string): Promise<RunResult> {
    const h = this.spec;
    const result = await run(this.launcher, h.binary, [...globalArgs(h), verb, ...args], { timeoutMs: CALL_TIMEOUT_MS, input, runtimeUmask: true });
    if (result.code !== 0) throw new RuntimeCommandError(h.name, verb, result);
    return result;
  }

  async start(id: string): Promise<void> {
    await this.call('start', [id]);
  }

  /** Sends `signal` to the init process, or with `all` to every process of the container. */
  async kill(id: string, signal: string, all = false): Promise<void> {
    await this.call('kill', [...(all ? ['--all'] : []), id, signal]);
  }

  /** Deletes the runtime's record (and cgroup); a container it never knew is fine. */
  async remove(id: string, force: boolean): Promise<void> {
    try {
      await this.call('delete', [...(force ? ['--force'] : []), id]);
    } catch (err) {
      if (err instanceof RuntimeCommandError && err.notFound) return;
      throw err;
    }
  }

  /** The runtime's view of a container, or undefined when it does not know it. */
  async state(id: string): Promise<RuntimeState | undefined> {
    let result: RunResult;
    try {
      result = await this.call('state', [id]);
    } catch (err) {
      if (err instanceof RuntimeCommandError && err.notFound) return undefined;
      throw err;
    }
    const parsed = JSON.parse(result.stdout) as { status?: string; pid?: number };
    const status = STATUSES.find((s) => s === parsed.status) ?? 'stopped';
    return { status, pid: parsed.pid ?? 0 };
  }

  /** The containers this runtime root holds, with their bundles and states (what `state` says of each). */
  async list(): Promise<({ id: string; bundle: string } & RuntimeState)[]> {
    const result = await this.call('list', ['--format', 'json']);
    const parsed = JSON.parse(result.stdout || 'null') as { id?: unknown; bundle?: unknown; status?: unknown; pid?: unknown }[] | null;
    return (parsed ?? [])
      .filter((c) => typeof c.id === 'string')
      .map((c) => ({
        id: c.id as string,
        bundle: typeof c.bundle === 'string' ? c.bundle : '',
        status: STATUSES.find((s) => s === c.status) ?? 'stopped',
        pid: typeof c.pid === 'number' ? c.pid : 0,
      }));
  }

  /** Applies new cgroup limits (an OCI LinuxResources object) to a live container. */
  async update(id: string, bundle: string, resources: object): Promise<void> {
    // crun takes no "-" for stdin, so both get a file.
    const file = join(bundle, `resources-${process.hrtime.bigint()}.json`);
    await writeFile(file, JSON.stringify(resources));
    try {
      await this.call('update', ['--resources', file, id]);
    } finally {
      await unlink(file).catch(() => undefined);
    }
  }

  /** What the binary supports (`runc features`); crun 1.8 has no such command and is known by its version. */
  async features(): Promise<HandlerFeatures> {
    const none = { recursiveReadOnlyMounts: false, userNamespaces: false, idmappedMounts: false };
    const binary = this.spec.binary;
    const r = await run(this.launcher, binary, ['features'], { timeoutMs: 10_000 }).catch(() => undefined);
    if (!r || r.code !== 0) {
      // crun before 1.9 has no `features`; 1.8 handles "rro" (checked on this project's test machines).
      const v = await run(this.launcher, binary, ['--version'], { timeoutMs: 10_000 }).catch(() => undefined);
      const crun = v && v.code === 0 ? crunVersion(v.stdout) : undefined;
      if (crun && (crun[0] > 1 || crun[1] >= 8)) return { ...none, recursiveReadOnlyMounts: kernelAtLeast(release(), '5.12'), userNamespaces: true };
      return none;
    }
    try {
      return parseFeatures(r.stdout);
    } catch {
      return none;
    }
  }
}
