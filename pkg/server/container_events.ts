// GetContainerEvents: the stream kubelet's evented PLEG listens to. Every
// subscriber gets every event in order, each with its pod's status and the
// container's status. A subscriber that falls too far behind is cut off
// with RESOURCE_EXHAUSTED instead of holding krilld's memory hostage. Exits
// found at start (containers that exited while krilld was down) are handed
// to whoever subscribes in the first minutes after the start.
import { ContainerEventType, type ContainerEventResponse, type ContainerStatus, type PodSandboxStatus } from '../../api/runtime/v1/api';
import type { ContainerEvent, ContainerEventKind, ContainerManager } from '../container/manager';
import { KrillError } from '../errors/errors';
import { criContainerStatus } from './container_view';
import type { RuntimeServiceHandlers } from './rpc';

/** Events a subscriber may have waiting before it is dropped. */
export const MAX_PENDING_EVENTS = 1024;
/** How long after the start the exits found at start are replayed to new subscribers. */
const BACKLOG_WINDOW_MS = 5 * 60_000;

const EVENT_TYPE: Record<ContainerEventKind, ContainerEventType> = {
  created: ContainerEventType.CONTAINER_CREATED_EVENT,
  started: ContainerEventType.CONTAINER_STARTED_EVENT,
  stopped: ContainerEventType.CONTAINER_STOPPED_EVENT,
  deleted: ContainerEventType.CONTAINER_DELETED_EVENT,
};

export interface EventSources {
  containers: ContainerManager;
  /** The pod's status as PodSandboxStatus reports it; undefined once the pod is gone. */
  podStatus(podId: string): Promise<PodSandboxStatus | undefined>;
  /** The statuses of the pod's containers (PodSandboxStatus's list). */
  podContainerStatuses(podId: string): ContainerStatus[];
  /** STOPPED events for containers that exited while krilld was down. */
  backlog: ContainerEvent[];
  startedAt: number;
}

export async function eventResponse(e: ContainerEvent, sources: EventSources): Promise<ContainerEventResponse> {
  return {
    containerId: e.containerId,
    containerEventType: EVENT_TYPE[e.kind],
    createdAt: e.at,
    podSandboxStatus: await sources.podStatus(e.podId),
    containersStatuses: withPodContainers(criContainerStatus(e.container), sources.podContainerStatuses(e.podId)),
  };
}

/**
 * An event's container statuses: the event's container (as of the event) first, then every other
 * container of its pod. kubelet's evented PLEG takes this list as the pod's whole set of
 * containers (as containerd and CRI-O send it): with the event's container alone, it loses sight
 * of the others (an init container that completed is started again and again).
 */
export function withPodContainers(own: ContainerStatus, pod: ContainerStatus[]): ContainerStatus[] {
  return [own, ...pod.filter((c) => c.id !== own.id)];
}

export function getContainerEventsHandler(sources: EventSources): RuntimeServiceHandlers['getContainerEvents'] {
  return (_req, ctx, stream) =>
    new Promise<void>((resolve, reject) => {
      const queue: ContainerEvent[] = Date.now() - sources.startedAt < BACKLOG_WINDOW_MS ? [...sources.backlog] : [];
      let pumping = false;
      let closed = false;
      const finish = (err?: KrillError): void => {
        if (closed) return;
        closed = true;
        sources.containers.events.off('event', onEvent);
        ctx.signal.removeEventListener('abort', onAbort);
        if (err) reject(err);
        else resolve();
      };
      const pump = async (): Promise<void> => {
        if (pumping) return;
        pumping = true;
        try {
          while (queue.length > 0 && !closed) {
            const e = queue.shift()!;
            const resp = await eventResponse(e, sources);
            if (closed) return;
            if (!stream.write(resp)) await new Promise<void>((r) => stream.once('drain', () => r()));
          }
        } catch (err) {
          ctx.log.warn({ err }, 'could not send a container event');
        } finally {
          pumping = false;
        }
      };
      const onEvent = (e: ContainerEvent): void => {
        if (closed) return;
        queue.push(e);
        if (queue.length > MAX_PENDING_EVENTS) {
          ctx.log.warn({ pending: queue.length }, 'container event subscriber is too slow; dropping it');
          finish(new KrillError('ResourceExhausted', `the subscriber fell more than ${MAX_PENDING_EVENTS} events behind and was dropped; subscribe again`));
          return;
        }
        void pump();
      };
      const onAbort = (): void => finish();
      sources.containers.events.on('event', onEvent);
      ctx.signal.addEventListener('abort', onAbort, { once: true });
      stream.once('close', onAbort);
      void pump();
    });
}
