import { LinuxContainerSecurityContext, SecurityProfile_ProfileType, type DeepPartial } from '../../api/runtime/v1/api';
import { invalidArgumentMessage as invalid } from '../errors/testing';
import { DEFAULT_CAPABILITIES, KNOWN_CAPABILITIES } from './capabilities';
import type { Seccomp } from './runtime_spec';
import { compileSeccompProfile, parseSeccompProfile, resolveSeccomp, seccompChoice, type SeccompInput } from './seccomp';
import { DEFAULT_SECCOMP_PROFILE } from './seccomp_default';

const x64 = { arch: 'x64', capabilities: DEFAULT_CAPABILITIES, kernelVersion: '6.1.0-18-amd64' };
const allowed = (s: Seccomp): string[] => s.syscalls!.filter((r) => r.action === 'SCMP_ACT_ALLOW' && !r.args).flatMap((r) => r.names);
const argRules = (s: Seccomp, name: string) => s.syscalls!.filter((r) => r.names.includes(name) && r.args);

describe('the RuntimeDefault profile', () => {
  const s = compileSeccompProfile(DEFAULT_SECCOMP_PROFILE, x64);

  test('denies by default with EPERM, for the native and compat architectures', () => {
    expect(s.defaultAction).toBe('SCMP_ACT_ERRNO');
    expect(s.defaultErrnoRet).toBe(1);
    expect(s.architectures).toEqual(['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32']);
  });
  test('allows ordinary syscalls and the arch-specific ones of x86-64 only', () => {
    const names = allowed(s);
    for (const n of ['read', 'write', 'openat', 'execve', 'futex', 'epoll_wait', 'arch_prctl', 'modify_ldt']) expect(names).toContain(n);
    for (const n of ['set_tls', 'breakpoint', 's390_runtime_instr']) expect(names).not.toContain(n);
  });
  test('guards privileged syscalls by capability', () => {
    const names = allowed(s);
    for (const n of ['mount', 'umount2', 'unshare', 'setns', 'reboot', 'init_module', 'bpf', 'settimeofday', 'kexec_load', 'open_by_handle_at']) {
      expect(names).not.toContain(n);
    }
    expect(names).toContain('chroot'); // CAP_SYS_CHROOT is a default capability
  });
  test('ptrace is allowed from Linux 4.8 on, or with CAP_SYS_PTRACE', () => {
    expect(allowed(s)).toContain('ptrace');
    const old = compileSeccompProfile(DEFAULT_SECCOMP_PROFILE, { ...x64, kernelVersion: '4.4.0' });
    expect(allowed(old)).not.toContain('ptrace');
    expect(allowed(compileSeccompProfile(DEFAULT_SECCOMP_PROFILE, { ...x64, kernelVersion: '4.4.0', capabilities: ['CAP_SYS_PTRACE'] }))).toContain('ptrace');
    expect(allowed(compileSeccompProfile(DEFAULT_SECCOMP_PROFILE, { ...x64, kernelVersion: undefined }))).toContain('ptrace');
  });
  test('without CAP_SYS_ADMIN, clone may not create namespaces and clone3 answers ENOSYS', () => {
    expect(allowed(s)).not.toContain('clone');
    expect(argRules(s, 'clone')).toEqual([
      { names: ['clone'], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value: 0x7e020000, valueTwo: 0, op: 'SCMP_CMP_MASKED_EQ' }] },
    ]);
    expect(s.syscalls!.find((r) => r.names.includes('clone3'))).toEqual({ names: ['clone3'], action: 'SCMP_ACT_ERRNO', errnoRet: 38 });
  });
  test('with CAP_SYS_ADMIN, mount, unshare, clone and clone3 are allowed outright', () => {
    const admin = compileSeccompProfile(DEFAULT_SECCOMP_PROFILE, { ...x64, capabilities: [...DEFAULT_CAPABILITIES, 'CAP_SYS_ADMIN'] });
    for (const n of ['mount', 'unshare', 'clone', 'clone3', 'sethostname']) expect(allowed(admin)).toContain(n);
    expect(argRules(admin, 'clone')).toEqual([]);
    expect(admin.syscalls!.some((r) => r.action === 'SCMP_ACT_ERRNO')).toBe(false);
  });
  test('socket excludes AF_ALG (38) and AF_VSOCK (40) by ranges; personality only the safe personas', () => {
    expect(argRules(s, 'socket').map((r) => r.args)).toEqual([
      [{ index: 0, value: 38, op: 'SCMP_CMP_LT' }],
      [{ index: 0, value: 39, op: 'SCMP_CMP_EQ' }],
      [{ index: 0, value: 40, op: 'SCMP_CMP_GT' }],
    ]);
    expect(argRules(s, 'personality').map((r) => r.args![0]!.value)).toEqual([0, 8, 0x20000, 0x20008, 0xffffffff]);
    expect(allowed(s)).not.toContain('socket');
    expect(allowed(s)).not.toContain('personality');
  });
  test('with every capability, names appear once and nothing gated is missing', () => {
    const all = compileSeccompProfile(DEFAULT_SECCOMP_PROFILE, { ...x64, capabilities: KNOWN_CAPABILITIES });
    const names = allowed(all);
    expect(new Set(names).size).toBe(names.length);
    for (const n of ['reboot', 'acct', 'iopl', 'vhangup', 'mbind', 'syslog', 'perf_event_open', 'kcmp', 'delete_module', 'clock_settime']) {
      expect(names).toContain(n);
    }
  });
  test('arm64 and s390x get their own architectures, syscalls and clone argument', () => {
    const arm = compileSeccompProfile(DEFAULT_SECCOMP_PROFILE, { ...x64, arch: 'arm64' });
    expect(arm.architectures).toEqual(['SCMP_ARCH_AARCH64', 'SCMP_ARCH_ARM']);
    expect(allowed(arm)).toContain('set_tls');
    expect(allowed(arm)).not.toContain('arch_prctl');
    const s390 = compileSeccompProfile(DEFAULT_SECCOMP_PROFILE, { ...x64, arch: 's390x' });
    expect(argRules(s390, 'clone')[0]!.args![0]!.index).toBe(1);
    expect(allowed(s390)).toContain('s390_pci_mmio_read');
  });
  test('an unknown architecture leaves the architectures to the runtime', () => {
    expect(compileSeccompProfile(DEFAULT_SECCOMP_PROFILE, { ...x64, arch: 'sparc' }).architectures).toBeUndefined();
  });
});

