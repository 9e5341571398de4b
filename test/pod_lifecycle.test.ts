// Pod sandboxes through a real krilld: run, status, list with filters, stop
// and remove (twice), what a pod gets (namespaces, hostname, DNS, sysctls,
// shm, cgroup) and that nothing of it is left after removal.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { randomInt } from 'node:crypto';
import { hostname, networkInterfaces } from 'node:os';
import { PodSandboxState, Protocol, type PodSandboxFilter } from '../api/runtime/v1/api';
import { grpc } from '../pkg/criclient/client';
import { startKrilld, type Krilld } from './harness/krilld';
import { readMountPointsSync } from '../pkg/storage/mount';
import { testCgroupParent } from './harness/paths';
import { podConfig, podInfo, runInNetns, runRequest, uniqueName, removeAllPods } from './harness/pods';

let k: Krilld;
beforeAll(async () => {
  k = await startKrilld();
});
afterAll(async () => {
  await removeAllPods(k.client);
  await k.cleanup();
});

const rt = () => k.client.runtime;

async function removePod(id: string): Promise<void> {
  await rt().stopPodSandbox({ podSandboxId: id });
  await rt().removePodSandbox({ podSandboxId: id });
}

describe('a pod on the default network', () => {
  let id: string;
  let info: Awaited<ReturnType<typeof podInfo>>;
  const name = uniqueName('web');
  const config = podConfig({ name }, {
    hostname: 'web-host',
    dnsConfig: { servers: ['10.96.0.10'], searches: ['krill-test.svc.cluster.local', 'svc.cluster.local'], options: ['ndots:5', 'timeout:2'] },
    labels: { app: 'web', tier: 'front' },
    annotations: { 'example.com/note': 'kept as is' },
  });
  config.linux!.sysctls = { 'net.ipv4.ip_unprivileged_port_start': '0', 'kernel.shm_rmid_forced': '1' };

  beforeAll(async () => {
    id = (await rt().runPodSandbox(runRequest(config))).podSandboxId;
    info = await podInfo(k.client, id);
  });
  afterAll(async () => {
    if (id) await removePod(id);
  });

  test('is ready with an IP from the network and its metadata kept', async () => {
    const { status } = await rt().podSandboxStatus({ podSandboxId: id, verbose: false });
    expect(status!.state).toBe(PodSandboxState.SANDBOX_READY);
    expect(status!.metadata).toEqual(config.metadata);
    expect(status!.labels).toEqual(config.labels);
    expect(status!.annotations).toEqual(config.annotations);
    expect(status!.createdAt).toBeGreaterThan(0n);
    expect(status!.network!.ip.startsWith(k.network!.subnet.replace(/\.0\/24$/, '.'))).toBe(true);
    expect(status!.linux!.namespaces!.options).toMatchObject({ network: 0, pid: 1, ipc: 0 });
  });

  test('an ID prefix works wherever an ID does', async () => {
    const { status } = await rt().podSandboxStatus({ podSandboxId: id.slice(0, 12), verbose: false });
    expect(status!.id).toBe(id);
  });

  test('its hostname, loopback and sysctls are set inside its own namespaces', async () => {
    expect((await runInNetns(info.namespaces.network!, ['cat', '/proc/sys/net/ipv4/ip_unprivileged_port_start'])).stdout.trim()).toBe('0');
    const lo = await runInNetns(info.namespaces.network!, ['ip', '-o', 'link', 'show', 'lo']);
    expect(lo.stdout).toMatch(/state UNKNOWN|LOWER_UP/);
    expect(execFileSync('nsenter', [`--uts=${info.namespaces.uts}`, 'hostname'], { encoding: 'utf8' }).trim()).toBe('web-host');
    expect(execFileSync('nsenter', [`--ipc=${info.namespaces.ipc}`, 'cat', '/proc/sys/kernel/shm_rmid_forced'], { encoding: 'utf8' }).trim()).toBe('1');
    // the node's own value is untouched
    expect(readFileSync('/proc/sys/net/ipv4/ip_unprivileged_port_start', 'utf8').trim()).not.toBe('0');
  });

  test('its files: hostname, hosts with its IP, resolv.conf with the DNS options', async () => {
    const { status } = await rt().podSandboxStatus({ podSandboxId: id, verbose: false });
    expect(readFileSync(info.paths.hostname, 'utf8')).toBe('web-host\n');
    expect(readFileSync(info.paths.hosts, 'utf8')).toContain(`${status!.network!.ip}\tweb-host\n`);
    expect(readFileSync(info.paths.resolvConf, 'utf8')).toBe(
      'search krill-test.svc.cluster.local svc.cluster.local\nnameserver 10.96.0.10\noptions ndots:5 timeout:2\n',
    );
  });

  test('its /dev/shm is a 64 MiB tmpfs of its own; its cgroup exists', () => {
    expect(readMountPointsSync()).toContain(info.paths.shm);
    const df = execFileSync('df', ['-B1', '--output=size', info.paths.shm], { encoding: 'utf8' });
    expect(Number(df.trim().split('\n')[1])).toBe(64 * 1024 * 1024);
    expect(existsSync(join('/sys/fs/cgroup/memory', info.cgroupPath))).toBe(true);
  });

  test('a second RunPodSandbox for the same pod is refused with the existing ID', async () => {
    await expect(rt().runPodSandbox(runRequest(config))).rejects.toMatchObject({ code: grpc.status.ALREADY_EXISTS, details: expect.stringContaining(id) });
  });

  test('ListPodSandbox filters by ID, ID prefix, state and labels', async () => {
    const ids = async (filter: PodSandboxFilter) => (await rt().listPodSandbox({ filter })).items.map((p) => p.id);
    expect(await ids({ id: id, state: undefined, labelSelector: {} })).toEqual([id]);
    expect(await ids({ id: id.slice(0, 8), state: undefined, labelSelector: {} })).toEqual([id]);
    expect(await ids({ id: '', state: { state: PodSandboxState.SANDBOX_READY }, labelSelector: { app: 'web' } })).toEqual([id]);
    expect(await ids({ id: '', state: { state: PodSandboxState.SANDBOX_NOTREADY }, labelSelector: { app: 'web' } })).toEqual([]);
    expect(await ids({ id: '', state: undefined, labelSelector: { app: 'web', tier: 'back' } })).toEqual([]);
    const all = await rt().listPodSandbox({ filter: undefined });
    expect(all.items.find((p) => p.id === id)).toMatchObject({ metadata: config.metadata, labels: config.labels, annotations: config.annotations, runtimeHandler: '' });
  });

  test('stats: network counters from its namespace, cgroup usage, process count', async () => {
    // some traffic out of the pod: a connection attempt to the gateway
    await runInNetns(info.namespaces.network!, ['socat', '-u', 'OPEN:/dev/null', `TCP:${k.network!.gateway}:9,connect-timeout=1`]);
    const { stats } = await rt().podSandboxStats({ podSandboxId: id });
    expect(stats!.attributes).toMatchObject({ id, metadata: config.metadata, labels: config.labels });
    const linux = stats!.linux!;
    expect(linux.network!.defaultInterface!.name).toBe('eth0');
    expect(linux.network!.defaultInterface!.txBytes!.value).toBeGreaterThan(0n);
    expect(linux.network!.interfaces.map((i) => i.name)).not.toContain('lo');
    expect(linux.cpu!.usageCoreNanoSeconds).toBeDefined();
    expect(linux.memory!.workingSetBytes).toBeDefined();
    expect(linux.process!.processCount!.value).toBe(0n);
    expect(linux.containers).toEqual([]);
    const list = await rt().listPodSandboxStats({ filter: { id: '', labelSelector: { app: 'web' } } });
    expect(list.stats.map((s) => s.attributes!.id)).toEqual([id]);
  });
});

