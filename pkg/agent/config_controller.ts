// Cluster config: the agent's ConfigMap → KRILL_DROPIN_DIR/50-cluster.toml →
// Admin/Reload. A refused config goes back out (./dropins restores the previous
// file) and is reported as a Warning Event until the ConfigMap changes.
import type { Logger } from '../log/logger';
import { afterReloadFailure, CLUSTER_DROPIN, configAction, renderDropin } from './cluster_config';
import type { Dropins } from './dropins';
import type { NodeView } from './node_view';
import { errorText, type ConfigMapObject, type KubeApi } from './types';
import type { Clock } from './watchdog';

const RETRY_MS = 10_000;

export class ConfigController {
  /** The rendering krilld refused (undefined: none); not tried again until the ConfigMap changes. */
  private rejected: string | null | undefined;
  private reported = false;
  private running: Promise<void> | undefined;
  private again = false;
  private retry: { cancel(): void } | undefined;
  private stopped = false;

  constructor(
    private readonly kube: KubeApi,
    private readonly dropins: Dropins,
    private readonly view: NodeView,
    private readonly configMap: { namespace: string; name: string },
    private readonly current: () => ConfigMapObject | undefined,
    private readonly clock: Clock,
    private readonly log: Logger,
  ) {}

  /** Reconciles now, or right after the pass in progress. */
  kick(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = this.pass()
      .catch((err: unknown) => {
        this.log.error({ err: errorText(err) }, 'cluster config pass failed');
        this.scheduleRetry();
      })
      .finally(() => {
        this.running = undefined;
        if (this.again) {
          this.again = false;
          this.kick();
        }
      });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.retry?.cancel();
    await this.running;
  }

  private scheduleRetry(): void {
    this.retry?.cancel();
    this.retry = this.clock.setTimeout(() => this.kick(), RETRY_MS);
  }

  private async pass(): Promise<void> {
    const cm = this.current();
    const desired = renderDropin(cm ? { ...this.configMap, data: cm.data ?? {} } : undefined);
    const onDisk = await this.dropins.read(CLUSTER_DROPIN);
    const action = configAction(desired, onDisk, this.rejected, this.reported);
    if (action === 'none') return;
    const outcome = action === 'write' ? await this.dropins.set(CLUSTER_DROPIN, desired) : await this.dropins.reload();
    if (outcome.ok) {
      this.rejected = undefined;
      this.reported = true;
      this.log.info({ hash: outcome.result.hash, applied: outcome.result.applied, needs_restart: outcome.result.needsRestart, dropin: desired === null ? 'removed' : 'written' }, 'cluster config applied');
      return;
    }
    const next = afterReloadFailure({ kind: outcome.kind, message: outcome.message });
    this.log.warn({ kind: outcome.kind, reason: outcome.message }, 'cluster config not applied');
    if (next.event) {
      this.rejected = desired;
      const node = this.view.object ?? { metadata: { name: '' } };
      await this.kube.nodeEvent(node, { type: 'Warning', ...next.event }).catch((err: unknown) => this.log.warn({ err: errorText(err) }, 'could not post the ConfigRejected Event'));
    }
    if (next.retry) this.scheduleRetry();
  }
}
