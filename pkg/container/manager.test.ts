// The container manager's rules on a fake runtime, fake root filesystems and
// cgroups, in a temporary directory: states, idempotency, name reservation,
// joined retries, undo of a failed create, exits, recovery, error codes.
// No root, no runc: milliseconds.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ContainerConfig, NamespaceMode, PodSandboxConfig, type CreateContainerRequest, type DeepPartial } from '../../api/runtime/v1/api';
import { CdiSpecDirs } from '../cdi/spec_dirs';
import { silentLogger } from '../log/logger';
import type { HostFacts } from '../oci/spec';
import { FakeRuntime } from '../runtime/testing/fake_runtime';
import { Store } from '../store/db';
import { ContainerManager, type ContainerEvent, type PodView } from './manager';

const log = silentLogger();
const HOST: HostFacts = {
  arch: process.arch,
  cgroupVersion: 1,
  capabilities: ['CAP_CHOWN', 'CAP_KILL', 'CAP_NET_BIND_SERVICE', 'CAP_SETUID', 'CAP_SETGID', 'CAP_SYS_ADMIN'],
  seccomp: false,
  appArmor: false,
  recursiveReadOnlyMounts: false,
  idmappedMounts: false,
  swapAccounting: false,
  hugepageSizes: [],
};

let dir: string;
let store: Store;
let rt: FakeRuntime;
let m: ContainerManager;
let pods: Map<string, PodView>;
let layersHeld: Map<string, readonly string[]>;
let rootfsRemoved: string[];
let idmappedVolumes: [string, string][];
let events: ContainerEvent[];

function pod(id: string, ready = true): PodView {
  const config = PodSandboxConfig.fromPartial({ metadata: { name: `pod-${id}`, namespace: 'ns', uid: `uid-${id}` }, logDirectory: join(dir, 'logs', id) });
  return { id, ready, config, handler: 'runc', namespaces: { network: `/ns/${id}/net`, ipc: `/ns/${id}/ipc`, uts: `/ns/${id}/uts` }, files: {}, cgroupParent: `/test/${id}` };
}

function open(): ContainerManager {
  const manager = new ContainerManager({
    store,
    log,
    runtime: rt,
    rootfs: {
      async create(_id, _lowers, target) {
        mkdirSync(target, { recursive: true });
      },
      async idmappedVolume(target, index, source) {
        const view = join(target, '..', 'volumes', String(index));
        idmappedVolumes.push([source, view]);
        return view;
      },
      async remove(id) {
        rootfsRemoved.push(id);
      },
      usage: async () => undefined,
      ids: async () => [],
    },
    cgroups: { containerCgroup: (parent, id) => ({ path: `${parent}/${id}`, ociPath: `${parent}/${id}` }), stats: async () => ({}), procs: async () => [] },
    pods: { get: (id) => pods.get(id) },
    images: {
      resolve: (ref) => (ref === 'busybox' ? { id: 'sha256:img', ref: 'busybox@sha256:x', chainIds: ['sha256:c1'], config: { Cmd: ['sh'], StopSignal: 'SIGQUIT' } } : undefined),
      layerDir: (c) => join(dir, 'layers', c),
      acquireLayers: (holder, chainIds) => void layersHeld.set(holder, chainIds),
      releaseLayers: (holder) => void layersHeld.delete(holder),
    },
    hostFacts: () => HOST,
    hostDevices: async () => [],
    cdi: new CdiSpecDirs([join(dir, 'cdi')], log),
    specOptions: { oomScoreAdjFloor: -999 },
    bundlesDir: join(dir, 'bundles'),
  });
  manager.events.on('event', (e) => events.push(e));
  manager.watchExits();
  return manager;
}

function req(name: string, podId = 'p1', extra: DeepPartial<ContainerConfig> = {}): CreateContainerRequest {
  const base: DeepPartial<ContainerConfig> = { metadata: { name, attempt: 0 }, image: { image: 'busybox' }, linux: { securityContext: { namespaceOptions: { pid: NamespaceMode.CONTAINER } } } };
  return { podSandboxId: podId, config: ContainerConfig.fromPartial({ ...base, ...extra }), sandboxConfig: undefined };
}

