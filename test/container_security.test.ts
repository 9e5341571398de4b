// A container's security context, seen from inside a running container:
// users and groups of every USER form and of run_as_*, supplemental groups
// (Merge, Strict), capabilities after add/drop, seccomp profiles,
// no_new_privs, a read-only root filesystem, privileged containers and the
// masked and read-only /proc and /sys paths.
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SupplementalGroupsPolicy, SecurityProfile_ProfileType as ProfileType, type Capability, type DeepPartial, type LinuxContainerSecurityContext } from '../api/runtime/v1/api';
import { grpc } from '../pkg/criclient/client';
import { testImage } from './harness/containers';
import { containerFixture, statusField, type ContainerFixture, type TestPod } from './harness/ctr_fixture';

const BUSYBOX = testImage('layered');
const USER_IMAGES = ['user-uid', 'user-uid-gid', 'user-name', 'user-name-group'].map(testImage);

let f: ContainerFixture;
let pod: TestPod;

beforeAll(async () => {
  f = await containerFixture('ctr-sec', [BUSYBOX, ...USER_IMAGES]);
  pod = await f.pod();
});

afterAll(async () => {
  await f?.cleanup();
});

let seq = 0;
const nextName = (what: string): string => `${what}-${++seq}`;

/** uid, gid and the group list the kernel holds for the container's first process. */
async function identity(image: string, securityContext: DeepPartial<LinuxContainerSecurityContext> = {}): Promise<{ uid: string; gid: string; groups: string; reported: object }> {
  const script = 'grep -E "^(Uid|Gid|Groups):" /proc/self/status';
  const r = await pod.run(nextName('id'), image, { command: ['sh', '-c', script], linux: { securityContext } });
  expect(r.status).toMatchObject({ exitCode: 0 });
  const first = (key: string): string => statusField(r.stdout, key)!.split(/\s+/)[0]!;
  const user = r.status.user!.linux!;
  return {
    uid: first('Uid'),
    gid: first('Gid'),
    groups: statusField(r.stdout, 'Groups') ?? '',
    reported: { uid: Number(user.uid), gid: Number(user.gid), groups: user.supplementalGroups.map(Number) },
  };
}

describe('users and groups', () => {
  // The images hold alice (1001, primary group 1001), a member of staff (2002) and wheel (3003).
  test.each([
    ['user-uid', 'USER 1001', { uid: '1001', gid: '1001', groups: '1001 2002 3003' }],
    ['user-uid-gid', 'USER 1001:2002', { uid: '1001', gid: '2002', groups: '2002 3003' }],
    ['user-name', 'USER alice', { uid: '1001', gid: '1001', groups: '1001 2002 3003' }],
    ['user-name-group', 'USER alice:staff', { uid: '1001', gid: '2002', groups: '2002 3003' }],
  ])('the image %s (%s) runs as its user with the groups of /etc/group', async (image, _what, want) => {
    const got = await identity(testImage(image));
    expect(got).toMatchObject(want);
    expect(got.reported).toEqual({ uid: Number(want.uid), gid: Number(want.gid), groups: want.groups.split(' ').map(Number) });
  });

  test('no USER is root', async () => {
    expect(await identity(BUSYBOX)).toMatchObject({ uid: '0', gid: '0', groups: '0' });
  });

  test('run_as_user overrides the image USER; an unknown uid gets gid 0', async () => {
    expect(await identity(testImage('user-name'), { runAsUser: { value: 0n } })).toMatchObject({ uid: '0', gid: '0' });
    expect(await identity(testImage('user-name'), { runAsUser: { value: 4242n } })).toMatchObject({ uid: '4242', gid: '0', groups: '0' });
  });

  test('run_as_username is looked up in the image', async () => {
    expect(await identity(testImage('user-uid'), { runAsUsername: 'alice' })).toMatchObject({ uid: '1001', gid: '1001', groups: '1001 2002 3003' });
  });

  test('run_as_group replaces the primary group', async () => {
    const got = await identity(testImage('user-uid'), { runAsUser: { value: 1001n }, runAsGroup: { value: 4004n } });
    expect(got).toMatchObject({ uid: '1001', gid: '4004', groups: '2002 3003 4004' });
  });

  test('supplemental_groups add to the image groups under Merge, and replace them under Strict', async () => {
    const merge = await identity(testImage('user-name'), { supplementalGroups: [5005n], supplementalGroupsPolicy: SupplementalGroupsPolicy.Merge });
    expect(merge).toMatchObject({ uid: '1001', gid: '1001', groups: '1001 2002 3003 5005' });
    const strict = await identity(testImage('user-name'), { supplementalGroups: [5005n], supplementalGroupsPolicy: SupplementalGroupsPolicy.Strict });
    expect(strict).toMatchObject({ uid: '1001', gid: '1001', groups: '1001 5005' });
    expect(strict.reported).toEqual({ uid: 1001, gid: 1001, groups: [1001, 5005] });
  });

  test('an unknown user name fails CreateContainer with InvalidArgument naming it, and leaves nothing', async () => {
    await expect(pod.create(nextName('nouser'), BUSYBOX, { linux: { securityContext: { runAsUsername: 'mallory' } } })).rejects.toMatchObject({
      code: grpc.status.INVALID_ARGUMENT,
      details: expect.stringContaining('mallory'),
    });
    const left = (await f.client.runtime.listContainers({ filter: undefined })).containers.filter((c) => c.metadata!.name.startsWith('nouser'));
    expect(left).toEqual([]);
  });
});

