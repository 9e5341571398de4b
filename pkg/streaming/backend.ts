// What the streaming server needs from the runtime: run a command in a
// container, attach to a container's stdio, and open a TCP connection inside
// a pod's network namespace. The protocols (SPDY, WebSocket) stay in this
// package; a backend only sees Node streams.
import type { Duplex, Readable, Writable } from 'node:stream';

/** A terminal size as clients send it (columns and rows). */
export interface TerminalSize {
  width: number;
  height: number;
}

/**
 * The client's standard streams, present only when the request asked for them.
 * stdin ends when the client closes it (half-close). The server ends stdout
 * and stderr after the backend call settles; a backend may end them sooner.
 */
export interface StdioStreams {
  stdin?: Readable;
  stdout?: Writable;
  stderr?: Writable;
}

export interface ExecResult {
  /** 0–255; anything else is reported to the client as an internal error. */
  exitCode: number;
}

/**
 * Implemented by the runtime. A rejected promise reaches the client as the
 * protocol's error (a Status with reason InternalError and the error's message
 * for exec/attach; the error stream's text for port-forward).
 *
 * `resize` yields terminal sizes (tty sessions only; it ends with the session).
 * Consecutive sizes not yet consumed are coalesced to the newest.
 * `signal` aborts when the client has gone away (connection closed or reset):
 * an exec backend decides whether its process lives on; attach must return
 * without stopping the container.
 */
export interface StreamingBackend {
  exec(
    containerId: string,
    cmd: string[],
    tty: boolean,
    streams: StdioStreams,
    resize: AsyncIterable<TerminalSize>,
    signal: AbortSignal,
  ): Promise<ExecResult>;

  attach(
    containerId: string,
    tty: boolean,
    streams: StdioStreams,
    resize: AsyncIterable<TerminalSize>,
    signal: AbortSignal,
  ): Promise<void>;

  /**
   * A connection to `port` on the pod's loopback, inside its network namespace.
   * The server pipes it both ways, half-closes it when the client does, and
   * destroys it when the client goes away.
   */
  portForward(podSandboxId: string, port: number, signal: AbortSignal): Promise<Duplex>;
}
