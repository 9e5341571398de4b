import { LinuxContainerSecurityContext, SupplementalGroupsPolicy, type DeepPartial } from '../../api/runtime/v1/api';
import { invalidArgumentMessage as invalid } from '../errors/testing';
import { parseGroup, parsePasswd, resolveUser, type UserInput } from './user';

const PASSWD = [
  'root:x:0:0:root:/root:/bin/sh',
  'daemon:x:1:1:daemon:/usr/sbin:/bin/false',
  '# a comment',
  'not a passwd line',
  'alice:x:1000:1000:Alice:/home/alice:/bin/sh',
  'bob:x:1001:100::/home/bob:/bin/sh',
  'nobody:x:65534:65534:nobody:/:/bin/false',
].join('\n');

const GROUP = [
  'root:x:0:',
  'wheel:x:10:root,alice',
  'alice:x:1000:',
  'users:x:100:bob',
  'devs:x:50000:alice, bob',
  'nogroup:x:65534:',
].join('\n');

const sc = (p: DeepPartial<LinuxContainerSecurityContext>): LinuxContainerSecurityContext =>
  LinuxContainerSecurityContext.fromPartial(p);

const resolve = (imageUser: string, securityContext?: LinuxContainerSecurityContext, files: Partial<UserInput> = {}) =>
  resolveUser({ securityContext, imageUser, passwd: PASSWD, group: GROUP, ...files });

test('passwd and group files parse, skipping comments and junk', () => {
  expect(parsePasswd(PASSWD).map((p) => p.name)).toEqual(['root', 'daemon', 'alice', 'bob', 'nobody']);
  expect(parsePasswd('x:x:notanumber:0\n:x:1:1\n')).toEqual([]);
  expect(parseGroup(GROUP).find((g) => g.name === 'devs')).toEqual({ name: 'devs', gid: 50000, members: ['alice', 'bob'] });
});

describe('the image USER, every form', () => {
  test('none: root, with root\'s groups from /etc/group', () => {
    expect(resolve('')).toEqual({ uid: 0, gid: 0, additionalGids: [0, 10] });
  });
  test('none: uid 0 under whatever name /etc/passwd gives it', () => {
    expect(resolve('', undefined, { passwd: 'toor:x:0:0::/:/bin/sh\n', group: 'root:x:0:\nwheel:x:10:toor\n' })).toEqual({ uid: 0, gid: 0, additionalGids: [0, 10] });
    expect(resolve('', undefined, { passwd: undefined, group: undefined })).toEqual({ uid: 0, gid: 0, additionalGids: [0] });
  });
  test('uid: the gid comes from /etc/passwd', () => {
    expect(resolve('1000')).toEqual({ uid: 1000, gid: 1000, additionalGids: [10, 1000, 50000] });
  });
  test('uid not in /etc/passwd: gid 0 and no image groups', () => {
    expect(resolve('4242')).toEqual({ uid: 4242, gid: 0, additionalGids: [0] });
  });
  test('uid:gid', () => {
    expect(resolve('1000:50000')).toEqual({ uid: 1000, gid: 50000, additionalGids: [10, 50000] });
    expect(resolve('4242:4343')).toEqual({ uid: 4242, gid: 4343, additionalGids: [4343] });
  });
  test('name', () => {
    expect(resolve('bob')).toEqual({ uid: 1001, gid: 100, additionalGids: [100, 50000] });
  });
  test('name:group', () => {
    expect(resolve('alice:users')).toEqual({ uid: 1000, gid: 100, additionalGids: [10, 100, 50000] });
  });
  test('mixed uid:group and name:gid', () => {
    expect(resolve('1001:devs')).toMatchObject({ uid: 1001, gid: 50000 });
    expect(resolve('alice:7')).toMatchObject({ uid: 1000, gid: 7 });
  });
  test('an empty group part means the user\'s own group', () => {
    expect(resolve('alice:')).toMatchObject({ uid: 1000, gid: 1000 });
  });
  test('an unknown user name is an error that names it', () => {
    const msg = invalid(() => resolve('ghost'));
    expect(msg).toContain('image config User "ghost"');
    expect(msg).toContain('user "ghost" not found');
  });
  test('an unknown group name is an error that names it', () => {
    expect(invalid(() => resolve('alice:ghosts'))).toContain('group "ghosts" not found');
  });
  test('names need the image to have the files', () => {
    expect(invalid(() => resolve('alice', undefined, { passwd: undefined }))).toContain('the image has no /etc/passwd');
    expect(invalid(() => resolve('0:staff', undefined, { group: undefined }))).toContain('the image has no /etc/group');
  });
  test('numeric users need no files', () => {
    expect(resolve('5:6', undefined, { passwd: undefined, group: undefined })).toEqual({ uid: 5, gid: 6, additionalGids: [6] });
  });
  test('malformed USER values', () => {
    expect(invalid(() => resolve('a:b:c'))).toContain('user[:group]');
    expect(invalid(() => resolve(':5'))).toContain('user[:group]');
    expect(invalid(() => resolve('99999999999'))).toContain('out of range');
    expect(invalid(() => resolve('1:99999999999'))).toContain('out of range');
  });
});

