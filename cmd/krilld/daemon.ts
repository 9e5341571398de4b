// Wiring: builds the managers from the config, registers the CRI handlers,
// serves the socket and shuts down cleanly on SIGTERM/SIGINT.
import { access, constants, mkdir } from 'node:fs/promises';
import type { RuntimeCondition, RuntimeHandler } from '../../api/runtime/v1/api';
import type { LoadedConfig } from '../../pkg/config/load';
import { configToPlain } from '../../pkg/config/load';
import type { KrillConfig } from '../../pkg/config/config';
import type { Logger } from '../../pkg/log/logger';
import { CriServer } from '../../pkg/server/server';
import { runtimeConfigHandler } from '../../pkg/server/runtime_config';
import { statusHandler, type StatusSources } from '../../pkg/server/status';
import { versionHandler } from '../../pkg/server/version';
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

function statusSources(config: KrillConfig, sources: string[]): StatusSources {
  return {
    async conditions(): Promise<RuntimeCondition[]> {
      const missing: string[] = [];
      const handler = config.runtime.handlers[config.runtime.default_handler]!;
      for (const bin of [config.runtime.conmon, handler.binary]) if (!(await executable(bin))) missing.push(bin);
      return [
        missing.length === 0
          ? { type: 'RuntimeReady', status: true, reason: '', message: '' }
          : { type: 'RuntimeReady', status: false, reason: 'RuntimeBinaryMissing', message: `not executable: ${missing.join(', ')}` },
        {
          type: 'NetworkReady',
          status: false,
          reason: 'NetworkPluginNotReady',
          message: 'krill does not set up pod networking yet',
        },
      ];
    },
    handlers(): RuntimeHandler[] {
      const features = { recursiveReadOnlyMounts: false, userNamespaces: false };
      return [
        { name: '', features },
        ...Object.keys(config.runtime.handlers).map((name) => ({ name, features })),
      ];
    },
    features: () => ({ supplementalGroupsPolicy: false }),
    info: () => ({
      config: JSON.stringify(configToPlain(config)),
      configSources: JSON.stringify(sources),
    }),
  };
}

export interface Daemon {
  stop(): Promise<void>;
}

export async function startDaemon(loaded: LoadedConfig, log: Logger): Promise<Daemon> {
  const { config } = loaded;
  await mkdir(config.root, { recursive: true, mode: 0o711 });
  await mkdir(config.state, { recursive: true, mode: 0o711 });

  const server = new CriServer({
    log,
    runtime: {
      version: versionHandler(KRILL_VERSION),
      status: statusHandler(statusSources(config, loaded.sources)),
      runtimeConfig: runtimeConfigHandler(config),
    },
    image: {},
  });
  await server.listen(config.socket);
  log.info({ socket: config.socket, version: KRILL_VERSION, config_sources: loaded.sources }, 'krilld serving');

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      await server.shutdown(SHUTDOWN_GRACE_MS);
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
