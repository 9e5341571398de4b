// The infra process of a pod that shares one pid namespace among its
// containers: pid 1 of that namespace, keeping it alive. It runs as an OCI
// container through the runtime driver (conmon + the pod's runtime handler),
// with the pod's ID as its container ID.
import { readFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Cgroups } from '../cgroups/cgroups';
import type { Logger } from '../log/logger';
import type { ContainerRuntime } from '../runtime/interface';
import { ensureDir, mkdirpShared, PRIVATE_DIR, PRIVATE_FILE, writeFileMode } from '../util/modes';
import { INFRA_BINARY_IN_ROOT, infraSpec } from './infra_spec';
import { remappedRootGid, type InfraProcess, type Sandbox } from './types';

/** Field 22 (starttime) of /proc/<pid>/stat, or undefined when the process is gone or a zombie. */
export async function processStartTime(pid: number): Promise<number | undefined> {
  // Synchronous: one small read of /proc, cheaper than a thread-pool round trip.
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (fields[0] === 'Z' || fields[0] === 'X') return undefined;
    return Number(fields[19]);
  } catch {
    return undefined;
  }
}

export interface InfraRunner {
  /** Starts the pod's infra process in its namespaces and cgroup. */
  start(s: Sandbox): Promise<InfraProcess>;
  /** Stops and deletes it; fine when it is gone already. */
  remove(s: Sandbox, infra: InfraProcess): Promise<void>;
  alive(s: Sandbox, infra: InfraProcess): Promise<boolean>;
}

export interface OciInfraOptions {
  runtime: ContainerRuntime;
  cgroups: Cgroups;
  /** The static pause binary (catatonit). */
  binary: string;
  log: Logger;
}

export class OciInfraRunner implements InfraRunner {
  constructor(private readonly opts: OciInfraOptions) {}

  private bundle(s: Sandbox): string {
    return join(s.meta.paths.runDir, 'infra');
  }

  async start(s: Sandbox): Promise<InfraProcess> {
    const { runtime } = this.opts;
    const bundle = this.bundle(s);
    const rc = { id: s.id, handler: s.meta.handler, bundle };
    const rootfs = join(bundle, 'rootfs');
    const rootGid = remappedRootGid(s.meta.userns);
    await (rootGid === undefined ? ensureDir(bundle, PRIVATE_DIR) : ensureDir(bundle, 0o710, rootGid));
    // The infra's own "/" and what is in it, as any image has them (its root may be a remapped one).
    for (const dir of [join(rootfs, 'proc'), join(rootfs, 'dev')]) await mkdirpShared(dir, 0o755);
    await writeFileMode(join(rootfs, INFRA_BINARY_IN_ROOT), '', 0o755);
    const cgroupsPath = this.opts.cgroups.containerCgroup(s.meta.cgroupParent, s.id).ociPath;
    await writeFileMode(join(bundle, 'config.json'), JSON.stringify(infraSpec({ sandbox: s, binary: this.opts.binary, cgroupsPath })), PRIVATE_FILE);
    try {
      const { pid } = await runtime.create({ ...rc, logPath: join(bundle, 'infra.log'), terminal: false, stdin: false, stdinOnce: false });
      await runtime.start(rc);
      const startTime = await processStartTime(pid);
      this.opts.log.debug({ pod_id: s.id, pid }, 'infra process started');
      return { id: s.id, pid, ...(startTime !== undefined ? { startTime } : {}) };
    } catch (err) {
      await runtime.delete(rc).catch(() => undefined);
      await rm(bundle, { recursive: true, force: true });
      throw err;
    }
  }

  async remove(s: Sandbox, infra: InfraProcess): Promise<void> {
    const { runtime } = this.opts;
    const rc = { id: infra.id, handler: s.meta.handler, bundle: this.bundle(s) };
    // catatonit holds nothing worth a graceful stop: SIGKILL, and wait for conmon's exit record.
    // Gone already (a reboot, or removed before): nothing to wait for.
    if (await this.alive(s, infra)) await runtime.stop(rc, 'KILL', 0);
    await runtime.delete(rc);
    await rm(this.bundle(s), { recursive: true, force: true });
  }

  /** From /proc, not the runtime: PodSandboxStatus asks this on every call. */
  async alive(_s: Sandbox, infra: InfraProcess): Promise<boolean> {
    const startTime = await processStartTime(infra.pid);
    return startTime !== undefined && (infra.startTime === undefined || startTime === infra.startTime);
  }
}
