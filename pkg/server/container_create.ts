import type { RuntimeHandlers } from './rpc';
import type { ContainerDeps } from './container_deps';

export function createContainerHandler(deps: ContainerDeps): RuntimeHandlers['createContainer'] {
  return async (req, ctx) => ({ containerId: await deps.containers.create(req, ctx.log) });
}