describe('profiles from files', () => {
  test('the OCI form passes through; rules with the same action merge', () => {
    const p = parseSeccompProfile(
      JSON.stringify({
        defaultAction: 'SCMP_ACT_ALLOW',
        architectures: ['SCMP_ARCH_X86_64'],
        flags: ['SECCOMP_FILTER_FLAG_LOG'],
        syscalls: [
          { names: ['sethostname'], action: 'SCMP_ACT_ERRNO' },
          { names: ['setdomainname', 'sethostname'], action: 'SCMP_ACT_ERRNO' },
          { names: ['kill'], action: 'SCMP_ACT_ERRNO', errnoRet: 13, args: [{ index: 1, value: 9, op: 'SCMP_CMP_EQ' }] },
        ],
      }),
      'profile',
    );
    expect(compileSeccompProfile(p, x64)).toEqual({
      defaultAction: 'SCMP_ACT_ALLOW',
      architectures: ['SCMP_ARCH_X86_64'],
      flags: ['SECCOMP_FILTER_FLAG_LOG'],
      syscalls: [
        { names: ['sethostname', 'setdomainname'], action: 'SCMP_ACT_ERRNO' },
        { names: ['kill'], action: 'SCMP_ACT_ERRNO', errnoRet: 13, args: [{ index: 1, value: 9, op: 'SCMP_CMP_EQ' }] },
      ],
    });
  });
  test('the Docker form: archMap, the single name form, includes/excludes by capability and arch', () => {
    const p = parseSeccompProfile(
      JSON.stringify({
        defaultAction: 'SCMP_ACT_ERRNO',
        archMap: [{ architecture: 'SCMP_ARCH_X86_64', subArchitectures: ['SCMP_ARCH_X86'] }],
        syscalls: [
          { name: 'read', action: 'SCMP_ACT_ALLOW', args: null },
          { names: ['mount'], action: 'SCMP_ACT_ALLOW', includes: { caps: ['CAP_SYS_ADMIN'] } },
          { names: ['arch_prctl'], action: 'SCMP_ACT_ALLOW', includes: { arches: ['amd64'] } },
          { names: ['write'], action: 'SCMP_ACT_ALLOW', excludes: { arches: ['amd64'] } },
          { names: ['getpid'], action: 'SCMP_ACT_ALLOW', excludes: { caps: ['CAP_SYS_ADMIN'] } },
        ],
      }),
      'profile',
    );
    const out = compileSeccompProfile(p, x64);
    expect(out.architectures).toEqual(['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86']);
    expect(out.syscalls).toEqual([{ names: ['read', 'arch_prctl', 'getpid'], action: 'SCMP_ACT_ALLOW' }]);
  });
  test('bad files are InvalidArgument naming what is wrong', () => {
    expect(invalid(() => parseSeccompProfile('{', 'P'))).toMatch(/^P is not valid JSON/);
    expect(invalid(() => parseSeccompProfile('[]', 'P'))).toMatch(/not a JSON object/);
    expect(invalid(() => parseSeccompProfile('{"defaultAction":"ALLOW"}', 'P'))).toMatch(/defaultAction "ALLOW"/);
    const rule = (r: unknown) => JSON.stringify({ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [r] });
    expect(invalid(() => parseSeccompProfile(rule({ names: [], action: 'SCMP_ACT_ERRNO' }), 'P'))).toMatch(/syscalls\[0\] names no syscall/);
    expect(invalid(() => parseSeccompProfile(rule({ names: ['x'], action: 'NOPE' }), 'P'))).toMatch(/syscalls\[0\]\.action/);
    expect(invalid(() => parseSeccompProfile(rule({ names: ['x'], action: 'SCMP_ACT_ALLOW', args: [{ index: 9, value: 1, op: 'SCMP_CMP_EQ' }] }), 'P'))).toMatch(/index must be 0\.\.5/);
    expect(invalid(() => parseSeccompProfile(rule({ names: ['x'], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value: 1, op: 'EQ' }] }), 'P'))).toMatch(/op "EQ"/);
    expect(invalid(() => parseSeccompProfile(rule({ names: ['x'], action: 'SCMP_ACT_ALLOW', includes: { caps: 'CAP_X' } }), 'P'))).toMatch(/includes\.caps/);
    expect(invalid(() => parseSeccompProfile(JSON.stringify({ defaultAction: 'SCMP_ACT_ALLOW', architectures: 'x' }), 'P'))).toMatch(/architectures/);
  });
});

