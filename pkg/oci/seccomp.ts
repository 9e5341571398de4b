// Seccomp: which profile a container gets (RuntimeDefault, Localhost or
// Unconfined; none when privileged) and the compilation of a profile in the
// Docker/Kubernetes format (archMap, rules conditional on capabilities,
// architectures and kernel version) into the OCI form runc and crun read.
// A plain OCI-form profile is a special case of the same format.
import {
  SecurityProfile_ProfileType,
  type LinuxContainerSecurityContext,
  type SecurityProfile,
} from '../../api/runtime/v1/api';
import { invalidArgument } from '../errors/errors';
import { kernelAtLeast } from './host_facts';
import type { Seccomp, Syscall, SyscallArg } from './runtime_spec';
import { DEFAULT_SECCOMP_PROFILE } from './seccomp_default';

export interface SeccompFilter {
  caps?: string[] | null;
  /** Architecture names as Docker writes them: amd64, x32, x86, arm, arm64, ppc64le, s390, s390x, riscv64. */
  arches?: string[] | null;
  /** "4.8": the rule needs at least this kernel. */
  minKernel?: string;
}

export interface SeccompRule {
  names?: string[] | null;
  /** The older single-name form. */
  name?: string;
  action: string;
  errnoRet?: number;
  args?: SyscallArg[] | null;
  includes?: SeccompFilter | null;
  excludes?: SeccompFilter | null;
  comment?: string;
}

export interface SeccompProfile {
  defaultAction: string;
  defaultErrnoRet?: number;
  architectures?: string[] | null;
  archMap?: { architecture: string; subArchitectures?: string[] | null }[] | null;
  flags?: string[] | null;
  listenerPath?: string;
  listenerMetadata?: string;
  syscalls?: SeccompRule[] | null;
}

export const SECCOMP_ACTIONS: readonly string[] = [
  'SCMP_ACT_KILL',
  'SCMP_ACT_KILL_PROCESS',
  'SCMP_ACT_KILL_THREAD',
  'SCMP_ACT_TRAP',
  'SCMP_ACT_ERRNO',
  'SCMP_ACT_TRACE',
  'SCMP_ACT_ALLOW',
  'SCMP_ACT_LOG',
  'SCMP_ACT_NOTIFY',
];

export const SECCOMP_OPERATORS: readonly string[] = [
  'SCMP_CMP_NE',
  'SCMP_CMP_LT',
  'SCMP_CMP_LE',
  'SCMP_CMP_EQ',
  'SCMP_CMP_GE',
  'SCMP_CMP_GT',
  'SCMP_CMP_MASKED_EQ',
];

/** Node's process.arch → the native seccomp architecture and the names profiles use for it. */
const ARCHES: Record<string, { native: string; names: string[] }> = {
  x64: { native: 'SCMP_ARCH_X86_64', names: ['amd64'] },
  ia32: { native: 'SCMP_ARCH_X86', names: ['386', 'x86'] },
  arm64: { native: 'SCMP_ARCH_AARCH64', names: ['arm64'] },
  arm: { native: 'SCMP_ARCH_ARM', names: ['arm'] },
  ppc64: { native: 'SCMP_ARCH_PPC64LE', names: ['ppc64le'] },
  s390x: { native: 'SCMP_ARCH_S390X', names: ['s390x'] },
  riscv64: { native: 'SCMP_ARCH_RISCV64', names: ['riscv64'] },
  loong64: { native: 'SCMP_ARCH_LOONGARCH64', names: ['loong64'] },
  mips64el: { native: 'SCMP_ARCH_MIPSEL64', names: ['mips64le'] },
};

export interface SeccompTarget {
  /** process.arch of the node. */
  arch: string;
  /** The bounding capabilities of the container's process. */
  capabilities: readonly string[];
  /** `uname -r`; rules with a minKernel are kept when it is unknown. */
  kernelVersion?: string;
}

