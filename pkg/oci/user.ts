// The identity of the container's first process: run_as_user /
// run_as_username / run_as_group from the request, else the image's USER
// (uid, uid:gid, name, name:group, mixed), resolved against the image's own
// /etc/passwd and /etc/group, plus the supplementary groups policy.
import { SupplementalGroupsPolicy, type LinuxContainerSecurityContext } from '../../api/runtime/v1/api';
import { invalidArgument } from '../errors/errors';

/** runc refuses IDs above 2^31-1 (it keeps them in an int32). */
export const MAX_ID = 2147483647;

const SC = 'config.linux.security_context';

export interface PasswdEntry {
  name: string;
  uid: number;
  gid: number;
}

export interface GroupEntry {
  name: string;
  gid: number;
  members: string[];
}

function parseId(text: string): number | undefined {
  if (!/^\d{1,10}$/.test(text)) return undefined;
  const n = Number(text);
  return n <= MAX_ID ? n : undefined;
}

/** The entries of an /etc/passwd file; malformed lines and comments are skipped. */
export function parsePasswd(text: string): PasswdEntry[] {
  const out: PasswdEntry[] = [];
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const f = line.split(':');
    if (f.length < 4 || f[0] === '') continue;
    const uid = parseId(f[2]!);
    const gid = parseId(f[3]!);
    if (uid === undefined || gid === undefined) continue;
    out.push({ name: f[0]!, uid, gid });
  }
  return out;
}

/** The entries of an /etc/group file; malformed lines and comments are skipped. */
export function parseGroup(text: string): GroupEntry[] {
  const out: GroupEntry[] = [];
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const f = line.split(':');
    if (f.length < 3 || f[0] === '') continue;
    const gid = parseId(f[2]!);
    if (gid === undefined) continue;
    const members = (f[3] ?? '').split(',').map((m) => m.trim()).filter((m) => m !== '');
    out.push({ name: f[0]!, gid, members });
  }
  return out;
}

export interface UserInput {
  securityContext: LinuxContainerSecurityContext | undefined;
  /** The image config's User ("" for none). */
  imageUser: string;
  /** Contents of the image's /etc/passwd and /etc/group; undefined when the image has none. */
  passwd: string | undefined;
  group: string | undefined;
}

export interface ResolvedUser {
  uid: number;
  gid: number;
  /** Every group of the process, the primary one included, sorted: what ContainerStatus reports. */
  additionalGids: number[];
}

interface UserSpec {
  user: string;
  group: string | undefined;
  /** How to name the source in an error. */
  what: string;
}

function imageUserSpec(imageUser: string): UserSpec | undefined {
  if (imageUser === '') return undefined;
  const parts = imageUser.split(':');
  const what = `image config User ${JSON.stringify(imageUser)}`;
  if (parts.length > 2 || parts[0] === '') throw invalidArgument(`${what} is not of the form user[:group]`);
  return { user: parts[0]!, group: parts[1] === '' ? undefined : parts[1], what };
}

export function resolveUser(input: UserInput): ResolvedUser {
  const sc = input.securityContext;
  const runAsUser = sc?.runAsUser;
  const runAsUsername = sc?.runAsUsername ?? '';
  const runAsGroup = sc?.runAsGroup;
  if (runAsUser && runAsUsername !== '') {
    throw invalidArgument(`${SC}.run_as_user and ${SC}.run_as_username are mutually exclusive`);
  }
  if (runAsGroup && !runAsUser && runAsUsername === '') {
    throw invalidArgument(`${SC}.run_as_group is set without run_as_user or run_as_username`);
  }
  checkId(runAsUser?.value, `${SC}.run_as_user`);
  checkId(runAsGroup?.value, `${SC}.run_as_group`);
  (sc?.supplementalGroups ?? []).forEach((g, i) => checkId(g, `${SC}.supplemental_groups[${i}]`));

  const fromImage = imageUserSpec(input.imageUser);
  let spec: UserSpec;
  if (runAsUsername !== '') spec = { user: runAsUsername, group: undefined, what: `${SC}.run_as_username ${JSON.stringify(runAsUsername)}` };
  else if (runAsUser) spec = { user: String(runAsUser.value), group: undefined, what: `${SC}.run_as_user ${runAsUser.value}` };
  else spec = fromImage ?? { user: '0', group: undefined, what: 'the default user 0' };
  // kubelet copies the image's user into run_as_user/run_as_username and drops
  // its group; when the request names that same user, the image's group still holds.
  if (spec !== fromImage && !runAsGroup && fromImage?.group !== undefined && fromImage.user === spec.user) {
    spec = { ...spec, group: fromImage.group, what: fromImage.what };
  }

  const passwd = input.passwd === undefined ? [] : parsePasswd(input.passwd);
  const groups = input.group === undefined ? [] : parseGroup(input.group);

  const found = lookupUser(spec, passwd, input.passwd !== undefined);
  const { uid, name } = found;
  let gid = found.gid;
  if (spec.group !== undefined) gid = resolveGroup(spec.group, spec.what, groups, input.group !== undefined);
  if (runAsGroup) gid = Number(runAsGroup.value);

  const all = new Set<number>([gid]);
  const policy = sc?.supplementalGroupsPolicy ?? SupplementalGroupsPolicy.Merge;
  if (policy === SupplementalGroupsPolicy.Merge) {
    if (name !== undefined) for (const g of groups) if (g.members.includes(name)) all.add(g.gid);
  } else if (policy !== SupplementalGroupsPolicy.Strict) {
    throw invalidArgument(`${SC}.supplemental_groups_policy ${policy} is not Merge or Strict`);
  }
  for (const g of sc?.supplementalGroups ?? []) all.add(Number(g));
  return { uid, gid, additionalGids: [...all].sort((a, b) => a - b) };
}

/** The uid, its primary gid and its name (when /etc/passwd has it). */
function lookupUser(spec: UserSpec, passwd: PasswdEntry[], haveFile: boolean): { uid: number; gid: number; name: string | undefined } {
  const numeric = parseId(spec.user);
  if (numeric !== undefined) {
    const entry = passwd.find((p) => p.uid === numeric);
    return { uid: numeric, gid: entry?.gid ?? 0, name: entry?.name };
  }
  if (/^\d+$/.test(spec.user)) throw invalidArgument(`${spec.what}: uid ${spec.user} is out of range (0..${MAX_ID})`);
  const entry = passwd.find((p) => p.name === spec.user);
  if (!entry) {
    const why = haveFile ? "not found in the image's /etc/passwd" : 'cannot be resolved: the image has no /etc/passwd';
    throw invalidArgument(`${spec.what}: user ${JSON.stringify(spec.user)} ${why}`);
  }
  return { uid: entry.uid, gid: entry.gid, name: entry.name };
}

function resolveGroup(group: string, what: string, groups: GroupEntry[], haveFile: boolean): number {
  const numeric = parseId(group);
  if (numeric !== undefined) return numeric;
  if (/^\d+$/.test(group)) throw invalidArgument(`${what}: gid ${group} is out of range (0..${MAX_ID})`);
  const entry = groups.find((g) => g.name === group);
  if (!entry) {
    throw invalidArgument(
      `${what}: group ${JSON.stringify(group)} ${haveFile ? "not found in the image's /etc/group" : 'cannot be resolved: the image has no /etc/group'}`,
    );
  }
  return entry.gid;
}

function checkId(value: bigint | undefined, field: string): void {
  if (value !== undefined && (value < 0n || value > BigInt(MAX_ID))) {
    throw invalidArgument(`${field} ${value} is out of range (0..${MAX_ID})`);
  }
}
