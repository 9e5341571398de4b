// The sandbox manager's rules on fake namespaces, network and cgroups, in a
// temporary directory: run, joined retries, name reservation, undo of a
// failed run, stop and remove (idempotent), lookups, recovery. No root.
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NamespaceMode, PodSandboxConfig, type DeepPartial, type RunPodSandboxRequest } from '../../api/runtime/v1/api';
import { silentLogger } from '../log/logger';
import type { PodNetworkRequest, PodNetworkResult } from '../network/manager';
import { Store } from '../store/db';
import { ancestorsAndSelf } from '../cgroups/paths';
import { CniPluginError } from '../network/plugin';
import { SandboxManager, type PodCgroupDriver, type PodNetwork } from './manager';
import type { PinRequest, PodNamespaceDriver } from './namespaces';
import type { SandboxNamespaces } from './types';

const log = silentLogger();

class FakeNamespaces implements PodNamespaceDriver {
  readonly pinned = new Map<string, SandboxNamespaces>();
  readonly gone = new Set<string>();
  /** While set, unpin waits for it (counted in `waiting`). */
  gate?: Promise<void>;
  waiting = 0;
  async privateRoot(): Promise<void> {}
  async releaseRoot(): Promise<void> {}
  async pin(req: PinRequest): Promise<SandboxNamespaces> {
    const ns: SandboxNamespaces = { ...(req.net ? { network: join(req.dir, 'net') } : {}), ...(req.ipc ? { ipc: join(req.dir, 'ipc') } : {}), ...(req.uts ? { uts: join(req.dir, 'uts') } : {}) };
    this.pinned.set(req.dir, ns);
    mkdirSync(req.dir, { recursive: true });
    return ns;
  }
  async unpin(dir: string): Promise<void> {
    if (this.gate) {
      this.waiting++;
      await this.gate;
    }
    this.pinned.delete(dir);
    rmSync(dir, { recursive: true, force: true });
  }
  async missing(ns: SandboxNamespaces): Promise<string[]> {
    return Object.values(ns).filter((p): p is string => typeof p === 'string' && this.gone.has(p));
  }
  async isMounted(path: string): Promise<boolean> {
    return !this.gone.has(path);
  }
  async writeSysctls(): Promise<void> {}
  async readNetDev(): Promise<string> {
    return '';
  }
}

class FakeNetwork implements PodNetwork {
  readonly up = new Set<string>();
  fail?: Error;
  gate?: Promise<void>;
  /** Runs held at the gate. */
  waiting = 0;
  async setUp(req: PodNetworkRequest): Promise<PodNetworkResult> {
    if (this.gate) {
      this.waiting++;
      await this.gate;
    }
    if (this.fail) throw this.fail;
    this.up.add(req.podId);
    return { networkName: 'test', configSource: 'fake', ips: ['10.9.0.2'], result: {} };
  }
  async tearDown(podId: string): Promise<void> {
    this.up.delete(podId);
  }
  /** CHECK's outcome per pod ID (none: the network is as ADD left it). */
  readonly checks = new Map<string, Error>();
  async check(podId: string): Promise<void> {
    const err = this.checks.get(podId);
    if (err) throw err;
  }
  async podsWithNetwork(): Promise<string[]> {
    return [...this.up];
  }
}

const cgroups: PodCgroupDriver & { made: Set<string>; busy: Set<string> } = {
  made: new Set<string>(),
  busy: new Set<string>(),
  driver: 'cgroupfs',
  podPath: (parent: string) => parent,
  async ensure(path: string) {
    const created = ancestorsAndSelf(path).filter((p) => !cgroups.made.has(p));
    for (const p of created) cgroups.made.add(p);
    return created;
  },
  async removeIfEmpty(path: string) {
    // A real cgroup with a child cgroup cannot be removed; a yield lets concurrent removals interleave.
    await new Promise((r) => setImmediate(r));
    if (cgroups.busy.has(path) || [...cgroups.made].some((p) => p.startsWith(`${path}/`))) return false;
    cgroups.made.delete(path);
    return true;
  },
  exists: async (path: string) => cgroups.made.has(path),
  stats: async () => ({}),
  processCount: async () => 0n,
  procs: async () => [],
} as unknown as PodCgroupDriver & { made: Set<string>; busy: Set<string> };

let dir: string;
let store: Store;
let ns: FakeNamespaces;
let net: FakeNetwork;
let m: SandboxManager;

function open(): SandboxManager {
  return new SandboxManager({
    root: join(dir, 'root'),
    state: join(dir, 'state'),
    store,
    network: net,
    cgroups,
    namespaces: ns,
    log,
    shmSizeBytes: 1 << 20,
    defaultCgroupParent: '/krill-test',
    oomFloor: -999,
    handlers: () => ['runc'],
    defaultHandler: 'runc',
    nodeHostname: 'node',
  });
}

