// The container manager: a container's life (create, start, stop, remove),
// its record in the state store, exits seen through conmon's exit files,
// stats, updates, exec, and recovery after krilld restarts. Pods and images
// are reached through the narrow views it is given; it never imports their
// managers' internals.
import { EventEmitter } from 'node:events';
import { readFile, rm } from 'node:fs/promises';
import { isAbsolute, join, relative, resolve as resolvePath } from 'node:path';
import { NamespaceMode, type ContainerConfig, type CreateContainerRequest, type LinuxContainerResources, type PodSandboxConfig } from '../../api/runtime/v1/api';
import type { Cgroups } from '../cgroups/cgroups';
import type { CgroupStats } from '../cgroups/stats';
import { failedPrecondition, invalidArgument, KrillError, notFound } from '../errors/errors';
import type { Logger } from '../log/logger';
import { buildContainerSpec, specRequirements, type ImageConfig } from '../oci';
import type { HostFacts, SpecOptions } from '../oci/spec';
import type { OciRuntime } from '../runtime/runtime';
import type { AttachIO, AttachSession } from '../runtime/attach';
import type { ExecSession } from '../runtime/exec_attach';
import type { ExecSyncResult, ExitInfo, HandlerSpec } from '../runtime/types';
import type { IdMap, RootfsManager } from '../storage/rootfs';
import type { MeasuredUsage } from '../storage/usage_cache';
import { mkdirInRoot } from '../storage/in_root';
import { ensureDir, mkdirpShared, PRIVATE_DIR, PRIVATE_FILE, writeFileMode } from '../util/modes';
import type { Store } from '../store/db';
import { AmbiguousIdError, matchIdPrefix, newId } from '../util/id';
import { InFlight } from '../util/inflight';
import { KeyedMutex } from '../util/keyed_mutex';
import { Undo } from '../util/undo';
import { listDevices } from './host_facts';
import { readUserDb, resolveHostFiles } from './resolve_files';
import { ContainerStore } from './store';
import type { Container, ContainerMeta, ContainerState, ContainerStatusRecord } from './types';

/** What the container manager needs to know of a pod. */
export interface PodView {
  id: string;
  ready: boolean;
  config: PodSandboxConfig;
  /** The configured handler name the pod runs with. */
  handler: string;
  namespaces: { network?: string; ipc?: string; uts?: string; user?: string; pid?: string };
  files: { hostname?: string; hosts?: string; resolvConf?: string; shm?: string };
  /** The pod cgroup in the driver's syntax: containers go below it. */
  cgroupParent: string;
  /** Set when the pod has its own user namespace: the root filesystem is ID-mapped through it. */
  idmap?: IdMap;
}

/** What the container manager needs to know of an image. */
export interface ImageView {
  id: string;
  /** What ContainerStatus.image_ref reports: a repo digest when known, else the ID. */
  ref: string;
  name?: string;
  chainIds: string[];
  config: ImageConfig;
}

export interface Pods {
  get(id: string): PodView | undefined;
}

export interface Images {
  resolve(ref: string): ImageView | undefined;
  layerDir(chainId: string): string;
  acquireLayers(holder: string, chainIds: readonly string[]): void;
  releaseLayers(holder: string): void;
}

export type ContainerEventKind = 'created' | 'started' | 'stopped' | 'deleted';

export interface ContainerEvent {
  kind: ContainerEventKind;
  containerId: string;
  podId: string;
  /** ns since the epoch. */
  at: bigint;
  /** The container as it was at the event (for DELETED: as it was before removal). */
  container: Container;
}

export interface ContainerManagerOptions {
  store: Store;
  log: Logger;
  runtime: OciRuntime;
  rootfs: RootfsManager;
  cgroups: Cgroups;
  pods: Pods;
  images: Images;
  /** Per handler: host facts with that handler's features. */
  hostFacts(handler: string): HostFacts;
  specOptions: Omit<SpecOptions, 'runtimeHandler'>;
  /** <state>/containers: bundles and rootfs mount points. */
  bundlesDir: string;
  /** Observes runtime operations (metrics). */
  timeRuntime?: <T>(operation: string, fn: () => Promise<T>) => Promise<T>;
}

export interface ContainerStatsSample {
  timestamp: bigint;
  cgroup: CgroupStats;
  /** The writable layer's usage as last measured (in the background). */
  writable?: MeasuredUsage;
}

