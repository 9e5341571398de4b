import { CdiSpecError, parseSpec } from './spec';
import { minimumVersion } from './version';

/** What nvidia-ctk writes, in short. */
const NVIDIA_YAML = `---
cdiVersion: 0.5.0
kind: nvidia.com/gpu
devices:
- name: "0"
  containerEdits:
    deviceNodes:
    - path: /dev/nvidia0
- name: all
  containerEdits:
    deviceNodes:
    - path: /dev/nvidia0
containerEdits:
  env:
  - NVIDIA_VISIBLE_DEVICES=void
  deviceNodes:
  - path: /dev/nvidiactl
  hooks:
  - hookName: createContainer
    path: /usr/bin/nvidia-cdi-hook
    args: [nvidia-cdi-hook, update-ldcache, --folder, /usr/lib/x86_64-linux-gnu]
  mounts:
  - hostPath: /usr/lib/x86_64-linux-gnu/libcuda.so.550.54.15
    containerPath: /usr/lib/x86_64-linux-gnu/libcuda.so.550.54.15
    options: [ro, nosuid, nodev, bind]
`;

const minimal = (over: Record<string, unknown> = {}, device: Record<string, unknown> = {}): string =>
  JSON.stringify({ cdiVersion: '0.6.0', kind: 'example.com/dev', devices: [{ name: 'one', containerEdits: { env: ['A=1'] }, ...device }], ...over });

function problem(text: string): string {
  try {
    parseSpec(text);
  } catch (err) {
    if (err instanceof CdiSpecError) return err.message;
    throw err;
  }
  throw new Error('expected the spec to be refused');
}

