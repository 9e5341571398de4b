import { KrillError } from '../errors/errors';
import { completeDeviceNode, selectEdits, type PendingDeviceNode } from './edits';
import { buildRegistry } from './registry';
import type { CdiContainerEdits, CdiDeviceNode, CdiSpec } from './spec';

const none: CdiContainerEdits = { env: [], deviceNodes: [], mounts: [], hooks: [], additionalGids: [], netDevices: [] };
const node = (over: Partial<CdiDeviceNode> = {}): CdiDeviceNode => ({ path: '/dev/x', hostPath: '', type: '', major: 0, minor: 0, permissions: '', ...over });

const gpu: CdiSpec = {
  cdiVersion: '0.7.0',
  kind: 'example.com/gpu',
  annotations: {},
  devices: [
    { name: '0', annotations: {}, containerEdits: { ...none, env: ['GPU=0'], deviceNodes: [node({ path: '/dev/gpu0' })], additionalGids: [44] } },
    { name: '1', annotations: {}, containerEdits: { ...none, env: ['GPU=1'], deviceNodes: [node({ path: '/dev/gpu1' })] } },
    { name: 'net', annotations: {}, containerEdits: { ...none, netDevices: [{ hostInterfaceName: 'eth1', name: 'net1' }] } },
  ],
  containerEdits: { ...none, env: ['DRIVER=1'], deviceNodes: [node({ path: '/dev/gpuctl' })], mounts: [{ hostPath: '/lib/gpu', containerPath: '/lib/gpu', options: ['bind'], type: '' }] },
};
const nic: CdiSpec = { ...gpu, kind: 'example.com/nic', devices: [{ name: 'a', annotations: {}, containerEdits: { ...none, env: ['NIC=a'] } }], containerEdits: none };
const registry = buildRegistry([
  { path: '/etc/cdi/gpu.yaml', priority: 0, spec: gpu },
  { path: '/etc/cdi/nic.json', priority: 0, spec: nic },
]);
const DIRS = ['/etc/cdi', '/var/run/cdi'];
const req = (...names: string[]) => names.map((name, i) => ({ name, field: `config.CDI_devices[${i}].name` }));

function failure(fn: () => unknown): KrillError {
  try {
    fn();
  } catch (err) {
    if (err instanceof KrillError) return err;
    throw err;
  }
  throw new Error('expected a KrillError');
}

describe('selectEdits', () => {
  test("a spec's own edits once, before its first device's; then each device's, in request order", () => {
    const got = selectEdits(registry, req('example.com/gpu=1', 'example.com/nic=a', 'example.com/gpu=0'), DIRS);
    expect(got.devices).toEqual(['example.com/gpu=1', 'example.com/nic=a', 'example.com/gpu=0']);
    expect(got.env).toEqual(['DRIVER=1', 'GPU=1', 'NIC=a', 'GPU=0']);
    expect(got.deviceNodes.map((p) => [p.node.path, p.device, p.specPath])).toEqual([
      ['/dev/gpuctl', 'example.com/gpu=1', '/etc/cdi/gpu.yaml'],
      ['/dev/gpu1', 'example.com/gpu=1', '/etc/cdi/gpu.yaml'],
      ['/dev/gpu0', 'example.com/gpu=0', '/etc/cdi/gpu.yaml'],
    ]);
    expect(got.mounts).toHaveLength(1);
    expect(got.additionalGids).toEqual([44]);
  });

  test('unknown devices: InvalidArgument naming every one with the field that asked', () => {
    const err = failure(() => selectEdits(registry, req('example.com/gpu=0', 'example.com/gpu=7', 'other.org/x=y'), DIRS));
    expect(err.code).toBe('InvalidArgument');
    expect(err.message).toBe(
      'unknown CDI devices "example.com/gpu=7" (config.CDI_devices[1].name), "other.org/x=y" (config.CDI_devices[2].name): not defined by any spec in the CDI spec directories (/etc/cdi, /var/run/cdi)',
    );
    expect(failure(() => selectEdits(registry, req('example.com/gpu=7'), [])).message).toMatch(/runtime\.cdi_spec_dirs is empty/);
  });

  test('edits Krill cannot apply are Unimplemented, naming the device and its spec', () => {
    const err = failure(() => selectEdits(registry, req('example.com/gpu=net'), DIRS));
    expect(err.code).toBe('Unimplemented');
    expect(err.message).toMatch(/^CDI device "example.com\/gpu=net" \(\/etc\/cdi\/gpu.yaml\) moves network interfaces/);
  });
});

describe('completeDeviceNode', () => {
  const pending = (over: Partial<CdiDeviceNode> = {}): PendingDeviceNode => ({ node: node(over), device: 'example.com/gpu=0', specPath: '/etc/cdi/gpu.yaml' });
  const NULL = { device: { path: '/dev/null', type: 'c' as const, major: 1, minor: 3, fileMode: 0o666, uid: 0, gid: 0 } };

  test('type, numbers and mode come from the host node the spec leaves them to', () => {
    expect(completeDeviceNode(pending({ hostPath: '/dev/null' }), NULL)).toEqual({ path: '/dev/x', hostPath: '/dev/null', type: 'c', major: 1, minor: 3, fileMode: 0o666, access: 'rwm' });
  });
  test("what the spec gives wins; the host node's mode fills in", () => {
    expect(completeDeviceNode(pending({ type: 'c', major: 10, minor: 200, permissions: 'wr', uid: 5, gid: 6 }), NULL)).toEqual({
      path: '/dev/x',
      hostPath: '/dev/x',
      type: 'c',
      major: 10,
      minor: 200,
      fileMode: 0o666,
      access: 'rw',
      uid: 5,
      gid: 6,
    });
  });
  test('a fully given node needs no host node; "none" permissions give no access; the mode keeps permission bits only', () => {
    expect(completeDeviceNode(pending({ type: 'b', major: 8, permissions: 'none', fileMode: 0o60660 }), { error: 'does not exist' })).toEqual({
      path: '/dev/x',
      hostPath: '/dev/x',
      type: 'b',
      major: 8,
      minor: 0,
      fileMode: 0o660,
      access: '',
    });
  });
  test('a node the spec leaves to the host needs the host node: FailedPrecondition naming device, spec and path', () => {
    const err = failure(() => completeDeviceNode(pending({ type: 'c' }), { error: 'does not exist' }));
    expect(err.code).toBe('FailedPrecondition');
    expect(err.message).toBe('CDI device "example.com/gpu=0" (/etc/cdi/gpu.yaml): device node /dev/x: does not exist');
  });
  test('a type that disagrees with the host node is refused', () => {
    expect(failure(() => completeDeviceNode(pending({ type: 'b' }), NULL)).message).toMatch(/the spec says type b, the host node is of type c/);
  });
});
