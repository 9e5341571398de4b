// A pod that shares one pid namespace: its infra process (catatonit -P, run
// by conmon + runc) is pid 1 of that namespace, sits in the pod's pinned
// namespaces and cgroup, and lives and dies with the pod.
import { execFileSync } from 'node:child_process';
import { randomInt } from 'node:crypto';
import { existsSync, readFileSync, readlinkSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { NamespaceMode, PodSandboxState } from '../api/runtime/v1/api';
import { startKrilld, type Krilld } from './harness/krilld';
import { podConfig, podInfo, runRequest, removeAllPods } from './harness/pods';

let k: Krilld;
beforeAll(async () => {
  k = await startKrilld();
});
afterAll(async () => {
  await removeAllPods(k.client);
  await k.cleanup();
});

const nsIno = (path: string): number => statSync(path).ino;

test('the infra process holds the pod pid namespace inside the pod namespaces and cgroup', async () => {
  const id = (await k.client.runtime.runPodSandbox(runRequest(podConfig({ sharePid: true })))).podSandboxId;
  try {
    const info = await podInfo(k.client, id);
    const pid = info.infra!.pid;
    // runc start returns once it has told its init to exec; the exec itself follows.
    for (let i = 0; i < 100 && readFileSync(`/proc/${pid}/comm`, 'utf8').trim() !== 'catatonit'; i++) await new Promise((r) => setTimeout(r, 10));
    expect(readFileSync(`/proc/${pid}/comm`, 'utf8').trim()).toBe('catatonit');
    expect(readlinkSync(`/proc/${pid}/ns/pid`)).not.toBe(readlinkSync('/proc/self/ns/pid'));
    // pid 1 of its namespace
    expect(readFileSync(`/proc/${pid}/status`, 'utf8')).toMatch(/^NSpid:\s+\d+\s+1$/m);
    expect(statSync(`/proc/${pid}/ns/net`).ino).toBe(nsIno(info.namespaces.network!));
    expect(statSync(`/proc/${pid}/ns/ipc`).ino).toBe(nsIno(info.namespaces.ipc!));
    expect(statSync(`/proc/${pid}/ns/uts`).ino).toBe(nsIno(info.namespaces.uts!));
    expect(readFileSync(`/proc/${pid}/cgroup`, 'utf8')).toContain(`:memory:${info.cgroupPath}/krill-${id}`);
    // what it asked for (-998) clamped to krilld's own
    expect(Number(readFileSync(`/proc/${pid}/oom_score_adj`, 'utf8'))).toBe(Number(readFileSync(`/proc/${k.pid()}/oom_score_adj`, 'utf8')));
    const { status } = await k.client.runtime.podSandboxStatus({ podSandboxId: id, verbose: false });
    expect(status!.linux!.namespaces!.options!.pid).toBe(0); // POD
    const { stats } = await k.client.runtime.podSandboxStats({ podSandboxId: id });
    expect(stats!.linux!.process!.processCount!.value).toBe(1n);

    // krilld restarts; the infra process does not
    await k.restart();
    expect((await k.client.runtime.podSandboxStatus({ podSandboxId: id, verbose: false })).status!.state).toBe(PodSandboxState.SANDBOX_READY);
    expect(existsSync(`/proc/${pid}`)).toBe(true);

    await k.client.runtime.stopPodSandbox({ podSandboxId: id });
    expect(existsSync(`/proc/${pid}`) && !/\) Z /.test(readFileSync(`/proc/${pid}/stat`, 'utf8'))).toBe(false);
    expect((await podInfo(k.client, id)).infra).toBeUndefined();
    await k.client.runtime.removePodSandbox({ podSandboxId: id });
    expect(existsSync(join(info.paths.runDir, 'infra'))).toBe(false);
  } finally {
    await k.client.runtime.removePodSandbox({ podSandboxId: id });
  }
});

test('a pod whose infra process died is NOTREADY and still removes cleanly', async () => {
  const id = (await k.client.runtime.runPodSandbox(runRequest(podConfig({ sharePid: true })))).podSandboxId;
  const info = await podInfo(k.client, id);
  process.kill(info.infra!.pid, 'SIGKILL');
  for (let i = 0; i < 100 && existsSync(`/proc/${info.infra!.pid}`); i++) await new Promise((r) => setTimeout(r, 20));
  expect((await k.client.runtime.podSandboxStatus({ podSandboxId: id, verbose: false })).status!.state).toBe(PodSandboxState.SANDBOX_NOTREADY);
  await k.client.runtime.stopPodSandbox({ podSandboxId: id });
  await k.client.runtime.removePodSandbox({ podSandboxId: id });
  expect((await k.client.runtime.listPodSandbox({ filter: undefined })).items).toEqual([]);
});

test('a pod with its own user namespace: pinned with its ID maps, owning the other namespaces; the infra runs mapped', async () => {
  const config = podConfig({ sharePid: true });
  const maps = [{ hostId: 300000 + randomInt(1000) * 65536, containerId: 0, length: 65536 }];
  config.linux!.securityContext!.namespaceOptions!.usernsOptions = { mode: NamespaceMode.POD, uids: maps, gids: maps };
  const id = (await k.client.runtime.runPodSandbox(runRequest(config))).podSandboxId;
  try {
    const info = await podInfo(k.client, id);
    const user = info.namespaces.user!;
    expect(execFileSync('nsenter', [`--user=${user}`, 'cat', '/proc/self/uid_map'], { encoding: 'utf8' }).trim().split(/\s+/)).toEqual(['0', String(maps[0]!.hostId), '65536']);
    const owners = JSON.parse(execFileSync('lsns', ['-J', '-t', 'net', '-o', 'NS,ONS,NSFS'], { encoding: 'utf8' })) as { namespaces: { ons: number; nsfs: string | null }[] };
    expect(owners.namespaces.find((n) => n.nsfs === info.namespaces.network)?.ons).toBe(nsIno(user));
    const pid = info.infra!.pid;
    expect(statSync(`/proc/${pid}/ns/user`).ino).toBe(nsIno(user));
    expect(statSync(`/proc/${pid}`).uid).toBe(maps[0]!.hostId);
    const { status } = await k.client.runtime.podSandboxStatus({ podSandboxId: id, verbose: false });
    expect(status!.linux!.namespaces!.options!.usernsOptions).toMatchObject({ mode: NamespaceMode.POD, uids: maps, gids: maps });
  } finally {
    await k.client.runtime.stopPodSandbox({ podSandboxId: id });
    await k.client.runtime.removePodSandbox({ podSandboxId: id });
  }
});
