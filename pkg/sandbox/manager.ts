// The sandbox manager: a pod's lifecycle (run, stop, remove), its pinned
// namespaces, shm, files, cgroup and network, its record in the state store,
// and the recovery of one pod after a restart. Containers are not its
// business: pkg/server stops and removes them before calling stop/remove
// here. Namespaces, network, cgroups and the infra process are reached
// through narrow drivers (faked in its unit tests).
import { chmod, copyFile, mkdir, readdir, readFile, rm } from 'node:fs/promises';
import { join, posix } from 'node:path';
import type { RunPodSandboxRequest } from '../../api/runtime/v1/api';
import type { Cgroups } from '../cgroups/cgroups';
import { alreadyExists, invalidArgument, isErrno, unimplemented } from '../errors/errors';
import type { Logger } from '../log/logger';
import type { NetworkManager } from '../network/manager';
import { CniPluginError } from '../network/plugin';
import type { Store } from '../store/db';
import { ObjectStore } from '../store/object_store';
import { RecordTable } from '../store/records';
import { RecentVerdicts } from '../util/recent_verdicts';
import { newId } from '../util/id';
import { InFlight } from '../util/inflight';
import { KeyedMutex } from '../util/keyed_mutex';
import { ensureDir, PRIVATE_DIR, writeFileMode } from '../util/modes';
import { Undo } from '../util/undo';
import { nowNs } from '../util/time';
import { hostnameContent, hostsContent, resolvConfContent } from './files';
import type { InfraRunner } from './infra';
import type { PodNamespaceDriver } from './namespaces';
import { clampOomScoreAdj, INFRA_OOM_SCORE_ADJ } from './oom';
import { OwnedCgroups, PodCgroups } from './pod_cgroups';
import { StepTimer } from './step_timer';
import { remappedRootGid, type PodSpec, type Sandbox, type SandboxMeta, type SandboxNamespaces, type SandboxPaths, type SandboxState, type SandboxStatus } from './types';
import { UsageReader, type PodUsage, type UsageReadOptions } from './usage';
import { validateRunRequest } from './validate';
import { crashPoint } from '../util/crash_points';

const HOST_HOSTS = '/etc/hosts';
const HOST_RESOLV_CONF = '/etc/resolv.conf';
/** hostname, hosts and resolv.conf: readable by any user of the pod's containers (their directory is private). */
const POD_FILE_MODE = 0o644;
/** How old a pod's liveness verdict may be in ListPodSandbox (kubelet relists every second). */
const LISTED_STATE_MAX_AGE_MS = 2000;

/** The pod network (pkg/network): CNI ADD, DEL and CHECK by pod. */
export type PodNetwork = Pick<NetworkManager, 'setUp' | 'tearDown' | 'check' | 'podsWithNetwork'>;

/** What pods need of the cgroup driver (pkg/cgroups). */
export type PodCgroupDriver = Pick<Cgroups, 'driver' | 'podPath' | 'ensure' | 'removeIfEmpty' | 'exists' | 'stats' | 'procs'>;

/** What recovering one pod found. */
export type PodRecovery = 'ready' | 'not ready' | 'no longer ready' | 'half-created, removed';

export interface SandboxManagerOptions {
  root: string;
  state: string;
  store: Store;
  network: PodNetwork;
  cgroups: PodCgroupDriver;
  /** Pinning, checking and entering the pod's namespaces. */
  namespaces: PodNamespaceDriver;
  log: Logger;
  shmSizeBytes: number;
  /** Pods kubelet gives no cgroup parent get one below this (cgroupfs path or systemd slice). */
  defaultCgroupParent: string;
  /** krilld's own oom_score_adj: nothing Krill starts goes below it. */
  oomFloor: number;
  /** The runtime handlers configured now (a reload may add one). */
  handlers: () => readonly string[];
  defaultHandler: string;
  nodeHostname: string;
  /** Runs a pod's infra process (shared pid namespace); without it such pods are refused. */
  infra?: InfraRunner;
}

export class SandboxManager {
  private readonly store: ObjectStore<SandboxMeta, SandboxStatus>;
  private readonly locks = new KeyedMutex();
  private readonly creating = new InFlight<string>();
  private readonly podCgroups: PodCgroups;
  private readonly usageReader: UsageReader;
  private readonly nsRoot: string;
  private readonly listedStates = new RecentVerdicts<Sandbox, SandboxState>((s) => this.liveness(s), LISTED_STATE_MAX_AGE_MS);
  private nsRootReady?: Promise<void>;

