import { LinuxPodSandboxConfig, NamespaceMode, PodSandboxConfig, Protocol, type RunPodSandboxRequest } from '../../api/runtime/v1/api';
import { KrillError } from '../errors/errors';
import { checkSysctl, sysctlNamespace, sysctlProcPath } from './sysctl';
import { podKey, validateRunRequest, type ValidationContext } from './validate';

const ctx: ValidationContext = {
  handlers: ['runc', 'crun'],
  defaultHandler: 'runc',
  nodeHostname: 'node1',
  checkCgroupParent: (p) => {
    if (p.includes('..')) throw new Error('must not contain ".."');
  },
};

function request(config: Partial<PodSandboxConfig> = {}, runtimeHandler = ''): RunPodSandboxRequest {
  return {
    runtimeHandler,
    config: { ...PodSandboxConfig.fromPartial({ metadata: { name: 'web', namespace: 'default', uid: 'uid-1', attempt: 2 }, hostname: 'web-0' }), ...config },
  };
}

function nsOptions(over: Partial<{ network: NamespaceMode; pid: NamespaceMode; ipc: NamespaceMode }>, userns?: { mode: NamespaceMode }): PodSandboxConfig['linux'] {
  const ids = [{ hostId: 100000, containerId: 0, length: 65536 }];
  return LinuxPodSandboxConfig.fromPartial({
    securityContext: {
      namespaceOptions: {
        pid: NamespaceMode.CONTAINER,
        usernsOptions: userns ? { mode: userns.mode, uids: ids, gids: ids } : undefined,
        ...over,
      },
    },
  });
}

function refusal(req: RunPodSandboxRequest): string {
  try {
    validateRunRequest(req, ctx);
  } catch (err) {
    expect(err).toBeInstanceOf(KrillError);
    expect((err as KrillError).code).toBe('InvalidArgument');
    return (err as Error).message;
  }
  throw new Error('the request was accepted');
}

