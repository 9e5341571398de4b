// The runtime driver: conmon + an OCI runtime (runc or crun) per handler,
// behind the ContainerRuntime interface. The only place in Krill that
// spawns either of them.
import { mkdir, readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { KrillConfig } from '../config/config';
import { invalidArgument, KrillError } from '../errors/errors';
import type { Launcher } from '../spawn/launcher';
import { nowNs } from '../util/time';
import { attachSocket, type AttachIO, type AttachSession } from './attach';
import { createWithConmon } from './conmon';
import { reopenLog, resizeTerminal } from './ctl';
import { execAttached, type ExecSession } from './exec_attach';
import { execSync } from './exec_sync';
import { sweepExecSessions } from './exec_sweep';
import { ExitWatcher, readExit } from './exits';
import type { ContainerRuntime, RuntimeContainer, RuntimeCreate } from './interface';
import { OciCli, RuntimeCommandError } from './oci_cli';
import { ContainerPaths, type RuntimeDirs } from './paths';
import type { ExecSyncResult, ExitInfo, HandlerFeatures, HandlerSpec, RuntimeState } from './types';

/** How long a container gets to die after SIGKILL before we give up waiting for conmon's record. */
const KILL_WAIT_MS = 10_000;

export interface RuntimeOptions {
  launcher: Launcher;
  conmon: string;
  handlers: Record<string, HandlerSpec>;
  defaultHandler: string;
  dirs: RuntimeDirs;
  /** The krill-seqpacket helper (built into dist/bin by make build). */
  attachHelper: string;
  /** The krill-exec monitor of ExecSync commands (dist/bin). */
  execHelper: string;
}

/** Handler specs from the config: each handler's root defaults to <state>/runtime/<name>. */
export function handlersFromConfig(config: KrillConfig): Record<string, HandlerSpec> {
  const out: Record<string, HandlerSpec> = {};
  for (const [name, h] of Object.entries(config.runtime.handlers)) {
    out[name] = {
      name,
      binary: h.binary,
      root: h.root || join(config.state, 'runtime', name),
      systemdCgroup: config.runtime.cgroup_driver === 'systemd',
    };
  }
  return out;
}

export class OciRuntime implements ContainerRuntime {
  private readonly paths: ContainerPaths;
  private readonly exits: ExitWatcher;
  private readonly clis = new Map<string, OciCli>();
  private readonly probed = new Map<string, HandlerFeatures>();

  private constructor(private readonly opts: RuntimeOptions) {
    this.paths = new ContainerPaths(opts.dirs);
    this.exits = new ExitWatcher(this.paths);
    for (const [name, spec] of Object.entries(opts.handlers)) this.clis.set(name, new OciCli(opts.launcher, spec));
  }

  /** The driver, with every handler's binary probed for what it supports. */
  static async open(opts: RuntimeOptions): Promise<OciRuntime> {
    const rt = new OciRuntime(opts);
    for (const [name, cli] of rt.clis) rt.probed.set(name, await cli.features());
    return rt;
  }

  /**
   * Recovery: the exec sessions of a krilld that died go (their commands and
   * files), and exits are watched from now on (before the containers are
   * recovered, so that none is missed).
   */
  async recover(): Promise<void> {
    await mkdir(this.scratchDir, { recursive: true });
    await sweepExecSessions(this.scratchDir, this.paths.attachDir);
    await this.exits.start();
  }

  close(): void {
    this.exits.stop();
  }

  private get scratchDir(): string {
    return join(this.opts.dirs.stateRoot, 'exec');
  }

  private cli(handler: string): OciCli {
    const cli = this.clis.get(handler || this.opts.defaultHandler);
    if (!cli) throw invalidArgument(`runtime handler ${JSON.stringify(handler)} is not configured (known: ${this.handlerNames().join(', ')})`);
    return cli;
  }

  /**
   * A reload: a handler added to the config, probed like those of the start.
   * Only added: one that containers may run under is never changed or removed
   * while krilld runs.
   */
  async addHandler(spec: HandlerSpec): Promise<HandlerFeatures> {
    if (this.clis.has(spec.name)) throw new Error(`runtime handler ${spec.name} is configured already`);
    const cli = new OciCli(this.opts.launcher, spec);
    const features = await cli.features();
    this.probed.set(spec.name, features);
    this.clis.set(spec.name, cli);
    return features;
  }

  handlerNames(): string[] {
    return [...this.clis.keys()];
  }

  hasHandler(handler: string): boolean {
    return handler === '' || this.clis.has(handler);
  }

  features(handler: string): HandlerFeatures {
    const f = this.probed.get(handler || this.opts.defaultHandler);
    if (!f) throw invalidArgument(`runtime handler ${JSON.stringify(handler)} is not configured`);
    return f;
  }

  /** Where conmon writes a container's output when kubelet asked for no log file. */
  private logPathOf(id: string, logPath: string): string {
    return logPath || join(this.paths.persistDir(id), 'ctr.log');
  }

  /** Starts conmon, which runs `<runtime> create`; resolves with the init pid. */
  create(req: RuntimeCreate): Promise<{ pid: number }> {
    const cli = this.cli(req.handler);
    return createWithConmon(
      { launcher: this.opts.launcher, binary: this.opts.conmon, paths: this.paths },
      { id: req.id, handler: cli.spec, bundle: req.bundle, logPath: this.logPathOf(req.id, req.logPath), terminal: req.terminal, stdin: req.stdin, stdinOnce: req.stdinOnce },
    );
  }

  start(c: RuntimeContainer): Promise<void> {
    return this.cli(c.handler).start(c.id);
  }

  state(c: RuntimeContainer): Promise<RuntimeState | undefined> {
    return this.cli(c.handler).state(c.id);
  }

  exit(id: string): Promise<ExitInfo | undefined> {
    return readExit(this.paths, id);
  }

  onExit(listener: (id: string) => void): () => void {
    this.exits.on('exit', listener);
    return () => this.exits.off('exit', listener);
  }

  async stop(c: RuntimeContainer, signal: string, timeoutMs: number): Promise<ExitInfo> {
    const done = await this.exit(c.id);
    if (done) return done;
    const cli = this.cli(c.handler);
    if (timeoutMs > 0) {
      await signalIgnoringGone(cli, c.id, signal, false);
      const exited = await this.exits.waitFor(c.id, timeoutMs);
      if (exited) return exited;
    }
    await signalIgnoringGone(cli, c.id, 'KILL', true);
    const killed = await this.exits.waitFor(c.id, KILL_WAIT_MS);
    if (killed) return killed;
    // conmon is gone (killed, or the node rebooted): trust the runtime's view.
    const st = await cli.state(c.id).catch(() => undefined);
    if (!st || st.status === 'stopped') return { exitCode: 137, finishedAt: nowNs(), oomKilled: false };
    throw new KrillError('Internal', `container ${c.id} did not stop within ${(timeoutMs + KILL_WAIT_MS) / 1000}s of SIGKILL`);
  }

  async kill(c: RuntimeContainer): Promise<void> {
    await signalIgnoringGone(this.cli(c.handler), c.id, 'KILL', true);
  }

  /** Forgets the container in the runtime (killing what is left) and drops conmon's records. */
  async delete(c: RuntimeContainer): Promise<void> {
    await this.cli(c.handler).remove(c.id, true);
    await Promise.all([
      rm(this.paths.exitFile(c.id), { force: true }),
      rm(this.paths.persistDir(c.id), { recursive: true, force: true }),
      rm(join(this.paths.attachDir, c.id), { recursive: true, force: true }),
    ]);
  }

  async monitorAlive(c: RuntimeContainer): Promise<boolean> {
    const pid = await readFile(this.paths.conmonPidFile(c.bundle), 'utf8').then((t) => Number(t.trim()), () => 0);
    if (!(pid > 1)) return false;
    const argv = (await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '')).split('\0');
    return argv[0]?.endsWith('conmon') === true && argv.includes(c.id);
  }

  /**
   * Every container's state in one `list` per runtime root (recovery asks for
   * all of them at once: one runtime call instead of one per container), or
   * undefined when a root could not be listed (then ask with state()).
   */
  async states(): Promise<ReadonlyMap<string, RuntimeState> | undefined> {
    const out = new Map<string, RuntimeState>();
    for (const cli of this.clis.values()) {
      const listed = await cli.list().catch(() => undefined);
      if (!listed) return undefined;
      for (const c of listed) out.set(c.id, { status: c.status, pid: c.pid });
    }
    return out;
  }

  async inventory(): Promise<{ containers: RuntimeContainer[]; records: string[] }> {
    const containers: RuntimeContainer[] = [];
    for (const [handler, cli] of this.clis) {
      const listed = await cli.list().catch(() => []);
      for (const c of listed) containers.push({ id: c.id, handler, bundle: c.bundle });
    }
    const held = new Set(containers.map((c) => c.id));
    const names = new Set<string>();
    for (const dir of [this.paths.exitDir, this.paths.attachDir, this.opts.dirs.persistRoot]) {
      for (const n of await readdir(dir).catch(() => [] as string[])) if (/^[0-9a-f]{64}$/.test(n) && !held.has(n)) names.add(n);
    }
    return { containers, records: [...names] };
  }

  async discard(c: RuntimeContainer): Promise<void> {
    // The monitor goes with its container: conmon's pid is in the bundle it was started in.
    const conmon = c.bundle ? await readFile(this.paths.conmonPidFile(c.bundle), 'utf8').then((t) => Number(t.trim()), () => 0) : 0;
    if (this.clis.has(c.handler)) await this.cli(c.handler).remove(c.id, true).catch(() => undefined);
    if (conmon > 1 && (await isConmon(conmon))) {
      try {
        process.kill(conmon, 'SIGKILL');
      } catch {
        // gone already
      }
    }
    await Promise.all([
      rm(this.paths.exitFile(c.id), { force: true }),
      rm(this.paths.persistDir(c.id), { recursive: true, force: true }),
      rm(join(this.paths.attachDir, c.id), { recursive: true, force: true }),
    ]);
  }

  update(c: RuntimeContainer, resources: object): Promise<void> {
    return this.cli(c.handler).update(c.id, c.bundle, resources);
  }

  execSync(c: RuntimeContainer, req: { process: Record<string, unknown>; cmd: string[]; timeoutMs: number; signal?: AbortSignal }): Promise<ExecSyncResult> {
    return execSync({ ...req, launcher: this.opts.launcher, handler: this.cli(c.handler).spec, id: c.id, helper: this.opts.execHelper, scratchDir: this.scratchDir });
  }

  /** A streaming exec session (stdio through conmon's attach socket). */
  exec(c: RuntimeContainer, req: { process: Record<string, unknown>; cmd: string[]; tty: boolean; io: AttachIO }): Promise<ExecSession> {
    return execAttached({
      ...req,
      launcher: this.opts.launcher,
      handler: this.cli(c.handler).spec,
      id: c.id,
      conmon: this.opts.conmon,
      helper: this.opts.attachHelper,
      scratchDir: this.scratchDir,
      attachDir: this.paths.attachDir,
    });
  }

  /** Attaches to a container's own stdio (its conmon's attach socket). */
  attach(c: RuntimeContainer, io: AttachIO): AttachSession {
    return attachSocket(this.opts.launcher, this.opts.attachHelper, this.paths.attachSocket(c.id), io);
  }

  resize(c: RuntimeContainer, width: number, height: number): Promise<void> {
    return resizeTerminal(this.paths.ctlFifo(c.bundle), width, height);
  }

  /**
   * An exited container's conmon may still hold its control FIFO for a
   * moment while it finishes, and then ignores the request: the exit record
   * answers first, and again if conmon did not act.
   */
  async reopenLog(c: RuntimeContainer, logPath: string): Promise<void> {
    const notRunning = (): KrillError => new KrillError('FailedPrecondition', 'the container is not running (it has exited)');
    if (await this.exit(c.id)) throw notRunning();
    try {
      await reopenLog(this.paths.ctlFifo(c.bundle), this.logPathOf(c.id, logPath));
    } catch (err) {
      if (err instanceof KrillError && err.code === 'Internal' && (await this.exit(c.id))) throw notRunning();
      throw err;
    }
  }
}

async function signalIgnoringGone(cli: OciCli, id: string, signal: string, all: boolean): Promise<void> {
  try {
    await cli.kill(id, signal, all);
  } catch (err) {
    // Already stopped or gone: the caller waits for the exit record either way.
    if (err instanceof RuntimeCommandError) return;
    throw err;
  }
}

/** Whether `pid` is a conmon process (pids are reused: never kill what is not one). */
async function isConmon(pid: number): Promise<boolean> {
  const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
  return cmdline.split('\0')[0]?.endsWith('conmon') ?? false;
}
