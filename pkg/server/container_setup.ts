// Builds the container side of krilld: the runtime driver, root filesystems,
// host facts, the container manager (with recovery) and its handlers, and the
// views of pods and images it works through.
import { join } from 'node:path';
import type { LinuxContainerResources } from '../../api/runtime/v1/api';
import type { KrillConfig } from '../config/config';
import { loadDefaultAppArmorProfile } from '../container/apparmor';
import { probeHandler, probeHost, type HandlerFeatures } from '../container/host_facts';
import { ContainerManager, type ContainerEvent, type Images, type PodView, type Pods as PodLookup } from '../container/manager';
import type { ImageManager } from '../image/manager';
import type { Logger } from '../log/logger';
import type { Metrics } from '../metrics/metrics';
import { buildResources } from '../oci/resources';
import type { HostFacts } from '../oci/spec';
import { handlersFromConfig, OciRuntime } from '../runtime/runtime';
import type { Sandbox } from '../sandbox/types';
import { RootfsManager } from '../storage/rootfs';
import type { Store } from '../store/db';
import { helperBinary } from '../version/install';
import type { ContainerDeps } from './container_deps';
import { containerHandlers } from './container_handlers';
import { statsOf } from './container_stats';
import { CpuRates, criContainerStatus } from './container_view';
import type { PodContainers } from './pod_containers';
import type { Pods } from './pod_setup';
import type { RuntimeHandlers } from './rpc';

export async function setUpRuntime(config: KrillConfig): Promise<OciRuntime> {
  const runtime = new OciRuntime({
    conmon: config.runtime.conmon,
    handlers: handlersFromConfig(config),
    defaultHandler: config.runtime.default_handler,
    dirs: { persistRoot: join(config.root, 'containers'), stateRoot: config.state },
    attachHelper: helperBinary('krill-seqpacket'),
    execHelper: helperBinary('krill-exec'),
  });
  await runtime.init();
  return runtime;
}

/** How a container sees its pod. */
export function podView(s: Sandbox): PodView {
  const p = s.meta.paths;
  return {
    id: s.id,
    ready: s.status.state === 'ready',
    config: s.meta.config,
    handler: s.meta.handler,
    namespaces: {
      network: s.meta.namespaces.network,
      ipc: s.meta.namespaces.ipc,
      uts: s.meta.namespaces.uts,
      user: s.meta.namespaces.user,
      pid: s.status.infra ? `/proc/${s.status.infra.pid}/ns/pid` : undefined,
    },
    files: { hostname: p.hostname, hosts: p.hosts, resolvConf: p.resolvConf, shm: p.shm },
    cgroupParent: s.meta.cgroupParent,
    idmap: idmapOf(s),
  };
}

/** A user-namespaced pod's mapping of its root, as its containers' root filesystems need it. */
function idmapOf(s: Sandbox): PodView['idmap'] {
  const userns = s.meta.namespaces.user;
  const uid = s.meta.userns?.uids.find((m) => m.containerId === 0);
  const gid = s.meta.userns?.gids.find((m) => m.containerId === 0);
  if (!userns || !uid || !gid) return undefined;
  return { userns, rootUid: uid.hostId, rootGid: gid.hostId };
}

function imageViews(images: ImageManager, log: Logger): Images {
  return {
    resolve(ref) {
      const r = images.resolve(ref);
      if (!r) return undefined;
      return { id: r.id, ref: r.repoDigests[0] ?? r.id, name: r.repoTags[0], chainIds: r.chainIds, config: r.config };
    },
    layerDir: (chainId) => images.layers.diffDir(chainId),
    acquireLayers: (holder, chainIds) => images.layers.acquire(holder, chainIds),
    // Releasing also collects layers of images removed while this container held them.
    releaseLayers: (holder) => {
      images.releaseLayers(holder).catch((err: unknown) => log.warn({ err, container_id: holder }, 'could not collect unused layers'));
    },
  };
}

