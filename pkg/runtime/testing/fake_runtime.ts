// A ContainerRuntime in memory, for the managers' unit tests: it keeps the
// interface's contract (pkg/runtime/interface.ts) without conmon or runc.
// Tests drive what a real runtime would do on its own (a process exiting) with
// exitNow(), and make calls fail or wait with the hooks below.
import { KrillError } from '../../errors/errors';
import { nowNs } from '../../util/time';
import type { AttachIO, AttachSession } from '../attach';
import type { ExecSession } from '../exec_attach';
import type { ContainerRuntime, RuntimeContainer, RuntimeCreate } from '../interface';
import type { ExecSyncResult, ExitInfo, HandlerFeatures, RuntimeState } from '../types';

interface FakeContainer {
  req: RuntimeCreate;
  status: 'created' | 'running' | 'stopped';
  pid: number;
  exit?: ExitInfo;
  /** The monitor's record is gone (as after a reboot), though the runtime knew it. */
  lost?: boolean;
  monitorDead?: boolean;
}

export class FakeRuntime implements ContainerRuntime {
  readonly containers = new Map<string, FakeContainer>();
  /** Every call, as "verb id" (create, start, stop SIG, kill, delete, update). */
  readonly calls: string[] = [];
  readonly updates: { id: string; resources: object }[] = [];
  /** Set to make the next create fail with this error (once). */
  failCreate?: Error;
  /** When set, create waits for this before it finishes. */
  createGate?: Promise<void>;
  /** When set, a graceful stop (timeout > 0) waits for this or for kill(). */
  stopGate?: Promise<void>;
  execResult: ExecSyncResult = { stdout: Buffer.from(''), stderr: Buffer.from(''), exitCode: 0, truncated: false };
  private readonly listeners = new Set<(id: string) => void>();
  private readonly killed = new Map<string, () => void>();
  private nextPid = 1000;

  constructor(private readonly handlers: readonly string[] = ['runc']) {}

  handlerNames(): string[] {
    return [...this.handlers];
  }

  hasHandler(handler: string): boolean {
    return handler === '' || this.handlers.includes(handler);
  }

  features(): HandlerFeatures {
    return { recursiveReadOnlyMounts: false, userNamespaces: false, idmappedMounts: false };
  }

  async create(req: RuntimeCreate): Promise<{ pid: number }> {
    this.calls.push(`create ${req.id}`);
    if (!this.hasHandler(req.handler)) throw new KrillError('InvalidArgument', `runtime handler ${req.handler} is not configured`);
    if (this.createGate) await this.createGate;
    if (this.failCreate) {
      const err = this.failCreate;
      this.failCreate = undefined;
      throw err;
    }
    const pid = this.nextPid++;
    this.containers.set(req.id, { req, status: 'created', pid });
    return { pid };
  }

  private must(id: string): FakeContainer {
    const c = this.containers.get(id);
    if (!c) throw new KrillError('Internal', `container ${id} does not exist in the runtime`);
    return c;
  }

  async start(c: RuntimeContainer): Promise<void> {
    this.calls.push(`start ${c.id}`);
    const fc = this.must(c.id);
    if (fc.status !== 'created') throw new KrillError('Internal', `container ${c.id} is ${fc.status}`);
    fc.status = 'running';
  }

  async state(c: RuntimeContainer): Promise<RuntimeState | undefined> {
    const fc = this.containers.get(c.id);
    if (!fc || fc.lost) return undefined;
    return { status: fc.status, pid: fc.pid };
  }

  async states(): Promise<ReadonlyMap<string, RuntimeState> | undefined> {
    this.calls.push('states');
    return new Map([...this.containers.values()].filter((c) => !c.lost).map((c) => [c.req.id, { status: c.status, pid: c.pid }]));
  }

  async exit(id: string): Promise<ExitInfo | undefined> {
    const fc = this.containers.get(id);
    return fc?.lost ? undefined : fc?.exit;
  }

  onExit(listener: (id: string) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** The container's process exits on its own with `exitCode` (its monitor records it and tells the listeners). */
  exitNow(id: string, exitCode: number, oomKilled = false): void {
    const fc = this.must(id);
    fc.status = 'stopped';
    fc.exit = { exitCode, finishedAt: nowNs(), oomKilled };
    for (const l of this.listeners) l(id);
  }

  /** conmon of the container was killed: it runs on unmonitored. */
  killMonitor(id: string): void {
    this.must(id).monitorDead = true;
  }

  async monitorAlive(c: RuntimeContainer): Promise<boolean> {
    const fc = this.containers.get(c.id);
    return fc !== undefined && !fc.monitorDead;
  }

  /** The runtime forgets the container (its state and monitor records gone, as after a reboot). */
  lose(id: string): void {
    this.must(id).lost = true;
  }

  async stop(c: RuntimeContainer, signal: string, timeoutMs: number): Promise<ExitInfo> {
    this.calls.push(`stop ${c.id} ${signal}`);
    const fc = this.containers.get(c.id);
    if (!fc) return { exitCode: 137, finishedAt: nowNs(), oomKilled: false };
    if (fc.exit) return fc.exit;
    if (timeoutMs > 0 && this.stopGate) {
      await Promise.race([this.stopGate, new Promise<void>((resolve) => this.killed.set(c.id, resolve))]);
      this.killed.delete(c.id);
    }
    if (!fc.exit) this.exitNow(c.id, signal === 'KILL' || this.killed.has(c.id) ? 137 : 143);
    return fc.exit!;
  }

  async kill(c: RuntimeContainer): Promise<void> {
    this.calls.push(`kill ${c.id}`);
    const wake = this.killed.get(c.id);
    const fc = this.containers.get(c.id);
    if (fc && !fc.exit) this.exitNow(c.id, 137);
    wake?.();
  }

  async delete(c: RuntimeContainer): Promise<void> {
    this.calls.push(`delete ${c.id}`);
    this.containers.delete(c.id);
  }

  async update(c: RuntimeContainer, resources: object): Promise<void> {
    this.calls.push(`update ${c.id}`);
    this.updates.push({ id: c.id, resources });
  }

  async execSync(c: RuntimeContainer): Promise<ExecSyncResult> {
    this.calls.push(`execSync ${c.id}`);
    return this.execResult;
  }

  exec(): Promise<ExecSession> {
    return Promise.reject(new KrillError('Unimplemented', 'the fake runtime has no streaming exec'));
  }

  attach(_c: RuntimeContainer, _io: AttachIO): AttachSession {
    throw new KrillError('Unimplemented', 'the fake runtime has no attach');
  }

  async resize(): Promise<void> {}

  async inventory(): Promise<{ containers: RuntimeContainer[]; records: string[] }> {
    return { containers: [...this.containers.values()].filter((c) => !c.lost).map((c) => ({ id: c.req.id, handler: c.req.handler, bundle: c.req.bundle })), records: [] };
  }

  async discard(c: RuntimeContainer): Promise<void> {
    this.calls.push(`discard ${c.id}`);
    this.containers.delete(c.id);
  }

  async reopenLog(c: RuntimeContainer): Promise<void> {
    this.calls.push(`reopenLog ${c.id}`);
  }
}
