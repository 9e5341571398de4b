// A client for Krill's streaming server, speaking what client-go speaks:
// remotecommand over SPDY or WebSocket channels, port-forward over SPDY (plain
// or tunnelled in a WebSocket). Used by the integration tests and end-to-end
// checks; it follows client-go's stream order and close semantics.
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { Socket } from 'node:net';
import { PassThrough, type Readable, type Writable } from 'node:stream';
import { WebSocket } from 'ws';
import type { TerminalSize } from '../backend';
import { CHANNEL_CLOSE_SIGNAL, PORTFORWARD_PROTOCOL, PORTFORWARD_TUNNEL_PROTOCOL, REMOTECOMMAND_WS_PROTOCOLS } from '../protocols';
import { SpdyConnection, type SpdyStream } from '../spdy/connection';
import type { Status } from '../status';
import { decodeChannelMessage, encodeChannelMessage } from '../wschannels';
import { WebSocketDuplex } from '../ws_duplex';

export interface DialOptions {
  /** Trusted CA for https URLs (PEM). */
  ca?: string | Buffer;
  /** Skip certificate verification (crictl's default without --tls-ca). */
  insecure?: boolean;
  /** The Host header to send instead of the URL's host (any value: a proxy's name, a socket path). */
  host?: string;
}

export class HttpStatusError extends Error {
  constructor(
    readonly statusCode: number,
    readonly body: string,
  ) {
    super(`server answered ${statusCode}: ${body.trim()}`);
    this.name = 'HttpStatusError';
  }
}

function readBody(res: IncomingMessage): Promise<string> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    res.on('data', (c: Buffer) => chunks.push(c));
    res.on('end', () => resolve(Buffer.concat(chunks).toString()));
    res.on('error', () => resolve(Buffer.concat(chunks).toString()));
  });
}

/** Upgrades to SPDY/3.1 offering `protocols`; resolves with the connection and the protocol the server chose. */
export function dialSpdy(url: string, protocols: string[], opts: DialOptions = {}): Promise<{ conn: SpdyConnection; protocol: string }> {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    const make = u.protocol === 'https:' ? httpsRequest : httpRequest;
    const req = make(u, {
      method: 'POST',
      headers: { Connection: 'Upgrade', Upgrade: 'SPDY/3.1', ...(protocols.length ? { 'X-Stream-Protocol-Version': protocols } : {}), ...(opts.host !== undefined ? { Host: opts.host } : {}) },
      ...(u.protocol === 'https:' ? { ca: opts.ca, rejectUnauthorized: !opts.insecure } : {}),
    });
    req.on('upgrade', (res: IncomingMessage, socket: Socket, head: Buffer) => {
      if (head.length > 0) socket.unshift(head);
      const protocol = res.headers['x-stream-protocol-version'];
      resolve({ conn: new SpdyConnection(socket, { server: false }), protocol: typeof protocol === 'string' ? protocol : '' });
    });
    req.on('response', (res) => void readBody(res).then((body) => reject(new HttpStatusError(res.statusCode ?? 0, body))));
    req.on('error', reject);
    req.end();
  });
}

/**
 * Opens a WebSocket offering `protocols` and resolves with it and the
 * subprotocol the server chose; a refused handshake rejects with
 * HttpStatusError. `setup` runs before the handshake so that no message the
 * server sends right away can be missed.
 *
 * Kubernetes' tunnelling subprotocol ("SPDY/3.1+portforward.k8s.io") is not an
 * RFC 6455 token, which the ws client refuses to offer or accept, so the
 * header is written and read here, around ws.
 */
export function dialWebSocket(
  url: string,
  protocols: string[],
  opts: DialOptions = {},
  setup?: (ws: WebSocket, chosenProtocol: () => string) => void,
): Promise<{ ws: WebSocket; protocol: string }> {
  return new Promise((resolve, reject) => {
    let chosen = '';
    const ws = new WebSocket(url.replace(/^http/, 'ws'), [], {
      perMessageDeflate: false,
      ...(opts.host !== undefined ? { headers: { Host: opts.host } } : {}),
      ...(url.startsWith('https:') ? { ca: opts.ca, rejectUnauthorized: !opts.insecure } : {}),
      finishRequest: (req) => {
        if (protocols.length > 0) req.setHeader('Sec-WebSocket-Protocol', protocols.join(', '));
        req.prependListener('upgrade', (res: IncomingMessage) => {
          const p = res.headers['sec-websocket-protocol'];
          chosen = typeof p === 'string' ? p : '';
          delete res.headers['sec-websocket-protocol'];
        });
        req.end();
      },
    });
    setup?.(ws, () => chosen);
    ws.once('open', () => {
      if (protocols.length > 0 && !protocols.includes(chosen)) {
        ws.terminate();
        reject(new Error(`server chose subprotocol ${JSON.stringify(chosen)}, not one of ${protocols.join(', ')}`));
        return;
      }
      resolve({ ws, protocol: chosen });
    });
    ws.once('unexpected-response', (_req, res) => void readBody(res).then((body) => reject(new HttpStatusError(res.statusCode ?? 0, body))));
    ws.once('error', reject);
  });
}

