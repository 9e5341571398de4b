import { invalidArgument } from '../errors/errors';
import type { RuntimeServiceHandlers } from './rpc';
import type { ContainerDeps } from './container_deps';

export function startContainerHandler(deps: ContainerDeps): RuntimeServiceHandlers['startContainer'] {
  return async (req, ctx) => {
    if (!req.containerId) throw invalidArgument('container_id is required');
    await deps.containers.start(req.containerId, ctx.log);
    return {};
  };
}
