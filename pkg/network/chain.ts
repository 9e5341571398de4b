// A network config list run as the CNI spec says: ADD through the plugins in
// order, each given the previous one's result; DEL in reverse order with the
// result ADD cached; CHECK in order. Only the capabilities a plugin declares
// reach it in runtimeConfig.
import type { CniConfList, CniPluginConf } from './conf';
import type { Launcher } from '../spawn/launcher';
import { invokePlugin, type CniCommand } from './plugin';
import { compareVersions } from './result';

export interface CniRuntimeArgs {
  containerId: string;
  netns: string;
  ifName: string;
  /** CNI_ARGS pairs, e.g. K8S_POD_NAME. */
  args: [string, string][];
  /** Capability name → value (portMappings, bandwidth, ipRanges...). */
  capabilities: Record<string, unknown>;
}

export interface ChainOptions {
  launcher: Launcher;
  binDirs: readonly string[];
  timeoutMs: number;
  signal?: AbortSignal;
}

/** The stdin of one plugin of a list. */
export function pluginStdin(list: CniConfList, plugin: CniPluginConf, rt: CniRuntimeArgs, prevResult: unknown): Record<string, unknown> {
  const { capabilities: declared, ...rest } = plugin;
  const conf: Record<string, unknown> = { ...rest, name: list.name, cniVersion: list.cniVersion };
  if (declared) conf.capabilities = declared;
  const runtimeConfig: Record<string, unknown> = {};
  for (const [cap, on] of Object.entries(declared ?? {})) {
    if (on === true && rt.capabilities[cap] !== undefined) runtimeConfig[cap] = rt.capabilities[cap];
  }
  if (Object.keys(runtimeConfig).length > 0) conf.runtimeConfig = runtimeConfig;
  if (prevResult !== undefined) conf.prevResult = prevResult;
  return conf;
}

export function cniArgsString(args: [string, string][]): string {
  return [['IgnoreUnknown', '1'] as [string, string], ...args].map(([k, v]) => `${k}=${v}`).join(';');
}

async function call(list: CniConfList, plugin: CniPluginConf, command: CniCommand, rt: CniRuntimeArgs, prev: unknown, opts: ChainOptions): Promise<unknown> {
  return invokePlugin(opts.launcher, {
    binDirs: opts.binDirs,
    type: plugin.type,
    command,
    containerId: rt.containerId,
    netns: rt.netns,
    ifName: rt.ifName,
    args: cniArgsString(rt.args),
    stdin: pluginStdin(list, plugin, rt, prev),
    timeoutMs: opts.timeoutMs,
    ...(opts.signal ? { signal: opts.signal } : {}),
  });
}

/** Runs ADD through the list; returns the last plugin's result. */
export async function addNetworkList(list: CniConfList, rt: CniRuntimeArgs, opts: ChainOptions): Promise<unknown> {
  let prev: unknown;
  for (const plugin of list.plugins) {
    const result = await call(list, plugin, 'ADD', rt, prev, opts);
    // A plugin that returns nothing passes the previous result through.
    if (result !== undefined) prev = result;
  }
  return prev;
}

/** Runs DEL through the list in reverse; `cached` is what ADD returned (for 0.4.0 and later). */
export async function delNetworkList(list: CniConfList, rt: CniRuntimeArgs, cached: unknown, opts: ChainOptions): Promise<void> {
  const prev = compareVersions(list.cniVersion, '0.4.0') >= 0 ? cached : undefined;
  for (const plugin of [...list.plugins].reverse()) {
    await call(list, plugin, 'DEL', rt, prev, opts);
  }
}

/** Runs CHECK through the list; a no-op before 0.4.0 or when the list disables it. */
export async function checkNetworkList(list: CniConfList, rt: CniRuntimeArgs, cached: unknown, opts: ChainOptions): Promise<void> {
  if (list.disableCheck || compareVersions(list.cniVersion, '0.4.0') < 0) return;
  for (const plugin of list.plugins) {
    await call(list, plugin, 'CHECK', rt, cached, opts);
  }
}