  constructor(private readonly opts: SandboxManagerOptions) {
    opts.store.migrate('sandboxes', [
      { version: 1, sql: `${RecordTable.createSql('sandboxes')} CREATE TABLE sandbox_cgroups (path TEXT PRIMARY KEY);` },
    ]);
    this.store = new ObjectStore(opts.store, { table: 'sandboxes', noun: 'pod sandbox', hidden: (st) => st.state === 'creating' });
    this.podCgroups = new PodCgroups(opts.cgroups, new OwnedCgroups(opts.store), opts.log);
    this.usageReader = new UsageReader(opts.cgroups, opts.namespaces);
    this.nsRoot = join(opts.state, 'ns');
  }

  /** Prepares the pods' directories (their modes are the layout's, pkg/storage/layout.ts). */
  async prepare(): Promise<void> {
    await mkdir(join(this.opts.root, 'pods'), { recursive: true });
    await mkdir(join(this.opts.state, 'pods'), { recursive: true });
  }

  /**
   * The namespace directory is a private mount of its own (as ip-netns does
   * with /run/netns), made when the first pod needs it: a krilld that fails
   * to start must not leave a mount behind.
   */
  private ensureNsRoot(): Promise<void> {
    this.nsRootReady ??= this.opts.namespaces.privateRoot(this.nsRoot).catch((err: unknown) => {
      this.nsRootReady = undefined;
      throw err;
    });
    return this.nsRootReady;
  }

  /** Drops the namespace directory's own mount when no pod needs it any more. */
  async close(): Promise<void> {
    this.podCgroups.close();
    await this.opts.namespaces.releaseRoot(this.nsRoot).catch((err: unknown) => this.opts.log.warn({ err }, 'could not unmount the namespace directory'));
  }

  // ---- requests --------------------------------------------------------------

  /** Validates a RunPodSandbox request fully; throws InvalidArgument (or Unimplemented) naming the problem. */
  async validate(req: RunPodSandboxRequest): Promise<PodSpec> {
    const spec = validateRunRequest(req, {
      handlers: this.opts.handlers(),
      defaultHandler: this.opts.defaultHandler,
      nodeHostname: this.opts.nodeHostname,
      checkCgroupParent: (p) => this.opts.cgroups.podPath(p),
    });
    if (spec.modes.pid === 'pod' && !this.opts.infra) {
      throw unimplemented('a shared pid namespace (namespace_options.pid = POD) needs the infra process, which this krilld cannot run');
    }
    if (spec.userns && !(await userNamespacesSupported())) {
      throw invalidArgument('config.linux.security_context.namespace_options.userns_options: this kernel does not allow user namespaces (user.max_user_namespaces is 0)');
    }
    return spec;
  }

  /**
   * Creates the pod. A second call for the same pod while the first is still
   * running joins it (kubelet retrying after its own deadline).
   */
  async run(spec: PodSpec, log: Logger): Promise<{ id: string; joined: boolean }> {
    const { promise, joined } = this.creating.run(spec.key, () => this.create(spec, log));
    return { id: await promise, joined };
  }

  /** Stops the pod: infra process, network (CNI DEL), namespaces and shm. Unknown IDs are fine. */
  async stop(idOrPrefix: string, log: Logger): Promise<void> {
    const found = this.resolve(idOrPrefix);
    if (!found) return;
    const id = found.id;
    await this.locks.run(id, async () => {
      const s = this.store.get(id);
      if (!s || s.status.state === 'creating') return;
      await this.teardown(s, log);
      crashPoint('pod.stop.torn-down');
      if (s.status.state !== 'notready' || s.status.ips.length > 0 || s.status.infra) {
        const { infra: _gone, ...rest } = s.status;
        this.store.setStatus(id, { ...rest, state: 'notready', ips: [], stoppedAt: s.status.stoppedAt ?? nowNs() });
        log.info({ pod_id: id }, 'pod sandbox stopped');
      }
    });
  }

  /** Stops the pod if needed and deletes everything of it. Unknown IDs are fine. */
  async remove(idOrPrefix: string, log: Logger): Promise<void> {
    const found = this.resolve(idOrPrefix);
    if (!found) return;
    const id = found.id;
    await this.locks.run(id, async () => {
      const s = this.store.get(id);
      if (!s || s.status.state === 'creating') return;
      await this.teardown(s, log);
      crashPoint('pod.remove.torn-down');
      await this.deleteFiles(s);
      crashPoint('pod.remove.files');
      await this.podCgroups.release(s, () => this.store.all());
      this.store.delete(id);
      this.usageReader.forget(id);
      log.info({ pod_id: id }, 'pod sandbox removed');
    });
  }