export function nowNs(): bigint {
  return BigInt(Date.now()) * 1_000_000n;
}

/** The exit reason the CRI reports. */
export function exitReason(exit: ExitInfo): string {
  if (exit.oomKilled) return 'OOMKilled';
  return exit.exitCode === 0 ? 'Completed' : 'Error';
}

/** kubelet's container name: <name>_<pod name>_<pod namespace>_<pod uid>_<attempt>. */
export function containerKey(config: ContainerConfig, pod: PodView): string {
  const m = pod.config.metadata;
  return [config.metadata!.name, m?.name ?? '', m?.namespace ?? '', m?.uid ?? '', String(config.metadata!.attempt)].join('_');
}

export class ContainerManager {
  readonly events = new EventEmitter<{ event: [ContainerEvent] }>();
  private readonly store: ContainerStore;
  private readonly locks = new KeyedMutex();
  private readonly creating = new InFlight<string>();
  /** When each stop in flight gives up waiting and kills (ms since the epoch), by container. */
  private readonly stopDeadlines = new Map<string, number>();
  private readonly log: Logger;

  constructor(private readonly opts: ContainerManagerOptions) {
    this.store = new ContainerStore(opts.store);
    this.log = opts.log.child({ component: 'containers' });
    this.events.setMaxListeners(0);
  }

  private time<T>(operation: string, fn: () => Promise<T>): Promise<T> {
    return this.opts.timeRuntime ? this.opts.timeRuntime(operation, fn) : fn();
  }

  private emit(kind: ContainerEventKind, c: Container): void {
    this.events.emit('event', { kind, containerId: c.id, podId: c.meta.podId, at: nowNs(), container: c });
  }

  private handlerOf(c: Container): HandlerSpec {
    return this.opts.runtime.handler(c.meta.handler);
  }

  // ---------------------------------------------------------------- lookups

  get(id: string): Container | undefined {
    return this.store.get(id);
  }

  /** The full ID for an ID or unique prefix; undefined when none matches. */
  resolve(idOrPrefix: string): string | undefined {
    try {
      return matchIdPrefix(this.store.ids(), idOrPrefix);
    } catch (err) {
      if (err instanceof AmbiguousIdError) throw invalidArgument(err.message);
      throw err;
    }
  }

  list(): Container[] {
    return this.store.list().filter((c) => c.status.state !== 'creating');
  }

  inPod(podId: string): Container[] {
    return this.store.list().filter((c) => c.meta.podId === podId);
  }

  private mustGet(id: string): Container {
    const c = this.store.get(id);
    if (!c || c.status.state === 'creating') throw notFound(`container ${JSON.stringify(id)} not found`);
    return c;
  }

  // ---------------------------------------------------------------- create

  /**
   * Creates a container in its pod. A kubelet retry of the same create (same
   * name in the same pod) while the first is still running joins it.
   */
  async create(req: CreateContainerRequest, log: Logger): Promise<string> {
    const config = req.config;
    if (!req.podSandboxId) throw invalidArgument('pod_sandbox_id is required');
    if (!config) throw invalidArgument('config is required');
    if (!config.metadata?.name) throw invalidArgument('config.metadata.name is required');
    if (!config.image?.image) throw invalidArgument('config.image.image is required');
    const pod = this.opts.pods.get(req.podSandboxId);
    if (!pod) throw notFound(`pod sandbox ${JSON.stringify(req.podSandboxId)} not found`);
    if (!pod.ready) throw failedPrecondition(`pod sandbox ${pod.id} is not ready`);
    const key = containerKey(config, pod);
    const { promise, joined } = this.creating.run(key, async () => {
      const existing = this.store.idForKey(key);
      if (existing) throw new KrillError('AlreadyExists', `container name ${JSON.stringify(key)} is already in use by container ${existing}`);
      return this.createNew(config, pod, key, log);
    });
    if (joined) log.info({ key }, 'joining a CreateContainer already in flight for this name');
    return promise;
  }

  private logPathFor(config: ContainerConfig, pod: PodView): string {
    const dir = pod.config.logDirectory;
    if (!config.logPath) return '';
    if (!dir) throw invalidArgument('config.log_path is set but the pod has no log_directory');
    if (isAbsolute(config.logPath)) throw invalidArgument(`config.log_path ${JSON.stringify(config.logPath)} must be relative to the pod's log_directory`);
    const full = resolvePath(dir, config.logPath);
    const rel = relative(resolvePath(dir), full);
    if (rel.startsWith('..') || isAbsolute(rel)) throw invalidArgument(`config.log_path ${JSON.stringify(config.logPath)} leaves the pod's log_directory`);
    return full;
  }

