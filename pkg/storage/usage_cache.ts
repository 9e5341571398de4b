// Disk usage of containers' writable layers, measured in the background and
// served from a cache. A pod can fill its layer with millions of files; if
// every stats call walked them, kubelet's polling would keep libuv's thread
// pool busy and slow every other call. Here a stats call never walks: it gets
// the last measurement and, when that is stale, queues a new one. One walk
// runs at a time, one file at a time (one thread of the pool), and a layer
// whose walk is long is walked less often, so that walking takes at most
// about a tenth of the time.
import type { Dirent } from 'node:fs';
import { lstat, opendir } from 'node:fs/promises';
import { join } from 'node:path';

export interface FsUsage {
  bytes: bigint;
  inodes: bigint;
}

export interface MeasuredUsage extends FsUsage {
  /** When the walk that measured it ended (ms since the epoch). */
  at: number;
  /** How long that walk took (ms). */
  tookMs: number;
}

/** A walk that took T is not repeated before 9 T has passed. */
const IDLE_PER_WALK_TIME = 9;

export interface UsageCacheOptions {
  /** The directory to measure for a container. */
  dirOf(id: string): string;
  /** A measurement older than this is refreshed on the next request. */
  maxAgeMs: number;
  /** How long a request with nothing cached yet waits for the first walk. */
  firstWaitMs: number;
  now?: () => number;
}

interface Entry {
  usage?: MeasuredUsage;
  walking?: Promise<void>;
}

/** Bytes (allocated blocks) and inodes below `root`, hard links counted once. */
export async function walkUsage(root: string): Promise<FsUsage> {
  const seen = new Set<bigint>();
  let bytes = 0n;
  let inodes = 0n;
  const stack = [root];
  while (stack.length > 0) {
    const dir = stack.pop()!;
    let handle;
    try {
      handle = await opendir(dir, { bufferSize: 128 });
    } catch {
      continue; // removed meanwhile, or not a directory any more
    }
    try {
      for (let e: Dirent | null = await handle.read(); e !== null; e = await handle.read()) {
        const path = join(dir, e.name);
        const st = await lstat(path, { bigint: true }).catch(() => undefined);
        if (st && !seen.has(st.ino)) {
          seen.add(st.ino);
          inodes++;
          bytes += st.blocks * 512n;
        }
        if (e.isDirectory()) stack.push(path);
      }
    } finally {
      await handle.close().catch(() => undefined);
    }
  }
  return { bytes, inodes };
}

export class UsageCache {
  private readonly entries = new Map<string, Entry>();
  /** Walks run one after another: the tail of the chain. */
  private queue: Promise<void> = Promise.resolve();
  private readonly now: () => number;

  constructor(private readonly opts: UsageCacheOptions) {
    this.now = opts.now ?? Date.now;
  }

  /**
   * The last measurement of `id`'s directory, refreshed in the background
   * when stale. With none yet, waits up to `firstWaitMs` for the first one;
   * undefined if it has not finished by then.
   */
  async get(id: string): Promise<MeasuredUsage | undefined> {
    let entry = this.entries.get(id);
    if (!entry) {
      entry = {};
      this.entries.set(id, entry);
    }
    const u = entry.usage;
    const stale = !u || this.now() - u.at >= Math.max(this.opts.maxAgeMs, u.tookMs * IDLE_PER_WALK_TIME);
    if (stale && !entry.walking) entry.walking = this.schedule(id, entry);
    if (entry.usage) return entry.usage;
    const timeout = new Promise<void>((resolve) => setTimeout(resolve, this.opts.firstWaitMs).unref());
    await Promise.race([entry.walking, timeout]);
    return entry.usage;
  }

  /** Drops what is known of `id` (its layer is gone); a walk in flight is discarded. */
  forget(id: string): void {
    this.entries.delete(id);
  }

  private schedule(id: string, entry: Entry): Promise<void> {
    const run = async (): Promise<void> => {
      if (this.entries.get(id) !== entry) return; // forgotten while queued
      const start = this.now();
      const usage = await walkUsage(this.opts.dirOf(id));
      const at = this.now();
      if (this.entries.get(id) === entry) entry.usage = { ...usage, at, tookMs: at - start };
    };
    const done = this.queue.then(run).catch(() => undefined).finally(() => {
      entry.walking = undefined;
    });
    this.queue = done;
    return done;
  }
}
