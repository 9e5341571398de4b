// Pod networking through CNI: which network is in force (the first valid
// config of the conf dir, re-read when the directory changes, or the embedded
// default when it holds none), setting a pod's network up and tearing it down,
// and whether the node's network is ready.
import { join } from 'node:path';
import { KrillError } from '../errors/errors';
import type { Logger } from '../log/logger';
import type { CniBandwidth } from './bandwidth';
import { CniResultCache } from './cache';
import { addNetworkList, checkNetworkList, delNetworkList, type ChainOptions, type CniRuntimeArgs } from './chain';
import { confDirFingerprint, scanConfDir, type CniConfList, type ConfDirScan } from './conf';
import { defaultNetwork, trimForPod } from './default_network';
import { decideDefaultSubnets, readBridge, type BridgeState } from './default_subnets';
import { findPlugin } from './plugin';
import { podIpsFromResult } from './result';
import type { Launcher } from '../spawn/launcher';
import { run } from '../spawn/run';

export const POD_IFNAME = 'eth0';

export interface NetworkManagerOptions {
  /** Starts the CNI plugins. */
  launcher: Launcher;
  confDir: string;
  binDirs: readonly string[];
  pluginTimeoutMs: number;
  defaultBridge: string;
  defaultSubnet: string;
  /** krilld's persistent root: the result cache and the default network's leases live under <root>/cni. */
  root: string;
  log: Logger;
  /** Pod CIDRs kubelet handed over before (UpdateRuntimeConfig), restored at start. */
  podCidrs?: string[];
  /** Observes each CNI operation on a pod (metrics): ADD, DEL or CHECK, success or failure, seconds. */
  observe?: (operation: 'ADD' | 'DEL' | 'CHECK', result: 'success' | 'failure', seconds: number) => void;
  /** The default bridge as the host has it (tests replace it). */
  readBridge?: (name: string) => Promise<BridgeState>;
  /** Deletes the default bridge (an idle one whose address is of an old subnet). */
  deleteBridge?: (name: string) => Promise<void>;
}

export interface CniPortMapping {
  hostPort: number;
  containerPort: number;
  protocol: 'tcp' | 'udp' | 'sctp';
  hostIP?: string;
}

export interface PodNetworkRequest {
  podId: string;
  netns: string;
  podName: string;
  podNamespace: string;
  podUid: string;
  portMappings: CniPortMapping[];
  bandwidth?: CniBandwidth;
}

export interface PodNetworkResult {
  networkName: string;
  /** Where the network's config came from (a file, or the embedded default). */
  configSource: string;
  /** IPv4 first; the first is the pod's primary IP. */
  ips: string[];
  /** The raw CNI result, for PodSandboxStatus verbose info. */
  result: unknown;
}

export interface NetworkCondition {
  ready: boolean;
  reason: string;
  message: string;
}

export interface ActiveNetwork {
  config?: CniConfList;
  /** Why there is no usable config (when `config` is undefined). */
  problem?: string;
}

export class NetworkManager {
  readonly cache: CniResultCache;
  private scanned?: { fingerprint: string; scan: ConfDirScan };
  private podCidrs: string[];
  /** The embedded default's subnets in force; unset until the first pod settles them. */
  private defaultSubnets?: string[];
  private settling?: Promise<void>;
  private addsInFlight = 0;
  private pendingNoted?: string;

  constructor(private readonly opts: NetworkManagerOptions) {
    this.cache = new CniResultCache(join(opts.root, 'cni', 'results'));
    this.podCidrs = opts.podCidrs ?? [];
  }

  private async deleteLink(name: string): Promise<void> {
    const r = await run(this.opts.launcher, 'ip', ['link', 'del', name]);
    if (r.code !== 0 && !/Cannot find device/.test(r.stderr)) throw new Error(`ip link del ${name}: ${r.stderr.trim() || `exit ${r.code}`}`);
  }

