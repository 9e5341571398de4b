// A container's mounts, seen from inside a running container: kubelet's
// host-path mounts (read-only, each propagation mode, recursive read-only),
// the pod's /etc/hostname, /etc/hosts, /etc/resolv.conf and /dev/shm, and
// devices; bad mounts and devices fail CreateContainer with InvalidArgument.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { MountPropagation, type Mount } from '../api/runtime/v1/api';
import { grpc } from '../pkg/criclient/client';
import { testImage } from './harness/containers';
import { containerFixture, type ContainerFixture, type TestPod } from './harness/ctr_fixture';
import { mountsUnder } from '../pkg/storage/mount';
import { testBaseDir } from './harness/paths';

const BUSYBOX = testImage('layered');
const SLEEP = ['sleep', '3600'];

let f: ContainerFixture;
let pod: TestPod;
/** Host directories of this file; `shared` is a shared mount point of its own. */
let base: string;
let shared: string;
let plain: string;

const sh = (cmd: string, ...args: string[]): string => execFileSync(cmd, args, { encoding: 'utf8' });

function mount(partial: Partial<Mount> & { containerPath: string; hostPath: string }): Mount {
  return {
    readonly: false,
    selinuxRelabel: false,
    propagation: MountPropagation.PROPAGATION_PRIVATE,
    imageSubPath: '',
    mountOptions: [],
    uidMappings: [],
    gidMappings: [],
    recursiveReadOnly: false,
    image: undefined,
    ...partial,
  };
}

/** Unmounts everything under `dir`, deepest first. */
function unmountUnder(dir: string): void {
  for (const m of mountsUnder(dir).sort((a, b) => b.length - a.length)) {
    try {
      sh('umount', '-l', m);
    } catch {
      // gone with a parent
    }
  }
}

beforeAll(async () => {
  base = mkdtempSync(join(testBaseDir(), 'mounts-'));
  shared = join(base, 'shared');
  plain = join(base, 'plain');
  mkdirSync(shared);
  mkdirSync(plain);
  // "/" is private on this node: make a shared mount point for the propagation tests.
  sh('mount', '--bind', shared, shared);
  sh('mount', '--make-shared', shared);
  f = await containerFixture('ctr-mnt', [BUSYBOX]);
  pod = await f.pod({
    extra: { dnsConfig: { servers: ['10.96.0.10'], searches: ['krill-test.svc.cluster.local', 'svc.cluster.local'], options: ['ndots:5'] } },
  });
});

afterAll(async () => {
  try {
    await f?.cleanup();
  } finally {
    if (base) {
      unmountUnder(base);
      rmSync(base, { recursive: true, force: true });
    }
  }
});

let seq = 0;
const nextName = (what: string): string => `${what}-${++seq}`;