test('stop and remove are idempotent and leave nothing behind', async () => {
  const config = podConfig({}, { portMappings: [{ protocol: Protocol.TCP, containerPort: 80, hostPort: 0, hostIp: '' }] });
  const id = (await rt().runPodSandbox(runRequest(config))).podSandboxId;
  const info = await podInfo(k.client, id);
  const { status } = await rt().podSandboxStatus({ podSandboxId: id, verbose: false });
  const ip = status!.network!.ip;
  const leases = join(k.root, 'cni', 'networks', 'krill');
  expect(readdirSync(leases)).toContain(ip);

  await rt().stopPodSandbox({ podSandboxId: id });
  await rt().stopPodSandbox({ podSandboxId: id });
  const stopped = await rt().podSandboxStatus({ podSandboxId: id, verbose: false });
  expect(stopped.status!.state).toBe(PodSandboxState.SANDBOX_NOTREADY);
  expect(stopped.status!.network!.ip).toBe('');
  // the network is gone at stop: lease released, namespace unpinned
  expect(readdirSync(leases)).not.toContain(ip);
  expect(existsSync(info.namespaces.network!)).toBe(false);

  await rt().removePodSandbox({ podSandboxId: id });
  await rt().removePodSandbox({ podSandboxId: id });
  await expect(rt().podSandboxStatus({ podSandboxId: id, verbose: false })).rejects.toMatchObject({ code: grpc.status.NOT_FOUND });
  expect((await rt().listPodSandbox({ filter: undefined })).items.map((p) => p.id)).not.toContain(id);
  for (const p of [info.paths.dir, info.paths.runDir, info.paths.nsDir]) expect(existsSync(p)).toBe(false);
  expect(readMountPointsSync().filter((m) => m.includes(id))).toEqual([]);
  expect(readdirSync(join(k.root, 'cni', 'results'))).toEqual([]);
  for (const h of ['memory', 'cpu', 'pids', 'unified']) expect(existsSync(join('/sys/fs/cgroup', h, info.cgroupPath))).toBe(false);
});

