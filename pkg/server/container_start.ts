import { invalidArgument } from '../errors/errors';
import type { RuntimeHandlers } from './rpc';
import { findContainer, type ContainerDeps } from './container_deps';

export function startContainerHandler(deps: ContainerDeps): RuntimeHandlers['startContainer'] {
  return async (req, ctx) => {
    if (!req.containerId) throw invalidArgument('container_id is required');
    await deps.containers.start(findContainer(deps, req.containerId).id, ctx.log);
    return {};
  };
}
