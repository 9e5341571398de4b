// Live reload of krilld's configuration (the admin Reload call and SIGHUP):
// loads the files again with the flags of the start, plans what changes
// (reload.ts), has the daemon apply the live part, and keeps what GetConfig
// reports. One reload at a time; a configuration that does not load changes
// nothing.
import type { KrillConfig } from './config';
import type { LoadedConfig } from './load';
import { configHash, planReload, type ReloadPlan } from './reload';
import { ConfigError } from './schema';

export interface ReloadResult {
  hash: string;
  applied: string[];
  needsRestart: string[];
}

export interface ConfigState {
  hash: string;
  pendingRestart: string[];
  files: string[];
  /** The last reload's error; '' once a reload succeeded, or before any. */
  lastReloadError: string;
}

/** A reload that failed: `invalid` when the files do not load or validate (the message names file and key). */
export class ReloadError extends Error {
  constructor(
    message: string,
    readonly invalid: boolean,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = 'ReloadError';
  }
}

export interface ReloaderOptions {
  /** What krilld started with. */
  initial: LoadedConfig;
  /** Loads the files again, with the start's flags on top (throws ConfigError). */
  load: () => LoadedConfig;
  /** Applies `plan.live` to the running daemon; the running config becomes `plan.next` once it resolves. */
  apply: (plan: ReloadPlan) => Promise<void>;
  /** Told every outcome (logs, metrics), whichever way the reload was asked for. */
  observe?: (outcome: { result: ReloadResult } | { error: ReloadError }) => void;
}

export class ConfigReloader {
  private running: KrillConfig;
  private hash: string;
  private files: string[];
  private pending: string[] = [];
  private lastError = '';
  private queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly opts: ReloaderOptions) {
    this.running = opts.initial.config;
    this.hash = configHash(this.running);
    this.files = opts.initial.sources;
  }

  /** The configuration krilld runs with now. */
  get config(): KrillConfig {
    return this.running;
  }

  state(): ConfigState {
    return { hash: this.hash, pendingRestart: [...this.pending], files: [...this.files], lastReloadError: this.lastError };
  }

  /** Reloads after any reload in progress; throws ReloadError, the running configuration unchanged. */
  reload(): Promise<ReloadResult> {
    const run = this.queue.then(() => this.reloadNow()).then(
      (result) => {
        this.opts.observe?.({ result });
        return result;
      },
      (err: unknown) => {
        if (err instanceof ReloadError) this.opts.observe?.({ error: err });
        throw err;
      },
    );
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async reloadNow(): Promise<ReloadResult> {
    let loaded: LoadedConfig;
    try {
      loaded = this.opts.load();
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      this.lastError = message;
      throw new ReloadError(message, err instanceof ConfigError, { cause: err });
    }
    const plan = planReload(this.running, loaded.config);
    try {
      await this.opts.apply(plan);
    } catch (err) {
      const message = `applying the configuration failed: ${err instanceof Error ? err.message : String(err)}`;
      this.lastError = message;
      throw new ReloadError(message, false, { cause: err });
    }
    this.running = plan.next;
    this.hash = configHash(plan.next);
    this.files = loaded.sources;
    this.pending = plan.needsRestart;
    this.lastError = '';
    return { hash: this.hash, applied: plan.applied, needsRestart: plan.needsRestart };
  }
}
