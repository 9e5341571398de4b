import { ContainerConfig, MountPropagation, type DeepPartial } from '../../api/runtime/v1/api';
import { invalidArgumentMessage as invalid } from '../errors/testing';
import { buildMounts, DEFAULT_MASKED_PATHS, DEFAULT_READONLY_PATHS, type HostPathInfo, type MountInput } from './mounts';
import type { NamespaceResult } from './namespaces';

const podNs: NamespaceResult = { namespaces: [], hostNetwork: false, hostIpc: false, hostUts: false, hostPid: false, userNamespace: false };

const HOST: Record<string, HostPathInfo> = {
  '/data': { realPath: '/data', propagation: 'private' },
  '/link': { realPath: '/srv/real', propagation: 'private' },
  '/slave': { realPath: '/slave', propagation: 'slave' },
  '/shared': { realPath: '/shared', propagation: 'shared' },
};

type ConfigPartial = DeepPartial<ContainerConfig>;

function input(config: ConfigPartial, over: Partial<MountInput> = {}): MountInput {
  return {
    config: ContainerConfig.fromPartial(config),
    image: {},
    podFiles: {},
    hostPaths: HOST,
    imageMounts: {},
    namespaces: podNs,
    recursiveReadOnlyMounts: true,
    idmappedMounts: false,
    imageVolumes: { mode: 'mkdir' },
    ...over,
  };
}

const build = (config: ConfigPartial, over: Partial<MountInput> = {}) => buildMounts(input(config, over));
const find = (r: ReturnType<typeof buildMounts>, dest: string) => r.mounts.filter((m) => m.destination === dest);

describe('default mounts', () => {
  test('proc, dev, devpts, shm, mqueue, a read-only sysfs and cgroup', () => {
    const r = build({});
    expect(r.mounts.map((m) => [m.destination, m.type])).toEqual([
      ['/proc', 'proc'],
      ['/dev', 'tmpfs'],
      ['/dev/pts', 'devpts'],
      ['/dev/shm', 'tmpfs'],
      ['/dev/mqueue', 'mqueue'],
      ['/sys', 'sysfs'],
      ['/sys/fs/cgroup', 'cgroup'],
    ]);
    expect(find(r, '/sys')[0]!.options).toContain('ro');
    expect(find(r, '/sys/fs/cgroup')[0]!.options).toContain('ro');
    expect(find(r, '/dev/pts')[0]!.options).toContain('gid=5');
    expect(r.rootfsPropagation).toBeUndefined();
  });
  test('privileged: writable sysfs and cgroups, nothing masked or read-only', () => {
    const r = build({ linux: { securityContext: { privileged: true, maskedPaths: ['/x'] } } });
    expect(find(r, '/sys')[0]!.options).toContain('rw');
    expect(find(r, '/sys/fs/cgroup')[0]!.options).toContain('rw');
    expect(r.maskedPaths).toEqual([]);
    expect(r.readonlyPaths).toEqual([]);
  });
  test('a user namespace on the node network binds /sys instead of mounting sysfs', () => {
    const r = build({}, { namespaces: { ...podNs, userNamespace: true, hostNetwork: true } });
    expect(find(r, '/sys')[0]).toEqual({ destination: '/sys', type: 'bind', source: '/sys', options: ['rbind', 'rro', 'nosuid', 'nodev', 'noexec'] });
    const noRro = build({}, { namespaces: { ...podNs, userNamespace: true, hostNetwork: true }, recursiveReadOnlyMounts: false });
    expect(find(noRro, '/sys')[0]!.options).toContain('ro');
  });
  test('devpts drops gid=5 when the user namespace does not map it', () => {
    const unmapped = { ...podNs, userNamespace: true, gidMappings: [{ containerID: 0, hostID: 100000, size: 1 }] };
    expect(find(build({}, { namespaces: unmapped }), '/dev/pts')[0]!.options).not.toContain('gid=5');
    const mapped = { ...podNs, userNamespace: true, gidMappings: [{ containerID: 0, hostID: 100000, size: 65536 }] };
    expect(find(build({}, { namespaces: mapped }), '/dev/pts')[0]!.options).toContain('gid=5');
  });
  test('a request mount replaces the default at the same path; a /dev mount replaces all under /dev', () => {
    const shm = build({ mounts: [{ containerPath: '/dev/shm', hostPath: '/data' }] });
    expect(find(shm, '/dev/shm')).toEqual([{ destination: '/dev/shm', type: 'bind', source: '/data', options: ['rbind', 'rprivate', 'rw'] }]);
    const dev = build({ mounts: [{ containerPath: '/dev', hostPath: '/data' }] });
    expect(dev.mounts.filter((m) => m.destination.startsWith('/dev')).map((m) => m.destination)).toEqual(['/dev']);
    expect(find(dev, '/dev')[0]!.type).toBe('bind');
  });
});

