// Wiring: builds the store and the managers from the config, registers the
// CRI handlers, serves the socket and shuts down cleanly on SIGTERM/SIGINT.
import { access, constants } from 'node:fs/promises';
import { join } from 'node:path';
import type { RuntimeCondition, RuntimeHandler } from '../../api/runtime/v1/api';
import type { LoadedConfig } from '../../pkg/config/load';
import { configToPlain } from '../../pkg/config/load';
import type { KrillConfig } from '../../pkg/config/config';
import type { Logger } from '../../pkg/log/logger';
import type { ImageHandlers, RuntimeHandlers } from '../../pkg/server/rpc';
import { Metrics } from '../../pkg/metrics/metrics';
import { MetricsServer } from '../../pkg/metrics/server';
import { CriServer } from '../../pkg/server/server';
import { ImageManager } from '../../pkg/image/manager';
import { imageHandlers } from '../../pkg/server/image_handlers';
import { setUpPods } from '../../pkg/server/pod_setup';
import { setUpContainers, setUpRuntime } from '../../pkg/server/container_setup';
import { streamingBackend, streamingHandlers } from '../../pkg/server/streaming_handlers';
import { StreamingServer } from '../../pkg/streaming/server';
import { getContainerEventsHandler } from '../../pkg/server/container_events';
import type { HandlerFeatures } from '../../pkg/container/host_facts';
import { runtimeConfigHandler } from '../../pkg/server/runtime_config';
import { statusHandler, type ConditionSource } from '../../pkg/server/status';
import { versionHandler } from '../../pkg/server/version';
import { Store } from '../../pkg/store/db';
import { SpawnServer, useSpawnServer } from '../../pkg/util/spawner';
import { prepareLayout } from '../../pkg/storage/layout';
import { helperBinary } from '../../pkg/version/install';
import { KRILL_VERSION } from '../../pkg/version/version';

const SHUTDOWN_GRACE_MS = 30_000;