export interface RemoteCommandOptions {
  stdin?: boolean;
  stdout?: boolean;
  stderr?: boolean;
  tty?: boolean;
}

/** A running remotecommand session as the client sees it. */
export interface RemoteCommandSession {
  protocol: string;
  /** Present when opts.stdin; end() it to close the remote stdin. */
  stdin?: Writable;
  stdout: Readable;
  stderr: Readable;
  resize(size: TerminalSize): void;
  /** Everything the server wrote on the error stream/channel, once the session is over. */
  done: Promise<RemoteCommandResult>;
  /** Drops the connection without waiting. */
  abort(): void;
}

export interface RemoteCommandResult {
  /** The raw error stream contents. */
  error: string;
  /** The parsed Status (v4 and later), if any. */
  status?: Status;
  /** The exit code as client-go derives it: 0 on Success, the ExitCode cause on NonZeroExitCode. */
  exitCode?: number;
}

export function interpretError(text: string, v4: boolean): RemoteCommandResult {
  if (!v4 || text.length === 0) return { error: text, ...(text.length === 0 ? { exitCode: 0 } : {}) };
  const status = JSON.parse(text) as Status;
  let exitCode: number | undefined;
  if (status.status === 'Success') exitCode = 0;
  else if (status.reason === 'NonZeroExitCode') {
    const cause = status.details?.causes.find((c) => c.reason === 'ExitCode');
    if (cause?.message !== undefined) exitCode = Number(cause.message);
  }
  return { error: text, status, ...(exitCode !== undefined ? { exitCode } : {}) };
}

function collect(stream: Readable): Promise<string> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('end', () => resolve(Buffer.concat(chunks).toString()));
    stream.on('close', () => resolve(Buffer.concat(chunks).toString()));
    stream.on('error', () => undefined);
  });
}

/** The most stdin bytes sent in one WebSocket message. */
const STDIN_MESSAGE_BYTES = 32 * 1024;

const SPDY_REMOTECOMMAND_OFFER = ['v4.channel.k8s.io', 'v3.channel.k8s.io', 'v2.channel.k8s.io', 'channel.k8s.io'];

/** exec/attach over SPDY, opening streams in client-go's order: error, stdin, stdout, stderr, resize. */
export async function spdyRemoteCommand(url: string, opts: RemoteCommandOptions, protocols = SPDY_REMOTECOMMAND_OFFER, dial: DialOptions = {}): Promise<RemoteCommandSession> {
  const { conn, protocol } = await dialSpdy(url, protocols, dial);
  const version = protocol === 'v4.channel.k8s.io' ? 4 : protocol === 'v3.channel.k8s.io' ? 3 : protocol === 'v2.channel.k8s.io' ? 2 : 1;
  const open = (type: string): Promise<SpdyStream> => conn.openStream({ streamtype: [type] });
  const error = await open('error');
  const stdin = opts.stdin ? await open('stdin') : undefined;
  const stdout = opts.stdout ? await open('stdout') : undefined;
  const stderr = opts.stderr && !opts.tty ? await open('stderr') : undefined;
  const resizeStream = opts.tty && version >= 3 ? await open('resize') : undefined;
  const out = stdout ?? new PassThrough().end();
  const err = stderr ?? new PassThrough().end();
  const errorText = collect(error);
  const outputs = [stdout, stderr].filter((s): s is SpdyStream => s !== undefined).map(finishedReading);
  const done = Promise.all([errorText, ...outputs]).then(([text]) => {
    conn.close();
    return interpretError(text, version >= 4);
  });
  return {
    protocol,
    stdin,
    stdout: out,
    stderr: err,
    resize: (size) => resizeStream?.write(`${JSON.stringify({ Width: size.width, Height: size.height })}\n`),
    done,
    abort: () => conn.destroy(),
  };
}

