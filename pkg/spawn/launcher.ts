// Starting child processes, and dialing into network namespaces, through an
// object every driver is given: krilld gives them its spawn server
// (server.ts), which starts children without fork()ing the daemon; unit tests
// and worker threads use DirectLauncher (node:child_process). Both give the
// same shape of child: pid, stdin/stdout/stderr/stdio[n] streams,
// 'spawn'/'exit'/'close'/'error' events, kill().
import { spawn as nodeSpawn } from 'node:child_process';
import type { EventEmitter } from 'node:events';
import type { Duplex, Readable, Writable } from 'node:stream';
import type { DialRequest } from './protocol';

/**
 * A child fd: /dev/null, or a pipe. 'pipe' is an input pipe (we write, the
 * child reads) on fd 0 and an output pipe on every other fd; 'input' and
 * 'output' say it explicitly (a sync pipe on fd 3, a start pipe on fd 4).
 */
export type StdioMode = 'ignore' | 'pipe' | 'input' | 'output';

export interface SpawnOptions {
  /** The child's whole environment (default: process.env). */
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** A new session and process group (setsid), as child_process's `detached`. */
  detached?: boolean;
  /**
   * umask 022 instead of krilld's 077: for the container runtime (conmon,
   * runc, crun), which makes mount points and device nodes inside containers.
   * (Without the spawn server, as in unit tests, children keep the process's umask.)
   */
  runtimeUmask?: boolean;
  /** The child's fds 0..n-1 (default: three pipes). */
  stdio?: readonly StdioMode[];
}

/** The part of ChildProcess that Krill uses; a ChildProcess is one. */
export interface Child extends EventEmitter {
  /** Known once the child has started ('spawn'). */
  readonly pid?: number | undefined;
  readonly stdin: Writable | null;
  readonly stdout: Readable | null;
  readonly stderr: Readable | null;
  /** The stream of each child fd (null for /dev/null): Writable for input pipes, Readable for output pipes. */
  readonly stdio: readonly (Readable | Writable | null | undefined)[];
  readonly exitCode: number | null;
  readonly signalCode: NodeJS.Signals | null;
  kill(signal?: NodeJS.Signals | number): boolean;
  /** This child alone does not keep the event loop alive. */
  unref(): void;
  /** Signals the child's process group; the spawn server's children do it without a pid race. */
  killGroup?(signal: NodeJS.Signals | number): void;
  on(event: 'exit' | 'close', listener: (code: number | null, signal: NodeJS.Signals | null) => void): this;
  on(event: 'error', listener: (err: Error) => void): this;
  on(event: 'spawn', listener: () => void): this;
  once(event: 'exit' | 'close', listener: (code: number | null, signal: NodeJS.Signals | null) => void): this;
  once(event: 'error', listener: (err: Error) => void): this;
  once(event: 'spawn', listener: () => void): this;
}

export interface Launcher {
  /** Starts `file` with `args`. Failures to start come as an 'error' event, as with child_process. */
  spawn(file: string, args: readonly string[], opts?: SpawnOptions): Child;
  /**
   * A TCP connection to a loopback address inside the network namespace
   * `req.netns` ('' for krilld's own); destroying the stream closes it.
   */
  dial(req: DialRequest, signal?: AbortSignal): Promise<Duplex>;
}

/**
 * node:child_process: each spawn fork()s the process. For unit tests, tools
 * and worker threads (which cannot reach the spawn server); it cannot enter
 * a network namespace, and `runtimeUmask` is not applied.
 */
export class DirectLauncher implements Launcher {
  spawn(file: string, args: readonly string[], opts: SpawnOptions = {}): Child {
    const stdio = (opts.stdio ?? ['pipe', 'pipe', 'pipe']).map((m) => (m === 'input' || m === 'output' ? 'pipe' : m));
    return nodeSpawn(file, args, { env: opts.env ?? process.env, cwd: opts.cwd, detached: opts.detached, stdio });
  }

  dial(req: DialRequest): Promise<Duplex> {
    return Promise.reject(new Error(`cannot dial ${req.address}:${req.port} in ${req.netns || 'our network namespace'}: only the spawn server can enter a network namespace`));
  }
}

/** Signals the child's process group (a child started `detached`). */
export function killProcessGroup(child: Child, signal: NodeJS.Signals | number): void {
  if (child.killGroup) {
    child.killGroup(signal);
    return;
  }
  try {
    if (child.pid) process.kill(-child.pid, signal);
  } catch {
    // the group is gone
  }
}
