// The container manager: a container's life (create, start, stop, remove),
// its record in the state store, exits seen through the runtime, stats,
// updates, exec, and the recovery of one container after a restart. Pods,
// images, root filesystems, cgroups and the runtime are reached through the
// narrow views it is given (ContainerRuntime for the runtime); it never
// imports their managers' internals.
import { EventEmitter } from 'node:events';
import { readdir, readFile, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { NamespaceMode, type ContainerConfig, type CreateContainerRequest, type LinuxContainerResources, type PodSandboxConfig } from '../../api/runtime/v1/api';
import type { CdiResolver } from '../cdi/spec_dirs';
import type { CgroupStats } from '../cgroups/stats';
import { failedPrecondition, invalidArgument, KrillError, notFound } from '../errors/errors';
import type { Logger } from '../log/logger';
import { buildContainerSpec, specRequirements, type HostDevice, type ImageConfig } from '../oci';
import { buildResources } from '../oci/resources';
import type { HostFacts, SpecOptions } from '../oci/spec';
import type { AttachIO, AttachSession } from '../runtime/attach';
import type { ExecSession } from '../runtime/exec_attach';
import type { ContainerRuntime, RuntimeContainer } from '../runtime/interface';
import type { ExecSyncResult, ExitInfo, RuntimeState } from '../runtime/types';
import { mkdirInRoot } from '../storage/in_root';
import type { IdMap } from '../storage/rootfs';
import type { MeasuredUsage } from '../storage/usage_cache';
import type { Store } from '../store/db';
import { ObjectStore } from '../store/object_store';
import { RecordTable } from '../store/records';
import { newId } from '../util/id';
import { InFlight } from '../util/inflight';
import { KeyedMutex } from '../util/keyed_mutex';
import { ensureDir, mkdirpShared, PRIVATE_DIR, PRIVATE_FILE, writeFileMode } from '../util/modes';
import { nowNs } from '../util/time';
import { Undo } from '../util/undo';
import { readUserDb, resolveHostFiles, type ResolvedForSpec } from './resolve_files';
import type { Container, ContainerMeta, ContainerState, ContainerStatusRecord } from './types';
import { prepareLogFile } from './log_file';
import { containerKey, logPathIn, validateCreateRequest, type CreateSpec } from './validate';
import { crashPoint } from '../util/crash_points';

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

/** The pods a container can be created in. */
export interface PodLookup {
  get(id: string): PodView | undefined;
}

export interface ImageLookup {
  resolve(ref: string): ImageView | undefined;
  layerDir(chainId: string): string;
  acquireLayers(holder: string, chainIds: readonly string[]): void;
  releaseLayers(holder: string): void;
}

/** Containers' root filesystems (pkg/storage/rootfs.ts). */
export interface RootfsDriver {
  create(id: string, lowerDirs: string[], target: string, idmap?: IdMap): Promise<void>;
  /**
   * A writable, ID-mapped view (mounts below it included) of a volume, for a
   * user-namespaced pod's container whose OCI runtime cannot ID-map mounts;
   * beside `target`, and gone with `remove(id, target)`. Resolves its path.
   */
  idmappedVolume(target: string, index: number, source: string, idmap: IdMap): Promise<string>;
  remove(id: string, target: string): Promise<void>;
  usage(id: string): Promise<MeasuredUsage | undefined>;
  /** The containers that have a writable layer (recovery's view of leftovers). */
  ids(): Promise<string[]>;
}

/** Containers' cgroups (pkg/cgroups). */
export interface ContainerCgroups {
  /** The container's cgroup below its pod's: as a path (for stats) and as the runtime spells it. */
  containerCgroup(parent: string, id: string): { path: string; ociPath: string };
  stats(path: string, detailed?: boolean): Promise<CgroupStats>;
  /** The processes in the cgroup and below. */
  procs(path: string): Promise<number[]>;
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
  runtime: ContainerRuntime;
  rootfs: RootfsDriver;
  cgroups: ContainerCgroups;
  pods: PodLookup;
  images: ImageLookup;
  /** Facts about the node, with each handler's features (probed once at start). */
  hostFacts(handler: string): HostFacts;
  /** The node's devices, which privileged containers get (read when one is created). */
  hostDevices(): Promise<HostDevice[]>;
  /** CDI devices (ContainerConfig.CDI_devices, cdi.k8s.io/ annotations) from the spec directories. */
  cdi: CdiResolver;
  specOptions: Omit<SpecOptions, 'runtimeHandler'>;
  /** <state>/containers: bundles and rootfs mount points. */
  bundlesDir: string;
  /** Observes runtime operations (metrics). */
  timeRuntime?: <T>(operation: string, fn: () => Promise<T>) => Promise<T>;
  /** How often every live container's monitor (conmon) is checked; default 10 s, 0 never. */
  monitorCheckMs?: number;
}

export interface ContainerStatsSample {
  timestamp: bigint;
  cgroup: CgroupStats;
  /** The writable layer's usage as last measured (in the background). */
  writable?: MeasuredUsage;
  /** Processes in the container's cgroup (detailed samples only). */
  processes?: bigint;
}

export interface ContainerStatsOptions {
  /** The writable layer's last measurement; default true. */
  writableLayer?: boolean;
  /** For the CRI metrics: the cgroup's detail and the process count as well. */
  detailed?: boolean;
}

const MONITOR_CHECK_MS = 10_000;

/** What recovering one container found. */
export type ContainerRecovery = 'running' | 'created' | 'exited' | 'exited while down' | 'lost' | 'half-created, removed';

/** The exit reason the CRI reports. */
export function exitReason(exit: ExitInfo): string {
  if (exit.oomKilled) return 'OOMKilled';
  return exit.exitCode === 0 ? 'Completed' : 'Error';
}

export class ContainerManager {
  readonly events = new EventEmitter<{ event: [ContainerEvent] }>();
  private readonly store: ObjectStore<ContainerMeta, ContainerStatusRecord>;
  private readonly locks = new KeyedMutex();
  private readonly creating = new InFlight<string>();
  /** When each stop in flight gives up waiting and kills (ms since the epoch), by container. */
  private readonly stopDeadlines = new Map<string, number>();
  private readonly log: Logger;
  private unwatchExits?: () => void;
  private monitorTimer?: NodeJS.Timeout;

  constructor(private readonly opts: ContainerManagerOptions) {
    opts.store.migrate('containers', [{ version: 1, sql: RecordTable.createSql('containers') }]);
    this.store = new ObjectStore(opts.store, { table: 'containers', noun: 'container', keyOf: (m) => m.key, hidden: (s) => s.state === 'creating' });
    this.log = opts.log.child({ component: 'containers' });
    this.events.setMaxListeners(0);
  }

  private time<T>(operation: string, fn: () => Promise<T>): Promise<T> {
    return this.opts.timeRuntime ? this.opts.timeRuntime(operation, fn) : fn();
  }

  private emit(kind: ContainerEventKind, c: Container): void {
    this.events.emit('event', { kind, containerId: c.id, podId: c.meta.podId, at: nowNs(), container: c });
  }

  private runtimeView(c: Container): RuntimeContainer {
    return { id: c.id, handler: c.meta.handler, bundle: c.meta.bundle };
  }

  // ---------------------------------------------------------------- lookups

  /** The container for an ID or unique prefix, or NotFound naming `field`. */
  find(idOrPrefix: string, field = 'container_id'): Container {
    return this.store.find(idOrPrefix, field);
  }

  /** The container for an ID or unique prefix; undefined when there is none. */
  resolve(idOrPrefix: string): Container | undefined {
    return this.store.resolve(idOrPrefix);
  }

  /** Every container (those being created are not listed yet). */
  list(): Container[] {
    return this.store.list();
  }

  inPod(podId: string): Container[] {
    return this.store.all().filter((c) => c.meta.podId === podId);
  }

  /** Every record, those being created included (recovery). */
  records(): Container[] {
    return this.store.all();
  }

  // ---------------------------------------------------------------- create

  /** Checks a CreateContainer request before anything is done (InvalidArgument naming the field). */
  validate(req: CreateContainerRequest): CreateSpec {
    return validateCreateRequest(req);
  }

  /**
   * Creates a container in its pod. A kubelet retry of the same create (same
   * name in the same pod) while the first is still running joins it.
   */
  async create(spec: CreateSpec, log: Logger): Promise<string> {
    const pod = this.opts.pods.get(spec.podId);
    if (!pod) throw notFound(`pod sandbox ${JSON.stringify(spec.podId)} not found (pod_sandbox_id)`);
    if (!pod.ready) throw failedPrecondition(`pod sandbox ${pod.id} is not ready`);
    const key = containerKey(spec.config, pod.config);
    const { promise, joined } = this.creating.run(key, async () => {
      const existing = this.store.idForKey(key);
      if (existing) throw new KrillError('AlreadyExists', `container name ${JSON.stringify(key)} is already in use by container ${existing}`);
      return this.createNew(spec.config, pod, key, log);
    });
    if (joined) log.info({ key }, 'joining a CreateContainer already in flight for this name');
    return promise;
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
    const target = this.store.find(opts.targetId, field);
    if (target.meta.podId !== pod.id) throw invalidArgument(`${field}: container ${target.id} belongs to another pod (${target.meta.podId})`);
    if (target.status.state !== 'running' || target.status.pid <= 0) return undefined;
    return `/proc/${target.status.pid}/ns/pid`;
  }

  private async createNew(config: ContainerConfig, pod: PodView, key: string, parentLog: Logger): Promise<string> {
    const image = this.opts.images.resolve(config.image!.image);
    if (!image) throw notFound(`image ${JSON.stringify(config.image!.image)} not found: pull it first`);
    const logPath = logPathIn(config, pod.config);
    if (!this.opts.runtime.hasHandler(pod.handler)) throw invalidArgument(`runtime handler ${JSON.stringify(pod.handler)} of the pod is not configured`);
    const requirements = specRequirements(config, { seccompDefault: this.opts.specOptions.seccompDefault });
    if (requirements.imageMounts.length > 0) throw new KrillError('Unimplemented', 'image volume mounts (config.mounts[].image) are not supported yet');
    const targetPidNamespace = this.targetPidNamespace(config, pod);
    // Before anything is made: an unknown device or a broken spec refuses the request.
    const cdi = requirements.cdiDevices ? await this.opts.cdi.resolve(config, parentLog) : undefined;

    const id = newId();
    const log = parentLog.child({ container_id: id, pod_id: pod.id });
    const bundle = join(this.opts.bundlesDir, id);
    const rootfs = join(bundle, 'rootfs');
    const undo = new Undo();
    try {
      // The record comes first, marked creating: a crash from here on is cleaned up at the next start.
      const meta: ContainerMeta = {
        podId: pod.id,
        key,
        config,
        image: { requested: config.image!.image, id: image.id, ref: image.ref },
        chainIds: image.chainIds,
        handler: pod.handler,
        createdAt: nowNs(),
        logPath,
        bundle,
        rootfs,
        stopSignal: 'SIGTERM',
        cgroupPath: '',
        user: { uid: 0, gid: 0, supplementalGroups: [] },
      };
      this.store.insert({ id, meta, status: emptyStatus('creating') });
      undo.add('delete the record', async () => this.store.delete(id));
      // In the same synchronous step as resolving the image: a RemoveImage from now on removes the
      // image's name but leaves its layers to this container.
      this.opts.images.acquireLayers(id, image.chainIds);
      undo.add('release the layers', async () => this.opts.images.releaseLayers(id));
      crashPoint('container.create.recorded');

      const resolved = await resolveHostFiles(config, requirements);
      const facts = this.opts.hostFacts(pod.handler);
      const host = requirements.hostDevices ? { ...facts, devices: await this.opts.hostDevices() } : facts;

      // Private: the mounted root filesystem is below it. A user-namespaced runc pivots into it as the
      // pod's remapped root, which gets through by its group (as containerd does).
      await (pod.idmap ? ensureDir(bundle, 0o710, pod.idmap.rootGid) : ensureDir(bundle, PRIVATE_DIR));
      undo.add('remove the bundle', () => rm(bundle, { recursive: true, force: true }));
      if (logPath && (await prepareLogFile(pod.config.logDirectory, logPath))) {
        undo.add('remove the log file', () => rm(logPath, { force: true }));
      }
      const lowers = [...image.chainIds].reverse().map((c) => this.opts.images.layerDir(c));
      await this.opts.rootfs.create(id, lowers, rootfs, pod.idmap);
      undo.add('remove the root filesystem', () => this.opts.rootfs.remove(id, rootfs));
      crashPoint('container.create.rootfs');

      // kubelet asks for every volume of a user-namespaced pod to be ID-mapped with the pod's mapping;
      // a runtime that cannot (runc 1.1, crun 1.8) gets views Krill mapped, as plain bind mounts.
      const mapped = pod.idmap && !host.idmappedMounts ? await this.idmapVolumes(config, resolved.hostPaths, rootfs, pod.idmap) : { config, hostPaths: resolved.hostPaths };
      const userDb = await readUserDb(rootfs);
      const cgroup = this.opts.cgroups.containerCgroup(pod.cgroupParent, id);
      const built = buildContainerSpec({
        containerId: id,
        sandboxId: pod.id,
        config: mapped.config,
        sandboxConfig: pod.config,
        image: image.config,
        imageName: image.name,
        rootfs,
        cgroupsPath: cgroup.ociPath,
        pod: { namespaces: pod.namespaces, files: pod.files, targetPidNamespace },
        resolved: { ...resolved, hostPaths: mapped.hostPaths, ...userDb, ...(cdi ? { cdi } : {}) },
        host,
        options: { ...this.opts.specOptions, runtimeHandler: pod.handler },
      });
      for (const dir of built.rootfsDirs) await mkdirInRoot(rootfs, dir);
      // Missing host directories of bind mounts, made as containerd and CRI-O make them.
      for (const dir of built.hostDirs) await mkdirpShared(dir, 0o755);
      await writeFileMode(join(bundle, 'config.json'), JSON.stringify(built.spec), PRIVATE_FILE);
      crashPoint('container.create.spec');

      const finalMeta: ContainerMeta = {
        ...meta,
        stopSignal: built.stopSignal.name,
        cgroupPath: cgroup.path,
        user: { uid: built.user.uid, gid: built.user.gid, supplementalGroups: built.user.additionalGids },
      };
      const created = await this.time('create', () =>
        this.opts.runtime.create({ id, handler: pod.handler, bundle, logPath, terminal: config.tty, stdin: config.stdin, stdinOnce: config.stdinOnce }),
      );
      undo.add('delete the runtime container', () => this.opts.runtime.delete({ id, handler: pod.handler, bundle }));
      crashPoint('container.create.runtime');
      // Metadata is immutable once the container exists: replace the provisional record in one transaction.
      const c = this.store.replace({ id, meta: finalMeta, status: { ...emptyStatus('created'), pid: created.pid, resources: config.linux?.resources } });
      log.info({ name: key, image: image.id, pid: created.pid }, 'container created');
      this.emit('created', c);
      return id;
    } catch (err) {
      const failed = await undo.run(log);
      if (failed.length) log.error({ failed }, 'could not undo every step of a failed CreateContainer');
      throw err;
    }
  }

  /**
   * `config` with each ID-mapped mount replaced by a view of its (resolved) host path that Krill
   * mapped with the pod's user namespace (kubelet asks for exactly that mapping), and the views
   * added to the resolved host paths.
   */
  private async idmapVolumes(
    config: ContainerConfig,
    hostPaths: ResolvedForSpec['hostPaths'],
    rootfs: string,
    idmap: IdMap,
  ): Promise<{ config: ContainerConfig; hostPaths: ResolvedForSpec['hostPaths'] }> {
    if (!config.mounts.some((m) => m.uidMappings.length > 0 || m.gidMappings.length > 0)) return { config, hostPaths };
    const mounts: ContainerConfig['mounts'] = [];
    const paths = { ...hostPaths };
    for (const [i, m] of config.mounts.entries()) {
      const info = hostPaths[m.hostPath];
      if ((m.uidMappings.length === 0 && m.gidMappings.length === 0) || !info) {
        mounts.push(m);
        continue;
      }
      const view = await this.opts.rootfs.idmappedVolume(rootfs, i, info.realPath, idmap);
      paths[view] = { ...info, realPath: view };
      mounts.push({ ...m, hostPath: view, uidMappings: [], gidMappings: [] });
    }
    return { config: { ...config, mounts }, hostPaths: paths };
  }

  // ---------------------------------------------------------------- start

  async start(idOrPrefix: string, log: Logger): Promise<void> {
    const { id } = this.find(idOrPrefix);
    await this.locks.run(id, async () => {
      const c = this.find(id);
      if (c.status.state !== 'created') {
        throw failedPrecondition(`container ${id} is ${c.status.state}, not created: it cannot be started`);
      }
      // The process may run and exit before `runc start` returns: take the time before, so started <= finished.
      const startedAt = nowNs();
      try {
        await this.time('start', () => this.opts.runtime.start(this.runtimeView(c)));
        crashPoint('container.start.runtime');
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

  /** Called for each exit the runtime records; stores it once. */
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

  /** The runtime recorded an exit: stored under the container's lock, so it cannot overtake a start in progress. */
  private onExit = (id: string): void => {
    const c = this.store.get(id);
    if (!c || (c.status.state !== 'running' && c.status.state !== 'created')) return;
    void this.locks
      .run(id, async () => {
        const exit = await this.opts.runtime.exit(id);
        if (exit) this.recordExit(id, exit);
      })
      .catch((err: unknown) => this.log.error({ err, container_id: id }, 'could not record a container exit'));
  };

  /**
   * Starts recording exits as the runtime sees them (before recovery, so that
   * none is missed), and checking the live containers' monitors.
   */
  watchExits(): void {
    this.unwatchExits ??= this.opts.runtime.onExit(this.onExit);
    const every = this.opts.monitorCheckMs ?? MONITOR_CHECK_MS;
    if (every > 0) {
      this.monitorTimer ??= setInterval(() => {
        this.checkMonitors().catch((err: unknown) => this.log.error({ err }, 'could not check the containers\' monitors'));
      }, every).unref();
    }
  }

  /**
   * A container whose monitor (conmon) died would never get an exit recorded
   * and stay "running" for ever: it is reported exited instead, and killed if
   * it still runs (nothing would collect its output or its exit any more).
   * Returns the containers found so.
   */
  async checkMonitors(): Promise<string[]> {
    const found: string[] = [];
    for (const c0 of this.store.all()) {
      if (c0.status.state !== 'running' && c0.status.state !== 'created') continue;
      await this.locks.run(c0.id, async () => {
        const c = this.store.get(c0.id);
        if (!c || (c.status.state !== 'running' && c.status.state !== 'created')) return;
        const rc = this.runtimeView(c);
        if (await this.opts.runtime.monitorAlive(rc)) return;
        const exit = await this.opts.runtime.exit(c.id);
        if (exit) return this.recordExit(c.id, exit);
        const st = await this.opts.runtime.state(rc).catch(() => undefined);
        const killed = st !== undefined && st.status !== 'stopped';
        if (killed) await this.opts.runtime.kill(rc).catch(() => undefined);
        const next = this.store.setStatus(c.id, {
          ...c.status,
          state: 'exited',
          exitCode: killed ? 137 : 255,
          finishedAt: nowNs(),
          reason: 'Error',
          message: killed
            ? 'the container\'s monitor (conmon) died; the container was killed, as nothing could collect its output or its exit any more'
            : 'the container\'s monitor (conmon) died; its exit code is unknown',
        });
        this.log.warn({ container_id: c.id, killed }, 'the container\'s monitor died; the container is reported exited');
        this.emit('stopped', next);
        found.push(c.id);
      });
    }
    return found;
  }

  // ---------------------------------------------------------------- stop / remove

  /**
   * Stops a container; a stopped or unknown one is fine (kubelet retries).
   * A stop that must end sooner than the one in flight kills the container
   * now instead of waiting behind it: kubelet shortens a pod's grace period,
   * StopPodSandbox forces.
   */
  async stop(idOrPrefix: string, timeoutSeconds: number, log: Logger): Promise<void> {
    const c0 = this.resolve(idOrPrefix);
    if (!c0) return;
    const id = c0.id;
    const timeoutMs = Math.max(0, timeoutSeconds) * 1000;
    const pending = this.stopDeadlines.get(id);
    if (pending !== undefined && Date.now() + timeoutMs < pending) {
      log.info({ container_id: id, timeout_s: timeoutSeconds }, 'a stop with a longer grace period is in flight: killing the container now');
      await this.opts.runtime.kill(this.runtimeView(c0));
    }
    await this.locks.run(id, async () => {
      const c = this.store.get(id);
      if (!c || c.status.state === 'exited' || c.status.state === 'creating') return;
      const signal = c.meta.stopSignal.replace(/^SIG/, '');
      this.stopDeadlines.set(id, Date.now() + timeoutMs);
      try {
        const exit = await this.time('stop', () => this.opts.runtime.stop(this.runtimeView(c), signal, timeoutMs));
        crashPoint('container.stop.runtime');
        this.recordExit(id, exit);
        log.info({ container_id: id, exit_code: exit.exitCode }, 'container stopped');
      } finally {
        this.stopDeadlines.delete(id);
      }
    });
  }

  /** Removes a container, stopping it first; an unknown one is fine. */
  async remove(idOrPrefix: string, log: Logger): Promise<void> {
    const c0 = this.resolve(idOrPrefix);
    if (!c0) return;
    await this.locks.run(c0.id, async () => {
      const c = this.store.get(c0.id);
      if (!c) return;
      await this.destroy(c, log);
    });
  }

  private async destroy(c: Container, log: Logger): Promise<void> {
    const rc = this.runtimeView(c);
    if (c.status.state === 'running' || c.status.state === 'created') {
      const exit = await this.opts.runtime.stop(rc, 'KILL', 0);
      this.recordExit(c.id, exit);
    }
    // The container has exited, so nothing uses its root filesystem any more:
    // unmounting need not wait for `runc delete` (each is a child process).
    await Promise.all([this.time('delete', () => this.opts.runtime.delete(rc)), this.opts.rootfs.remove(c.id, c.meta.rootfs)]);
    crashPoint('container.remove.runtime');
    this.opts.images.releaseLayers(c.id);
    await rm(c.meta.bundle, { recursive: true, force: true });
    crashPoint('container.remove.rootfs');
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

  private mustRun(idOrPrefix: string): Container {
    const c = this.find(idOrPrefix);
    if (c.status.state !== 'running') throw failedPrecondition(`container ${c.id} is not running (it is ${c.status.state})`);
    return c;
  }

  async processSpec(c: Container): Promise<Record<string, unknown>> {
    const spec = JSON.parse(await readFile(join(c.meta.bundle, 'config.json'), 'utf8')) as { process: Record<string, unknown> };
    return spec.process;
  }

  async execSync(idOrPrefix: string, cmd: string[], timeoutSeconds: number, signal?: AbortSignal): Promise<ExecSyncResult> {
    const c = this.mustRun(idOrPrefix);
    if (cmd.length === 0) throw invalidArgument('cmd must not be empty');
    return this.opts.runtime.execSync(this.runtimeView(c), { process: await this.processSpec(c), cmd, timeoutMs: Math.max(0, timeoutSeconds) * 1000, ...(signal ? { signal } : {}) });
  }

  async exec(idOrPrefix: string, cmd: string[], tty: boolean, io: AttachIO): Promise<ExecSession> {
    const c = this.mustRun(idOrPrefix);
    if (cmd.length === 0) throw invalidArgument('cmd must not be empty');
    return this.opts.runtime.exec(this.runtimeView(c), { process: await this.processSpec(c), cmd, tty, io });
  }

  attach(idOrPrefix: string, io: AttachIO): { session: AttachSession; tty: boolean; resize(w: number, h: number): Promise<void> } {
    const c = this.mustRun(idOrPrefix);
    const rc = this.runtimeView(c);
    return {
      session: this.opts.runtime.attach(rc, io),
      tty: c.meta.config.tty,
      resize: (w, h) => this.opts.runtime.resize(rc, w, h),
    };
  }

  async reopenLog(idOrPrefix: string): Promise<void> {
    const c = this.mustRun(idOrPrefix);
    // kubelet has just moved the file aside: what is at the path now is made sure of again.
    const logDirectory = this.opts.pods.get(c.meta.podId)?.config.logDirectory;
    if (c.meta.logPath && logDirectory) await prepareLogFile(logDirectory, c.meta.logPath);
    await this.opts.runtime.reopenLog(this.runtimeView(c), c.meta.logPath);
  }

  /** Applies new limits (validated) to a running or created container and remembers them. */
  async updateResources(idOrPrefix: string, resources: LinuxContainerResources): Promise<void> {
    const { id } = this.find(idOrPrefix);
    await this.locks.run(id, async () => {
      const c = this.find(id);
      if (c.status.state === 'exited') throw failedPrecondition(`container ${id} has exited; its resources cannot change`);
      const host = this.opts.hostFacts(c.meta.handler);
      const { oomScoreAdj: _notUpdatable, ...oci } = buildResources({
        resources,
        field: 'linux',
        cgroupVersion: host.cgroupVersion,
        swapAccounting: host.swapAccounting,
        hugepageSizes: host.hugepageSizes,
        oomScoreAdjFloor: this.opts.specOptions.oomScoreAdjFloor,
      });
      await this.time('update', () => this.opts.runtime.update(this.runtimeView(c), oci));
      this.store.setStatus(id, { ...c.status, resources });
    });
  }

  async stats(c: Container, opts: ContainerStatsOptions = {}): Promise<ContainerStatsSample> {
    const running = c.status.state === 'running';
    const detailed = opts.detailed ?? false;
    const [cgroup, writable, procs] = await Promise.all([
      running ? this.opts.cgroups.stats(c.meta.cgroupPath, detailed) : Promise.resolve({}),
      (opts.writableLayer ?? true) ? this.opts.rootfs.usage(c.id) : Promise.resolve(undefined),
      running && detailed ? this.opts.cgroups.procs(c.meta.cgroupPath) : Promise.resolve(undefined),
    ]);
    return { timestamp: nowNs(), cgroup, ...(writable ? { writable } : {}), ...(procs ? { processes: BigInt(procs.length) } : {}) };
  }

  // ---------------------------------------------------------------- recovery

  /**
   * Reconciles one container's record with what survived a restart: its
   * recorded exit, the runtime's state. A container that exited meanwhile
   * gets its real exit (and a STOPPED event); one the runtime lost (a
   * reboot) is marked exited; a half-created one is torn down. Runs under
   * the container's lock.
   */
  async recover(id: string, log: Logger, listed?: ReadonlyMap<string, RuntimeState>): Promise<ContainerRecovery> {
    return this.locks.run(id, async () => {
      const c = this.store.get(id);
      if (!c) return 'exited';
      if (c.status.state === 'creating') {
        await this.destroy(c, log);
        return 'half-created, removed';
      }
      if (c.status.state === 'exited') return 'exited';
      const exit = await this.opts.runtime.exit(c.id);
      if (exit) {
        this.recordExit(c.id, exit);
        return 'exited while down';
      }
      // `listed`: every container's state, listed once for the whole recovery.
      const st = listed ? listed.get(c.id) : await this.opts.runtime.state(this.runtimeView(c)).catch(() => undefined);
      if (st && (st.status === 'running' || st.status === 'created' || st.status === 'paused')) {
        const state: ContainerState = st.status === 'created' ? 'created' : 'running';
        if (state !== c.status.state || st.pid !== c.status.pid) this.store.setStatus(c.id, { ...c.status, state, pid: st.pid });
        return state;
      }
      const next = this.store.setStatus(c.id, {
        ...c.status,
        state: 'exited',
        exitCode: 255,
        finishedAt: nowNs(),
        reason: 'Unknown',
        message: 'the container was lost while krilld was not running (the node may have rebooted)',
      });
      this.emit('stopped', next);
      return 'lost';
    });
  }

  /**
   * Recovery's last step: what exists on the host under Krill's roots that no
   * record owns (a crash between two steps of a create or a remove, or a
   * record lost) is removed, and each removal logged. `podIds` are the pods'
   * records: a pod's infra process is a runtime container with the pod's ID.
   */
  async sweepLeftovers(podIds: ReadonlySet<string>, log: Logger): Promise<string[]> {
    const known = new Set([...this.store.all().map((c) => c.id), ...podIds]);
    const removed: string[] = [];
    const inventory = await this.opts.runtime.inventory();
    // A runtime root may be shared with another engine: only bundles under Krill's state directory are Krill's.
    const stateDir = dirname(this.opts.bundlesDir);
    for (const rc of inventory.containers) {
      if (known.has(rc.id) || !rc.bundle.startsWith(`${stateDir}/`)) continue;
      await this.opts.runtime.discard(rc);
      removed.push(`runtime container ${rc.id}`);
    }
    for (const id of inventory.records) {
      if (known.has(id)) continue;
      await this.opts.runtime.discard({ id, handler: '', bundle: '' });
      removed.push(`monitor records of ${id}`);
    }
    const containerIds = new Set(this.store.all().map((c) => c.id));
    const bundles = (await readdir(this.opts.bundlesDir).catch(() => [] as string[])).filter((n) => /^[0-9a-f]{64}$/.test(n));
    for (const id of new Set([...bundles, ...(await this.opts.rootfs.ids())])) {
      if (containerIds.has(id)) continue;
      const bundle = join(this.opts.bundlesDir, id);
      await this.opts.rootfs.remove(id, join(bundle, 'rootfs'));
      await rm(bundle, { recursive: true, force: true });
      removed.push(`bundle and root filesystem of ${id}`);
    }
    for (const what of removed) log.warn({ removed: what }, 'removed a leftover no record owns');
    return removed;
  }

  close(): void {
    this.unwatchExits?.();
    this.unwatchExits = undefined;
    if (this.monitorTimer) clearInterval(this.monitorTimer);
    this.monitorTimer = undefined;
  }
}

function emptyStatus(state: ContainerState): ContainerStatusRecord {
  return { state, pid: 0, startedAt: 0n, finishedAt: 0n, exitCode: 0, reason: '', message: '' };
}