// Capability bits as /proc/<pid>/status shows them.
const CAP_BIT: Record<string, number> = {
  CHOWN: 0, DAC_OVERRIDE: 1, DAC_READ_SEARCH: 2, FOWNER: 3, FSETID: 4, KILL: 5, SETGID: 6, SETUID: 7, SETPCAP: 8,
  NET_BIND_SERVICE: 10, NET_ADMIN: 12, NET_RAW: 13, SYS_CHROOT: 18, SYS_ADMIN: 21, MKNOD: 27, AUDIT_WRITE: 29, SETFCAP: 31,
};
const DOCKER_DEFAULT = ['CHOWN', 'DAC_OVERRIDE', 'FSETID', 'FOWNER', 'MKNOD', 'NET_RAW', 'SETGID', 'SETUID', 'SETFCAP', 'SETPCAP', 'NET_BIND_SERVICE', 'SYS_CHROOT', 'KILL', 'AUDIT_WRITE'];
const mask = (caps: string[]): bigint => caps.reduce((m, c) => m | (1n << BigInt(CAP_BIT[c]!)), 0n);
const hostBounding = (): bigint => BigInt(`0x${statusField(readFileSync('/proc/self/status', 'utf8'), 'CapBnd')}`);

async function caps(capabilities: DeepPartial<Capability> | undefined, extra: DeepPartial<LinuxContainerSecurityContext> = {}): Promise<{ eff: bigint; bnd: bigint; prm: bigint }> {
  const r = await pod.sh(nextName('caps'), BUSYBOX, 'cat /proc/self/status', { linux: { securityContext: { capabilities, ...extra } } });
  expect(r.status.exitCode).toBe(0);
  const field = (k: string): bigint => BigInt(`0x${statusField(r.stdout, k)}`);
  return { eff: field('CapEff'), bnd: field('CapBnd'), prm: field('CapPrm') };
}

describe('capabilities', () => {
  test('the default set is the well-known one', async () => {
    const c = await caps(undefined);
    expect(c.eff).toBe(mask(DOCKER_DEFAULT));
    expect(c.bnd).toBe(mask(DOCKER_DEFAULT));
  });

  test('add and drop refine the default set', async () => {
    const c = await caps({ addCapabilities: ['NET_ADMIN', 'CAP_SYS_ADMIN'], dropCapabilities: ['CHOWN', 'kill'], addAmbientCapabilities: [] });
    expect(c.eff).toBe(mask([...DOCKER_DEFAULT.filter((x) => x !== 'CHOWN' && x !== 'KILL'), 'NET_ADMIN', 'SYS_ADMIN']));
  });

  test('drop ALL leaves none; drop ALL and add one leaves that one', async () => {
    expect((await caps({ addCapabilities: [], dropCapabilities: ['ALL'], addAmbientCapabilities: [] })).eff).toBe(0n);
    const one = await caps({ addCapabilities: ['NET_BIND_SERVICE'], dropCapabilities: ['ALL'], addAmbientCapabilities: [] });
    expect(one.eff).toBe(mask(['NET_BIND_SERVICE']));
    expect(one.bnd).toBe(mask(['NET_BIND_SERVICE']));
  });

  test('add ALL gives what krilld holds; add ALL and drop one takes that one away', async () => {
    expect((await caps({ addCapabilities: ['ALL'], dropCapabilities: [], addAmbientCapabilities: [] })).eff).toBe(hostBounding());
    const c = await caps({ addCapabilities: ['ALL'], dropCapabilities: ['NET_RAW'], addAmbientCapabilities: [] });
    expect(c.eff).toBe(hostBounding() & ~mask(['NET_RAW']));
  });

  test('a dropped capability is enforced: chown fails without CHOWN', async () => {
    const script = 'touch /tmp/f && chown 1234 /tmp/f && echo chowned';
    expect((await pod.sh(nextName('chown'), BUSYBOX, script)).stdout).toBe('chowned\n');
    const r = await pod.sh(nextName('nochown'), BUSYBOX, script, { linux: { securityContext: { capabilities: { addCapabilities: [], dropCapabilities: ['CHOWN'], addAmbientCapabilities: [] } } } });
    expect(r.status.exitCode).not.toBe(0);
    expect(r.stderr).toMatch(/Operation not permitted/);
  });

  test('an unknown capability is InvalidArgument', async () => {
    await expect(pod.create(nextName('badcap'), BUSYBOX, { linux: { securityContext: { capabilities: { addCapabilities: ['CAP_FLY'], dropCapabilities: [], addAmbientCapabilities: [] } } } })).rejects.toMatchObject({
      code: grpc.status.INVALID_ARGUMENT,
      details: expect.stringContaining('CAP_FLY'),
    });
  });

  test('a non-root user has the bounding set but no effective capabilities', async () => {
    const c = await caps(undefined, { runAsUser: { value: 1001n } });
    expect(c.bnd).toBe(mask(DOCKER_DEFAULT));
    expect(c.eff).toBe(0n);
  });
});

