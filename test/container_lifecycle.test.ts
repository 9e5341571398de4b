// Containers through their life over CRI: create, start, status, logs,
// ExecSync, stop, remove, failure cleanup, idempotence, and survival of a
// krilld crash.
import { existsSync, mkdirSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ContainerState, Signal } from '../api/runtime/v1/api';
import { grpc } from '../pkg/criclient/client';
import { containerConfig, pull, readLog, startContainerKrilld, status, testImage, waitExited } from './harness/containers';
import { until, type Krilld } from './harness/krilld';
import { podConfig, runRequest } from './harness/pods';
import { removeTestCgroups } from './harness/cgroups';
import { testCgroupParent } from './harness/paths';

const BUSYBOX = testImage('layered');

let k: Krilld;
let podId: string;
let logDir: string;
const cgroupParent = testCgroupParent('ctr-lifecycle');

beforeAll(async () => {
  k = await startContainerKrilld();
  await pull(k.client, BUSYBOX);
  logDir = join(k.dir, 'pod-logs');
  mkdirSync(logDir);
  const cfg = podConfig({ cgroupParent }, { logDirectory: logDir });
  podId = (await k.client.runtime.runPodSandbox(runRequest(cfg))).podSandboxId;
});

afterAll(async () => {
  if (podId) {
    await k.client.runtime.stopPodSandbox({ podSandboxId: podId });
    await k.client.runtime.removePodSandbox({ podSandboxId: podId });
  }
  await k.cleanup();
  removeTestCgroups(cgroupParent);
});

/** A host directory for a container to see at /signal (removed with krilld's directory). */
function signalDir(): string {
  return mkdtempSync(join(k.dir, 'signal-'));
}

async function create(name: string, extra: Parameters<typeof containerConfig>[2] = {}): Promise<string> {
  const pod = (await k.client.runtime.podSandboxStatus({ podSandboxId: podId, verbose: false })).status!;
  const sandboxConfig = podConfig({ name: pod.metadata!.name, cgroupParent }, { logDirectory: logDir });
  sandboxConfig.metadata = pod.metadata;
  const r = await k.client.runtime.createContainer({ podSandboxId: podId, config: containerConfig(name, BUSYBOX, { logPath: `${name}.log`, ...extra }), sandboxConfig });
  return r.containerId;
}

test('the image default command runs with its env and working dir, and its output is logged', async () => {
  const id = await create('defaults');
  expect((await status(k.client, id)).state).toBe(ContainerState.CONTAINER_CREATED);
  await k.client.runtime.startContainer({ containerId: id });
  const s = await waitExited(k.client, id);
  expect(s).toMatchObject({ exitCode: 0, reason: 'Completed' });
  expect(s.startedAt).toBeGreaterThan(0n);
  expect(s.finishedAt).toBeGreaterThanOrEqual(s.startedAt);
  expect(s.logPath).toBe(join(logDir, 'defaults.log'));
  expect(readLog(s.logPath).stdout).toBe('hello\n');
  await k.client.runtime.removeContainer({ containerId: id });
});

test('a command that fails reports its exit code, reason and stderr', async () => {
  const id = await create('fails', { command: ['sh', '-c', 'echo "in $(pwd) with FOO=$FOO" >&2; exit 3'] });
  await k.client.runtime.startContainer({ containerId: id });
  const s = await waitExited(k.client, id);
  expect(s).toMatchObject({ exitCode: 3, reason: 'Error' });
  expect(readLog(s.logPath).stderr).toBe('in /work with FOO=bar\n');
  await k.client.runtime.removeContainer({ containerId: id });
});

