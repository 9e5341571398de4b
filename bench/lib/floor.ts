// The floor: what a pod with one container costs with no daemon at all. The
// same steps Krill takes, done directly: net/ipc/uts namespaces created by
// util-linux unshare and pinned on files, the same CNI chain, an overlay
// mount of the image, `runc run -d`, and on the way back `runc kill`, waiting
// for the exit, `runc delete`, unmount, CNI DEL, unpin.
import { spawn } from 'node:child_process';
import { mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { run, runChecked } from './exec';
import type { Cleanup } from './cleanup';
import { bridgeNetwork, cniAdd, cniDel, type CniNetwork } from './cni';
import { log } from './log';
import { removeTree } from './mounts';
import { deleteBridge, rulesMentioning, type BenchNetwork } from './net';
import { alive } from './proc';
import { removeCgroup } from './cgroups';

const RUNC = '/usr/bin/runc';
const SYS_PATH = { PATH: '/usr/sbin:/usr/bin:/sbin:/bin' };

export interface FloorOptions {
  dir: string;
  registry: string;
  /** The image reference to unpack as the lower layer. */
  image: string;
  network: BenchNetwork;
  cgroupRoot: string;
  cleanup: Cleanup;
}

/** One pod with its container, as far as it got. */
export interface FloorPod {
  id: string;
  dir: string;
  nsDir: string;
  pinned: boolean;
  cni?: unknown;
  mounted: boolean;
  created: boolean;
  pid?: number;
}

export class Floor {
  private readonly pods = new Map<string, FloorPod>();
  private readonly network: CniNetwork;
  private readonly runcRoot: string;
  private readonly lower: string;
  private baseSpec: Record<string, unknown> = {};

  private constructor(private readonly opts: FloorOptions) {
    this.network = bridgeNetwork(opts.network, `kbench-${opts.network.bridge}`, join(opts.dir, 'ipam'));
    this.runcRoot = join(opts.dir, 'runc');
    this.lower = join(opts.dir, 'image', 'rootfs');
  }

  /** Unpacks the image (skopeo + umoci, not timed), prepares the namespace directory. */
  static async prepare(opts: FloorOptions): Promise<Floor> {
    const f = new Floor(opts);
    const { dir } = opts;
    await mkdir(join(dir, 'pods'), { recursive: true });
    await mkdir(f.runcRoot, { recursive: true });
    opts.cleanup.add('remove the floor pods', () => f.teardown());
    const layout = join(dir, 'oci');
    await runChecked('skopeo', ['copy', '-q', '--src-tls-verify=false', `docker://${opts.image}`, `oci:${layout}:img`], { timeoutMs: 120_000 });
    await mkdir(join(dir, 'image'), { recursive: true });
    await runChecked('umoci', ['raw', 'unpack', '--image', `${layout}:img`, f.lower], { timeoutMs: 120_000 });
    await rm(layout, { recursive: true, force: true });
    // Like Krill's namespace directory: a private mount of its own, so that the pinned namespaces never propagate.
    await runChecked('mount', ['--bind', join(dir, 'pods'), join(dir, 'pods')]);
    await runChecked('mount', ['--make-private', join(dir, 'pods')]);
    const specDir = join(dir, 'spec');
    await mkdir(specDir, { recursive: true });
    await runChecked(RUNC, ['spec', '--bundle', specDir]);
    f.baseSpec = JSON.parse(await readFile(join(specDir, 'config.json'), 'utf8')) as Record<string, unknown>;
    log(`floor ready: runc ${await runcVersion()}, bridge ${opts.network.bridge} ${opts.network.subnet}`);
    return f;
  }

  private spec(pod: FloorPod, args: string[]): object {
    const base = this.baseSpec as { process: Record<string, unknown>; linux: Record<string, unknown>; root: Record<string, unknown> };
    return {
      ...base,
      root: { path: join(pod.dir, 'merged'), readonly: false },
      hostname: `floor-${pod.id}`,
      process: { ...base.process, terminal: false, args },
      linux: {
        ...base.linux,
        cgroupsPath: `${this.opts.cgroupRoot}/floor-${pod.id}/${pod.id}`,
        namespaces: [
          { type: 'pid' },
          { type: 'mount' },
          { type: 'network', path: join(pod.nsDir, 'net') },
          { type: 'ipc', path: join(pod.nsDir, 'ipc') },
          { type: 'uts', path: join(pod.nsDir, 'uts') },
        ],
      },
    };
  }

  /** RunPodSandbox's share: pinned namespaces and the pod network. */
  async runPod(): Promise<FloorPod> {
    const id = randomBytes(8).toString('hex');
    const dir = join(this.opts.dir, 'pods', id);
    const pod: FloorPod = { id, dir, nsDir: join(dir, 'ns'), pinned: false, mounted: false, created: false };
    this.pods.set(id, pod);
    await mkdir(pod.nsDir, { recursive: true });
    for (const k of ['net', 'ipc', 'uts']) await writeFile(join(pod.nsDir, k), '');
    pod.pinned = true;
    await runChecked(
      'unshare',
      [`--net=${join(pod.nsDir, 'net')}`, `--ipc=${join(pod.nsDir, 'ipc')}`, `--uts=${join(pod.nsDir, 'uts')}`, '--', '/bin/sh', '-c', 'set -e; ip link set lo up; printf %s "$1" > /proc/sys/kernel/hostname', 'sh', `floor-${id}`],
      { env: SYS_PATH, timeoutMs: 30_000 },
    );
    pod.cni = await cniAdd(this.network, id, join(pod.nsDir, 'net'));
    return pod;
  }

  /** CreateContainer + StartContainer's share: overlay, bundle, `runc run -d`. */
  async runContainer(pod: FloorPod, args: string[]): Promise<void> {
    for (const d of ['upper', 'work', 'merged']) await mkdir(join(pod.dir, d));
    await runChecked('mount', ['-t', 'overlay', 'overlay', '-o', `lowerdir=${this.lower},upperdir=${join(pod.dir, 'upper')},workdir=${join(pod.dir, 'work')}`, join(pod.dir, 'merged')]);
    pod.mounted = true;
    await writeFile(join(pod.dir, 'config.json'), JSON.stringify(this.spec(pod, args)));
    pod.created = true;
    await runDetached(['--root', this.runcRoot, '--log', join(pod.dir, 'runc.log'), 'run', '-d', '--bundle', pod.dir, '--pid-file', join(pod.dir, 'pid'), pod.id]);
    pod.pid = Number((await readFile(join(pod.dir, 'pid'), 'utf8')).trim());
  }

  /** Waits until the container's command has made `path` (inside its root), untimed like the CRI runtimes' readiness. */
  async waitForFile(pod: FloorPod, path: string): Promise<void> {
    const file = join(pod.dir, 'upper', path);
    for (let i = 0; i < 5000; i++) {
      if (await stat(file).then(() => true, () => false)) return;
      await sleep(2);
    }
    throw new Error(`floor container ${pod.id} did not create ${path}`);
  }

  /** StopContainer's share: SIGTERM and wait for the exit (SIGKILL after `timeoutMs`). */
  async stopContainer(pod: FloorPod, timeoutMs: number): Promise<void> {
    if (!pod.pid) return;
    await run(RUNC, ['--root', this.runcRoot, 'kill', pod.id, 'TERM']);
    const deadline = Date.now() + timeoutMs;
    while (alive(pod.pid)) {
      if (Date.now() > deadline) {
        await run(RUNC, ['--root', this.runcRoot, 'kill', '--all', pod.id, 'KILL']);
        for (let i = 0; i < 1000 && alive(pod.pid); i++) await sleep(5);
        break;
      }
      await sleep(2);
    }
  }

  /** RemoveContainer's share: runc delete, unmount, the bundle gone. */
  async removeContainer(pod: FloorPod): Promise<void> {
    if (pod.created) {
      await runChecked(RUNC, ['--root', this.runcRoot, 'delete', '--force', pod.id], { timeoutMs: 60_000 });
      pod.created = false;
    }
    if (pod.mounted) {
      await runChecked('umount', [join(pod.dir, 'merged')]);
      pod.mounted = false;
    }
    for (const d of ['upper', 'work', 'merged', 'config.json', 'pid', 'runc.log']) await rm(join(pod.dir, d), { recursive: true, force: true });
  }

  /** StopPodSandbox + RemovePodSandbox's share: CNI DEL, unpin, delete. */
  async removePod(pod: FloorPod): Promise<void> {
    await this.removeContainer(pod);
    if (pod.cni !== undefined) {
      await cniDel(this.network, pod.id, join(pod.nsDir, 'net'), pod.cni);
      pod.cni = undefined;
    }
    if (pod.pinned) {
      for (const k of ['net', 'ipc', 'uts']) await run('umount', [join(pod.nsDir, k)]);
      pod.pinned = false;
    }
    await rm(pod.dir, { recursive: true, force: true });
    await removeCgroup(`${this.opts.cgroupRoot}/floor-${pod.id}`);
    this.pods.delete(pod.id);
  }

  private tornDown = false;

  async teardown(): Promise<void> {
    if (this.tornDown) return;
    this.tornDown = true;
    for (const pod of [...this.pods.values()]) {
      await this.removePod(pod).catch((err: Error) => log(`floor: removing pod ${pod.id}: ${err.message}`));
    }
    await run('umount', [join(this.opts.dir, 'pods')]);
    await deleteBridge(this.opts.network.bridge);
    const rules = await rulesMentioning(this.opts.network);
    if (rules.length > 0) log(`floor: WARNING iptables rules left for ${this.opts.network.subnet}:\n  ${rules.join('\n  ')}`);
    const leaked = await removeTree(this.opts.dir);
    if (leaked.length > 0) log(`floor: WARNING left mounts (unmounted now): ${leaked.join(', ')}`);
  }
}

/**
 * `runc run -d` hands its own stdio to the container, which keeps it open for
 * its whole life: so no pipes (they would never close), and errors from runc's log.
 */
async function runDetached(args: string[]): Promise<void> {
  const child = spawn(RUNC, args, { stdio: 'ignore' });
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (c) => resolve(c));
  });
  if (code !== 0) {
    const logFile = args[args.indexOf('--log') + 1]!;
    const text = await readFile(logFile, 'utf8').catch(() => '');
    throw new Error(`runc run failed (exit ${code}): ${text.trim().split('\n').slice(-3).join('; ')}`);
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

async function runcVersion(): Promise<string> {
  const r = await run(RUNC, ['--version']);
  return /runc version (\S+)/.exec(r.stdout)?.[1] ?? 'unknown';
}

