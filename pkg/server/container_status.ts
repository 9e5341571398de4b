import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { invalidArgument } from '../errors/errors';
import type { RuntimeServiceHandlers } from './rpc';
import type { ContainerDeps } from './container_deps';
import { criContainerStatus } from './container_view';

export function containerStatusHandler(deps: ContainerDeps): RuntimeServiceHandlers['containerStatus'] {
  return async (req) => {
    if (!req.containerId) throw invalidArgument('container_id is required');
    const c = deps.containers.find(req.containerId);
    const info: Record<string, string> = {};
    if (req.verbose) {
      const spec = await readFile(join(c.meta.bundle, 'config.json'), 'utf8').then((t) => JSON.parse(t) as unknown, () => undefined);
      info.info = JSON.stringify({
        sandboxID: c.meta.podId,
        pid: c.status.pid,
        runtimeHandler: c.meta.handler,
        bundle: c.meta.bundle,
        rootfs: c.meta.rootfs,
        cgroup: c.meta.cgroupPath,
        stopSignal: c.meta.stopSignal,
        imageID: c.meta.image.id,
        runtimeSpec: spec,
      });
    }
    return { status: criContainerStatus(c), info };
  };
}
