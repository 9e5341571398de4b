// Starts a real krilld (bin/krilld, as a user would) on a temporary socket,
// root and state directory, and hands back a typed CRI client.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes, randomInt } from 'node:crypto';
import { chmodSync, createWriteStream, mkdirSync, readFileSync, writeFileSync, rmSync, type WriteStream } from 'node:fs';
import { mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { connectCri, type CriClient } from '../../pkg/criclient/client';
import { mountsUnder } from '../../pkg/storage/mount';
import { repeatedKeys } from './json_keys';
import { REPO_ROOT, testBaseDir, testCgroupParent } from './paths';

export interface KrilldOptions {
  /** krill.toml text; the harness adds nothing to it. */
  config?: string;
  /** Extra flags after the harness's own. */
  args?: string[];
  /** Environment additions for the daemon. */
  env?: NodeJS.ProcessEnv;
  /** Unless false, the harness's flags include --log-level debug (a flag wins over the config files). */
  debugLogFlag?: boolean;
  /**
   * Unless false (or `config` has its own [network] table), the daemon gets
   * a network of its own: an empty CNI conf dir, so the embedded default
   * network is used, on a bridge and subnet no other krilld uses.
   */
  isolatedNetwork?: boolean;
}

/** The embedded default network a test krilld was given. */
export interface TestNetwork {
  bridge: string;
  subnet: string;
  /** The gateway (the bridge's address): first host of the subnet. */
  gateway: string;
  cniConfDir: string;
}

export interface Krilld {
  dir: string;
  socket: string;
  root: string;
  state: string;
  configFile: string;
  logFile: string;
  /** Set unless the test brought its own network config. */
  network?: TestNetwork;
  client: CriClient;
  pid(): number;
  /** Log lines written so far (JSON objects). */
  logs(): Record<string, unknown>[];
  /** SIGTERM and wait for exit; resolves the exit code. */
  stop(): Promise<number | null>;
  /** SIGKILL, as a crash would. */
  kill9(): Promise<void>;
  /** Starts the daemon again on the same directories (with `env` instead of the first start's additions, when given). */
  restart(env?: NodeJS.ProcessEnv): Promise<void>;
  /** Resolves when the daemon process has exited (for a test that makes it die). */
  exited(): Promise<number | null>;
  /** Stops the daemon if running and deletes its directories. */
  cleanup(): Promise<void>;
}

function waitExit(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => child.once('exit', (code) => resolve(code)));
}

