// The shape of krill.toml: every key Krill reads, its default and what it means.
import { pinnedPatternProblem } from '../image/pinned';
import { bool, checkedStr, duration, int, list, map, oneOf, path, str, table, type Infer } from './schema';

const HOST_PORT = /^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):\d{1,5}$/;
const URL_RE = /^https?:\/\/[^\s/]+(\/[^\s]*)?$/;

export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

const handler = table(
  {
    binary: path('/usr/bin/runc', 'The OCI runtime binary (runc or crun).'),
    root: path('', 'Where the runtime keeps its container state; "" means <state>/runtime/<handler name>.', true),
  },
  'An OCI runtime that pods may select by RuntimeClass handler name.',
);

const registry = table(
  {
    mirrors: list(
      str('', 'A mirror URL.', URL_RE, 'http:// or https:// URL'),
      [],
      'Mirrors tried in order before the registry itself, as URLs ("http://127.0.0.1:5000"); plain http only where written so.',
    ),
    mirror_only: bool(false, 'Never contact the registry itself: a miss on every mirror fails the pull.'),
    insecure: bool(false, 'Talk plain HTTP (or HTTPS without verification) to the registry itself.'),
    ca_file: path('', 'A PEM file of extra CA certificates for this registry and its mirrors.', true),
    share_credentials_with_mirrors: bool(
      false,
      "Also offer this registry's credentials (from the pull request or the auth file) to its mirrors; a mirror always gets the auth-file entry of its own host, and never this registry's unless this is set.",
    ),
  },
  'Settings for one registry host, keyed by its name as it appears in image references ("docker.io").',
);

export const configSchema = table({
  socket: path('/run/krill/krill.sock', 'The gRPC unix socket kubelet and crictl connect to (created mode 0660).'),
  root: path('/var/lib/krill', 'Persistent state: the database, content store, layers, container directories.'),
  state: path('/run/krill', 'Runtime state that a reboot clears: bundles, exit files, attach sockets, namespaces.'),
  log_level: oneOf(LOG_LEVELS, 'info', 'The least severe log level written (JSON lines on standard output).'),
  runtime: table({
    default_handler: str('runc', 'The handler used when a pod names none.'),
    cgroup_driver: oneOf(['cgroupfs', 'systemd'] as const, 'cgroupfs', 'How cgroups are managed; kubelet must agree.'),
    conmon: path('/usr/bin/conmon', 'The conmon binary that monitors every container.'),
    seccomp_use_default_when_empty: bool(
      false,
      'Give containers whose request names no seccomp profile the RuntimeDefault profile instead of none (the CRI says none; kubelet always names one).',
    ),
    monitor_check: duration(
      '10s',
      'How often every live container\'s monitor (conmon) is checked; a container whose conmon died is then reported exited (and killed if it still runs); "0s" never.',
    ),
    handlers: map(
      handler,
      { runc: { binary: '/usr/bin/runc', root: '' }, crun: { binary: '/usr/bin/crun', root: '' } },
      'Runtime handlers by name (RuntimeClass handler).',
      /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/,
    ),
  }),
  image: table({
    pause_image: str('registry.k8s.io/pause:3.10', 'The image kept pinned as the sandbox image (never garbage collected).'),
    pinned_images: list(
      checkedStr('', 'An image reference or a prefix ending in "*".', 'a string (an image reference or a prefix ending in "*")', pinnedPatternProblem),
      [],
      'Images reported pinned (kubelet\'s image GC keeps them), besides pause_image: references normalized as pulls are ("busybox" is docker.io/library/busybox:latest; with @digest, that repo digest), or prefixes ending in "*" matched against the full names ListImages reports ("docker.io/library/busy*"). An image matches by any of its repo tags or repo digests.',
    ),
    auth_file: path('', 'A docker config.json style file with registry credentials; "" for none.', true),
    pull_progress_timeout: duration('1m', 'Cancel a pull when no bytes arrive for this long.'),
    max_concurrent_downloads: int(3, 'Layers downloaded at once per pull.', 1, 32),
    progress_log_interval: duration('10s', 'How often a pull in progress logs bytes done/total per layer; "0s" never.'),
    max_layer_entries: int(
      1_000_000,
      'Refuse a layer with more tar entries than this (a base image layer has 10 000 to 20 000); each entry costs unpack memory, and the unpack workers get a heap sized for it.',
      1,
      10_000_000,
    ),
    zstd_max_window_log: int(
      27,
      'Refuse zstd layers that need a window larger than 2^N bytes (27 = 128 MiB, zstd\'s own default limit); each unpack worker holds one such window.',
      10,
      31,
    ),
    registries: map(registry, {}, 'Per-registry settings: mirrors, insecure, CA files, credentials for mirrors.'),
  }),
  network: table({
    cni_conf_dir: path('/etc/cni/net.d', 'Where CNI network configs (*.conflist, *.conf) are read from.'),
    cni_bin_dirs: list(path('', 'A directory of CNI plugins.'), ['/usr/lib/cni', '/opt/cni/bin'], 'Where CNI plugins are looked up, in order.'),
    plugin_timeout: duration('30s', 'How long one CNI plugin invocation may take.'),
    default_bridge: str('krill0', 'The bridge of the embedded default network used when cni_conf_dir has no config.', /^[A-Za-z0-9_.-]{1,15}$/, 'an interface name'),
    default_subnet: str('10.88.0.0/16', 'The IPv4 subnet of the embedded default network.', /^\d{1,3}(\.\d{1,3}){3}\/\d{1,2}$/, 'a CIDR'),
  }),
  sandbox: table({
    shm_size_mib: int(64, 'Size of each pod\'s /dev/shm (a tmpfs its containers share), in MiB.', 1, 1 << 20),
    default_cgroup_parent: str('/krill', 'Where pods that kubelet gives no cgroup parent get their cgroup (a path for cgroupfs, a slice for systemd); each pod gets its own below it.'),
    infra_binary: path('/usr/bin/catatonit', 'The static pause process run as pid 1 of pods that share one pid namespace (run with -P).'),
  }),
  streaming: table({
    address: str('127.0.0.1', 'The address the exec/attach/port-forward server listens on.'),
    port: int(0, 'Its port; 0 picks a free one.', 0, 65535),
    tls_cert_file: path('', 'A PEM certificate to serve TLS with; "" serves plain HTTP.', true),
    tls_key_file: path('', 'The key of tls_cert_file.', true),
    token_ttl: duration('1m', 'How long a streaming URL stays valid (each is single-use).'),
    idle_timeout: duration('4h', 'Close a streaming connection after this long without traffic either way.'),
    stream_creation_timeout: duration('30s', 'How long a SPDY client may take to open the streams of a session.'),
    max_sessions_per_container: int(
      32,
      'Exec and attach sessions per container (port-forward sessions per pod) open at once, URLs handed out and not yet used or expired included; beyond it Exec, Attach and PortForward answer ResourceExhausted. Probes use ExecSync and do not count.',
      1,
      1024,
    ),
  }),
  metrics: table({
    enabled: bool(true, 'Serve Prometheus metrics.'),
    address: str('127.0.0.1:9090', 'host:port of the metrics server (path /metrics); port 0 picks a free one.', HOST_PORT, 'host:port'),
  }),
});

export type KrillConfig = Infer<typeof configSchema>;
export type HandlerConfig = KrillConfig['runtime']['handlers'][string];
export type RegistryConfig = KrillConfig['image']['registries'][string];

export function defaultConfig(): KrillConfig {
  return configSchema.defaultValue();
}