  private async ipAddrJson(name: string): Promise<string> {
    const r = await run(this.opts.launcher, 'ip', ['-j', 'addr', 'show', 'dev', name]);
    if (r.code !== 0) throw new Error(`ip addr show dev ${name}: ${r.stderr.trim() || `exit ${r.code}`}`);
    return r.stdout;
  }

  private wantedDefaultSubnets(): string[] {
    return this.podCidrs.length > 0 ? this.podCidrs : [this.opts.defaultSubnet];
  }

  /**
   * Before a pod joins the embedded default: the subnets it allocates from
   * agree with the bridge (decideDefaultSubnets). Decided only while no ADD
   * runs, so a bridge is never deleted under a pod being attached.
   */
  private async settleDefaultSubnets(): Promise<void> {
    const wanted = this.wantedDefaultSubnets();
    if (this.defaultSubnets && this.defaultSubnets.join(',') === wanted.join(',')) return;
    if (this.addsInFlight > 0) return;
    this.settling ??= (async () => {
      const bridge = this.opts.defaultBridge;
      const state = await (this.opts.readBridge ?? ((name) => readBridge(name, (n) => this.ipAddrJson(n))))(bridge);
      const d = decideDefaultSubnets(wanted, state);
      if (d.deleteBridge) {
        this.opts.log.info({ bridge, subnets: d.subnets }, 'default bridge has an address of another subnet and no pods: deleting it for the new one');
        await (this.opts.deleteBridge ?? ((name) => this.deleteLink(name)))(bridge);
      }
      if (d.pending && d.pending !== this.pendingNoted) this.opts.log.warn({ bridge, pending: d.pending }, 'pod CIDR not in force yet');
      this.pendingNoted = d.pending;
      this.defaultSubnets = d.subnets;
    })().finally(() => {
      this.settling = undefined;
    });
    await this.settling;
  }

  /** The network new pods join now. Re-reads the conf dir only when it changed. */
  async active(): Promise<ActiveNetwork> {
    const fingerprint = await confDirFingerprint(this.opts.confDir);
    if (this.scanned?.fingerprint !== fingerprint) {
      const scan = await scanConfDir(this.opts.confDir);
      if (this.scanned) this.opts.log.info({ conf_dir: this.opts.confDir, network: scan.config?.source ?? null, errors: scan.errors }, 'CNI config directory changed');
      this.scanned = { fingerprint, scan };
    }
    const { scan } = this.scanned;
    if (scan.config) return { config: scan.config };
    if (scan.files.length > 0) return { problem: `no valid CNI config in ${this.opts.confDir}: ${scan.errors.join('; ')}` };
    return {
      config: defaultNetwork({
        bridge: this.opts.defaultBridge,
        subnets: this.defaultSubnets ?? this.wantedDefaultSubnets(),
        dataDir: join(this.opts.root, 'cni', 'networks'),
      }),
    };
  }

  async condition(): Promise<NetworkCondition> {
    const { config, problem } = await this.active();
    if (!config) return { ready: false, reason: 'NetworkPluginNotReady', message: problem ?? 'no CNI config' };
    const missing: string[] = [];
    for (const type of new Set(config.plugins.map((p) => p.type))) {
      if (!(await findPlugin(this.opts.binDirs, type))) missing.push(type);
    }
    if (missing.length > 0) {
      return { ready: false, reason: 'NetworkPluginNotReady', message: `network ${config.name} (${config.source}): plugins not found in ${this.opts.binDirs.join(', ')}: ${missing.join(', ')}` };
    }
    return { ready: true, reason: '', message: '' };
  }

  /** Pod CIDRs from UpdateRuntimeConfig: the embedded default allocates from them, configs get them as the ipRanges capability. */
  setPodCidrs(cidrs: string[]): void {
    this.podCidrs = [...cidrs];
  }

  getPodCidrs(): string[] {
    return [...this.podCidrs];
  }

