// The node agent: wires the controllers to the API (KubeApi), krilld
// (KrillRuntime) and a clock, runs the runtime probe loop, the informers under
// their watchdogs, and the uninstall request.
import type { VersionResponse } from '../../api/runtime/v1/api';
import type { Logger } from '../log/logger';
import { CLUSTER_DROPIN, configAnnotations, PENDING_RESTART_ANNOTATION, type ReloadResult } from './cluster_config';
import { ConfigController } from './config_controller';
import { Dropins } from './dropins';
import type { AgentEnv } from './env';
import { observe, type Probe } from './health';
import { IMAGE_CACHE_DROPIN } from './image_cache';
import { ImageCacheController } from './image_cache_controller';
import type { HostFacts } from './labels';
import type { AgentMetrics } from './metrics';
import { ConditionController, LabelController } from './node_controllers';
import { NodeView } from './node_view';
import { restartRequiredEvent } from './restart';
import type { KrillRuntime } from './runtime';
import { errorText, type ConfigMapObject, type Informer, type KubeApi, type MetadataPatch } from './types';
import { cleanupPatches, uninstallRequested } from './uninstall';
import { Watchdog, type Clock } from './watchdog';

export interface AgentDeps {
  env: AgentEnv;
  kube: KubeApi;
  runtime: KrillRuntime;
  host: HostFacts;
  clock: Clock;
  metrics: AgentMetrics;
  log: Logger;
}

/** Longest wait for one CRI Status call: with the probe interval it keeps "krilld down → False" within 10 s. */
const STATUS_TIMEOUT_MS = 5000;

export type AgentState = 'starting' | 'running' | 'uninstalling' | 'uninstalled' | 'stopped';

export class Agent {
  private readonly view = new NodeView();
  private readonly dropins: Dropins;
  private readonly conditionCtl: ConditionController;
  private readonly labelCtl: LabelController;
  private configCtl: ConfigController | undefined;
  private imageCtl: ImageCacheController | undefined;
  private readonly watchdogs = new Map<string, Watchdog<unknown>>();
  private probeTimer: { cancel(): void } | undefined;
  private probing: Promise<void> | undefined;
  private lastProbe: { at: number; ok: boolean } | undefined;
  private pendingRestart: string | undefined;
  private stateValue: AgentState = 'starting';

  constructor(private readonly deps: AgentDeps) {
    const { env, kube, runtime, metrics, log, clock } = deps;
    this.dropins = new Dropins(env.dropinDir, runtime, metrics, log.child({ controller: 'dropins' }));
    this.conditionCtl = new ConditionController(kube, env.nodeName, this.view, metrics, log.child({ controller: 'condition' }), env.heartbeatSeconds, () => clock.now());
    this.labelCtl = new LabelController(kube, env.nodeName, this.view, deps.host);
    this.dropins.onReloaded((r) => void this.reloaded(r));
  }

  get state(): AgentState {
    return this.stateValue;
  }

  health(): { ok: boolean; detail: Record<string, unknown> } {
    const watches = Object.fromEntries([...this.watchdogs].map(([k, w]) => [k, w.watching]));
    const ok = this.stateValue !== 'stopped';
    return { ok, detail: { state: this.stateValue, watches, lastProbe: this.lastProbe } };
  }

  async start(): Promise<void> {
    const { env, kube, log } = this.deps;
    // Read before the first write: the Node as it is (a previous agent's condition and labels)...
    this.view.set(await kube.getNode(env.nodeName));
    this.pendingRestart = this.view.annotations()[PENDING_RESTART_ANNOTATION];
    // ...and whether an uninstall is under way (then this agent writes nothing but the cleanup).
    if (env.configMap !== '' && uninstallRequested(await kube.getConfigMap(env.podNamespace, env.configMap))) {
      log.info('uninstall requested before start: cleaning up');
      await this.uninstall();
      return;
    }
    const nodeInformer = kube.nodeInformer(env.nodeName);
    nodeInformer.on('add', (n) => this.nodeChanged(n));
    nodeInformer.on('update', (n) => this.nodeChanged(n));
    this.watch('nodes', nodeInformer);

    if (env.configMap !== '') {
      const informer = kube.configMapInformer(env.podNamespace, env.configMap);
      const ctl = new ConfigController(
        kube,
        this.dropins,
        this.view,
        { namespace: env.podNamespace, name: env.configMap },
        () => informer.list().find((c) => c.metadata?.name === env.configMap),
        this.deps.clock,
        log.child({ controller: 'config' }),
      );
      this.configCtl = ctl;
      // The same ConfigMap carries the uninstall request (an annotation that `krill-agent uninstall` sets).
      const changed = (cm: ConfigMapObject) => (uninstallRequested(cm) ? void this.uninstall() : ctl.kick());
      informer.on('add', changed);
      informer.on('update', changed);
      informer.on('delete', () => ctl.kick());
      this.watch('config', informer, () => ctl.kick());
    }

    const cacheInformer = kube.imageCacheInformer();
    const imageCtl = new ImageCacheController(
      kube,
      this.deps.runtime,
      this.dropins,
      this.view,
      env.nodeName,
      () => cacheInformer.list(),
      env.imageCacheResolveSeconds,
      this.deps.clock,
      this.deps.metrics,
      log.child({ controller: 'imagecache' }),
    );
    this.imageCtl = imageCtl;
    for (const e of ['add', 'update', 'delete'] as const) cacheInformer.on(e, () => imageCtl.kick());
    this.watch('imagecaches', cacheInformer, () => imageCtl.kick());

    this.stateValue = 'running';
    this.probeLoop();
  }