describe('validateRunRequest', () => {
  test('without namespace options every namespace is the pod\'s own, pid included (the CRI default)', () => {
    expect(validateRunRequest(request(), ctx).modes).toEqual({ network: 'pod', ipc: 'pod', uts: 'pod', pid: 'pod', user: 'node' });
  });

  test('a plain kubelet pod: own network/IPC/UTS, pid per container, default handler', () => {
    const spec = validateRunRequest(request({ linux: nsOptions({}) }), ctx);
    expect(spec).toMatchObject({
      key: podKey('web', 'default', 'uid-1', 2),
      runtimeHandler: '',
      handler: 'runc',
      hostname: 'web-0',
      modes: { network: 'pod', ipc: 'pod', uts: 'pod', pid: 'container', user: 'node' },
      sysctls: [],
      portMappings: [],
      cgroupParent: '',
    });
    expect(spec.dns).toBeUndefined();
  });

  test('metadata and handler are required and checked', () => {
    expect(refusal({ runtimeHandler: '', config: undefined })).toBe('config is required');
    expect(refusal(request({ metadata: undefined }))).toBe('config.metadata is required');
    expect(refusal(request({ metadata: { name: '', namespace: 'n', uid: 'u', attempt: 0 } }))).toBe('config.metadata.name is required');
    expect(refusal(request({ metadata: { name: 'a', namespace: 'n', uid: '', attempt: 0 } }))).toBe('config.metadata.uid is required');
    expect(refusal(request({}, 'kata'))).toContain('runtime_handler "kata" is not configured (known: runc, crun)');
    expect(validateRunRequest(request({}, 'crun'), ctx).handler).toBe('crun');
  });

  test('host network means the node hostname and no port mappings for CNI', () => {
    const spec = validateRunRequest(request({
      linux: nsOptions({ network: NamespaceMode.NODE }),
      portMappings: [{ protocol: Protocol.TCP, containerPort: 80, hostPort: 80, hostIp: '' }],
    }), ctx);
    expect(spec.modes).toMatchObject({ network: 'node', uts: 'node' });
    expect(spec.hostname).toBe('node1');
    expect(spec.portMappings).toEqual([]);
  });

  test('namespace modes the pod level cannot take are refused', () => {
    expect(refusal(request({ linux: nsOptions({ network: NamespaceMode.CONTAINER }) }))).toContain('namespace_options.network must be POD or NODE');
    expect(refusal(request({ linux: nsOptions({ pid: NamespaceMode.TARGET }) }))).toContain('namespace_options.pid must be POD, CONTAINER or NODE');
    expect(validateRunRequest(request({ linux: nsOptions({ pid: NamespaceMode.POD }) }), ctx).modes.pid).toBe('pod');
  });

  test('user namespaces: mappings kept, host namespaces refused with them', () => {
    const spec = validateRunRequest(request({ linux: nsOptions({}, { mode: NamespaceMode.POD }) }), ctx);
    expect(spec.modes.user).toBe('pod');
    expect(spec.userns?.uids).toEqual([{ hostId: 100000, containerId: 0, length: 65536 }]);
    expect(refusal(request({ linux: nsOptions({ network: NamespaceMode.NODE }, { mode: NamespaceMode.POD }) }))).toContain('cannot use the node');
    const bad = request({ linux: nsOptions({}, { mode: NamespaceMode.POD }) });
    const opts = bad.config!.linux!.securityContext!.namespaceOptions!.usernsOptions!;
    opts.uids = [];
    expect(refusal(bad)).toContain('userns_options.uids must hold exactly one mapping');
    opts.uids = [{ hostId: 1000, containerId: 0, length: 10 }, { hostId: 2000, containerId: 0, length: 10 }];
    expect(refusal(bad)).toContain('userns_options.uids must hold exactly one mapping');
    opts.uids = [{ hostId: 1000, containerId: 1, length: 10 }];
    expect(refusal(bad)).toContain('userns_options.uids[0].container_id must be 0');
    expect(refusal(request({ linux: nsOptions({}, { mode: NamespaceMode.CONTAINER }) }))).toContain('userns_options.mode must be POD or NODE');
    expect(refusal(request({ linux: nsOptions({}, { mode: NamespaceMode.TARGET }) }))).toContain('userns_options.mode must be POD or NODE');
  });

  test('port mappings: only those with a host port reach CNI; bad ones are named', () => {
    const spec = validateRunRequest(request({
      portMappings: [
        { protocol: Protocol.TCP, containerPort: 80, hostPort: 8080, hostIp: '127.0.0.1' },
        { protocol: Protocol.UDP, containerPort: 53, hostPort: 0, hostIp: '' },
        { protocol: Protocol.SCTP, containerPort: 9, hostPort: 9009, hostIp: '' },
      ],
    }), ctx);
    expect(spec.portMappings).toEqual([
      { hostPort: 8080, containerPort: 80, protocol: 'tcp', hostIP: '127.0.0.1' },
      { hostPort: 9009, containerPort: 9, protocol: 'sctp' },
    ]);
    expect(refusal(request({ portMappings: [{ protocol: Protocol.TCP, containerPort: 80, hostPort: 70000, hostIp: '' }] }))).toBe('config.port_mappings[0].host_port must be 0..65535');
    expect(refusal(request({ portMappings: [{ protocol: Protocol.TCP, containerPort: 80, hostPort: 80, hostIp: 'localhost' }] }))).toContain('host_ip "localhost" is not an IP address');
    expect(refusal(request({ portMappings: [{ protocol: Protocol.TCP, containerPort: 0, hostPort: 80, hostIp: '' }] }))).toContain('container_port is required');
  });

  test('DNS settings: kept when given, servers must be IPs, no injected lines', () => {
    const spec = validateRunRequest(request({ dnsConfig: { servers: ['10.96.0.10'], searches: ['ns.svc.cluster.local'], options: ['ndots:5'] } }), ctx);
    expect(spec.dns).toEqual({ servers: ['10.96.0.10'], searches: ['ns.svc.cluster.local'], options: ['ndots:5'] });
    expect(validateRunRequest(request({ dnsConfig: { servers: [], searches: [], options: [] } }), ctx).dns).toBeUndefined();
    expect(refusal(request({ dnsConfig: { servers: ['dns.example'], searches: [], options: [] } }))).toContain('config.dns_config.servers[0]');
    expect(refusal(request({ dnsConfig: { servers: [], searches: ['a\nnameserver 1.2.3.4'], options: [] } }))).toContain('config.dns_config.searches[0]');
  });

  test('hostnames', () => {
    expect(refusal(request({ hostname: 'bad host' }))).toContain('config.hostname');
    expect(refusal(request({ hostname: 'x'.repeat(65) }))).toContain('config.hostname');
    expect(validateRunRequest(request({ hostname: '' }), ctx).hostname).toBe('node1');
  });

  test('sysctls: namespaced ones pass, node-wide ones and host namespaces are refused by name', () => {
    const linux = nsOptions({});
    linux!.sysctls = { 'net.ipv4.ip_unprivileged_port_start': '0', 'kernel.shm_rmid_forced': '1', 'fs.mqueue.msg_max': '100' };
    expect(validateRunRequest(request({ linux }), ctx).sysctls.map((s) => [s.key, s.namespace, s.procPath])).toEqual([
      ['fs.mqueue.msg_max', 'ipc', 'fs/mqueue/msg_max'],
      ['kernel.shm_rmid_forced', 'ipc', 'kernel/shm_rmid_forced'],
      ['net.ipv4.ip_unprivileged_port_start', 'net', 'net/ipv4/ip_unprivileged_port_start'],
    ]);
    const nodeWide = nsOptions({});
    nodeWide!.sysctls = { 'kernel.panic': '1' };
    expect(refusal(request({ linux: nodeWide }))).toBe('config.linux.sysctls["kernel.panic"] is not a namespaced sysctl (it would change the node)');
    const hostNet = nsOptions({ network: NamespaceMode.NODE });
    hostNet!.sysctls = { 'net.ipv4.tcp_syncookies': '1' };
    expect(refusal(request({ linux: hostNet }))).toContain("needs the pod's own net namespace");
    const hostIpc = nsOptions({ ipc: NamespaceMode.NODE });
    hostIpc!.sysctls = { 'kernel.shmmax': '1' };
    expect(refusal(request({ linux: hostIpc }))).toContain("needs the pod's own ipc namespace");
  });

  test('cgroup parent and bandwidth annotations are checked', () => {
    const linux = nsOptions({});
    linux!.cgroupParent = '/kubepods/../etc';
    expect(refusal(request({ linux }))).toContain('config.linux.cgroup_parent');
    expect(refusal(request({ annotations: { 'kubernetes.io/ingress-bandwidth': 'lots' } }))).toContain('config.annotations: annotation kubernetes.io/ingress-bandwidth');
    expect(validateRunRequest(request({ annotations: { 'kubernetes.io/egress-bandwidth': '10M' } }), ctx).bandwidth).toEqual({ egressRate: 10_000_000, egressBurst: 4294967295 });
  });
});

describe('sysctl names', () => {
  test('namespaces and /proc/sys paths, slash form kept', () => {
    expect(sysctlNamespace('net.ipv4.conf.all.forwarding')).toBe('net');
    expect(sysctlNamespace('net/ipv4/conf/eth0.100/rp_filter')).toBe('net');
    expect(sysctlProcPath('net/ipv4/conf/eth0.100/rp_filter')).toBe('net/ipv4/conf/eth0.100/rp_filter');
    expect(sysctlNamespace('kernel.sem')).toBe('ipc');
    expect(sysctlNamespace('kernel.domainname')).toBe('uts');
    expect(sysctlNamespace('vm.swappiness')).toBeUndefined();
  });

  test('names that try to leave /proc/sys are refused', () => {
    const owned = { ipc: true, net: true, uts: true };
    expect(checkSysctl('net/../../etc/passwd', 'x', owned)).toBe('is not a sysctl name');
    expect(checkSysctl('net.ipv4.ip_forward', 'a\nb', owned)).toBe('has an invalid value');
  });
});