describe('run_as_user, run_as_username, run_as_group', () => {
  test('run_as_user overrides the image USER; the gid comes from /etc/passwd', () => {
    expect(resolve('bob', sc({ runAsUser: { value: 1000n } }))).toEqual({ uid: 1000, gid: 1000, additionalGids: [10, 1000, 50000] });
    expect(resolve('bob', sc({ runAsUser: { value: 0n } }))).toMatchObject({ uid: 0, gid: 0 });
  });
  test('run_as_user with run_as_group', () => {
    expect(resolve('', sc({ runAsUser: { value: 1001n }, runAsGroup: { value: 3000n } }))).toEqual({ uid: 1001, gid: 3000, additionalGids: [100, 3000, 50000] });
  });
  test('run_as_username resolves in the image', () => {
    expect(resolve('', sc({ runAsUsername: 'alice' }))).toMatchObject({ uid: 1000, gid: 1000 });
    expect(resolve('', sc({ runAsUsername: 'alice', runAsGroup: { value: 5n } }))).toMatchObject({ uid: 1000, gid: 5 });
  });
  test('an unknown run_as_username names the field and the user', () => {
    expect(invalid(() => resolve('', sc({ runAsUsername: 'mallory' })))).toMatch(/^config\.linux\.security_context\.run_as_username "mallory".*not found/);
  });
  test('run_as_user and run_as_username together are refused', () => {
    expect(invalid(() => resolve('', sc({ runAsUser: { value: 1n }, runAsUsername: 'alice' })))).toContain('mutually exclusive');
  });
  test('run_as_group without a user is refused', () => {
    expect(invalid(() => resolve('alice', sc({ runAsGroup: { value: 5n } })))).toMatch(/run_as_group is set without run_as_user/);
  });
  test('IDs out of range are refused', () => {
    expect(invalid(() => resolve('', sc({ runAsUser: { value: -1n } })))).toMatch(/run_as_user -1 is out of range/);
    expect(invalid(() => resolve('', sc({ runAsUser: { value: 1n }, runAsGroup: { value: 2n ** 31n } })))).toMatch(/run_as_group/);
    expect(invalid(() => resolve('', sc({ supplementalGroups: [1n, -5n] })))).toMatch(/supplemental_groups\[1\]/);
  });
  test('kubelet copying the image user into run_as_user keeps the image USER\'s group', () => {
    expect(resolve('1000:50000', sc({ runAsUser: { value: 1000n } }))).toMatchObject({ uid: 1000, gid: 50000 });
    expect(resolve('alice:users', sc({ runAsUsername: 'alice' }))).toMatchObject({ uid: 1000, gid: 100 });
    // A different user, or an explicit group, does not take the image's group.
    expect(resolve('1000:50000', sc({ runAsUser: { value: 1001n } }))).toMatchObject({ uid: 1001, gid: 100 });
    expect(resolve('1000:50000', sc({ runAsUser: { value: 1000n }, runAsGroup: { value: 7n } }))).toMatchObject({ gid: 7 });
  });
});

describe('supplementary groups', () => {
  test('Merge: the primary gid, the user\'s groups in the image and the requested ones', () => {
    const u = resolve('1000', sc({ runAsUser: { value: 1000n }, supplementalGroups: [1234n] }));
    expect(u).toEqual({ uid: 1000, gid: 1000, additionalGids: [10, 1000, 1234, 50000] });
  });
  test('Strict: only the primary gid and the requested ones', () => {
    const u = resolve('1000', sc({ runAsUser: { value: 1000n }, supplementalGroups: [1234n], supplementalGroupsPolicy: SupplementalGroupsPolicy.Strict }));
    expect(u).toEqual({ uid: 1000, gid: 1000, additionalGids: [1000, 1234] });
  });
  test('duplicates collapse and the list is sorted', () => {
    expect(resolve('bob', sc({ supplementalGroups: [50000n, 7n, 100n, 7n] })).additionalGids).toEqual([7, 100, 50000]);
  });
  test('an unknown policy is refused', () => {
    expect(invalid(() => resolve('', sc({ supplementalGroupsPolicy: 7 as SupplementalGroupsPolicy })))).toMatch(/supplemental_groups_policy/);
  });
});