describe('parseSpec', () => {
  test('a YAML spec as device vendors write them', () => {
    const spec = parseSpec(NVIDIA_YAML);
    expect(spec.kind).toBe('nvidia.com/gpu');
    expect(spec.devices.map((d) => d.name)).toEqual(['0', 'all']);
    expect(spec.devices[0]!.containerEdits.deviceNodes).toEqual([{ path: '/dev/nvidia0', hostPath: '', type: '', major: 0, minor: 0, permissions: '' }]);
    expect(spec.containerEdits.hooks).toEqual([
      { hookName: 'createContainer', path: '/usr/bin/nvidia-cdi-hook', args: ['nvidia-cdi-hook', 'update-ldcache', '--folder', '/usr/lib/x86_64-linux-gnu'], env: [] },
    ]);
    expect(spec.containerEdits.mounts[0]).toEqual({
      hostPath: '/usr/lib/x86_64-linux-gnu/libcuda.so.550.54.15',
      containerPath: '/usr/lib/x86_64-linux-gnu/libcuda.so.550.54.15',
      options: ['ro', 'nosuid', 'nodev', 'bind'],
      type: '',
    });
    expect(spec.containerEdits.env).toEqual(['NVIDIA_VISIBLE_DEVICES=void']);
  });

  test('JSON is read the same way, every field of every version', () => {
    const spec = parseSpec(
      JSON.stringify({
        cdiVersion: '1.1.0',
        kind: 'example.com/all.fields',
        annotations: { a: 'b' },
        devices: [
          {
            name: 'x',
            annotations: { c: 'd' },
            containerEdits: {
              deviceNodes: [{ path: '/dev/x', hostPath: '/dev/null', type: 'c', major: 1, minor: 3, fileMode: 0o620, permissions: 'rw', uid: 1, gid: 2 }],
              netDevices: [{ hostInterfaceName: 'eth1', name: 'net1' }],
              intelRdt: { closID: 'gold', schemata: ['L3:0=f'], enableMonitoring: true },
              additionalGids: [5, 0],
            },
          },
        ],
        containerEdits: { hooks: [{ hookName: 'poststop', path: '/bin/true', env: ['X=1'], timeout: 5 }] },
      }),
    );
    expect(spec.devices[0]!.containerEdits).toMatchObject({
      deviceNodes: [{ path: '/dev/x', hostPath: '/dev/null', type: 'c', major: 1, minor: 3, fileMode: 0o620, permissions: 'rw', uid: 1, gid: 2 }],
      netDevices: [{ hostInterfaceName: 'eth1', name: 'net1' }],
      intelRdt: { closID: 'gold', l3CacheSchema: '', memBwSchema: '', schemata: ['L3:0=f'], enableMonitoring: true },
      additionalGids: [5, 0],
    });
    expect(spec.containerEdits.hooks[0]).toEqual({ hookName: 'poststop', path: '/bin/true', args: [], env: ['X=1'], timeout: 5 });
  });

  test('YAML is read as YAML 1.1, as the reference implementation reads it: 0660 is octal, a number is text where text belongs', () => {
    const spec = parseSpec(`cdiVersion: 0.5.0
kind: example.com/dev
devices:
- name: 0
  containerEdits:
    deviceNodes:
    - {path: /dev/x, fileMode: 0660}
`);
    expect(spec.devices[0]!.name).toBe('0');
    expect(spec.devices[0]!.containerEdits.deviceNodes[0]!.fileMode).toBe(0o660);
  });

  test('a date-like name stays text', () => {
    expect(parseSpec('cdiVersion: 0.5.0\nkind: example.com/dev\ndevices:\n- name: 2024-01-01\n  containerEdits: {env: [A=1]}\n').devices[0]!.name).toBe('2024-01-01');
  });

  test('field names match in any case, as Go reads JSON (SPEC.md itself writes additionalGIDs)', () => {
    const spec = parseSpec(minimal({ cdiVersion: '0.7.0' }, { containerEdits: { additionalGIDs: [44] } }));
    expect(spec.devices[0]!.containerEdits.additionalGids).toEqual([44]);
  });

  test('a version may have a leading v', () => {
    expect(parseSpec(minimal({ cdiVersion: 'v0.6.0' })).cdiVersion).toBe('v0.6.0');
  });

  test.each([
    ['not YAML', '{ "kind": ', /not YAML or JSON/],
    ['empty', '', /holds no spec/],
    ['a list', '[1, 2]', /expected a map, found a list/],
    ['an unknown field', minimal({ extra: 1 }), /unknown field "extra"/],
    ['an unknown field deep down', minimal({}, { containerEdits: { deviceNodes: [{ path: '/dev/x', mode: 1 }] } }), /^devices\[0\]\.containerEdits\.deviceNodes\[0\]: unknown field "mode"/],
    ['a key twice', 'cdiVersion: 0.6.0\ncdiVersion: 0.6.0\n', /not YAML or JSON: Map keys must be unique/],
    ['one field twice in two cases', minimal({}, { containerEdits: { env: ['A=1'], ENV: ['B=2'] } }), /field "env" is given twice/],
    ['no version', JSON.stringify({ kind: 'example.com/dev', devices: [] }), /^cdiVersion: is required/],
    ['an unknown version', minimal({ cdiVersion: '0.9.0' }), /"0.9.0" is not a CDI spec version/],
    ['a version below 0.3.0', minimal({ cdiVersion: '0.2.0' }), /must declare at least 0.3.0, not 0.2.0/],
    ['annotations in a 0.5.0 spec', minimal({ cdiVersion: '0.5.0', annotations: { a: 'b' } }), /uses fields of CDI 0.6.0/],
    ['a bad kind', minimal({ kind: 'dev' }), /^kind: kind "dev" is not of the form vendor\/class/],
    ['no devices', minimal({ devices: [] }), /at least one device/],
    ['a bad device name', minimal({}, { name: 'a b' }), /^devices\[0\]\.name: the device name "a b" holds " "/],
    ['a device twice', JSON.stringify({ cdiVersion: '0.6.0', kind: 'example.com/dev', devices: [{ name: 'a', containerEdits: { env: ['A=1'] } }, { name: 'a', containerEdits: { env: ['A=1'] } }] }), /^devices\[1\]\.name: device "a" is defined twice/],
    ['a device without edits', minimal({}, { containerEdits: {} }), /has no container edits/],
    ['env without =', minimal({}, { containerEdits: { env: ['=x'] } }), /"=x" is not NAME=VALUE/],
    ['a relative device path', minimal({}, { containerEdits: { deviceNodes: [{ path: 'dev/x' }] } }), /deviceNodes\[0\]\.path: "dev\/x" is not an absolute path/],
    ['a device type', minimal({}, { containerEdits: { deviceNodes: [{ path: '/dev/x', type: 'x' }] } }), /"x" is not one of b, c, u, p/],
    ['permissions', minimal({}, { containerEdits: { deviceNodes: [{ path: '/dev/x', permissions: 'rwx' }] } }), /"rwx" is not "none" or made of r, w and m/],
    ['a negative uid', minimal({}, { containerEdits: { deviceNodes: [{ path: '/dev/x', uid: -1 }] } }), /uid: -1 is out of range/],
    ['a mount without host path', minimal({}, { containerEdits: { mounts: [{ containerPath: '/x' }] } }), /mounts\[0\]\.hostPath: is required/],
    ['a hook name', minimal({}, { containerEdits: { hooks: [{ hookName: 'prestop', path: '/bin/true' }] } }), /"prestop" is not one of prestart, createRuntime/],
    ['a relative hook path', minimal({}, { containerEdits: { hooks: [{ hookName: 'poststop', path: 'true' }] } }), /hooks\[0\]\.path: "true" is not an absolute path/],
    ['a zero hook timeout', minimal({}, { containerEdits: { hooks: [{ hookName: 'poststop', path: '/bin/true', timeout: 0 }] } }), /timeout: 0 is out of range/],
    ['a CLOS with a slash', minimal({ cdiVersion: '0.7.0' }, { containerEdits: { intelRdt: { closID: 'a/b' } } }), /"a\/b" is not a valid CLOS name/],
    ['a net device twice', minimal({ cdiVersion: '1.1.0' }, { containerEdits: { netDevices: [{ hostInterfaceName: 'a', name: 'x' }, { hostInterfaceName: 'b', name: 'x' }] } }), /"x" is given twice/],
    ['a string where a list belongs', minimal({}, { containerEdits: { env: 'A=1' } }), /env: expected a list, found string "A=1"/],
  ])('refuses %s', (_what, text, why) => {
    expect(problem(text)).toMatch(why);
  });

  test('aliases cannot blow a small file up', () => {
    const levels = ['a: &a [x, x, x, x, x, x, x, x, x, x]'];
    for (let i = 1; i < 10; i++) levels.push(`${String.fromCharCode(97 + i)}: &${String.fromCharCode(97 + i)} [${Array(10).fill(`*${String.fromCharCode(96 + i)}`).join(', ')}]`);
    expect(problem(levels.join('\n'))).toMatch(/not usable YAML/);
  });
});

describe('minimumVersion', () => {
  const spec = (edits: object = {}, over: object = {}) => parseSpec(minimal({ cdiVersion: '1.1.0', ...over }, { containerEdits: { env: ['A=1'], ...edits } }));
  test.each([
    ['nothing new', spec(), '0.3.0'],
    ['a mount type', spec({ mounts: [{ hostPath: 'tmpfs', containerPath: '/t', type: 'tmpfs' }] }), '0.4.0'],
    ['a host path', spec({ deviceNodes: [{ path: '/dev/x', hostPath: '/dev/y' }] }), '0.5.0'],
    ['a dot in the class', spec({}, { kind: 'example.com/a.b' }), '0.6.0'],
    ['additional GIDs', spec({ additionalGids: [1] }), '0.7.0'],
    ['net devices', spec({ netDevices: [{ hostInterfaceName: 'a', name: 'b' }] }), '1.1.0'],
  ])('%s: %s', (_what, s, want) => {
    expect(minimumVersion(s)).toBe(want);
  });
});