  /**
   * For pid mode TARGET: the pid namespace of the target container, which
   * must be a running container of the same pod (as containerd requires).
   * Undefined when the target is not running (the spec builder says so).
   */
  private targetPidNamespace(config: ContainerConfig, pod: PodView): string | undefined {
    const opts = config.linux?.securityContext?.namespaceOptions;
    if (opts?.pid !== NamespaceMode.TARGET || opts.targetId === '') return undefined;
    const field = 'config.linux.security_context.namespace_options.target_id';
    const id = this.resolve(opts.targetId);
    const target = id === undefined ? undefined : this.store.get(id);
    if (!target || target.status.state === 'creating') throw notFound(`${field}: container ${JSON.stringify(opts.targetId)} not found`);
    if (target.meta.podId !== pod.id) throw invalidArgument(`${field}: container ${target.id} belongs to another pod (${target.meta.podId})`);
    if (target.status.state !== 'running' || target.status.pid <= 0) return undefined;
    return `/proc/${target.status.pid}/ns/pid`;
  }

  private async createNew(config: ContainerConfig, pod: PodView, key: string, parentLog: Logger): Promise<string> {
    const image = this.opts.images.resolve(config.image!.image);
    if (!image) throw notFound(`image ${JSON.stringify(config.image!.image)} not found: pull it first`);
    const logPath = this.logPathFor(config, pod);
    const handler = this.opts.runtime.handler(pod.handler);
    const host = this.opts.hostFacts(handler.name);
    const requirements = specRequirements(config, { seccompDefault: this.opts.specOptions.seccompDefault });
    if (requirements.imageMounts.length > 0) throw new KrillError('Unimplemented', 'image volume mounts (config.mounts[].image) are not supported yet');
    const targetPidNamespace = this.targetPidNamespace(config, pod);
    const resolved = await resolveHostFiles(config, requirements);
    if (requirements.hostDevices && !host.devices) host.devices = await listDevices();

    const id = newId();
    const log = parentLog.child({ container_id: id, pod_id: pod.id });
    const bundle = join(this.opts.bundlesDir, id);
    const rootfs = join(bundle, 'rootfs');
    const createdAt = nowNs();
    const undo = new Undo();
    try {
      // The record comes first, marked creating: a crash from here on is cleaned up at the next start.
      const meta: ContainerMeta = {
        podId: pod.id,
        key,
        config,
        image: { requested: config.image!.image, id: image.id, ref: image.ref },
        chainIds: image.chainIds,
        handler: handler.name,
        createdAt,
        logPath,
        bundle,
        rootfs,
        stopSignal: 'SIGTERM',
        cgroupPath: '',
        user: { uid: 0, gid: 0, supplementalGroups: [] },
      };
      this.store.insert({ id, meta, status: emptyStatus('creating') });
      undo.add('delete the record', async () => this.store.delete(id));

      this.opts.images.acquireLayers(id, image.chainIds);
      undo.add('release the layers', async () => this.opts.images.releaseLayers(id));

      // Private: the mounted root filesystem is below it. A user-namespaced runc pivots into it as the
      // pod's remapped root, which gets through by its group (as containerd does).
      await (pod.idmap ? ensureDir(bundle, 0o710, pod.idmap.rootGid) : ensureDir(bundle, PRIVATE_DIR));
      undo.add('remove the bundle', () => rm(bundle, { recursive: true, force: true }));
      const lowers = [...image.chainIds].reverse().map((c) => this.opts.images.layerDir(c));
      await this.opts.rootfs.create(id, lowers, rootfs, pod.idmap);
      undo.add('remove the root filesystem', () => this.opts.rootfs.remove(id, rootfs));

      const userDb = await readUserDb(rootfs);
      const cgroup = this.opts.cgroups.containerCgroup(pod.cgroupParent, id);
      const built = buildContainerSpec({
        containerId: id,
        sandboxId: pod.id,
        config,
        sandboxConfig: pod.config,
        image: image.config,
        imageName: image.name,
        rootfs,
        cgroupsPath: cgroup.ociPath,
        pod: { namespaces: pod.namespaces, files: pod.files, targetPidNamespace },
        resolved: { ...resolved, ...userDb },
        host,
        options: { ...this.opts.specOptions, runtimeHandler: handler.name },
      });
      for (const dir of built.rootfsDirs) await mkdirInRoot(rootfs, dir);
      // Missing host directories of bind mounts, made as containerd and CRI-O make them.
      for (const dir of built.hostDirs) await mkdirpShared(dir, 0o755);
      await writeFileMode(join(bundle, 'config.json'), JSON.stringify(built.spec), PRIVATE_FILE);

      const finalMeta: ContainerMeta = {
        ...meta,
        stopSignal: built.stopSignal.name,
        cgroupPath: cgroup.path,
        user: { uid: built.user.uid, gid: built.user.gid, supplementalGroups: built.user.additionalGids },
      };
      const conmonLog = this.conmonLogPath(id, logPath);
      const created = await this.time('create', () =>
        this.opts.runtime.create({ id, handler, bundle, logPath: conmonLog, terminal: config.tty, stdin: config.stdin, stdinOnce: config.stdinOnce }),
      );
      undo.add('delete the runtime container', () => this.opts.runtime.delete(handler, id));
      // Metadata is immutable once the container exists: replace the provisional row in one transaction.
      this.opts.store.transaction(() => {
        this.store.delete(id);
        this.store.insert({ id, meta: finalMeta, status: { ...emptyStatus('created'), pid: created.pid, resources: config.linux?.resources } });
      });
      log.info({ name: key, image: image.id, pid: created.pid }, 'container created');
      const c = this.store.get(id)!;
      this.emit('created', c);
      return id;
    } catch (err) {
      const failed = await undo.run(log);
      if (failed.length) log.error({ failed }, 'could not undo every step of a failed CreateContainer');
      throw err;
    }
  }