describe('host-path mounts', () => {
  test('read-write and read-only', async () => {
    writeFileSync(join(plain, 'from-host'), 'hello from the host\n');
    const r = await pod.sh(nextName('rw'), BUSYBOX, 'cat /rw/from-host; echo written > /rw/from-ctr; echo nope > /ro/x || echo ro-refused; cat /ro/from-host', {
      mounts: [mount({ containerPath: '/rw', hostPath: plain }), mount({ containerPath: '/ro', hostPath: plain, readonly: true })],
    });
    expect(r.stdout).toBe('hello from the host\nro-refused\nhello from the host\n');
    expect(r.stderr).toMatch(/Read-only file system/);
    expect(readFileSync(join(plain, 'from-ctr'), 'utf8')).toBe('written\n');
    expect(existsSync(join(plain, 'x'))).toBe(false);
  });

  test('ContainerStatus reports the mounts', async () => {
    const mounts = [mount({ containerPath: '/ro', hostPath: plain, readonly: true })];
    const id = await pod.create(nextName('status'), BUSYBOX, { command: ['true'], mounts });
    const s = await pod.status(id);
    expect(s.mounts).toEqual([expect.objectContaining({ containerPath: '/ro', hostPath: plain, readonly: true })]);
    await f.client.runtime.removeContainer({ containerId: id });
  });

  describe('propagation', () => {
    let privateId: string;
    let slaveId: string;
    let sharedId: string;
    beforeAll(async () => {
      privateId = await pod.start(nextName('private'), BUSYBOX, { command: SLEEP, mounts: [mount({ containerPath: '/mnt/shared', hostPath: shared })] });
      slaveId = await pod.start(nextName('rslave'), BUSYBOX, {
        command: SLEEP,
        mounts: [mount({ containerPath: '/mnt/shared', hostPath: shared, propagation: MountPropagation.PROPAGATION_HOST_TO_CONTAINER })],
      });
      sharedId = await pod.start(nextName('rshared'), BUSYBOX, {
        command: SLEEP,
        mounts: [mount({ containerPath: '/mnt/shared', hostPath: shared, propagation: MountPropagation.PROPAGATION_BIDIRECTIONAL })],
        // mount(2) inside the container needs CAP_SYS_ADMIN (and the default seccomp profile allows it then).
        linux: { securityContext: { capabilities: { addCapabilities: ['SYS_ADMIN'], dropCapabilities: [], addAmbientCapabilities: [] } } },
      });
      // A mount made on the host after the containers started.
      mkdirSync(join(shared, 'from-host'));
      sh('mount', '-t', 'tmpfs', 'krill-test', join(shared, 'from-host'));
      writeFileSync(join(shared, 'from-host', 'file'), 'host mount\n');
    });

    afterAll(async () => {
      for (const id of [privateId, slaveId, sharedId]) if (id) await f.client.runtime.removeContainer({ containerId: id });
      unmountUnder(join(shared, 'from-host'));
      unmountUnder(join(shared, 'from-ctr'));
    });

    test('private: a host mount made later does not reach the container', async () => {
      const r = await pod.exec(privateId, ['sh', '-c', 'ls /mnt/shared/from-host; grep " /mnt/shared/from-host " /proc/self/mountinfo || echo not-mounted']);
      expect(r.stdout).toBe('not-mounted\n');
    });

    test('rslave: a host mount made later reaches the container', async () => {
      expect((await pod.exec(slaveId, ['cat', '/mnt/shared/from-host/file'])).stdout).toBe('host mount\n');
    });

    test('rshared: a host mount reaches the container and a container mount reaches the host', async () => {
      expect((await pod.exec(sharedId, ['cat', '/mnt/shared/from-host/file'])).stdout).toBe('host mount\n');
      const r = await pod.exec(sharedId, ['sh', '-c', 'mkdir -p /mnt/shared/from-ctr && mount -t tmpfs ctr /mnt/shared/from-ctr && echo ctr mount > /mnt/shared/from-ctr/file']);
      expect(r).toMatchObject({ exitCode: 0, stderr: '' });
      expect(readFileSync(join(shared, 'from-ctr', 'file'), 'utf8')).toBe('ctr mount\n');
      // From the host it propagates on to the rslave container, never to the private one.
      expect((await pod.exec(slaveId, ['cat', '/mnt/shared/from-ctr/file'])).stdout).toBe('ctr mount\n');
      expect((await pod.exec(privateId, ['sh', '-c', 'cat /mnt/shared/from-ctr/file 2>/dev/null || echo absent'])).stdout).toBe('absent\n');
    });

    test('rslave and rshared need a slave or shared host mount: a private one is InvalidArgument', async () => {
      for (const propagation of [MountPropagation.PROPAGATION_HOST_TO_CONTAINER, MountPropagation.PROPAGATION_BIDIRECTIONAL]) {
        await expect(pod.create(nextName('badprop'), BUSYBOX, { mounts: [mount({ containerPath: '/p', hostPath: plain, propagation })] })).rejects.toMatchObject({
          code: grpc.status.INVALID_ARGUMENT,
          details: expect.stringMatching(/propagation/),
        });
      }
    });
  });

  describe('recursive read-only', () => {
    let rro: string;
    let advertised: boolean;
    beforeAll(async () => {
      rro = join(base, 'rro');
      mkdirSync(join(rro, 'sub'), { recursive: true });
      sh('mount', '-t', 'tmpfs', 'krill-test', join(rro, 'sub'));
      const st = await f.client.runtime.status({ verbose: false });
      advertised = st.runtimeHandlers.find((h) => h.name === '')?.features?.recursiveReadOnlyMounts ?? false;
    });

    afterAll(() => unmountUnder(rro));

    test('a plain read-only mount leaves submounts writable; a recursive one does not (when Status advertises it)', async () => {
      const script = 'touch /m/sub/x && echo sub-writable || echo sub-ro; touch /m/y || echo top-ro';
      const plainRo = await pod.sh(nextName('ro'), BUSYBOX, script, { mounts: [mount({ containerPath: '/m', hostPath: rro, readonly: true })] });
      expect(plainRo.stdout).toBe('sub-writable\ntop-ro\n');
      const recursive = { mounts: [mount({ containerPath: '/m', hostPath: rro, readonly: true, recursiveReadOnly: true })] };
      if (!advertised) {
        await expect(pod.create(nextName('rro'), BUSYBOX, recursive)).rejects.toMatchObject({ code: grpc.status.INVALID_ARGUMENT });
        return;
      }
      const r = await pod.sh(nextName('rro'), BUSYBOX, script, recursive);
      expect(r.stdout).toBe('sub-ro\ntop-ro\n');
    });

    test('recursive read-only needs readonly', async () => {
      await expect(pod.create(nextName('rro-rw'), BUSYBOX, { mounts: [mount({ containerPath: '/m', hostPath: rro, recursiveReadOnly: true })] })).rejects.toMatchObject({
        code: grpc.status.INVALID_ARGUMENT,
        details: expect.stringContaining('recursive_read_only'),
      });
    });
  });

  test('a missing host path, a relative container path and a doubled one are InvalidArgument and leave nothing', async () => {
    const before = (await f.client.runtime.listContainers({ filter: undefined })).containers.length;
    const mountsBefore = mountsUnder(f.k.dir);
    const cases: Mount[][] = [
      [mount({ containerPath: '/x', hostPath: join(base, 'no-such-dir') })],
      [mount({ containerPath: 'relative', hostPath: plain })],
      [mount({ containerPath: '/x', hostPath: plain }), mount({ containerPath: '/x/', hostPath: plain })],
    ];
    for (const mounts of cases) {
      await expect(pod.create(nextName('badmount'), BUSYBOX, { mounts })).rejects.toMatchObject({ code: grpc.status.INVALID_ARGUMENT, details: expect.stringContaining('config.mounts[') });
    }
    expect((await f.client.runtime.listContainers({ filter: undefined })).containers.length).toBe(before);
    expect(mountsUnder(f.k.dir)).toEqual(mountsBefore);
  });
});

