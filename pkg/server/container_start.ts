import { invalidArgument } from '../errors/errors';
import type { RuntimeHandlers } from './rpc';
import type { ContainerDeps } from './container_deps';

export function startContainerHandler(deps: ContainerDeps): RuntimeHandlers['startContainer'] {
  return async (req, ctx) => {
    if (!req.containerId) throw invalidArgument('container_id is required');
    await deps.containers.start(req.containerId, ctx.log);
    return {};
  };
}
