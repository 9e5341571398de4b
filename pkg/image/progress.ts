// Progress of one pull: bytes done and total per layer, logged at a steady
// pace and handed to listeners (metrics) with the same snapshot.

export interface LayerProgress {
  digest: string;
  total: number;
  done: number;
  state: 'waiting' | 'downloading' | 'unpacked' | 'present';
}

export interface ProgressSnapshot {
  image: string;
  bytesDone: number;
  bytesTotal: number;
  layers: LayerProgress[];
}

export interface LayerTracker {
  start(): void;
  add(bytes: number): void;
  /** The download restarts (a retry): its bytes count again from zero. */
  reset(): void;
  finish(): void;
}

export class PullProgress {
  private readonly layers = new Map<string, LayerProgress>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    readonly image: string,
    private readonly intervalMs: number,
    private readonly report: (s: ProgressSnapshot) => void,
    /** Every byte downloaded, as it arrives (counters). */
    private readonly onBytes?: (n: number) => void,
  ) {}

  layer(digest: string, total: number, present: boolean): LayerTracker {
    const p: LayerProgress = { digest, total, done: present ? total : 0, state: present ? 'present' : 'waiting' };
    this.layers.set(digest, p);
    return {
      start: () => {
        p.state = 'downloading';
      },
      add: (n) => {
        p.done += n;
        this.onBytes?.(n);
      },
      reset: () => {
        p.done = 0;
      },
      finish: () => {
        p.done = p.total;
        p.state = 'unpacked';
      },
    };
  }

  snapshot(): ProgressSnapshot {
    const layers = [...this.layers.values()].map((l) => ({ ...l }));
    return {
      image: this.image,
      bytesDone: layers.reduce((s, l) => s + l.done, 0),
      bytesTotal: layers.reduce((s, l) => s + l.total, 0),
      layers,
    };
  }

  begin(): void {
    if (this.timer || this.intervalMs <= 0) return;
    this.timer = setInterval(() => this.report(this.snapshot()), this.intervalMs);
    this.timer.unref();
  }

  end(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }
}
