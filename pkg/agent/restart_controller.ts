// Rolling krilld restarts: when a reload leaves keys that only a restart
// applies, the agent takes a Lease of the pool (./lease), has krilld restart
// itself (Admin/Restart: same pid, containers keep running, so no drain), waits
// until CRI Status is Ready again, reloads (the pending keys are gone, the Node's
// annotations follow) and releases the Lease. A krilld without Restart gets the
// RestartRequired Event and the annotation only.
import type { Logger } from '../log/logger';
import { chooseLease, leaseNames, type LeaseView } from './lease';
import { observe } from './health';
import { restartRequiredEvent } from './restart';
import { ReloadError, type KrillRuntime } from './runtime';
import { errorText, httpStatus, type EventSpec, type KubeApi, type LeaseObject, type NodeObject } from './types';
import type { Clock } from './watchdog';

const WAIT_FOR_LEASE_MS = 5000;
const READY_TIMEOUT_MS = 120_000;

export interface RestartDeps {
  kube: KubeApi;
  runtime: KrillRuntime;
  nodeName: string;
  namespace: string;
  maxRestarts: number;
  leaseTtlSeconds: number;
  clock: Clock;
  log: Logger;
  node: () => NodeObject;
  /** Reloads after the restart (reports the hash and clears the pending keys on the Node). */
  reload: () => Promise<unknown>;
}

export class RestartController {
  private running: Promise<void> | undefined;
  private held: string | undefined;
  private stopped = false;
  /** krilld answered UNIMPLEMENTED: it cannot restart itself. */
  private unsupported = false;

  constructor(private readonly d: RestartDeps) {}

  get canRestart(): boolean {
    return !this.unsupported;
  }

  /** Starts a restart for `keys` unless one is under way. */
  request(keys: readonly string[]): void {
    if (this.running || this.stopped) return;
    if (this.unsupported) {
      void this.event(restartRequiredEvent(keys));
      return;
    }
    this.running = this.run(keys)
      .catch((err: unknown) => this.d.log.error({ err: errorText(err) }, 'krilld restart failed'))
      .finally(() => (this.running = undefined));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.running;
    await this.release();
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((r) => this.d.clock.setTimeout(r, ms));
  }

  private async run(pending: readonly string[]): Promise<void> {
    const { log } = this.d;
    while (!this.stopped && !(await this.acquire())) await this.sleep(WAIT_FOR_LEASE_MS);
    if (this.stopped) return;
    try {
      await this.event({ type: 'Normal', reason: 'KrillRestarting', message: `restarting krilld to apply what needs a restart (holding Lease ${this.held}); containers keep running` });
      let keys: string[];
      try {
        keys = await this.d.runtime.restart();
      } catch (err) {
        if (err instanceof ReloadError && err.kind === 'unsupported') {
          this.unsupported = true;
          log.warn('krilld has no Restart call: leaving the restart to the operator');
          await this.event(restartRequiredEvent(pending));
          return;
        }
        throw err;
      }
      log.info({ keys, lease: this.held }, 'krilld restarting');
      const deadline = this.d.clock.now() + READY_TIMEOUT_MS;
      let renewed = this.d.clock.now();
      for (;;) {
        // Held longer than a third of its TTL: renew it, so no other node takes it meanwhile.
        if (this.d.clock.now() - renewed >= (this.d.leaseTtlSeconds * 1000) / 3) {
          await this.renew();
          renewed = this.d.clock.now();
        }
        const probe = await this.d.runtime.status(5000).then(
          (status) => ({ ok: true as const, status }),
          (err: unknown) => ({ ok: false as const, error: errorText(err) }),
        );
        if (observe(probe).status === 'True') break;
        if (this.d.clock.now() > deadline) throw new Error('krilld did not come back Ready within 120 s');
        await this.sleep(1000);
      }
      await this.d.reload();
      await this.event({ type: 'Normal', reason: 'KrillRestarted', message: `krilld restarted and Ready; applied ${keys.sort().join(', ') || 'nothing pending'}` });
    } finally {
      await this.release();
    }
  }

  private async event(e: EventSpec): Promise<void> {
    await this.d.kube.nodeEvent(this.d.node(), e).catch((err: unknown) => this.d.log.warn({ err: errorText(err) }, 'could not post an Event'));
  }

  /** One attempt at a Lease of the pool; true when this node holds one. */
  private async acquire(): Promise<boolean> {
    const { kube, namespace, nodeName, leaseTtlSeconds } = this.d;
    const objects = new Map<string, LeaseObject | undefined>();
    for (const name of leaseNames(this.d.maxRestarts)) objects.set(name, await kube.getLease(namespace, name));
    const pool: LeaseView[] = [...objects].map(([name, l]) => ({
      name,
      exists: l !== undefined,
      holder: l?.spec?.holderIdentity ?? '',
      renewTime: l?.spec?.renewTime ? new Date(l.spec.renewTime).getTime() : undefined,
      durationSeconds: l?.spec?.leaseDurationSeconds ?? leaseTtlSeconds,
    }));
    const holders = new Set(pool.filter((l) => l.exists && l.holder !== '' && l.holder !== nodeName).map((l) => l.holder));
    const alive = new Map<string, boolean>();
    for (const h of holders) alive.set(h, await kube.nodeExists(h));
    const choice = chooseLease(pool, nodeName, (n) => alive.get(n) ?? true, this.d.clock.now());
    if (choice.action === 'wait') return false;
    try {
      if (choice.action === 'create') await kube.createLease(namespace, choice.name, nodeName, leaseTtlSeconds);
      else await kube.updateLease(namespace, objects.get(choice.name)!, nodeName, leaseTtlSeconds);
    } catch (err) {
      if (httpStatus(err) === 409) return false; // another node was quicker
      throw err;
    }
    this.held = choice.name;
    return true;
  }

  private async renew(): Promise<void> {
    const name = this.held;
    if (!name) return;
    const lease = await this.d.kube.getLease(this.d.namespace, name);
    if (lease?.spec?.holderIdentity !== this.d.nodeName) throw new Error(`lost the restart Lease ${name} to ${lease?.spec?.holderIdentity ?? 'nobody'}`);
    await this.d.kube.updateLease(this.d.namespace, lease, this.d.nodeName, this.d.leaseTtlSeconds);
  }

  private async release(): Promise<void> {
    const name = this.held;
    if (!name) return;
    this.held = undefined;
    try {
      const lease = await this.d.kube.getLease(this.d.namespace, name);
      if (lease?.spec?.holderIdentity === this.d.nodeName) await this.d.kube.updateLease(this.d.namespace, lease, '', this.d.leaseTtlSeconds);
    } catch (err) {
      this.d.log.warn({ lease: name, err: errorText(err) }, 'could not release the restart Lease (it expires by itself)');
    }
  }
}