  /** The pod with exactly this ID (the container manager's view of a pod); not one being created. */
  get(id: string): Sandbox | undefined {
    const s = this.store.get(id);
    return s && s.status.state !== 'creating' ? s : undefined;
  }

  /** The pod for an ID or unique prefix (crictl passes prefixes); undefined when none matches. */
  resolve(idOrPrefix: string): Sandbox | undefined {
    return this.store.resolve(idOrPrefix);
  }

  /** The pod for an ID or unique prefix, or NotFound naming `field`. */
  find(idOrPrefix: string, field = 'pod_sandbox_id'): Sandbox {
    return this.store.find(idOrPrefix, field);
  }

  /** Every pod that exists (pods being created are not listed yet). */
  list(): Sandbox[] {
    return this.store.list();
  }

  /** Every record, those being created included (recovery). */
  records(): Sandbox[] {
    return this.store.all();
  }

  /** The state now: a ready pod whose pinned namespaces vanished or whose infra process died is not ready. */
  async currentState(s: Sandbox): Promise<SandboxState> {
    if (s.status.state !== 'ready') return s.status.state;
    const state = await this.liveness(s);
    this.listedStates.record(s, state);
    return state;
  }

  /**
   * The state for listings: of a ready pod, from a liveness check at most
   * LISTED_STATE_MAX_AGE_MS old (an older verdict while a new check runs), so
   * that ListPodSandbox does not wait on a few file system calls per pod.
   */
  listedState(s: Sandbox): SandboxState | Promise<SandboxState> {
    return s.status.state === 'ready' ? this.listedStates.get(s) : s.status.state;
  }

  private async liveness(s: Sandbox): Promise<SandboxState> {
    if ((await this.opts.namespaces.missing(s.meta.namespaces)).length > 0) return 'notready';
    if (s.status.infra && this.opts.infra && !(await this.opts.infra.alive(s, s.status.infra))) return 'notready';
    return 'ready';
  }

  /** The pod's usage; `detailed` for the CRI metrics (see UsageReader.read). */
  async usage(s: Sandbox, opts: UsageReadOptions = {}): Promise<PodUsage> {
    return this.usageReader.read(s, opts);
  }

  // ---- creation --------------------------------------------------------------

  private findByKey(key: string): Sandbox | undefined {
    return this.store.all().find((s) => s.meta.key === key && s.status.state !== 'creating' && !s.status.reason?.startsWith(FAILED_CREATE));
  }

  private defaultCgroupParent(id: string): string {
    const base = this.opts.defaultCgroupParent;
    if (this.opts.cgroups.driver === 'systemd') return `${base.replace(/^\//, '').replace(/\.slice$/, '')}-pod${id}.slice`;
    return posix.join(base, `pod-${id}`);
  }

  private pathsFor(id: string, spec: PodSpec): SandboxPaths {
    const dir = join(this.opts.root, 'pods', id);
    const runDir = join(this.opts.state, 'pods', id);
    return {
      dir,
      runDir,
      hostname: join(dir, 'hostname'),
      hosts: join(dir, 'hosts'),
      resolvConf: join(dir, 'resolv.conf'),
      shm: spec.modes.ipc === 'pod' ? join(runDir, 'shm') : '/dev/shm',
      nsDir: join(this.nsRoot, id),
    };
  }

