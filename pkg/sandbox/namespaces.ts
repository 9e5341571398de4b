// Pinned namespaces: a pod's network, IPC, UTS (and user) namespaces are
// created once by util-linux unshare and bind-mounted onto files in the pod's
// namespace directory, which keeps them alive without any process. Every
// container of the pod joins them by path.
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { IDMapping } from '../../api/runtime/v1/api';
import type { Launcher } from '../spawn/launcher';
import { runChecked } from '../spawn/run';
import { readMountPoints } from '../storage/mount';
import { pointsUnder } from '../util/mountinfo';
import { ensurePrivateMount, isForeignMount, unmountAll } from './mounts';
import type { SysctlSetting } from './sysctl';
import type { SandboxNamespaces, UserNamespaceMappings } from './types';

const TIMEOUT_MS = 30_000;
const KINDS = ['user', 'net', 'ipc', 'uts'] as const;
type Kind = (typeof KINDS)[number];

export interface PinRequest {
  dir: string;
  net: boolean;
  ipc: boolean;
  uts: boolean;
  /** Written into the new UTS namespace. */
  hostname: string;
  userns?: UserNamespaceMappings;
  /** A tmpfs for the pod's /dev/shm, mounted (on the node) by the same helper process. */
  shm?: { path: string; sizeBytes: number };
}

const FLAG: Record<Kind, string> = { user: '--user', net: '--net', ipc: '--ipc', uts: '--uts' };

function execEnv(): NodeJS.ProcessEnv {
  return { ...process.env, PATH: `${process.env.PATH ?? ''}:/usr/sbin:/usr/bin:/sbin:/bin` };
}

/**
 * Inside the new namespaces: loopback up, the hostname set ($1), and the shm
 * tmpfs mounted at $2 with options $3 (no mount namespace is entered, so the
 * mount is the node's). One helper process instead of one per step.
 */
function setupScript(net: boolean, uts: boolean, shm: boolean): string {
  const steps: string[] = [];
  if (net) steps.push('ip link set lo up');
  if (uts) steps.push('printf %s "$1" > /proc/sys/kernel/hostname');
  if (shm) steps.push('mount -t tmpfs -o "$3" shm "$2"');
  return steps.length > 0 ? `set -e; ${steps.join('; ')}` : 'true';
}

function shmOptions(sizeBytes: number): string {
  return `rw,nosuid,nodev,noexec,mode=1777,size=${sizeBytes}`;
}

function nsPaths(dir: string, kinds: readonly Kind[]): SandboxNamespaces {
  const out: SandboxNamespaces = {};
  for (const k of kinds) {
    const path = join(dir, k);
    if (k === 'net') out.network = path;
    else out[k] = path;
  }
  return out;
}

/** Creates and pins the namespaces; on failure nothing stays mounted or created. */
async function pinNamespaces(launcher: Launcher, req: PinRequest): Promise<SandboxNamespaces> {
  const kinds = KINDS.filter((k) => (k === 'user' ? req.userns !== undefined : req[k]));
  if (kinds.length === 0) return {};
  await mkdir(req.dir, { recursive: true, mode: 0o700 });
  const scriptArgs = [req.hostname, req.shm?.path ?? '', req.shm ? shmOptions(req.shm.sizeBytes) : ''];
  try {
    // unshare bind-mounts onto existing files only.
    for (const k of kinds) await writeFile(join(req.dir, k), '', { mode: 0o400 });
    const flags = kinds.map((k) => `${FLAG[k]}=${join(req.dir, k)}`);
    if (req.userns) {
      await unshareWithMappings(launcher, req.dir, kinds, req.userns);
      // The namespaces belong to the new user namespace now; root of the node
      // still holds every capability over them, so set them up from outside.
      const enter = [...(req.net ? [`--net=${join(req.dir, 'net')}`] : []), ...(req.uts ? [`--uts=${join(req.dir, 'uts')}`] : [])];
      await runChecked(launcher, 'nsenter', [...enter, '--', '/bin/sh', '-c', setupScript(req.net, req.uts, req.shm !== undefined), 'sh', ...scriptArgs], { timeoutMs: TIMEOUT_MS, env: execEnv() });
    } else {
      await runChecked(launcher, 'unshare', [...flags, '--', '/bin/sh', '-c', setupScript(req.net, req.uts, req.shm !== undefined), 'sh', ...scriptArgs], { timeoutMs: TIMEOUT_MS, env: execEnv() });
    }
    return nsPaths(req.dir, kinds);
  } catch (err) {
    await unpinNamespaces(launcher, req.dir, req.shm ? [req.shm.path] : []).catch(() => undefined);
    throw err;
  }
}

