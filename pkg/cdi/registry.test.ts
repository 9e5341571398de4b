import { buildRegistry, type LoadedSpec } from './registry';
import type { CdiSpec } from './spec';

const edits = { env: ['A=1'], deviceNodes: [], mounts: [], hooks: [], additionalGids: [], netDevices: [] };
const spec = (kind: string, ...names: string[]): CdiSpec => ({
  cdiVersion: '0.6.0',
  kind,
  annotations: {},
  devices: names.map((name) => ({ name, annotations: {}, containerEdits: edits })),
  containerEdits: { ...edits, env: [] },
});
const loaded = (path: string, priority: number, s: CdiSpec): LoadedSpec => ({ path, priority, spec: s });

describe('buildRegistry', () => {
  test('devices by qualified name; a later directory overrides an earlier one', () => {
    const r = buildRegistry([
      loaded('/etc/cdi/a.json', 0, spec('example.com/gpu', '0', '1')),
      loaded('/var/run/cdi/b.yaml', 1, spec('example.com/gpu', '1')),
      loaded('/var/run/cdi/c.yaml', 1, spec('example.com/fpga', '1')),
    ]);
    expect([...r.devices.keys()].sort()).toEqual(['example.com/fpga=1', 'example.com/gpu=0', 'example.com/gpu=1']);
    expect(r.devices.get('example.com/gpu=0')!.from.path).toBe('/etc/cdi/a.json');
    expect(r.devices.get('example.com/gpu=1')!.from.path).toBe('/var/run/cdi/b.yaml');
    expect(r.conflicts).toEqual([]);
  });

  test('two files of one directory defining a device: neither is used, and the conflict is reported', () => {
    const r = buildRegistry([loaded('/etc/cdi/a.json', 0, spec('example.com/gpu', '0', '1')), loaded('/etc/cdi/b.json', 0, spec('example.com/gpu', '1'))]);
    expect([...r.devices.keys()]).toEqual(['example.com/gpu=0']);
    expect(r.conflicts).toEqual([{ device: 'example.com/gpu=1', paths: ['/etc/cdi/a.json', '/etc/cdi/b.json'] }]);
  });

  test('a later directory settles a conflict of an earlier one', () => {
    const r = buildRegistry([
      loaded('/etc/cdi/a.json', 0, spec('example.com/gpu', '1')),
      loaded('/etc/cdi/b.json', 0, spec('example.com/gpu', '1')),
      loaded('/var/run/cdi/c.json', 1, spec('example.com/gpu', '1')),
    ]);
    expect(r.devices.get('example.com/gpu=1')!.from.path).toBe('/var/run/cdi/c.json');
    expect(r.conflicts).toEqual([]);
  });
});
