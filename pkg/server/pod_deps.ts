// What every pod handler works with.
import type { NetworkManager } from '../network/manager';
import type { NetworkSettings } from '../network/settings';
import type { SandboxManager } from '../sandbox/manager';
import type { PodContainers } from './pod_containers';

export interface PodDeps {
  sandboxes: SandboxManager;
  containers: PodContainers;
  network: NetworkManager;
  settings: NetworkSettings;
}
