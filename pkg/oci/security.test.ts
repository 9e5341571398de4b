import { LinuxContainerSecurityContext, SecurityProfile_ProfileType, type DeepPartial } from '../../api/runtime/v1/api';
import { invalidArgumentMessage as invalid } from '../errors/testing';
import { resolveAppArmor } from './security';

const sc = (p: DeepPartial<LinuxContainerSecurityContext>) => LinuxContainerSecurityContext.fromPartial(p);
const { RuntimeDefault, Unconfined, Localhost } = SecurityProfile_ProfileType;
const on = (s: LinuxContainerSecurityContext | undefined) => resolveAppArmor({ securityContext: s, hostAppArmor: true, defaultProfile: 'krill-default' });
const off = (s: LinuxContainerSecurityContext | undefined) => resolveAppArmor({ securityContext: s, hostAppArmor: false, defaultProfile: 'krill-default' });

describe('a node with AppArmor', () => {
  test('RuntimeDefault and no request: the default profile', () => {
    expect(on(undefined)).toBe('krill-default');
    expect(on(sc({ apparmor: { profileType: RuntimeDefault } }))).toBe('krill-default');
    expect(on(sc({ apparmorProfile: 'runtime/default' }))).toBe('krill-default');
    expect(resolveAppArmor({ securityContext: undefined, hostAppArmor: true, defaultProfile: undefined })).toBeUndefined();
  });
  test('Unconfined: none', () => {
    expect(on(sc({ apparmor: { profileType: Unconfined } }))).toBeUndefined();
    expect(on(sc({ apparmorProfile: 'unconfined' }))).toBeUndefined();
  });
  test('Localhost: the named profile, with or without the localhost/ prefix', () => {
    expect(on(sc({ apparmor: { profileType: Localhost, localhostRef: 'my-profile' } }))).toBe('my-profile');
    expect(on(sc({ apparmor: { profileType: Localhost, localhostRef: 'localhost/my-profile' } }))).toBe('my-profile');
    expect(on(sc({ apparmorProfile: 'localhost/legacy' }))).toBe('legacy');
    expect(invalid(() => on(sc({ apparmor: { profileType: Localhost, localhostRef: '' } })))).toMatch(/apparmor\.localhost_ref is required/);
  });
  test('privileged: no default profile, but an explicit one still applies', () => {
    expect(on(sc({ privileged: true }))).toBeUndefined();
    expect(on(sc({ privileged: true, apparmor: { profileType: Localhost, localhostRef: 'p' } }))).toBe('p');
  });
  test('a Localhost profile must be loaded, when the caller says which are', () => {
    const loaded = new Set(['my-profile']);
    const with_ = (s: LinuxContainerSecurityContext) => resolveAppArmor({ securityContext: s, hostAppArmor: true, defaultProfile: 'krill-default', loadedProfiles: loaded });
    expect(with_(sc({ apparmor: { profileType: Localhost, localhostRef: 'my-profile' } }))).toBe('my-profile');
    expect(invalid(() => with_(sc({ apparmor: { profileType: Localhost, localhostRef: 'missing' } })))).toBe(
      'config.linux.security_context.apparmor.localhost_ref "missing": no AppArmor profile "missing" is loaded on this node',
    );
  });
  test('a default profile that could not be loaded refuses RuntimeDefault with the reason, not Unconfined', () => {
    const broken = (s: LinuxContainerSecurityContext | undefined) =>
      resolveAppArmor({ securityContext: s, hostAppArmor: true, defaultProfile: undefined, defaultProfileError: 'apparmor_parser not found' });
    expect(() => broken(undefined)).toThrow(/RuntimeDefault AppArmor profile is not available on this node: apparmor_parser not found/);
    expect(() => broken(sc({ apparmor: { profileType: RuntimeDefault } }))).toThrow(/not available/);
    expect(broken(sc({ apparmor: { profileType: Unconfined } }))).toBeUndefined();
  });
  test('bad values are refused', () => {
    expect(invalid(() => on(sc({ apparmorProfile: 'foo' })))).toMatch(/apparmor_profile "foo"/);
    expect(invalid(() => on(sc({ apparmor: { profileType: 7 as SecurityProfile_ProfileType } })))).toMatch(/apparmor\.profile_type 7/);
  });
});

describe('a node without AppArmor', () => {
  test('RuntimeDefault, Unconfined and no request are fine: no profile', () => {
    expect(off(undefined)).toBeUndefined();
    expect(off(sc({ apparmor: { profileType: RuntimeDefault } }))).toBeUndefined();
    expect(off(sc({ apparmor: { profileType: Unconfined } }))).toBeUndefined();
  });
  test('an explicit profile is a clear error', () => {
    expect(invalid(() => off(sc({ apparmor: { profileType: Localhost, localhostRef: 'p' } })))).toBe(
      'config.linux.security_context.apparmor.localhost_ref "p": AppArmor is not enabled on this node',
    );
    expect(invalid(() => off(sc({ apparmorProfile: 'localhost/p' })))).toMatch(/apparmor_profile "localhost\/p": AppArmor is not enabled/);
  });
});
