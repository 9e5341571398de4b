// The streaming server behind the CRI Exec, Attach and PortForward RPCs.
// register() caches a validated request under a single-use token and returns
// its URL; a client then connects to /{exec,attach,portforward}/<token> with
// SPDY/3.1 (HTTP Upgrade) or a WebSocket, and the matching protocol handler
// runs the session against the backend.
import { readFile } from 'node:fs/promises';
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import type { AttachRequest, ExecRequest, PortForwardRequest } from '../../api/runtime/v1/api';
import type { KrillConfig } from '../config/config';
import { KrillError, invalidArgument } from '../errors/errors';
import type { Logger } from '../log/logger';
import type { StreamingBackend } from './backend';
import { writeUpgradeError } from './http_upgrade';
import { parsePort, runPortForwardSpdy } from './portforward_spdy';
import { servePortForwardWs } from './portforward_ws';
import {
  PORTFORWARD_PROTOCOL,
  PORTFORWARD_TUNNEL_PROTOCOL,
  PORTFORWARD_WS_PROTOCOLS,
  REMOTECOMMAND_WS_PROTOCOLS,
  headerList,
  negotiate,
  type WebSocketChannelProtocol,
} from './protocols';
import type { RemoteCommand } from './remotecommand';
import { acceptSpdyUpgrade, serveRemoteCommandSpdy } from './remotecommand_spdy';
import { serveRemoteCommandWs } from './remotecommand_ws';
import type { SessionContext } from './session';
import { SessionSlots, type Slot } from './slots';
import { SpdyConnection } from './spdy/connection';
import { TokenStore, TokenStoreFullError, type Clock } from './tokens';
import { WebSocketDuplex } from './ws_duplex';

export type StreamingConfig = KrillConfig['streaming'];
export type StreamKind = 'exec' | 'attach' | 'portforward';

type Request = RemoteCommand | { kind: 'portforward'; request: PortForwardRequest };
/** A request waiting for its URL to be used, with the session slot it holds. */
type Cached = Request & { slot: Slot };

export interface StreamingServerOptions {
  config: StreamingConfig;
  backend: StreamingBackend;
  log: Logger;
  /** Time source for token expiry (tests). */
  clock?: Clock;
  /** Most URLs issued and not yet used or expired (default 1000). */
  maxInFlight?: number;
}

/** Largest WebSocket message accepted from a client. */
const MAX_WS_MESSAGE = 4 << 20;
/** How long stop() waits for the backend to wind down the sessions it ended (kill commands, remove files). */
const STOP_GRACE_MS = 5000;

/** The backend, with every exec and attach call in flight recorded in `pending` until it settles. */
function trackedBackend(backend: StreamingBackend, pending: Set<Promise<unknown>>): StreamingBackend {
  const track = <T>(p: Promise<T>): Promise<T> => {
    const settled = p.then(
      () => undefined,
      () => undefined,
    );
    pending.add(settled);
    void settled.then(() => pending.delete(settled));
    return p;
  };
  return {
    exec: (...args) => track(backend.exec(...args)),
    attach: (...args) => track(backend.attach(...args)),
    portForward: (...args) => backend.portForward(...args),
  };
}

export class StreamingServer {
  private readonly tokens: TokenStore<Cached>;
  private readonly slots: SessionSlots;
  private readonly sockets = new Set<Duplex>();
  private readonly sessions = new Set<() => void>();
  private readonly pending = new Set<Promise<unknown>>();
  private readonly wss: WebSocketServer;
  /** The subprotocol chosen for a WebSocket upgrade, handed to ws's handleProtocols. */
  private readonly chosenProtocol = new WeakMap<IncomingMessage, string>();
  private readonly ctx: SessionContext;
  private baseUrl = '';
  private idleTimeoutMs: number;

