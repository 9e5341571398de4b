// A TCP connection the spawn server made (DIAL) inside a network namespace,
// as a Node Duplex. The server relays it like a child's pipes: fd 0 is what
// we write to the socket (acknowledged, within INPUT_WINDOW), fd 1 what it
// reads from it (paused and resumed with the readable side's backpressure).
import { Duplex } from 'node:stream';
import { errnoError, errnoName, type SpawnErrnoError } from './errno';
import { DIAL_STEP, encodeDataHeader, encodeInts, INPUT_FRAME, INPUT_WINDOW, intAt, MSG, REQ, SOCKET_FD, type DialRequest, type Frame } from './protocol';

/** What a socket needs from the connection to its spawn server. */
export interface SocketLink {
  send(frame: Buffer): void;
  /** Frames for `id` are no longer routed here. */
  forget(id: number): void;
  /** Keeps the server's handles referenced (the event loop alive) until release(). */
  hold(): void;
  release(): void;
}

const SIGKILL = 9;

/** The error of a DIAL_ERROR reply, worded as Node's net errors are ("connect ECONNREFUSED 127.0.0.1:80"). */
export function dialError(req: DialRequest, errno: number, step: number): SpawnErrnoError {
  const code = errnoName(errno);
  const where = { address: req.address, port: req.port };
  switch (step) {
    case DIAL_STEP.address:
      return Object.assign(errnoError(errno, 'connect', { message: `connect ${code} ${req.address}:${req.port} (only loopback addresses are dialled)` }), where);
    case DIAL_STEP.netns: {
      const why = errno === 22 ? ' (not a network namespace)' : '';
      return errnoError(errno, 'setns', { path: req.netns, message: `cannot enter the network namespace ${req.netns}: ${code}${why}` });
    }
    case DIAL_STEP.socket:
      return errnoError(errno, 'socket');
    default: {
      const timeout = code === 'ETIMEDOUT' && req.timeoutMs > 0 ? ` (no answer within ${req.timeoutMs} ms)` : '';
      return Object.assign(errnoError(errno, 'connect', { message: `connect ${code} ${req.address}:${req.port}${timeout}` }), where);
    }
  }
}

export class SpawnedSocket extends Duplex {
  /** Settles once the server has connected the socket, or failed to. */
  readonly connected: Promise<void>;
  private settle!: { resolve: () => void; reject: (err: Error) => void };
  /** 'gone': the server holds nothing for it any more (failed, killed, or the server died). */
  private state: 'connecting' | 'open' | 'gone' = 'connecting';
  private outstanding = 0;
  private waiting: ((err?: Error | null) => void) | undefined;
  private finishing: ((err?: Error | null) => void) | undefined;
  private pausedRemote = false;
  private held = true;

  constructor(
    private readonly link: SocketLink,
    readonly id: number,
    readonly request: DialRequest,
  ) {
    super({ allowHalfOpen: true });
    this.connected = new Promise((resolve, reject) => (this.settle = { resolve, reject }));
    this.connected.catch(() => undefined);
    link.hold();
  }

  /** A frame from the server about this socket. */
  handle(f: Frame): void {
    switch (f.type) {
      case MSG.dialed:
        if (this.state !== 'connecting') return;
        this.state = 'open';
        this.settle.resolve();
        return;
      case MSG.dialError:
        this.gone(dialError(this.request, intAt(f.payload, 0), intAt(f.payload, 1)));
        return;
      case MSG.data:
        if (f.payload.readUInt32BE(0) === SOCKET_FD.output) this.deliver(f.payload.subarray(4));
        return;
      case MSG.eof:
        if (f.payload.readUInt32BE(0) === SOCKET_FD.output && !this.readableEnded) this.push(null);
        return;
      case MSG.ack:
        this.ack(f.payload.readUInt32BE(4));
        return;
      case MSG.inputError:
        // The server closed the sending side (EPIPE, ECONNRESET): like a socket's write error.
        this.fail(errnoError(intAt(f.payload, 1), 'write'));
        return;
      default:
        return;
    }
  }

  /** The server died: the socket died with it. */
  serverDied(message: string): void {
    this.gone(new Error(`${message}; the connection to ${this.request.address}:${this.request.port} is lost`));
  }

  /** Ends a connect in progress: `connected` rejects with `err`, and the server closes the socket. */
  cancel(err: Error): void {
    if (this.state !== 'connecting') return;
    this.link.send(encodeInts(REQ.kill, this.id, SIGKILL, 0));
    this.forget(err);
    this.destroy();
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    if (this.state !== 'open') return cb(new Error('the socket is not connected'));
    if (chunk.length === 0) return cb();
    for (let o = 0; o < chunk.length; o += INPUT_FRAME) {
      const part = chunk.subarray(o, o + INPUT_FRAME);
      this.link.send(encodeDataHeader(REQ.input, this.id, SOCKET_FD.input, part.length));
      this.link.send(part);
    }
    this.outstanding += chunk.length;
    if (this.outstanding <= INPUT_WINDOW) cb();
    else this.waiting = cb;
  }

  /** Half-close: the server shuts the socket's sending side down once every byte is written, and 'finish' waits for that. */
  override _final(cb: (err?: Error | null) => void): void {
    if (this.state !== 'open') return cb();
    this.link.send(encodeInts(REQ.closeInput, this.id, SOCKET_FD.input));
    if (this.outstanding === 0) cb();
    else this.finishing = cb;
  }

  override _read(): void {
    if (!this.pausedRemote || this.state !== 'open') return;
    this.pausedRemote = false;
    this.link.send(encodeInts(REQ.resume, this.id, SOCKET_FD.output));
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    // KILL closes the socket in whatever state it is, a connect in progress included.
    if (this.state !== 'gone') this.link.send(encodeInts(REQ.kill, this.id, SIGKILL, 0));
    this.forget(err ?? new Error('the socket was closed before it connected'));
    cb(err);
  }

  private deliver(bytes: Buffer): void {
    if (this.destroyed || this.readableEnded) return;
    if (!this.push(bytes) && !this.pausedRemote) {
      this.pausedRemote = true;
      this.link.send(encodeInts(REQ.pause, this.id, SOCKET_FD.output));
    }
  }

  private ack(n: number): void {
    this.outstanding -= n;
    if (this.waiting && this.outstanding <= INPUT_WINDOW) {
      const cb = this.waiting;
      this.waiting = undefined;
      cb();
    }
    if (this.finishing && this.outstanding === 0) {
      const cb = this.finishing;
      this.finishing = undefined;
      cb();
    }
  }

  /** The server no longer holds the socket. */
  private gone(err: Error): void {
    if (this.state === 'gone') return;
    const connecting = this.state === 'connecting';
    this.forget(err);
    if (connecting) this.destroy();
    else this.fail(err);
  }

  private fail(err: Error): void {
    this.waiting = undefined;
    this.finishing = undefined;
    // An error nobody listens for must not bring krilld down.
    if (this.listenerCount('error') > 0) this.destroy(err);
    else this.destroy();
  }

  private forget(err: Error): void {
    if (this.state === 'connecting') this.settle.reject(err);
    this.state = 'gone';
    this.link.forget(this.id);
    if (this.held) {
      this.held = false;
      this.link.release();
    }
  }
}