  private async create(spec: PodSpec, log: Logger): Promise<string> {
    const md = spec.config.metadata!;
    const existing = this.findByKey(spec.key);
    if (existing) {
      throw alreadyExists(`a pod sandbox for pod ${md.name} in namespace ${md.namespace} (uid ${md.uid}, attempt ${md.attempt}) already exists: ${existing.id}`);
    }
    const id = newId();
    const plog = log.child({ pod_id: id });
    const paths = this.pathsFor(id, spec);
    const cgroupParent = spec.cgroupParent || this.defaultCgroupParent(id);
    const namespaces: SandboxNamespaces = {
      ...(spec.modes.network === 'pod' ? { network: join(paths.nsDir, 'net') } : {}),
      ...(spec.modes.ipc === 'pod' ? { ipc: join(paths.nsDir, 'ipc') } : {}),
      ...(spec.modes.uts === 'pod' ? { uts: join(paths.nsDir, 'uts') } : {}),
      ...(spec.userns ? { user: join(paths.nsDir, 'user') } : {}),
    };
    const meta: SandboxMeta = {
      config: spec.config,
      key: spec.key,
      runtimeHandler: spec.runtimeHandler,
      handler: spec.handler,
      createdAt: nowNs(),
      hostname: spec.hostname,
      modes: spec.modes,
      ...(spec.userns ? { userns: spec.userns } : {}),
      namespaces,
      paths,
      cgroupParent,
      cgroupPath: this.opts.cgroups.podPath(cgroupParent),
      oomScoreAdj: clampOomScoreAdj(INFRA_OOM_SCORE_ADJ, this.opts.oomFloor),
    };
    const sandbox: Sandbox = { id, meta, status: { state: 'creating', ips: [] } };
    // Recorded first: a crash halfway leaves a record that the next start cleans up.
    this.store.insert(sandbox);
    crashPoint('pod.create.recorded');
    const undo = new Undo();
    try {
      await this.locks.run(id, () => this.createSteps(sandbox, spec, undo, plog));
    } catch (err) {
      const failed = await undo.run(plog);
      if (failed.length === 0) {
        this.store.delete(id);
      } else {
        // Keep it listed (NOTREADY) so that a later Stop/Remove or kubelet's GC can finish the cleanup.
        this.store.setStatus(id, { state: 'notready', ips: [], reason: `${FAILED_CREATE}: ${(err as Error).message}; cleanup incomplete: ${failed.join(', ')}` });
      }
      plog.warn({ err, undo_failed: failed }, 'RunPodSandbox failed; steps undone');
      throw err;
    }
    plog.info({ ips: this.store.get(id)?.status.ips, name: md.name, namespace: md.namespace }, 'pod sandbox ready');
    return id;
  }

  private async createSteps(s: Sandbox, spec: PodSpec, undo: Undo, log: Logger): Promise<void> {
    const { meta } = s;
    const { paths } = meta;
    const timer = new StepTimer();
    await ensureDir(paths.dir, PRIVATE_DIR);
    undo.add('delete the pod directory', () => rm(paths.dir, { recursive: true, force: true }));
    // A user-namespaced pod's infra bundle is below it: its remapped root passes by group, as through container bundles.
    const rootGid = remappedRootGid(spec.userns);
    await (rootGid === undefined ? ensureDir(paths.runDir, PRIVATE_DIR) : ensureDir(paths.runDir, 0o710, rootGid));
    undo.add('delete the pod run directory', () => rm(paths.runDir, { recursive: true, force: true }));
    await this.podCgroups.ensure(meta.cgroupPath);
    undo.add('release the pod cgroup', () => this.podCgroups.release(s, () => this.store.all()));
    crashPoint('pod.create.cgroup');
    await this.ensureNsRoot();
    timer.lap('dirs_cgroup');

    if (spec.modes.ipc === 'pod') await mkdir(paths.shm);
    await this.opts.namespaces.pin({
      dir: paths.nsDir,
      net: spec.modes.network === 'pod',
      ipc: spec.modes.ipc === 'pod',
      uts: spec.modes.uts === 'pod',
      hostname: spec.hostname,
      ...(spec.userns ? { userns: spec.userns } : {}),
      ...(spec.modes.ipc === 'pod' ? { shm: { path: paths.shm, sizeBytes: this.opts.shmSizeBytes } } : {}),
    });
    undo.add('unpin the namespaces and unmount shm', () => this.opts.namespaces.unpin(paths.nsDir, spec.modes.ipc === 'pod' ? [paths.shm] : []));
    crashPoint('pod.create.namespaces');
    timer.lap('namespaces');

    // The network and the infra process need only the pinned namespaces: set both up at once.
    let status: SandboxStatus = { state: 'ready', ips: [] };
    const network = async (): Promise<void> => {
      if (!meta.namespaces.network) return;
      const md = spec.config.metadata!;
      const net = await this.opts.network.setUp({
        podId: s.id,
        netns: meta.namespaces.network,
        podName: md.name,
        podNamespace: md.namespace,
        podUid: md.uid,
        portMappings: spec.portMappings,
        ...(spec.bandwidth ? { bandwidth: spec.bandwidth } : {}),
      });
      undo.add('tear the network down (CNI DEL)', () => this.opts.network.tearDown(s.id));
      crashPoint('pod.create.network');
      status = { ...status, ips: net.ips, network: { name: net.networkName, source: net.configSource } };
      timer.since('network', branchStart);
      try {
        await this.opts.namespaces.writeSysctls(meta.namespaces, spec.sysctls);
      } catch (err) {
        throw invalidArgument(`config.linux.sysctls could not be set: ${(err as Error).message}`);
      }
    };
    const infra = async (): Promise<void> => {
      if (spec.modes.pid !== 'pod') return;
      const started = await this.opts.infra!.start(s);
      undo.add('stop the infra process', () => this.opts.infra!.remove(s, started));
      crashPoint('pod.create.infra');
      status = { ...status, infra: started };
      timer.since('infra', branchStart);
    };
    const branchStart = performance.now();
    const results = await Promise.allSettled([network(), infra()]);
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
    timer.lap('network_and_infra');

    // Bind-mounted into every container of the pod, whichever user it runs as.
    await Promise.all([
      writeFileMode(paths.hostname, hostnameContent(meta.hostname), POD_FILE_MODE),
      meta.namespaces.network
        ? writeFileMode(paths.hosts, hostsContent(meta.hostname, status.ips), POD_FILE_MODE)
        : copyHostFile(HOST_HOSTS, paths.hosts, hostsContent(meta.hostname, [])),
      spec.dns ? writeFileMode(paths.resolvConf, resolvConfContent(spec.dns), POD_FILE_MODE) : copyHostFile(HOST_RESOLV_CONF, paths.resolvConf, ''),
    ]);
    crashPoint('pod.create.files');
    this.store.setStatus(s.id, status);
    log.debug({ ms: timer.done() }, 'pod sandbox created');
  }