describe('a long-running container', () => {
  let id: string;
  beforeAll(async () => {
    id = await create('sleeper', { command: ['sleep', '3600'], labels: { role: 'sleeper' } });
    await k.client.runtime.startContainer({ containerId: id });
  });

  test('is RUNNING, listed, and filterable', async () => {
    expect((await status(k.client, id)).state).toBe(ContainerState.CONTAINER_RUNNING);
    const all = await k.client.runtime.listContainers({ filter: undefined });
    expect(all.containers.map((c) => c.id)).toContain(id);
    const byLabel = await k.client.runtime.listContainers({ filter: { id: '', state: undefined, podSandboxId: '', labelSelector: { role: 'sleeper' } } });
    expect(byLabel.containers.map((c) => c.id)).toEqual([id]);
    const byPrefix = await k.client.runtime.listContainers({ filter: { id: id.slice(0, 8), state: undefined, podSandboxId: podId.slice(0, 6), labelSelector: {} } });
    expect(byPrefix.containers.map((c) => c.id)).toEqual([id]);
    const exited = await k.client.runtime.listContainers({ filter: { id: '', state: { state: ContainerState.CONTAINER_EXITED }, podSandboxId: '', labelSelector: {} } });
    expect(exited.containers.map((c) => c.id)).not.toContain(id);
  });

  test('ExecSync runs in it', async () => {
    const r = await k.client.runtime.execSync({ containerId: id, cmd: ['sh', '-c', 'echo $FOO; pwd; exit 2'], timeout: 10n });
    expect(r.stdout.toString()).toBe('bar\n/work\n');
    expect(r.exitCode).toBe(2);
  });

  test('ExecSync past its timeout is DeadlineExceeded', async () => {
    await expect(k.client.runtime.execSync({ containerId: id, cmd: ['sleep', '20'], timeout: 1n })).rejects.toMatchObject({ code: grpc.status.DEADLINE_EXCEEDED });
  });

  test('stats come from its cgroup', async () => {
    const { stats } = await k.client.runtime.containerStats({ containerId: id });
    expect(stats!.attributes!.id).toBe(id);
    expect(stats!.memory!.workingSetBytes!.value).toBeGreaterThan(0n);
    expect(stats!.cpu!.usageCoreNanoSeconds!.value).toBeGreaterThan(0n);
    expect(stats!.writableLayer).toBeDefined();
  });

  test('verbose status carries the OCI spec and pid', async () => {
    const r = await k.client.runtime.containerStatus({ containerId: id, verbose: true });
    const info = JSON.parse(r.info.info!) as { pid: number; runtimeSpec: { process: { args: string[] } } };
    expect(info.pid).toBeGreaterThan(0);
    expect(info.runtimeSpec.process.args).toEqual(['sleep', '3600']);
  });

  test('stop kills it after the timeout, and a second stop is fine', async () => {
    await k.client.runtime.stopContainer({ containerId: id, timeout: 1n });
    const s = await status(k.client, id);
    expect(s.state).toBe(ContainerState.CONTAINER_EXITED);
    expect(s.exitCode).toBe(137);
    await k.client.runtime.stopContainer({ containerId: id, timeout: 1n });
    await expect(k.client.runtime.execSync({ containerId: id, cmd: ['true'], timeout: 5n })).rejects.toMatchObject({ code: grpc.status.FAILED_PRECONDITION });
  });

  test('remove forgets it; a second remove is fine', async () => {
    await k.client.runtime.removeContainer({ containerId: id });
    await expect(status(k.client, id)).rejects.toMatchObject({ code: grpc.status.NOT_FOUND });
    await k.client.runtime.removeContainer({ containerId: id });
  });
});

test('a stop with a shorter grace period kills a container that another stop is still waiting on', async () => {
  // The shell ignores the stop signal (the image's SIGQUIT; TERM too) so the first stop would wait out its 120 s,
  // but says it got it: from then on that stop is waiting.
  const signal = signalDir();
  const id = await create('stop-shortened', { command: ['sh', '-c', 'trap "echo > /signal/got-signal" QUIT TERM; while true; do sleep 1; done'], mounts: [{ containerPath: '/signal', hostPath: signal }] });
  await k.client.runtime.startContainer({ containerId: id });
  const slow = k.client.runtime.stopContainer({ containerId: id, timeout: 120n });
  await until('the first stop to signal the container', () => existsSync(join(signal, 'got-signal')));
  await k.client.runtime.stopContainer({ containerId: id, timeout: 0n });
  await slow;
  await until('the log line of the shortened stop', () => k.logs().some((l) => l.msg === 'a stop with a longer grace period is in flight: killing the container now' && l.container_id === id));
  const s = await status(k.client, id);
  expect(s.state).toBe(ContainerState.CONTAINER_EXITED);
  expect(s.exitCode).toBe(137);
  await k.client.runtime.removeContainer({ containerId: id });
}, 30_000);

test('a running container is removed directly (killed first)', async () => {
  const id = await create('rm-running', { command: ['sleep', '3600'] });
  await k.client.runtime.startContainer({ containerId: id });
  await k.client.runtime.removeContainer({ containerId: id });
  await expect(status(k.client, id)).rejects.toMatchObject({ code: grpc.status.NOT_FOUND });
});

test('a command that does not exist fails CreateContainer with the runtime message and leaves nothing', async () => {
  const before = (await k.client.runtime.listContainers({ filter: undefined })).containers.length;
  const err = await create('nocmd', { command: ['/no/such/command'] }).catch((e: unknown) => e as grpc.ServiceError);
  expect((err as grpc.ServiceError).details).toMatch(/no such file or directory|not found/i);
  expect((await k.client.runtime.listContainers({ filter: undefined })).containers.length).toBe(before);
});