test('Stop, Remove of an unknown ID succeed; Status and Stats of one are NotFound', async () => {
  const unknown = 'f'.repeat(64);
  await expect(rt().stopPodSandbox({ podSandboxId: unknown })).resolves.toEqual({});
  await expect(rt().removePodSandbox({ podSandboxId: unknown })).resolves.toEqual({});
  await expect(rt().podSandboxStatus({ podSandboxId: unknown, verbose: false })).rejects.toMatchObject({ code: grpc.status.NOT_FOUND });
  await expect(rt().podSandboxStats({ podSandboxId: unknown })).rejects.toMatchObject({ code: grpc.status.NOT_FOUND });
  await expect(rt().stopPodSandbox({ podSandboxId: '' })).rejects.toMatchObject({ code: grpc.status.INVALID_ARGUMENT });
});

test('a host-network pod sees the host interfaces and has the node hostname; its files are the host files', async () => {
  // with a shared pid namespace, so that a process of the pod (its infra) can be looked at
  const config = podConfig({ hostNetwork: true, hostIpc: true, sharePid: true });
  const id = (await rt().runPodSandbox(runRequest(config))).podSandboxId;
  try {
    const info = await podInfo(k.client, id);
    expect(info.namespaces).toEqual({});
    expect(info.paths.shm).toBe('/dev/shm');
    const { status } = await rt().podSandboxStatus({ podSandboxId: id, verbose: false });
    expect(status!.network!.ip).toBe('');
    expect(status!.linux!.namespaces!.options).toMatchObject({ network: 2, ipc: 2 });
    expect(readFileSync(info.paths.hostname, 'utf8').trim()).toBe(hostname());
    expect(readFileSync(info.paths.resolvConf, 'utf8')).toBe(readFileSync('/etc/resolv.conf', 'utf8'));
    const pid = info.infra!.pid;
    expect(statSync(`/proc/${pid}/ns/net`).ino).toBe(statSync('/proc/self/ns/net').ino);
    expect(statSync(`/proc/${pid}/ns/uts`).ino).toBe(statSync('/proc/self/ns/uts').ino);
    expect(statSync(`/proc/${pid}/ns/ipc`).ino).toBe(statSync('/proc/self/ns/ipc').ino);
    const inPod = readFileSync(`/proc/${pid}/net/dev`, 'utf8').split('\n').slice(2).map((l) => l.split(':')[0]!.trim()).filter(Boolean);
    // the node's interfaces: its loopback and the one its default route goes out of
    const uplink = /\bdev (\S+)/.exec(execFileSync('ip', ['route', 'show', 'default'], { encoding: 'utf8' }))?.[1];
    expect(inPod).toEqual(expect.arrayContaining(['lo', ...(uplink ? [uplink] : Object.keys(networkInterfaces()).filter((n) => n !== 'lo').slice(0, 1))]));
  } finally {
    await removePod(id);
  }
});

test('a pod without a cgroup parent gets one of its own below the default, removed with it', async () => {
  const config = podConfig({ cgroupParent: '' });
  const id = (await rt().runPodSandbox(runRequest(config))).podSandboxId;
  const info = await podInfo(k.client, id);
  // the harness sets the default below this run's cgroup parent
  expect(info.cgroupPath).toBe(`${testCgroupParent('default')}/pod-${id}`);
  expect(statSync(join('/sys/fs/cgroup/memory', info.cgroupPath)).isDirectory()).toBe(true);
  await removePod(id);
  expect(existsSync(join('/sys/fs/cgroup/memory', info.cgroupPath))).toBe(false);
});