function req(name: string, extra: DeepPartial<PodSandboxConfig> = {}): RunPodSandboxRequest {
  const config = PodSandboxConfig.fromPartial({
    metadata: { name, namespace: 'ns', uid: `uid-${name}` },
    hostname: name,
    linux: { cgroupParent: `/kubepods/${name}`, securityContext: { namespaceOptions: { network: NamespaceMode.POD, pid: NamespaceMode.CONTAINER, ipc: NamespaceMode.POD } } },
    ...extra,
  });
  return { config, runtimeHandler: '' };
}

async function run(name: string, extra: DeepPartial<PodSandboxConfig> = {}): Promise<string> {
  return (await m.run(await m.validate(req(name, extra)), log)).id;
}

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'krill-pods-'));
  store = new Store(join(dir, 'krill.db'));
  ns = new FakeNamespaces();
  net = new FakeNetwork();
  cgroups.made.clear();
  cgroups.busy.clear();
  m = open();
  await m.prepare();
});

afterEach(() => {
  store.close();
  rmSync(dir, { recursive: true, force: true });
});

test('a pod runs: ready, with its IP, files, namespaces and cgroup', async () => {
  const id = await run('web');
  const s = m.find(id);
  expect(s.status).toMatchObject({ state: 'ready', ips: ['10.9.0.2'] });
  expect(existsSync(s.meta.paths.hosts) && existsSync(s.meta.paths.resolvConf) && existsSync(s.meta.paths.hostname)).toBe(true);
  expect(ns.pinned.get(s.meta.paths.nsDir)).toEqual(s.meta.namespaces);
  expect(cgroups.made.has('/kubepods/web')).toBe(true);
  expect(net.up.has(id)).toBe(true);
  expect(m.list().map((p) => p.id)).toEqual([id]);
});

test('a retry while the first run is in flight joins it; a later one is AlreadyExists', async () => {
  let open!: () => void;
  net.gate = new Promise((r) => (open = r));
  const spec = await m.validate(req('web'));
  const a = m.run(spec, log);
  const b = m.run(spec, log);
  open();
  const [ra, rb] = await Promise.all([a, b]);
  expect(ra.id).toBe(rb.id);
  expect(rb.joined).toBe(true);
  await expect(m.run(spec, log)).rejects.toMatchObject({ code: 'AlreadyExists' });
});

test('a failed run is undone: no record, no files, namespaces unpinned, cgroup released', async () => {
  net.fail = new Error('CNI ADD failed: no addresses left');
  await expect(run('web')).rejects.toThrow('no addresses left');
  expect(m.records()).toEqual([]);
  expect(ns.pinned.size).toBe(0);
  expect(cgroups.made.size).toBe(0);
  expect(existsSync(join(dir, 'root', 'pods'))).toBe(true);
  expect(readdirSync(join(dir, 'root', 'pods'))).toEqual([]);
  net.fail = undefined;
  await expect(run('web')).resolves.toMatch(/^[0-9a-f]{64}$/);
});

test('a bad request is refused before anything is made', async () => {
  await expect(m.validate(req('web', { metadata: { name: '' } }))).rejects.toMatchObject({ code: 'InvalidArgument' });
  await expect(m.validate({ ...req('web'), runtimeHandler: 'kata' })).rejects.toMatchObject({ code: 'InvalidArgument', message: expect.stringContaining('kata') });
  await expect(m.validate(req('web', { linux: { securityContext: { namespaceOptions: { pid: NamespaceMode.POD } } } }))).rejects.toMatchObject({ code: 'Unimplemented' });
  expect(m.records()).toEqual([]);
  expect(ns.pinned.size).toBe(0);
});

test('stop and remove are idempotent, for unknown IDs too; remove deletes everything', async () => {
  const id = await run('web');
  const s = m.find(id);
  await m.stop(id, log);
  expect(m.find(id).status).toMatchObject({ state: 'notready', ips: [] });
  expect(net.up.has(id)).toBe(false);
  await m.stop(id, log);
  await m.stop('f'.repeat(64), log);
  await m.remove(id.slice(0, 10), log);
  await m.remove(id, log);
  await m.remove('f'.repeat(64), log);
  expect(m.records()).toEqual([]);
  expect(existsSync(s.meta.paths.dir)).toBe(false);
  expect(cgroups.made.size).toBe(0);
  expect(() => m.find(id)).toThrow(/not found \(pod_sandbox_id\)/);
});

test('pods removed at the same time release the parent cgroup Krill created for them', async () => {
  const under = (name: string): DeepPartial<PodSandboxConfig> => ({
    linux: { cgroupParent: `/made-by-krill/${name}`, securityContext: { namespaceOptions: { network: NamespaceMode.POD, pid: NamespaceMode.CONTAINER, ipc: NamespaceMode.POD } } },
  });
  const ids = await Promise.all(['a', 'b', 'c', 'd'].map((n) => run(n, under(n))));
  expect(cgroups.made.has('/made-by-krill')).toBe(true);
  await Promise.all(ids.map((id) => m.stop(id, log)));
  // All four removals reach the cgroups together, as they do on a busy node.
  let open!: () => void;
  ns.gate = new Promise((r) => (open = r));
  const removals = Promise.all(ids.map((id) => m.remove(id, log)));
  await waitFor(() => ns.waiting === 4);
  open();
  await removals;
  expect([...cgroups.made]).toEqual([]);
});

