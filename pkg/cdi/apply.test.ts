import type { Spec } from '../oci/runtime_spec';
import { applyCdiEdits } from './apply';
import type { CdiEdits, DeviceNodeEdit } from './edits';

const base = (): Spec => ({
  ociVersion: '1.0.2',
  process: { user: { uid: 1000, gid: 2000, additionalGids: [2000] }, args: ['sh'], env: ['PATH=/bin', 'FOO=image', 'FOO=request'], cwd: '/' },
  root: { path: '/rootfs' },
  mounts: [
    { destination: '/proc', type: 'proc', source: 'proc' },
    { destination: '/dev', type: 'tmpfs', source: 'tmpfs' },
    { destination: '/data/sub', type: 'bind', source: '/srv/sub', options: ['rbind'] },
    { destination: '/data', type: 'bind', source: '/srv/data', options: ['rbind'] },
  ],
  linux: {
    namespaces: [],
    devices: [{ path: '/dev/fuse', type: 'c', major: 10, minor: 229 }],
    resources: { devices: [{ allow: false, access: 'rwm' }] },
  },
});
const edits = (over: Partial<CdiEdits> = {}): CdiEdits => ({ devices: ['example.com/gpu=0'], env: [], deviceNodes: [], mounts: [], hooks: [], additionalGids: [], ...over });
const dev = (over: Partial<DeviceNodeEdit> = {}): DeviceNodeEdit => ({ path: '/dev/gpu0', hostPath: '/dev/nvidia0', type: 'c', major: 195, minor: 0, access: 'rwm', ...over });

describe('applyCdiEdits', () => {
  test('env replaces the variable of the same name (the last one) or is appended', () => {
    const spec = applyCdiEdits(base(), edits({ env: ['FOO=cdi', 'GPU=0', 'GPU=1'] }), { userNamespace: false });
    expect(spec.process.env).toEqual(['PATH=/bin', 'FOO=image', 'FOO=cdi', 'GPU=1']);
  });

  test("device nodes replace one at the same path, belong to the container's user unless the spec says, and are allowed in the device cgroup", () => {
    const spec = applyCdiEdits(
      base(),
      edits({ deviceNodes: [dev(), dev({ path: '/dev/fuse', hostPath: '/dev/fuse', major: 10, minor: 229, access: 'rw', uid: 0, gid: 0, fileMode: 0o666 }), dev({ path: '/dev/pipe', type: 'p', major: 0, access: 'rwm' }), dev({ path: '/dev/u', type: 'u', major: 4, minor: 1, access: '' })] }),
      { userNamespace: false },
    );
    expect(spec.linux.devices).toEqual([
      { path: '/dev/gpu0', type: 'c', major: 195, minor: 0, uid: 1000, gid: 2000 },
      { path: '/dev/fuse', type: 'c', major: 10, minor: 229, fileMode: 0o666, uid: 0, gid: 0 },
      { path: '/dev/pipe', type: 'p', major: 0, minor: 0, uid: 1000, gid: 2000 },
      { path: '/dev/u', type: 'u', major: 4, minor: 1, uid: 1000, gid: 2000 },
    ]);
    expect(spec.linux.resources.devices).toEqual([
      { allow: false, access: 'rwm' },
      { allow: true, type: 'c', major: 195, minor: 0, access: 'rwm' },
      { allow: true, type: 'c', major: 10, minor: 229, access: 'rw' },
    ]);
  });

  test('in a user namespace device nodes are bind-mounted from their host path', () => {
    const spec = applyCdiEdits(base(), edits({ deviceNodes: [dev()] }), { userNamespace: true });
    expect(spec.linux.devices).toEqual([{ path: '/dev/fuse', type: 'c', major: 10, minor: 229 }]);
    expect(spec.mounts).toContainEqual({ destination: '/dev/gpu0', type: 'bind', source: '/dev/nvidia0', options: ['bind', 'rprivate', 'nosuid', 'noexec'] });
    expect(spec.linux.resources.devices).toContainEqual({ allow: true, type: 'c', major: 195, minor: 0, access: 'rwm' });
  });

  test('mounts replace one at the same destination, then every mount is ordered parents first (stable)', () => {
    const spec = applyCdiEdits(
      base(),
      edits({ mounts: [{ hostPath: '/usr/lib/gpu', containerPath: '/usr/lib/gpu', options: ['ro', 'bind'], type: '' }, { hostPath: '/srv/cdi', containerPath: '/data/sub', options: [], type: 'tmpfs' }] }),
      { userNamespace: false },
    );
    expect(spec.mounts.map((m) => [m.destination, m.source])).toEqual([
      ['/proc', 'proc'],
      ['/dev', 'tmpfs'],
      ['/data', '/srv/data'],
      ['/data/sub', '/srv/cdi'],
      ['/usr/lib/gpu', '/usr/lib/gpu'],
    ]);
    expect(spec.mounts[3]).toEqual({ destination: '/data/sub', source: '/srv/cdi', type: 'tmpfs' });
    expect(spec.mounts[4]).toEqual({ destination: '/usr/lib/gpu', source: '/usr/lib/gpu', options: ['ro', 'bind'] });
  });

  test('without CDI mounts the mount order is left alone', () => {
    expect(applyCdiEdits(base(), edits({ env: ['A=1'] }), { userNamespace: false }).mounts).toEqual(base().mounts);
  });

  test('hooks by name, additional groups once (0 ignored), Intel RDT', () => {
    const spec = applyCdiEdits(
      base(),
      edits({
        hooks: [
          { hookName: 'createContainer', path: '/usr/bin/hook', args: ['hook', 'ldcache'], env: [], timeout: 5 },
          { hookName: 'createContainer', path: '/usr/bin/hook2', args: [], env: ['A=1'] },
          { hookName: 'poststop', path: '/usr/bin/cleanup', args: [], env: [] },
        ],
        additionalGids: [44, 0, 2000, 44],
        intelRdt: { closID: 'gold', l3CacheSchema: 'L3:0=f', memBwSchema: '', enableMonitoring: false },
      }),
      { userNamespace: false },
    );
    expect(spec.hooks).toEqual({
      createContainer: [{ path: '/usr/bin/hook', args: ['hook', 'ldcache'], timeout: 5 }, { path: '/usr/bin/hook2', env: ['A=1'] }],
      poststop: [{ path: '/usr/bin/cleanup' }],
    });
    expect(spec.process.user.additionalGids).toEqual([2000, 44]);
    expect(spec.linux.intelRdt).toEqual({ closID: 'gold', l3CacheSchema: 'L3:0=f' });
  });

  test('the input spec is not changed', () => {
    const input = base();
    applyCdiEdits(input, edits({ env: ['FOO=x'], deviceNodes: [dev()], mounts: [{ hostPath: '/a', containerPath: '/a', options: [], type: '' }], additionalGids: [5] }), { userNamespace: false });
    expect(input).toEqual(base());
  });
});