describe('refused requests change nothing', () => {
  const cases: [string, () => ReturnType<typeof runRequest>, number, string][] = [
    ['no metadata', () => runRequest(podConfig({}, { metadata: undefined })), grpc.status.INVALID_ARGUMENT, 'config.metadata is required'],
    ['an unknown runtime handler', () => runRequest(podConfig(), 'kata'), grpc.status.INVALID_ARGUMENT, 'runtime_handler "kata" is not configured'],
    ['a node-wide sysctl', () => {
      const c = podConfig();
      c.linux!.sysctls = { 'vm.swappiness': '10' };
      return runRequest(c);
    }, grpc.status.INVALID_ARGUMENT, 'config.linux.sysctls["vm.swappiness"] is not a namespaced sysctl'],
    ['a net sysctl with the host network', () => {
      const c = podConfig({ hostNetwork: true });
      c.linux!.sysctls = { 'net.ipv4.tcp_syncookies': '0' };
      return runRequest(c);
    }, grpc.status.INVALID_ARGUMENT, "needs the pod's own net namespace"],
    ['a bad DNS server', () => runRequest(podConfig({}, { dnsConfig: { servers: ['not-an-ip'], searches: [], options: [] } })), grpc.status.INVALID_ARGUMENT, 'config.dns_config.servers[0]'],
  ];
  test.each(cases)('%s', async (_what, req, code, message) => {
    const before = (await rt().listPodSandbox({ filter: undefined })).items.length;
    const nsBefore = readdirSync(join(k.state, 'ns')).length;
    await expect(rt().runPodSandbox(req())).rejects.toMatchObject({ code, details: expect.stringContaining(message) });
    expect((await rt().listPodSandbox({ filter: undefined })).items.length).toBe(before);
    expect(readdirSync(join(k.state, 'ns')).length).toBe(nsBefore);
  });

  test('a sysctl the kernel does not have fails the run and undoes it', async () => {
    const c = podConfig();
    c.linux!.sysctls = { 'net.ipv4.no_such_sysctl': '1' };
    await expect(rt().runPodSandbox(runRequest(c))).rejects.toMatchObject({ code: grpc.status.INVALID_ARGUMENT, details: expect.stringContaining('sysctls could not be set') });
    expect((await rt().listPodSandbox({ filter: undefined })).items.filter((p) => p.metadata!.name === c.metadata!.name)).toEqual([]);
    expect(readdirSync(join(k.state, 'ns'))).toEqual([]);
    expect(readdirSync(join(k.root, 'cni', 'results'))).toEqual([]);
  });
});

test('UpdateRuntimeConfig: the pod CIDR is used for new pods, also after pods on the old subnet, and survives a restart', async () => {
  // A krilld of its own (its bridge and subnet are its own).
  const own = await startKrilld();
  const run = async (): Promise<{ id: string; ip: string }> => {
    const id = (await own.client.runtime.runPodSandbox(runRequest(podConfig()))).podSandboxId;
    const { status } = await own.client.runtime.podSandboxStatus({ podSandboxId: id, verbose: false });
    return { id, ip: status!.network!.ip };
  };
  const remove = async (id: string): Promise<void> => {
    await own.client.runtime.stopPodSandbox({ podSandboxId: id });
    await own.client.runtime.removePodSandbox({ podSandboxId: id });
  };
  try {
    // outside the harness's 10.200-254 range, so no other test krilld uses it
    const prefix = `10.199.${randomInt(256)}`;
    await expect(own.client.runtime.updateRuntimeConfig({ runtimeConfig: { networkConfig: { podCidr: 'bogus' } } })).rejects.toMatchObject({
      code: grpc.status.INVALID_ARGUMENT,
      details: expect.stringContaining('runtime_config.network_config.pod_cidr'),
    });
    // A pod before kubelet sends the CIDR (as on a node whose first pods start before it has one).
    const before = await run();
    expect(before.ip.startsWith(`${prefix}.`)).toBe(false);
    await own.client.runtime.updateRuntimeConfig({ runtimeConfig: { networkConfig: { podCidr: `${prefix}.0/24` } } });
    // While it runs, the bridge keeps its subnet: new pods still get addresses (the plugin refused them before).
    const meanwhile = await run();
    expect(meanwhile.ip.startsWith(`${prefix}.`)).toBe(false);
    await remove(before.id);
    await remove(meanwhile.id);
    // Once the bridge is idle, the pod CIDR is in force.
    const after = await run();
    expect(after.ip.startsWith(`${prefix}.`)).toBe(true);
    await remove(after.id);
    await own.restart();
    const restarted = await run();
    expect(restarted.ip.startsWith(`${prefix}.`)).toBe(true);
    await remove(restarted.id);
  } finally {
    await removeAllPods(own.client);
    await own.cleanup();
  }
});

test('Status reports the network ready (the embedded default is usable)', async () => {
  const s = await rt().status({ verbose: false });
  expect(s.status!.conditions.find((c) => c.type === 'NetworkReady')).toMatchObject({ status: true });
});
