import { invalidArgument } from '../errors/errors';
import type { RuntimeHandlers } from './rpc';
import { findContainer, type ContainerDeps } from './container_deps';

export function updateContainerResourcesHandler(deps: ContainerDeps): RuntimeHandlers['updateContainerResources'] {
  return async (req) => {
    if (!req.containerId) throw invalidArgument('container_id is required');
    if (!req.linux) throw invalidArgument('linux resources are required (Windows resources are not supported)');
    const c = findContainer(deps, req.containerId);
    // Validate (and convert) before anything changes.
    const oci = deps.toOciResources(req.linux);
    await deps.containers.updateResources(c.id, req.linux, () => oci);
    return {};
  };
}
