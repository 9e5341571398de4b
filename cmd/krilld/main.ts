// krilld: the Krill CRI daemon. Parses flags, loads the config, then either
// prints something and exits or runs the daemon until SIGTERM/SIGINT.
import { renderDefaultConfigFile } from '../../pkg/config/default_file';
import { loadConfig, formatConfig } from '../../pkg/config/load';
import { parseArgs, usage, UsageError } from '../../pkg/config/flags';
import { ConfigError } from '../../pkg/config/schema';
import { createLogger } from '../../pkg/log/logger';
import { takeNotifySocket } from '../../pkg/systemd/notify';
import { KRILL_VERSION } from '../../pkg/version/version';
import { startDaemon } from './daemon';

function fail(message: string, code: number): never {
  process.stderr.write(`krilld: ${message}\n`);
  process.exit(code);
}

async function main(argv: string[]): Promise<void> {
  // Before anything starts a child: none may inherit it (pkg/systemd/notify.ts).
  const notifySocket = takeNotifySocket(process.env);
  let args;
  try {
    args = parseArgs(argv);
  } catch (err) {
    if (err instanceof UsageError) fail(err.message, 2);
    throw err;
  }
  if (args.command === 'help') {
    process.stdout.write(usage());
    return;
  }
  if (args.command === 'version') {
    process.stdout.write(`krilld ${KRILL_VERSION} (CRI v1, Node.js ${process.versions.node})\n`);
    return;
  }
  if (args.command === 'config-default') {
    process.stdout.write(renderDefaultConfigFile(KRILL_VERSION));
    return;
  }
  let loaded;
  try {
    loaded = loadConfig(args);
  } catch (err) {
    if (err instanceof ConfigError) fail(`invalid configuration: ${err.message}`, 2);
    throw err;
  }
  if (args.command === 'config') {
    process.stdout.write(formatConfig(loaded.config));
    return;
  }
  const log = createLogger(loaded.config.log_level);
  process.on('uncaughtException', (err) => {
    log.fatal({ err }, 'uncaught exception; exiting');
    process.exit(1);
  });
  try {
    const loadOptions = args;
    await startDaemon(loaded, log, { notifySocket, reload: () => loadConfig(loadOptions) });
  } catch (err) {
    log.fatal({ err }, 'krilld failed to start');
    log.flush();
    fail(err instanceof Error ? err.message : String(err), 1);
  }
}

void main(process.argv.slice(2));
