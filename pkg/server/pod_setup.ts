// Builds the pod side of krilld from the config: cgroups driver, CNI network
// manager, sandbox manager (with recovery of the stored pods), the
// NetworkReady condition and the pod RPC handlers.
import { hostname } from 'node:os';
import type { RuntimeCondition } from '../../api/runtime/v1/api';
import { Cgroups } from '../cgroups/cgroups';
import type { KrillConfig } from '../config/config';
import type { Logger } from '../log/logger';
import { NetworkManager, type NetworkManagerOptions } from '../network/manager';
import { NetworkSettings } from '../network/settings';
import type { OciRuntime } from '../runtime/runtime';
import { OciInfraRunner } from '../sandbox/infra';
import { SandboxManager } from '../sandbox/manager';
import { readOwnOomScoreAdj } from '../sandbox/oom';
import type { Store } from '../store/db';
import { noContainers, type PodContainers } from './pod_containers';
import type { PodDeps } from './pod_deps';
import { podHandlers } from './pod_handlers';
import type { RuntimeHandlers } from './rpc';

export interface PodSetupOptions {
  config: KrillConfig;
  store: Store;
  log: Logger;
  /** The runtime driver: runs the infra process of pods that share a pid namespace. Without it such pods are refused. */
  runtime?: OciRuntime;
  /** Observes CNI operations (metrics). */
  observeCni?: NetworkManagerOptions['observe'];
}

export interface Pods {
  sandboxes: SandboxManager;
  network: NetworkManager;
  cgroups: Cgroups;
  /** krilld's own oom_score_adj, read at start: the floor for everything Krill starts. */
  oomFloor: number;
  handlers: Partial<RuntimeHandlers>;
  networkReady: () => Promise<RuntimeCondition>;
  /** Hands the pod handlers the container manager (until then: no containers). */
  useContainers(containers: PodContainers): void;
  close(): Promise<void>;
}

export async function setUpPods(opts: PodSetupOptions): Promise<Pods> {
  const { config, store, log } = opts;
  const cgroups = await Cgroups.detect(config.runtime.cgroup_driver);
  const settings = new NetworkSettings(store);
  const network = new NetworkManager({
    confDir: config.network.cni_conf_dir,
    binDirs: config.network.cni_bin_dirs,
    pluginTimeoutMs: config.network.plugin_timeout,
    defaultBridge: config.network.default_bridge,
    defaultSubnet: config.network.default_subnet,
    root: config.root,
    log: log.child({ component: 'network' }),
    podCidrs: settings.podCidrs(),
    ...(opts.observeCni ? { observe: opts.observeCni } : {}),
  });
  const oomFloor = await readOwnOomScoreAdj();
  const sandboxes = new SandboxManager({
    root: config.root,
    state: config.state,
    store,
    network,
    cgroups,
    log: log.child({ component: 'sandbox' }),
    shmSizeBytes: config.sandbox.shm_size_mib * 1024 * 1024,
    defaultCgroupParent: config.sandbox.default_cgroup_parent,
    oomFloor,
    handlers: Object.keys(config.runtime.handlers),
    defaultHandler: config.runtime.default_handler,
    nodeHostname: hostname(),
    ...(opts.runtime
      ? { infra: new OciInfraRunner({ runtime: opts.runtime, cgroups, binary: config.sandbox.infra_binary, log: log.child({ component: 'infra' }) }) }
      : {}),
  });
  await sandboxes.init();
  log.info({ cgroup_version: cgroups.version, cgroup_driver: cgroups.driver, oom_score_adj_floor: oomFloor, pods: sandboxes.list().length }, 'pod sandboxes loaded');
  const deps: PodDeps = { sandboxes, containers: noContainers, network, settings };
  const containers: PodContainers = {
    stopAllInPod: (id, l) => deps.containers.stopAllInPod(id, l),
    removeAllInPod: (id, l) => deps.containers.removeAllInPod(id, l),
    statsInPod: (id) => deps.containers.statsInPod(id),
    statusesInPod: (id) => deps.containers.statusesInPod(id),
  };
  return {
    sandboxes,
    network,
    cgroups,
    oomFloor,
    handlers: podHandlers({ ...deps, containers }),
    networkReady: async () => {
      const c = await network.condition();
      return { type: 'NetworkReady', status: c.ready, reason: c.reason, message: c.message };
    },
    useContainers(impl) {
      deps.containers = impl;
    },
    close: () => sandboxes.close(),
  };
}