function matches(filter: SeccompFilter | null | undefined, target: SeccompTarget, archNames: string[], include: boolean): boolean {
  if (!filter) return include;
  const caps = filter.caps ?? [];
  const arches = filter.arches ?? [];
  // An unknown kernel counts as new enough.
  const kernelOk = (min: string): boolean => target.kernelVersion === undefined || kernelAtLeast(target.kernelVersion, min);
  if (include) {
    if (caps.some((c) => !target.capabilities.includes(c))) return false;
    if (arches.length > 0 && !arches.some((a) => archNames.includes(a))) return false;
    if (filter.minKernel !== undefined && !kernelOk(filter.minKernel)) return false;
    return true;
  }
  // An exclude filter matches (drops the rule) when any of its conditions holds.
  if (caps.some((c) => target.capabilities.includes(c))) return true;
  if (arches.some((a) => archNames.includes(a))) return true;
  return filter.minKernel !== undefined && kernelOk(filter.minKernel);
}

/** The OCI seccomp section for one container from a profile. */
export function compileSeccompProfile(profile: SeccompProfile, target: SeccompTarget): Seccomp {
  const arch = ARCHES[target.arch];
  const archNames = arch?.names ?? [target.arch];
  const out: Seccomp = { defaultAction: profile.defaultAction };
  if (profile.defaultErrnoRet !== undefined) out.defaultErrnoRet = profile.defaultErrnoRet;

  if (profile.archMap && profile.archMap.length > 0) {
    const entry = arch && profile.archMap.find((m) => m.architecture === arch.native);
    if (entry) out.architectures = [entry.architecture, ...(entry.subArchitectures ?? [])];
  } else if (profile.architectures && profile.architectures.length > 0) {
    out.architectures = [...profile.architectures];
  }
  if (profile.flags && profile.flags.length > 0) out.flags = [...profile.flags];
  if (profile.listenerPath) out.listenerPath = profile.listenerPath;
  if (profile.listenerMetadata) out.listenerMetadata = profile.listenerMetadata;

  // Rules without arguments that share an action merge into one, so the
  // result stays small and free of duplicate names.
  const syscalls: Syscall[] = [];
  const merged = new Map<string, { rule: Syscall; seen: Set<string> }>();
  for (const rule of profile.syscalls ?? []) {
    if (!matches(rule.includes, target, archNames, true) || matches(rule.excludes, target, archNames, false)) continue;
    const names = rule.names && rule.names.length > 0 ? rule.names : rule.name ? [rule.name] : [];
    if (names.length === 0) continue;
    const args = rule.args ?? [];
    if (args.length > 0) {
      const s: Syscall = { names: [...names], action: rule.action, args: args.map((a) => ({ ...a })) };
      if (rule.errnoRet !== undefined) s.errnoRet = rule.errnoRet;
      syscalls.push(s);
      continue;
    }
    const key = `${rule.action}/${rule.errnoRet ?? ''}`;
    let group = merged.get(key);
    if (!group) {
      const s: Syscall = { names: [], action: rule.action };
      if (rule.errnoRet !== undefined) s.errnoRet = rule.errnoRet;
      group = { rule: s, seen: new Set() };
      merged.set(key, group);
      syscalls.push(s);
    }
    for (const n of names) {
      if (!group.seen.has(n)) {
        group.seen.add(n);
        group.rule.names.push(n);
      }
    }
  }
  if (syscalls.length > 0) out.syscalls = syscalls;
  return out;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isStringList = (v: unknown): v is string[] => Array.isArray(v) && v.every((x) => typeof x === 'string');
const isUint = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 0;

/** Parses and checks a profile file's text; `what` names it in errors. */
export function parseSeccompProfile(text: string, what: string): SeccompProfile {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw invalidArgument(`${what} is not valid JSON: ${(err as Error).message}`);
  }
  if (!isObject(raw)) throw invalidArgument(`${what} is not a JSON object`);
  const bad = (msg: string): never => {
    throw invalidArgument(`${what}: ${msg}`);
  };
  if (typeof raw.defaultAction !== 'string' || !SECCOMP_ACTIONS.includes(raw.defaultAction)) {
    bad(`defaultAction ${JSON.stringify(raw.defaultAction)} is not a seccomp action`);
  }
  if (raw.defaultErrnoRet !== undefined && !isUint(raw.defaultErrnoRet)) bad('defaultErrnoRet is not a number');
  for (const key of ['architectures', 'flags'] as const) {
    if (raw[key] !== undefined && raw[key] !== null && !isStringList(raw[key])) bad(`${key} is not a list of strings`);
  }
  for (const key of ['listenerPath', 'listenerMetadata'] as const) {
    if (raw[key] !== undefined && typeof raw[key] !== 'string') bad(`${key} is not a string`);
  }
  if (raw.archMap !== undefined && raw.archMap !== null) {
    if (!Array.isArray(raw.archMap)) bad('archMap is not a list');
    (raw.archMap as unknown[]).forEach((m, i) => {
      if (!isObject(m) || typeof m.architecture !== 'string') bad(`archMap[${i}].architecture is not a string`);
      const subs = (m as Record<string, unknown>).subArchitectures;
      if (subs !== undefined && subs !== null && !isStringList(subs)) bad(`archMap[${i}].subArchitectures is not a list of strings`);
    });
  }
  if (raw.syscalls !== undefined && raw.syscalls !== null) {
    if (!Array.isArray(raw.syscalls)) bad('syscalls is not a list');
    (raw.syscalls as unknown[]).forEach((r, i) => checkRule(r, `syscalls[${i}]`, bad));
  }
  return raw as unknown as SeccompProfile;
}