test('bad requests are InvalidArgument or NotFound and change nothing', async () => {
  await expect(create('', {})).rejects.toMatchObject({ code: grpc.status.INVALID_ARGUMENT });
  await expect(create('badlog', { logPath: '../../escape.log' })).rejects.toMatchObject({ code: grpc.status.INVALID_ARGUMENT });
  await expect(create('badmount', { mounts: [{ containerPath: '/x', hostPath: '/no/such/host/path' }] })).rejects.toMatchObject({ code: grpc.status.INVALID_ARGUMENT });
  await expect(create('noimage', { image: { image: `${BUSYBOX}-missing` } })).rejects.toMatchObject({ code: grpc.status.NOT_FOUND });
  await expect(k.client.runtime.createContainer({ podSandboxId: 'nope', config: containerConfig('x', BUSYBOX), sandboxConfig: undefined })).rejects.toMatchObject({ code: grpc.status.NOT_FOUND });
  await expect(k.client.runtime.startContainer({ containerId: 'nope' })).rejects.toMatchObject({ code: grpc.status.NOT_FOUND });
  expect((await k.client.runtime.listContainers({ filter: undefined })).containers.filter((c) => c.metadata!.name.startsWith('bad'))).toEqual([]);
});

test('ContainerConfig.stop_signal is what StopContainer sends, and ContainerStatus reports it', async () => {
  const id = await create('usr1', { command: ['sh', '-c', 'trap "exit 7" USR1; while :; do sleep 0.1; done'], stopSignal: Signal.SIGNAL_SIGUSR1 });
  await k.client.runtime.startContainer({ containerId: id });
  expect((await status(k.client, id)).stopSignal).toBe(Signal.SIGNAL_SIGUSR1);
  await k.client.runtime.stopContainer({ containerId: id, timeout: 30n });
  const s = await status(k.client, id);
  expect(s.exitCode).toBe(7);
  await k.client.runtime.removeContainer({ containerId: id });
});

test('the Stream calls of CRI 1.37 return what the List calls do', async () => {
  const collect = <T>(call: NodeJS.EventEmitter): Promise<T[]> =>
    new Promise((resolve, reject) => {
      const got: T[] = [];
      call.on('data', (r: T) => got.push(r));
      call.on('error', reject);
      call.on('end', () => resolve(got));
    });
  const id = await create('streamed', { command: ['sleep', '3600'] });
  const ids = (xs: { id: string }[]): string[] => xs.map((x) => x.id).sort();
  const containers = (await collect<{ containers: { id: string }[] }>(k.client.runtime.streamContainers({ filter: undefined }) as NodeJS.EventEmitter)).flatMap((r) => r.containers);
  expect(ids(containers)).toEqual(ids((await k.client.runtime.listContainers({ filter: undefined })).containers));
  expect(ids(containers)).toContain(id);
  const pods = (await collect<{ podSandboxes: { id: string }[] }>(k.client.runtime.streamPodSandboxes({ filter: undefined }) as NodeJS.EventEmitter)).flatMap((r) => r.podSandboxes);
  expect(ids(pods)).toEqual([podId]);
  const images = (await collect<{ images: { id: string }[] }>(k.client.image.streamImages({ filter: undefined }) as NodeJS.EventEmitter)).flatMap((r) => r.images);
  expect(ids(images)).toEqual(ids((await k.client.image.listImages({ filter: undefined })).images));
  const podMetrics = (await collect<{ podSandboxMetrics: { podSandboxId: string }[] }>(k.client.runtime.streamPodSandboxMetrics({}) as NodeJS.EventEmitter)).flatMap((r) => r.podSandboxMetrics);
  expect(podMetrics.map((p) => p.podSandboxId)).toEqual((await k.client.runtime.listPodSandboxMetrics({})).podMetrics.map((p) => p.podSandboxId));
  expect(podMetrics.map((p) => p.podSandboxId)).toEqual([podId]);
  await k.client.runtime.removeContainer({ containerId: id });
});

test('stop and remove of unknown IDs succeed', async () => {
  await k.client.runtime.stopContainer({ containerId: 'f'.repeat(64), timeout: 0n });
  await k.client.runtime.removeContainer({ containerId: 'f'.repeat(64) });
});

test('the same name in the same pod is refused with the existing ID', async () => {
  const id = await create('unique', { command: ['true'] });
  await expect(create('unique', { command: ['true'] })).rejects.toMatchObject({ code: grpc.status.ALREADY_EXISTS, details: expect.stringContaining(id) });
  await k.client.runtime.removeContainer({ containerId: id });
});

