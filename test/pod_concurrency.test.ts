// Many pods at once: 50 pods started and removed by 10 concurrent clients,
// and a kubelet retry of RunPodSandbox that joins the creation in flight.
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { connectCri } from '../pkg/criclient/client';
import { pickTestNetwork, startKrilld, until, type Krilld } from './harness/krilld';
import { testBaseDir } from './harness/paths';
import { podConfig, removeAllPods, runRequest } from './harness/pods';

test('50 pods started and removed by 10 concurrent clients: all succeed, nothing leaks', async () => {
  const k = await startKrilld();
  const clients = Array.from({ length: 10 }, () => connectCri(k.socket));
  try {
    const started = Date.now();
    const perClient = await Promise.all(
      clients.map(async (c) => {
        const ids: string[] = [];
        for (let i = 0; i < 5; i++) ids.push((await c.runtime.runPodSandbox(runRequest(podConfig()))).podSandboxId);
        return ids;
      }),
    );
    const runMs = Date.now() - started;
    const ids = perClient.flat();
    expect(new Set(ids).size).toBe(50);
    const listed = (await k.client.runtime.listPodSandbox({ filter: undefined })).items;
    expect(listed).toHaveLength(50);
    const ips = await Promise.all(ids.map(async (id) => (await k.client.runtime.podSandboxStatus({ podSandboxId: id, verbose: false })).status!.network!.ip));
    expect(new Set(ips).size).toBe(50);
    expect(ips.every((ip) => ip !== '')).toBe(true);

    const removing = Date.now();
    await Promise.all(
      clients.map(async (c, n) => {
        for (const id of perClient[n]!) {
          await c.runtime.stopPodSandbox({ podSandboxId: id });
          await c.runtime.removePodSandbox({ podSandboxId: id });
        }
      }),
    );
    const removeMs = Date.now() - removing;
    // For the record only (timings are not pass/fail): see the report.
    process.stdout.write(`50 pods by 10 clients: run ${runMs} ms, stop+remove ${removeMs} ms\n`);
    expect((await k.client.runtime.listPodSandbox({ filter: undefined })).items).toEqual([]);
    expect(readdirSync(join(k.state, 'ns'))).toEqual([]);
    expect(readdirSync(join(k.root, 'cni', 'results'))).toEqual([]);
    expect(readdirSync(join(k.root, 'cni', 'networks', 'krill')).filter((f) => /^\d/.test(f))).toEqual([]);
  } finally {
    for (const c of clients) c.close();
    await removeAllPods(k.client);
    await k.cleanup();
  }
});

test('a RunPodSandbox retried while the first is still in flight joins it: one pod, one ID', async () => {
  const dir = mkdtempSync(join(testBaseDir(), 'join-'));
  const net = pickTestNetwork(dir);
  mkdirSync(join(dir, 'bin'));
  mkdirSync(net.cniConfDir, { recursive: true });
  // An ADD that takes a while, as a busy node's CNI does: it says it started, then waits until the test releases it
  // (at most 60 s: the limit only keeps a failed test from hanging).
  const started = join(dir, 'add-started');
  const release = join(dir, 'release');
  writeFileSync(join(dir, 'bin', 'krill-test-slow'), `#!/bin/sh\ncat >/dev/null\nif [ "$CNI_COMMAND" = ADD ]; then\n  touch ${started}\n  n=0; while [ ! -e ${release} ] && [ $n -lt 600 ]; do sleep 0.1; n=$((n+1)); done\nfi\necho '{"cniVersion":"1.0.0"}'\n`);
  chmodSync(join(dir, 'bin', 'krill-test-slow'), 0o755);
  writeFileSync(join(net.cniConfDir, '10-slow.conflist'), JSON.stringify({
    cniVersion: '1.0.0',
    name: 'slow',
    plugins: [
      { type: 'bridge', bridge: net.bridge, isGateway: true, ipam: { type: 'host-local', ranges: [[{ subnet: net.subnet }]], dataDir: join(dir, 'leases') } },
      { type: 'krill-test-slow' },
    ],
  }));
  const k: Krilld = await startKrilld({
    config: `[network]\ncni_conf_dir = "${net.cniConfDir}"\ncni_bin_dirs = ["${join(dir, 'bin')}", "/usr/lib/cni"]\n`,
  });
  try {
    // The first call gives up early (kubelet's deadline) while its CNI ADD is held; the retry is sent while the work
    // goes on. krilld logs the join only when the work is done, so the test cannot see the retry arrive: it releases
    // the ADD a second after sending it, and if the retry was that slow to arrive (it then finds the finished pod
    // instead of joining), tries again with another pod, until a deadline.
    const joinedPod = (id: string): boolean => k.logs().some((l) => l.msg === 'joined a RunPodSandbox still in flight for the same pod' && l.pod_id === id);
    const deadline = Date.now() + 90_000;
    for (let attempt = 0; ; attempt++) {
      rmSync(started, { force: true });
      rmSync(release, { force: true });
      const config = podConfig();
      const first = k.client.runtime.runPodSandbox(runRequest(config), { timeoutMs: 3000 }).catch((err: { code?: number }) => err);
      await until('the first call to reach the CNI ADD', () => existsSync(started));
      expect(await first).toMatchObject({ code: 4 }); // DEADLINE_EXCEEDED
      const retrying = k.client.runtime.runPodSandbox(runRequest(config));
      await new Promise((r) => setTimeout(r, 1000));
      writeFileSync(release, '');
      const retry = await retrying;
      const items = (await k.client.runtime.listPodSandbox({ filter: undefined })).items;
      expect(items.map((p) => p.id)).toEqual([retry.podSandboxId]);
      await k.client.runtime.stopPodSandbox({ podSandboxId: retry.podSandboxId });
      await k.client.runtime.removePodSandbox({ podSandboxId: retry.podSandboxId });
      // The logger writes asynchronously: the removal's line comes after a join line of this attempt.
      await until('the removal to be logged', () => k.logs().some((l) => l.msg === 'pod sandbox removed' && l.pod_id === retry.podSandboxId));
      if (joinedPod(retry.podSandboxId)) break;
      if (Date.now() > deadline) throw new Error(`no retry joined a RunPodSandbox in flight in ${attempt + 1} attempts`);
    }
  } finally {
    writeFileSync(release, '');
    await removeAllPods(k.client);
    await k.cleanup();
    try {
      execFileSync('ip', ['link', 'del', net.bridge], { stdio: 'ignore' });
    } catch {
      // not created
    }
    rmSync(dir, { recursive: true, force: true });
  }
});
