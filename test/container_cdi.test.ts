// CDI devices through a real krilld: spec files in two directories of this
// test (runtime.cdi_spec_dirs) for fake devices backed by device nodes it
// makes with mknod (a copy of /dev/null, and of /dev/loop-control allowed
// read-only), with env, a mount, additional groups and OCI hooks; requested by
// ContainerConfig.CDI_devices, by cdi.k8s.io/ annotation and through crictl,
// in an ordinary pod and in a user-namespaced one.
// Unknown devices are refused with their name and nothing is made; a
// malformed spec file is skipped with a warning naming it while the rest works.
import { execFileSync } from 'node:child_process';
import { randomInt } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { NamespaceMode } from '../api/runtime/v1/api';
import { grpc } from '../pkg/criclient/client';
import { CRICTL, crictlTest } from './harness/crictl';
import { testImage } from './harness/containers';
import { containerFixture, TestPod, type ContainerFixture } from './harness/ctr_fixture';
import { until } from './harness/krilld';
import { testBaseDir } from './harness/paths';
import { podConfig, runRequest, uniqueName } from './harness/pods';

const BUSYBOX = testImage('layered');

let base: string;
let etcDir: string;
let runDir: string;
let f: ContainerFixture;
let pod: TestPod;

const FAKE = 'krill.test/fake';

/** The spec of /etc/cdi's stand-in: YAML, as device vendors mostly write them. */
function fakeSpec(): string {
  return `---
cdiVersion: "0.7.0"
kind: ${FAKE}
devices:
- name: null0
  containerEdits:
    env: [FAKE_DEVICE=null0]
    deviceNodes:
    - path: /dev/fake0
      hostPath: ${join(base, 'nodes', 'fake-null')}
- name: ro
  containerEdits:
    deviceNodes:
    - path: /dev/fake-ro
      hostPath: ${join(base, 'nodes', 'fake-loop-control')}
      permissions: r
- name: hooked
  containerEdits:
    hooks:
    - hookName: createRuntime
      path: /bin/sh
      args: [sh, -c, 'cat > ${join(base, 'hooks', 'create-runtime.json')}']
      env: [PATH=/usr/bin:/bin]
    - hookName: poststop
      path: /bin/sh
      args: [sh, -c, 'cat > ${join(base, 'hooks', 'poststop.json')}']
      env: [PATH=/usr/bin:/bin]
- name: over
  containerEdits:
    env: [OVER=etc]
containerEdits:
  env: [FAKE_DRIVER=1]
  additionalGids: [4242]
  mounts:
  - hostPath: ${join(base, 'driver')}
    containerPath: /opt/fake-driver
    options: [ro, nosuid, nodev, bind]
`;
}

beforeAll(async () => {
  base = mkdtempSync(join(testBaseDir(), 'cdi-'));
  // A user-namespaced pod's root reaches the nodes and the mount through it.
  chmodSync(base, 0o755);
  etcDir = join(base, 'etc-cdi');
  runDir = join(base, 'run-cdi');
  for (const d of [etcDir, runDir, join(base, 'nodes'), join(base, 'driver'), join(base, 'hooks')]) mkdirSync(d);
  execFileSync('mknod', ['-m', '0666', join(base, 'nodes', 'fake-null'), 'c', '1', '3']);
  execFileSync('mknod', ['-m', '0666', join(base, 'nodes', 'fake-loop-control'), 'c', '10', '237']);
  writeFileSync(join(base, 'driver', 'version'), 'fake-driver 1.0\n');
  writeFileSync(join(etcDir, 'fake.yaml'), fakeSpec());
  // The later directory overrides one device of the earlier one, in JSON.
  writeFileSync(join(runDir, 'fake-override.json'), JSON.stringify({ cdiVersion: '0.6.0', kind: FAKE, devices: [{ name: 'over', containerEdits: { env: ['OVER=run'] } }] }));
  writeFileSync(join(runDir, 'broken.json'), '{"cdiVersion": "0.6.0", "kind": "krill.test/broken", "devices": [');
  f = await containerFixture('ctr-cdi', [BUSYBOX], { config: `[runtime]\ncdi_spec_dirs = ["${etcDir}", "${runDir}"]\n` });
  pod = await f.pod();
});

afterAll(async () => {
  try {
    await f?.cleanup();
  } finally {
    if (base) rmSync(base, { recursive: true, force: true });
  }
});

let seq = 0;
const nextName = (what: string): string => `${what}-${++seq}`;
const cdi = (...names: string[]) => ({ CDIDevices: names.map((name) => ({ name })) });

