// What the container and sandbox managers need from the OCI runtime, keyed by
// container: no handler specs, file paths or exit watchers leave pkg/runtime.
// OciRuntime (conmon + runc or crun) implements it; the managers' unit tests
// use a fake (test/support/fake_runtime.ts).
import type { AttachIO, AttachSession } from './attach';
import type { ExecSession } from './exec_attach';
import type { ExecSyncResult, ExitInfo, HandlerFeatures, RuntimeState } from './types';

/** A container as the runtime knows it: its ID, the handler it runs with, its bundle. */
export interface RuntimeContainer {
  id: string;
  /** A configured handler name (RuntimeClass handler); '' is the default handler. */
  handler: string;
  /** Directory holding config.json and the rootfs mount point. */
  bundle: string;
}

export interface RuntimeCreate extends RuntimeContainer {
  /** Where conmon writes the CRI-format log; '' for a file of the runtime's own. */
  logPath: string;
  terminal: boolean;
  stdin: boolean;
  /** Close the container's stdin when the first attach session ends. */
  stdinOnce: boolean;
}

/**
 * Contract:
 * - `create` resolves once the runtime has created the container (its init
 *   pid known, the process not yet started); it rejects with the runtime's
 *   message (an unknown handler is InvalidArgument) and leaves nothing behind.
 * - An exit is recorded by the runtime's monitor, not by krilld: `exit` reads
 *   it (undefined while the container has not exited), and every listener of
 *   `onExit` is told the container's ID when one appears, even while krilld
 *   was busy; exits that happened while krilld was down are read by `exit`.
 * - `stop` sends `signal`, waits up to `timeoutMs`, then kills every process
 *   of the container; it resolves with the exit. `kill` ends a stop in flight
 *   sooner. `delete` forgets the container, killing what is left; all three
 *   are fine for a container that is gone.
 * - exec, execSync, attach, resize, reopenLog and update need a container
 *   that runs (the caller checks).
 */
export interface ContainerRuntime {
  /** The configured handler names; '' stands for the default one in every other method. */
  handlerNames(): string[];
  /** Whether `handler` is configured ('' always is). */
  hasHandler(handler: string): boolean;
  /** What each handler's binary supports, probed once at start. */
  features(handler: string): HandlerFeatures;

  create(req: RuntimeCreate): Promise<{ pid: number }>;
  start(c: RuntimeContainer): Promise<void>;
  state(c: RuntimeContainer): Promise<RuntimeState | undefined>;
  /** Every container's state at once (recovery), or undefined when the runtime could not list them all. */
  states(): Promise<ReadonlyMap<string, RuntimeState> | undefined>;
  exit(id: string): Promise<ExitInfo | undefined>;
  /** Subscribes to exits as the monitor records them; returns the unsubscribe. */
  onExit(listener: (id: string) => void): () => void;
  stop(c: RuntimeContainer, signal: string, timeoutMs: number): Promise<ExitInfo>;
  kill(c: RuntimeContainer): Promise<void>;
  delete(c: RuntimeContainer): Promise<void>;
  update(c: RuntimeContainer, resources: object): Promise<void>;

  execSync(c: RuntimeContainer, req: { process: Record<string, unknown>; cmd: string[]; timeoutMs: number; signal?: AbortSignal }): Promise<ExecSyncResult>;
  exec(c: RuntimeContainer, req: { process: Record<string, unknown>; cmd: string[]; tty: boolean; io: AttachIO }): Promise<ExecSession>;
  attach(c: RuntimeContainer, io: AttachIO): AttachSession;
  resize(c: RuntimeContainer, width: number, height: number): Promise<void>;
  /** Whether the container's monitor (conmon) still runs: without it no exit would ever be recorded. */
  monitorAlive(c: RuntimeContainer): Promise<boolean>;
  /**
   * Recovery's view of the host: every container the runtime roots hold
   * (each handler's), and the monitor records (exit files, persistent and
   * attach directories) of IDs the runtime no longer holds.
   */
  inventory(): Promise<{ containers: RuntimeContainer[]; records: string[] }>;
  /** Removes what the runtime and its monitor keep of a container no record owns: it, its monitor, their files. */
  discard(c: RuntimeContainer): Promise<void>;
  /** Makes the monitor reopen the container's log at `logPath` ('' for the runtime's own file) and waits until it has. */
  reopenLog(c: RuntimeContainer, logPath: string): Promise<void>;
}
