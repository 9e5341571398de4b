// The runtime driver: conmon + an OCI runtime (runc or crun) per handler.
// The only place in Krill that spawns either of them.
import { mkdir, rm } from 'node:fs/promises';
import { attachSocket, type AttachIO, type AttachSession } from './attach';
import { join } from 'node:path';
import type { KrillConfig } from '../config/config';
import { KrillError } from '../errors/errors';
import { createWithConmon, type Created } from './conmon';
import { reopenLog, resizeTerminal } from './ctl';
import { execAttached, type ExecAttachRequest, type ExecSession } from './exec_attach';
import { execSync, type ExecSyncRequest } from './exec_sync';
import { sweepExecSessions } from './exec_sweep';
import { ExitWatcher, readExit } from './exits';
import * as cli from './oci_cli';
import { ContainerPaths, type RuntimeDirs } from './paths';
import type { CreateRequest, ExecSyncResult, ExitInfo, HandlerSpec, RuntimeState } from './types';

/** How long a container gets to die after SIGKILL before we give up waiting for conmon's record. */
const KILL_WAIT_MS = 10_000;

export interface RuntimeOptions {
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

export class OciRuntime {
  readonly paths: ContainerPaths;
  readonly exits: ExitWatcher;

  constructor(private readonly opts: RuntimeOptions) {
    this.paths = new ContainerPaths(opts.dirs);
    this.exits = new ExitWatcher(this.paths);
  }

  async init(): Promise<void> {
    await mkdir(this.scratchDir, { recursive: true });
    // Exec sessions of a krilld that died: their commands go, with their files.
    await sweepExecSessions(this.scratchDir, this.paths.attachDir);
    await this.exits.start();
  }

  close(): void {
    this.exits.stop();
  }

  private get scratchDir(): string {
    return join(this.opts.dirs.stateRoot, 'exec');
  }

  /** The handler for a RuntimeClass name ('' = the default). */
  handler(name: string): HandlerSpec {
    const h = this.opts.handlers[name || this.opts.defaultHandler];
    if (!h) {
      throw new KrillError('InvalidArgument', `runtime handler ${JSON.stringify(name)} is not configured (known: ${Object.keys(this.opts.handlers).join(', ')})`);
    }
    return h;
  }

  handlerNames(): string[] {
    return Object.keys(this.opts.handlers);
  }

  /** Starts conmon, which runs `<runtime> create`; resolves with the init pid. */
  create(req: CreateRequest): Promise<Created> {
    return createWithConmon({ binary: this.opts.conmon, paths: this.paths }, req);
  }

  start(h: HandlerSpec, id: string): Promise<void> {
    return cli.start(h, id);
  }

  state(h: HandlerSpec, id: string): Promise<RuntimeState | undefined> {
    return cli.state(h, id);
  }

  /** The recorded exit, or undefined while the container has not exited. */
  exit(id: string): Promise<ExitInfo | undefined> {
    return readExit(this.paths, id);
  }

  /**
   * Stops a container: `signal` to its init, up to `timeoutMs` for it to exit,
   * then SIGKILL to every process in its cgroup. Resolves with its exit.
   */
  async stop(h: HandlerSpec, id: string, signal: string, timeoutMs: number): Promise<ExitInfo> {
    const done = await this.exit(id);
    if (done) return done;
    if (timeoutMs > 0) {
      await this.signalIgnoringGone(h, id, signal, false);
      const exited = await this.exits.waitFor(id, timeoutMs);
      if (exited) return exited;
    }
    await this.signalIgnoringGone(h, id, 'KILL', true);
    const killed = await this.exits.waitFor(id, KILL_WAIT_MS);
    if (killed) return killed;
    // conmon is gone (killed, or the node rebooted): trust the runtime's view.
    const st = await cli.state(h, id).catch(() => undefined);
    if (!st || st.status === 'stopped') return { exitCode: 137, finishedAt: BigInt(Date.now()) * 1_000_000n, oomKilled: false };
    throw new KrillError('Internal', `container ${id} did not stop within ${(timeoutMs + KILL_WAIT_MS) / 1000}s of SIGKILL`);
  }

  /** SIGKILL to every process of the container, now; one that is gone already is fine. */
  kill(h: HandlerSpec, id: string): Promise<void> {
    return this.signalIgnoringGone(h, id, 'KILL', true);
  }

  private async signalIgnoringGone(h: HandlerSpec, id: string, signal: string, all: boolean): Promise<void> {
    try {
      await cli.kill(h, id, signal, all);
    } catch (err) {
      // Already stopped or gone: the caller waits for the exit record either way.
      if (err instanceof cli.RuntimeCommandError) return;
      throw err;
    }
  }

  /** Forgets the container in the runtime (killing what is left) and drops conmon's records. */
  async delete(h: HandlerSpec, id: string): Promise<void> {
    await cli.remove(h, id, true);
    await Promise.all([
      rm(this.paths.exitFile(id), { force: true }),
      rm(this.paths.persistDir(id), { recursive: true, force: true }),
      rm(join(this.paths.attachDir, id), { recursive: true, force: true }),
    ]);
  }

  execSync(req: Omit<ExecSyncRequest, 'scratchDir' | 'helper'>): Promise<ExecSyncResult> {
    return execSync({ ...req, helper: this.opts.execHelper, scratchDir: this.scratchDir });
  }

  /** A streaming exec session (stdio through conmon's attach socket). */
  execAttached(req: Omit<ExecAttachRequest, 'scratchDir' | 'conmon' | 'helper' | 'attachDir'>): Promise<ExecSession> {
    return execAttached({ ...req, conmon: this.opts.conmon, helper: this.opts.attachHelper, scratchDir: this.scratchDir, attachDir: this.paths.attachDir });
  }

  /** Attaches to a container's own stdio (its conmon's attach socket). */
  attach(id: string, io: AttachIO): AttachSession {
    return attachSocket(this.opts.attachHelper, this.paths.attachSocket(id), io);
  }

  update(h: HandlerSpec, id: string, bundle: string, resources: object): Promise<void> {
    return cli.update(h, id, bundle, resources);
  }

  /** Makes conmon reopen the container's log (at `logPath`) and waits until it has. */
  reopenLog(bundle: string, logPath: string): Promise<void> {
    return reopenLog(this.paths.ctlFifo(bundle), logPath);
  }

  resize(bundle: string, width: number, height: number): Promise<void> {
    return resizeTerminal(this.paths.ctlFifo(bundle), width, height);
  }
}
