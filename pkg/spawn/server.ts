// The spawn server's client: krilld starts one small server (cmd/krill-spawn)
// that starts the children, relays their pipes, and dials TCP inside pod
// network namespaces; this is krilld's side of its wire protocol
// (protocol.ts). The Launcher krilld gives its drivers in production.
import { spawn as nodeSpawn, type ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';
import { constants } from 'node:os';
import { Readable, Writable, type Duplex } from 'node:stream';
import type { Logger } from '../log/logger';
import { errnoError } from './errno';
import {
  encodeDataHeader,
  encodeDial,
  encodeInts,
  encodeSpawn,
  FD_MODE,
  FrameDecoder,
  INPUT_FRAME,
  INPUT_WINDOW,
  intAt,
  KILL_GROUP,
  MSG,
  REQ,
  type DialRequest,
  type FdMode,
  type Frame,
} from './protocol';
import { SpawnedSocket, type SocketLink } from './socket';
import type { Child, Launcher, SpawnOptions, StdioMode } from './launcher';

/** How long stop() waits for the server to exit before killing it. */
const STOP_TIMEOUT_MS = 5000;

const SIGNAL_NAMES: ReadonlyMap<number, NodeJS.Signals> = new Map(Object.entries(constants.signals).map(([name, n]) => [n, name as NodeJS.Signals]));

function signalNumber(signal: NodeJS.Signals | number): number {
  if (typeof signal === 'number') return signal;
  const n = (constants.signals as Record<string, number | undefined>)[signal];
  if (n === undefined) throw new TypeError(`Unknown signal: ${signal}`);
  return n;
}

function modesOf(stdio: readonly StdioMode[] | undefined): FdMode[] {
  const modes = (stdio ?? ['pipe', 'pipe', 'pipe']).map((m, fd): FdMode => {
    switch (m) {
      case 'ignore':
        return FD_MODE.null;
      case 'input':
        return FD_MODE.input;
      case 'output':
        return FD_MODE.output;
      case 'pipe':
        return fd === 0 ? FD_MODE.input : FD_MODE.output;
      default:
        throw new TypeError(`unsupported stdio mode ${String(m)} for fd ${fd}`);
    }
  });
  while (modes.length < 3) modes.push(FD_MODE.null);
  return modes;
}

function envList(env: NodeJS.ProcessEnv): string[] {
  const out: string[] = [];
  for (const [k, v] of Object.entries(env)) if (v !== undefined) out.push(`${k}=${v}`);
  return out;
}

/** The end of an output pipe of the child: what it writes there. */
class OutputStream extends Readable {
  private pausedRemote = false;
  private eof = false;

  constructor(
    private readonly child: ServerChild,
    private readonly fd: number,
  ) {
    super();
  }

  deliver(bytes: Buffer): void {
    if (this.destroyed || this.eof) return;
    if (!this.push(bytes) && !this.pausedRemote) {
      this.pausedRemote = true;
      this.child.send(encodeInts(REQ.pause, this.child.id, this.fd));
    }
  }

  /** No more bytes will come (EOF, or the server is gone). */
  finish(): void {
    if (this.destroyed || this.eof) return;
    this.eof = true;
    this.push(null);
    // Nobody reads it: drain it so that it ends (as child_process does at exit).
    if (this.readableFlowing === null) this.resume();
  }

  override _read(): void {
    if (!this.pausedRemote) return;
    this.pausedRemote = false;
    this.child.send(encodeInts(REQ.resume, this.child.id, this.fd));
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    if (!this.eof) {
      this.eof = true;
      this.child.send(encodeInts(REQ.closeOutput, this.child.id, this.fd));
    }
    cb(err);
  }
}

/** The end of an input pipe of the child: what it reads there. */
class InputStream extends Writable {
  private outstanding = 0;
  private waiting: ((err?: Error | null) => void) | undefined;
  private closeSent = false;

  constructor(
    private readonly child: ServerChild,
    private readonly fd: number,
  ) {
    super();
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    if (chunk.length === 0) return cb();
    for (let o = 0; o < chunk.length; o += INPUT_FRAME) {
      const part = chunk.subarray(o, o + INPUT_FRAME);
      this.child.send(encodeDataHeader(REQ.input, this.child.id, this.fd, part.length));
      this.child.send(part);
    }
    this.outstanding += chunk.length;
    if (this.outstanding <= INPUT_WINDOW) cb();
    else this.waiting = cb;
  }

  /** The server wrote n bytes to the pipe. */
  ack(n: number): void {
    this.outstanding -= n;
    if (this.waiting && this.outstanding <= INPUT_WINDOW) {
      const cb = this.waiting;
      this.waiting = undefined;
      cb();
    }
  }

  /** Writing failed (the child closed its end: EPIPE); the server has closed the pipe. */
  fail(errno: number): void {
    this.closeSent = true;
    this.waiting = undefined;
    // Like a socket's EPIPE, for whoever listens; nobody listening must not bring krilld down.
    if (this.listenerCount('error') > 0) this.destroy(errnoError(errno, 'write'));
    else this.destroy();
  }

  override _final(cb: (err?: Error | null) => void): void {
    this.close();
    cb();
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    this.close();
    this.waiting = undefined;
    cb(err);
  }

  private close(): void {
    if (this.closeSent) return;
    this.closeSent = true;
    this.child.send(encodeInts(REQ.closeInput, this.child.id, this.fd));
  }
}

/** What the server's replies for one id go to: a child or a socket. */
interface Endpoint {
  handle(f: Frame): void;
  /** The server died with this endpoint in flight. */
  serverDied(message: string): void;
}

/** A child started by the spawn server. */
class ServerChild extends EventEmitter implements Child, Endpoint {
  pid: number | undefined;
  exitCode: number | null = null;
  signalCode: NodeJS.Signals | null = null;
  readonly stdio: (Readable | Writable | null)[];
  readonly stdin: Writable | null;
  readonly stdout: Readable | null;
  readonly stderr: Readable | null;
  private readonly outputs = new Map<number, OutputStream>();
  private readonly inputs = new Map<number, InputStream>();
  private exited = false;
  private openOutputs = 0;
  private closed = false;
  private referenced = true;

  constructor(
    private readonly conn: Connection,
    readonly id: number,
    readonly spawnfile: string,
    readonly spawnargs: string[],
    modes: readonly FdMode[],
  ) {
    super();
    this.stdio = modes.map((m, fd) => {
      if (m === FD_MODE.output) {
        const s = new OutputStream(this, fd);
        this.outputs.set(fd, s);
        this.openOutputs++;
        s.once('close', () => {
          this.openOutputs--;
          this.maybeClose();
        });
        return s;
      }
      if (m === FD_MODE.input) {
        const s = new InputStream(this, fd);
        this.inputs.set(fd, s);
        return s;
      }
      return null;
    });
    this.stdin = this.stdio[0] instanceof Writable ? this.stdio[0] : null;
    this.stdout = this.stdio[1] instanceof Readable ? this.stdio[1] : null;
    this.stderr = this.stdio[2] instanceof Readable ? this.stdio[2] : null;
  }

  send(frame: Buffer): void {
    if (!this.closed) this.conn.send(frame);
  }

  kill(signal: NodeJS.Signals | number = 'SIGTERM'): boolean {
    const n = signalNumber(signal);
    if (this.exited) return false;
    // By id, not pid: the server signals it only while it is not reaped, and a kill sent before the pid is known still lands.
    this.send(encodeInts(REQ.kill, this.id, n, 0));
    return true;
  }

  killGroup(signal: NodeJS.Signals | number): void {
    const n = signalNumber(signal);
    if (this.pid === undefined) {
      if (!this.exited) this.send(encodeInts(REQ.kill, this.id, n, KILL_GROUP));
      return;
    }
    try {
      // A pid is not reused while a process group of that id exists, so this reaches only the child's group.
      process.kill(-this.pid, n);
    } catch {
      // the group is gone
    }
  }

  unref(): void {
    if (!this.referenced) return;
    this.referenced = false;
    if (!this.closed) this.conn.release();
  }

  ref(): void {
    if (this.referenced || this.closed) return;
    this.referenced = true;
    this.conn.hold();
  }

  /** A frame from the server about this child. */
  handle(f: Frame): void {
    switch (f.type) {
      case MSG.spawned:
        this.pid = intAt(f.payload, 0);
        this.emit('spawn');
        return;
      case MSG.spawnError:
        this.failed(Object.assign(errnoError(intAt(f.payload, 0), `spawn ${this.spawnfile}`, { path: this.spawnfile }), { spawnargs: this.spawnargs.slice(1) }));
        return;
      case MSG.data:
        this.outputs.get(f.payload.readUInt32BE(0))?.deliver(f.payload.subarray(4));
        return;
      case MSG.eof:
        this.outputs.get(f.payload.readUInt32BE(0))?.finish();
        return;
      case MSG.ack:
        this.inputs.get(f.payload.readUInt32BE(0))?.ack(f.payload.readUInt32BE(4));
        return;
      case MSG.inputError:
        this.inputs.get(f.payload.readUInt32BE(0))?.fail(intAt(f.payload, 1));
        return;
      case MSG.exit: {
        const code = intAt(f.payload, 0);
        const sig = intAt(f.payload, 1);
        this.exitCode = code >= 0 ? code : null;
        this.signalCode = sig > 0 ? (SIGNAL_NAMES.get(sig) ?? null) : null;
        this.exited = true;
        this.emit('exit', this.exitCode, this.signalCode);
        // As child_process: the child's stdin goes with it; unread output is drained.
        for (const s of this.inputs.values()) s.destroy();
        for (const s of this.outputs.values()) if (s.readableFlowing === null && !s.destroyed) s.resume();
        this.maybeClose();
        return;
      }
      default:
        return; // a newer server's message: nothing this side knows to do with it
    }
  }

  serverDied(message: string): void {
    this.failed(new Error(`${message}; the outcome of ${this.spawnfile} is unknown`));
  }

  /** The child could not be started, or its fate is unknown (the server died): 'error', then 'close'. */
  failed(err: Error): void {
    if (this.exited) {
      // Its exit was reported; only its output is cut short.
      for (const s of this.outputs.values()) s.finish();
      return;
    }
    this.exited = true;
    // child_process reports spawn failures asynchronously too.
    process.nextTick(() => {
      if (this.listenerCount('error') > 0) this.emit('error', err);
      for (const s of this.inputs.values()) s.destroy();
      for (const s of this.outputs.values()) s.finish();
      this.maybeClose();
    });
  }

  private maybeClose(): void {
    if (this.closed || !this.exited || this.openOutputs > 0) return;
    this.closed = true;
    this.conn.forget(this.id);
    if (this.referenced) this.conn.release();
    this.emit('close', this.exitCode, this.signalCode);
  }
}

/** One spawn server process and the children (and sockets) it started. */
class Connection {
  readonly proc: ChildProcess;
  readonly children = new Map<number, Endpoint>();
  readonly ready: Promise<void>;
  private readonly decoder = new FrameDecoder();
  private corked = false;
  private dead = false;
  private stopping = false;
  private holds = 0;
  private stderrTail = '';

  constructor(
    binary: string,
    private readonly log: Logger | undefined,
  ) {
    this.proc = nodeSpawn(binary, [], { stdio: ['pipe', 'pipe', 'pipe'] });
    this.ready = new Promise((resolve, reject) => {
      this.proc.once('spawn', resolve);
      this.proc.once('error', reject);
    });
    this.ready.catch(() => undefined);
    this.proc.stdin!.on('error', () => undefined);
    this.proc.stdout!.on('data', (chunk: Buffer) => {
      const frames: Frame[] = [];
      try {
        this.decoder.push(chunk, (f) => frames.push(f));
      } catch (err) {
        this.log?.error({ err, pid: this.proc.pid }, 'spawn server sent a bad message; killing it');
        this.proc.kill('SIGKILL');
      }
      // Outside the try: an exception in a child's listener is the listener's, not the server's.
      for (const f of frames) this.children.get(f.id)?.handle(f);
    });
    this.proc.stderr!.on('data', (b: Buffer) => {
      this.stderrTail = (this.stderrTail + b.toString('utf8')).slice(-2000);
      for (const line of b.toString('utf8').split('\n').filter(Boolean)) this.log?.warn({ pid: this.proc.pid, line }, 'spawn server says');
    });
    let why = '';
    this.proc.once('error', (err) => (why = `could not run ${binary}: ${err.message}`));
    this.proc.once('exit', (code, signal) => (why = signal ? `was killed by ${signal}` : `exited with code ${code}`));
    // 'close': exited and every reply read, so that every EXIT it sent has been seen.
    this.proc.once('close', () => this.died(why || 'went away'));
    this.unrefHandles();
  }

  spawn(id: number, file: string, args: readonly string[], opts: SpawnOptions): ServerChild {
    const modes = modesOf(opts.stdio);
    const argv = [file, ...args];
    const frame = encodeSpawn(id, {
      file,
      cwd: opts.cwd ?? '',
      argv,
      env: envList(opts.env ?? process.env),
      setsid: opts.detached === true,
      umask022: opts.runtimeUmask === true,
      fds: modes,
    });
    const child = new ServerChild(this, id, file, argv, modes);
    this.children.set(id, child);
    this.hold();
    if (this.dead) child.failed(new Error(`cannot spawn ${file}: the spawn server is gone`));
    else this.send(frame);
    return child;
  }

  dial(id: number, req: DialRequest): SpawnedSocket {
    const frame = encodeDial(id, req);
    const link: SocketLink = {
      send: (f) => this.send(f),
      forget: (forgotten) => this.forget(forgotten),
      hold: () => this.hold(),
      release: () => this.release(),
    };
    const socket = new SpawnedSocket(link, id, req);
    this.children.set(id, socket);
    if (this.dead) socket.serverDied('the spawn server is gone');
    else this.send(frame);
    return socket;
  }

  send(frame: Buffer): void {
    if (this.dead) return;
    const stdin = this.proc.stdin!;
    // Every frame of one event-loop turn goes out in one write.
    if (!this.corked) {
      this.corked = true;
      stdin.cork();
      process.nextTick(() => {
        this.corked = false;
        stdin.uncork();
      });
    }
    stdin.write(frame);
  }

  forget(id: number): void {
    this.children.delete(id);
  }

  hold(): void {
    if (this.holds++ === 0) this.refHandles();
  }

  release(): void {
    if (--this.holds === 0) this.unrefHandles();
  }

  /** Ends the server: EOF on its stdin; it exits and leaves its children running. */
  async stop(): Promise<void> {
    this.stopping = true;
    if (this.dead) return;
    this.refHandles();
    const closed = new Promise<void>((resolve) => this.proc.once('close', () => resolve()));
    this.proc.stdin!.end();
    const timer = setTimeout(() => this.proc.kill('SIGKILL'), STOP_TIMEOUT_MS);
    await closed;
    clearTimeout(timer);
  }

  get alive(): boolean {
    return !this.dead;
  }

  private died(why: string): void {
    if (this.dead) return;
    this.dead = true;
    const detail = this.stderrTail.trim() ? ` (${this.stderrTail.trim().split('\n').pop()})` : '';
    const message = `the spawn server (krill-spawn, pid ${this.proc.pid ?? '?'}) ${why}${detail}`;
    if (!this.stopping || this.children.size > 0) {
      this.log?.error({ pid: this.proc.pid, children: this.children.size, stopping: this.stopping }, `${message}; in-flight spawns fail`);
    }
    for (const child of [...this.children.values()]) child.serverDied(message);
  }

  private refHandles(): void {
    this.proc.ref();
    for (const s of [this.proc.stdin, this.proc.stdout, this.proc.stderr]) (s as Socket | null)?.ref?.();
  }

  private unrefHandles(): void {
    this.proc.unref();
    for (const s of [this.proc.stdin, this.proc.stdout, this.proc.stderr]) (s as Socket | null)?.unref?.();
  }
}

export interface SpawnServerOptions {
  /** The krill-spawn binary (dist/bin/krill-spawn). */
  binary: string;
  log?: Logger;
}

/**
 * The spawn server, restarted on the next spawn if it dies (its in-flight
 * children fail with an error naming it).
 */
export class SpawnServer implements Launcher {
  private conn: Connection;
  private nextId = 1;
  private stopped = false;
  private restarts = 0;

  private constructor(private readonly opts: SpawnServerOptions) {
    this.conn = this.connect();
  }

  static async start(opts: SpawnServerOptions): Promise<SpawnServer> {
    const server = new SpawnServer(opts);
    try {
      await server.conn.ready;
    } catch (err) {
      throw new Error(`cannot start the spawn server ${opts.binary} (make build builds it): ${(err as Error).message}`);
    }
    return server;
  }

  /** The server's pid (for tests). */
  get pid(): number | undefined {
    return this.conn.proc.pid;
  }

  /** How many times the server was started again after dying. */
  get restartCount(): number {
    return this.restarts;
  }

  spawn(file: string, args: readonly string[], opts: SpawnOptions = {}): Child {
    if (this.stopped) throw new Error(`cannot spawn ${file}: the spawn server was stopped`);
    return this.live().spawn(this.takeId(), file, args, opts);
  }

  /**
   * A TCP connection to a loopback address inside the network namespace
   * `req.netns` ('' for the server's own), made and relayed by the server:
   * no process per connection. Rejects with an error worded as Node's net
   * errors ("connect ECONNREFUSED 127.0.0.1:80"). Destroying the stream
   * closes the connection; `signal` ends a connect in progress.
   */
  async dial(req: DialRequest, signal?: AbortSignal): Promise<Duplex> {
    if (this.stopped) throw new Error(`cannot dial ${req.address}:${req.port}: the spawn server was stopped`);
    signal?.throwIfAborted();
    const socket = this.live().dial(this.takeId(), req);
    const onAbort = (): void => socket.cancel(new Error(`connect to ${req.address}:${req.port} aborted`));
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      await socket.connected;
    } finally {
      signal?.removeEventListener('abort', onAbort);
    }
    return socket;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.conn.stop();
  }

  private connect(): Connection {
    return new Connection(this.opts.binary, this.opts.log);
  }

  /** The connection, started again if the server died. */
  private live(): Connection {
    if (!this.conn.alive) {
      this.restarts++;
      this.conn = this.connect();
      this.opts.log?.info({ pid: this.conn.proc.pid, restarts: this.restarts }, 'spawn server restarted');
    }
    return this.conn;
  }

  private takeId(): number {
    const id = this.nextId;
    this.nextId = this.nextId >= 0xffffffff ? 1 : this.nextId + 1;
    return id;
  }
}

