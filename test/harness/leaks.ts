// What a test file may leave behind, seen from the host: mounts, network
// namespaces, veths, cgroups and processes. A snapshot before and after each
// integration file must show nothing new.
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { readMountPointsSync } from '../../pkg/storage/mount';
import { testRunTag } from './krilld';
import { TEST_BASE_ROOT } from './paths';

export interface Snapshot {
  mounts: Set<string>;
  netns: Set<string>;
  veths: Set<string>;
  cgroups: Set<string>;
  processes: Map<number, string>;
  /** Entries of this run's base directory (where tests make their temp dirs). */
  files: Set<string>;
  /** iptables rules CNI made for one pod of a test network. */
  iptables: Set<string>;
}

const CGROUP_ROOT = '/sys/fs/cgroup';

function listDir(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

function cgroupDirs(): Set<string> {
  const out = new Set<string>();
  const walk = (dir: string, depth: number): void => {
    if (depth > 8) return;
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      if (!entry.isDirectory()) continue;
      const child = join(dir, entry.name);
      out.add(child);
      walk(child, depth + 1);
    }
  };
  for (const hierarchy of listDir(CGROUP_ROOT)) {
    try {
      walk(join(CGROUP_ROOT, hierarchy), 0);
    } catch {
      // a cgroup removed while walking is not ours to report
    }
  }
  return out;
}

/** Host-side veths on Krill's default bridge and this run's test bridges (kt<run tag>...), as "name on bridge". */
function veths(): Set<string> {
  try {
    const out = execFileSync('ip', ['-o', 'link', 'show', 'type', 'veth'], { encoding: 'utf8' });
    const found = new Set<string>();
    for (const line of out.split('\n').filter(Boolean)) {
      const name = line.split(':')[1]!.trim().split('@')[0]!;
      const master = / master (\S+)/.exec(line)?.[1] ?? '';
      if (master === 'krill0' || master.startsWith(`kt${testRunTag()}`)) found.add(`${name} on ${master}`);
    }
    return found;
  } catch {
    return new Set();
  }
}

function processes(): Map<number, string> {
  const out = new Map<number, string>();
  for (const name of listDir('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const cmdline = readFileSync(`/proc/${name}/cmdline`, 'utf8').replace(/\0/g, ' ').trim();
      if (cmdline) out.set(Number(name), cmdline);
    } catch {
      // exited meanwhile
    }
  }
  return out;
}

function parentOf(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  } catch {
    return 0;
  }
}

/**
 * The nat and filter rules CNI plugins made for one pod (bridge's ipMasq,
 * portmap: their comments name the container ID) with an address of the
 * test networks (pickTestNetwork: 10.200.0.0 to 10.254.255.255).
 */
function podRules(): Set<string> {
  const out = new Set<string>();
  for (const table of ['nat', 'filter']) {
    let text = '';
    try {
      text = execFileSync('iptables-save', ['-t', table], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    } catch {
      continue;
    }
    for (const line of text.split('\n')) {
      if (/id: \\?"[0-9a-f]{64}\\?"/.test(line) && /\b10\.2(0[0-9]|[1-4][0-9]|5[0-4])\.\d+\.\d+/.test(line)) out.add(`${table}: ${line}`);
    }
  }
  return out;
}

function runFiles(): Set<string> {
  const base = join(TEST_BASE_ROOT, process.env.KRILL_IT_RUN ?? 'none');
  return new Set(listDir(base).map((e) => join(base, e)));
}

export function snapshot(): Snapshot {
  return {
    mounts: new Set(readMountPointsSync()),
    netns: new Set(listDir('/run/netns')),
    veths: veths(),
    cgroups: cgroupDirs(),
    processes: processes(),
    files: runFiles(),
    iptables: podRules(),
  };
}

/** True for things that belong to another jest run on the same machine. */
function otherRun(text: string, runId: string): boolean {
  const m = new RegExp(`${TEST_BASE_ROOT}/([^/\\s]+)|krill-it-([A-Za-z0-9]+)`).exec(text);
  if (!m) return false;
  const strip = (id: string): string => id.replace(/^run-/, '');
  return strip(m[1] ?? m[2]!) !== strip(runId);
}

/**
 * Whether `pid` is in a cgroup below this run's parent: a container process
 * that outlived its conmon (re-parented to PID 1, its command line naming
 * nothing of the run) is found so.
 */
function inRunCgroup(pid: number, runId: string): boolean {
  try {
    return readFileSync(`/proc/${pid}/cgroup`, 'utf8').includes(`/krill-it-${runId.replace(/^run-/, '')}/`);
  } catch {
    return false;
  }
}

/** Whether `pid` descends from this process or from a process that names this run's directories. */
function ours(pid: number, runDir: string, now: Map<number, string>): boolean {
  for (let p = pid, hops = 0; p > 1 && hops < 64; p = parentOf(p), hops++) {
    if (p === process.pid) return true;
    const cmd = now.get(p) ?? '';
    if (cmd.includes(runDir)) return true;
  }
  return false;
}

/**
 * Only what Krill and its tests can have made counts: other software on the
 * machine (another runtime, another engineer's test run) may come and go.
 * Mounts under this run's directory or Krill's default paths; netns named for
 * Krill; veths on Krill's bridges; cgroups under this run's parent.
 */
function krillish(kind: 'mount' | 'netns' | 'cgroup', item: string, runId: string): boolean {
  const runDir = join(TEST_BASE_ROOT, runId);
  if (kind === 'mount') return item.startsWith(`${runDir}/`) || /^\/(run|var\/lib)\/krill(\/|$)/.test(item);
  if (kind === 'netns') return /krill/i.test(item);
  // Test krillds put every pod under this run's cgroup parent (the harness sets sandbox.default_cgroup_parent).
  return item.includes(`krill-it-${runId.replace(/^run-/, '')}`);
}

export function leaksBetween(before: Snapshot, after: Snapshot, runId: string): string[] {
  const leaks: string[] = [];
  const fresh = (a: Set<string>, b: Set<string>): string[] => [...b].filter((x) => !a.has(x) && !otherRun(x, runId));
  for (const m of fresh(before.mounts, after.mounts)) if (krillish('mount', m, runId)) leaks.push(`mount ${m}`);
  for (const n of fresh(before.netns, after.netns)) if (krillish('netns', n, runId)) leaks.push(`network namespace /run/netns/${n}`);
  for (const v of fresh(before.veths, after.veths)) leaks.push(`veth ${v}`);
  for (const c of fresh(before.cgroups, after.cgroups)) if (krillish('cgroup', c, runId)) leaks.push(`cgroup ${c}`);
  for (const f of after.files) if (!before.files.has(f)) leaks.push(`file ${f}`);
  for (const r of after.iptables) if (!before.iptables.has(r)) leaks.push(`iptables rule ${r}`);
  const runDir = join(TEST_BASE_ROOT, runId);
  for (const [pid, cmd] of after.processes) {
    if (before.processes.get(pid) === cmd) continue;
    if (pid === process.pid || !(ours(pid, runDir, after.processes) || inRunCgroup(pid, runId))) continue;
    // The leak check's own helpers (ip, ps) are ours but gone by now.
    try {
      readlinkSync(`/proc/${pid}/exe`);
    } catch {
      continue;
    }
    leaks.push(`process ${pid} ${cmd}`);
  }
  return leaks;
}