  // ---------------------------------------------------------------- start

  async start(id: string, log: Logger): Promise<void> {
    await this.locks.run(id, async () => {
      const c = this.mustGet(id);
      if (c.status.state !== 'created') {
        throw failedPrecondition(`container ${id} is ${c.status.state}, not created: it cannot be started`);
      }
      const h = this.handlerOf(c);
      // The process may run and exit before `runc start` returns: take the time before, so started <= finished.
      const startedAt = nowNs();
      try {
        await this.time('start', () => this.opts.runtime.start(h, id));
      } catch (err) {
        // The runtime could not start it (e.g. exec failed): record why, as an exit.
        const exit = (await this.opts.runtime.exit(id)) ?? { exitCode: 128, finishedAt: nowNs(), oomKilled: false };
        const message = err instanceof Error ? err.message : String(err);
        const next = this.store.setStatus(id, { ...c.status, state: 'exited', exitCode: exit.exitCode, finishedAt: exit.finishedAt, reason: 'StartError', message });
        this.emit('stopped', next);
        throw err;
      }
      const started = this.store.setStatus(id, { ...c.status, state: 'running', startedAt });
      log.info({ container_id: id }, 'container started');
      this.emit('started', started);
      // An exit that happened before we recorded "running" would have been ignored.
      const exit = await this.opts.runtime.exit(id);
      if (exit) this.recordExit(id, exit);
    });
  }

  // ---------------------------------------------------------------- exits

  /** Called for each exit conmon records; stores it once. */
  private recordExit(id: string, exit: ExitInfo): void {
    const c = this.store.get(id);
    if (!c || (c.status.state !== 'running' && c.status.state !== 'created')) return;
    const next = this.store.setStatus(id, {
      ...c.status,
      state: 'exited',
      exitCode: exit.exitCode,
      finishedAt: exit.finishedAt,
      reason: exitReason(exit),
      message: exit.oomKilled ? 'the container was killed because it ran out of memory' : '',
    });
    this.log.info({ container_id: id, exit_code: exit.exitCode, reason: next.status.reason }, 'container exited');
    this.emit('stopped', next);
  }

  /** conmon recorded an exit: stored under the container's lock, so it cannot overtake a start in progress. */
  private onExitFile = (id: string): void => {
    const c = this.store.get(id);
    if (!c || (c.status.state !== 'running' && c.status.state !== 'created')) return;
    void this.locks
      .run(id, async () => {
        const exit = await this.opts.runtime.exit(id);
        if (exit) this.recordExit(id, exit);
      })
      .catch((err: unknown) => this.log.error({ err, container_id: id }, 'could not record a container exit'));
  };

