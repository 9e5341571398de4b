import { invalidArgument } from '../errors/errors';
import type { RuntimeServiceHandlers } from './rpc';
import type { ContainerDeps } from './container_deps';

/** Stopping an unknown or stopped container succeeds: kubelet retries, and CRI asks for idempotence. */
export function stopContainerHandler(deps: ContainerDeps): RuntimeServiceHandlers['stopContainer'] {
  return async (req, ctx) => {
    if (!req.containerId) throw invalidArgument('container_id is required');
    if (req.timeout < 0n) throw invalidArgument('timeout must not be negative');
    await deps.containers.stop(req.containerId, Number(req.timeout), ctx.log);
    return {};
  };
}