test('10 containers survive kill -9 of krilld; one that exits meanwhile shows its real exit and log', async () => {
  const running = await Promise.all(Array.from({ length: 9 }, (_, i) => create(`survivor-${i}`, { command: ['sh', '-c', `echo up-${i}; exec sleep 3600`] })));
  // It exits when the test says so (a file in a host directory), once krilld is down.
  const signal = signalDir();
  const short = await create('exits-while-down', { command: ['sh', '-c', 'while [ ! -e /signal/go ]; do sleep 1; done; echo done; exit 7'], mounts: [{ containerPath: '/signal', hostPath: signal }] });
  for (const id of [...running, short]) await k.client.runtime.startContainer({ containerId: id });
  await k.kill9();
  writeFileSync(join(signal, 'go'), '');
  await until('conmon to record the exit while krilld is down', () => existsSync(join(k.state, 'exits', short)));
  await k.restart();
  const listed = new Map((await k.client.runtime.listContainers({ filter: undefined })).containers.map((c) => [c.id, c]));
  for (const id of running) expect(listed.get(id)?.state).toBe(ContainerState.CONTAINER_RUNNING);
  const s = await status(k.client, short);
  expect(s).toMatchObject({ state: ContainerState.CONTAINER_EXITED, exitCode: 7, reason: 'Error' });
  expect(readLog(s.logPath).stdout).toBe('done\n');
  for (const [i, id] of running.entries()) expect(readLog((await status(k.client, id)).logPath).stdout).toBe(`up-${i}\n`);
  const r = await k.client.runtime.execSync({ containerId: running[0]!, cmd: ['echo', 'still here'], timeout: 5n });
  expect(r.stdout.toString()).toBe('still here\n');
  await Promise.all(running.map((id) => k.client.runtime.stopContainer({ containerId: id, timeout: 0n })));
  for (const id of [...running, short]) await k.client.runtime.removeContainer({ containerId: id });
});

test('a kubelet retry of CreateContainer while the first is in flight gets the same container', async () => {
  const joined = () => k.logs().filter((l) => l.msg === 'joining a CreateContainer already in flight for this name').length;
  const before = joined();
  // A retry arrives while the first create runs; if the first already finished, the retry is told the name's owner.
  // Both are sent at once, so the retry nearly always joins; a loaded machine may need more tries (a deadline, not a count).
  const deadline = Date.now() + 60_000;
  for (let attempt = 0; joined() === before; attempt++) {
    if (Date.now() > deadline) throw new Error(`no retry joined a CreateContainer in flight in ${attempt} attempts`);
    const results = await Promise.allSettled([create(`retried-${attempt}`, { command: ['true'] }), create(`retried-${attempt}`, { command: ['true'] })]);
    const ids = results.map((r) => (r.status === 'fulfilled' ? r.value : /in use by container ([0-9a-f]{64})/.exec(String((r.reason as Error).message))?.[1]));
    expect(ids[0]).toBeDefined();
    expect(ids[1]).toBe(ids[0]);
    await k.client.runtime.removeContainer({ containerId: ids[0]! });
    // The logger writes asynchronously, in order: once the RemoveContainer line is there, a join line of this attempt is too.
    await until('the RemoveContainer line', () => k.logs().some((l) => l.msg === 'container removed' && l.container_id === ids[0]));
  }
  expect(joined()).toBeGreaterThan(before);
});

test('an image removed while a container uses it keeps its layers until the container is removed', async () => {
  const image = testImage('user-uid');
  await pull(k.client, image);
  const layers = (): string[] => readdirSync(join(k.root, 'layers')).filter((n) => /^[0-9a-f]{64}$/.test(n));
  const before = layers();
  const id = await create('holds-layers', { image: { image }, command: ['sleep', '3600'] });
  await k.client.runtime.startContainer({ containerId: id });
  await k.client.image.removeImage({ image: { image, annotations: {}, userSpecifiedImage: '', runtimeHandler: '', imageRef: '' } });
  expect((await k.client.image.imageStatus({ image: { image, annotations: {}, userSpecifiedImage: '', runtimeHandler: '', imageRef: '' }, verbose: false })).image).toBeUndefined();
  expect(layers()).toEqual(before);
  const r = await k.client.runtime.execSync({ containerId: id, cmd: ['id', '-u'], timeout: 5n });
  expect(r.stdout.toString()).toBe('1001\n');
  await k.client.runtime.removeContainer({ containerId: id });
  for (let i = 0; i < 50 && layers().length === before.length; i++) await new Promise((r) => setTimeout(r, 100));
  expect(layers().length).toBeLessThan(before.length);
});