export interface ContainerSetup {
  manager: ContainerManager;
  handlers: Partial<RuntimeHandlers>;
  podContainers: PodContainers;
  /** Features of each handler, for Status. */
  features: Record<string, HandlerFeatures>;
  /** Containers found exited at start: their STOPPED events are due to subscribers. */
  exitedWhileDown: ContainerEvent[];
  close(): void;
}

export async function setUpContainers(opts: {
  config: KrillConfig;
  store: Store;
  log: Logger;
  runtime: OciRuntime;
  pods: Pods;
  images: ImageManager;
  metrics: Metrics;
}): Promise<ContainerSetup> {
  const { config, runtime, pods, metrics } = opts;
  const base = await probeHost(pods.cgroups);
  const features: Record<string, HandlerFeatures> = {};
  const facts: Record<string, HostFacts> = {};
  for (const name of runtime.handlerNames()) {
    features[name] = await probeHandler(runtime.handler(name));
    facts[name] = { ...base, recursiveReadOnlyMounts: features[name].recursiveReadOnlyMounts, idmappedMounts: features[name].idmappedMounts };
  }
  const appArmor = base.appArmor ? await loadDefaultAppArmorProfile() : undefined;
  if (appArmor && 'error' in appArmor) opts.log.error({ reason: appArmor.error }, 'AppArmor is enabled but the default profile could not be loaded: containers asking for RuntimeDefault will be refused');
  const lookup: PodLookup = {
    get(id) {
      const s = pods.sandboxes.get(id);
      return s ? podView(s) : undefined;
    },
  };
  const manager = new ContainerManager({
    store: opts.store,
    log: opts.log,
    runtime,
    rootfs: new RootfsManager(join(config.root, 'layers'), join(config.root, 'containers-fs'), helperBinary('krill-idmap')),
    cgroups: pods.cgroups,
    pods: lookup,
    images: imageViews(opts.images, opts.log),
    hostFacts: (handler) => facts[handler] ?? facts[config.runtime.default_handler]!,
    specOptions: {
      oomScoreAdjFloor: pods.oomFloor,
      seccompDefault: config.runtime.seccomp_use_default_when_empty ? 'RuntimeDefault' : 'Unconfined',
      ...(appArmor && 'name' in appArmor ? { appArmorDefaultProfile: appArmor.name } : {}),
      ...(appArmor && 'error' in appArmor ? { appArmorDefaultProfileError: appArmor.error } : {}),
    },
    bundlesDir: join(config.state, 'containers'),
    timeRuntime: (operation, fn) => metrics.time(metrics.runtimeSeconds, operation, fn),
  });
  const exitedWhileDown = await manager.init();
  const deps: ContainerDeps = {
    containers: manager,
    fsMountpoint: join(config.root, 'containers-fs'),
    cpuRates: new CpuRates(),
    observeExecSync: (result, seconds) => metrics.execSyncSeconds.observe({ result }, seconds),
    toOciResources: (r: LinuxContainerResources) => {
      const { oomScoreAdj: _drop, ...res } = buildResources({
        resources: r,
        field: 'linux',
        cgroupVersion: base.cgroupVersion,
        swapAccounting: base.swapAccounting,
        hugepageSizes: base.hugepageSizes,
        oomScoreAdjFloor: pods.oomFloor,
      });
      return res;
    },
  };
  const podContainers: PodContainers = {
    stopAllInPod: (podId, log) => manager.stopAllInPod(podId, log),
    removeAllInPod: (podId, log) => manager.removeAllInPod(podId, log),
    statsInPod: (podId) => Promise.all(manager.inPod(podId).filter((c) => c.status.state === 'running').map((c) => statsOf(deps, c))),
    statusesInPod: (podId) => manager.inPod(podId).filter((c) => c.status.state !== 'creating').map(criContainerStatus),
  };
  return {
    manager,
    handlers: containerHandlers(deps),
    podContainers,
    features,
    exitedWhileDown,
    close: () => manager.close(),
  };
}