function mapText(list: IDMapping[]): string {
  return list.map((m) => `${m.containerId} ${m.hostId} ${m.length}`).join('\n') + '\n';
}

/**
 * unshare can neither write arbitrary ID maps (it needs newuidmap) nor pin a
 * user namespace itself (its bind mount is refused), so the process it runs
 * waits on stdin while Krill writes /proc/<pid>/{uid,gid}_map and bind-mounts
 * /proc/<pid>/ns/* onto the files.
 */
function unshareWithMappings(launcher: Launcher, dir: string, kinds: readonly Kind[], userns: UserNamespaceMappings): Promise<void> {
  const flags = kinds.map((k) => FLAG[k]);
  return new Promise((resolve, reject) => {
    const child = launcher.spawn('unshare', [...flags, '--', '/bin/sh', '-c', 'echo ready; read go'], { env: execEnv(), stdio: ['pipe', 'pipe', 'pipe'] });
    let stderr = '';
    let mapped = false;
    let failure: Error | undefined;
    const timer = setTimeout(() => {
      failure = new Error(`unshare did not finish within ${TIMEOUT_MS} ms`);
      child.kill('SIGKILL');
    }, TIMEOUT_MS);
    child.stderr!.on('data', (b: Buffer) => (stderr += b.toString()));
    child.stdout!.on('data', (b: Buffer) => {
      if (mapped || !b.toString().includes('ready')) return;
      mapped = true;
      void (async () => {
        try {
          await writeFile(`/proc/${child.pid}/uid_map`, mapText(userns.uids));
          await writeFile(`/proc/${child.pid}/gid_map`, mapText(userns.gids));
          for (const k of kinds) {
            await runChecked(launcher, 'mount', ['--bind', `/proc/${child.pid}/ns/${k}`, join(dir, k)], { timeoutMs: TIMEOUT_MS });
          }
          child.stdin!.end('go\n');
        } catch (err) {
          failure = new Error(`setting up the user namespace failed: ${(err as Error).message}`);
          child.kill('SIGKILL');
        }
      })();
    });
    child.stdin!.on('error', () => undefined);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      if (failure) reject(failure);
      else if (code !== 0 || !mapped) reject(new Error(`unshare ${flags.join(' ')} failed: ${stderr.trim() || `exit code ${code}`}`));
      else resolve();
    });
  });
}

/**
 * Unmounts and deletes the pinned namespaces of `dir`, with `alsoUnmount`
 * (the shm) in the same umount call; fine when they are gone already.
 */
async function unpinNamespaces(launcher: Launcher, dir: string, alsoUnmount: readonly string[] = []): Promise<void> {
  await unmountAll(launcher, [...KINDS.map((k) => join(dir, k)), ...alsoUnmount]);
  await rm(dir, { recursive: true, force: true });
}

/** The pinned namespaces of `ns` that are no longer mounted (a reboot empties the state dir). */
async function missingNamespaces(ns: SandboxNamespaces): Promise<string[]> {
  const paths = Object.values(ns).filter((p): p is string => Boolean(p));
  const present = await Promise.all(paths.map((p) => isForeignMount(p)));
  return paths.filter((_p, i) => !present[i]);
}

function enterArgs(ns: SandboxNamespaces, which: readonly ('net' | 'ipc' | 'uts')[]): string[] {
  const args: string[] = [];
  if (which.includes('net') && ns.network) args.push(`--net=${ns.network}`);
  if (which.includes('ipc') && ns.ipc) args.push(`--ipc=${ns.ipc}`);
  if (which.includes('uts') && ns.uts) args.push(`--uts=${ns.uts}`);
  return args;
}