  // ---------------------------------------------------------------- stop / remove

  /**
   * Stops a container; a stopped or unknown one is fine (kubelet retries).
   * A stop that must end sooner than the one in flight kills the container
   * now instead of waiting behind it: kubelet shortens a pod's grace period,
   * StopPodSandbox forces.
   */
  async stop(id: string, timeoutSeconds: number, log: Logger): Promise<void> {
    const timeoutMs = Math.max(0, timeoutSeconds) * 1000;
    const pending = this.stopDeadlines.get(id);
    const c0 = this.store.get(id);
    if (pending !== undefined && Date.now() + timeoutMs < pending && c0) {
      log.info({ container_id: id, timeout_s: timeoutSeconds }, 'a stop with a longer grace period is in flight: killing the container now');
      await this.opts.runtime.kill(this.handlerOf(c0), id);
    }
    await this.locks.run(id, async () => {
      const c = this.store.get(id);
      if (!c || c.status.state === 'exited' || c.status.state === 'creating') return;
      const signal = c.meta.stopSignal.replace(/^SIG/, '');
      this.stopDeadlines.set(id, Date.now() + timeoutMs);
      try {
        const exit = await this.time('stop', () => this.opts.runtime.stop(this.handlerOf(c), id, signal, timeoutMs));
        this.recordExit(id, exit);
        log.info({ container_id: id, exit_code: exit.exitCode }, 'container stopped');
      } finally {
        this.stopDeadlines.delete(id);
      }
    });
  }

  /** Removes a container, stopping it first; an unknown one is fine. */
  async remove(id: string, log: Logger): Promise<void> {
    await this.locks.run(id, async () => {
      const c = this.store.get(id);
      if (!c) return;
      await this.destroy(c, log);
    });
  }

  private async destroy(c: Container, log: Logger): Promise<void> {
    const h = this.handlerOf(c);
    if (c.status.state === 'running' || c.status.state === 'created') {
      const exit = await this.opts.runtime.stop(h, c.id, 'KILL', 0);
      this.recordExit(c.id, exit);
    }
    // The container has exited, so nothing uses its root filesystem any more:
    // unmounting need not wait for `runc delete` (each is a child process).
    await Promise.all([this.time('delete', () => this.opts.runtime.delete(h, c.id)), this.opts.rootfs.remove(c.id, c.meta.rootfs)]);
    this.opts.images.releaseLayers(c.id);
    await rm(c.meta.bundle, { recursive: true, force: true });
    const last = this.store.get(c.id) ?? c;
    this.store.delete(c.id);
    log.info({ container_id: c.id }, 'container removed');
    if (last.status.state !== 'creating') this.emit('deleted', last);
  }

  async stopAllInPod(podId: string, log: Logger): Promise<void> {
    await Promise.all(this.inPod(podId).map((c) => this.stop(c.id, 0, log)));
  }

  async removeAllInPod(podId: string, log: Logger): Promise<void> {
    await Promise.all(this.inPod(podId).map((c) => this.remove(c.id, log)));
  }

  // ---------------------------------------------------------------- runtime ops

  private mustRun(id: string): Container {
    const c = this.mustGet(id);
    if (c.status.state !== 'running') throw failedPrecondition(`container ${id} is not running (it is ${c.status.state})`);
    return c;
  }

  async processSpec(c: Container): Promise<Record<string, unknown>> {
    const spec = JSON.parse(await readFile(join(c.meta.bundle, 'config.json'), 'utf8')) as { process: Record<string, unknown> };
    return spec.process;
  }

  async execSync(id: string, cmd: string[], timeoutSeconds: number, signal?: AbortSignal): Promise<ExecSyncResult> {
    const c = this.mustRun(id);
    if (cmd.length === 0) throw invalidArgument('cmd must not be empty');
    return this.opts.runtime.execSync({
      handler: this.handlerOf(c),
      id,
      process: await this.processSpec(c),
      cmd,
      timeoutMs: Math.max(0, timeoutSeconds) * 1000,
      signal,
    });
  }

  async exec(id: string, cmd: string[], tty: boolean, io: AttachIO): Promise<ExecSession> {
    const c = this.mustRun(id);
    if (cmd.length === 0) throw invalidArgument('cmd must not be empty');
    return this.opts.runtime.execAttached({ handler: this.handlerOf(c), id, process: await this.processSpec(c), cmd, tty, io });
  }

