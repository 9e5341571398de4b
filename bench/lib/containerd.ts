// The reference: Debian's containerd 1.6 with its built-in CRI plugin,
// started by the bench on its own root, state, socket, runc root, CNI config
// dir and bridge/subnet, so that it never meets another containerd on the
// machine. Config as /work/shared/critest/containerd-up.sh found to work here
// (cgroupfs, restrict_oom_score_adj because root lacks CAP_SYS_RESOURCE), with
// the local registry reachable over plain HTTP and the bench's pause image.
import { execFileSync } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { connectCri } from '../../pkg/criclient/client';
import type { Cleanup } from './cleanup';
import { startDaemon } from './daemon_process';
import { log } from './log';
import { bridgeNetwork, CNI_VERSION } from './cni';
import type { BenchNetwork } from './net';
import { allProcesses, alive } from './proc';
import { runtimeTeardown, type CriRuntime, type OverheadProcess } from './runtime';

export const CONTAINERD = '/usr/bin/containerd';
const SHIM = '/usr/bin/containerd-shim-runc-v2';
const CNI_BIN_DIR = '/usr/lib/cni';

export interface ContainerdOptions {
  dir: string;
  /** Where the daemon's output goes (outside `dir`, which teardown deletes). */
  logFile: string;
  registry: string;
  pauseImage: string;
  network: BenchNetwork;
  cgroupRoot: string;
  cleanup: Cleanup;
}

export function containerdVersion(): string {
  try {
    // "containerd github.com/containerd/containerd 1.6.20~ds1 1.6.20~ds1-1+deb12u3"
    const words = execFileSync(CONTAINERD, ['--version'], { encoding: 'utf8' }).trim().split(/\s+/);
    return words[2] ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

/** The same network Krill's embedded default sets up, on containerd's own bridge and subnet. */
function cniConfig(net: BenchNetwork, name: string, dataDir: string): string {
  return JSON.stringify({ cniVersion: CNI_VERSION, ...bridgeNetwork(net, name, dataDir) }, null, 2);
}

function config(dir: string, socket: string, opts: ContainerdOptions): string {
  const cri = 'plugins."io.containerd.grpc.v1.cri"';
  return `# Written by Krill's bench (bench/lib/containerd.ts) for one run.
version = 2
root = "${join(dir, 'root')}"
state = "${join(dir, 'state')}"
oom_score = 0
disabled_plugins = ["io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper"]

[grpc]
  address = "${socket}"

[debug]
  level = "info"

[${cri}]
  sandbox_image = "${opts.pauseImage}"
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  enable_selinux = false
  restrict_oom_score_adj = true
  [${cri}.containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [${cri}.containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [${cri}.containerd.runtimes.runc.options]
        SystemdCgroup = false
        Root = "${join(dir, 'runc')}"
  [${cri}.cni]
    bin_dir = "${CNI_BIN_DIR}"
    conf_dir = "${join(dir, 'cni')}"
    max_conf_num = 1
  [${cri}.registry.mirrors."${opts.registry}"]
    endpoint = ["http://${opts.registry}"]

[plugins."io.containerd.internal.v1.opt"]
  path = "${join(dir, 'opt')}"
`;
}

export async function startContainerd(opts: ContainerdOptions): Promise<CriRuntime> {
  const { dir, network } = opts;
  const socket = join(dir, 'containerd.sock');
  await mkdir(join(dir, 'cni'), { recursive: true });
  await mkdir(join(dir, 'logs'), { recursive: true });
  const netName = `kbench-${network.bridge}`;
  await writeFile(join(dir, 'cni', '10-bench.conflist'), cniConfig(network, netName, join(dir, 'ipam')));
  await writeFile(join(dir, 'config.toml'), config(dir, socket, opts));
  const client = connectCri(socket);
  const daemon = await startDaemon({
    name: 'containerd',
    file: CONTAINERD,
    args: ['--config', join(dir, 'config.toml')],
    logFile: opts.logFile,
    client,
  });
  const version = containerdVersion();
  log(`containerd ${version} up (pid ${daemon.child.pid}) on ${socket}, bridge ${network.bridge} ${network.subnet}`);

  const shimsIn = (procs: ReturnType<typeof allProcesses>): number[] => procs.filter((p) => p.exe === SHIM && p.cmdline.includes(socket)).map((p) => p.pid);
  const shims = (): number[] => shimsIn(allProcesses());

  const overhead = (): OverheadProcess[] => {
    const procs = allProcesses();
    const shimPids = new Set(shimsIn(procs));
    const out: OverheadProcess[] = [{ pid: daemon.child.pid!, kind: 'containerd' }, ...[...shimPids].map((p) => ({ pid: p, kind: 'shim' }))];
    // A pod's pause process is the init of its sandbox container: a child of the pod's shim.
    for (const p of procs) if (shimPids.has(p.ppid) && p.cmdline[0] === '/pause') out.push({ pid: p.pid, kind: 'pause' });
    return out;
  };

  const teardown = runtimeTeardown({
    name: 'containerd',
    client,
    daemon,
    network,
    dir,
    afterStop: async () => {
      // A shim exits once its pod is gone; give the last ones a moment, then end any that did not.
      for (let i = 0; i < 50 && shims().length > 0; i++) await new Promise((r) => setTimeout(r, 100));
      const left = shims();
      if (left.length > 0) {
        log(`containerd: WARNING ${left.length} shims still running after teardown; killing them`);
        for (const p of left) if (alive(p)) process.kill(p, 'SIGKILL');
      }
    },
  });
  opts.cleanup.add('stop containerd and remove its pods', teardown);

  return {
    name: 'containerd',
    label: `containerd ${version}`,
    version,
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