async function executable(file: string): Promise<boolean> {
  try {
    await access(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function runtimeReady(config: KrillConfig): ConditionSource {
  return async (): Promise<RuntimeCondition> => {
    const handler = config.runtime.handlers[config.runtime.default_handler]!;
    const missing: string[] = [];
    for (const bin of [config.runtime.conmon, handler.binary]) if (!(await executable(bin))) missing.push(bin);
    return missing.length === 0
      ? { type: 'RuntimeReady', status: true, reason: '', message: '' }
      : { type: 'RuntimeReady', status: false, reason: 'RuntimeBinaryMissing', message: `not executable: ${missing.join(', ')}` };
  };
}

function runtimeHandlerList(config: KrillConfig, probed: Record<string, HandlerFeatures>): RuntimeHandler[] {
  // Pods get user namespaces with ID-mapped root filesystems (krill-idmap) wherever the runtime joins one.
  const features = (name: string) => ({
    recursiveReadOnlyMounts: probed[name]?.recursiveReadOnlyMounts ?? false,
    userNamespaces: probed[name]?.userNamespaces ?? false,
  });
  return [
    { name: '', features: features(config.runtime.default_handler) },
    ...Object.keys(config.runtime.handlers).map((name) => ({ name, features: features(name) })),
  ];
}

function countBy(values: string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const v of values) out[v] = (out[v] ?? 0) + 1;
  return out;
}

function observeImages(metrics: Metrics, images: ImageManager): void {
  images.events.on('pull-done', (e) => {
    metrics.imagePullsTotal.inc({ result: 'success' });
    metrics.imagePullSeconds.observe({ result: 'success' }, e.seconds);
    metrics.imagePullBytesTotal.inc(e.bytes);
  });
  images.events.on('pull-failed', (e) => {
    metrics.imagePullsTotal.inc({ result: 'failure' });
    metrics.imagePullSeconds.observe({ result: 'failure' }, e.seconds);
  });
}

export interface Daemon {
  stop(): Promise<void>;
}

export async function startDaemon(loaded: LoadedConfig, log: Logger): Promise<Daemon> {
  const { config } = loaded;
  // Whatever krilld makes is private unless the code says otherwise (pkg/util/modes.ts).
  process.umask(0o077);
  await prepareLayout(config);
  // Children start from a small spawn server, not from a fork() of krilld (pkg/util/spawner.ts).
  const spawner = await SpawnServer.start({ binary: helperBinary('krill-spawn'), log: log.child({ component: 'spawn-server' }) });
  useSpawnServer(spawner);
  const store = new Store(join(config.root, 'krill.db'));
  const metrics = new Metrics();
  const metricsServer = new MetricsServer(metrics.registry);
  let metricsAddress = '';

  const conditions: ConditionSource[] = [runtimeReady(config)];
  const runtime: RuntimeHandlers = {
    version: versionHandler(KRILL_VERSION),
    runtimeConfig: runtimeConfigHandler(config),
  };
  const image: ImageHandlers = {};

  // Each area adds its handlers here.
  const images = await ImageManager.open({ config, store, log });
  Object.assign(image, imageHandlers(images));
  const ociRuntime = await setUpRuntime(config);
  const pods = await setUpPods({
    config,
    store,
    log,
    runtime: ociRuntime,
    observeCni: (operation, result, seconds) => metrics.cniSeconds.observe({ operation, result }, seconds),
  });
  conditions.push(pods.networkReady);
  Object.assign(runtime, pods.handlers);
  const containers = await setUpContainers({ config, store, log, runtime: ociRuntime, pods, images, metrics });
  pods.useContainers(containers.podContainers);
  Object.assign(runtime, containers.handlers);
  const streaming = await StreamingServer.start({
    config: config.streaming,
    backend: streamingBackend(containers.manager, pods.sandboxes),
    log: log.child({ component: 'streaming' }),
  });
  Object.assign(runtime, streamingHandlers(containers.manager, pods.sandboxes, streaming));
  runtime.getContainerEvents = getContainerEventsHandler({
    containers: containers.manager,
    podStatus: async (podSandboxId) => {
      const ctx = { log, signal: new AbortController().signal, method: 'PodSandboxStatus' };
      return runtime.podSandboxStatus?.({ podSandboxId, verbose: false }, ctx).then((r) => r.status, () => undefined);
    },
    backlog: containers.exitedWhileDown,
    startedAt: Date.now(),
  });
  observeImages(metrics, images);
  metrics.countStates({
    pods: () => countBy(pods.sandboxes.list().map((p) => p.status.state)),
    containers: () => countBy(containers.manager.list().map((c) => c.status.state)),
  });

  runtime.status = statusHandler({
    conditions,
    handlers: () => runtimeHandlerList(config, containers.features),
    // pkg/oci resolves groups with both policies (Merge, Strict).
    features: () => ({ supplementalGroupsPolicy: true }),
    info: () => ({
      config: JSON.stringify(configToPlain(config)),
      configSources: JSON.stringify(loaded.sources),
      metrics: JSON.stringify(metricsAddress ? { address: metricsAddress, path: '/metrics' } : { enabled: false }),
    }),
  });

  if (config.metrics.enabled) metricsAddress = await metricsServer.listen(config.metrics.address);
  const server = new CriServer({ log, runtime, image, observe: metrics.observeCall });
  await server.listen(config.socket);
  log.info({ socket: config.socket, metrics: metricsAddress || 'disabled', version: KRILL_VERSION, config_sources: loaded.sources }, 'krilld serving');

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      images.close();
      await server.shutdown(SHUTDOWN_GRACE_MS);
      await streaming.stop();
      containers.close();
      ociRuntime.close();
      await pods.close();
      await metricsServer.close();
      useSpawnServer(undefined);
      await spawner.stop();
      store.close();
      log.info('krilld stopped');
    })();
    return stopping;
  };
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.on(signal, () => {
      if (stopping) {
        log.warn({ signal }, 'second signal; exiting now');
        process.exit(1);
      }
      log.info({ signal }, 'shutting down');
      void stop().then(() => {
        log.flush();
        process.exit(0);
      });
    });
  }
  return { stop };
}