  private runtimeArgs(req: PodNetworkRequest): CniRuntimeArgs {
    const capabilities: Record<string, unknown> = {};
    if (req.portMappings.length > 0) capabilities.portMappings = req.portMappings;
    if (req.bandwidth) capabilities.bandwidth = req.bandwidth;
    if (this.podCidrs.length > 0) capabilities.ipRanges = this.podCidrs.map((subnet) => [{ subnet }]);
    return {
      containerId: req.podId,
      netns: req.netns,
      ifName: POD_IFNAME,
      args: [
        ['K8S_POD_NAMESPACE', req.podNamespace],
        ['K8S_POD_NAME', req.podName],
        ['K8S_POD_INFRA_CONTAINER_ID', req.podId],
        ['K8S_POD_UID', req.podUid],
      ],
      capabilities,
    };
  }

  /**
   * Runs ADD for the pod. On failure DEL runs (the spec's way to undo a
   * partial ADD) and the error of ADD is thrown.
   */
  async setUp(req: PodNetworkRequest, signal?: AbortSignal): Promise<PodNetworkResult> {
    let { config: active, problem } = await this.active();
    if (active && isEmbeddedDefault(active)) {
      await this.settleDefaultSubnets();
      ({ config: active, problem } = await this.active());
    }
    if (!active) throw new KrillError('FailedPrecondition', `the pod network is not ready: ${problem}`);
    const config = trimForPod(active, { portMappings: req.portMappings.length > 0, bandwidth: req.bandwidth !== undefined });
    const runtime = this.runtimeArgs(req);
    let result: unknown;
    this.addsInFlight++;
    try {
      await this.cache.write({ kind: 'krill-cni-cache-v1', podId: req.podId, config, runtime });
      try {
        result = await this.timed('ADD', () => addNetworkList(config, runtime, this.chainOptions(signal)));
      } catch (err) {
        await this.tearDown(req.podId).catch((undoErr: unknown) =>
          this.opts.log.error({ pod_id: req.podId, err: undoErr }, 'CNI DEL after a failed ADD failed'),
        );
        throw err;
      }
    } finally {
      this.addsInFlight--;
    }
    await this.cache.write({ kind: 'krill-cni-cache-v1', podId: req.podId, config, runtime, result });
    return { networkName: config.name, configSource: config.source, ips: podIpsFromResult(result, POD_IFNAME), result };
  }

  /** Runs DEL with what ADD was given; nothing to do when the pod has no network set up. */
  async tearDown(podId: string): Promise<void> {
    const entry = await this.cache.read(podId);
    if (!entry) return;
    await this.timed('DEL', () => delNetworkList(entry.config, entry.runtime, entry.result, this.chainOptions()));
    await this.cache.remove(podId);
  }

  /** The pods whose network was set up (or was being set up) and not torn down. */
  podsWithNetwork(): Promise<string[]> {
    return this.cache.podIds();
  }

  /** Runs CHECK against the cached result; throws when a plugin finds the network broken. */
  async check(podId: string): Promise<void> {
    const entry = await this.cache.read(podId);
    if (!entry?.result) throw new Error(`pod ${podId} has no network set up`);
    await this.timed('CHECK', () => checkNetworkList(entry.config, entry.runtime, entry.result, this.chainOptions()));
  }

  private async timed<T>(operation: 'ADD' | 'DEL' | 'CHECK', fn: () => Promise<T>): Promise<T> {
    const started = process.hrtime.bigint();
    const seconds = (): number => Number(process.hrtime.bigint() - started) / 1e9;
    try {
      const out = await fn();
      this.opts.observe?.(operation, 'success', seconds());
      return out;
    } catch (err) {
      this.opts.observe?.(operation, 'failure', seconds());
      throw err;
    }
  }

  private chainOptions(signal?: AbortSignal): ChainOptions {
    return { launcher: this.opts.launcher, binDirs: this.opts.binDirs, timeoutMs: this.opts.pluginTimeoutMs, ...(signal ? { signal } : {}) };
  }
}

function isEmbeddedDefault(config: CniConfList): boolean {
  return config.source.startsWith('embedded default');
}

