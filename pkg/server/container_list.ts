import { ContainerState as CriState } from '../../api/runtime/v1/api';
import type { Container } from '../container/types';
import type { RuntimeServiceHandlers } from './rpc';
import type { ContainerDeps } from './container_deps';
import { criContainer, criContainerState } from './container_view';

export function matchesLabels(labels: Readonly<Record<string, string>>, selector: Readonly<Record<string, string>> | undefined): boolean {
  return Object.entries(selector ?? {}).every(([k, v]) => labels[k] === v);
}

export function listContainersHandler(deps: ContainerDeps): RuntimeServiceHandlers['listContainers'] {
  return async (req) => {
    const f = req.filter;
    const matches = (c: Container): boolean => {
      if (f?.id && !c.id.startsWith(f.id)) return false;
      if (f?.podSandboxId && !c.meta.podId.startsWith(f.podSandboxId)) return false;
      if (f?.state && criContainerState(c.status.state) !== (f.state.state as CriState)) return false;
      return matchesLabels(c.meta.config.labels, f?.labelSelector);
    };
    return { containers: deps.containers.list().filter(matches).map(criContainer) };
  };
}