test('a pod cgroup still busy at RemovePodSandbox is removed once empty; recovery sweeps one no pod owns', async () => {
  const id = await run('busy');
  await m.stop(id, log);
  cgroups.busy.add('/kubepods/busy');
  await m.remove(id, log);
  expect(m.records()).toEqual([]);
  expect(cgroups.made.has('/kubepods/busy')).toBe(true);
  cgroups.busy.clear();
  await waitFor(() => !cgroups.made.has('/kubepods/busy') && !cgroups.made.has('/kubepods'));
  // A cgroup recorded as Krill's that no pod has (krilld died before removing it) goes with the leftovers.
  await cgroups.ensure('/kubepods/orphan');
  store.db.prepare('INSERT INTO sandbox_cgroups (path) VALUES (?), (?)').run('/kubepods', '/kubepods/orphan');
  const reopened = open();
  expect(await reopened.sweepLeftovers(log)).toEqual(['pod cgroup /kubepods/orphan', 'pod cgroup /kubepods']);
  expect(cgroups.made.size).toBe(0);
});

test('recovery: a half-made pod is removed; a ready one whose namespaces are gone is not ready; the others stay ready', async () => {
  const kept = await run('kept');
  const broken = await run('broken');
  net.gate = new Promise(() => undefined);
  const half = m.run(await m.validate(req('half')), log);
  await waitFor(() => net.waiting === 1);
  const halfId = m.records().find((s) => s.status.state === 'creating')!.id;
  // krilld dies here; while it is down the node loses broken's network namespace.
  ns.gone.add(m.find(broken).meta.namespaces.network!);
  m = open();
  net.gate = undefined;
  const outcomes = Object.fromEntries(await Promise.all(m.records().map(async (s) => [s.id, await m.recover(s.id, log)] as const)));
  expect(outcomes).toEqual({ [kept]: 'ready', [broken]: 'no longer ready', [halfId]: 'half-created, removed' });
  expect(m.find(broken).status.state).toBe('notready');
  expect(m.find(broken).status.reason).toMatch(/gone while krilld was down/);
  expect(m.records().map((s) => s.id)).not.toContain(halfId);
  // The first manager's run never goes on: it died with krilld.
  void half.catch(() => undefined);
});

test('after a restart, the CNI plugins\' verdict on each ready pod: a CNI error makes it not ready; a CHECK that cannot run leaves it ready', async () => {
  const healthy = await run('healthy');
  const broken = await run('broken');
  const unsure = await run('unsure');
  const stopped = await run('stopped');
  await m.stop(stopped, log);
  net.checks.set(broken, new CniPluginError('bridge', 'CHECK', 'eth0 is gone', 11));
  net.checks.set(unsure, new Error('plugin_timeout: timed out after 6000 ms'));
  net.checks.set(stopped, new CniPluginError('bridge', 'CHECK', 'not checked: the pod is stopped', 11));
  m = open();
  // Recovery itself no longer asks the plugins: every pod that was ready stays so until the check.
  for (const id of [healthy, broken, unsure]) expect(await m.recover(id, log)).toBe('ready');
  expect(await m.checkNetworks(log)).toEqual({ checked: 3, broken: 1 });
  expect(m.find(healthy).status.state).toBe('ready');
  expect(m.find(unsure).status.state).toBe('ready');
  expect(m.find(broken).status).toMatchObject({ state: 'notready', reason: expect.stringContaining('network: plugin type="bridge" failed (check): eth0 is gone') });
  expect(m.find(stopped).status.state).toBe('notready');
});

test('leftovers no pod record owns are removed: network, namespaces, directories', async () => {
  const kept = await run('kept');
  const gone = await run('gone');
  // The record is lost (a crash between two steps of a remove); what it held is still there.
  store.db.prepare('DELETE FROM sandboxes WHERE id = ?').run(gone);
  m = open();
  const removed = await m.sweepLeftovers(log);
  expect(removed).toEqual([`pod network of ${gone} (CNI DEL)`, `pinned namespaces of ${gone}`, `run directory of ${gone}`, `pod directory of ${gone}`, 'pod cgroup /kubepods/gone']);
  expect(net.up.has(gone)).toBe(false);
  expect([...ns.pinned.keys()].map((d) => d.split('/').pop())).toEqual([kept]);
  expect(existsSync(join(dir, 'root', 'pods', gone))).toBe(false);
  expect(existsSync(join(dir, 'root', 'pods', kept))).toBe(true);
  expect(await m.sweepLeftovers(log)).toEqual([]);
});

async function waitFor(cond: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 1));
  }
}