/** A pod with a user namespace of its own (as hostUsers: false makes it). */
async function usernsPod(): Promise<{ pod: TestPod; inPodUserns: object }> {
  const name = uniqueName('cdi-userns');
  const logDir = join(f.k.dir, 'logs', name);
  mkdirSync(logDir, { recursive: true });
  const config = podConfig({ name, cgroupParent: `${f.cgroupParent}/${name}` }, { logDirectory: logDir });
  const maps = [{ hostId: 400000 + randomInt(1000) * 65536, containerId: 0, length: 65536 }];
  const namespaceOptions = { ...config.linux!.securityContext!.namespaceOptions!, usernsOptions: { mode: NamespaceMode.POD, uids: maps, gids: maps } };
  config.linux!.securityContext!.namespaceOptions = namespaceOptions;
  const id = (await f.client.runtime.runPodSandbox(runRequest(config))).podSandboxId;
  f.adopt(id);
  return { pod: new TestPod(f.client, id, config, logDir), inPodUserns: { linux: { securityContext: { namespaceOptions } } } };
}

describe('CDI devices', () => {
  test('a container with a CDI device gets its node (writes work), its env, the spec-wide env, mount and groups', async () => {
    const script = [
      'stat -c "%F %t:%T" /dev/fake0',
      'echo hi > /dev/fake0 && echo write-ok',
      'echo "$FAKE_DEVICE $FAKE_DRIVER"',
      'cat /opt/fake-driver/version',
      'touch /opt/fake-driver/x 2>/dev/null || echo mount-read-only',
      'grep ^Groups: /proc/self/status',
    ].join('; ');
    const r = await pod.sh(nextName('cdi'), BUSYBOX, script, cdi(`${FAKE}=null0`));
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('character special file 1:3\nwrite-ok\nnull0 1\nfake-driver 1.0\nmount-read-only\nGroups:\t0 4242 \n');
    expect(r.status.user?.linux?.supplementalGroups.map(Number)).toContain(4242);
  });

  test('in a user-namespaced pod the device node is bind-mounted from the host, and works', async () => {
    const { pod: userns, inPodUserns } = await usernsPod();
    const script = ['stat -c "%F %t:%T" /dev/fake0', 'echo hi > /dev/fake0 && echo write-ok', 'cat /opt/fake-driver/version', 'grep " /dev/fake0 " /proc/self/mountinfo | wc -l'].join('; ');
    const r = await userns.sh(nextName('cdi-userns'), BUSYBOX, script, { ...inPodUserns, ...cdi(`${FAKE}=null0`) });
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('character special file 1:3\nwrite-ok\nfake-driver 1.0\n1\n');
  });

  test("the spec's permissions are the device cgroup's: a read-only device reads but cannot be written", async () => {
    // loop-control is outside the default device rules, so the CDI rule alone lets it be read.
    const script = [': < /dev/fake-ro && echo read-ok', 'echo hi > /dev/fake-ro || echo write-denied'].join('; ');
    const r = await pod.sh(nextName('cdi-ro'), BUSYBOX, script, cdi(`${FAKE}=ro`));
    expect(r.stdout).toBe('read-ok\nwrite-denied\n');
    expect(r.stderr).toMatch(/Operation not permitted/);
  });

  test('the annotation form (cdi.k8s.io/<key>: names) works like the field', async () => {
    const r = await pod.sh(nextName('cdi-ann'), BUSYBOX, 'test -c /dev/fake0 && echo "$FAKE_DEVICE"', { annotations: { 'cdi.k8s.io/krill-test_null0': `${FAKE}=null0` } });
    expect(r.stdout).toBe('null0\n');
  });

  test('without CDI devices a container has none of it', async () => {
    const r = await pod.sh(nextName('plain'), BUSYBOX, 'test -e /dev/fake0 || echo no-device; echo "[$FAKE_DRIVER]"; test -e /opt/fake-driver || echo no-mount');
    expect(r.stdout).toBe('no-device\n[]\nno-mount\n');
  });

  test('a device of the later spec directory overrides the earlier one', async () => {
    const r = await pod.sh(nextName('cdi-over'), BUSYBOX, 'echo "$OVER"', cdi(`${FAKE}=over`));
    expect(r.stdout).toBe('run\n');
  });

  test("the spec's OCI hooks run: createRuntime at create, poststop at removal, each given the container's state", async () => {
    const created = join(base, 'hooks', 'create-runtime.json');
    const stopped = join(base, 'hooks', 'poststop.json');
    const id = await pod.create(nextName('cdi-hook'), BUSYBOX, { command: ['true'], ...cdi(`${FAKE}=hooked`) });
    expect(JSON.parse(readFileSync(created, 'utf8'))).toMatchObject({ id, status: 'creating' });
    expect(existsSync(stopped)).toBe(false);
    await f.client.runtime.removeContainer({ containerId: id });
    expect(JSON.parse(readFileSync(stopped, 'utf8'))).toMatchObject({ id });
  });

  test('unknown devices and names that are not fully qualified are InvalidArgument naming them; nothing is made', async () => {
    const before = (await f.client.runtime.listContainers({ filter: undefined })).containers.length;
    const bundles = readdirSync(join(f.k.state, 'containers')).length;
    await expect(pod.create(nextName('unknown'), BUSYBOX, cdi(`${FAKE}=null0`, `${FAKE}=gpu7`))).rejects.toMatchObject({
      code: grpc.status.INVALID_ARGUMENT,
      details: expect.stringContaining(`unknown CDI device "${FAKE}=gpu7" (config.CDI_devices[1].name)`),
    });
    await expect(pod.create(nextName('unknown'), BUSYBOX, { annotations: { 'cdi.k8s.io/x': 'other.org/gpu=0' } })).rejects.toMatchObject({
      code: grpc.status.INVALID_ARGUMENT,
      details: expect.stringContaining('"other.org/gpu=0"'),
    });
    await expect(pod.create(nextName('unqualified'), BUSYBOX, cdi('gpu0'))).rejects.toMatchObject({
      code: grpc.status.INVALID_ARGUMENT,
      details: expect.stringContaining('config.CDI_devices[0].name: "gpu0" is not a fully qualified CDI device name'),
    });
    expect((await f.client.runtime.listContainers({ filter: undefined })).containers.length).toBe(before);
    expect(readdirSync(join(f.k.state, 'containers'))).toHaveLength(bundles);
  });

  test('a malformed spec file is skipped with a warning naming it; the devices of the others still work', async () => {
    const broken = join(runDir, 'broken.json');
    await until('the warning about broken.json', () => f.k.logs().find((l) => l.level === 'warn' && l.file === broken));
    // One written while krilld runs is found by the next request that names CDI devices.
    const later = join(etcDir, 'later.yaml');
    writeFileSync(later, `cdiVersion: 0.6.0\nkind: krill.test/later\ndevices:\n- name: x\n  containerEdits:\n    env: [A=1]\n    colour: red\n`);
    const r = await pod.sh(nextName('cdi-rest'), BUSYBOX, 'echo "$FAKE_DEVICE"', cdi(`${FAKE}=null0`));
    expect(r.stdout).toBe('null0\n');
    const warning = await until('the warning about later.yaml', () => f.k.logs().find((l) => l.level === 'warn' && l.file === later));
    expect(warning.msg).toBe(`CDI spec file ${later} skipped: devices[0].containerEdits: unknown field "colour"`);
    await expect(pod.create(nextName('cdi-later'), BUSYBOX, cdi('krill.test/later=x'))).rejects.toMatchObject({ code: grpc.status.INVALID_ARGUMENT });
  });

  crictlTest('crictl create with CDI_devices in the container config', async () => {
    const name = nextName('cdi-crictl');
    const containerFile = join(base, `${name}.json`);
    const podFile = join(base, `${name}-pod.json`);
    writeFileSync(containerFile, JSON.stringify({ metadata: { name }, image: { image: BUSYBOX }, command: ['sleep', '3600'], log_path: `${name}.log`, CDI_devices: [{ name: `${FAKE}=null0` }] }));
    writeFileSync(podFile, JSON.stringify({ metadata: { name: pod.config.metadata!.name, namespace: pod.config.metadata!.namespace, uid: pod.config.metadata!.uid }, log_directory: pod.logDir }));
    const config = join(base, 'crictl.yaml');
    writeFileSync(config, 'timeout: 60\ndebug: false\n');
    const crictl = (...args: string[]): string =>
      execFileSync(CRICTL, ['--config', config, '-r', `unix://${f.k.socket}`, '-i', `unix://${f.k.socket}`, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    const id = crictl('create', pod.id, containerFile, podFile).trim();
    crictl('start', id);
    expect(crictl('exec', id, 'sh', '-c', 'echo hi > /dev/fake0 && echo "$FAKE_DEVICE $FAKE_DRIVER"')).toBe('null0 1\n');
    crictl('rm', '-f', id);
  });
});
