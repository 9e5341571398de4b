// What the container handlers use.
import type { LinuxContainerResources } from '../../api/runtime/v1/api';
import type { ContainerManager } from '../container/manager';
import type { Container } from '../container/types';
import { notFound } from '../errors/errors';
import type { CpuRates } from './container_view';

export interface ContainerDeps {
  containers: ContainerManager;
  /** Where the writable layers live (ContainerStats.writable_layer.fs_id). */
  fsMountpoint: string;
  /** LinuxContainerResources → the OCI LinuxResources object `runc update` takes (validated). */
  toOciResources(r: LinuxContainerResources): object;
  cpuRates: CpuRates;
  /** Observes each ExecSync: result (exit_zero, exit_nonzero, timeout, error) and seconds. */
  observeExecSync?: (result: string, seconds: number) => void;
}

/** The container for an ID or unique ID prefix, or NotFound. */
export function findContainer(deps: ContainerDeps, idOrPrefix: string, field = 'container_id'): Container {
  const id = idOrPrefix ? deps.containers.resolve(idOrPrefix) : undefined;
  const c = id === undefined ? undefined : deps.containers.get(id);
  if (!c || c.status.state === 'creating') throw notFound(`container ${JSON.stringify(idOrPrefix)} not found (${field})`);
  return c;
}