function checkRule(r: unknown, at: string, bad: (msg: string) => never): void {
  if (!isObject(r)) bad(`${at} is not an object`);
  const rule = r as Record<string, unknown>;
  const hasNames = isStringList(rule.names) && rule.names.length > 0;
  if (rule.names !== undefined && rule.names !== null && !isStringList(rule.names)) bad(`${at}.names is not a list of strings`);
  if (rule.name !== undefined && typeof rule.name !== 'string') bad(`${at}.name is not a string`);
  if (!hasNames && !(typeof rule.name === 'string' && rule.name !== '')) bad(`${at} names no syscall`);
  if (typeof rule.action !== 'string' || !SECCOMP_ACTIONS.includes(rule.action)) {
    bad(`${at}.action ${JSON.stringify(rule.action)} is not a seccomp action`);
  }
  if (rule.errnoRet !== undefined && !isUint(rule.errnoRet)) bad(`${at}.errnoRet is not a number`);
  if (rule.args !== undefined && rule.args !== null) {
    if (!Array.isArray(rule.args)) bad(`${at}.args is not a list`);
    (rule.args as unknown[]).forEach((a, j) => {
      if (!isObject(a)) bad(`${at}.args[${j}] is not an object`);
      const arg = a as Record<string, unknown>;
      if (!isUint(arg.index) || arg.index > 5) bad(`${at}.args[${j}].index must be 0..5`);
      if (!isUint(arg.value)) bad(`${at}.args[${j}].value is not a number`);
      if (arg.valueTwo !== undefined && !isUint(arg.valueTwo)) bad(`${at}.args[${j}].valueTwo is not a number`);
      if (typeof arg.op !== 'string' || !SECCOMP_OPERATORS.includes(arg.op)) bad(`${at}.args[${j}].op ${JSON.stringify(arg.op)} is not an operator`);
    });
  }
  for (const key of ['includes', 'excludes'] as const) {
    const f = rule[key];
    if (f === undefined || f === null) continue;
    if (!isObject(f)) bad(`${at}.${key} is not an object`);
    const filter = f as Record<string, unknown>;
    if (filter.caps !== undefined && filter.caps !== null && !isStringList(filter.caps)) bad(`${at}.${key}.caps is not a list of strings`);
    if (filter.arches !== undefined && filter.arches !== null && !isStringList(filter.arches)) bad(`${at}.${key}.arches is not a list of strings`);
    if (filter.minKernel !== undefined && (typeof filter.minKernel !== 'string' || !/^\d+(\.\d+)?/.test(filter.minKernel))) {
      bad(`${at}.${key}.minKernel is not a kernel version`);
    }
  }
}

