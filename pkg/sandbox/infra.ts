// The infra process of a pod that shares one pid namespace among its
// containers: pid 1 of that namespace, keeping it alive. It runs as an OCI
// container through the runtime driver (conmon + the pod's runtime handler),
// with the pod's ID as its container ID.
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Cgroups } from '../cgroups/cgroups';
import type { Logger } from '../log/logger';
import type { OciRuntime } from '../runtime/runtime';
import { INFRA_BINARY_IN_ROOT, infraSpec } from './infra_spec';
import type { InfraProcess, Sandbox } from './types';

const STOP_TIMEOUT_MS = 2_000;

export interface InfraRunner {
  /** Starts the pod's infra process in its namespaces and cgroup. */
  start(s: Sandbox): Promise<InfraProcess>;
  /** Stops and deletes it; fine when it is gone already. */
  remove(s: Sandbox, infra: InfraProcess): Promise<void>;
  alive(s: Sandbox, infra: InfraProcess): Promise<boolean>;
}

export interface OciInfraOptions {
  runtime: OciRuntime;
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
    const handler = runtime.handler(s.meta.handler);
    const bundle = this.bundle(s);
    const rootfs = join(bundle, 'rootfs');
    await mkdir(join(rootfs, 'proc'), { recursive: true });
    await mkdir(join(rootfs, 'dev'), { recursive: true });
    await writeFile(join(rootfs, INFRA_BINARY_IN_ROOT), '', { mode: 0o755 });
    const cgroupsPath = this.opts.cgroups.containerCgroup(s.meta.cgroupParent, s.id).ociPath;
    await writeFile(join(bundle, 'config.json'), JSON.stringify(infraSpec({ sandbox: s, binary: this.opts.binary, cgroupsPath })));
    try {
      const { pid } = await runtime.create({ id: s.id, handler, bundle, logPath: join(bundle, 'infra.log'), terminal: false, stdin: false, stdinOnce: false });
      await runtime.start(handler, s.id);
      this.opts.log.debug({ pod_id: s.id, pid }, 'infra process started');
      return { id: s.id, pid };
    } catch (err) {
      await runtime.delete(handler, s.id).catch(() => undefined);
      await rm(bundle, { recursive: true, force: true });
      throw err;
    }
  }

  async remove(s: Sandbox, infra: InfraProcess): Promise<void> {
    const { runtime } = this.opts;
    const handler = runtime.handler(s.meta.handler);
    const state = await runtime.state(handler, infra.id).catch(() => undefined);
    // Gone already (a reboot, or removed before): nothing to wait for.
    if (state && state.status !== 'stopped') await runtime.stop(handler, infra.id, 'TERM', STOP_TIMEOUT_MS);
    await runtime.delete(handler, infra.id);
    await rm(this.bundle(s), { recursive: true, force: true });
  }

  async alive(s: Sandbox, infra: InfraProcess): Promise<boolean> {
    const state = await this.opts.runtime.state(this.opts.runtime.handler(s.meta.handler), infra.id).catch(() => undefined);
    return state?.status === 'running';
  }
}
