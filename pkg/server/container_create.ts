import type { RuntimeServiceHandlers } from './rpc';
import type { ContainerDeps } from './container_deps';

export function createContainerHandler(deps: ContainerDeps): RuntimeServiceHandlers['createContainer'] {
  return async (req, ctx) => {
    const spec = deps.containers.validate(req);
    return { containerId: await deps.containers.create(spec, ctx.log) };
  };
}
