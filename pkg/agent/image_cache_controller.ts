// Image caches on this node: pull what the ImageCache objects selecting this
// node list (CRI ImageService), pin them in krilld (60-image-cache.toml +
// reload), and report this node's entries in each cache's status (server-side
// apply with a field manager per node, so nodes never overwrite each other).
import type { Logger } from '../log/logger';
import {
  afterPull,
  afterPullError,
  cachedImages,
  digestOf,
  IMAGE_CACHE_DROPIN,
  nodeEntries,
  parseImageCache,
  pinDropin,
  pullDue,
  selectsNode,
  type ImageCache,
  type ImageState,
  type NodeImageStatus,
} from './image_cache';
import type { Dropins } from './dropins';
import type { AgentMetrics } from './metrics';
import type { NodeView } from './node_view';
import type { KrillRuntime } from './runtime';
import { errorText, type CustomObject, type KubeApi } from './types';
import type { Clock } from './watchdog';

const RETRY_SECONDS = 30;

export class ImageCacheController {
  private readonly states = new Map<string, ImageState>();
  private running: Promise<void> | undefined;
  private again = false;
  private timer: { cancel(): void } | undefined;
  private stopped = false;
  private pinned: string | null | undefined;

  constructor(
    private readonly kube: KubeApi,
    private readonly runtime: KrillRuntime,
    private readonly dropins: Dropins,
    private readonly view: NodeView,
    private readonly nodeName: string,
    private readonly objects: () => CustomObject[],
    private readonly resolveSeconds: number,
    private readonly clock: Clock,
    private readonly metrics: AgentMetrics,
    private readonly log: Logger,
  ) {}

  kick(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.timer?.cancel();
    this.running = this.pass()
      .catch((err: unknown) => this.log.error({ err: errorText(err) }, 'image cache pass failed'))
      .finally(() => {
        this.running = undefined;
        if (this.again) {
          this.again = false;
          this.kick();
        } else if (!this.stopped) {
          // The next resolve (or retry) is local work on a timer: no LIST.
          this.timer = this.clock.setTimeout(() => this.kick(), Math.min(this.resolveSeconds, RETRY_SECONDS) * 1000);
        }
      });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.timer?.cancel();
    await this.running;
  }

  private async pass(): Promise<void> {
    if (!this.view.known) return;
    const labels = this.view.labels();
    const objects = this.objects();
    const caches = objects.map(parseImageCache).filter((c): c is ImageCache => c !== undefined);
    const images = cachedImages(caches, labels);
    for (const image of [...this.states.keys()]) if (!images.includes(image)) this.states.delete(image);

    const dropin = pinDropin(images);
    if (this.pinned === undefined) this.pinned = await this.dropins.read(IMAGE_CACHE_DROPIN);
    if (dropin !== this.pinned) {
      const outcome = await this.dropins.set(IMAGE_CACHE_DROPIN, dropin);
      if (outcome.ok) this.pinned = dropin;
      else this.log.warn({ kind: outcome.kind, reason: outcome.message }, 'could not pin the cached images');
    }

    // What this node reported before (a previous agent): kept when krilld still holds the same digest.
    const reportedBefore = new Map(objects.flatMap((o) => this.reported(o)).map((e) => [e.image, e]));
    for (const image of images) {
      if (this.stopped) return;
      const prev = this.states.get(image);
      if (!pullDue(prev, this.clock.now(), this.resolveSeconds, RETRY_SECONDS)) continue;
      try {
        if (prev === undefined) {
          // First sight (agent start): an image krilld already holds is recorded, not pulled again now.
          const held = await this.runtime.imageStatus(image);
          if (held) {
            const digest = digestOf(image, held.repoDigests, held.id);
            const before = reportedBefore.get(image);
            const lastPulled = before?.pulled && before.digest === digest ? (before.lastPulled ?? '') : '';
            this.states.set(image, { ...afterPull(undefined, digest, this.clock.now()), lastPulled });
            continue;
          }
        }
        const id = await this.runtime.pullImage(image);
        const held = await this.runtime.imageStatus(image);
        const next = afterPull(prev, digestOf(image, held?.repoDigests ?? [], id), this.clock.now());
        if (prev?.digest && prev.digest !== next.digest) this.log.info({ image, from: prev.digest, to: next.digest }, 'cached image changed digest: pulled again');
        this.states.set(image, next);
        this.metrics.imagePulls.inc({ result: 'ok' });
      } catch (err) {
        this.states.set(image, afterPullError(prev, errorText(err), this.clock.now()));
        this.metrics.imagePulls.inc({ result: 'error' });
        this.log.warn({ image, err: errorText(err) }, 'image cache pull failed');
      }
    }

    for (const obj of objects) {
      const cache = parseImageCache(obj);
      if (!cache) continue;
      const entries = selectsNode(cache, labels) ? nodeEntries(this.nodeName, cache, this.states) : [];
      if (sameEntries(this.reported(obj), entries)) continue;
      try {
        await this.kube.applyImageCacheStatus(cache.name, this.nodeName, entries);
      } catch (err) {
        this.log.warn({ cache: cache.name, err: errorText(err) }, 'could not report image cache status');
      }
    }
  }

  /** This node's entries in the object's status as the API server has it. */
  private reported(obj: CustomObject): NodeImageStatus[] {
    const nodes = (obj.status as { nodes?: unknown } | undefined)?.nodes;
    if (!Array.isArray(nodes)) return [];
    return (nodes as NodeImageStatus[]).filter((n) => n?.node === this.nodeName);
  }

  /** Removes the pin drop-in (uninstall); the images stay until kubelet's GC wants the space. */
  async unpin(): Promise<void> {
    await this.stop();
    await this.dropins.set(IMAGE_CACHE_DROPIN, null);
    this.pinned = null;
  }
}

function sameEntries(a: readonly NodeImageStatus[], b: readonly NodeImageStatus[]): boolean {
  const key = (e: NodeImageStatus) => JSON.stringify([e.node, e.image, e.digest, e.pulled, e.error ?? '', e.lastPulled ?? '']);
  const ka = a.map(key).sort();
  const kb = b.map(key).sort();
  return ka.length === kb.length && ka.every((k, i) => k === kb[i]);
}
