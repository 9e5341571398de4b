// Pods across krilld restarts: a clean stop and a crash keep every pod with
// its state; a node reboot (the state dir emptied) leaves pods NOTREADY that
// still stop and remove cleanly; a crash in the middle of RunPodSandbox is
// cleaned up at the next start.
import { execFileSync } from 'node:child_process';
import { randomBytes, randomInt } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PodSandboxState } from '../api/runtime/v1/api';
import { startKrilld, until, type Krilld } from './harness/krilld';
import { readMountPointsSync } from '../pkg/storage/mount';
import { testBaseDir } from './harness/paths';
import { dropPodNatRules, podConfig, podInfo, runRequest, removeAllPods } from './harness/pods';

const leases = (k: Krilld): string[] => {
  const dir = join(k.root, 'cni', 'networks', 'krill');
  return existsSync(dir) ? readdirSync(dir).filter((f) => /^\d+\.\d+\.\d+\.\d+$/.test(f)) : [];
};

async function states(k: Krilld): Promise<Record<string, PodSandboxState>> {
  const items = (await k.client.runtime.listPodSandbox({ filter: undefined })).items;
  return Object.fromEntries(items.map((p) => [p.id, p.state]));
}

describe('restarts', () => {
  let k: Krilld;
  beforeAll(async () => {
    k = await startKrilld();
  });
  afterAll(async () => {
    await removeAllPods(k.client);
    await k.cleanup();
  });

  test('after SIGTERM and after kill -9, every pod is listed with its state, IP and namespaces', async () => {
    const ready = (await k.client.runtime.runPodSandbox(runRequest(podConfig()))).podSandboxId;
    const stopped = (await k.client.runtime.runPodSandbox(runRequest(podConfig()))).podSandboxId;
    await k.client.runtime.stopPodSandbox({ podSandboxId: stopped });
    const ip = (await k.client.runtime.podSandboxStatus({ podSandboxId: ready, verbose: false })).status!.network!.ip;
    const want = { [ready]: PodSandboxState.SANDBOX_READY, [stopped]: PodSandboxState.SANDBOX_NOTREADY };

    await k.restart();
    expect(await states(k)).toEqual(want);
    await k.kill9();
    await k.restart();
    expect(await states(k)).toEqual(want);
    expect((await k.client.runtime.podSandboxStatus({ podSandboxId: ready, verbose: false })).status!.network!.ip).toBe(ip);

    // DEL after a restart works from the cached result: the lease goes
    expect(leases(k)).toContain(ip);
    for (const id of [ready, stopped]) {
      await k.client.runtime.stopPodSandbox({ podSandboxId: id });
      await k.client.runtime.removePodSandbox({ podSandboxId: id });
    }
    expect(leases(k)).toEqual([]);
    expect(await states(k)).toEqual({});
  });

  test('a pod whose network broke while krilld was down is NOTREADY after the restart (CNI CHECK)', async () => {
    const healthy = (await k.client.runtime.runPodSandbox(runRequest(podConfig()))).podSandboxId;
    const broken = (await k.client.runtime.runPodSandbox(runRequest(podConfig()))).podSandboxId;
    const info = await podInfo(k.client, broken);
    expect(await k.stop()).toBe(0);
    execFileSync('nsenter', [`--net=${info.namespaces.network}`, 'ip', 'link', 'del', 'eth0']);
    await k.restart();
    // The plugins are asked once krilld serves (the check does not hold the start).
    await until('the broken pod to be NOTREADY', async () => (await states(k))[broken] === PodSandboxState.SANDBOX_NOTREADY);
    await until('the pod networks to be checked', () => k.logs().some((l) => l.msg === 'pod networks checked (CNI CHECK)'));
    expect(await states(k)).toEqual({ [healthy]: PodSandboxState.SANDBOX_READY, [broken]: PodSandboxState.SANDBOX_NOTREADY });
    expect((await podInfo(k.client, broken)).reason).toContain('network: plugin type="bridge" failed (check)');
    for (const id of [healthy, broken]) {
      await k.client.runtime.stopPodSandbox({ podSandboxId: id });
      await k.client.runtime.removePodSandbox({ podSandboxId: id });
    }
    expect(leases(k)).toEqual([]);
    // The bridge plugin (1.1) removes a pod's masquerade rule through its eth0, which this test deleted:
    // the broken pod's rule stays behind on the node (a known plugin limit), so the test removes it.
    dropPodNatRules([broken]);
  });

  test('a node reboot (state dir emptied): pods are NOTREADY and still stop and remove cleanly', async () => {
    const id = (await k.client.runtime.runPodSandbox(runRequest(podConfig()))).podSandboxId;
    const info = await podInfo(k.client, id);
    expect(leases(k)).toHaveLength(1);
    expect(await k.stop()).toBe(0);
    // What a reboot does to the state dir: every mount and file under it is gone
    // (the netns goes with its last reference, and its veth with it).
    const mounted = readMountPointsSync().filter((m) => m.startsWith(`${k.state}/`)).sort((a, b) => b.length - a.length);
    execFileSync('umount', mounted);
    rmSync(k.state, { recursive: true, force: true });
    // and the kernel's iptables are empty again
    dropPodNatRules([id]);

    await k.restart();
    const { status } = await k.client.runtime.podSandboxStatus({ podSandboxId: id, verbose: false });
    expect(status!.state).toBe(PodSandboxState.SANDBOX_NOTREADY);
    expect(status!.network!.ip).toBe('');
    const after = await podInfo(k.client, id);
    expect(after.reason).toContain('gone while krilld was down');

    await k.client.runtime.stopPodSandbox({ podSandboxId: id });
    await k.client.runtime.removePodSandbox({ podSandboxId: id });
    await k.client.runtime.removePodSandbox({ podSandboxId: id });
    expect(leases(k)).toEqual([]);
    expect(await states(k)).toEqual({});
    expect(existsSync(info.paths.dir)).toBe(false);
    expect(existsSync(join('/sys/fs/cgroup/memory', info.cgroupPath))).toBe(false);
  });
});

