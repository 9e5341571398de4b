// A SPDY/3.1 session over any byte duplex (a TCP/TLS socket, or a WebSocket
// carrying SPDY bytes). Streams are Node duplexes: DATA frames in, DATA frames
// out, FIN as end(), RST_STREAM as destroy(). Kubernetes' SPDY clients never
// send WINDOW_UPDATE, so flow-control windows are accepted and ignored; memory
// stays bounded by pausing the transport while any stream holds more unread
// bytes than its limit, and by honouring the transport's write backpressure.
import { EventEmitter } from 'node:events';
import { Duplex } from 'node:stream';
import { FrameDecoder, FrameEncoder, GoAwayStatus, RstStatus, SpdyProtocolError, type Frame } from './frames';
import type { SpdyHeaders } from './headers';

/** DATA payloads are cut to this size so that streams interleave fairly. */
const MAX_DATA_CHUNK = 64 * 1024;

export interface SpdyConnectionOptions {
  /** True on the accepting side: it receives odd stream IDs and opens none. */
  server: boolean;
  /** Unread bytes one stream may hold before the connection stops reading (default 1 MiB). */
  streamReadLimit?: number;
  /** How long close() waits for the peer to hang up before cutting the transport (default 10 s). */
  closeGraceMs?: number;
  /** Streams open at once; the peer's further SYN_STREAMs are refused (default 1000). */
  maxStreams?: number;
}

interface ConnectionEvents {
  stream: [SpdyStream];
  goaway: [];
  close: [Error | undefined];
}

export class SpdyConnection extends EventEmitter<ConnectionEvents> {
  private readonly decoder = new FrameDecoder();
  private readonly encoder = new FrameEncoder();
  private readonly streams = new Map<number, SpdyStream>();
  private readonly pendingOpens = new Map<number, { resolve: (s: SpdyStream) => void; reject: (e: Error) => void }>();
  private readonly pendingPings = new Map<number, () => void>();
  private readonly stalled = new Set<SpdyStream>();
  private drainWaiters: (() => void)[] = [];
  private readonly streamReadLimit: number;
  private readonly closeGraceMs: number;
  private nextStreamId: number;
  private nextPingId: number;
  private lastReceivedId = 0;
  private goneAway = false;
  private closing = false;
  private closeTimer: NodeJS.Timeout | undefined;
  closed = false;

  constructor(
    private readonly transport: Duplex,
    private readonly opts: SpdyConnectionOptions,
  ) {
    super();
    this.streamReadLimit = opts.streamReadLimit ?? 1 << 20;
    this.closeGraceMs = opts.closeGraceMs ?? 10_000;
    this.nextStreamId = opts.server ? 2 : 1;
    this.nextPingId = opts.server ? 2 : 1;
    transport.on('data', (chunk: Buffer) => this.onBytes(chunk));
    transport.on('drain', () => this.flushDrainWaiters());
    transport.on('end', () => this.teardown());
    transport.on('close', () => this.teardown());
    transport.on('error', (err: Error) => this.teardown(err));
  }

  /** Whether the peer has said GOAWAY. */
  get peerGoneAway(): boolean {
    return this.goneAway;
  }

  /** Opens a stream (client side) and resolves once the peer's SYN_REPLY arrives. */
  openStream(headers: SpdyHeaders, opts: { fin?: boolean } = {}): Promise<SpdyStream> {
    if (this.closed || this.closing || this.goneAway) return Promise.reject(new Error('SPDY connection is closing'));
    const id = this.nextStreamId;
    this.nextStreamId += 2;
    const stream = new SpdyStream(this, id, headers, true);
    this.streams.set(id, stream);
    if (opts.fin) stream.localFin = true;
    return new Promise((resolve, reject) => {
      this.pendingOpens.set(id, { resolve, reject });
      this.send(this.encoder.synStream({ streamId: id, headers, fin: opts.fin ?? false }));
    });
  }

  /** Sends a PING and resolves when the peer echoes it. */
  ping(): Promise<void> {
    if (this.closed) return Promise.reject(new Error('SPDY connection is closed'));
    const id = this.nextPingId;
    this.nextPingId = this.nextPingId + 2 > 0x7fffffff ? (this.opts.server ? 2 : 1) : this.nextPingId + 2;
    return new Promise((resolve) => {
      this.pendingPings.set(id, resolve);
      this.send(this.encoder.ping(id));
    });
  }

