// kubelet and krilld restarts (krilld also killed with SIGKILL) leave running
// pods running, and the node Ready.
import { readFileSync } from 'node:fs';
import { Namespace, apply, containerStatus, kubectl, nodeName, pod, shContainer, testbed, waitFor, waitPodReady } from './harness/kube';

const MINUTE = 60_000;
const ns = new Namespace('restarts');
beforeAll(() => ns.create(), 2 * MINUTE);
afterAll(() => ns.cleanup(), 4 * MINUTE);

/**
 * Waits for the node to be Ready while kubelet renews its lease after `since`: the Ready condition
 * alone may be from before the restart (kubelet reports an unchanged status only every few minutes).
 */
async function nodeReady(since: number): Promise<void> {
  await waitFor('the node to be Ready, its lease renewed', async () => {
    const ready = await kubectl(['get', 'node', nodeName(), '-o', 'jsonpath={.status.conditions[?(@.type=="Ready")].status}']);
    const renewed = await kubectl(['-n', 'kube-node-lease', 'get', 'lease', nodeName(), '-o', 'jsonpath={.spec.renewTime}']);
    return ready === 'True' && Date.parse(renewed) >= since - 1000;
  }, 3 * MINUTE, 1000);
}

let counter = 0;
/** A pod that counts in a file; returns a check that it kept running, unrestarted, through whatever happened. */
async function survivor(): Promise<() => Promise<void>> {
  const name = `survivor-${++counter}`;
  await apply(ns.name, pod(name, { containers: [shContainer('main', 'i=0; while true; do i=$((i+1)); echo $i > /tmp/count; sleep 0.2; done')] }));
  const before = await waitPodReady(ns.name, name);
  const id = containerStatus(before, 'main')!.containerID;
  const pid = (await kubectl(['-n', ns.name, 'exec', name, '--', 'sh', '-c', 'echo $PPID'])).trim();
  return async () => {
    const p = await waitPodReady(ns.name, name, 3 * MINUTE);
    const s = containerStatus(p, 'main')!;
    expect(s.containerID).toBe(id);
    expect(s.restartCount).toBe(0);
    expect(p.metadata.uid).toBe(before.metadata.uid);
    // exec goes through kubelet and krilld: both serve again.
    const c1 = await waitFor('exec to work again', async () => Number(await kubectl(['-n', ns.name, 'exec', name, '--', 'cat', '/tmp/count'])), MINUTE);
    await waitFor('the counter to go on', async () => Number(await kubectl(['-n', ns.name, 'exec', name, '--', 'cat', '/tmp/count'])) > c1, MINUTE);
    expect(pid).toMatch(/^\d+$/);
  };
}

/** A new pod runs after the disruption too. */
async function newPodRuns(): Promise<void> {
  const name = `after-${++counter}`;
  await apply(ns.name, pod(name, { containers: [shContainer('main', 'echo fresh; sleep 3600')] }));
  await waitPodReady(ns.name, name, 3 * MINUTE);
  await waitFor('its log', async () => (await kubectl(['-n', ns.name, 'logs', name])) === 'fresh\n');
  await kubectl(['-n', ns.name, 'delete', 'pod', name, '--wait=true']);
}

test('a kubelet restart leaves running pods running', async () => {
  const check = await survivor();
  const t0 = Date.now();
  await testbed('restart', 'kubelet');
  await nodeReady(t0);
  await check();
  await newPodRuns();
}, 8 * MINUTE);

test('a krilld restart (SIGTERM) leaves running pods running', async () => {
  const check = await survivor();
  const t0 = Date.now();
  await testbed('restart', 'krilld');
  await nodeReady(t0);
  await check();
  await newPodRuns();
}, 8 * MINUTE);

test('krilld killed with SIGKILL and started again: running pods keep running', async () => {
  const check = await survivor();
  const pid = Number(readFileSync('/run/krill-testbed/krilld.pid', 'utf8'));
  process.kill(pid, 'SIGKILL');
  await waitFor('krilld to be gone', async () => {
    try {
      process.kill(pid, 0);
      return (readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1] ?? '').startsWith('Z');
    } catch {
      return true;
    }
  }, MINUTE);
  const t0 = Date.now();
  await testbed('restart', 'krilld');
  await nodeReady(t0);
  await check();
  await newPodRuns();
}, 8 * MINUTE);

test('pods survive all three in a row', async () => {
  const check = await survivor();
  const t0 = Date.now();
  await testbed('restart', 'krilld');
  await testbed('restart', 'kubelet');
  await nodeReady(t0);
  await check();
}, 8 * MINUTE);