test('krilld killed in the middle of RunPodSandbox: the next start cleans the half-made pod up', async () => {
  const dir = mkdtempSync(join(testBaseDir(), 'crash-'));
  const confDir = join(dir, 'net.d');
  const binDir = join(dir, 'bin');
  mkdirSync(confDir);
  mkdirSync(binDir);
  const pids = join(dir, 'pids');
  // Hangs on ADD until told to go (the file "go" exists), remembering its pids for the test to clean up.
  writeFileSync(
    join(binDir, 'krill-test-slow'),
    `#!/bin/sh\ncat >/dev/null\nif [ "$CNI_COMMAND" = ADD ] && [ ! -e ${dir}/go ]; then echo $$ >> ${pids}; sleep 300 & echo $! >> ${pids}; wait; fi\necho '{"cniVersion":"1.0.0"}'\n`,
  );
  chmodSync(join(binDir, 'krill-test-slow'), 0o755);
  const k = await startKrilld({ isolatedNetwork: false, config: '' });
  const bridge = `kc${randomBytes(3).toString('hex')}`;
  const subnet = `10.198.${randomInt(256)}.0/24`;
  writeFileSync(
    join(confDir, '10-slow.conflist'),
    JSON.stringify({
      cniVersion: '1.0.0',
      name: 'slow',
      plugins: [
        { type: 'bridge', bridge, isGateway: true, ipam: { type: 'host-local', ranges: [[{ subnet }]], dataDir: join(dir, 'leases') } },
        { type: 'krill-test-slow' },
      ],
    }),
  );
  try {
    writeFileSync(k.configFile, `[network]\ncni_conf_dir = "${confDir}"\ncni_bin_dirs = ["${binDir}", "/usr/lib/cni"]\nplugin_timeout = "60s"\n`);
    await k.restart();
    const pending = k.client.runtime.runPodSandbox(runRequest(podConfig())).catch((err: unknown) => err);
    for (let i = 0; i < 200 && !existsSync(pids); i++) await new Promise((r) => setTimeout(r, 50));
    expect(existsSync(pids)).toBe(true);
    const nsDirs = readdirSync(join(k.state, 'ns'));
    expect(nsDirs).toHaveLength(1);
    const leaseDir = join(dir, 'leases', 'slow');
    expect(readdirSync(leaseDir).filter((f) => /^\d/.test(f))).toHaveLength(1);

    await k.kill9();
    await pending;
    // The plugin was krilld's child; with krilld gone it is ours to stop.
    for (const pid of readFileSync(pids, 'utf8').trim().split('\n').map(Number)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone
      }
    }
    writeFileSync(join(dir, 'go'), '');
    await k.restart();

    expect(await states(k)).toEqual({});
    expect(readdirSync(join(k.state, 'ns'))).toEqual([]);
    expect(readdirSync(join(k.root, 'pods'))).toEqual([]);
    expect(readdirSync(join(k.root, 'cni', 'results'))).toEqual([]);
    expect(readdirSync(leaseDir).filter((f) => /^\d/.test(f))).toEqual([]);
    expect(execFileSync('ip', ['-o', 'link', 'show', 'master', bridge], { encoding: 'utf8' })).toBe('');
    expect(k.logs().some((l) => l.msg === 'pod recovered' && l.outcome === 'half-created, removed')).toBe(true);
  } finally {
    await removeAllPods(k.client);
    await k.cleanup();
    try {
      execFileSync('ip', ['link', 'del', bridge], { stdio: 'ignore' });
    } catch {
      // never created
    }
    rmSync(dir, { recursive: true, force: true });
  }
});
