// Pods and containers churned by several clients while krilld is killed with
// SIGKILL at random moments and started again, round after round. After each
// restart nothing on the host may lack a record (runtime containers, conmon
// processes, mounts, state directories, pinned namespaces, pod cgroups), and
// everything listed must be removable; after the last round everything is
// removed and the file's leak check must be clean.
// KRILL_CHURN_ROUNDS sets the number of rounds (default 8; the README states
// a 30-round result).
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { mountsUnder } from '../pkg/storage/mount';
import { removeTestCgroups } from './harness/cgroups';
import { conmonsOf } from './harness/conmon';
import { containerConfig, pull, startContainerKrilld, testImage } from './harness/containers';
import type { Krilld } from './harness/krilld';
import { testCgroupParent } from './harness/paths';
import { podConfig, removeAllPods, runRequest, uniqueName } from './harness/pods';

const IMAGE = testImage('compress-gzip');
const ROUNDS = Number(process.env.KRILL_CHURN_ROUNDS ?? 8);
const CLIENTS = 3;
const cgroupParent = testCgroupParent(uniqueName('churn'));
let k: Krilld;

beforeAll(async () => {
  k = await startContainerKrilld();
  await pull(k.client, IMAGE);
});

afterAll(async () => {
  await removeAllPods(k.client).catch(() => undefined);
  await k.cleanup();
  removeTestCgroups(cgroupParent);
});

/** One client's work until krilld goes away: run a pod, a container or two in it, and sometimes take it down again. */
async function churn(stop: { dead: boolean }): Promise<number> {
  let calls = 0;
  while (!stop.dead) {
    try {
      const name = uniqueName('churn');
      const logDir = join(k.dir, 'logs', name);
      mkdirSync(logDir, { recursive: true });
      const config = podConfig({ name, cgroupParent: `${cgroupParent}/${name}`, sharePid: Math.random() < 0.3 }, { logDirectory: logDir });
      const { podSandboxId } = await k.client.runtime.runPodSandbox(runRequest(config));
      calls++;
      for (let i = 0; i < 1 + Math.floor(Math.random() * 2); i++) {
        const c = containerConfig(`c${i}`, IMAGE, { command: ['sleep', '3600'], logPath: `c${i}.log` });
        const { containerId } = await k.client.runtime.createContainer({ podSandboxId, config: c, sandboxConfig: config });
        await k.client.runtime.startContainer({ containerId });
        calls += 2;
        if (Math.random() < 0.3) {
          await k.client.runtime.execSync({ containerId, cmd: ['true'], timeout: 5n });
          calls++;
        }
      }
      if (Math.random() < 0.5) {
        await k.client.runtime.stopPodSandbox({ podSandboxId });
        await k.client.runtime.removePodSandbox({ podSandboxId });
        calls += 2;
      }
    } catch {
      // krilld died under the call: the point of the test
    }
  }
  return calls;
}

const HEX64 = /[0-9a-f]{64}/;

/** What exists on the host for this krilld that names a pod or container no record has. */
async function orphans(): Promise<string[]> {
  const pods = (await k.client.runtime.listPodSandbox({ filter: undefined })).items;
  const containers = (await k.client.runtime.listContainers({ filter: undefined })).containers;
  const known = new Set([...pods.map((p) => p.id), ...containers.map((c) => c.id)]);
  const podNames = new Set(pods.map((p) => p.metadata!.name));
  const out: string[] = [];
  const unknownId = (text: string): boolean => {
    const m = HEX64.exec(text);
    return m !== null && !known.has(m[0]);
  };
  try {
    const listed = JSON.parse(execFileSync('runc', ['--root', join(k.state, 'runtime', 'runc'), 'list', '--format', 'json'], { encoding: 'utf8' }) || 'null') as { id: string }[] | null;
    for (const c of listed ?? []) if (!known.has(c.id)) out.push(`runc container ${c.id}`);
  } catch {
    // no runtime root yet
  }
  for (const c of conmonsOf(k)) if (!known.has(c.containerId)) out.push(`conmon ${c.pid} of ${c.containerId}`);
  for (const dir of [join(k.state, 'containers'), join(k.state, 'pods'), join(k.state, 'ns'), join(k.root, 'pods'), join(k.root, 'containers-fs')]) {
    if (existsSync(dir)) for (const n of readdirSync(dir)) if (unknownId(n)) out.push(`${dir}/${n}`);
  }
  for (const m of mountsUnder(k.dir)) if (unknownId(m)) out.push(`mount ${m}`);
  const podCgroups = join('/sys/fs/cgroup/memory', cgroupParent);
  if (existsSync(podCgroups)) {
    for (const e of readdirSync(podCgroups, { withFileTypes: true })) if (e.isDirectory() && !podNames.has(e.name)) out.push(`pod cgroup ${podCgroups}/${e.name}`);
  }
  return out;
}

test(`${ROUNDS} rounds of churn killed with SIGKILL at a random moment: after each restart nothing lacks a record; at the end everything is removable`, async () => {
  const found: string[] = [];
  let calls = 0;
  for (let round = 0; round < ROUNDS; round++) {
    const stop = { dead: false };
    const clients = Array.from({ length: CLIENTS }, () => churn(stop));
    await new Promise((r) => setTimeout(r, 300 + Math.random() * 2500));
    await k.kill9();
    stop.dead = true;
    calls += (await Promise.all(clients)).reduce((a, b) => a + b, 0);
    await k.restart();
    for (const o of await orphans()) found.push(`round ${round}: ${o}`);
    // Take some pods down, as kubelet would after a restart, so the node does not fill up.
    const pods = (await k.client.runtime.listPodSandbox({ filter: undefined })).items;
    for (const p of pods.slice(0, Math.max(0, pods.length - 6))) {
      await k.client.runtime.stopPodSandbox({ podSandboxId: p.id });
      await k.client.runtime.removePodSandbox({ podSandboxId: p.id });
    }
  }
  process.stdout.write(`churn: ${ROUNDS} rounds, ${calls} calls completed, ${found.length} leftovers without a record\n`);
  expect(found).toEqual([]);
  await removeAllPods(k.client);
  expect((await k.client.runtime.listContainers({ filter: undefined })).containers).toEqual([]);
  expect(await orphans()).toEqual([]);
}, 60_000 + ROUNDS * 15_000);