export type ProfileChoice =
  | { type: 'RuntimeDefault' }
  | { type: 'Unconfined' }
  | { type: 'Localhost'; ref: string };

const SC = 'config.linux.security_context';

function fromProfile(p: SecurityProfile, field: string): ProfileChoice {
  switch (p.profileType) {
    case SecurityProfile_ProfileType.RuntimeDefault:
      return { type: 'RuntimeDefault' };
    case SecurityProfile_ProfileType.Unconfined:
      return { type: 'Unconfined' };
    case SecurityProfile_ProfileType.Localhost:
      if (p.localhostRef === '') throw invalidArgument(`${field}.localhost_ref is required for a Localhost profile`);
      return { type: 'Localhost', ref: p.localhostRef };
    default:
      throw invalidArgument(`${field}.profile_type ${p.profileType} is not RuntimeDefault, Unconfined or Localhost`);
  }
}

/**
 * The seccomp profile the request asks for: `seccomp`, else the deprecated
 * `seccomp_profile_path` ("runtime/default", "docker/default", "unconfined",
 * "localhost/<path>"), else `fallback`.
 */
export function seccompChoice(sc: LinuxContainerSecurityContext | undefined, fallback: 'RuntimeDefault' | 'Unconfined'): ProfileChoice {
  let choice: ProfileChoice;
  if (sc?.seccomp) {
    choice = fromProfile(sc.seccomp, `${SC}.seccomp`);
  } else {
    const path = sc?.seccompProfilePath ?? '';
    if (path === '') choice = { type: fallback };
    else if (path === 'runtime/default' || path === 'docker/default') choice = { type: 'RuntimeDefault' };
    else if (path === 'unconfined') choice = { type: 'Unconfined' };
    else if (path.startsWith('localhost/') && path.length > 'localhost/'.length) choice = { type: 'Localhost', ref: path.slice('localhost/'.length) };
    else throw invalidArgument(`${SC}.seccomp_profile_path ${JSON.stringify(path)} is not runtime/default, unconfined or localhost/<path>`);
  }
  if (choice.type === 'Localhost' && !choice.ref.startsWith('/')) {
    throw invalidArgument(`${SC}.seccomp.localhost_ref ${JSON.stringify(choice.ref)} is not an absolute path`);
  }
  return choice;
}

export interface SeccompInput {
  securityContext: LinuxContainerSecurityContext | undefined;
  /** The profile when the request names none. */
  fallback: 'RuntimeDefault' | 'Unconfined';
  /** Whether the kernel has seccomp filtering. */
  hostSeccomp: boolean;
  target: SeccompTarget;
  /** The text of the Localhost profile file, read by the caller; undefined when it does not exist. */
  localhostProfile: string | undefined;
}

/** The container's seccomp section, or undefined for none. */
export function resolveSeccomp(input: SeccompInput): Seccomp | undefined {
  const sc = input.securityContext;
  const choice = seccompChoice(sc, input.fallback);
  if (sc?.privileged || choice.type === 'Unconfined') return undefined;
  if (choice.type === 'RuntimeDefault') {
    return input.hostSeccomp ? compileSeccompProfile(DEFAULT_SECCOMP_PROFILE, input.target) : undefined;
  }
  const what = `${SC}.seccomp.localhost_ref ${JSON.stringify(choice.ref)}`;
  if (!input.hostSeccomp) throw invalidArgument(`${what}: this node's kernel has no seccomp support`);
  if (input.localhostProfile === undefined) throw invalidArgument(`${what}: no such profile file on this node`);
  return compileSeccompProfile(parseSeccompProfile(input.localhostProfile, what), input.target);
}