  private constructor(
    private readonly server: Server,
    private readonly opts: StreamingServerOptions,
    tls: boolean,
  ) {
    // A URL that expires unused gives its session slot back.
    this.tokens = new TokenStore<Cached>(opts.config.token_ttl, opts.maxInFlight ?? 1000, opts.clock, (cached) => cached.slot.release());
    this.slots = new SessionSlots(opts.config.max_sessions_per_container);
    this.wss = new WebSocketServer({
      noServer: true,
      perMessageDeflate: false,
      maxPayload: MAX_WS_MESSAGE,
      handleProtocols: (_offered, req) => this.chosenProtocol.get(req) || false,
    });
    this.idleTimeoutMs = opts.config.idle_timeout;
    this.ctx = {
      backend: trackedBackend(opts.backend, this.pending),
      log: opts.log,
      streamCreationTimeoutMs: opts.config.stream_creation_timeout,
      track: (stop) => {
        this.sessions.add(stop);
        return () => this.sessions.delete(stop);
      },
    };
    server.on('request', (req: IncomingMessage, res: ServerResponse) => this.onRequest(req, res));
    server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => this.onUpgrade(req, socket, head));
    const onSocket = (socket: Socket): void => {
      this.sockets.add(socket);
      socket.setTimeout(this.idleTimeoutMs, () => socket.destroy());
      socket.on('close', () => this.sockets.delete(socket));
    };
    server.on(tls ? 'secureConnection' : 'connection', onSocket);
  }

  /** Listens on config.address:config.port (0 picks a free port), with TLS when a certificate is configured. */
  static async start(opts: StreamingServerOptions): Promise<StreamingServer> {
    const { config } = opts;
    let server: Server;
    if (config.tls_cert_file || config.tls_key_file) {
      if (!config.tls_cert_file || !config.tls_key_file) throw new Error('streaming.tls_cert_file and streaming.tls_key_file must be set together');
      const [cert, key] = await Promise.all([readFile(config.tls_cert_file), readFile(config.tls_key_file)]);
      server = createHttpsServer({ cert, key });
    } else {
      server = createHttpServer();
    }
    const s = new StreamingServer(server, opts, Boolean(config.tls_cert_file));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(config.port, config.address, () => {
        server.off('error', reject);
        resolve();
      });
    });
    const addr = server.address() as AddressInfo;
    const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
    s.baseUrl = `${config.tls_cert_file ? 'https' : 'http'}://${host}:${addr.port}`;
    opts.log.info({ url: s.baseUrl }, 'streaming server listening');
    return s;
  }

  /**
   * A reload: the limits of URLs and sessions from now on (TTL of new URLs,
   * sessions per container, the idle limit of new connections, SPDY stream
   * creation). What is open keeps going; address, port and TLS need a restart.
   */
  setLimits(limits: Pick<StreamingConfig, 'token_ttl' | 'idle_timeout' | 'stream_creation_timeout' | 'max_sessions_per_container'>): void {
    this.tokens.setTtl(limits.token_ttl);
    this.slots.setMax(limits.max_sessions_per_container);
    this.idleTimeoutMs = limits.idle_timeout;
    this.ctx.streamCreationTimeoutMs = limits.stream_creation_timeout;
  }

  /** http(s)://address:port of the server. */
  get url(): string {
    return this.baseUrl;
  }

  /**
   * Validates a streaming request and returns its single-use URL.
   * Throws InvalidArgument naming the offending field, or ResourceExhausted
   * when its container (pod, for port-forward) has max_sessions_per_container
   * sessions open or URLs pending, or too many URLs are pending in all.
   */
  register(kind: 'exec', request: ExecRequest): string;
  register(kind: 'attach', request: AttachRequest): string;
  register(kind: 'portforward', request: PortForwardRequest): string;
  register(kind: StreamKind, request: ExecRequest | AttachRequest | PortForwardRequest): string {
    let cached: Request;
    if (kind === 'exec') {
      const r = request as ExecRequest;
      validateStdio(r);
      if (r.cmd.length === 0) throw invalidArgument('cmd must not be empty');
      cached = { kind, request: { ...r, cmd: [...r.cmd] } };
    } else if (kind === 'attach') {
      const r = request as AttachRequest;
      validateStdio(r);
      cached = { kind, request: { ...r } };
    } else {
      const r = request as PortForwardRequest;
      if (!r.podSandboxId) throw invalidArgument('pod_sandbox_id is required');
      r.port.forEach((p, i) => {
        if (!Number.isInteger(p) || p < 1 || p > 65535) throw invalidArgument(`port[${i}] must be between 1 and 65535, got ${p}`);
      });
      cached = { kind, request: { podSandboxId: r.podSandboxId, port: [...r.port] } };
    }
    // Expired URLs give their slots back before this one asks for one.
    this.tokens.prune();
    const slot =
      cached.kind === 'portforward'
        ? this.slots.acquire(`pod:${cached.request.podSandboxId}`, `pod sandbox ${cached.request.podSandboxId}`)
        : this.slots.acquire(`container:${cached.request.containerId}`, `container ${cached.request.containerId}`);
    let token: string;
    try {
      token = this.tokens.insert({ ...cached, slot });
    } catch (err) {
      slot.release();
      if (err instanceof TokenStoreFullError) throw new KrillError('ResourceExhausted', err.message);
      throw err;
    }
    return `${this.baseUrl}/${kind}/${token}`;
  }

  /** Stops listening, ends every session, and waits (a little) for the backend to finish them. */
  async stop(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const stop of [...this.sessions]) stop();
    for (const socket of this.sockets) socket.destroy();
    this.wss.close();
    await closed;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([Promise.all([...this.pending]), new Promise((resolve) => (timer = setTimeout(resolve, STOP_GRACE_MS)))]);
    clearTimeout(timer);
  }

  // ---- HTTP ----

  private route(req: IncomingMessage): { kind: StreamKind; token: string; query: URLSearchParams } | undefined {
    const url = new URL(req.url ?? '/', 'http://streaming');
    const m = /^\/(exec|attach|portforward)\/([A-Za-z0-9_-]+)\/?$/.exec(url.pathname);
    if (!m) return undefined;
    return { kind: m[1] as StreamKind, token: m[2]!, query: url.searchParams };
  }

  private take(req: IncomingMessage): { cached: Cached; query: URLSearchParams } | { code: number; message: string } {
    if (req.method !== 'GET' && req.method !== 'POST') return { code: 405, message: 'method not allowed' };
    const route = this.route(req);
    if (!route) return { code: 404, message: '404 page not found' };
    const cached = this.tokens.consume(route.token);
    if (!cached || cached.kind !== route.kind) {
      cached?.slot.release();
      return { code: 404, message: '404 page not found' };
    }
    return { cached, query: route.query };
  }

  private onRequest(req: IncomingMessage, res: ServerResponse): void {
    const taken = this.take(req);
    // A plain request uses its URL up without a session.
    if (!('code' in taken)) taken.cached.slot.release();
    const [code, message] = 'code' in taken ? [taken.code, taken.message] : [400, 'unable to upgrade: missing upgrade headers in request'];
    res.writeHead(code, { 'Content-Type': 'text/plain; charset=utf-8', 'X-Content-Type-Options': 'nosniff' });
    res.end(`${message}\n`);
  }

  private onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on('error', () => undefined);
    const taken = this.take(req);
    if ('code' in taken) {
      writeUpgradeError(socket, taken.code, taken.message);
      return;
    }
    const { cached, query } = taken;
    // The session holds the slot for as long as its connection lives, however it ends (the protocols close it).
    if (socket.destroyed) cached.slot.release();
    else socket.once('close', () => cached.slot.release());
    const ids = cached.kind === 'portforward' ? { pod_sandbox_id: cached.request.podSandboxId } : { container_id: cached.request.containerId };
    const log = this.opts.log.child({ stream: cached.kind, ...ids });
    const ctx = { ...this.ctx, log };
    const isWebSocket = (req.headers.upgrade ?? '').toLowerCase() === 'websocket';
    log.debug({ upgrade: req.headers.upgrade, remote: req.socket.remoteAddress }, 'streaming connection');
    if (!isWebSocket) {
      if (cached.kind === 'portforward') {
        const accepted = acceptSpdyUpgrade(req, socket, head, [PORTFORWARD_PROTOCOL]);
        if (accepted) runPortForwardSpdy(cached.request, accepted.conn, ctx, log.child({ transport: 'spdy' }));
      } else {
        serveRemoteCommandSpdy(cached, req, socket, head, ctx);
      }
      return;
    }
    const offered = headerList(req.headers['sec-websocket-protocol']);
    if (cached.kind === 'portforward' && offered.includes(PORTFORWARD_TUNNEL_PROTOCOL)) {
      this.upgradeWebSocket(req, socket, head, PORTFORWARD_TUNNEL_PROTOCOL, (ws) => {
        const conn = new SpdyConnection(new WebSocketDuplex(ws), { server: true });
        runPortForwardSpdy(cached.request, conn, ctx, log.child({ transport: 'websocket', protocol: PORTFORWARD_TUNNEL_PROTOCOL }));
      });
      return;
    }
    const table = cached.kind === 'portforward' ? PORTFORWARD_WS_PROTOCOLS : REMOTECOMMAND_WS_PROTOCOLS;
    const name = offered.length === 0 ? '' : negotiate(offered, [...table.keys()].filter((p) => p !== ''));
    if (name === undefined) {
      writeUpgradeError(socket, 403, `requested protocol(s) are not supported: [${offered.join(' ')}]; supports [${[...table.keys()].filter(Boolean).join(' ')}]`);
      return;
    }
    const protocol: WebSocketChannelProtocol = table.get(name)!;
    if (cached.kind === 'portforward') {
      const ports = cached.request.port.length > 0 ? cached.request.port : portsFromQuery(query);
      if (!ports || ports.length === 0) {
        writeUpgradeError(socket, 400, 'query parameter "port" is required');
        return;
      }
      this.upgradeWebSocket(req, socket, head, name, (ws) => servePortForwardWs(cached.request, ports, ws, name, protocol, ctx));
      return;
    }
    this.upgradeWebSocket(req, socket, head, name, (ws) => serveRemoteCommandWs(cached, ws, name, protocol, ctx));
  }

  private upgradeWebSocket(req: IncomingMessage, socket: Duplex, head: Buffer, protocol: string, serve: (ws: WebSocket) => void): void {
    // The subprotocol is chosen already. ws would refuse the tunnelling one
    // ("SPDY/3.1+portforward.k8s.io" is not an RFC 6455 token), so it only
    // sees a stand-in and hands back the real choice through handleProtocols.
    if (protocol) {
      this.chosenProtocol.set(req, protocol);
      req.headers['sec-websocket-protocol'] = 'chosen';
    } else {
      delete req.headers['sec-websocket-protocol'];
    }
    this.wss.handleUpgrade(req, socket, head, (ws) => {
      // ws clears the socket's timeout; the idle limit applies to WebSockets too.
      (socket as Socket).setTimeout(this.idleTimeoutMs);
      ws.on('error', (err) => this.opts.log.debug({ err }, 'websocket error'));
      serve(ws);
    });
  }
}

function validateStdio(r: { containerId: string; tty: boolean; stdin: boolean; stdout: boolean; stderr: boolean }): void {
  if (!r.containerId) throw invalidArgument('container_id is required');
  if (r.tty && r.stderr) throw invalidArgument('tty and stderr cannot both be true');
  if (!r.stdin && !r.stdout && !r.stderr) throw invalidArgument('one of stdin, stdout and stderr must be true');
}

/** The `port` query parameter (repeated or comma-separated), or undefined when malformed. */
function portsFromQuery(query: URLSearchParams): number[] | undefined {
  const ports: number[] = [];
  for (const value of query.getAll('port')) {
    for (const part of value.split(',')) {
      const port = parsePort(part.trim());
      if (port === undefined) return undefined;
      ports.push(port);
    }
  }
  return ports;
}
