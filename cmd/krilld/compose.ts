// The composition root: every object krilld runs with is built here, once,
// in dependency order (drivers, then managers, then the servers' handlers),
// from the config and from facts about the node probed once and passed on as
// values. Nothing is started serving and nothing is recovered here
// (recovery.ts, daemon.ts).
import { hostname } from 'node:os';
import { join } from 'node:path';
import { Cgroups } from '../../pkg/cgroups/cgroups';
import type { KrillConfig } from '../../pkg/config/config';
import { configToPlain, type LoadedConfig } from '../../pkg/config/load';
import type { ReloadPlan } from '../../pkg/config/reload';
import { ConfigReloader } from '../../pkg/config/reloader';
import { loadDefaultAppArmorProfile } from '../../pkg/container/apparmor';
import { listDevices, probeHost } from '../../pkg/container/node_probe';
import { ContainerManager, type ImageLookup, type PodLookup, type PodView } from '../../pkg/container/manager';
import { ImageManager } from '../../pkg/image/manager';
import { setLogLevel, type Logger } from '../../pkg/log/logger';
import { Metrics } from '../../pkg/metrics/metrics';
import { NetworkManager } from '../../pkg/network/manager';
import { NetworkSettings } from '../../pkg/network/settings';
import type { HostFacts } from '../../pkg/oci/spec';
import type { HandlerFeatures } from '../../pkg/runtime/types';
import { handlersFromConfig, OciRuntime } from '../../pkg/runtime/runtime';
import { OciInfraRunner } from '../../pkg/sandbox/infra';
import { SandboxManager } from '../../pkg/sandbox/manager';
import { PodNamespaces } from '../../pkg/sandbox/namespaces';
import { readOwnOomScoreAdj } from '../../pkg/sandbox/oom';
import { remappedRootGid, type Sandbox } from '../../pkg/sandbox/types';
import type { ContainerEvent } from '../../pkg/container/manager';
import { adminHandlers } from '../../pkg/server/admin';
import { criHandlers, type CriServices } from '../../pkg/server/handlers';
import type { AdminHandlers } from '../../pkg/server/rpc';
import { runtimeHandlerList, runtimeReady } from '../../pkg/server/status';
import { streamingBackend } from '../../pkg/server/streaming_handlers';
import type { SpawnServer } from '../../pkg/spawn/server';
import { RootfsManager } from '../../pkg/storage/rootfs';
import { StreamingServer } from '../../pkg/streaming/server';
import type { Store } from '../../pkg/store/db';
import { helperBinary } from '../../pkg/version/install';
import { KRILL_VERSION } from '../../pkg/version/version';

/** Everything krilld runs with, as compose() built it. */
export interface Node {
  metrics: Metrics;
  images: ImageManager;
  runtime: OciRuntime;
  sandboxes: SandboxManager;
  containers: ContainerManager;
  streaming: StreamingServer;
  /** Filled by recovery: STOPPED events of containers that exited while krilld was down. */
  exitedWhileDown: ContainerEvent[];
  /** The CRI's two services and Krill's admin service, as the gRPC server serves them. */
  services: CriServices & { admin: AdminHandlers };
  /** Live reloads of the configuration (the admin Reload call, SIGHUP). */
  reloader: ConfigReloader;
  /** Where krilld serves metrics, once it does ('' while it does not). */
  metricsAddress: { value: string };
  close(): Promise<void>;
}

/** How a container sees its pod. */
function podView(s: Sandbox): PodView {
  const p = s.meta.paths;
  const rootUid = s.meta.userns?.uids.find((m) => m.containerId === 0)?.hostId;
  const rootGid = remappedRootGid(s.meta.userns);
  return {
    id: s.id,
    ready: s.status.state === 'ready',
    config: s.meta.config,
    handler: s.meta.handler,
    namespaces: {
      network: s.meta.namespaces.network,
      ipc: s.meta.namespaces.ipc,
      uts: s.meta.namespaces.uts,
      user: s.meta.namespaces.user,
      pid: s.status.infra ? `/proc/${s.status.infra.pid}/ns/pid` : undefined,
    },
    files: { hostname: p.hostname, hosts: p.hosts, resolvConf: p.resolvConf, shm: p.shm },
    cgroupParent: s.meta.cgroupParent,
    ...(s.meta.namespaces.user && rootUid !== undefined && rootGid !== undefined ? { idmap: { userns: s.meta.namespaces.user, rootUid, rootGid } } : {}),
  };
}

