// A krilld for the bench: bin/krilld (as a user runs it) on its own socket,
// root, state and network (an empty CNI conf dir, so the embedded default
// network, on a bridge and subnet of its own), pulling from the local
// registry over plain HTTP, logging at info like a production node.
import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { connectCri } from '../../pkg/criclient/client';
import { KRILL_VERSION } from '../../pkg/version/version';
import type { Cleanup } from './cleanup';
import { startDaemon } from './daemon_process';
import { log } from './log';
import type { BenchNetwork } from './net';
import { allProcesses } from './proc';
import { runtimeTeardown, type CriRuntime, type OverheadProcess } from './runtime';

export const REPO_ROOT = resolve(__dirname, '../../..');

export interface KrilldOptions {
  dir: string;
  /** Where the daemon's output goes (outside `dir`, which teardown deletes). */
  logFile: string;
  registry: string;
  network: BenchNetwork;
  cgroupRoot: string;
  cleanup: Cleanup;
  /** Extra flags, e.g. ['--log-level', 'debug'] for profiling. */
  args?: string[];
  /** Extra node options (NODE_OPTIONS), e.g. '--cpu-prof'. */
  nodeOptions?: string;
}

export async function startKrilld(opts: KrilldOptions): Promise<CriRuntime> {
  const { dir, network } = opts;
  await mkdir(join(dir, 'cni'), { recursive: true });
  await mkdir(join(dir, 'logs'), { recursive: true });
  const socket = join(dir, 'krill.sock');
  const state = join(dir, 'state');
  const configFile = join(dir, 'krill.toml');
  await writeFile(
    configFile,
    [
      `log_level = "info"`,
      `[image.registries."${opts.registry}"]`,
      `insecure = true`,
      `[network]`,
      `cni_conf_dir = "${join(dir, 'cni')}"`,
      `default_bridge = "${network.bridge}"`,
      `default_subnet = "${network.subnet}"`,
      `[metrics]`,
      `address = "127.0.0.1:0"`,
      '',
    ].join('\n'),
  );
  const client = connectCri(socket);
  const args = ['--config', configFile, '--config-dir', join(dir, 'krill.d'), '--socket', socket, '--root', join(dir, 'root'), '--state', state, ...(opts.args ?? [])];
  const daemon = await startDaemon({
    name: 'krilld',
    file: join(REPO_ROOT, 'bin/krilld'),
    args,
    logFile: opts.logFile,
    client,
    ...(opts.nodeOptions ? { env: { NODE_OPTIONS: opts.nodeOptions } } : {}),
  });
  log(`krilld ${KRILL_VERSION} up (pid ${daemon.child.pid}) on ${socket}, bridge ${network.bridge} ${network.subnet}`);

  const overhead = (): OverheadProcess[] => {
    const out: OverheadProcess[] = [{ pid: daemon.child.pid!, kind: 'krilld' }];
    for (const p of allProcesses()) {
      // conmon daemonizes (its parent is init, not krilld); it names krilld's state dir in its arguments.
      if (p.exe.endsWith('/conmon') && p.cmdline.some((a) => a.startsWith(`${state}/`))) out.push({ pid: p.pid, kind: 'conmon' });
      // krilld's spawn server is its child for as long as krilld runs.
      else if (p.ppid === daemon.child.pid && p.exe.endsWith('/krill-spawn')) out.push({ pid: p.pid, kind: 'spawn server' });
    }
    return out;
  };

  const teardown = runtimeTeardown({
    name: 'krilld',
    client,
    daemon,
    network,
    dir,
    afterStop: async () => {
      const leftConmons = overhead().filter((p) => p.kind === 'conmon');
      if (leftConmons.length > 0) log(`krilld: WARNING ${leftConmons.length} conmon processes outlived their containers`);
    },
  });
  opts.cleanup.add('stop krilld and remove its pods', teardown);

  return {
    name: 'krill',
    label: `Krill ${KRILL_VERSION}`,
    version: KRILL_VERSION,
    endpoint: socket,
    podLogRoot: join(dir, 'logs'),
    cgroupRoot: opts.cgroupRoot,
    client,
    connect: () => connectCri(socket),
    daemonPid: () => daemon.child.pid!,
    restart: () => daemon.restart(),
    overhead,
    teardown,
  };
}
