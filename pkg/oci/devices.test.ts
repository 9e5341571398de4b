import { Device as CriDevice } from '../../api/runtime/v1/api';
import { invalidArgumentMessage as invalid } from '../errors/testing';
import { buildDevices, DEFAULT_DEVICE_RULES, type HostDevice } from './devices';

const fuse: HostDevice = { path: '/dev/fuse', type: 'c', major: 10, minor: 229, fileMode: 0o666, uid: 0, gid: 0 };
const snd = [
  { path: '/dev/snd/controlC0', type: 'c', major: 116, minor: 2, fileMode: 0o660, uid: 0, gid: 29 },
  { path: '/dev/snd/timer', type: 'c', major: 116, minor: 33, fileMode: 0o660, uid: 0, gid: 29 },
] satisfies HostDevice[];
const sda: HostDevice = { path: '/dev/disk/by-id/x', type: 'b', major: 8, minor: 0, fileMode: 0o660, uid: 0, gid: 6 };
const resolved = { '/dev/fuse': [fuse], '/dev/snd': snd, '/dev/disk/by-id/x': [sda] };
const dev = (hostPath: string, containerPath: string, permissions = ''): CriDevice => ({ hostPath, containerPath, permissions });

test('unprivileged: deny all but the defaults', () => {
  const r = buildDevices({ devices: [], resolved, privileged: false, hostDevices: undefined, userNamespace: false });
  expect(r.devices).toEqual([]);
  expect(r.rules).toEqual(DEFAULT_DEVICE_RULES);
  expect(r.rules[0]).toEqual({ allow: false, access: 'rwm' });
  // null, zero, full, random, urandom, tty, console, ptmx and the pts; no tun.
  expect(r.rules.filter((x) => x.allow && x.major !== undefined).map((x) => `${x.major}:${x.minor ?? '*'}`)).toEqual([
    '1:3', '1:5', '1:7', '1:8', '1:9', '5:0', '5:1', '5:2', '136:*',
  ]);
});

test('a requested device: the node at the container path and a cgroup rule with its permissions', () => {
  const r = buildDevices({ devices: [dev('/dev/fuse', '/dev/myfuse', 'rw')], resolved, privileged: false, hostDevices: undefined, userNamespace: false });
  expect(r.devices).toEqual([{ path: '/dev/myfuse', type: 'c', major: 10, minor: 229, fileMode: 0o666, uid: 0, gid: 0 }]);
  expect(r.rules.at(-1)).toEqual({ allow: true, type: 'c', major: 10, minor: 229, access: 'rw' });
});

test('empty permissions mean rwm; an empty container path means the host path', () => {
  const r = buildDevices({ devices: [dev('/dev/disk/by-id/x', '')], resolved, privileged: false, hostDevices: undefined, userNamespace: false });
  expect(r.devices[0]!.path).toBe('/dev/disk/by-id/x');
  expect(r.rules.at(-1)).toEqual({ allow: true, type: 'b', major: 8, minor: 0, access: 'rwm' });
});

test('a directory brings every device under it, at the same relative paths', () => {
  const r = buildDevices({ devices: [dev('/dev/snd', '/dev/sound', 'r')], resolved, privileged: false, hostDevices: undefined, userNamespace: false });
  expect(r.devices.map((d) => d.path)).toEqual(['/dev/sound/controlC0', '/dev/sound/timer']);
  expect(r.rules.slice(-2).map((x) => `${x.major}:${x.minor}:${x.access}`)).toEqual(['116:2:r', '116:33:r']);
});

test('bad devices are InvalidArgument naming the entry', () => {
  const build = (d: CriDevice) => buildDevices({ devices: [dev('/dev/fuse', '/dev/fuse'), d], resolved, privileged: false, hostDevices: undefined, userNamespace: false });
  expect(invalid(() => build(dev('/dev/nope', '/dev/nope')))).toBe('config.devices[1].host_path "/dev/nope" is not a device on this node');
  expect(invalid(() => build(dev('dev/fuse', '/dev/fuse')))).toMatch(/config\.devices\[1\]\.host_path "dev\/fuse" is not an absolute path/);
  expect(invalid(() => build(dev('/dev/fuse', 'fuse')))).toMatch(/config\.devices\[1\]\.container_path/);
  expect(invalid(() => build(dev('/dev/fuse', '/dev/fuse', 'rx')))).toMatch(/config\.devices\[1\]\.permissions "rx"/);
  expect(invalid(() => build(dev('/dev/fuse', '/dev/fuse', 'rr')))).toMatch(/permissions "rr"/);
});

test('privileged: every host device, every access allowed; requested paths keep their request', () => {
  const host: HostDevice[] = [fuse, { path: '/dev/null', type: 'c', major: 1, minor: 3, fileMode: 0o666, uid: 0, gid: 0 }];
  const r = buildDevices({ devices: [dev('/dev/disk/by-id/x', '/dev/fuse')], resolved, privileged: true, hostDevices: host, userNamespace: false });
  expect(r.rules).toEqual([{ allow: true, access: 'rwm' }]);
  expect(r.devices.map((d) => `${d.path}=${d.major}:${d.minor}`)).toEqual(['/dev/null=1:3', '/dev/fuse=8:0']);
  expect(() => buildDevices({ devices: [], resolved, privileged: true, hostDevices: undefined, userNamespace: false })).toThrow(/host device list/);
});

test('in a user namespace, requested devices are bound from the host, still allowed in the cgroup', () => {
  const r = buildDevices({ devices: [dev('/dev/fuse', '/dev/myfuse', 'rw'), dev('/dev/snd', '/dev/sound')], resolved, privileged: false, hostDevices: undefined, userNamespace: true });
  expect(r.devices).toEqual([]);
  expect(r.mounts).toEqual([
    { destination: '/dev/myfuse', type: 'bind', source: '/dev/fuse', options: ['bind', 'rprivate', 'nosuid', 'noexec'] },
    { destination: '/dev/sound/controlC0', type: 'bind', source: '/dev/snd/controlC0', options: ['bind', 'rprivate', 'nosuid', 'noexec'] },
    { destination: '/dev/sound/timer', type: 'bind', source: '/dev/snd/timer', options: ['bind', 'rprivate', 'nosuid', 'noexec'] },
  ]);
  expect(r.rules.at(-3)).toEqual({ allow: true, type: 'c', major: 10, minor: 229, access: 'rw' });
});