function finishedReading(stream: Readable): Promise<void> {
  if (stream.readableEnded || stream.destroyed) return Promise.resolve();
  return new Promise((resolve) => {
    stream.once('end', () => resolve());
    stream.once('close', () => resolve());
  });
}

/** exec/attach over WebSocket channels with one subprotocol (v5.channel.k8s.io by default). */
export async function wsRemoteCommand(url: string, opts: RemoteCommandOptions, protocols = ['v5.channel.k8s.io'], dial: DialOptions = {}): Promise<RemoteCommandSession> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  const errorChunks: Buffer[] = [];
  let closed!: Promise<void>;
  const { ws, protocol: name } = await dialWebSocket(url, protocols, dial, (ws, chosen) => {
    ws.on('message', (raw: Buffer) => {
      const p = REMOTECOMMAND_WS_PROTOCOLS.get(chosen());
      if (!p) return;
      const m = decodeChannelMessage({ ...p, closeSignal: false }, raw);
      if (m.kind !== 'data') return;
      const out = m.channel === 1 ? stdout : m.channel === 2 ? stderr : undefined;
      if (out) {
        // Stop reading the socket while the reader is behind.
        if (!out.write(m.data)) {
          ws.pause();
          out.once('drain', () => ws.resume());
        }
      } else if (m.channel === 3) errorChunks.push(m.data);
    });
    closed = new Promise((resolve) => ws.once('close', () => resolve()));
  });
  const protocol = REMOTECOMMAND_WS_PROTOCOLS.get(name);
  if (!protocol) {
    ws.terminate();
    throw new Error(`server chose unknown subprotocol ${JSON.stringify(name)}`);
  }
  const send = (channel: number, data: Buffer): void => {
    if (ws.readyState === ws.OPEN) ws.send(encodeChannelMessage(protocol, channel, data));
  };
  ws.on('error', () => undefined);
  const done = closed.then(() => {
    stdout.end();
    stderr.end();
    return interpretError(Buffer.concat(errorChunks).toString(), protocol.statusV4);
  });
  let stdin: Writable | undefined;
  if (opts.stdin) {
    const pipe = new PassThrough();
    // One message per 32 KiB, as client-go's copy loop sends them: servers cap a message's size.
    pipe.on('data', (c: Buffer) => {
      for (let off = 0; off < c.length; off += STDIN_MESSAGE_BYTES) send(0, c.subarray(off, off + STDIN_MESSAGE_BYTES));
    });
    pipe.on('end', () => {
      if (protocol.closeSignal && ws.readyState === ws.OPEN) ws.send(Buffer.from([CHANNEL_CLOSE_SIGNAL, 0]));
    });
    stdin = pipe;
  }
  return {
    protocol: name,
    stdin,
    stdout,
    stderr,
    resize: (size) => send(4, Buffer.from(`${JSON.stringify({ Width: size.width, Height: size.height })}\n`)),
    done,
    abort: () => ws.terminate(),
  };
}

/** A port-forward connection: one SPDY connection (direct or tunnelled) carrying stream pairs. */
export class PortForwardClient {
  private nextRequestId = 0;

  private constructor(readonly conn: SpdyConnection) {}

  static async dial(url: string, transport: 'spdy' | 'websocket', dial: DialOptions = {}): Promise<PortForwardClient> {
    if (transport === 'spdy') {
      const { conn, protocol } = await dialSpdy(url, [PORTFORWARD_PROTOCOL], dial);
      if (protocol !== PORTFORWARD_PROTOCOL) {
        conn.destroy();
        throw new Error(`server negotiated ${JSON.stringify(protocol)}`);
      }
      return new PortForwardClient(conn);
    }
    let duplex!: WebSocketDuplex;
    await dialWebSocket(url, [PORTFORWARD_TUNNEL_PROTOCOL], dial, (ws) => {
      duplex = new WebSocketDuplex(ws);
    });
    return new PortForwardClient(new SpdyConnection(duplex, { server: false }));
  }

  /**
   * Opens the error and data streams of one forwarded connection, as
   * client-go does (the error stream is half-closed at once).
   */
  async connect(port: number): Promise<{ data: SpdyStream; error: Promise<string> }> {
    const requestId = String(this.nextRequestId++);
    const headers = { port: [String(port)], requestid: [requestId] };
    const error = await this.conn.openStream({ ...headers, streamtype: ['error'] });
    error.end();
    const data = await this.conn.openStream({ ...headers, streamtype: ['data'] });
    return { data, error: collect(error) };
  }

  close(): void {
    this.conn.close();
  }
}
