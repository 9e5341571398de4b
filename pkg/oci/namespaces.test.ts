import { LinuxContainerSecurityContext, LinuxSandboxSecurityContext, NamespaceMode, UserNamespace, type DeepPartial } from '../../api/runtime/v1/api';
import { invalidArgumentMessage as invalid } from '../errors/testing';
import { resolveNamespaces, validateUserNamespace, type NamespaceInput } from './namespaces';

const { POD, CONTAINER, NODE, TARGET } = NamespaceMode;
const pod = { network: '/run/krill/ns/net/p1', ipc: '/run/krill/ns/ipc/p1', uts: '/run/krill/ns/uts/p1', pid: '/proc/42/ns/pid', user: '/run/krill/ns/user/p1' };

type Ns = { network?: NamespaceMode; pid?: NamespaceMode; ipc?: NamespaceMode; targetId?: string; usernsOptions?: DeepPartial<UserNamespace> };
const ctr = (ns: Ns, extra: DeepPartial<LinuxContainerSecurityContext> = {}) =>
  LinuxContainerSecurityContext.fromPartial({ namespaceOptions: ns, ...extra });

function resolve(ns: Ns | undefined, over: Partial<NamespaceInput> = {}) {
  return resolveNamespaces({ securityContext: ns ? ctr(ns) : undefined, sandboxSecurityContext: undefined, pod, cgroupVersion: 1, ...over });
}
const types = (r: ReturnType<typeof resolveNamespaces>) => Object.fromEntries(r.namespaces.map((n) => [n.type, n.path ?? 'new']));

const mapping = { containerId: 0, hostId: 100000, length: 65536 };

test('an ordinary kubelet container: the pod\'s net, ipc and uts, its own pid and mount', () => {
  const r = resolve({ network: POD, ipc: POD, pid: CONTAINER });
  expect(types(r)).toEqual({ network: pod.network, ipc: pod.ipc, uts: pod.uts, pid: 'new', mount: 'new' });
  expect(r).toMatchObject({ hostNetwork: false, hostIpc: false, hostUts: false, hostPid: false, userNamespace: false });
});

test('NODE modes join the host: no entry at all (uts follows the network)', () => {
  const r = resolve({ network: NODE, ipc: NODE, pid: NODE });
  expect(types(r)).toEqual({ mount: 'new' });
  expect(r).toMatchObject({ hostNetwork: true, hostIpc: true, hostUts: true, hostPid: true });
});

test('pid POD joins the pod\'s shared pid namespace; it must exist', () => {
  expect(types(resolve({ pid: POD })).pid).toBe(pod.pid);
  expect(invalid(() => resolve({ pid: POD }, { pod: { ...pod, pid: undefined } }))).toMatch(/namespace_options\.pid is POD but the pod was not created with a shared PID namespace/);
});

test('pid TARGET joins the target container\'s pid namespace', () => {
  expect(types(resolve({ pid: TARGET, targetId: 'abc' }, { targetPidNamespace: '/proc/77/ns/pid' })).pid).toBe('/proc/77/ns/pid');
  expect(invalid(() => resolve({ pid: TARGET }))).toMatch(/target_id is required/);
  expect(invalid(() => resolve({ pid: TARGET, targetId: 'abc' }))).toMatch(/target_id "abc": the target container is not running/);
});

test('ipc CONTAINER gets a private IPC namespace', () => {
  expect(types(resolve({ ipc: CONTAINER, pid: CONTAINER })).ipc).toBe('new');
});

test('POD modes need the pod to have those namespaces', () => {
  expect(invalid(() => resolve({ network: POD }, { pod: { ...pod, network: undefined } }))).toMatch(/namespace_options\.network is POD/);
  expect(invalid(() => resolve({ ipc: POD }, { pod: { ...pod, ipc: undefined } }))).toMatch(/namespace_options\.ipc is POD/);
  // A pod without a pinned UTS namespace: the container gets its own.
  expect(types(resolve({ pid: CONTAINER }, { pod: { ...pod, uts: undefined } })).uts).toBe('new');
});

test('modes that make no sense are refused', () => {
  expect(invalid(() => resolve({ network: CONTAINER }))).toMatch(/network CONTAINER is not supported/);
  expect(invalid(() => resolve({ network: TARGET }))).toMatch(/network TARGET/);
  expect(invalid(() => resolve({ ipc: TARGET }))).toMatch(/ipc TARGET/);
  expect(invalid(() => resolve({ pid: 9 as NamespaceMode }))).toMatch(/pid 9/);
});

test('a request without namespace options takes the pod\'s', () => {
  const sandbox = LinuxSandboxSecurityContext.fromPartial({ namespaceOptions: { network: NODE, ipc: POD, pid: CONTAINER } });
  const r = resolveNamespaces({ securityContext: undefined, sandboxSecurityContext: sandbox, pod, cgroupVersion: 1 });
  expect(types(r)).toEqual({ ipc: pod.ipc, pid: 'new', mount: 'new' });
  // Neither has any: the CRI defaults, all POD.
  expect(types(resolve(undefined))).toEqual({ network: pod.network, ipc: pod.ipc, uts: pod.uts, pid: pod.pid, mount: 'new' });
});