describe('the pod\'s files', () => {
  const files = { hostname: '/run/pod/hostname', hosts: '/run/pod/hosts', resolvConf: '/run/pod/resolv.conf', shm: '/run/pod/shm' };
  test('hostname, hosts, resolv.conf and shm are bound from the pod', () => {
    const r = build({}, { podFiles: files });
    expect(find(r, '/etc/hostname')).toEqual([{ destination: '/etc/hostname', type: 'bind', source: '/run/pod/hostname', options: ['rbind', 'rprivate', 'rw'] }]);
    expect(find(r, '/etc/hosts')[0]!.source).toBe('/run/pod/hosts');
    expect(find(r, '/etc/resolv.conf')[0]!.source).toBe('/run/pod/resolv.conf');
    expect(find(r, '/dev/shm')).toEqual([{ destination: '/dev/shm', type: 'bind', source: '/run/pod/shm', options: ['rbind', 'rprivate', 'rw'] }]);
  });
  test('read-only with a read-only rootfs (shm stays writable)', () => {
    const r = build({ linux: { securityContext: { readonlyRootfs: true } } }, { podFiles: files });
    expect(find(r, '/etc/hosts')[0]!.options).toContain('ro');
    expect(find(r, '/etc/resolv.conf')[0]!.options).toContain('ro');
    expect(find(r, '/dev/shm')[0]!.options).toContain('rw');
  });
  test('host IPC uses the node\'s /dev/shm', () => {
    const r = build({}, { podFiles: files, namespaces: { ...podNs, hostIpc: true } });
    expect(find(r, '/dev/shm')[0]!.source).toBe('/dev/shm');
  });
  test('kubelet\'s own /etc/hosts wins over the pod\'s', () => {
    const r = build({ mounts: [{ containerPath: '/etc/hosts', hostPath: '/data' }] }, { podFiles: files });
    expect(find(r, '/etc/hosts')).toEqual([{ destination: '/etc/hosts', type: 'bind', source: '/data', options: ['rbind', 'rprivate', 'rw'] }]);
  });
});

