// The machine a run happened on, written next to its results.
import { readFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { run } from './exec';
import { KRILL_VERSION } from '../../pkg/version/version';

export interface Machine {
  date: string;
  cpu: string;
  cores: number;
  memoryGiB: number;
  kernel: string;
  os: string;
  cgroups: string;
  node: string;
  krill: string;
  packages: Record<string, string>;
  /** 1/5/15-minute load averages when the run started (other work on the machine skews timings). */
  loadAtStart: number[];
  loadAtEnd?: number[];
}

function read(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

function cgroupLayout(): string {
  const mounts = read('/proc/self/mountinfo');
  const v1 = /\s-\scgroup\s/.test(mounts);
  const v2 = /\s-\scgroup2\s/.test(mounts);
  if (v1 && v2) return 'hybrid (v1 controllers, v2 without controllers)';
  return v2 ? 'v2 (unified)' : 'v1';
}

async function gitDescribe(repo: string): Promise<string> {
  const head = await run('git', ['-C', repo, 'rev-parse', '--short', 'HEAD']);
  if (head.code !== 0) return 'unknown';
  const dirty = await run('git', ['-C', repo, 'status', '--porcelain', '--untracked-files=no']);
  return `${head.stdout.trim()}${dirty.stdout.trim() ? '+dirty' : ''}`;
}

async function dpkgVersions(names: string[]): Promise<Record<string, string>> {
  const r = await run('dpkg-query', ['-W', '-f=${Package} ${Version}\n', ...names]);
  const out: Record<string, string> = {};
  for (const line of r.stdout.split('\n').filter(Boolean)) {
    const [name, version] = line.split(' ');
    out[name!] = version ?? '';
  }
  return out;
}

export async function describeMachine(repo: string): Promise<Machine> {
  const os = /^PRETTY_NAME="?([^"\n]*)"?/m.exec(read('/etc/os-release'))?.[1] ?? 'unknown';
  const c = cpus();
  return {
    date: new Date().toISOString(),
    cpu: c[0]?.model.trim() ?? 'unknown',
    cores: c.length,
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    kernel: read('/proc/sys/kernel/osrelease').trim(),
    os,
    cgroups: cgroupLayout(),
    node: process.version,
    krill: `${KRILL_VERSION} (${await gitDescribe(repo)})`,
    loadAtStart: loadavg().map((l) => Math.round(l * 100) / 100),
    packages: await dpkgVersions(['containerd', 'runc', 'conmon', 'containernetworking-plugins', 'util-linux', 'busybox-static', 'catatonit']),
  };
}

export function machineLines(m: Machine): string[] {
  return [
    `date: ${m.date}`,
    `machine: ${m.cpu}, ${m.cores} cores, ${m.memoryGiB} GiB; ${m.os}, kernel ${m.kernel}; cgroups ${m.cgroups}`,
    `load average (1/5/15 min) at start: ${m.loadAtStart.join(' ')}${m.loadAtEnd ? `; at end: ${m.loadAtEnd.join(' ')}` : ''}`,
    `software: Krill ${m.krill} on Node.js ${m.node}; ${Object.entries(m.packages).map(([k, v]) => `${k} ${v}`).join(', ')}`,
  ];
}