describe('which profile a container gets', () => {
  const sc = (p: DeepPartial<LinuxContainerSecurityContext>) => LinuxContainerSecurityContext.fromPartial(p);
  const base: SeccompInput = { securityContext: undefined, fallback: 'RuntimeDefault', hostSeccomp: true, target: x64, localhostProfile: undefined };
  const blockHostname = JSON.stringify({ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['sethostname'], action: 'SCMP_ACT_ERRNO' }] });

  test('RuntimeDefault', () => {
    const s = resolveSeccomp({ ...base, securityContext: sc({ seccomp: { profileType: SecurityProfile_ProfileType.RuntimeDefault } }) });
    expect(s).toEqual(compileSeccompProfile(DEFAULT_SECCOMP_PROFILE, x64));
  });
  test('Unconfined: none', () => {
    expect(resolveSeccomp({ ...base, securityContext: sc({ seccomp: { profileType: SecurityProfile_ProfileType.Unconfined } }) })).toBeUndefined();
  });
  test('Localhost: the file the caller read', () => {
    const s = resolveSeccomp({
      ...base,
      securityContext: sc({ seccomp: { profileType: SecurityProfile_ProfileType.Localhost, localhostRef: '/var/lib/kubelet/seccomp/block.json' } }),
      localhostProfile: blockHostname,
    });
    expect(s).toEqual({ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['sethostname'], action: 'SCMP_ACT_ERRNO' }] });
  });
  test('Localhost needs an absolute, existing file', () => {
    const local = (ref: string) => sc({ seccomp: { profileType: SecurityProfile_ProfileType.Localhost, localhostRef: ref } });
    expect(invalid(() => resolveSeccomp({ ...base, securityContext: local('') }))).toMatch(/seccomp\.localhost_ref is required/);
    expect(invalid(() => resolveSeccomp({ ...base, securityContext: local('rel.json') }))).toMatch(/not an absolute path/);
    expect(invalid(() => resolveSeccomp({ ...base, securityContext: local('/nope.json') }))).toMatch(/localhost_ref "\/nope\.json": no such profile file/);
    expect(invalid(() => resolveSeccomp({ ...base, securityContext: local('/bad.json'), localhostProfile: 'nope' }))).toMatch(/localhost_ref "\/bad\.json" is not valid JSON/);
  });
  test('privileged containers get none, whatever the request', () => {
    const s = sc({ privileged: true, seccomp: { profileType: SecurityProfile_ProfileType.Localhost, localhostRef: '/p.json' } });
    expect(resolveSeccomp({ ...base, securityContext: s, localhostProfile: blockHostname })).toBeUndefined();
  });
  test('no request: the configured fallback', () => {
    expect(resolveSeccomp(base)).toEqual(compileSeccompProfile(DEFAULT_SECCOMP_PROFILE, x64));
    expect(resolveSeccomp({ ...base, fallback: 'Unconfined' })).toBeUndefined();
  });
  test('the deprecated seccomp_profile_path forms', () => {
    expect(seccompChoice(sc({ seccompProfilePath: 'runtime/default' }), 'Unconfined')).toEqual({ type: 'RuntimeDefault' });
    expect(seccompChoice(sc({ seccompProfilePath: 'docker/default' }), 'Unconfined')).toEqual({ type: 'RuntimeDefault' });
    expect(seccompChoice(sc({ seccompProfilePath: 'unconfined' }), 'RuntimeDefault')).toEqual({ type: 'Unconfined' });
    expect(seccompChoice(sc({ seccompProfilePath: 'localhost//p.json' }), 'RuntimeDefault')).toEqual({ type: 'Localhost', ref: '/p.json' });
    expect(invalid(() => seccompChoice(sc({ seccompProfilePath: 'whatever' }), 'RuntimeDefault'))).toMatch(/seccomp_profile_path "whatever"/);
    // The seccomp field wins over the deprecated one.
    expect(seccompChoice(sc({ seccomp: { profileType: SecurityProfile_ProfileType.Unconfined }, seccompProfilePath: 'runtime/default' }), 'RuntimeDefault')).toEqual({ type: 'Unconfined' });
  });
  test('an unknown profile type is refused', () => {
    expect(invalid(() => seccompChoice(sc({ seccomp: { profileType: 9 as SecurityProfile_ProfileType } }), 'RuntimeDefault'))).toMatch(/seccomp\.profile_type 9/);
  });
  test('a node without seccomp: RuntimeDefault is dropped, Localhost is an error', () => {
    expect(resolveSeccomp({ ...base, hostSeccomp: false })).toBeUndefined();
    const local = sc({ seccomp: { profileType: SecurityProfile_ProfileType.Localhost, localhostRef: '/p.json' } });
    expect(invalid(() => resolveSeccomp({ ...base, hostSeccomp: false, securityContext: local, localhostProfile: blockHostname }))).toMatch(/no seccomp support/);
  });
});