/** Writes the sysctls inside the pod's namespaces. */
async function writeSysctls(launcher: Launcher, ns: SandboxNamespaces, settings: readonly SysctlSetting[]): Promise<void> {
  if (settings.length === 0) return;
  const script = 'while [ $# -gt 0 ]; do printf %s "$2" > "/proc/sys/$1" || exit 1; shift 2; done';
  const pairs = settings.flatMap((s) => [s.procPath, s.value]);
  await runChecked(launcher, 'nsenter', [...enterArgs(ns, ['net', 'ipc', 'uts']), '--', '/bin/sh', '-c', script, 'sh', ...pairs], { timeoutMs: TIMEOUT_MS, env: execEnv() });
}

/** /proc/net/dev as seen inside the pod's network namespace. */
async function readNetDevInside(launcher: Launcher, netns: string): Promise<string> {
  const r = await runChecked(launcher, 'nsenter', [`--net=${netns}`, '--', 'cat', '/proc/net/dev'], { timeoutMs: TIMEOUT_MS, env: execEnv() });
  return r.stdout;
}

/**
 * What a pod needs of the node's namespaces and mounts: its own namespaces
 * pinned under a private mount, checked, entered for sysctls and counters.
 * The sandbox manager's driver (faked in its unit tests).
 */
export interface PodNamespaceDriver {
  /** Makes `dir` (the namespace root) a private mount of its own, once. */
  privateRoot(dir: string): Promise<void>;
  /** Drops the namespace root's own mount when nothing is pinned below it. */
  releaseRoot(dir: string): Promise<void>;
  /** Creates and pins the namespaces; on failure nothing stays mounted or created. */
  pin(req: PinRequest): Promise<SandboxNamespaces>;
  /** Unmounts and deletes the pinned namespaces of `dir` (and `alsoUnmount`, the shm); fine when gone. */
  unpin(dir: string, alsoUnmount?: readonly string[]): Promise<void>;
  /** The pinned namespaces no longer mounted (a reboot empties the state dir). */
  missing(ns: SandboxNamespaces): Promise<string[]>;
  /** Whether something other than its parent's filesystem is mounted at `path` (nsfs, tmpfs). */
  isMounted(path: string): Promise<boolean>;
  writeSysctls(ns: SandboxNamespaces, settings: readonly SysctlSetting[]): Promise<void>;
  /** /proc/net/dev as seen inside the network namespace `netns`. */
  readNetDev(netns: string): Promise<string>;
}

/** The driver on the node: util-linux unshare, nsenter and mount, started through `launcher`. */
export class PodNamespaces implements PodNamespaceDriver {
  constructor(private readonly launcher: Launcher) {}

  async privateRoot(dir: string): Promise<void> {
    await mkdir(dir, { recursive: true });
    await ensurePrivateMount(this.launcher, dir);
  }

  async releaseRoot(dir: string): Promise<void> {
    const inUse = pointsUnder(await readMountPoints(), dir).some((m) => m !== dir);
    if (!inUse) await unmountAll(this.launcher, [dir]);
  }

  pin(req: PinRequest): Promise<SandboxNamespaces> {
    return pinNamespaces(this.launcher, req);
  }

  unpin(dir: string, alsoUnmount: readonly string[] = []): Promise<void> {
    return unpinNamespaces(this.launcher, dir, alsoUnmount);
  }

  missing(ns: SandboxNamespaces): Promise<string[]> {
    return missingNamespaces(ns);
  }

  isMounted(path: string): Promise<boolean> {
    return isForeignMount(path);
  }

  writeSysctls(ns: SandboxNamespaces, settings: readonly SysctlSetting[]): Promise<void> {
    return writeSysctls(this.launcher, ns, settings);
  }

  readNetDev(netns: string): Promise<string> {
    return readNetDevInside(this.launcher, netns);
  }
}