test("a file mount (kubelet's termination log) gets its mount point made, even under directories the image lacks", async () => {
  const termLog = join(base, 'termination-log');
  const deep = join(base, 'deep-file');
  writeFileSync(termLog, '');
  writeFileSync(deep, '');
  const r = await pod.sh(nextName('filemount'), BUSYBOX, 'echo bye > /dev/termination-log && echo deep > /no/such/dir/file && echo ok', {
    mounts: [mount({ containerPath: '/dev/termination-log', hostPath: termLog }), mount({ containerPath: '/no/such/dir/file', hostPath: deep })],
  });
  expect(r.stdout).toBe('ok\n');
  expect(readFileSync(termLog, 'utf8')).toBe('bye\n');
  expect(readFileSync(deep, 'utf8')).toBe('deep\n');
});

test("the image's VOLUMEs and a missing working directory are created in the root filesystem", async () => {
  const r = await pod.sh(nextName('volumes'), BUSYBOX, 'test -d /data && echo data-dir; pwd', { workingDir: '/srv/not/in/image' });
  expect(r.stdout).toBe('data-dir\n/srv/not/in/image\n');
});

describe("the pod's files", () => {
  test('/etc/hostname, /etc/hosts and /etc/resolv.conf come from the pod', async () => {
    const r = await pod.sh(nextName('files'), BUSYBOX, 'cat /etc/hostname; echo ---; cat /etc/hosts; echo ---; cat /etc/resolv.conf; echo ---; hostname');
    const [hostname, hosts, resolv, uts] = r.stdout.split('---\n');
    const podName = pod.config.hostname;
    expect(hostname).toBe(`${podName}\n`);
    expect(hosts).toMatch(/^127\.0\.0\.1\s+localhost/m);
    expect(hosts).toMatch(new RegExp(`\\s${podName}(\\s|$)`, 'm'));
    expect(resolv).toMatch(/^nameserver 10\.96\.0\.10$/m);
    expect(resolv).toMatch(/^search krill-test\.svc\.cluster\.local svc\.cluster\.local$/m);
    expect(resolv).toMatch(/^options ndots:5$/m);
    expect(uts).toBe(`${podName}\n`);
  });

  test("/dev/shm is the pod's: what one container writes there, another reads", async () => {
    const writer = await pod.sh(nextName('shm-w'), BUSYBOX, 'grep " /dev/shm " /proc/self/mountinfo | grep -c tmpfs; echo shared > /dev/shm/krill-test');
    expect(writer.stdout).toBe('1\n');
    const reader = await pod.sh(nextName('shm-r'), BUSYBOX, 'cat /dev/shm/krill-test');
    expect(reader.stdout).toBe('shared\n');
  });

  test('the files follow a read-only root filesystem', async () => {
    const r = await pod.sh(nextName('files-ro'), BUSYBOX, 'echo x >> /etc/hosts || echo hosts-ro; echo x > /dev/shm/y && echo shm-rw', { linux: { securityContext: { readonlyRootfs: true } } });
    expect(r.stdout).toBe('hosts-ro\nshm-rw\n');
  });
});

