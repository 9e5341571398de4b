import { invalidArgument } from '../errors/errors';
import type { RuntimeServiceHandlers } from './rpc';
import type { ContainerDeps } from './container_deps';

/** Removing an unknown container succeeds (idempotent); a running one is killed first. */
export function removeContainerHandler(deps: ContainerDeps): RuntimeServiceHandlers['removeContainer'] {
  return async (req, ctx) => {
    if (!req.containerId) throw invalidArgument('container_id is required');
    await deps.containers.remove(req.containerId, ctx.log);
    return {};
  };
}
