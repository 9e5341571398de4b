import { invalidArgument } from '../errors/errors';
import type { RuntimeServiceHandlers } from './rpc';
import type { ContainerDeps } from './container_deps';

export function updateContainerResourcesHandler(deps: ContainerDeps): RuntimeServiceHandlers['updateContainerResources'] {
  return async (req) => {
    if (!req.containerId) throw invalidArgument('container_id is required');
    if (!req.linux) throw invalidArgument('linux resources are required (Windows resources are not supported)');
    await deps.containers.updateResources(req.containerId, req.linux);
    return {};
  };
}
