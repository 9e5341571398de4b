import { LinuxContainerSecurityContext, type DeepPartial } from '../../api/runtime/v1/api';
import { invalidArgumentMessage as invalid } from '../errors/testing';
import {
  capabilitiesFromMask,
  DEFAULT_CAPABILITIES,
  KNOWN_CAPABILITIES,
  normalizeCapability,
  resolveCapabilities,
} from './capabilities';

// This test machine's root: everything but CAP_SYS_RESOURCE (bit 24).
const HOST = capabilitiesFromMask('000001fffeffffff');

const caps = (add: string[], drop: string[], extra: DeepPartial<LinuxContainerSecurityContext> = {}) =>
  resolveCapabilities({
    securityContext: LinuxContainerSecurityContext.fromPartial({ capabilities: { addCapabilities: add, dropCapabilities: drop }, ...extra }),
    hostCapabilities: HOST,
    defaults: DEFAULT_CAPABILITIES,
  });

const sortedDefaults = KNOWN_CAPABILITIES.filter((c) => DEFAULT_CAPABILITIES.includes(c));

test('masks decode to names; the host here lacks CAP_SYS_RESOURCE', () => {
  expect(capabilitiesFromMask('0000000000000003')).toEqual(['CAP_CHOWN', 'CAP_DAC_OVERRIDE']);
  expect(HOST).toHaveLength(40);
  expect(HOST).not.toContain('CAP_SYS_RESOURCE');
  expect(capabilitiesFromMask('000001ffffffffff')).toEqual(KNOWN_CAPABILITIES);
});

test('names normalize with or without CAP_, in any case', () => {
  expect(normalizeCapability('net_admin')).toBe('CAP_NET_ADMIN');
  expect(normalizeCapability('CAP_SYS_ADMIN')).toBe('CAP_SYS_ADMIN');
  expect(normalizeCapability('NOT_A_CAP')).toBeUndefined();
});

test('the default set, in bounding, effective and permitted; no inheritable or ambient', () => {
  const c = resolveCapabilities({ securityContext: undefined, hostCapabilities: HOST, defaults: DEFAULT_CAPABILITIES });
  expect(c.bounding).toEqual(sortedDefaults);
  expect(c.effective).toEqual(sortedDefaults);
  expect(c.permitted).toEqual(sortedDefaults);
  expect(c.inheritable).toBeUndefined();
  expect(c.ambient).toBeUndefined();
  expect(DEFAULT_CAPABILITIES).toHaveLength(14);
});

test('add and drop single capabilities', () => {
  const c = caps(['NET_ADMIN', 'sys_time'], ['CHOWN', 'CAP_NET_RAW']);
  expect(c.bounding).toContain('CAP_NET_ADMIN');
  expect(c.bounding).toContain('CAP_SYS_TIME');
  expect(c.bounding).not.toContain('CAP_CHOWN');
  expect(c.bounding).not.toContain('CAP_NET_RAW');
  expect(c.effective).toEqual(c.bounding);
});

test('a capability both added and dropped is dropped', () => {
  expect(caps(['NET_ADMIN'], ['NET_ADMIN']).bounding).not.toContain('CAP_NET_ADMIN');
});

test('add ALL gives every capability the host has; later drops refine it', () => {
  expect(caps(['ALL'], []).bounding).toEqual(HOST);
  expect(caps(['all'], ['CHOWN']).bounding).toEqual(HOST.filter((c) => c !== 'CAP_CHOWN'));
});

test('drop ALL empties the set; later adds refine it', () => {
  expect(caps([], ['ALL']).bounding).toEqual([]);
  expect(caps(['NET_BIND_SERVICE'], ['ALL']).bounding).toEqual(['CAP_NET_BIND_SERVICE']);
  expect(caps(['ALL'], ['ALL']).bounding).toEqual([]);
});

test('privileged: every host capability, add/drop ignored', () => {
  const c = caps(['NET_ADMIN'], ['ALL'], { privileged: true });
  expect(c.bounding).toEqual(HOST);
  expect(c.permitted).toEqual(HOST);
  expect(c.effective).toEqual(HOST);
});

test('defaults the host lacks are left out silently; requested ones are refused', () => {
  const c = resolveCapabilities({ securityContext: undefined, hostCapabilities: HOST, defaults: ['CAP_CHOWN', 'CAP_SYS_RESOURCE'] });
  expect(c.bounding).toEqual(['CAP_CHOWN']);
  expect(invalid(() => caps(['SYS_RESOURCE'], []))).toMatch(/^config\.linux\.security_context\.capabilities\.add_capabilities\[0\].*CAP_SYS_RESOURCE is not available/);
  // Dropping what the host lacks anyway is fine.
  expect(caps([], ['SYS_RESOURCE']).bounding).toEqual(sortedDefaults);
});

test('unknown names are InvalidArgument naming the entry', () => {
  expect(invalid(() => caps(['NET_ADMIN', 'BOGUS'], []))).toMatch(/add_capabilities\[1\]: unknown capability "BOGUS"/);
  expect(invalid(() => caps([], ['BOGUS']))).toMatch(/drop_capabilities\[0\]/);
});

test('ambient capabilities are also permitted, effective, inheritable and bounding', () => {
  const c = resolveCapabilities({
    securityContext: LinuxContainerSecurityContext.fromPartial({ capabilities: { dropCapabilities: ['ALL'], addAmbientCapabilities: ['NET_BIND_SERVICE'] } }),
    hostCapabilities: HOST,
    defaults: DEFAULT_CAPABILITIES,
  });
  expect(c).toEqual({
    bounding: ['CAP_NET_BIND_SERVICE'],
    effective: ['CAP_NET_BIND_SERVICE'],
    permitted: ['CAP_NET_BIND_SERVICE'],
    ambient: ['CAP_NET_BIND_SERVICE'],
    inheritable: ['CAP_NET_BIND_SERVICE'],
  });
  expect(invalid(() => resolveCapabilities({
    securityContext: LinuxContainerSecurityContext.fromPartial({ capabilities: { addAmbientCapabilities: ['ALL'] } }),
    hostCapabilities: HOST,
    defaults: [],
  }))).toMatch(/add_ambient_capabilities: ALL/);
});