describe('seccomp', () => {
  // unshare(2) needs no capability for a user namespace; the default profile forbids it without CAP_SYS_ADMIN.
  const tryUnshare = 'grep ^Seccomp: /proc/self/status; unshare -U true && echo unshared';

  test('RuntimeDefault blocks unshare(2)', async () => {
    const seccomp = { profileType: ProfileType.RuntimeDefault, localhostRef: '' };
    const r = await pod.sh(nextName('seccomp'), BUSYBOX, tryUnshare, { linux: { securityContext: { seccomp } } });
    expect(r.stdout).toBe('Seccomp:\t2\n');
    expect(r.stderr).toMatch(/Operation not permitted/);
    expect(r.status.exitCode).not.toBe(0);
    // The deprecated field says the same.
    const old = await pod.sh(nextName('seccomp-path'), BUSYBOX, tryUnshare, { linux: { securityContext: { seccompProfilePath: 'runtime/default' } } });
    expect(old.stdout).toBe('Seccomp:\t2\n');
  });

  test('Unconfined does not, and no profile at all is Unconfined (the CRI default)', async () => {
    for (const seccomp of [{ profileType: ProfileType.Unconfined, localhostRef: '' }, undefined]) {
      const r = await pod.sh(nextName('unconfined'), BUSYBOX, tryUnshare, { linux: { securityContext: { seccomp } } });
      expect(r.stdout).toBe('Seccomp:\t0\nunshared\n');
      expect(r.status.exitCode).toBe(0);
    }
  });

  test('with runtime.seccomp_use_default_when_empty, no profile means RuntimeDefault', async () => {
    const strict = await containerFixture('seccomp-default', [BUSYBOX], { config: '[runtime]\nseccomp_use_default_when_empty = true\n' });
    try {
      const p = await strict.pod();
      const r = await p.sh(nextName('defaulted'), BUSYBOX, tryUnshare);
      expect(r.stdout).toBe('Seccomp:\t2\n');
      expect(r.status.exitCode).not.toBe(0);
    } finally {
      await strict.cleanup();
    }
  });

  test('a Localhost profile is applied; a missing one is InvalidArgument', async () => {
    const profile = join(f.k.dir, 'no-mkdir.json');
    writeFileSync(profile, JSON.stringify({ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['mkdir', 'mkdirat'], action: 'SCMP_ACT_ERRNO' }] }));
    const seccomp = { profileType: ProfileType.Localhost, localhostRef: profile };
    const r = await pod.sh(nextName('localhost'), BUSYBOX, 'mkdir /tmp/d && echo made', { linux: { securityContext: { seccomp } } });
    expect(r.status.exitCode).not.toBe(0);
    expect(r.stderr).toMatch(/Operation not permitted/);
    await expect(pod.create(nextName('noprofile'), BUSYBOX, { linux: { securityContext: { seccomp: { ...seccomp, localhostRef: `${profile}.missing` } } } })).rejects.toMatchObject({
      code: grpc.status.INVALID_ARGUMENT,
    });
  });

  test('a Localhost profile that is not a regular file, or is too large, is InvalidArgument at once (a FIFO would hang, /dev/zero fill memory)', async () => {
    const fifo = join(f.k.dir, 'profile.fifo');
    execFileSync('mkfifo', [fifo]);
    const huge = join(f.k.dir, 'huge.json');
    writeFileSync(huge, Buffer.alloc((1 << 20) + 1, ' '));
    for (const [ref, detail] of [
      [fifo, 'is a FIFO, not a regular file'],
      ['/dev/zero', 'is a character device, not a regular file'],
      [huge, 'is larger than 1 MiB'],
    ] as const) {
      const seccomp = { profileType: ProfileType.Localhost, localhostRef: ref };
      await expect(pod.create(nextName('badprofile'), BUSYBOX, { linux: { securityContext: { seccomp } } })).rejects.toMatchObject({
        code: grpc.status.INVALID_ARGUMENT,
        details: `config.linux.security_context.seccomp: the Localhost profile ${JSON.stringify(ref)} ${detail}`,
      });
    }
  });
});