  /** Says GOAWAY, finishes sending what is queued and hangs up (forcibly after the grace period). */
  close(): void {
    if (this.closed || this.closing) return;
    this.closing = true;
    this.send(this.encoder.goAway(this.lastReceivedId, GoAwayStatus.Ok));
    this.transport.end();
    this.closeTimer = setTimeout(() => this.destroy(), this.closeGraceMs);
  }

  destroy(err?: Error): void {
    this.transport.destroy();
    this.teardown(err);
  }

  // ---- used by SpdyStream ----

  /** @internal */
  writeData(stream: SpdyStream, chunk: Buffer, fin: boolean, cb: (err?: Error | null) => void): void {
    if (this.closed) {
      cb(new Error('SPDY connection is closed'));
      return;
    }
    stream.ensureReplied();
    let ok = true;
    if (chunk.length === 0) {
      ok = this.send(this.encoder.data(stream.id, chunk, fin));
    } else {
      for (let off = 0; off < chunk.length; off += MAX_DATA_CHUNK) {
        const end = Math.min(off + MAX_DATA_CHUNK, chunk.length);
        ok = this.send(this.encoder.data(stream.id, chunk.subarray(off, end), fin && end === chunk.length)) && ok;
      }
    }
    if (ok) cb();
    else this.drainWaiters.push(() => cb());
  }

  /** @internal */
  sendReply(stream: SpdyStream, headers: SpdyHeaders): void {
    if (!this.closed) this.send(this.encoder.synReply(stream.id, headers));
  }

  /** @internal */
  sendReset(stream: SpdyStream, status: number): void {
    if (!this.closed) this.send(this.encoder.rstStream(stream.id, status));
  }

  /** @internal */
  forget(stream: SpdyStream): void {
    this.streams.delete(stream.id);
    this.unstall(stream);
  }

  /** @internal */
  maybeForget(stream: SpdyStream): void {
    if (stream.localFin && stream.remoteFin) this.forget(stream);
  }

  /** @internal */
  unstall(stream: SpdyStream): void {
    if (this.stalled.delete(stream) && this.stalled.size === 0 && !this.closed) this.transport.resume();
  }

  // ---- frame handling ----

  private send(frame: Buffer): boolean {
    if (this.transport.destroyed || this.transport.writableEnded) return true;
    return this.transport.write(frame);
  }

  private flushDrainWaiters(): void {
    const waiters = this.drainWaiters;
    this.drainWaiters = [];
    for (const w of waiters) w();
  }

  private onBytes(chunk: Buffer): void {
    if (this.closed) return;
    let frames: Frame[];
    try {
      frames = this.decoder.push(chunk);
    } catch (err) {
      this.send(this.encoder.goAway(this.lastReceivedId, GoAwayStatus.ProtocolError));
      this.transport.end();
      this.teardown(err instanceof SpdyProtocolError ? err : new SpdyProtocolError(String(err)));
      return;
    }
    for (const f of frames) {
      if (this.closed) return;
      this.onFrame(f);
    }
  }

  private onFrame(f: Frame): void {
    switch (f.type) {
      case 'data':
        return this.onDataFrame(f.streamId, f.data, f.fin);
      case 'syn_stream':
        return this.onSynStream(f);
      case 'syn_reply': {
        const pending = this.pendingOpens.get(f.streamId);
        const stream = this.streams.get(f.streamId);
        if (!pending || !stream) return;
        this.pendingOpens.delete(f.streamId);
        stream.replied = true;
        pending.resolve(stream);
        if (f.fin) this.remoteFinish(stream);
        return;
      }
      case 'headers': {
        const stream = this.streams.get(f.streamId);
        if (stream && f.fin) this.remoteFinish(stream);
        return;
      }
      case 'rst_stream': {
        const stream = this.streams.get(f.streamId);
        if (!stream) return;
        this.forget(stream);
        const pending = this.pendingOpens.get(f.streamId);
        if (pending) {
          this.pendingOpens.delete(f.streamId);
          pending.reject(new Error(`stream ${f.streamId} refused (status ${f.status})`));
        }
        stream.resetByPeer();
        return;
      }
      case 'ping': {
        const ours = (f.id % 2 === 0) === this.opts.server;
        if (!ours) {
          this.send(this.encoder.ping(f.id));
          return;
        }
        const done = this.pendingPings.get(f.id);
        this.pendingPings.delete(f.id);
        done?.();
        return;
      }
      case 'goaway':
        if (this.goneAway) return;
        this.goneAway = true;
        for (const s of this.streams.values()) this.remoteFinish(s);
        this.emit('goaway');
        return;
      default:
        // SETTINGS, WINDOW_UPDATE and unknown control frames carry nothing Krill acts on.
        return;
    }
  }

