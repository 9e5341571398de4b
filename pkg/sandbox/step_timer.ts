// Milliseconds per step of a create or teardown, for the debug log.

export class StepTimer {
  private readonly start = performance.now();
  private last = this.start;
  private readonly laps: Record<string, number> = {};

  /** A sequential step: the time since the previous lap. */
  lap(name: string): void {
    const now = performance.now();
    this.laps[name] = Math.round((now - this.last) * 10) / 10;
    this.last = now;
  }

  /** One of steps run side by side: the time since they began. */
  since(name: string, began: number): void {
    this.laps[name] = Math.round((performance.now() - began) * 10) / 10;
  }

  done(): Record<string, number> {
    return { ...this.laps, total: Math.round((performance.now() - this.start) * 10) / 10 };
  }
}
