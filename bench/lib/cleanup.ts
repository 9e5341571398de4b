// Everything a benchmark run creates registers how to undo it here; the
// steps run in reverse at the end of the run, on an error, and on Ctrl-C
// (the first SIGINT/SIGTERM aborts the work in flight and cleans up, a
// second one cleans up at once without waiting for the work to stop).
import { log } from './log';

type Step = { what: string; fn: () => Promise<void> };

export class Cleanup {
  private readonly steps: Step[] = [];
  private readonly controller = new AbortController();
  private running?: Promise<string[]>;

  /** Aborted when the run is interrupted: loops stop starting new work. */
  get signal(): AbortSignal {
    return this.controller.signal;
  }

  /** Throws when the run was interrupted. */
  check(): void {
    if (this.controller.signal.aborted) throw new Interrupted();
  }

  /** Registers an undo step; returns a function that runs it early (and unregisters it). */
  add(what: string, fn: () => Promise<void>): () => Promise<void> {
    const step = { what, fn };
    this.steps.push(step);
    return async () => {
      const i = this.steps.indexOf(step);
      if (i < 0) return;
      this.steps.splice(i, 1);
      await fn();
    };
  }

  /** Runs every step, last first; a failing step is reported and the rest still run. Returns the failures. */
  runAll(): Promise<string[]> {
    this.running ??= (async () => {
      const failed: string[] = [];
      while (this.steps.length > 0) {
        const step = this.steps.pop()!;
        try {
          await step.fn();
        } catch (err) {
          failed.push(`${step.what}: ${(err as Error).message}`);
          log(`cleanup: ${step.what} failed: ${(err as Error).message}`);
        }
      }
      return failed;
    })();
    return this.running;
  }

  /** On the first SIGINT/SIGTERM abort the run; on the second clean up and exit now. */
  handleSignals(): void {
    let count = 0;
    for (const sig of ['SIGINT', 'SIGTERM'] as const) {
      process.on(sig, () => {
        count++;
        if (count === 1) {
          log(`${sig}: stopping the benchmarks and cleaning up (again to skip waiting for work in flight)`);
          this.controller.abort();
          return;
        }
        if (count === 2) {
          log(`${sig} again: cleaning up now`);
          void this.runAll().finally(() => process.exit(130));
          return;
        }
        process.exit(130);
      });
    }
  }
}

export class Interrupted extends Error {
  constructor() {
    super('interrupted');
    this.name = 'Interrupted';
  }
}