describe('devices', () => {
  const device = (containerPath: string, hostPath: string, permissions: string): { containerPath: string; hostPath: string; permissions: string } => ({
    containerPath,
    hostPath,
    permissions,
  });

  test('a device is created with the host node and its permissions are enforced', async () => {
    // loop-control is outside the default device rules, so its "r" alone is what the cgroup allows.
    const script = [
      'stat -c "%F %t:%T" /dev/xnull /dev/rloop',
      'echo hi > /dev/xnull && echo write-ok',
      'echo hi > /dev/rloop || echo write-denied',
      ': < /dev/rloop && echo read-ok',
    ].join('; ');
    const r = await pod.sh(nextName('dev'), BUSYBOX, script, { devices: [device('/dev/xnull', '/dev/null', 'rwm'), device('/dev/rloop', '/dev/loop-control', 'r')] });
    expect(r.stdout).toBe('character special file 1:3\ncharacter special file a:ed\nwrite-ok\nwrite-denied\nread-ok\n');
    expect(r.stderr).toMatch(/Operation not permitted/);
  });

  test('a missing device or a non-device is InvalidArgument and leaves nothing', async () => {
    const before = (await f.client.runtime.listContainers({ filter: undefined })).containers.length;
    await expect(pod.create(nextName('nodev'), BUSYBOX, { devices: [device('/dev/x', '/dev/krill-no-such-device', 'rwm')] })).rejects.toMatchObject({
      code: grpc.status.INVALID_ARGUMENT,
      details: expect.stringContaining('config.devices[0]'),
    });
    writeFileSync(join(base, 'not-a-device'), '');
    await expect(pod.create(nextName('notdev'), BUSYBOX, { devices: [device('/dev/x', join(base, 'not-a-device'), 'rwm')] })).rejects.toMatchObject({
      code: grpc.status.INVALID_ARGUMENT,
      details: expect.stringContaining('is not a device'),
    });
    expect((await f.client.runtime.listContainers({ filter: undefined })).containers.length).toBe(before);
  });
});
