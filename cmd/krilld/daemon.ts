// krilld's life: prepares its directories, starts its spawn server, builds
// everything (compose.ts), recovers (recovery.ts), serves the CRI socket and
// metrics, reloads its configuration on SIGHUP (as the admin Reload call does),
// and shuts down cleanly on SIGTERM/SIGINT (containers keep running).
import { join } from 'node:path';
import type { LoadedConfig } from '../../pkg/config/load';
import type { Logger } from '../../pkg/log/logger';
import { MetricsServer } from '../../pkg/metrics/server';
import { adminHandlers } from '../../pkg/server/admin';
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
  // SIGHUP (a reload) would end the process by default: it is caught from the
  // start, and one that comes before krilld serves reloads once it does.
  let onHup: (() => void) | undefined;
  let hupWhileStarting = false;
  process.on('SIGHUP', () => {
    if (onHup) onHup();
    else hupWhileStarting = true;
  });
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
  const server = new CriServer({ log, ...node.services, admin: adminHandlers(node.reloader, () => void restart()), observe: node.metrics.observeCall });
  await server.listen(config.socket);
  log.info({ socket: config.socket, metrics: node.metricsAddress.value || 'disabled', version: KRILL_VERSION, config_sources: loaded.sources }, 'krilld serving');
  // Type=notify: systemd counts the start done (and starts kubelet, ordered After=) only now.
  await notifier.ready(`serving on ${config.socket}`);
  // Recovery's slow part, after the start: the CNI plugins' verdict on each ready pod's network.
  const rlog = log.child({ component: 'recovery' });
  void node.sandboxes.checkNetworks(rlog).then(
    (r) => rlog.info(r, 'pod networks checked (CNI CHECK)'),
    (err: unknown) => rlog.error({ err }, 'checking the pod networks failed'),
  );

  let stopping: Promise<void> | undefined;
  const close = async (): Promise<void> => {
    await server.shutdown(SHUTDOWN_GRACE_MS);
    await node.close();
    await metricsServer.close();
    await spawner.stop();
    store.close();
  };
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      await notifier.stopping('stopping: finishing calls in flight; containers keep running');
      await close();
      log.info('krilld stopped');
    })();
    return stopping;
  };
  // The admin Restart: close as a stop does, then execute krilld again in this
  // process (same pid, same flags), which recovers and serves as any start does.
  // systemd sees a reload (RELOADING=1 now, READY=1 from the new krilld).
  const restart = async (): Promise<void> => {
    if (stopping) return;
    stopping = (async () => {
      log.info('restarting: krilld executes itself again; containers keep running');
      await notifier.notify('RELOADING=1', 'STATUS=restarting: finishing calls in flight; containers keep running');
      await close();
      await new Promise<void>((resolve) => log.flush(() => resolve()));
    })();
    await stopping;
    const env: NodeJS.ProcessEnv = { ...process.env, ...(opts.notifySocket ? { NOTIFY_SOCKET: opts.notifySocket } : {}) };
    try {
      process.execve!(process.execPath, [process.execPath, ...process.execArgv, ...process.argv.slice(1)], env);
    } catch (err) {
      // Everything is closed already: exiting lets the service manager start krilld again.
      log.fatal({ err }, 'could not execute krilld again; exiting');
      log.flush();
      process.exit(1);
    }
  };
  onHup = () => {
    if (stopping) return;
    log.info({ signal: 'SIGHUP' }, 'reloading the configuration');
    // The reloader logs the outcome and counts it; the running configuration stays on an error.
    node.reloader.reload().catch(() => undefined);
  };
  if (hupWhileStarting) onHup();
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