export async function waitForSocket(client: CriClient, child: ChildProcess, logFile: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`krilld exited (${child.exitCode ?? child.signalCode}) before serving:\n${readFileSync(logFile, 'utf8')}`);
    }
    try {
      await client.runtime.version({ version: '' }, { timeoutMs: 1000 });
      return;
    } catch {
      if (Date.now() > deadline) throw new Error(`krilld did not answer within ${timeoutMs} ms:\n${readFileSync(logFile, 'utf8')}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

function usedRoutes(): string {
  try {
    return execFileSync('ip', ['-4', 'route', 'show', 'table', 'all'], { encoding: 'utf8' });
  } catch {
    return '';
  }
}

/**
 * Eight characters naming this jest run: test bridges are "kt<tag><4 hex>",
 * so that a leak check can tell this run's veths from another run's.
 */
export function testRunTag(): string {
  testBaseDir();
  return process.env.KRILL_IT_RUN!.replace(/^run-/, '').replace(/[^A-Za-z0-9]/g, '').slice(0, 8).padEnd(8, '0');
}

/** A bridge name and a /24 in 10.200.0.0-10.254.255.0 that no route on the host uses yet. */
export function pickTestNetwork(dir: string): TestNetwork {
  const routes = usedRoutes();
  for (;;) {
    const prefix = `10.${randomInt(200, 255)}.${randomInt(0, 256)}`;
    if (routes.includes(`${prefix}.`)) continue;
    return { bridge: `kt${testRunTag()}${randomBytes(2).toString('hex')}`, subnet: `${prefix}.0/24`, gateway: `${prefix}.1`, cniConfDir: join(dir, 'cni', 'net.d') };
  }
}

export async function startKrilld(opts: KrilldOptions = {}): Promise<Krilld> {
  const dir = mkdtempSync(join(testBaseDir(), 'd-'));
  // As /var/lib/krill and /run/krill are on a node: a user-namespaced pod's root must get through.
  chmodSync(dir, 0o711);
  const socket = join(dir, 'krill.sock');
  const root = join(dir, 'root');
  const state = join(dir, 'state');
  const configFile = join(dir, 'krill.toml');
  const logFile = join(dir, 'krilld.log');
  mkdirSync(dir, { recursive: true });
  let configText = opts.config ?? '';
  let network: TestNetwork | undefined;
  if (opts.isolatedNetwork !== false && !/^\s*\[network\]/m.test(configText)) {
    network = pickTestNetwork(dir);
    mkdirSync(network.cniConfDir, { recursive: true });
    configText += `\n[network]\ncni_conf_dir = "${network.cniConfDir}"\ndefault_bridge = "${network.bridge}"\ndefault_subnet = "${network.subnet}"\n`;
  }
  // Pods without a cgroup parent go below one the leak check attributes to this run.
  if (!/^\s*\[sandbox\]/m.test(configText)) configText += `\n[sandbox]\ndefault_cgroup_parent = "${testCgroupParent('default')}"\n`;
  writeFileSync(configFile, configText);
  const args = [
    '--config', configFile,
    '--config-dir', join(dir, 'krill.d'),
    '--socket', socket,
    '--root', root,
    '--state', state,
    ...(opts.debugLogFlag === false ? [] : ['--log-level', 'debug']),
    '--metrics-address', '127.0.0.1:0',
    ...(opts.args ?? []),
  ];
  let child!: ChildProcess;
  let log!: WriteStream;
  const client = connectCri(socket);

  let launchEnv = opts.env;
  const launch = async (): Promise<void> => {
    log = createWriteStream(logFile, { flags: 'a' });
    child = spawn(join(REPO_ROOT, 'bin/krilld'), args, {
      stdio: ['ignore', 'pipe', 'pipe'],
      // Under hack/coverage each krilld writes V8's coverage there when it exits (not after a SIGKILL).
      // Source maps: stack traces in krilld's logs name the TypeScript lines (bin/krilld leaves them off to save memory).
      env: { NODE_OPTIONS: '--enable-source-maps', ...process.env, ...(process.env.KRILL_COVERAGE_DIR ? { NODE_V8_COVERAGE: process.env.KRILL_COVERAGE_DIR } : {}), ...launchEnv },
    });
    child.stdout!.pipe(log, { end: false });
    child.stderr!.pipe(log, { end: false });
    await waitForSocket(client, child, logFile);
  };
  await launch();

  const running = (): boolean => child.exitCode === null && child.signalCode === null;
  const handle: Krilld = {
    dir,
    socket,
    root,
    state,
    configFile,
    logFile,
    ...(network ? { network } : {}),
    client,
    pid: () => child.pid!,
    logs() {
      return readFileSync(logFile, 'utf8')
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as Record<string, unknown>);
    },
    async stop() {
      if (!running()) return child.exitCode;
      child.kill('SIGTERM');
      return waitExit(child);
    },
    async kill9() {
      if (!running()) return;
      child.kill('SIGKILL');
      await waitExit(child);
    },
    exited: () => waitExit(child),
    async restart(env?: NodeJS.ProcessEnv) {
      if (env) launchEnv = env;
      if (running()) await handle.stop();
      await launch();
    },
    async cleanup() {
      client.close();
      if (running()) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
        await waitExit(child);
        clearTimeout(timer);
      }
      log.end();
      // The bridge of the test's own network outlives its pods by design.
      if (network) {
        try {
          execFileSync('ip', ['link', 'del', network.bridge], { stdio: 'ignore' });
        } catch {
          // never created: no pod got a network
        }
      }
      // Deleting through a leftover mount would delete what it shows; leave it for the leak check.
      const mounted = mountsUnder(dir);
      if (mounted.length > 0) throw new Error(`krilld left mounts under ${dir}: ${mounted.join(', ')}`);
      const badLines = linesWithRepeatedKeys(readFileSync(logFile, 'utf8'));
      rmSync(dir, { recursive: true, force: true });
      if (badLines.length > 0) throw new Error(`krilld wrote log lines with a key twice:\n${badLines.slice(0, 5).join('\n')}`);
    },
  };
  return handle;
}

/** The JSON lines of a krilld log that repeat a key (each key must appear once a line). */
export function linesWithRepeatedKeys(text: string): string[] {
  return text.split('\n').filter((l) => l.startsWith('{') && repeatedKeys(l).length > 0);
}

/**
 * Polls until `cond` holds (krilld's logger writes asynchronously, and a
 * loaded machine is slow): the time limit is a deadline, not a pace.
 */
export async function until<T>(what: string, cond: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await cond();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
