// Containers of a pod with its own user namespace: they run as the pod's
// mapped root, see their image's files as their own through an ID-mapped root
// filesystem, write as that root, and leave no mount behind.
import { randomInt } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { NamespaceMode, type NamespaceOption } from '../api/runtime/v1/api';
import { containerFixture, TestPod, type ContainerFixture } from './harness/ctr_fixture';
import { podConfig, runRequest, uniqueName } from './harness/pods';
import { testImage } from './harness/containers';

const IMAGE = testImage('layered');
let f: ContainerFixture;
let pod: TestPod;
let namespaceOptions: NamespaceOption;
const hostId = 400000 + randomInt(1000) * 65536;

beforeAll(async () => {
  f = await containerFixture('userns', [IMAGE]);
  const name = uniqueName('userns');
  const logDir = join(f.k.dir, 'logs', name);
  mkdirSync(logDir, { recursive: true });
  const config = podConfig({ name, cgroupParent: `${f.cgroupParent}/${name}` }, { logDirectory: logDir });
  const maps = [{ hostId, containerId: 0, length: 65536 }];
  namespaceOptions = { ...config.linux!.securityContext!.namespaceOptions!, usernsOptions: { mode: NamespaceMode.POD, uids: maps, gids: maps } };
  config.linux!.securityContext!.namespaceOptions = namespaceOptions;
  const id = (await f.client.runtime.runPodSandbox(runRequest(config))).podSandboxId;
  f.adopt(id);
  pod = new TestPod(f.client, id, config, logDir);
});

afterAll(async () => f.cleanup());

const inPodUserns = () => ({ linux: { securityContext: { namespaceOptions } } });

test('Status advertises user namespaces for runc', async () => {
  const s = await f.client.runtime.status({ verbose: false });
  expect(s.runtimeHandlers.find((h) => h.name === 'runc')!.features!.userNamespaces).toBe(true);
});

test("the container runs as the pod's mapped root and owns its image's files", async () => {
  const r = await pod.sh('mapped', IMAGE, 'cat /proc/self/uid_map; id -u; stat -c %u /bin/busybox /etc; echo written > /made-here; stat -c %u /made-here', inPodUserns());
  expect(r.status.exitCode).toBe(0);
  const lines = r.stdout.trim().split('\n').map((l) => l.trim());
  expect(lines[0]!.split(/\s+/)).toEqual(['0', String(hostId), '65536']);
  expect(lines.slice(1)).toEqual(['0', '0', '0', '0']);
});

test('files a container writes belong to the mapped root on the host', async () => {
  const id = await pod.start('writer', IMAGE, { command: ['sh', '-c', 'echo x > /owned; exec sleep 60'], ...inPodUserns() });
  try {
    const upper = (await pod.info(id)).runtimeSpec as { root: { path: string } };
    expect(upper.root.path).toContain(id);
    const fsRoot = join(f.k.root, 'containers-fs', id, 'upper');
    for (let i = 0; i < 50 && !readdirSync(fsRoot).includes('owned'); i++) await new Promise((r) => setTimeout(r, 50));
    expect(statSync(join(fsRoot, 'owned')).uid).toBe(hostId);
  } finally {
    await f.client.runtime.stopContainer({ containerId: id, timeout: 0n });
    await f.client.runtime.removeContainer({ containerId: id });
  }
});

test('volumes kubelet asks to ID-map are mapped by Krill when runc cannot: the pod\'s root owns root\'s files, writes land as root on the host, nothing stays mounted', async () => {
  const vol = join(f.k.dir, `vol-${randomInt(1e6)}`);
  mkdirSync(join(vol, 'sub'), { recursive: true });
  writeFileSync(join(vol, 'sub', 'from-host'), 'hello\n');
  const maps = [{ hostId, containerId: 0, length: 65536 }];
  const r = await pod.sh('volume', IMAGE, 'stat -c %u /vol/sub/from-host; cat /vol/sub/from-host; echo mine > /vol/sub/from-pod; stat -c %u /vol/sub/from-pod', {
    ...inPodUserns(),
    mounts: [{ containerPath: '/vol', hostPath: vol, uidMappings: maps, gidMappings: maps }],
  });
  expect(r.status.exitCode).toBe(0);
  expect(r.stdout.trim().split('\n')).toEqual(['0', 'hello', '0']);
  // Through the mapping, the pod's root writes files owned by root on disk.
  expect(statSync(join(vol, 'sub', 'from-pod')).uid).toBe(0);
  expect(readFileSync(join(vol, 'sub', 'from-pod'), 'utf8')).toBe('mine\n');
  // This krilld's own mounts only: a test bed's kubelet on the machine keeps volumes of its pods mounted.
  expect(readFileSync('/proc/self/mountinfo', 'utf8').split('\n').filter((l) => l.includes('/volumes/') && (l.includes(f.k.dir) || l.includes(f.k.state)))).toEqual([]);
});