  attach(id: string, io: AttachIO): { session: AttachSession; tty: boolean; resize(w: number, h: number): Promise<void> } {
    const c = this.mustRun(id);
    return {
      session: this.opts.runtime.attach(id, io),
      tty: c.meta.config.tty,
      resize: (w, h) => this.opts.runtime.resize(c.meta.bundle, w, h),
    };
  }

  async reopenLog(id: string): Promise<void> {
    const c = this.mustRun(id);
    await this.opts.runtime.reopenLog(c.meta.bundle, this.conmonLogPath(id, c.meta.logPath));
  }

  /** Where conmon writes the container's output: kubelet's log path, or a file of our own when it asked for none. */
  private conmonLogPath(id: string, logPath: string): string {
    return logPath || join(this.opts.runtime.paths.persistDir(id), 'ctr.log');
  }

  /** Applies new limits to a running or created container and remembers them. */
  async updateResources(id: string, resources: LinuxContainerResources, toOci: (r: LinuxContainerResources) => object): Promise<void> {
    await this.locks.run(id, async () => {
      const c = this.mustGet(id);
      if (c.status.state === 'exited') throw failedPrecondition(`container ${id} has exited; its resources cannot change`);
      await this.time('update', () => this.opts.runtime.update(this.handlerOf(c), id, c.meta.bundle, toOci(resources)));
      this.store.setStatus(id, { ...c.status, resources });
    });
  }

  async stats(c: Container, withWritableLayer = true): Promise<ContainerStatsSample> {
    const [cgroup, writable] = await Promise.all([
      c.status.state === 'running' ? this.opts.cgroups.stats(c.meta.cgroupPath) : Promise.resolve({}),
      withWritableLayer ? this.opts.rootfs.usage(c.id) : Promise.resolve(undefined),
    ]);
    return { timestamp: nowNs(), cgroup, writable };
  }

  // ---------------------------------------------------------------- recovery

  /**
   * Reconciles the store with what survived: conmon's exit records and the
   * runtime's state. Containers keep running across krilld restarts; ones that
   * exited meanwhile get their real exit; ones lost (node reboot) are marked
   * exited; half-created ones are cleaned up. Never fatal.
   */
  async init(): Promise<ContainerEvent[]> {
    this.opts.runtime.exits.on('exit', this.onExitFile);
    const exitedWhileDown: ContainerEvent[] = [];
    for (const c of this.store.list()) {
      const log = this.log.child({ container_id: c.id });
      try {
        if (c.status.state === 'creating') {
          log.warn('cleaning up a container whose creation was interrupted');
          await this.destroy(c, log);
          continue;
        }
        if (c.status.state === 'exited') continue;
        const exit = await this.opts.runtime.exit(c.id);
        if (exit) {
          this.recordExit(c.id, exit);
          exitedWhileDown.push({ kind: 'stopped', containerId: c.id, podId: c.meta.podId, at: nowNs(), container: this.store.get(c.id)! });
          continue;
        }
        const st = await this.opts.runtime.state(this.handlerOf(c), c.id).catch(() => undefined);
        if (st && (st.status === 'running' || st.status === 'created' || st.status === 'paused')) {
          const state: ContainerState = st.status === 'created' ? 'created' : 'running';
          if (state !== c.status.state) this.store.setStatus(c.id, { ...c.status, state, pid: st.pid });
          continue;
        }
        const next = this.store.setStatus(c.id, {
          ...c.status,
          state: 'exited',
          exitCode: 255,
          finishedAt: nowNs(),
          reason: 'Unknown',
          message: 'the container was lost while krilld was not running (the node may have rebooted)',
        });
        exitedWhileDown.push({ kind: 'stopped', containerId: c.id, podId: c.meta.podId, at: nowNs(), container: next });
      } catch (err) {
        log.error({ err }, 'could not recover container; leaving its record as it was');
      }
    }
    return exitedWhileDown;
  }

  close(): void {
    this.opts.runtime.exits.off('exit', this.onExitFile);
  }
}

function emptyStatus(state: ContainerState): ContainerStatusRecord {
  return { state, pid: 0, startedAt: 0n, finishedAt: 0n, exitCode: 0, reason: '', message: '' };
}