  // ---- teardown --------------------------------------------------------------

  /** Everything Stop undoes; each step is a no-op when already done. */
  private async teardown(s: Sandbox, log: Logger): Promise<void> {
    const timer = new StepTimer();
    const branchStart = performance.now();
    await Promise.all([
      (async () => {
        if (s.status.infra && this.opts.infra) await this.opts.infra.remove(s, s.status.infra);
        timer.since('infra', branchStart);
      })(),
      (async () => {
        if (s.meta.modes.network === 'pod') await this.opts.network.tearDown(s.id);
        timer.since('network', branchStart);
      })(),
    ]);
    timer.lap('network_and_infra');
    await this.opts.namespaces.unpin(s.meta.paths.nsDir, s.meta.modes.ipc === 'pod' ? [s.meta.paths.shm] : []);
    timer.lap('namespaces');
    log.debug({ ms: timer.done() }, 'pod sandbox torn down');
  }

  private async deleteFiles(s: Sandbox): Promise<void> {
    await rm(s.meta.paths.dir, { recursive: true, force: true });
    await rm(s.meta.paths.runDir, { recursive: true, force: true });
  }

  // ---- recovery --------------------------------------------------------------

  /**
   * Recovery's last step for pods: directories, pinned namespaces, shm
   * mounts and CNI networks that no pod record owns are removed (the
   * runtime's infra containers go with the containers' sweep), and each
   * removal logged.
   */
  async sweepLeftovers(log: Logger): Promise<string[]> {
    const known = new Set(this.store.all().map((s) => s.id));
    const removed: string[] = [];
    const unknownIn = async (dir: string): Promise<string[]> =>
      (await readdir(dir).catch(() => [] as string[])).filter((n) => /^[0-9a-f]{64}$/.test(n) && !known.has(n));
    for (const id of await this.opts.network.podsWithNetwork()) {
      if (known.has(id)) continue;
      await this.opts.network.tearDown(id);
      removed.push(`pod network of ${id} (CNI DEL)`);
    }
    for (const id of await unknownIn(this.nsRoot)) {
      const runDir = join(this.opts.state, 'pods', id);
      await this.opts.namespaces.unpin(join(this.nsRoot, id), [join(runDir, 'shm')]);
      removed.push(`pinned namespaces of ${id}`);
    }
    for (const id of await unknownIn(join(this.opts.state, 'pods'))) {
      const runDir = join(this.opts.state, 'pods', id);
      await this.opts.namespaces.unpin(join(this.nsRoot, id), [join(runDir, 'shm')]);
      await rm(runDir, { recursive: true, force: true });
      removed.push(`run directory of ${id}`);
    }
    for (const id of await unknownIn(join(this.opts.root, 'pods'))) {
      await rm(join(this.opts.root, 'pods', id), { recursive: true, force: true });
      removed.push(`pod directory of ${id}`);
    }
    for (const p of await this.podCgroups.sweep(() => this.store.all())) removed.push(`pod cgroup ${p}`);
    for (const what of removed) log.warn({ removed: what }, 'removed a leftover no record owns');
    return removed;
  }