const create = (name: string, podId = 'p1', extra: DeepPartial<ContainerConfig> = {}) => m.create(m.validate(req(name, podId, extra)), log);

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'krill-containers-'));
  store = new Store(join(dir, 'krill.db'));
  rt = new FakeRuntime();
  pods = new Map([['p1', pod('p1')], ['p2', pod('p2')]]);
  layersHeld = new Map();
  rootfsRemoved = [];
  idmappedVolumes = [];
  events = [];
  m = open();
});

afterEach(() => {
  m.close();
  store.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('create', () => {
  test('a container is created in its pod: CREATED, with its layers held, a bundle, an event and the image stop signal', async () => {
    const id = await create('web');
    const c = m.find(id);
    expect(c.status.state).toBe('created');
    expect(c.meta).toMatchObject({ podId: 'p1', key: 'web_pod-p1_ns_uid-p1_0', stopSignal: 'SIGQUIT', cgroupPath: `/test/p1/${id}` });
    expect(existsSync(join(dir, 'bundles', id, 'config.json'))).toBe(true);
    expect(layersHeld.get(id)).toEqual(['sha256:c1']);
    expect(events.map((e) => e.kind)).toEqual(['created']);
    expect(m.list().map((x) => x.id)).toEqual([id]);
  });

  test('a user-namespaced pod\'s ID-mapped volumes become views Krill maps when the runtime cannot map mounts', async () => {
    const uid = process.getuid!();
    const gid = process.getgid!();
    pods.set('u1', { ...pod('u1'), idmap: { userns: '/ns/u1/user', rootUid: uid, rootGid: gid } });
    const data = join(dir, 'volumes/data');
    const plain = join(dir, 'volumes/plain');
    mkdirSync(plain, { recursive: true });
    mkdirSync(data, { recursive: true });
    const mapping = [{ containerId: 0, hostId: 100_000, length: 65_536 }];
    const id = await create('web', 'u1', {
      mounts: [
        { containerPath: '/data', hostPath: data, uidMappings: mapping, gidMappings: mapping },
        { containerPath: '/plain', hostPath: plain },
      ],
    });
    const bundle = join(dir, 'bundles', id);
    expect(idmappedVolumes).toEqual([[data, join(bundle, 'volumes/0')]]);
    const spec = JSON.parse(readFileSync(join(bundle, 'config.json'), 'utf8')) as { mounts: { destination: string; source: string; uidMappings?: unknown }[] };
    const byDest = Object.fromEntries(spec.mounts.map((x) => [x.destination, x]));
    expect(byDest['/data']).toMatchObject({ source: join(bundle, 'volumes/0') });
    expect(byDest['/data']!.uidMappings).toBeUndefined();
    expect(byDest['/plain']).toMatchObject({ source: plain });
    // The record keeps what kubelet asked for.
    expect(m.find(id).meta.config.mounts[0]).toMatchObject({ hostPath: data, uidMappings: mapping });
  });

  test('a retry of the same create while the first runs joins it; a later one is AlreadyExists', async () => {
    let open!: () => void;
    rt.createGate = new Promise((r) => (open = r));
    const first = create('web');
    const second = create('web');
    open();
    const [a, b] = await Promise.all([first, second]);
    expect(a).toBe(b);
    expect(rt.calls.filter((c) => c.startsWith('create'))).toHaveLength(1);
    await expect(create('web')).rejects.toMatchObject({ code: 'AlreadyExists' });
  });

  test('bad requests change nothing and name the problem', async () => {
    expect(() => m.validate({ podSandboxId: '', config: undefined, sandboxConfig: undefined })).toThrow(/pod_sandbox_id is required/);
    expect(() => m.validate(req(''))).toThrow(/config.metadata.name is required/);
    expect(() => m.validate(req('x', 'p1', { image: { image: '' } }))).toThrow(/config.image.image is required/);
    expect(() => m.validate(req('x', 'p1', { logPath: '/abs.log' }))).toThrow(/must be relative/);
    await expect(create('x', 'nope')).rejects.toMatchObject({ code: 'NotFound', message: expect.stringContaining('pod_sandbox_id') });
    pods.set('p3', pod('p3', false));
    await expect(create('x', 'p3')).rejects.toMatchObject({ code: 'FailedPrecondition' });
    await expect(create('x', 'p1', { image: { image: 'missing' } })).rejects.toMatchObject({ code: 'NotFound', message: expect.stringContaining('pull it first') });
    await expect(create('x', 'p1', { logPath: '../escape.log' })).rejects.toMatchObject({ code: 'InvalidArgument', message: expect.stringContaining('leaves') });
    expect(m.records()).toEqual([]);
    expect(rt.calls).toEqual([]);
  });

  test("a CDI device's edits reach config.json; an unknown CDI device is InvalidArgument naming it, and nothing is made", async () => {
    mkdirSync(join(dir, 'cdi'));
    const spec = { cdiVersion: '0.6.0', kind: 'example.com/null', devices: [{ name: 'one', containerEdits: { deviceNodes: [{ path: '/dev/one', hostPath: '/dev/null' }], env: ['ONE=1'] } }] };
    writeFileSync(join(dir, 'cdi', 'null.json'), JSON.stringify(spec));
    const id = await create('web', 'p1', { CDIDevices: [{ name: 'example.com/null=one' }] });
    const config = JSON.parse(readFileSync(join(dir, 'bundles', id, 'config.json'), 'utf8'));
    expect(config.linux.devices).toContainEqual(expect.objectContaining({ path: '/dev/one', type: 'c', major: 1, minor: 3 }));
    expect(config.linux.resources.devices).toContainEqual({ allow: true, type: 'c', major: 1, minor: 3, access: 'rwm' });
    expect(config.process.env).toContain('ONE=1');

    events.length = 0;
    await expect(create('gpu', 'p1', { CDIDevices: [{ name: 'example.com/null=two' }] })).rejects.toMatchObject({
      code: 'InvalidArgument',
      message: expect.stringContaining('"example.com/null=two" (config.CDI_devices[0].name)'),
    });
    await expect(create('gpu', 'p1', { annotations: { 'cdi.k8s.io/plugin': 'example.com/null=two' } })).rejects.toMatchObject({ code: 'InvalidArgument' });
    expect(m.records().map((c) => c.id)).toEqual([id]);
    expect(layersHeld.size).toBe(1);
    expect(events).toEqual([]);
  });

  test('a create the runtime fails is undone: no record, no bundle, no root filesystem, layers released', async () => {
    rt.failCreate = new Error('runc create failed');
    await expect(create('web')).rejects.toThrow('runc create failed');
    expect(m.records()).toEqual([]);
    expect(layersHeld.size).toBe(0);
    expect(rootfsRemoved).toHaveLength(1);
    expect(existsSync(join(dir, 'bundles', rootfsRemoved[0]!))).toBe(false);
    expect(events).toEqual([]);
    // The name is free again.
    await expect(create('web')).resolves.toMatch(/^[0-9a-f]{64}$/);
  });

  test('a container being created is not visible to lookups or lists', async () => {
    let open!: () => void;
    rt.createGate = new Promise((r) => (open = r));
    const pending = create('web');
    await waitFor(() => m.records().length > 0);
    const [rec] = m.records();
    expect(rec!.status.state).toBe('creating');
    expect(m.list()).toEqual([]);
    expect(() => m.find(rec!.id)).toThrow(/not found/);
    open();
    await pending;
  });
});

describe('lifecycle', () => {
  test('start runs it; a second start is FailedPrecondition; the exit is recorded with its reason', async () => {
    const id = await create('web');
    await m.start(id, log);
    expect(m.find(id).status.state).toBe('running');
    await expect(m.start(id, log)).rejects.toMatchObject({ code: 'FailedPrecondition' });
    rt.exitNow(id, 3);
    await waitFor(() => m.find(id).status.state === 'exited');
    expect(m.find(id).status).toMatchObject({ exitCode: 3, reason: 'Error' });
    expect(events.map((e) => e.kind)).toEqual(['created', 'started', 'stopped']);
  });

  test('an OOM kill is reported as OOMKilled, a clean exit as Completed', async () => {
    const a = await create('a');
    const b = await create('b');
    await m.start(a, log);
    await m.start(b, log);
    rt.exitNow(a, 137, true);
    rt.exitNow(b, 0);
    await waitFor(() => m.find(a).status.state === 'exited' && m.find(b).status.state === 'exited');
    expect(m.find(a).status.reason).toBe('OOMKilled');
    expect(m.find(b).status.reason).toBe('Completed');
  });

  test('stop and remove are idempotent, for unknown IDs too; remove releases everything', async () => {
    const id = await create('web');
    await m.start(id, log);
    await m.stop(id, 10, log);
    expect(m.find(id).status).toMatchObject({ state: 'exited', exitCode: 143 });
    expect(rt.calls).toContain(`stop ${id} QUIT`);
    await m.stop(id, 10, log);
    await m.stop('f'.repeat(64), 10, log);
    await m.remove(id, log);
    await m.remove(id, log);
    await m.remove('f'.repeat(64), log);
    expect(m.records()).toEqual([]);
    expect(layersHeld.size).toBe(0);
    expect(existsSync(join(dir, 'bundles', id))).toBe(false);
    expect(events.map((e) => e.kind)).toEqual(['created', 'started', 'stopped', 'deleted']);
  });

  test('a shorter stop kills a container whose longer stop is still waiting', async () => {
    const id = await create('web');
    await m.start(id, log);
    rt.stopGate = new Promise(() => undefined);
    const slow = m.stop(id, 3600, log);
    await waitFor(() => rt.calls.includes(`stop ${id} QUIT`));
    await m.stop(id, 0, log);
    await slow;
    expect(rt.calls).toContain(`kill ${id}`);
    expect(m.find(id).status).toMatchObject({ state: 'exited', exitCode: 137 });
  });

  test('removing a running container kills it first', async () => {
    const id = await create('web');
    await m.start(id, log);
    await m.remove(id, log);
    expect(rt.calls).toEqual([`create ${id}`, `start ${id}`, `stop ${id} KILL`, `delete ${id}`]);
  });
});

describe('lookups', () => {
  test('an ID or a unique prefix; an ambiguous prefix is InvalidArgument; NotFound names the field', async () => {
    const a = await create('a');
    const b = await create('b');
    expect(m.find(a.slice(0, 12)).id).toBe(a);
    let common = 0;
    while (a[common] === b[common]) common++;
    if (common > 0) expect(() => m.find(a.slice(0, common))).toThrow(/matches more than one/);
    expect(() => m.find('')).toThrow(/not found \(container_id\)/);
    expect(() => m.find('zz', 'config.x')).toThrow(/"zz" not found \(config.x\)/);
  });
});

describe('runtime operations', () => {
  test('exec and updates need a live container; an empty command is InvalidArgument', async () => {
    const id = await create('web');
    await expect(m.execSync(id, ['true'], 1)).rejects.toMatchObject({ code: 'FailedPrecondition' });
    await m.start(id, log);
    await expect(m.execSync(id, [], 1)).rejects.toMatchObject({ code: 'InvalidArgument' });
    await expect(m.execSync(id, ['true'], 1)).resolves.toMatchObject({ exitCode: 0 });
    await m.updateResources(id, { cpuPeriod: 100000n, cpuQuota: 50000n, cpuShares: 512n, memoryLimitInBytes: 64n << 20n, oomScoreAdj: 0n, cpusetCpus: '', cpusetMems: '', hugepageLimits: [], unified: {}, memorySwapLimitInBytes: 0n });
    expect(rt.updates).toEqual([{ id, resources: expect.objectContaining({ cpu: expect.objectContaining({ quota: 50000, period: 100000 }), memory: expect.objectContaining({ limit: 64 * 1024 * 1024 }) }) }]);
    expect(m.find(id).status.resources?.cpuQuota).toBe(50000n);
    rt.exitNow(id, 0);
    await waitFor(() => m.find(id).status.state === 'exited');
    await expect(m.updateResources(id, { cpuPeriod: 0n, cpuQuota: 0n, cpuShares: 0n, memoryLimitInBytes: 0n, oomScoreAdj: 0n, cpusetCpus: '', cpusetMems: '', hugepageLimits: [], unified: {}, memorySwapLimitInBytes: 0n })).rejects.toMatchObject({ code: 'FailedPrecondition' });
  });
});

describe('streams and logs', () => {
  test('exec, attach and log reopening need a running container; exec needs a command', async () => {
    const id = await create('web');
    await expect(m.exec(id, ['sh'], false, {})).rejects.toMatchObject({ code: 'FailedPrecondition', message: expect.stringContaining('is not running (it is created)') });
    expect(() => m.attach(id, {})).toThrow(expect.objectContaining({ code: 'FailedPrecondition' }));
    await expect(m.reopenLog(id)).rejects.toMatchObject({ code: 'FailedPrecondition' });
    await m.start(id, log);
    await expect(m.exec(id, [], false, {})).rejects.toMatchObject({ code: 'InvalidArgument', message: 'cmd must not be empty' });
    // the fake runtime has no streams: reaching it is what these show
    await expect(m.exec(id, ['sh'], true, {})).rejects.toMatchObject({ code: 'Unimplemented' });
    expect(() => m.attach(id, {})).toThrow(expect.objectContaining({ code: 'Unimplemented' }));
    await expect(m.exec('nope', ['sh'], false, {})).rejects.toMatchObject({ code: 'NotFound' });
  });

  test("the OCI process of a container is the one its bundle's config.json holds", async () => {
    const id = await create('web', 'p1', { command: ['/bin/echo'], args: ['hi'], envs: [{ key: 'A', value: Buffer.from('b') }] });
    const proc = await m.processSpec(m.find(id));
    expect(proc).toMatchObject({ args: ['/bin/echo', 'hi'], env: expect.arrayContaining(['A=b']) });
  });

  test("reopening the log of a running container makes sure of the file in the pod's log directory, then asks the runtime", async () => {
    mkdirSync(join(dir, 'logs', 'p1'), { recursive: true });
    const id = await create('web', 'p1', { logPath: 'web/0.log' });
    await m.start(id, log);
    const file = join(dir, 'logs', 'p1', 'web', '0.log');
    rmSync(file, { force: true }); // kubelet moved it aside
    await m.reopenLog(id);
    expect(existsSync(file)).toBe(true);
    expect(rt.calls).toContain(`reopenLog ${id}`);
  });
});

describe('pods', () => {
  test("stopAllInPod and removeAllInPod act on that pod's containers only", async () => {
    const a = await create('a', 'p1');
    const b = await create('b', 'p1');
    const other = await create('c', 'p2');
    for (const id of [a, b, other]) await m.start(id, log);
    await m.stopAllInPod('p1', log);
    expect([a, b, other].map((id) => m.find(id).status.state)).toEqual(['exited', 'exited', 'running']);
    await m.removeAllInPod('p1', log);
    expect(m.list().map((c) => c.id)).toEqual([other]);
    expect(rootfsRemoved.sort()).toEqual([a, b].sort());
    await m.removeAllInPod('p1', log); // nothing left: fine
  });
});

describe('recovery', () => {
  test('after a restart: exits while down are recorded, live ones stay, lost ones are marked exited, half-created ones are removed', async () => {
    const exited = await create('exited');
    const alive = await create('alive');
    const lost = await create('lost');
    for (const id of [exited, alive, lost]) await m.start(id, log);
    m.close();
    // While krilld is down: one exits, one is lost (a reboot), and a create was cut short.
    rt.exitNow(exited, 2);
    rt.lose(lost);
    const half = 'a'.repeat(64);
    store.db.prepare('INSERT INTO containers (id, meta, status) VALUES (?, ?, ?)').run(
      half,
      JSON.stringify({ ...m.find(alive).meta, key: 'half_key', bundle: join(dir, 'bundles', half), rootfs: join(dir, 'bundles', half, 'rootfs') }, (_k, v: unknown) => (typeof v === 'bigint' ? { $bigint: String(v) } : v)),
      JSON.stringify({ state: 'creating', pid: 0, startedAt: { $bigint: '0' }, finishedAt: { $bigint: '0' }, exitCode: 0, reason: '', message: '' }),
    );
    events = [];
    m = open();
    const outcomes = Object.fromEntries(await Promise.all(m.records().map(async (c) => [c.id, await m.recover(c.id, log)] as const)));
    expect(outcomes).toEqual({ [exited]: 'exited while down', [alive]: 'running', [lost]: 'lost', [half]: 'half-created, removed' });
    expect(m.find(exited).status).toMatchObject({ state: 'exited', exitCode: 2, reason: 'Error' });
    expect(m.find(lost).status).toMatchObject({ state: 'exited', reason: 'Unknown' });
    expect(m.find(alive).status.state).toBe('running');
    expect(m.records().map((c) => c.id)).not.toContain(half);
    expect(events.filter((e) => e.kind === 'stopped').map((e) => e.containerId).sort()).toEqual([exited, lost].sort());
  });

  test('with the runtime listed once (what recovery does), each container is judged by that listing', async () => {
    const alive = await create('alive');
    const lost = await create('lost');
    const created = await create('created');
    for (const id of [alive, lost]) await m.start(id, log);
    m.close();
    rt.lose(lost);
    m = open();
    const listed = await rt.states();
    // A container the listing does not name is lost, whatever a later `state` would say.
    const stale = new Map(listed);
    stale.delete(created);
    expect(await m.recover(alive, log, stale)).toBe('running');
    expect(await m.recover(lost, log, stale)).toBe('lost');
    expect(await m.recover(created, log, stale)).toBe('lost');
  });
});

describe('monitors', () => {
  test('a container whose conmon died is reported exited, and killed when it still runs', async () => {
    const running = await create('running');
    const healthy = await create('healthy');
    await m.start(running, log);
    await m.start(healthy, log);
    rt.killMonitor(running);
    expect(await m.checkMonitors()).toEqual([running]);
    expect(m.find(running).status).toMatchObject({ state: 'exited', exitCode: 137, reason: 'Error', message: expect.stringContaining('conmon') });
    expect(rt.calls).toContain(`kill ${running}`);
    expect(m.find(healthy).status.state).toBe('running');
    expect(await m.checkMonitors()).toEqual([]);
  });
});

describe('leftovers', () => {
  test('runtime containers, monitor records and bundles no record owns are removed; pods\' infra and other engines\' containers are kept', async () => {
    const kept = await create('kept');
    const orphan = 'b'.repeat(64);
    const infra = 'c'.repeat(64);
    const foreign = 'd'.repeat(64);
    await rt.create({ id: orphan, handler: 'runc', bundle: join(dir, 'bundles', orphan), logPath: '', terminal: false, stdin: false, stdinOnce: false });
    await rt.create({ id: infra, handler: 'runc', bundle: join(dir, 'pods', infra, 'infra'), logPath: '', terminal: false, stdin: false, stdinOnce: false });
    await rt.create({ id: foreign, handler: 'runc', bundle: '/var/lib/other-engine/x', logPath: '', terminal: false, stdin: false, stdinOnce: false });
    mkdirSync(join(dir, 'bundles', orphan, 'rootfs'), { recursive: true });
    const removed = await m.sweepLeftovers(new Set([infra]), log);
    expect(removed).toEqual([`runtime container ${orphan}`, `bundle and root filesystem of ${orphan}`]);
    expect(rt.calls).toContain(`discard ${orphan}`);
    expect([...rt.containers.keys()].sort()).toEqual([kept, infra, foreign].sort());
    expect(existsSync(join(dir, 'bundles', orphan))).toBe(false);
    expect(existsSync(join(dir, 'bundles', kept))).toBe(true);
    expect(await m.sweepLeftovers(new Set([infra]), log)).toEqual([]);
  });
});

async function waitFor(cond: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 1));
  }
}
