import {
  ContainerConfig,
  NamespaceMode,
  PodSandboxConfig,
  SecurityProfile_ProfileType,
  Signal,
  type DeepPartial,
} from '../../api/runtime/v1/api';
import type { CdiEdits } from '../cdi/edits';
import { invalidArgumentMessage as invalid } from '../errors/testing';
import { capabilitiesFromMask } from './capabilities';
import { DEFAULT_MASKED_PATHS } from './mounts';
import { buildContainerSpec, specRequirements, type ContainerSpecInput } from './spec';

const ID = 'c0ffee'.padEnd(64, '0');
const POD_ID = 'feed'.padEnd(64, '1');
const { POD, CONTAINER, NODE } = NamespaceMode;
const HOST_CAPS = capabilitiesFromMask('000001fffeffffff');

const KUBELET_MASKED = ['/proc/asound', '/proc/acpi', '/proc/kcore', '/proc/keys', '/proc/latency_stats', '/proc/timer_list', '/proc/timer_stats', '/proc/sched_debug', '/proc/scsi', '/sys/firmware', '/sys/devices/virtual/powercap'];
const KUBELET_READONLY = ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'];

/** A container as kubelet creates it for an ordinary pod. */
const kubeletConfig: DeepPartial<ContainerConfig> = {
  metadata: { name: 'app', attempt: 0 },
  image: { image: 'sha256:1234' },
  args: ['sleep', '3600'],
  envs: [{ key: 'FOO', value: Buffer.from('bar') }],
  mounts: [
    { containerPath: '/data', hostPath: '/var/lib/kubelet/pods/u1/volumes/kubernetes.io~empty-dir/data' },
    { containerPath: '/etc/hosts', hostPath: '/var/lib/kubelet/pods/u1/etc-hosts' },
    { containerPath: '/dev/termination-log', hostPath: '/var/lib/kubelet/pods/u1/containers/app/0a1b' },
  ],
  logPath: 'app/0.log',
  linux: {
    resources: {
      cpuShares: 102n,
      cpuQuota: 50000n,
      cpuPeriod: 100000n,
      memoryLimitInBytes: 128n << 20n,
      oomScoreAdj: 968n,
      hugepageLimits: [{ pageSize: '2MB', limit: 0n }, { pageSize: '1GB', limit: 0n }],
    },
    securityContext: {
      namespaceOptions: { network: POD, pid: CONTAINER, ipc: POD },
      runAsUser: { value: 1000n },
      maskedPaths: KUBELET_MASKED,
      readonlyPaths: KUBELET_READONLY,
      seccomp: { profileType: SecurityProfile_ProfileType.RuntimeDefault },
    },
  },
};

const kubeletSandbox: DeepPartial<PodSandboxConfig> = {
  metadata: { name: 'web', namespace: 'default', uid: 'u1', attempt: 0 },
  hostname: 'web',
  logDirectory: '/var/log/pods/default_web_u1',
  linux: {
    cgroupParent: '/kubepods/burstable/podu1',
    securityContext: { namespaceOptions: { network: POD, pid: CONTAINER, ipc: POD } },
    sysctls: { 'net.ipv4.ip_unprivileged_port_start': '0' },
  },
};

const POD_FILES = { hostname: '/run/krill/pods/p/hostname', hosts: '/run/krill/pods/p/hosts', resolvConf: '/run/krill/pods/p/resolv.conf', shm: '/run/krill/pods/p/shm' };