  /**
   * Reconciles one pod's record with what survived a restart: a pod whose
   * creation was interrupted is torn down and forgotten (nobody got its ID);
   * a ready pod whose namespaces, shm, infra process or network are gone is
   * marked not ready (Stop and Remove then clean up). Under the pod's lock.
   */
  async recover(id: string, log: Logger): Promise<PodRecovery> {
    return this.locks.run(id, async () => {
      const s = this.store.get(id);
      if (!s) return 'not ready';
      if (s.status.state === 'creating') {
        await this.teardown(s, log);
        await this.deleteFiles(s);
        await this.podCgroups.release(s, () => this.store.all());
        this.store.delete(s.id);
        return 'half-created, removed';
      }
      if (s.status.state !== 'ready') return 'not ready';
      const problems = await this.opts.namespaces.missing(s.meta.namespaces);
      if (s.meta.modes.ipc === 'pod' && !(await this.opts.namespaces.isMounted(s.meta.paths.shm))) problems.push(s.meta.paths.shm);
      if (s.status.infra && this.opts.infra && !(await this.opts.infra.alive(s, s.status.infra))) problems.push(`infra process ${s.status.infra.pid}`);
      if (problems.length === 0) return 'ready';
      this.markGone(s, problems, log);
      return 'no longer ready';
    });
  }

  private markGone(s: Sandbox, problems: string[], log: Logger): void {
    this.store.setStatus(s.id, { ...s.status, state: 'notready', reason: `gone while krilld was down (node reboot?): ${problems.join(', ')}` });
    log.warn({ missing: problems }, 'pod sandbox is no longer ready');
  }

  /**
   * After a restart, once krilld serves: asks the CNI plugins whether each
   * ready pod's network is still as ADD left it (CNI CHECK), a few pods at a
   * time, and marks the pods whose plugins say no not ready. This is
   * recovery's slow part (a plugin run per pod and plugin), so it does not
   * hold the start. Only a plugin's verdict (a CNI error) counts: a plugin
   * that crashes on CHECK (bandwidth 1.1 does when the pod has no limits)
   * must not take every pod down at each restart.
   */
  async checkNetworks(log: Logger, concurrency = 4): Promise<{ checked: number; broken: number }> {
    const ids = this.store.list().filter((s) => s.status.state === 'ready' && s.meta.modes.network === 'pod').map((s) => s.id);
    let next = 0;
    let broken = 0;
    const one = (id: string): Promise<void> =>
      this.locks.run(id, async () => {
        const s = this.store.get(id);
        if (!s || s.status.state !== 'ready') return;
        const plog = log.child({ pod_id: id });
        const verdict = await this.opts.network.check(id).then(
          () => undefined,
          (err: unknown) => {
            if (err instanceof CniPluginError && err.cniCode !== undefined) return `network: ${err.message}`;
            plog.warn({ err }, 'CNI CHECK could not run; the pod is left as it is');
            return undefined;
          },
        );
        if (verdict === undefined) return;
        const now = this.store.get(id);
        if (now?.status.state !== 'ready') return;
        this.markGone(now, [verdict], plog);
        broken++;
      });
    const worker = async (): Promise<void> => {
      while (next < ids.length) await one(ids[next++]!);
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, ids.length) }, worker));
    return { checked: ids.length, broken };
  }
}

const FAILED_CREATE = 'RunPodSandbox failed';


/** The node's file (symlinks followed), or `fallback` on a node without one. */
async function copyHostFile(from: string, to: string, fallback: string): Promise<void> {
  try {
    await copyFile(from, to);
    await chmod(to, POD_FILE_MODE);
  } catch (err) {
    if (!isErrno(err, 'ENOENT')) throw err;
    await writeFileMode(to, fallback, POD_FILE_MODE);
  }
}

async function userNamespacesSupported(): Promise<boolean> {
  try {
    return Number((await readFile('/proc/sys/user/max_user_namespaces', 'utf8')).trim()) > 0;
  } catch {
    return false;
  }
}

