import { invalidArgumentMessage as invalid } from '../errors/testing';
import type { NamespaceResult } from './namespaces';
import { buildSysctls, normalizeSysctlName } from './sysctl';

const own: NamespaceResult = { namespaces: [], hostNetwork: false, hostIpc: false, hostUts: false, hostPid: false, userNamespace: false };
const host: NamespaceResult = { ...own, hostNetwork: true, hostIpc: true, hostUts: true };

test('names in slash form are normalized as Kubernetes does', () => {
  expect(normalizeSysctlName('net.ipv4.ip_forward')).toBe('net.ipv4.ip_forward');
  expect(normalizeSysctlName('net/ipv4/ip_forward')).toBe('net.ipv4.ip_forward');
  expect(normalizeSysctlName('net/ipv4/conf/eth0.100/forwarding')).toBe('net.ipv4.conf.eth0/100.forwarding');
  expect(normalizeSysctlName('net.ipv4.conf.eth0/100.forwarding')).toBe('net.ipv4.conf.eth0/100.forwarding');
});

test('namespaced sysctls pass through in the pod\'s own namespaces', () => {
  const s = { 'net.ipv4.ip_unprivileged_port_start': '0', 'kernel.shm_rmid_forced': '1', 'fs.mqueue.msg_max': '20', 'kernel.domainname': 'x' };
  expect(buildSysctls(s, own)).toEqual(s);
  expect(buildSysctls({}, own)).toBeUndefined();
});

test('each kind is refused in the node\'s namespace of that kind', () => {
  expect(invalid(() => buildSysctls({ 'net.ipv4.ip_forward': '1' }, host))).toMatch(/^sandbox_config\.linux\.sysctls\["net.ipv4.ip_forward"\]: a network sysctl/);
  expect(invalid(() => buildSysctls({ 'kernel.msgmax': '1' }, host))).toMatch(/an IPC sysctl/);
  expect(invalid(() => buildSysctls({ 'kernel.hostname': 'h' }, host))).toMatch(/a UTS sysctl/);
  expect(buildSysctls({ 'kernel.sem': '1 2 3 4' }, { ...host, hostIpc: false })).toEqual({ 'kernel.sem': '1 2 3 4' });
});

test('node-wide sysctls and newlines are refused', () => {
  expect(invalid(() => buildSysctls({ 'vm.swappiness': '10' }, own))).toMatch(/vm\.swappiness is not a namespaced sysctl/);
  expect(invalid(() => buildSysctls({ 'kernel.pid_max': '10' }, own))).toMatch(/not a namespaced sysctl/);
  expect(invalid(() => buildSysctls({ 'net.core.somaxconn': '1\n2' }, own))).toMatch(/newline/);
});
