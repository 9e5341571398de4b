// Runtime handlers (RuntimeClass): the same container under runc and crun,
// each run by its own binary with its own state root; Status lists both with
// their features. Then the crictl commands a node admin uses, driven through
// the real crictl binary (test/harness/crictl.ts finds it).
import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ContainerState, SecurityProfile_ProfileType } from '../api/runtime/v1/api';
import { testImage, waitExited } from './harness/containers';
import { containerFixture, type ContainerFixture } from './harness/ctr_fixture';
import { uniqueName } from './harness/pods';
import { CRICTL, crictlTest } from './harness/crictl';

const BUSYBOX = testImage('layered');
const run = promisify(execFile);

let f: ContainerFixture;

beforeAll(async () => {
  f = await containerFixture('ctr-rt', [BUSYBOX]);
});

afterAll(async () => {
  await f?.cleanup();
});

test('Status lists both handlers with their features', async () => {
  const st = await f.client.runtime.status({ verbose: false });
  const names = st.runtimeHandlers.map((h) => h.name);
  expect(names).toEqual(expect.arrayContaining(['', 'runc', 'crun']));
  for (const h of st.runtimeHandlers) expect(h.features).toBeDefined();
  expect(st.features?.supplementalGroupsPolicy).toBe(true);
});

describe.each(['runc', 'crun'])('the %s handler', (handler) => {
  test('runs a container through its life with its own binary and state root', async () => {
    const pod = await f.pod({ handler });
    const id = await pod.start(`main-${handler}`, BUSYBOX, {
      command: ['sh', '-c', 'echo started; grep ^Seccomp: /proc/self/status; exec sleep 3600'],
      linux: { securityContext: { seccomp: { profileType: SecurityProfile_ProfileType.RuntimeDefault, localhostRef: '' } } },
    });
    const info = await pod.info(id);
    expect(info.runtimeHandler).toBe(handler);
    // The handler's own binary keeps the container in the handler's own root.
    const { stdout } = await run(`/usr/bin/${handler}`, ['--root', join(f.k.state, 'runtime', handler), 'state', id]);
    expect(JSON.parse(stdout)).toMatchObject({ id, status: 'running', pid: info.pid });
    expect((await pod.exec(id, ['sh', '-c', 'echo $((6*7))'])).stdout).toBe('42\n');
    const stats = (await f.client.runtime.containerStats({ containerId: id })).stats!;
    expect(stats.memory!.workingSetBytes!.value).toBeGreaterThan(0n);
    await f.client.runtime.stopContainer({ containerId: id, timeout: 1n });
    const s = await pod.status(id);
    // sleep as pid 1 ignores SIGTERM (no handler), so Stop ends in SIGKILL.
    expect(s).toMatchObject({ state: ContainerState.CONTAINER_EXITED, exitCode: 137 });
    expect(readFileSync(s.logPath, 'utf8')).toMatch(/ stdout F started\n.* stdout F Seccomp:\t2\n$/);
    await f.client.runtime.removeContainer({ containerId: id });
    await expect(run(`/usr/bin/${handler}`, ['--root', join(f.k.state, 'runtime', handler), 'state', id])).rejects.toThrow();
  });

  test('a memory limit OOM-kills with reason OOMKilled', async () => {
    const pod = await f.pod({ handler });
    const r = await pod.sh(`oom-${handler}`, BUSYBOX, 'tail /dev/zero', { linux: { resources: { memoryLimitInBytes: 32n * 1024n * 1024n } } });
    expect(r.status).toMatchObject({ exitCode: 137, reason: 'OOMKilled' });
  });

  test('a command that does not exist fails with the runtime message and leaves nothing', async () => {
    const pod = await f.pod({ handler });
    const before = (await f.client.runtime.listContainers({ filter: undefined })).containers.length;
    let id: string | undefined;
    let message = '';
    try {
      // Whichever step the runtime reports it in: create (runc) or start.
      id = await pod.create(`nocmd-${handler}`, BUSYBOX, { command: ['/no/such/command'] });
      await f.client.runtime.startContainer({ containerId: id });
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toMatch(/no such file or directory|not found/i);
    if (id) {
      const s = await waitExited(f.client, id);
      expect(s.exitCode).not.toBe(0);
      expect(s.message).toMatch(/no such file or directory|not found/i);
      await f.client.runtime.removeContainer({ containerId: id });
    }
    expect((await f.client.runtime.listContainers({ filter: undefined })).containers.length).toBe(before);
  });
});

// ---------------------------------------------------------------- crictl

async function crictl(...args: string[]): Promise<string> {
  const endpoint = `unix://${f.k.socket}`;
  const { stdout } = await run(CRICTL, ['--runtime-endpoint', endpoint, '--image-endpoint', endpoint, '--timeout', '30s', ...args], {
    env: { ...process.env, CRI_CONFIG_FILE: '/dev/null' },
  });
  return stdout;
}

async function eventually(what: string, fn: () => Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await fn())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe.each(['runc', 'crun'])('crictl on the %s handler', (handler) => {
  crictlTest('runp, create, start, ps, inspect, logs, exec, stats, update, stop, rm, stopp, rmp', async () => {
    const name = uniqueName(`crictl-${handler}`);
    const dir = join(f.k.dir, name);
    const logDir = join(dir, 'logs');
    const podJson = join(`${dir}-pod.json`);
    const ctrJson = join(`${dir}-ctr.json`);
    writeFileSync(
      podJson,
      JSON.stringify({
        metadata: { name, namespace: 'krill-test', uid: `uid-${name}`, attempt: 0 },
        hostname: name,
        log_directory: logDir,
        linux: { cgroup_parent: `${f.cgroupParent}/${name}`, security_context: { namespace_options: { pid: 1 } } },
      }),
    );
    // Five lines, then a wait for /tmp/go, then one more line.
    const script = 'for i in 1 2 3 4 5; do echo line-$i; done; while [ ! -e /tmp/go ]; do sleep 0.05; done; echo late; exec sleep 3600';
    writeFileSync(ctrJson, JSON.stringify({ metadata: { name: 'main' }, image: { image: BUSYBOX }, command: ['sh', '-c', script], log_path: 'main.log', labels: { tool: 'crictl' } }));

    const podId = (await crictl('runp', '--runtime', handler, podJson)).trim();
    f.adopt(podId);
    const id = (await crictl('create', podId, ctrJson, podJson)).trim();
    expect(id).toMatch(/^[0-9a-f]{64}$/);
    await crictl('start', id);

    const ps = JSON.parse(await crictl('ps', '-o', 'json', '--pod', podId)) as { containers: { id: string; state: string; labels: Record<string, string> }[] };
    expect(ps.containers).toEqual([expect.objectContaining({ id, state: 'CONTAINER_RUNNING', labels: expect.objectContaining({ tool: 'crictl' }) })]);
    const inspect = JSON.parse(await crictl('inspect', id)) as { status: { state: string; logPath: string }; info: { runtimeHandler?: string; info?: { runtimeHandler: string } } };
    expect(inspect.status.state).toBe('CONTAINER_RUNNING');
    expect(inspect.info.runtimeHandler ?? inspect.info.info?.runtimeHandler).toBe(handler);

    await eventually('the first lines in the log', async () => (await crictl('logs', id)) === 'line-1\nline-2\nline-3\nline-4\nline-5\n');
    expect(await crictl('logs', '--tail', '2', id)).toBe('line-4\nline-5\n');
    // Logs since the next whole second after the first lines, and before the last one.
    const sinceMs = Math.ceil((Date.now() + 1) / 1000) * 1000;
    const since = new Date(sinceMs).toISOString().replace(/\.000Z$/, 'Z');
    await new Promise((r) => setTimeout(r, sinceMs + 100 - Date.now()));
    await crictl('exec', '-s', id, 'touch', '/tmp/go');
    await eventually('the last line in the log', async () => (await crictl('logs', '--tail', '1', id)) === 'late\n');
    expect(await crictl('logs', '--since', since, id)).toBe('late\n');
    // crictl adds blank lines of its own after the output.
    expect((await crictl('exec', '-s', id, 'sh', '-c', 'echo $((6*7))')).trimEnd()).toBe('42');

    const stats = JSON.parse(await crictl('stats', '-o', 'json', '--id', id)) as { stats: { attributes: { id: string }; memory: { workingSetBytes: { value: string } } }[] };
    expect(stats.stats).toEqual([expect.objectContaining({ attributes: expect.objectContaining({ id }) })]);
    expect(Number(stats.stats[0]!.memory.workingSetBytes.value)).toBeGreaterThan(0);

    await crictl('update', '--cpu-period', '100000', '--cpu-quota', '30000', '--memory', String(128 * 1024 * 1024), id);
    const { cgroup } = JSON.parse((await f.client.runtime.containerStatus({ containerId: id, verbose: true })).info.info!) as { cgroup: string };
    expect(readFileSync(join('/sys/fs/cgroup/cpu', cgroup, 'cpu.cfs_quota_us'), 'utf8').trim()).toBe('30000');
    expect(readFileSync(join('/sys/fs/cgroup/memory', cgroup, 'memory.limit_in_bytes'), 'utf8').trim()).toBe(String(128 * 1024 * 1024));
    const updated = JSON.parse(await crictl('inspect', id)) as { status: { resources?: { linux?: { cpuQuota?: string | number } } } };
    expect(String(updated.status.resources?.linux?.cpuQuota)).toBe('30000');

    await crictl('stop', '--timeout', '1', id);
    expect(JSON.parse(await crictl('inspect', id)).status.state).toBe('CONTAINER_EXITED');
    await crictl('rm', id);
    expect(JSON.parse(await crictl('ps', '-a', '-o', 'json', '--pod', podId)).containers).toEqual([]);
    await crictl('stopp', podId);
    await crictl('rmp', podId);
    expect(JSON.parse(await crictl('pods', '-o', 'json', '--id', podId)).items).toEqual([]);
  });
});
