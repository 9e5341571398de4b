// Memory limits (OOMKilled) and kubelet's /stats/summary from Krill's stats.
import { Namespace, apply, containerStatus, getPod, kubectl, nodeName, pod, shContainer, waitFor, waitPodPhase, waitPodReady } from './harness/kube';

const MINUTE = 60_000;
const ns = new Namespace('resources');
beforeAll(() => ns.create(), 2 * MINUTE);
afterAll(() => ns.cleanup(), 4 * MINUTE);

test('a container over its memory limit is OOMKilled', async () => {
  await apply(ns.name, pod('oom', {
    restartPolicy: 'Never',
    // dd's 256 MiB block is allocated and filled: far over the 32 MiB limit.
    // exec: dd is the container's main process, so the OOM kill ends the container (137).
    containers: [shContainer('main', 'echo filling; exec dd if=/dev/zero of=/dev/null bs=256M count=1', {
      resources: { limits: { memory: '32Mi' }, requests: { memory: '32Mi' } },
    })],
  }));
  const s = await waitFor('the container to terminate', async () => containerStatus(await getPod(ns.name, 'oom'), 'main')?.state?.terminated, 2 * MINUTE);
  expect(s.reason).toBe('OOMKilled');
  expect(s.exitCode).toBe(137);
  await waitPodPhase(ns.name, 'oom', 'Failed');
}, 3 * MINUTE);

test('/stats/summary has plausible node, pod and container figures', async () => {
  await apply(ns.name, pod('busy', {
    // Some CPU (a busy loop for 200 ms of every second), some memory, some log, some rootfs writes.
    containers: [shContainer('main', 'dd if=/dev/zero of=/tmp/f bs=1M count=8 2>/dev/null; while true; do i=0; while [ $i -lt 3000 ]; do i=$((i+1)); done; echo tick; sleep 0.5; done', {
      resources: { limits: { memory: '64Mi' } },
    })],
  }));
  await waitPodReady(ns.name, 'busy');
  const node = nodeName();
  type Summary = Record<string, any>;
  const summary = await waitFor('the pod in /stats/summary with CPU and memory figures', async () => {
    const s = JSON.parse(await kubectl(['get', '--raw', `/api/v1/nodes/${node}/proxy/stats/summary`])) as Summary;
    const p = (s.pods as Summary[]).find((x) => x.podRef.namespace === ns.name && x.podRef.name === 'busy');
    const c = p?.containers?.find((x: Summary) => x.name === 'main');
    // kubelet's pod-level figures (its own cgroup reading) may trail the container's by a sample.
    const ok = p && c?.cpu?.usageNanoCores > 0 && c?.memory?.workingSetBytes > 0 && p.memory?.workingSetBytes > 0 && p.cpu?.usageCoreNanoSeconds > 0;
    return ok ? { s, p, c } : undefined;
  }, 2 * MINUTE, 2000);
  const { s, p, c } = summary;
  const memCapacity = s.node.memory.availableBytes + s.node.memory.workingSetBytes;
  // Node.
  expect(s.node.cpu.usageNanoCores).toBeGreaterThan(0);
  expect(s.node.memory.workingSetBytes).toBeGreaterThan(0);
  // Runtime image filesystem (ImageFsInfo).
  expect(s.node.runtime.imageFs.capacityBytes).toBeGreaterThan(0);
  expect(s.node.runtime.imageFs.usedBytes).toBeGreaterThan(0);
  expect(s.node.runtime.imageFs.usedBytes).toBeLessThan(s.node.runtime.imageFs.capacityBytes);
  // Container: under 2 cores, memory between 100 KiB and its 64 MiB limit.
  expect(c.cpu.usageNanoCores).toBeLessThan(2e9);
  expect(c.cpu.usageCoreNanoSeconds).toBeGreaterThan(0);
  expect(c.memory.workingSetBytes).toBeGreaterThan(100 << 10);
  expect(c.memory.workingSetBytes).toBeLessThanOrEqual(64 << 20);
  expect(c.memory.workingSetBytes).toBeLessThan(memCapacity);
  expect(c.rootfs.usedBytes).toBeGreaterThanOrEqual(8 << 20);
  expect(c.logs.usedBytes).toBeGreaterThan(0);
  // Pod: at least its container.
  expect(p.memory.workingSetBytes).toBeGreaterThanOrEqual(c.memory.workingSetBytes * 0.5);
  expect(p.cpu.usageCoreNanoSeconds).toBeGreaterThan(0);
  expect(Date.now() - Date.parse(c.cpu.time)).toBeLessThan(5 * MINUTE);
}, 4 * MINUTE);