test('a private cgroup namespace on cgroup v2, except for privileged containers', () => {
  expect(types(resolve({ pid: CONTAINER }, { cgroupVersion: 2 })).cgroup).toBe('new');
  expect(types(resolve({ pid: CONTAINER })).cgroup).toBeUndefined();
  const priv = resolveNamespaces({ securityContext: ctr({ pid: CONTAINER }, { privileged: true }), sandboxSecurityContext: undefined, pod, cgroupVersion: 2 });
  expect(types(priv).cgroup).toBeUndefined();
});

test('user namespace POD: the pod\'s, with its mappings', () => {
  const r = resolve({ pid: CONTAINER, usernsOptions: { mode: POD, uids: [mapping], gids: [mapping] } });
  expect(types(r).user).toBe(pod.user);
  expect(r.userNamespace).toBe(true);
  expect(r.uidMappings).toEqual([{ containerID: 0, hostID: 100000, size: 65536 }]);
  expect(r.gidMappings).toEqual([{ containerID: 0, hostID: 100000, size: 65536 }]);
  // Without a pinned one, a new user namespace with the same mappings.
  expect(types(resolve({ pid: CONTAINER, usernsOptions: { mode: POD, uids: [mapping], gids: [mapping] } }, { pod: { ...pod, user: undefined } })).user).toBe('new');
});

test('user namespace NODE or unset: the host\'s', () => {
  expect(types(resolve({ pid: CONTAINER, usernsOptions: { mode: NODE } })).user).toBeUndefined();
  expect(resolve({ pid: CONTAINER }).uidMappings).toBeUndefined();
});

test('the container\'s user namespace must match the pod\'s', () => {
  const sandbox = LinuxSandboxSecurityContext.fromPartial({ namespaceOptions: { usernsOptions: { mode: POD, uids: [mapping], gids: [mapping] } } });
  const other = { ...mapping, hostId: 200000 };
  expect(
    invalid(() => resolveNamespaces({ securityContext: ctr({ pid: CONTAINER, usernsOptions: { mode: POD, uids: [other], gids: [other] } }), sandboxSecurityContext: sandbox, pod, cgroupVersion: 1 })),
  ).toMatch(/userns_options differs from the pod/);
  expect(
    resolveNamespaces({ securityContext: ctr({ pid: CONTAINER, usernsOptions: { mode: POD, uids: [mapping], gids: [mapping] } }), sandboxSecurityContext: sandbox, pod, cgroupVersion: 1 }).userNamespace,
  ).toBe(true);
});

test('privileged containers cannot run in a user namespace', () => {
  const sc = ctr({ pid: CONTAINER, usernsOptions: { mode: POD, uids: [mapping], gids: [mapping] } }, { privileged: true });
  expect(invalid(() => resolveNamespaces({ securityContext: sc, sandboxSecurityContext: undefined, pod, cgroupVersion: 1 }))).toMatch(/privileged is not allowed in a user namespace/);
});

describe('user namespace validation (shared with RunPodSandbox)', () => {
  const check = (u: DeepPartial<UserNamespace>) => () => validateUserNamespace(UserNamespace.fromPartial(u), 'f');
  test('valid', () => {
    expect(check({ mode: POD, uids: [mapping], gids: [mapping] })).not.toThrow();
    expect(check({ mode: NODE })).not.toThrow();
    expect(() => validateUserNamespace(undefined, 'f')).not.toThrow();
  });
  test('exactly one mapping each, mapping container ID 0, within 32 bits', () => {
    expect(invalid(check({ mode: POD, uids: [mapping, { ...mapping, hostId: 2000 }], gids: [mapping] }))).toBe('f.uids must hold exactly one mapping, got 2');
    expect(invalid(check({ mode: POD, uids: [mapping], gids: [] }))).toMatch(/f\.gids must hold exactly one mapping, got 0/);
    expect(invalid(check({ mode: POD, uids: [{ ...mapping, containerId: 1 }], gids: [mapping] }))).toMatch(/container ID 0/);
    expect(invalid(check({ mode: POD, uids: [{ ...mapping, length: 0 }], gids: [mapping] }))).toMatch(/length must be positive/);
    expect(invalid(check({ mode: POD, uids: [{ ...mapping, hostId: 2 ** 32 - 10 }], gids: [mapping] }))).toMatch(/beyond the 32-bit/);
  });
  test('CONTAINER and TARGET are not user namespace modes; NODE takes no mappings', () => {
    expect(invalid(check({ mode: CONTAINER }))).toMatch(/mode CONTAINER is not supported/);
    expect(invalid(check({ mode: TARGET }))).toMatch(/mode TARGET/);
    expect(invalid(check({ mode: NODE, uids: [mapping] }))).toMatch(/mode NODE takes no/);
  });
});