describe('kubelet mounts', () => {
  test('a bind mount of the resolved host path, read-write or read-only', () => {
    const r = build({ mounts: [{ containerPath: '/a/', hostPath: '/link' }, { containerPath: '/b', hostPath: '/data', readonly: true }] });
    expect(find(r, '/a')).toEqual([{ destination: '/a', type: 'bind', source: '/srv/real', options: ['rbind', 'rprivate', 'rw'] }]);
    expect(find(r, '/b')[0]!.options).toEqual(['rbind', 'rprivate', 'ro']);
  });
  test('mount_options that take permissions away are applied; "ro" makes the mount read-only; others are refused', () => {
    const r = build({ mounts: [{ containerPath: '/a', hostPath: '/data', mountOptions: ['noexec', 'nosuid', 'ro', 'noexec'] }] });
    expect(find(r, '/a')[0]!.options).toEqual(['rbind', 'rprivate', 'ro', 'noexec', 'nosuid']);
    expect(invalid(() => build({ mounts: [{ containerPath: '/a', hostPath: '/data', mountOptions: ['suid'] }] }))).toMatch(/config\.mounts\[0\]\.mount_options: "suid" is not one Krill applies/);
    expect(invalid(() => build({ mounts: [{ containerPath: '/a', hostPath: '/data', mountOptions: ['exec'] }] }))).toMatch(/"exec"/);
  });
  test('image_sub_path without an image is refused', () => {
    expect(invalid(() => build({ mounts: [{ containerPath: '/a', hostPath: '/data', imageSubPath: 'x' }] }))).toMatch(/image_sub_path is set without an image/);
  });
  test('a host path that does not exist is InvalidArgument naming it', () => {
    expect(invalid(() => build({ mounts: [{ containerPath: '/a', hostPath: '/data' }, { containerPath: '/b', hostPath: '/missing' }] }))).toBe(
      'config.mounts[1].host_path "/missing" does not exist',
    );
  });
  test('bad paths and duplicates are refused', () => {
    expect(invalid(() => build({ mounts: [{ containerPath: 'rel', hostPath: '/data' }] }))).toMatch(/^config\.mounts\[0\]\.container_path "rel"/);
    expect(invalid(() => build({ mounts: [{ containerPath: '/a', hostPath: 'rel' }] }))).toMatch(/^config\.mounts\[0\]\.host_path "rel"/);
    expect(invalid(() => build({ mounts: [{ containerPath: '/a/..', hostPath: '/data' }] }))).toMatch(/must not be \//);
    expect(invalid(() => build({ mounts: [{ containerPath: '/a', hostPath: '/data' }, { containerPath: '/a/', hostPath: '/data' }] }))).toMatch(
      /config\.mounts\[1\]\.container_path \/a is already mounted by config\.mounts\[0\]/,
    );
  });
  test('propagation private: rprivate, the rootfs stays as it is', () => {
    const r = build({ mounts: [{ containerPath: '/a', hostPath: '/shared', propagation: MountPropagation.PROPAGATION_PRIVATE }] });
    expect(find(r, '/a')[0]!.options).toEqual(['rbind', 'rprivate', 'rw']);
    expect(r.rootfsPropagation).toBeUndefined();
  });
  test('propagation host-to-container: rslave, needs a shared or slave source', () => {
    for (const hostPath of ['/slave', '/shared']) {
      const r = build({ mounts: [{ containerPath: '/a', hostPath, propagation: MountPropagation.PROPAGATION_HOST_TO_CONTAINER }] });
      expect(find(r, '/a')[0]!.options).toEqual(['rbind', 'rslave', 'rw']);
      expect(r.rootfsPropagation).toBe('rslave');
    }
    expect(invalid(() => build({ mounts: [{ containerPath: '/a', hostPath: '/data', propagation: MountPropagation.PROPAGATION_HOST_TO_CONTAINER }] }))).toMatch(
      /^config\.mounts\[0\]: propagation HOST_TO_CONTAINER needs "\/data" on a shared or slave mount/,
    );
  });
  test('propagation bidirectional: rshared, needs a shared source', () => {
    const r = build({ mounts: [{ containerPath: '/a', hostPath: '/shared', propagation: MountPropagation.PROPAGATION_BIDIRECTIONAL }] });
    expect(find(r, '/a')[0]!.options).toEqual(['rbind', 'rshared', 'rw']);
    expect(r.rootfsPropagation).toBe('rshared');
    for (const hostPath of ['/data', '/slave']) {
      expect(invalid(() => build({ mounts: [{ containerPath: '/a', hostPath, propagation: MountPropagation.PROPAGATION_BIDIRECTIONAL }] }))).toMatch(
        /propagation BIDIRECTIONAL needs .* on a shared mount/,
      );
    }
  });
  test('rshared wins for the rootfs whatever the order', () => {
    const m = (containerPath: string, hostPath: string, propagation: MountPropagation) => ({ containerPath, hostPath, propagation });
    const a = build({ mounts: [m('/a', '/shared', MountPropagation.PROPAGATION_BIDIRECTIONAL), m('/b', '/slave', MountPropagation.PROPAGATION_HOST_TO_CONTAINER)] });
    const b = build({ mounts: [m('/b', '/slave', MountPropagation.PROPAGATION_HOST_TO_CONTAINER), m('/a', '/shared', MountPropagation.PROPAGATION_BIDIRECTIONAL)] });
    expect(a.rootfsPropagation).toBe('rshared');
    expect(b.rootfsPropagation).toBe('rshared');
  });
  test('an unknown propagation is refused', () => {
    expect(invalid(() => build({ mounts: [{ containerPath: '/a', hostPath: '/data', propagation: 7 as MountPropagation }] }))).toMatch(/config\.mounts\[0\]\.propagation 7/);
  });
  test('recursive read-only: rro, only read-only, private and where supported', () => {
    const rro = { containerPath: '/a', hostPath: '/data', readonly: true, recursiveReadOnly: true };
    expect(find(build({ mounts: [rro] }), '/a')[0]!.options).toEqual(['rbind', 'rprivate', 'rro']);
    expect(invalid(() => build({ mounts: [{ ...rro, readonly: false }] }))).toMatch(/recursive_read_only needs readonly/);
    expect(invalid(() => build({ mounts: [{ ...rro, hostPath: '/shared', propagation: MountPropagation.PROPAGATION_HOST_TO_CONTAINER }] }))).toMatch(/needs propagation PROPAGATION_PRIVATE/);
    expect(invalid(() => build({ mounts: [rro] }, { recursiveReadOnlyMounts: false }))).toMatch(/recursive_read_only is not supported/);
  });
  test('ID-mapped mounts need runtime support and both mappings', () => {
    const idm = { containerPath: '/a', hostPath: '/data', uidMappings: [{ containerId: 0, hostId: 1000, length: 10 }], gidMappings: [{ containerId: 0, hostId: 1000, length: 10 }] };
    expect(invalid(() => build({ mounts: [idm] }))).toMatch(/ID-mapped mounts are not supported/);
    const r = build({ mounts: [idm] }, { idmappedMounts: true });
    expect(find(r, '/a')[0]!.uidMappings).toEqual([{ containerID: 0, hostID: 1000, size: 10 }]);
    expect(invalid(() => build({ mounts: [{ ...idm, gidMappings: [] }] }, { idmappedMounts: true }))).toMatch(/needs both/);
  });
  test('image mounts: the caller\'s directory, always read-only', () => {
    const r = build({ mounts: [{ containerPath: '/img', image: { image: 'sha256:abc' } }] }, { imageMounts: { 'sha256:abc': '/var/lib/krill/img' } });
    expect(find(r, '/img')).toEqual([{ destination: '/img', type: 'bind', source: '/var/lib/krill/img', options: ['rbind', 'rprivate', 'ro'] }]);
    expect(invalid(() => build({ mounts: [{ containerPath: '/img', image: { image: 'sha256:abc' } }] }))).toMatch(/config\.mounts\[0\]\.image "sha256:abc" is not available/);
    expect(invalid(() => build({ mounts: [{ containerPath: '/img', hostPath: '/data', image: { image: 'x' } }] }))).toMatch(/mutually exclusive/);
  });
  test('parents come before children; defaults first', () => {
    const r = build({ mounts: [{ containerPath: '/a/b/c', hostPath: '/data' }, { containerPath: '/a', hostPath: '/data' }, { containerPath: '/z/y', hostPath: '/data' }] });
    expect(r.mounts.slice(7).map((m) => m.destination)).toEqual(['/a', '/z/y', '/a/b/c']);
  });
});

describe('image volumes', () => {
  const image = { Volumes: { '/var/lib/db': {}, '/cache/': {}, '/covered': {} } };
  const mounts = [{ containerPath: '/covered', hostPath: '/data' }];
  test('mkdir: directories to create in the rootfs, skipping covered ones', () => {
    const r = build({ mounts }, { image });
    expect(r.rootfsDirs).toEqual(['/var/lib/db', '/cache']);
    expect(r.hostDirs).toEqual([]);
    expect(find(r, '/var/lib/db')).toEqual([]);
  });
  test('bind: fresh host directories bound in', () => {
    const r = build({ mounts }, { image, imageVolumes: { mode: 'bind', hostDir: '/var/lib/krill/c1/volumes/' } });
    expect(r.hostDirs).toEqual(['/var/lib/krill/c1/volumes/%2Fvar%2Flib%2Fdb', '/var/lib/krill/c1/volumes/%2Fcache']);
    expect(find(r, '/var/lib/db')).toEqual([
      { destination: '/var/lib/db', type: 'bind', source: '/var/lib/krill/c1/volumes/%2Fvar%2Flib%2Fdb', options: ['rbind', 'rprivate', 'rw'] },
    ]);
    expect(r.rootfsDirs).toEqual([]);
  });
  test('ignore: nothing', () => {
    const r = build({ mounts }, { image, imageVolumes: { mode: 'ignore' } });
    expect(r.rootfsDirs).toEqual([]);
    expect(r.hostDirs).toEqual([]);
  });
});

describe('masked and read-only paths', () => {
  test('the defaults', () => {
    const r = build({});
    expect(r.maskedPaths).toEqual(DEFAULT_MASKED_PATHS);
    expect(r.readonlyPaths).toEqual(DEFAULT_READONLY_PATHS);
    expect(r.maskedPaths).toContain('/proc/kcore');
    expect(r.readonlyPaths).toContain('/proc/sys');
  });
  test('the request\'s lists replace them', () => {
    const r = build({ linux: { securityContext: { maskedPaths: ['/bin/ls'], readonlyPaths: ['/tmp/'] } } });
    expect(r.maskedPaths).toEqual(['/bin/ls']);
    expect(r.readonlyPaths).toEqual(['/tmp']);
  });
  test('relative entries are refused', () => {
    expect(invalid(() => build({ linux: { securityContext: { maskedPaths: ['/ok', 'proc/x'] } } }))).toMatch(/^config\.linux\.security_context\.masked_paths\[1\]/);
    expect(invalid(() => build({ linux: { securityContext: { readonlyPaths: ['x'] } } }))).toMatch(/readonly_paths\[0\]/);
  });
});