function imageLookup(images: ImageManager, log: Logger): ImageLookup {
  return {
    resolve(ref) {
      const r = images.resolve(ref);
      if (!r) return undefined;
      return { id: r.id, ref: r.repoDigests[0] ?? r.id, name: r.repoTags[0], chainIds: r.chainIds, config: r.config };
    },
    layerDir: (chainId) => images.layers.diffDir(chainId),
    acquireLayers: (holder, chainIds) => images.layers.acquire(holder, chainIds),
    // Releasing also collects layers of images removed while this container held them.
    releaseLayers: (holder) => {
      images.releaseLayers(holder).catch((err: unknown) => log.warn({ err, container_id: holder }, 'could not collect unused layers'));
    },
  };
}

function countBy(values: string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const v of values) out[v] = (out[v] ?? 0) + 1;
  return out;
}

/**
 * `reloadConfig` loads the configuration files again with the start's flags
 * (a reload); what `loaded` holds is what every object is built from.
 */
export async function compose(loaded: LoadedConfig, store: Store, launcher: SpawnServer, log: Logger, reloadConfig: () => LoadedConfig): Promise<Node> {
  const { config } = loaded;

  // Facts about the node, probed once.
  const cgroups = await Cgroups.detect(config.runtime.cgroup_driver);
  const oomFloor = await readOwnOomScoreAdj();
  const baseFacts = await probeHost(cgroups);

  // Drivers.
  const metrics = new Metrics();
  const images = await ImageManager.open({ config, store, log });
  const runtime = await OciRuntime.open({
    launcher,
    conmon: config.runtime.conmon,
    handlers: handlersFromConfig(config),
    defaultHandler: config.runtime.default_handler,
    dirs: { persistRoot: join(config.root, 'containers'), stateRoot: config.state },
    attachHelper: helperBinary('krill-seqpacket'),
    execHelper: helperBinary('krill-exec'),
  });
  const facts: Record<string, HostFacts> = {};
  const factsOf = (f: HandlerFeatures): HostFacts => ({ ...baseFacts, recursiveReadOnlyMounts: f.recursiveReadOnlyMounts, idmappedMounts: f.idmappedMounts });
  for (const name of runtime.handlerNames()) facts[name] = factsOf(runtime.features(name));
  const appArmor = baseFacts.appArmor ? await loadDefaultAppArmorProfile(launcher) : undefined;
  if (appArmor && 'error' in appArmor) log.error({ reason: appArmor.error }, 'AppArmor is enabled but the default profile could not be loaded: containers asking for RuntimeDefault will be refused');
  const settings = new NetworkSettings(store);
  const network = new NetworkManager({
    launcher,
    confDir: config.network.cni_conf_dir,
    binDirs: config.network.cni_bin_dirs,
    pluginTimeoutMs: config.network.plugin_timeout,
    defaultBridge: config.network.default_bridge,
    defaultSubnet: config.network.default_subnet,
    root: config.root,
    log: log.child({ component: 'network' }),
    podCidrs: settings.podCidrs(),
    observe: (operation, result, seconds) => metrics.cniSeconds.observe({ operation, result }, seconds),
  });
  const rootfs = new RootfsManager(launcher, join(config.root, 'layers'), join(config.root, 'containers-fs'), helperBinary('krill-idmap'));

  // Managers.
  const sandboxes = new SandboxManager({
    root: config.root,
    state: config.state,
    store,
    network,
    cgroups,
    namespaces: new PodNamespaces(launcher),
    log: log.child({ component: 'sandbox' }),
    shmSizeBytes: config.sandbox.shm_size_mib * 1024 * 1024,
    defaultCgroupParent: config.sandbox.default_cgroup_parent,
    oomFloor,
    handlers: () => runtime.handlerNames(),
    defaultHandler: config.runtime.default_handler,
    nodeHostname: hostname(),
    infra: new OciInfraRunner({ runtime, cgroups, binary: config.sandbox.infra_binary, log: log.child({ component: 'infra' }) }),
  });
  await sandboxes.prepare();
  const pods: PodLookup = {
    get(id) {
      const s = sandboxes.get(id);
      return s ? podView(s) : undefined;
    },
  };
  const containers = new ContainerManager({
    store,
    log,
    runtime,
    rootfs,
    cgroups,
    pods,
    images: imageLookup(images, log),
    hostFacts: (handler) => facts[handler || config.runtime.default_handler] ?? facts[config.runtime.default_handler]!,
    hostDevices: () => listDevices(),
    specOptions: {
      oomScoreAdjFloor: oomFloor,
      seccompDefault: config.runtime.seccomp_use_default_when_empty ? 'RuntimeDefault' : 'Unconfined',
      ...(appArmor && 'name' in appArmor ? { appArmorDefaultProfile: appArmor.name } : {}),
      ...(appArmor && 'error' in appArmor ? { appArmorDefaultProfileError: appArmor.error } : {}),
    },
    bundlesDir: join(config.state, 'containers'),
    monitorCheckMs: config.runtime.monitor_check,
    timeRuntime: (operation, fn) => metrics.time(metrics.runtimeSeconds, operation, fn),
  });

  // The servers' side.
  const streaming = await StreamingServer.start({
    config: config.streaming,
    backend: streamingBackend(containers, sandboxes, launcher),
    log: log.child({ component: 'streaming' }),
  });
  images.events.on('pull-done', (e) => {
    metrics.imagePullsTotal.inc({ result: 'success' });
    metrics.imagePullSeconds.observe({ result: 'success' }, e.seconds);
    metrics.imagePullBytesTotal.inc(e.bytes);
  });
  images.events.on('pull-failed', (e) => {
    metrics.imagePullsTotal.inc({ result: 'failure' });
    metrics.imagePullSeconds.observe({ result: 'failure' }, e.seconds);
  });
  metrics.countStates({
    pods: () => countBy(sandboxes.list().map((p) => p.status.state)),
    containers: () => countBy(containers.list().map((c) => c.status.state)),
  });
  const defaultBinary = config.runtime.handlers[config.runtime.default_handler]!.binary;
  const metricsAddress = { value: '' };

  // Live reload: each key pkg/config/reload.ts calls live goes to the object that reads it.
  const applyLive = async (plan: ReloadPlan): Promise<void> => {
    const next: KrillConfig = plan.next;
    const areas = new Set(plan.live.map((c) => c.path[0]));
    // First what can fail (probing a new handler's binary), then the swaps, which cannot.
    for (const c of plan.live) {
      if (c.path[0] !== 'runtime' || c.path[1] !== 'handlers') continue;
      const name = c.path[2]!;
      if (runtime.hasHandler(name)) continue;
      const features = await runtime.addHandler(handlersFromConfig(next)[name]!);
      facts[name] = factsOf(features);
      log.info({ handler: name, binary: next.runtime.handlers[name]!.binary }, 'runtime handler added');
    }
    if (areas.has('image')) images.applySettings(next.image);
    if (areas.has('streaming')) streaming.setLimits(next.streaming);
    if (areas.has('log_level')) setLogLevel(log, next.log_level);
  };
  const reloader = new ConfigReloader({
    initial: loaded,
    load: reloadConfig,
    apply: applyLive,
    observe: (o) => {
      if ('result' in o) {
        metrics.configReloadsTotal.inc({ result: 'ok' });
        log.info({ hash: o.result.hash, applied: o.result.applied, needs_restart: o.result.needsRestart }, 'configuration reloaded');
      } else {
        metrics.configReloadsTotal.inc({ result: 'error' });
        log.error({ error: o.error.message }, 'configuration reload failed; the running configuration stays');
      }
    },
  });
  const exitedWhileDown: ContainerEvent[] = [];
  const services = criHandlers({
    version: KRILL_VERSION,
    cgroupDriver: config.runtime.cgroup_driver,
    images,
    sandboxes,
    containers,
    network,
    settings,
    streaming,
    fsMountpoint: join(config.root, 'containers-fs'),
    exitedWhileDown,
    startedAt: Date.now(),
    observeExecSync: (result, seconds) => metrics.execSyncSeconds.observe({ result }, seconds),
    status: {
      conditions: [
        runtimeReady([config.runtime.conmon, defaultBinary]),
        async () => {
          const c = await network.condition();
          return { type: 'NetworkReady', status: c.ready, reason: c.reason, message: c.message };
        },
      ],
      handlers: () => runtimeHandlerList(runtime.handlerNames(), config.runtime.default_handler, (name) => runtime.features(name)),
      // pkg/oci resolves groups with both policies (Merge, Strict) and applies Mount.mount_options that
      // take permissions away; a user-namespaced pod always gets a network namespace of its own.
      features: () => ({ supplementalGroupsPolicy: true, userNamespacesHostNetwork: false, mountOptions: true }),
      info: () => ({
        config: JSON.stringify(configToPlain(reloader.config)),
        configSources: JSON.stringify(reloader.state().files),
        metrics: JSON.stringify(metricsAddress.value ? { address: metricsAddress.value, path: '/metrics' } : { enabled: false }),
      }),
    },
  });

  return {
    metrics,
    images,
    runtime,
    sandboxes,
    containers,
    streaming,
    exitedWhileDown,
    services: { ...services, admin: adminHandlers(reloader) },
    reloader,
    metricsAddress,
    async close() {
      images.close();
      await streaming.stop();
      containers.close();
      runtime.close();
      await sandboxes.close();
    },
  };
}
