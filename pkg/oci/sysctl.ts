// The pod's sysctls, set in each container's namespaces by the runtime.
// Only namespaced ones are possible, and only in a namespace of the pod's own.
import { invalidArgument } from '../errors/errors';
import type { NamespaceResult } from './namespaces';

const IPC_SYSCTLS: ReadonlySet<string> = new Set([
  'kernel.sem',
  'kernel.shmall',
  'kernel.shmmax',
  'kernel.shmmni',
  'kernel.shm_rmid_forced',
  'kernel.msgmax',
  'kernel.msgmnb',
  'kernel.msgmni',
]);

/** "net/ipv4/conf/eth0.100/forwarding" → "net.ipv4.conf.eth0/100.forwarding", as Kubernetes normalizes. */
export function normalizeSysctlName(name: string): string {
  const first = name.search(/[./]/);
  if (first === -1 || name[first] === '.') return name;
  return name.replace(/[./]/g, (c) => (c === '/' ? '.' : '/'));
}

const FIELD = 'sandbox_config.linux.sysctls';

export function buildSysctls(sysctls: Readonly<Record<string, string>>, ns: NamespaceResult): Record<string, string> | undefined {
  const out: Record<string, string> = {};
  for (const [raw, value] of Object.entries(sysctls)) {
    const name = normalizeSysctlName(raw);
    const at = `${FIELD}[${JSON.stringify(raw)}]`;
    if (value.includes('\n')) throw invalidArgument(`${at} value contains a newline`);
    if (IPC_SYSCTLS.has(name) || name.startsWith('fs.mqueue.')) {
      if (ns.hostIpc) throw invalidArgument(`${at}: an IPC sysctl cannot be set when the pod uses the node's IPC namespace`);
    } else if (name.startsWith('net.')) {
      if (ns.hostNetwork) throw invalidArgument(`${at}: a network sysctl cannot be set when the pod uses the node's network`);
    } else if (name === 'kernel.hostname' || name === 'kernel.domainname') {
      if (ns.hostUts) throw invalidArgument(`${at}: a UTS sysctl cannot be set when the pod uses the node's UTS namespace`);
    } else {
      throw invalidArgument(`${at}: ${name} is not a namespaced sysctl`);
    }
    out[name] = value;
  }
  return Object.keys(out).length > 0 ? out : undefined;
}