function input(config: DeepPartial<ContainerConfig> = kubeletConfig, sandbox: DeepPartial<PodSandboxConfig> = kubeletSandbox, over: Partial<ContainerSpecInput> = {}): ContainerSpecInput {
  return {
    containerId: ID,
    sandboxId: POD_ID,
    config: ContainerConfig.fromPartial(config),
    sandboxConfig: PodSandboxConfig.fromPartial(sandbox),
    image: { Cmd: ['sh'], Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'], StopSignal: 'SIGQUIT', WorkingDir: '/srv' },
    imageName: 'docker.io/library/busybox:1.36',
    rootfs: `/var/lib/krill/containers/${ID}/rootfs`,
    cgroupsPath: `/kubepods/burstable/podu1/${ID}`,
    pod: { namespaces: { network: '/run/krill/ns/net/p', ipc: '/run/krill/ns/ipc/p', uts: '/run/krill/ns/uts/p' }, files: POD_FILES },
    resolved: {
      passwd: 'root:x:0:0::/root:/bin/sh\napp:x:1000:1000::/home/app:/bin/sh\n',
      group: 'root:x:0:\napp:x:1000:\nextra:x:2000:app\n',
      hostPaths: {
        '/var/lib/kubelet/pods/u1/volumes/kubernetes.io~empty-dir/data': { realPath: '/var/lib/kubelet/pods/u1/volumes/kubernetes.io~empty-dir/data', propagation: 'private' },
        '/var/lib/kubelet/pods/u1/etc-hosts': { realPath: '/var/lib/kubelet/pods/u1/etc-hosts', propagation: 'private' },
        '/var/lib/kubelet/pods/u1/containers/app/0a1b': { realPath: '/var/lib/kubelet/pods/u1/containers/app/0a1b', propagation: 'private' },
      },
      devices: {},
    },
    host: {
      arch: 'x64',
      kernelVersion: '6.1.0',
      cgroupVersion: 1,
      capabilities: HOST_CAPS,
      seccomp: true,
      appArmor: false,
      recursiveReadOnlyMounts: true,
      idmappedMounts: false,
      swapAccounting: true,
      hugepageSizes: ['2MB', '1GB'],
    },
    options: { runtimeHandler: 'runc', oomScoreAdjFloor: 0 },
    ...over,
  };
}

test('a request naming no seccomp profile is unconfined, as the CRI says; the option can make it RuntimeDefault', () => {
  const none: DeepPartial<ContainerConfig> = { ...kubeletConfig, linux: { ...kubeletConfig.linux, securityContext: { ...kubeletConfig.linux!.securityContext, seccomp: undefined } } };
  expect(buildContainerSpec(input(none)).spec.linux.seccomp).toBeUndefined();
  const strict = buildContainerSpec(input(none, kubeletSandbox, { options: { runtimeHandler: 'runc', oomScoreAdjFloor: 0, seccompDefault: 'RuntimeDefault' } }));
  expect(strict.spec.linux.seccomp!.defaultAction).toBe('SCMP_ACT_ERRNO');
  expect(buildContainerSpec(input()).spec.linux.seccomp!.defaultAction).toBe('SCMP_ACT_ERRNO');
});

describe('an ordinary kubelet container', () => {
  const { spec, user, stopSignal, rootfsDirs, hostDirs } = buildContainerSpec(input());

  test('is plain JSON (no bigint, no undefined) that runc reads', () => {
    expect(JSON.parse(JSON.stringify(spec))).toEqual(spec);
    expect(spec.ociVersion).toBe('1.0.2');
    expect(spec.root).toEqual({ path: `/var/lib/krill/containers/${ID}/rootfs`, readonly: false });
  });
  test('process: args, env, cwd, user, capabilities, oom score', () => {
    expect(spec.process.args).toEqual(['sleep', '3600']);
    expect(spec.process.env).toEqual(['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'HOSTNAME=web', 'FOO=bar']);
    expect(spec.process.cwd).toBe('/srv');
    expect(spec.process.terminal).toBe(false);
    expect(spec.process.user).toEqual({ uid: 1000, gid: 1000, additionalGids: [1000, 2000] });
    expect(user).toEqual({ uid: 1000, gid: 1000, additionalGids: [1000, 2000] });
    expect(spec.process.capabilities!.bounding).toHaveLength(14);
    expect(spec.process.noNewPrivileges).toBe(false);
    expect(spec.process.oomScoreAdj).toBe(968);
    expect(spec.process.rlimits).toBeUndefined();
    expect(spec.process.apparmorProfile).toBeUndefined();
  });
  test('the pod\'s hostname and namespaces', () => {
    expect(spec.hostname).toBe('web');
    expect(spec.linux.namespaces).toEqual([
      { type: 'network', path: '/run/krill/ns/net/p' },
      { type: 'ipc', path: '/run/krill/ns/ipc/p' },
      { type: 'uts', path: '/run/krill/ns/uts/p' },
      { type: 'pid' },
      { type: 'mount' },
    ]);
  });
  test('mounts: kubelet\'s /etc/hosts, the pod\'s hostname, resolv.conf and shm, volumes', () => {
    const byDest = new Map(spec.mounts.map((m) => [m.destination, m]));
    expect(byDest.get('/etc/hosts')!.source).toBe('/var/lib/kubelet/pods/u1/etc-hosts');
    expect(byDest.get('/etc/hostname')!.source).toBe(POD_FILES.hostname);
    expect(byDest.get('/etc/resolv.conf')!.source).toBe(POD_FILES.resolvConf);
    expect(byDest.get('/dev/shm')!.source).toBe(POD_FILES.shm);
    expect(byDest.get('/data')!.options).toEqual(['rbind', 'rprivate', 'rw']);
    expect(byDest.get('/dev/termination-log')!.type).toBe('bind');
    expect(spec.mounts.filter((m) => m.destination === '/etc/hosts')).toHaveLength(1);
    expect(spec.linux.maskedPaths).toEqual(KUBELET_MASKED);
    expect(spec.linux.readonlyPaths).toEqual(KUBELET_READONLY);
  });
  test('resources, cgroup path, devices, seccomp, sysctls', () => {
    expect(spec.linux.cgroupsPath).toBe(`/kubepods/burstable/podu1/${ID}`);
    expect(spec.linux.resources.cpu).toEqual({ shares: 102, quota: 50000, period: 100000 });
    expect(spec.linux.resources.memory).toEqual({ limit: 128 << 20, swap: 128 << 20 });
    expect(spec.linux.resources.hugepageLimits).toEqual([{ pageSize: '2MB', limit: 0 }, { pageSize: '1GB', limit: 0 }]);
    expect(spec.linux.resources.devices[0]).toEqual({ allow: false, access: 'rwm' });
    expect(spec.linux.devices).toBeUndefined();
    expect(spec.linux.seccomp!.defaultAction).toBe('SCMP_ACT_ERRNO');
    expect(spec.linux.sysctl).toEqual({ 'net.ipv4.ip_unprivileged_port_start': '0' });
    expect(spec.linux.rootfsPropagation).toBeUndefined();
  });
  test('annotations, stop signal, directories to create', () => {
    expect(spec.annotations).toEqual({
      'io.kubernetes.cri.container-type': 'container',
      'io.kubernetes.cri.container-name': 'app',
      'io.kubernetes.cri.sandbox-id': POD_ID,
      'io.kubernetes.cri.sandbox-name': 'web',
      'io.kubernetes.cri.sandbox-namespace': 'default',
      'io.kubernetes.cri.sandbox-uid': 'u1',
      'io.kubernetes.cri.image-name': 'docker.io/library/busybox:1.36',
      'io.krill.runtime-handler': 'runc',
    });
    expect(stopSignal).toEqual({ name: 'SIGQUIT', number: 3 });
    expect(rootfsDirs).toEqual(['/srv']);
    expect(hostDirs).toEqual([]);
  });
});

test('ContainerConfig.stop_signal overrides the image\'s STOPSIGNAL', () => {
  const { stopSignal } = buildContainerSpec(input({ ...kubeletConfig, stopSignal: Signal.SIGNAL_SIGUSR1 }));
  expect(stopSignal).toEqual({ name: 'SIGUSR1', number: 10 });
});

describe('security settings end to end', () => {
  test('read-only rootfs, no_new_privs, tty, rlimits, AppArmor default', () => {
    const { spec } = buildContainerSpec(
      input({ ...kubeletConfig, tty: true, linux: { ...kubeletConfig.linux, securityContext: { ...kubeletConfig.linux!.securityContext, readonlyRootfs: true, noNewPrivs: true } } }, kubeletSandbox, {
        options: { runtimeHandler: 'runc', oomScoreAdjFloor: 0, rlimits: [{ type: 'RLIMIT_NOFILE', soft: 1024, hard: 4096 }], appArmorDefaultProfile: 'krill-default' },
        host: { ...input().host, appArmor: true },
      }),
    );
    expect(spec.root.readonly).toBe(true);
    expect(spec.process.noNewPrivileges).toBe(true);
    expect(spec.process.terminal).toBe(true);
    expect(spec.process.env).toContain('TERM=xterm');
    expect(spec.process.rlimits).toEqual([{ type: 'RLIMIT_NOFILE', soft: 1024, hard: 4096 }]);
    expect(spec.process.apparmorProfile).toBe('krill-default');
    expect(spec.mounts.find((m) => m.destination === '/etc/resolv.conf')!.options).toContain('ro');
  });

  test('privileged needs a privileged pod', () => {
    const priv = { ...kubeletConfig, linux: { ...kubeletConfig.linux, securityContext: { ...kubeletConfig.linux!.securityContext, privileged: true } } };
    expect(invalid(() => buildContainerSpec(input(priv)))).toMatch(/^config\.linux\.security_context\.privileged needs a privileged pod/);
  });

  test('privileged: every capability and host device, no seccomp, nothing masked, writable sysfs', () => {
    const priv = { ...kubeletConfig, linux: { ...kubeletConfig.linux, securityContext: { ...kubeletConfig.linux!.securityContext, privileged: true } } };
    const sandbox = { ...kubeletSandbox, linux: { ...kubeletSandbox.linux, securityContext: { ...kubeletSandbox.linux!.securityContext, privileged: true } } };
    const devices = [{ path: '/dev/sda', type: 'b' as const, major: 8, minor: 0, fileMode: 0o660, uid: 0, gid: 6 }];
    const { spec } = buildContainerSpec(input(priv, sandbox, { host: { ...input().host, devices } }));
    expect(spec.process.capabilities!.bounding).toEqual(HOST_CAPS);
    expect(spec.linux.devices).toEqual([{ path: '/dev/sda', type: 'b', major: 8, minor: 0, fileMode: 0o660, uid: 0, gid: 6 }]);
    expect(spec.linux.resources.devices).toEqual([{ allow: true, access: 'rwm' }]);
    expect(spec.linux.seccomp).toBeUndefined();
    expect(spec.linux.maskedPaths).toEqual([]);
    expect(spec.linux.readonlyPaths).toEqual([]);
    expect(spec.mounts.find((m) => m.destination === '/sys')!.options).toContain('rw');
  });
});

describe('other pods and nodes', () => {
  test('a host-network pod: no network or UTS namespace, no hostname set', () => {
    const ns = { network: NODE, pid: CONTAINER, ipc: POD };
    const config = { ...kubeletConfig, linux: { ...kubeletConfig.linux, securityContext: { ...kubeletConfig.linux!.securityContext, namespaceOptions: ns } } };
    const sandbox = { ...kubeletSandbox, linux: { cgroupParent: '/kubepods/podu1', securityContext: { namespaceOptions: ns } } };
    const { spec } = buildContainerSpec(input(config, sandbox, { pod: { namespaces: { ipc: '/run/krill/ns/ipc/p' }, files: POD_FILES } }));
    expect(spec.hostname).toBeUndefined();
    expect(spec.linux.namespaces.map((n) => n.type)).toEqual(['ipc', 'pid', 'mount']);
  });
  test('a minimal crictl request: image Entrypoint and Cmd, root, defaults, the default cgroup parent', () => {
    const { spec, user } = buildContainerSpec(
      input({ metadata: { name: 'c' }, image: { image: 'busybox' } }, { metadata: { name: 'p', namespace: 'n', uid: 'u' } }, {
        image: { Entrypoint: ['/bin/sh', '-c'], Cmd: ['echo hi'] },
        resolved: { hostPaths: {}, devices: {} },
        pod: { namespaces: { network: '/n', ipc: '/i', uts: '/u', pid: '/proc/9/ns/pid' }, files: {} },
      }),
    );
    expect(spec.process.args).toEqual(['/bin/sh', '-c', 'echo hi']);
    expect(user).toEqual({ uid: 0, gid: 0, additionalGids: [0] });
    expect(spec.process.cwd).toBe('/');
    expect(spec.linux.maskedPaths).toEqual(DEFAULT_MASKED_PATHS);
    // Naming no seccomp profile is unconfined (the CRI default).
    expect(spec.linux.seccomp).toBeUndefined();
    expect(spec.hostname).toBeUndefined();
    expect(spec.mounts.find((m) => m.destination === '/dev/shm')!.type).toBe('tmpfs');
  });
  test('the cgroup path is the caller\'s; the handler is named', () => {
    const { spec } = buildContainerSpec(input(kubeletConfig, kubeletSandbox, { cgroupsPath: `kubepods-burstable-podu1.slice:krill:${ID}`, options: { runtimeHandler: 'crun', oomScoreAdjFloor: 0 } }));
    expect(spec.linux.cgroupsPath).toBe(`kubepods-burstable-podu1.slice:krill:${ID}`);
    expect(spec.annotations!['io.krill.runtime-handler']).toBe('crun');
  });
  test('cgroup v2: a cgroup namespace and unified keys', () => {
    const config = { ...kubeletConfig, linux: { ...kubeletConfig.linux, resources: { ...kubeletConfig.linux!.resources, unified: { 'memory.high': '100000000' } } } };
    const { spec } = buildContainerSpec(input(config, kubeletSandbox, { host: { ...input().host, cgroupVersion: 2 } }));
    expect(spec.linux.namespaces.at(-1)).toEqual({ type: 'cgroup' });
    expect(spec.linux.resources.unified).toEqual({ 'memory.high': '100000000' });
  });
  test('a user-namespaced pod gets its mappings', () => {
    const userns = { mode: POD, uids: [{ containerId: 0, hostId: 65536, length: 65536 }], gids: [{ containerId: 0, hostId: 65536, length: 65536 }] };
    const ns = { network: POD, pid: CONTAINER, ipc: POD, usernsOptions: userns };
    const config = { ...kubeletConfig, linux: { ...kubeletConfig.linux, securityContext: { ...kubeletConfig.linux!.securityContext, namespaceOptions: ns } } };
    const sandbox = { ...kubeletSandbox, linux: { ...kubeletSandbox.linux, securityContext: { namespaceOptions: ns } } };
    const base = input();
    const { spec } = buildContainerSpec(input(config, sandbox, { pod: { ...base.pod, namespaces: { ...base.pod.namespaces, user: '/run/krill/ns/user/p' } } }));
    expect(spec.linux.uidMappings).toEqual([{ containerID: 0, hostID: 65536, size: 65536 }]);
    expect(spec.linux.gidMappings).toEqual([{ containerID: 0, hostID: 65536, size: 65536 }]);
    expect(spec.linux.namespaces).toContainEqual({ type: 'user', path: '/run/krill/ns/user/p' });
  });
  test('CDI edits are applied last: the device with its cgroup rule, env, and the groups reported as the user\'s', () => {
    const cdi: CdiEdits = {
      devices: ['example.com/gpu=0'],
      env: ['FOO=cdi', 'GPU=0'],
      deviceNodes: [{ path: '/dev/gpu0', hostPath: '/dev/nvidia0', type: 'c', major: 195, minor: 0, fileMode: 0o666, access: 'rw' }],
      mounts: [{ hostPath: '/usr/lib/libgpu.so', containerPath: '/usr/lib/libgpu.so', options: ['ro', 'bind'], type: '' }],
      hooks: [],
      additionalGids: [44],
    };
    const base = input();
    const { spec, user } = buildContainerSpec(input(kubeletConfig, kubeletSandbox, { resolved: { ...base.resolved, cdi } }));
    expect(spec.process.env).toContain('FOO=cdi');
    expect(spec.process.env).not.toContain('FOO=bar');
    expect(spec.linux.devices).toEqual([{ path: '/dev/gpu0', type: 'c', major: 195, minor: 0, fileMode: 0o666, uid: 1000, gid: 1000 }]);
    expect(spec.linux.resources.devices.at(-1)).toEqual({ allow: true, type: 'c', major: 195, minor: 0, access: 'rw' });
    expect(spec.mounts).toContainEqual({ destination: '/usr/lib/libgpu.so', source: '/usr/lib/libgpu.so', options: ['ro', 'bind'] });
    expect(spec.process.user.additionalGids).toContain(44);
    expect(user.additionalGids).toEqual(spec.process.user.additionalGids);
  });
  test('CDI devices the caller did not resolve are a programming error, not a request without them', () => {
    expect(() => buildContainerSpec(input({ ...kubeletConfig, CDIDevices: [{ name: 'example.com/gpu=0' }] }))).toThrow(/must be resolved first/);
  });
  test('a bad request fails as a whole with the first problem named', () => {
    expect(invalid(() => buildContainerSpec(input({ ...kubeletConfig, workingDir: 'rel' })))).toMatch(/^config\.working_dir/);
    expect(invalid(() => buildContainerSpec(input({ ...kubeletConfig, CDIDevices: [{ name: 'gpu=0' }] })))).toMatch(/^config\.CDI_devices\[0\]\.name: "gpu=0" is not a fully qualified CDI device name/);
    expect(invalid(() => buildContainerSpec(input({ ...kubeletConfig, mounts: [{ containerPath: '/x', hostPath: '/nope' }] })))).toMatch(/config\.mounts\[0\]\.host_path "\/nope" does not exist/);
    expect(invalid(() => buildContainerSpec(input({ ...kubeletConfig, args: [] }, kubeletSandbox, { image: {} })))).toMatch(/^config\.command/);
  });
});

describe('specRequirements tells the caller what to read', () => {
  test('host paths, devices, image mounts and a Localhost seccomp profile', () => {
    const config = ContainerConfig.fromPartial({
      mounts: [{ containerPath: '/a', hostPath: '/srv/a' }, { containerPath: '/img', image: { image: 'sha256:abc' } }],
      devices: [{ hostPath: '/dev/fuse', containerPath: '/dev/fuse' }],
      linux: { securityContext: { seccomp: { profileType: SecurityProfile_ProfileType.Localhost, localhostRef: '/var/lib/kubelet/seccomp/p.json' } } },
    });
    expect(specRequirements(config)).toEqual({
      hostPaths: ['/srv/a'],
      devicePaths: ['/dev/fuse'],
      imageMounts: ['sha256:abc'],
      seccompProfile: '/var/lib/kubelet/seccomp/p.json',
      hostDevices: false,
      cdiDevices: false,
    });
  });
  test('privileged: host devices, and no seccomp file', () => {
    const config = ContainerConfig.fromPartial({ linux: { securityContext: { privileged: true, seccompProfilePath: 'localhost//p.json' } } });
    expect(specRequirements(config)).toEqual({ hostPaths: [], devicePaths: [], imageMounts: [], hostDevices: true, cdiDevices: false });
  });
  test('CDI devices, by the field or by annotation', () => {
    expect(specRequirements(ContainerConfig.fromPartial({ CDIDevices: [{ name: 'example.com/gpu=0' }] })).cdiDevices).toBe(true);
    expect(specRequirements(ContainerConfig.fromPartial({ annotations: { 'cdi.k8s.io/gpu': 'example.com/gpu=0' } })).cdiDevices).toBe(true);
    expect(specRequirements(ContainerConfig.fromPartial({ annotations: { 'example.com/gpu': 'example.com/gpu=0' } })).cdiDevices).toBe(false);
  });
});
