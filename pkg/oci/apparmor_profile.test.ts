import { defaultAppArmorProfile, DEFAULT_APPARMOR_PROFILE, parseLoadedProfiles } from './apparmor_profile';

test('the default profile confines like the runtimes it stands beside', () => {
  const p = defaultAppArmorProfile();
  expect(p).toContain(`profile ${DEFAULT_APPARMOR_PROFILE} flags=(attach_disconnected,mediate_deleted) {`);
  for (const rule of [
    'deny mount,',
    'deny @{PROC}/sysrq-trigger rwklx,',
    'deny @{PROC}/kcore rwklx,',
    'deny /sys/kernel/security/** rwklx,',
    'deny /sys/firmware/** rwklx,',
    'signal (receive) peer=unconfined,',
    `signal (send,receive) peer=${DEFAULT_APPARMOR_PROFILE},`,
    `ptrace (trace,read,tracedby,readby) peer=${DEFAULT_APPARMOR_PROFILE},`,
  ]) {
    expect(p).toContain(rule);
  }
  expect(defaultAppArmorProfile('other')).toContain('profile other flags');
});

test('a profile name that could break the text is refused', () => {
  expect(() => defaultAppArmorProfile('x {\n}')).toThrow(/invalid AppArmor profile name/);
  expect(() => defaultAppArmorProfile('')).toThrow(/invalid AppArmor profile name/);
});

test('the loaded profiles are read from the kernel list', () => {
  const text = 'krill-default (enforce)\n/usr/sbin/cupsd (enforce)\nlsb_release (complain)\nweird name (x) (enforce)\n\n';
  expect([...parseLoadedProfiles(text)]).toEqual(['krill-default', '/usr/sbin/cupsd', 'lsb_release', 'weird name (x)']);
  expect(parseLoadedProfiles('').size).toBe(0);
});
