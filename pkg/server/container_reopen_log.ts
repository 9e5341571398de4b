import { invalidArgument } from '../errors/errors';
import type { RuntimeServiceHandlers } from './rpc';
import type { ContainerDeps } from './container_deps';

export function reopenContainerLogHandler(deps: ContainerDeps): RuntimeServiceHandlers['reopenContainerLog'] {
  return async (req) => {
    if (!req.containerId) throw invalidArgument('container_id is required');
    await deps.containers.reopenLog(req.containerId);
    return {};
  };
}
