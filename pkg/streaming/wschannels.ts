// Kubernetes' channel protocol over one WebSocket: every message starts with
// a channel byte (an ASCII digit and base64 payload in the base64 variants),
// and v5 adds [255, channel] to close one channel. Each channel is exposed as
// a Node stream; memory stays bounded by pausing the socket while any reader
// holds too much unread data, and by writing through ws's send callbacks.
import { Readable, Writable } from 'node:stream';
import type { WebSocket } from 'ws';
import { CHANNEL_CLOSE_SIGNAL, type WebSocketChannelProtocol } from './protocols';

export type ChannelMessage =
  | { kind: 'data'; channel: number; data: Buffer }
  | { kind: 'close'; channel: number }
  | { kind: 'empty' }
  | { kind: 'invalid'; reason: string };

export function decodeChannelMessage(protocol: WebSocketChannelProtocol, message: Buffer): ChannelMessage {
  if (message.length === 0) return { kind: 'empty' };
  if (protocol.closeSignal && message[0] === CHANNEL_CLOSE_SIGNAL) {
    if (message.length !== 2) return { kind: 'invalid', reason: `close signal with ${message.length - 1} channel bytes` };
    return { kind: 'close', channel: message[1]! };
  }
  if (!protocol.base64) return { kind: 'data', channel: message[0]!, data: message.subarray(1) };
  const channel = message[0]! - 0x30;
  if (channel < 0 || channel > 9) return { kind: 'invalid', reason: `base64 channel byte ${message[0]}` };
  return { kind: 'data', channel, data: Buffer.from(message.toString('latin1', 1), 'base64') };
}

export function encodeChannelMessage(protocol: WebSocketChannelProtocol, channel: number, data: Buffer): Buffer | string {
  if (protocol.base64) return String.fromCharCode(0x30 + channel) + data.toString('base64');
  const out = Buffer.allocUnsafe(data.length + 1);
  out[0] = channel;
  data.copy(out, 1);
  return out;
}

export interface ChannelSpec {
  read: boolean;
  write: boolean;
}

export interface ChannelConnectionOptions {
  protocol: WebSocketChannelProtocol;
  channels: ChannelSpec[];
  /** Unread bytes one channel may hold before the socket is paused (default 1 MiB). */
  readLimit?: number;
}

class ChannelReader extends Readable {
  constructor(private readonly onRead: () => void) {
    super({ highWaterMark: 64 * 1024 });
  }
  override _read(): void {
    this.onRead();
  }
}

export class ChannelConnection {
  private readonly readers = new Map<number, ChannelReader>();
  private readonly writers = new Map<number, Writable>();
  private readonly stalled = new Set<number>();
  private readonly readLimit: number;
  private readonly abort = new AbortController();

  constructor(
    private readonly ws: WebSocket,
    private readonly opts: ChannelConnectionOptions,
  ) {
    this.readLimit = opts.readLimit ?? 1 << 20;
    opts.channels.forEach((spec, ch) => {
      if (spec.read) this.readers.set(ch, new ChannelReader(() => this.unstall(ch)));
      if (spec.write) this.writers.set(ch, this.makeWriter(ch));
    });
    ws.on('message', (data: Buffer | ArrayBuffer | Buffer[]) => this.onMessage(toBuffer(data)));
    ws.on('close', () => this.onClose());
    ws.on('error', () => this.onClose());
  }

  /** Aborts when the WebSocket is gone. */
  get signal(): AbortSignal {
    return this.abort.signal;
  }

  reader(channel: number): Readable {
    const r = this.readers.get(channel);
    if (!r) throw new Error(`channel ${channel} is not readable`);
    return r;
  }

  writer(channel: number): Writable {
    const w = this.writers.get(channel);
    if (!w) throw new Error(`channel ${channel} is not writable`);
    return w;
  }

  /** Sends one message on a channel, resolving once it is handed to the socket. */
  send(channel: number, data: Buffer): Promise<void> {
    return new Promise((resolve) => this.sendRaw(channel, data, () => resolve()));
  }

  /** A normal closure (1000): clients treat it as the end of every channel. */
  close(): void {
    if (this.ws.readyState === this.ws.OPEN) this.ws.close(1000);
  }

  private sendRaw(channel: number, data: Buffer, cb: (err?: Error) => void): void {
    if (this.ws.readyState !== this.ws.OPEN) {
      cb(new Error('WebSocket is closed'));
      return;
    }
    const payload = encodeChannelMessage(this.opts.protocol, channel, data);
    this.ws.send(payload, { binary: typeof payload !== 'string' }, cb);
  }

  private makeWriter(channel: number): Writable {
    return new Writable({
      highWaterMark: 64 * 1024,
      write: (chunk: Buffer, _enc, cb) => this.sendRaw(channel, chunk, cb),
    });
  }

  private onMessage(message: Buffer): void {
    const m = decodeChannelMessage(this.opts.protocol, message);
    if (m.kind === 'close') {
      this.readers.get(m.channel)?.push(null);
      return;
    }
    if (m.kind !== 'data') return;
    const r = this.readers.get(m.channel);
    if (!r || r.readableEnded || r.destroyed || m.data.length === 0) return;
    r.push(m.data);
    if (r.readableLength > this.readLimit && !this.stalled.has(m.channel)) {
      this.stalled.add(m.channel);
      this.ws.pause();
    }
  }

  private unstall(channel: number): void {
    if (this.stalled.delete(channel) && this.stalled.size === 0 && this.ws.readyState === this.ws.OPEN) this.ws.resume();
  }

  private onClose(): void {
    if (this.abort.signal.aborted) return;
    this.abort.abort();
    for (const r of this.readers.values()) if (!r.readableEnded) r.push(null);
    for (const w of this.writers.values()) w.destroy();
  }
}

function toBuffer(data: Buffer | ArrayBuffer | Buffer[]): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (Array.isArray(data)) return Buffer.concat(data);
  return Buffer.from(data);
}
