// RuntimeClass crun, user namespaces (hostUsers: false), a shared pid namespace.
import { readFileSync, readdirSync } from 'node:fs';
import { Namespace, apply, containerStatus, kubectl, pod, shContainer, waitFor, waitPodReady } from './harness/kube';

const MINUTE = 60_000;
const ns = new Namespace('security');
const runtimeClass = `${ns.name}-crun`;
beforeAll(() => ns.create(), 2 * MINUTE);
afterAll(async () => {
  await ns.cleanup();
  await kubectl(['delete', 'runtimeclass', runtimeClass, '--ignore-not-found']);
}, 4 * MINUTE);

/** The command line of the conmon that monitors container `id`. */
function conmonOf(id: string): string | undefined {
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    let cmd: string;
    try {
      cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ');
    } catch {
      continue;
    }
    if (cmd.includes('conmon') && cmd.includes(id)) return cmd;
  }
  return undefined;
}

test('a pod of RuntimeClass crun runs under crun', async () => {
  await apply(ns.name, { apiVersion: 'node.k8s.io/v1', kind: 'RuntimeClass', metadata: { name: runtimeClass }, handler: 'crun' });
  await apply(ns.name, pod('crun', { runtimeClassName: runtimeClass, containers: [shContainer('main', 'echo hi-from-crun; sleep 3600')] }),
    pod('runc', { containers: [shContainer('main', 'sleep 3600')] }));
  const p = await waitPodReady(ns.name, 'crun');
  const id = (containerStatus(p, 'main')!.containerID as string).replace('krill://', '');
  expect(conmonOf(id)).toMatch(/\/crun\b/);
  expect(await kubectl(['-n', ns.name, 'logs', 'crun'])).toBe('hi-from-crun\n');
  const r = await waitPodReady(ns.name, 'runc');
  const rid = (containerStatus(r, 'main')!.containerID as string).replace('krill://', '');
  expect(conmonOf(rid)).toMatch(/\/runc\b/);
}, 3 * MINUTE);

test('a pod with hostUsers: false runs in a user namespace, its volumes usable', async () => {
  await apply(ns.name, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'cfg' }, data: { 'greeting.txt': 'hello' } });
  await apply(ns.name, pod('userns', {
    hostUsers: false,
    volumes: [{ name: 'scratch', emptyDir: {} }, { name: 'cfg', configMap: { name: 'cfg' } }],
    containers: [shContainer('main', 'sleep 3600', {
      volumeMounts: [{ name: 'scratch', mountPath: '/scratch' }, { name: 'cfg', mountPath: '/cfg' }],
    })],
  }));
  await waitPodReady(ns.name, 'userns');
  const exec = (...cmd: string[]): Promise<string> => kubectl(['-n', ns.name, 'exec', 'userns', '--', ...cmd]);
  const map = (await exec('cat', '/proc/self/uid_map')).trim().split(/\s+/).map(Number);
  // Root in the pod is an unprivileged ID range on the host.
  expect(map[0]).toBe(0);
  expect(map[1]).toBeGreaterThanOrEqual(65536);
  expect(map[2]).toBe(65536);
  expect((await exec('id', '-u')).trim()).toBe('0');
  // Volumes: the emptyDir is writable by the pod's root, the ConfigMap readable.
  await exec('sh', '-c', 'echo data > /scratch/f && chown 0:0 /scratch/f && ls -ln /scratch/f');
  expect((await exec('stat', '-c', '%u:%g', '/scratch/f')).trim()).toBe('0:0');
  expect(await exec('cat', '/cfg/greeting.txt')).toBe('hello');
  expect((await exec('stat', '-L', '-c', '%u', '/cfg/greeting.txt')).trim()).toBe('0');
}, 3 * MINUTE);

test('containers of a pod with shareProcessNamespace see each other\'s processes', async () => {
  await apply(ns.name, pod('sharepid', {
    shareProcessNamespace: true,
    containers: [shContainer('a', 'exec sleep 3601'), shContainer('b', 'exec sleep 3602')],
  }));
  await waitPodReady(ns.name, 'sharepid');
  const ps = await waitFor('both sleeps in ps', async () => {
    const out = await kubectl(['-n', ns.name, 'exec', 'sharepid', '-c', 'b', '--', 'ps', '-o', 'pid,args']);
    return out.includes('sleep 3601') && out.includes('sleep 3602') ? out : undefined;
  }, MINUTE);
  // pid 1 is the pod's infra process, not a container's.
  expect(ps).not.toMatch(/^\s*1\s+sleep/m);
  // Without it, a container sees only its own.
  await apply(ns.name, pod('ownpid', { containers: [shContainer('a', 'exec sleep 3603'), shContainer('b', 'exec sleep 3604')] }));
  await waitPodReady(ns.name, 'ownpid');
  const own = await kubectl(['-n', ns.name, 'exec', 'ownpid', '-c', 'b', '--', 'ps', '-o', 'pid,args']);
  expect(own).toMatch(/^\s*1\s+sleep 3604/m);
  expect(own).not.toContain('sleep 3603');
}, 3 * MINUTE);
