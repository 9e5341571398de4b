// Steps a create registers as it goes; when a later step fails they run in
// reverse, each one even if an earlier undo failed.
import type { Logger } from '../log/logger';

export class Undo {
  private readonly steps: { what: string; fn: () => Promise<void> }[] = [];

  add(what: string, fn: () => Promise<void>): void {
    this.steps.push({ what, fn });
  }

  /** Runs every step, last first; returns the descriptions of the ones that failed. */
  async run(log: Logger): Promise<string[]> {
    const failed: string[] = [];
    while (this.steps.length > 0) {
      const step = this.steps.pop()!;
      try {
        await step.fn();
      } catch (err) {
        failed.push(step.what);
        log.error({ err, step: step.what }, 'undoing a step of a failed create failed');
      }
    }
    return failed;
  }
}
