import { infraSpec } from './infra_spec';
import type { Sandbox } from './types';

function sandbox(over: Partial<Sandbox['meta']> = {}): Sandbox {
  return {
    id: 'a'.repeat(64),
    status: { state: 'creating', ips: [] },
    meta: {
      config: { metadata: { name: 'p', namespace: 'n', uid: 'u', attempt: 0 }, hostname: 'p', logDirectory: '', dnsConfig: undefined, portMappings: [], labels: {}, annotations: {}, linux: undefined, windows: undefined },
      key: 'k',
      runtimeHandler: '',
      handler: 'runc',
      createdAt: 1n,
      hostname: 'p',
      modes: { network: 'pod', ipc: 'pod', uts: 'pod', pid: 'pod', user: 'node' },
      namespaces: { network: '/ns/net', ipc: '/ns/ipc', uts: '/ns/uts' },
      paths: { dir: '/d', runDir: '/r', hostname: '/d/hostname', hosts: '/d/hosts', resolvConf: '/d/resolv.conf', shm: '/r/shm', nsDir: '/ns' },
      cgroupParent: '/kubepods/pod1',
      cgroupPath: '/kubepods/pod1',
      oomScoreAdj: 0,
      ...over,
    },
  };
}

type Spec = {
  process: { args: string[]; capabilities: Record<string, string[]>; noNewPrivileges: boolean; oomScoreAdj: number; user: { uid: number; gid: number } };
  root: { readonly: boolean };
  mounts: { destination: string; source: string; options: string[] }[];
  linux: { namespaces: { type: string; path?: string }[]; cgroupsPath: string; uidMappings?: unknown[] };
};

test('pid 1 of a new pid namespace, joining the pinned ones, without capabilities', () => {
  const spec = infraSpec({ sandbox: sandbox(), binary: '/usr/bin/catatonit', cgroupsPath: '/kubepods/pod1/krill-x' }) as unknown as Spec;
  expect(spec.process.args).toEqual(['/catatonit', '-P']);
  expect(spec.process.noNewPrivileges).toBe(true);
  expect(Object.values(spec.process.capabilities).every((c) => c.length === 0)).toBe(true);
  expect(spec.root.readonly).toBe(true);
  expect(spec.mounts.find((m) => m.destination === '/catatonit')).toMatchObject({ source: '/usr/bin/catatonit', options: expect.arrayContaining(['ro']) });
  expect(spec.linux.namespaces).toEqual([
    { type: 'pid' },
    { type: 'mount' },
    { type: 'network', path: '/ns/net' },
    { type: 'ipc', path: '/ns/ipc' },
    { type: 'uts', path: '/ns/uts' },
  ]);
  expect(spec.linux.cgroupsPath).toBe('/kubepods/pod1/krill-x');
  expect(spec.linux.uidMappings).toBeUndefined();
});

test('host namespaces are not joined; a user namespace brings its mappings', () => {
  const host = infraSpec({ sandbox: sandbox({ namespaces: {} }), binary: '/b', cgroupsPath: '/x' }) as unknown as Spec;
  expect(host.linux.namespaces.map((n) => n.type)).toEqual(['pid', 'mount']);
  const userns = sandbox({
    namespaces: { network: '/ns/net', user: '/ns/user' },
    userns: { uids: [{ hostId: 100000, containerId: 0, length: 65536 }], gids: [{ hostId: 100000, containerId: 0, length: 65536 }] },
  });
  const spec = infraSpec({ sandbox: userns, binary: '/b', cgroupsPath: '/x' }) as unknown as Spec;
  expect(spec.linux.namespaces).toContainEqual({ type: 'user', path: '/ns/user' });
  expect(spec.linux.uidMappings).toEqual([{ containerID: 0, hostID: 100000, size: 65536 }]);
});
