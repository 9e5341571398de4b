// krilld's life: prepares its directories, starts its spawn server, builds
// everything (compose.ts), recovers (recovery.ts), serves the CRI socket and
// metrics, reloads its configuration on SIGHUP (as the admin Reload call does),
// and shuts down cleanly on SIGTERM/SIGINT (containers keep running).
import { join } from 'node:path';
import type { LoadedConfig } from '../../pkg/config/load';
import type { Logger } from '../../pkg/log/logger';
import { MetricsServer } from '../../pkg/metrics/server';
import { CriServer } from '../../pkg/server/server';
import { SpawnServer } from '../../pkg/spawn/server';
import { prepareLayout } from '../../pkg/storage/layout';
import { Store } from '../../pkg/store/db';
import { SystemdNotifier } from '../../pkg/systemd/notify';
import { checkCrashPointSetting } from '../../pkg/util/crash_points';
import { helperBinary } from '../../pkg/version/install';
import { KRILL_VERSION } from '../../pkg/version/version';
import { compose } from './compose';
import { recover } from './recovery';

const SHUTDOWN_GRACE_MS = 30_000;

export interface Daemon {
  stop(): Promise<void>;
}

export interface DaemonOptions {
  /** NOTIFY_SOCKET as systemd set it (taken out of the environment by main.ts); '' when not under systemd. */
  notifySocket?: string;
  /** Loads the configuration files again with the start's flags (a reload). */
  reload: () => LoadedConfig;
}

export async function startDaemon(loaded: LoadedConfig, log: Logger, opts: DaemonOptions): Promise<Daemon> {
  const { config } = loaded;
  checkCrashPointSetting();
  // Whatever krilld makes is private unless the code says otherwise (pkg/util/modes.ts).
  process.umask(0o077);
  await prepareLayout(config);
  // Children start from a small spawn server, not from a fork() of krilld (pkg/spawn).
  const spawner = await SpawnServer.start({ binary: helperBinary('krill-spawn'), log: log.child({ component: 'spawn-server' }) });
  const notifier = new SystemdNotifier({
    socket: opts.notifySocket ?? '',
    launcher: spawner,
    binary: helperBinary('krill-notify'),
    mainPid: process.pid,
    log: log.child({ component: 'systemd' }),
  });
  const store = new Store(join(config.root, 'krill.db'));
  const node = await compose(loaded, store, spawner, log, opts.reload);
  const recovered = await recover(node, log);
  node.exitedWhileDown.push(...recovered.exitedWhileDown);

  const metricsServer = new MetricsServer(node.metrics.registry);
  if (config.metrics.enabled) node.metricsAddress.value = await metricsServer.listen(config.metrics.address);
  const server = new CriServer({ log, ...node.services, observe: node.metrics.observeCall });
  await server.listen(config.socket);
  log.info({ socket: config.socket, metrics: node.metricsAddress.value || 'disabled', version: KRILL_VERSION, config_sources: loaded.sources }, 'krilld serving');
  // Type=notify: systemd counts the start done (and starts kubelet, ordered After=) only now.
  await notifier.ready(`serving on ${config.socket}`);

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      await notifier.stopping('stopping: finishing calls in flight; containers keep running');
      await server.shutdown(SHUTDOWN_GRACE_MS);
      await node.close();
      await metricsServer.close();
      await spawner.stop();
      store.close();
      log.info('krilld stopped');
    })();
    return stopping;
  };
  process.on('SIGHUP', () => {
    if (stopping) return;
    log.info({ signal: 'SIGHUP' }, 'reloading the configuration');
    // The reloader logs the outcome and counts it; the running configuration stays on an error.
    node.reloader.reload().catch(() => undefined);
  });
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
