// The List calls as server streams (CRI 1.37, KEP-5825, kubelet gate
// CRIListStreaming): the same items as the unary call, in responses of at most
// ITEMS_PER_RESPONSE each, so that a node with many objects never builds one
// message past the gRPC size limit. Every item is sent once; the stream then ends.
import type * as grpc from '@grpc/grpc-js';
import type { ImageServiceHandlers, RuntimeServiceHandlers, StreamHandler, UnaryHandler } from './rpc';

export const ITEMS_PER_RESPONSE = 256;

/** Writes `items` as responses `wrap(chunk)`, waiting for the client when it does not keep up. */
async function writeChunks<T, R>(stream: grpc.ServerWritableStream<unknown, R>, items: readonly T[], wrap: (chunk: T[]) => R): Promise<void> {
  for (let i = 0; i < items.length; i += ITEMS_PER_RESPONSE) {
    if (stream.cancelled) return;
    if (!stream.write(wrap(items.slice(i, i + ITEMS_PER_RESPONSE)))) {
      await new Promise<void>((resolve) => {
        const done = (): void => {
          stream.off('drain', done);
          stream.off('close', done);
          resolve();
        };
        stream.once('drain', done);
        stream.once('close', done);
      });
    }
  }
}

function streamOf<Q, L, T, R>(list: UnaryHandler<Q, L> | undefined, items: (res: L) => T[], wrap: (chunk: T[]) => R): StreamHandler<Q, R> | undefined {
  if (!list) return undefined;
  return async (req, ctx, stream) => {
    const res = await list(req, ctx);
    await writeChunks(stream as grpc.ServerWritableStream<unknown, R>, items(res), wrap);
  };
}

/** The Stream* handlers of the runtime service, from its List* handlers (unset where a List is). */
export function runtimeListStreams(h: RuntimeServiceHandlers): RuntimeServiceHandlers {
  const out: RuntimeServiceHandlers = {};
  const pods = streamOf(h.listPodSandbox, (r) => r.items, (podSandboxes) => ({ podSandboxes }));
  if (pods) out.streamPodSandboxes = pods;
  const containers = streamOf(h.listContainers, (r) => r.containers, (containers) => ({ containers }));
  if (containers) out.streamContainers = containers;
  const containerStats = streamOf(h.listContainerStats, (r) => r.stats, (containerStats) => ({ containerStats }));
  if (containerStats) out.streamContainerStats = containerStats;
  const podStats = streamOf(h.listPodSandboxStats, (r) => r.stats, (podSandboxStats) => ({ podSandboxStats }));
  if (podStats) out.streamPodSandboxStats = podStats;
  const podMetrics = streamOf(h.listPodSandboxMetrics, (r) => r.podMetrics, (podSandboxMetrics) => ({ podSandboxMetrics }));
  if (podMetrics) out.streamPodSandboxMetrics = podMetrics;
  return out;
}

/** StreamImages from ListImages. */
export function imageListStreams(h: ImageServiceHandlers): ImageServiceHandlers {
  const images = streamOf(h.listImages, (r) => r.images, (images) => ({ images }));
  return images ? { streamImages: images } : {};
}
