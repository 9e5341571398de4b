// The bench's networking: the same plugin chain as Krill's embedded default
// (bridge + host-local, portmap, loopback). containerd gets it as a conflist;
// the floor executes it directly per the CNI spec, with no runtime in between.
import { join } from 'node:path';
import { run } from './exec';
import type { BenchNetwork } from './net';

const BIN_DIR = '/usr/lib/cni';
export const CNI_VERSION = '1.0.0';

export interface CniNetwork {
  name: string;
  plugins: Record<string, unknown>[];
}

export function bridgeNetwork(net: BenchNetwork, name: string, ipamDir: string): CniNetwork {
  return {
    name,
    plugins: [
      {
        type: 'bridge',
        bridge: net.bridge,
        isGateway: true,
        ipMasq: true,
        hairpinMode: true,
        ipam: { type: 'host-local', ranges: [[{ subnet: net.subnet }]], routes: [{ dst: '0.0.0.0/0' }], dataDir: ipamDir },
      },
      { type: 'portmap', capabilities: { portMappings: true }, snat: true },
      { type: 'loopback' },
    ],
  };
}

async function invoke(network: CniNetwork, plugin: Record<string, unknown>, command: 'ADD' | 'DEL', id: string, netns: string, prevResult: unknown): Promise<unknown> {
  const stdin = JSON.stringify({ ...plugin, cniVersion: CNI_VERSION, name: network.name, ...(prevResult ? { prevResult } : {}), runtimeConfig: { portMappings: [] } });
  const r = await run(join(BIN_DIR, String(plugin.type)), [], {
    input: stdin,
    timeoutMs: 30_000,
    env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', CNI_COMMAND: command, CNI_CONTAINERID: id, CNI_NETNS: netns, CNI_IFNAME: 'eth0', CNI_PATH: BIN_DIR },
  });
  if (r.code !== 0) throw new Error(`CNI ${plugin.type} ${command} failed: ${(r.stdout.trim() || r.stderr.trim()).slice(0, 500)}`);
  return r.stdout.trim() ? JSON.parse(r.stdout) : undefined;
}

/** ADD through the chain; returns the final result (needed for DEL). */
export async function cniAdd(network: CniNetwork, id: string, netns: string): Promise<unknown> {
  let prev: unknown;
  for (const p of network.plugins) prev = (await invoke(network, p, 'ADD', id, netns, prev)) ?? prev;
  return prev;
}

/** DEL through the chain in reverse, each plugin given the ADD result. */
export async function cniDel(network: CniNetwork, id: string, netns: string, result: unknown): Promise<void> {
  for (const p of [...network.plugins].reverse()) await invoke(network, p, 'DEL', id, netns, result);
}
