// The agent's settings, all from its environment (the Helm chart sets them).
// Pure: takes the environment as a value, throws one error naming every bad variable.

export interface AgentEnv {
  nodeName: string;
  podNamespace: string;
  /** krilld's CRI socket (the admin service is served on it too). */
  socket: string;
  dropinDir: string;
  /** The ConfigMap (in podNamespace) whose key `krill.toml` is the cluster config; '' = feature off. */
  configMap: string;
  /** host:port for /metrics and /healthz. */
  metricsAddress: string;
  heartbeatSeconds: number;
  probeSeconds: number;
  /** Lease pool size for krilld restarts. */
  maxRestarts: number;
  leaseTtlSeconds: number;
  /** How often image caches resolve their references again to notice a changed digest. */
  imageCacheResolveSeconds: number;
}

export const ENV_DEFAULTS = {
  socket: '/run/krill/krill.sock',
  dropinDir: '/etc/krill/krill.d',
  metricsAddress: '0.0.0.0:9465',
  heartbeatSeconds: 30,
  probeSeconds: 2,
  maxRestarts: 1,
  leaseTtlSeconds: 60,
  imageCacheResolveSeconds: 600,
} as const;

type Env = Readonly<Record<string, string | undefined>>;

export function parseAgentEnv(env: Env): AgentEnv {
  const errors: string[] = [];
  const required = (name: string): string => {
    const v = env[name]?.trim() ?? '';
    if (v === '') errors.push(`${name} is required`);
    return v;
  };
  const text = (name: string, def: string): string => {
    const v = env[name]?.trim();
    return v === undefined || v === '' ? def : v;
  };
  const seconds = (name: string, def: number, min: number): number => {
    const raw = env[name]?.trim();
    if (raw === undefined || raw === '') return def;
    const n = Number(raw);
    if (!Number.isFinite(n) || n < min) {
      errors.push(`${name}=${JSON.stringify(raw)}: want a number >= ${min}`);
      return def;
    }
    return n;
  };
  const count = (name: string, def: number): number => {
    const n = seconds(name, def, 1);
    if (!Number.isInteger(n)) errors.push(`${name}=${JSON.stringify(env[name])}: want a whole number >= 1`);
    return n;
  };
  const nodeName = required('NODE_NAME');
  const podNamespace = required('POD_NAMESPACE');
  const metricsAddress = text('KRILL_AGENT_METRICS', ENV_DEFAULTS.metricsAddress);
  if (!/^(\[[0-9a-fA-F:.]+\]|[^:\s]+):\d{1,5}$/.test(metricsAddress)) errors.push(`KRILL_AGENT_METRICS=${JSON.stringify(metricsAddress)}: want host:port`);
  const out: AgentEnv = {
    nodeName,
    podNamespace,
    socket: text('KRILL_SOCKET', ENV_DEFAULTS.socket),
    dropinDir: text('KRILL_DROPIN_DIR', ENV_DEFAULTS.dropinDir),
    configMap: env.KRILL_AGENT_CONFIGMAP?.trim() ?? '',
    metricsAddress,
    heartbeatSeconds: seconds('KRILL_AGENT_HEARTBEAT', ENV_DEFAULTS.heartbeatSeconds, 1),
    probeSeconds: seconds('KRILL_AGENT_PROBE', ENV_DEFAULTS.probeSeconds, 0.1),
    maxRestarts: count('KRILL_AGENT_MAX_RESTARTS', ENV_DEFAULTS.maxRestarts),
    leaseTtlSeconds: seconds('KRILL_AGENT_LEASE_TTL', ENV_DEFAULTS.leaseTtlSeconds, 1),
    imageCacheResolveSeconds: seconds('KRILL_AGENT_IMAGE_RESOLVE', ENV_DEFAULTS.imageCacheResolveSeconds, 10),
  };
  if (errors.length > 0) throw new Error(`krill-agent: bad environment: ${errors.join('; ')}`);
  return out;
}
