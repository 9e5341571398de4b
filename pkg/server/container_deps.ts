// What the container handlers use.
import type { ContainerManager } from '../container/manager';
import type { CpuRates } from './container_view';

export interface ContainerDeps {
  containers: ContainerManager;
  /** Where the writable layers live (ContainerStats.writable_layer.fs_id). */
  fsMountpoint: string;
  cpuRates: CpuRates;
  /** Observes each ExecSync: result (exit_zero, exit_nonzero, timeout, error) and seconds. */
  observeExecSync?: (result: string, seconds: number) => void;
}
