// The network a node gets when its CNI config directory is empty: a bridge
// with host-local addresses, masquerading out, host ports (with SNAT, so that
// a hostPort answers on 127.0.0.1 too), traffic shaping and loopback.
import type { CniConfList } from './conf';

export interface DefaultNetworkOptions {
  bridge: string;
  /** The configured subnet, or kubelet's pod CIDRs (UpdateRuntimeConfig) when it sent them. */
  subnets: string[];
  /** host-local's lease directory: inside krilld's own root, not /var/lib/cni. */
  dataDir: string;
}

export const DEFAULT_NETWORK_NAME = 'krill';

export function defaultNetwork(opts: DefaultNetworkOptions): CniConfList {
  return {
    name: DEFAULT_NETWORK_NAME,
    cniVersion: '1.0.0',
    disableCheck: false,
    source: `embedded default (bridge ${opts.bridge}, subnet ${opts.subnets.join(', ')})`,
    plugins: [
      {
        type: 'bridge',
        bridge: opts.bridge,
        isGateway: true,
        ipMasq: true,
        hairpinMode: true,
        // Not the ipRanges capability: host-local adds those ranges to its own
        // instead of replacing them, so the pod CIDR goes straight in here.
        ipam: {
          type: 'host-local',
          ranges: opts.subnets.map((subnet) => [{ subnet }]),
          routes: [{ dst: '0.0.0.0/0' }],
          dataDir: opts.dataDir,
        },
      },
      { type: 'portmap', capabilities: { portMappings: true }, snat: true },
      // kubelet's kubernetes.io/ingress-bandwidth and egress-bandwidth annotations; a no-op without them
      { type: 'bandwidth', capabilities: { bandwidth: true } },
      { type: 'loopback' },
    ],
  };
}

/**
 * The embedded network as one pod needs it: portmap and bandwidth only when
 * the pod asks for host ports or shaping. Each plugin is a process run at
 * ADD and at DEL (portmap's DEL also walks iptables), so leaving out the
 * ones with nothing to do saves every such pod several spawns. DEL and CHECK
 * run with the config ADD cached, so they match. Other configs are the
 * operator's and run as written.
 */
export function trimForPod(config: CniConfList, wants: { portMappings: boolean; bandwidth: boolean }): CniConfList {
  if (config.name !== DEFAULT_NETWORK_NAME || !config.source.startsWith('embedded default')) return config;
  const plugins = config.plugins.filter((p) => (p.type !== 'portmap' || wants.portMappings) && (p.type !== 'bandwidth' || wants.bandwidth));
  return plugins.length === config.plugins.length ? config : { ...config, plugins };
}