  async stop(): Promise<void> {
    if (this.stateValue !== 'uninstalled') this.stateValue = 'stopped';
    await this.quiesce();
    this.deps.runtime.close();
  }

  /** Stops every loop and informer; nothing writes after this resolves. */
  private async quiesce(): Promise<void> {
    this.probeTimer?.cancel();
    this.probeTimer = undefined;
    await this.probing;
    await Promise.all([this.configCtl?.stop(), this.imageCtl?.stop(), ...[...this.watchdogs.values()].map((w) => w.stop())]);
    this.deps.metrics.watches.set(0);
  }

  private watch<T>(name: string, informer: Informer<T>, onSynced?: () => void): void {
    const { metrics, log, clock } = this.deps;
    const dog = new Watchdog<T>(informer, clock, {
      onConnect: () => this.countWatches(),
      onError: (err, delayMs) => {
        metrics.informerRestarts.inc({ resource: name });
        this.countWatches();
        log.warn({ informer: name, err: errorText(err), restart_in_ms: delayMs }, 'informer stopped: restarting');
      },
    });
    if (onSynced) informer.on('synced', onSynced);
    this.watchdogs.set(name, dog as Watchdog<unknown>);
    dog.start();
  }

  private countWatches(): void {
    this.deps.metrics.watches.set([...this.watchdogs.values()].filter((w) => w.watching).length);
  }

  private nodeChanged(node: Parameters<NodeView['set']>[0]): void {
    if (this.stateValue !== 'running') return;
    const before = JSON.stringify(this.view.labels());
    this.view.set(node);
    if (JSON.stringify(this.view.labels()) !== before) this.imageCtl?.kick();
  }

  private probeLoop(): void {
    if (this.stateValue !== 'running') return;
    this.probing = this.probeOnce().finally(() => {
      this.probing = undefined;
      if (this.stateValue === 'running') this.probeTimer = this.deps.clock.setTimeout(() => this.probeLoop(), this.deps.env.probeSeconds * 1000);
    });
  }

  private async probeOnce(): Promise<void> {
    const { runtime, log, clock } = this.deps;
    let probe: Probe;
    let version: VersionResponse | undefined;
    try {
      probe = { ok: true, status: await runtime.status(STATUS_TIMEOUT_MS) };
      version = await runtime.version(STATUS_TIMEOUT_MS);
    } catch (err) {
      // grpc-js appends a name-resolution note that says nothing about a unix socket.
      probe = { ok: false, error: errorText(err).replace(/\s*Resolution note:.*$/s, '') };
    }
    this.lastProbe = { at: clock.now(), ok: probe.ok };
    const obs = observe(probe);
    if (this.stateValue !== 'running') return;
    await this.conditionCtl.update(obs).catch((err: unknown) => log.warn({ err: errorText(err) }, 'could not write the KrillRuntimeReady condition'));
    await this.labelCtl.update(probe, obs, version).catch((err: unknown) => log.warn({ err: errorText(err) }, 'could not write the feature labels'));
  }

  /** After every successful reload: the hash (and what waits for a restart) on the Node. */
  private async reloaded(result: ReloadResult): Promise<void> {
    const { kube, env, log } = this.deps;
    if (this.stateValue !== 'running') return;
    const wanted = configAnnotations(result);
    const current = this.view.annotations();
    const patch: Record<string, string | null> = {};
    for (const [k, v] of Object.entries(wanted)) if ((current[k] ?? null) !== v) patch[k] = v;
    try {
      if (Object.keys(patch).length > 0) {
        await kube.patchNodeMetadata(env.nodeName, { annotations: patch });
        this.view.applyMetadata({ annotations: patch });
      }
      const pending = wanted[PENDING_RESTART_ANNOTATION] ?? undefined;
      if (pending !== undefined && pending !== this.pendingRestart) {
        await kube.nodeEvent(this.view.object ?? { metadata: { name: env.nodeName } }, restartRequiredEvent(result.needsRestart));
      }
      this.pendingRestart = pending;
    } catch (err) {
      log.warn({ err: errorText(err) }, 'could not report the reload on the Node');
    }
  }

  /** The uninstall request: drop-ins out, krilld reloaded, everything this agent wrote taken off its Node; then idle. */
  async uninstall(): Promise<void> {
    if (this.stateValue === 'uninstalling' || this.stateValue === 'uninstalled') return;
    const { kube, env, log } = this.deps;
    this.stateValue = 'uninstalling';
    await this.quiesce();
    for (const file of [CLUSTER_DROPIN, IMAGE_CACHE_DROPIN]) {
      const outcome = await this.dropins.remove(file).catch((err: unknown) => ({ ok: false as const, kind: 'unavailable' as const, message: errorText(err) }));
      if (outcome && !outcome.ok) log.warn({ file, reason: outcome.message }, 'drop-in removed; krilld did not reload (it reads the files at its next start)');
    }
    for (let attempt = 1; ; attempt++) {
      try {
        const node = await kube.getNode(env.nodeName);
        const { metadata, status } = cleanupPatches(node);
        if (metadata) await kube.patchNodeMetadata(env.nodeName, metadata as MetadataPatch);
        if (status) await kube.patchNodeStatus(env.nodeName, status);
        break;
      } catch (err) {
        log.warn({ err: errorText(err), attempt }, 'uninstall: could not clean the Node');
        if (attempt >= 5) break; // `krill-agent uninstall` cleans what is left
        await new Promise<void>((resolve) => this.deps.clock.setTimeout(resolve, 1000 * attempt));
      }
    }
    this.stateValue = 'uninstalled';
    log.info('uninstalled: this agent writes nothing more');
  }
}
