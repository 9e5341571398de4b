// The infra process of a pod that shares one pid namespace among its
// containers: it is pid 1 of that namespace and keeps it alive.
import type { InfraProcess, Sandbox } from './types';

export interface InfraRunner {
  /** Starts the pod's infra process in its namespaces and cgroup. */
  start(s: Sandbox): Promise<InfraProcess>;
  /** Stops and deletes it; fine when it is gone already. */
  remove(s: Sandbox, infra: InfraProcess): Promise<void>;
  alive(s: Sandbox, infra: InfraProcess): Promise<boolean>;
}
