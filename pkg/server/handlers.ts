// The CRI's two handler tables, from the managers the composition root
// built (cmd/krilld/compose.ts). pkg/server adapts RPCs to managers and
// holds the cross-area work (a pod's containers with its pod); it builds
// no manager and probes nothing.
import type { ContainerManager, ContainerEvent } from '../container/manager';
import type { ImageManager } from '../image/manager';
import type { NetworkManager } from '../network/manager';
import type { NetworkSettings } from '../network/settings';
import type { SandboxManager } from '../sandbox/manager';
import type { StreamingServer } from '../streaming/server';
import { getContainerEventsHandler } from './container_events';
import { containerHandlers } from './container_handlers';
import type { ContainerDeps } from './container_deps';
import { CpuRates } from './container_view';
import { imageHandlers } from './image_handlers';
import { imageListStreams, runtimeListStreams } from './list_streams';
import { podContainers } from './pod_containers';
import type { PodDeps } from './pod_deps';
import { podHandlers } from './pod_handlers';
import { podSandboxStatusOf } from './pod_status';
import type { ImageServiceHandlers, RuntimeServiceHandlers } from './rpc';
import { runtimeConfigHandler } from './runtime_config';
import { statusHandler, type StatusSources } from './status';
import { streamingHandlers } from './streaming_handlers';
import { versionHandler } from './version';

export interface CriDeps {
  version: string;
  cgroupDriver: 'cgroupfs' | 'systemd';
  images: ImageManager;
  sandboxes: SandboxManager;
  containers: ContainerManager;
  network: NetworkManager;
  settings: NetworkSettings;
  streaming: StreamingServer;
  status: StatusSources;
  /** Where the writable layers live (ContainerStats.writable_layer.fs_id). */
  fsMountpoint: string;
  /** STOPPED events of containers that exited while krilld was down (replayed to early subscribers). */
  exitedWhileDown: ContainerEvent[];
  startedAt: number;
  observeExecSync?: (result: string, seconds: number) => void;
}

export interface CriServices {
  runtimeService: RuntimeServiceHandlers;
  imageService: ImageServiceHandlers;
}

export function criHandlers(d: CriDeps): CriServices {
  const containerDeps: ContainerDeps = {
    containers: d.containers,
    fsMountpoint: d.fsMountpoint,
    cpuRates: new CpuRates(),
    ...(d.observeExecSync ? { observeExecSync: d.observeExecSync } : {}),
  };
  const podDeps: PodDeps = { sandboxes: d.sandboxes, containers: podContainers(containerDeps), network: d.network, settings: d.settings };
  const runtimeService: RuntimeServiceHandlers = {
    version: versionHandler(d.version),
    runtimeConfig: runtimeConfigHandler(d.cgroupDriver),
    status: statusHandler(d.status),
    ...podHandlers(podDeps),
    ...containerHandlers(containerDeps),
    ...streamingHandlers(d.containers, d.sandboxes, d.streaming),
    getContainerEvents: getContainerEventsHandler({
      containers: d.containers,
      podStatus: async (podId) => {
        const s = d.sandboxes.get(podId);
        return s ? (await podSandboxStatusOf(podDeps, s, false)).status : undefined;
      },
      podContainerStatuses: (podId) => podDeps.containers.statusesInPod(podId),
      backlog: d.exitedWhileDown,
      startedAt: d.startedAt,
    }),
  };
  const imageService = imageHandlers(d.images);
  return {
    runtimeService: { ...runtimeService, ...runtimeListStreams(runtimeService) },
    imageService: { ...imageService, ...imageListStreams(imageService) },
  };
}