test('no_new_privs is set only when asked', async () => {
  const on = await pod.sh(nextName('nnp'), BUSYBOX, 'grep ^NoNewPrivs: /proc/self/status', { linux: { securityContext: { noNewPrivs: true } } });
  expect(on.stdout).toBe('NoNewPrivs:\t1\n');
  const off = await pod.sh(nextName('nnp'), BUSYBOX, 'grep ^NoNewPrivs: /proc/self/status');
  expect(off.stdout).toBe('NoNewPrivs:\t0\n');
});

test('a read-only root filesystem refuses a write; /dev/shm and /tmp mounts stay writable', async () => {
  const r = await pod.sh(nextName('ro'), BUSYBOX, 'touch /newfile; echo $?; touch /dev/shm/x && echo shm-ok', { linux: { securityContext: { readonlyRootfs: true } } });
  expect(r.stdout).toBe('1\nshm-ok\n');
  expect(r.stderr).toMatch(/Read-only file system/);
  const rw = await pod.sh(nextName('rw'), BUSYBOX, 'touch /newfile && echo written');
  expect(rw.stdout).toBe('written\n');
});

describe('masked and read-only paths', () => {
  test('the defaults mask /proc/keys and /sys/firmware and make /proc/sys and /sys read-only', async () => {
    const script = [
      'test -c /proc/keys && echo keys-masked',
      'test -z "$(ls /sys/firmware)" && echo firmware-empty',
      'echo 1 > /proc/sys/kernel/ns_last_pid 2>/dev/null || echo procsys-ro',
      'grep -q " /sys sysfs ro," /proc/mounts && echo sys-ro',
    ].join('; ');
    expect((await pod.sh(nextName('masked'), BUSYBOX, script)).stdout).toBe('keys-masked\nfirmware-empty\nprocsys-ro\nsys-ro\n');
  });

  test('the request overrides both lists', async () => {
    const script = ['test -z "$(cat /proc/cpuinfo)" && echo cpuinfo-masked', 'test -f /proc/keys && echo keys-open', 'touch /etc/x 2>/dev/null || echo etc-ro', 'touch /tmp/x && echo tmp-rw'].join('; ');
    const r = await pod.sh(nextName('override'), BUSYBOX, script, { linux: { securityContext: { maskedPaths: ['/proc/cpuinfo'], readonlyPaths: ['/etc'] } } });
    expect(r.stdout).toBe('cpuinfo-masked\nkeys-open\netc-ro\ntmp-rw\n');
  });
});

describe('privileged', () => {
  let priv: TestPod;
  beforeAll(async () => {
    priv = await f.pod({ privileged: true });
  });

  test('a privileged container sees the host devices, every capability, writable /sys and no masked paths', async () => {
    const script = [
      'test -c /dev/loop-control && echo loop-control',
      'test -c /dev/kmsg && echo kmsg',
      'grep ^CapEff: /proc/self/status',
      'grep -q " /sys sysfs rw," /proc/mounts && echo sys-rw',
      'test -f /proc/keys && echo keys-open',
      'test -n "$(cat /proc/timer_list | head -1)" && echo timer-list',
    ].join('; ');
    const r = await priv.sh(nextName('priv'), BUSYBOX, script, { linux: { securityContext: { privileged: true } } });
    const capEff = `CapEff:\t${hostBounding().toString(16).padStart(16, '0')}`;
    expect(r.stdout).toBe(`loop-control\nkmsg\n${capEff}\nsys-rw\nkeys-open\ntimer-list\n`);
  });

  test('an unprivileged container of a privileged pod sees no host device', async () => {
    const r = await priv.sh(nextName('unpriv'), BUSYBOX, 'test -e /dev/loop-control || echo no-loop-control; ls /dev');
    expect(r.stdout.split('\n')[0]).toBe('no-loop-control');
  });

  test('a privileged container needs a privileged pod', async () => {
    await expect(pod.create(nextName('needpriv'), BUSYBOX, { linux: { securityContext: { privileged: true } } })).rejects.toMatchObject({ code: grpc.status.INVALID_ARGUMENT });
  });
});