  private onSynStream(f: Extract<Frame, { type: 'syn_stream' }>): void {
    const peerParity = this.opts.server ? 1 : 0;
    if (f.streamId % 2 !== peerParity || f.streamId <= this.lastReceivedId) {
      this.send(this.encoder.rstStream(f.streamId, RstStatus.ProtocolError));
      return;
    }
    this.lastReceivedId = f.streamId;
    if (this.closing || this.goneAway || this.listenerCount('stream') === 0 || this.streams.size >= (this.opts.maxStreams ?? 1000)) {
      this.send(this.encoder.rstStream(f.streamId, RstStatus.RefusedStream));
      return;
    }
    const stream = new SpdyStream(this, f.streamId, f.headers, false);
    this.streams.set(f.streamId, stream);
    if (f.unidirectional) stream.localFin = true;
    if (f.fin) this.remoteFinish(stream);
    this.emit('stream', stream);
  }

  private onDataFrame(streamId: number, data: Buffer, fin: boolean): void {
    const stream = this.streams.get(streamId);
    if (!stream || stream.remoteFin) return;
    if (data.length > 0 && !stream.destroyed) {
      stream.push(data);
      if (stream.readableLength > this.streamReadLimit && !this.stalled.has(stream)) {
        this.stalled.add(stream);
        this.transport.pause();
      }
    }
    if (fin) this.remoteFinish(stream);
  }

  private remoteFinish(stream: SpdyStream): void {
    if (stream.remoteFin) return;
    stream.remoteFin = true;
    if (!stream.destroyed) stream.push(null);
    this.maybeForget(stream);
  }

  private teardown(err?: Error): void {
    if (this.closed) return;
    this.closed = true;
    if (this.closeTimer) clearTimeout(this.closeTimer);
    if (!this.transport.destroyed) {
      // Let a graceful end finish flushing; a broken transport goes at once.
      if (err || !this.transport.writableEnded || this.transport.writableFinished) this.transport.destroy();
      else this.transport.once('finish', () => this.transport.destroy());
    }
    for (const [id, p] of this.pendingOpens) p.reject(new Error(`SPDY connection closed before stream ${id} was accepted`));
    this.pendingOpens.clear();
    for (const s of [...this.streams.values()]) s.destroy();
    this.streams.clear();
    this.stalled.clear();
    this.flushDrainWaiters();
    this.pendingPings.clear();
    this.emit('close', err);
  }
}

export class SpdyStream extends Duplex {
  /** @internal */ localFin = false;
  /** @internal */ remoteFin = false;
  /** @internal */ replied: boolean;
  private wasReset = false;

  constructor(
    private readonly conn: SpdyConnection,
    readonly id: number,
    readonly headers: SpdyHeaders,
    readonly initiatedLocally: boolean,
  ) {
    super({ allowHalfOpen: true, readableHighWaterMark: 64 * 1024, writableHighWaterMark: 64 * 1024 });
    this.replied = initiatedLocally;
  }

  /** Accepts a peer-initiated stream (SYN_REPLY). Writing accepts implicitly. */
  reply(headers: SpdyHeaders = {}): void {
    if (this.replied) return;
    this.replied = true;
    this.conn.sendReply(this, headers);
  }

  /** @internal */
  ensureReplied(): void {
    if (!this.replied) this.reply();
  }

  /** Aborts the stream in both directions with RST_STREAM. */
  reset(status: number = RstStatus.Cancel): void {
    if (!this.wasReset && !(this.localFin && this.remoteFin)) {
      this.wasReset = true;
      this.conn.sendReset(this, status);
    }
    this.destroy();
  }

  /** @internal */
  resetByPeer(): void {
    this.wasReset = true;
    this.remoteFin = true;
    this.localFin = true;
    this.destroy();
  }

  override _read(): void {
    this.conn.unstall(this);
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    if (this.localFin) {
      cb(new Error(`write on finished SPDY stream ${this.id}`));
      return;
    }
    this.conn.writeData(this, chunk, false, cb);
  }

  override _final(cb: (err?: Error | null) => void): void {
    if (this.localFin) {
      cb();
      return;
    }
    this.localFin = true;
    this.conn.writeData(this, Buffer.alloc(0), true, (err) => {
      this.conn.maybeForget(this);
      cb(err);
    });
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    if (!this.wasReset && !(this.localFin && this.remoteFin) && !this.conn.closed) {
      this.wasReset = true;
      this.conn.sendReset(this, RstStatus.Cancel);
    }
    this.conn.forget(this);
    cb(err);
  }
}
