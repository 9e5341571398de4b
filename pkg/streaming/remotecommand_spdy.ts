// exec/attach over SPDY/3.1: the HTTP upgrade with X-Stream-Protocol-Version
// negotiation, then the client opens one stream per standard stream, each
// named by its streamType header; the session starts once all have arrived.
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { finished } from 'node:stream/promises';
import { writeSwitchingProtocols, writeUpgradeError } from './http_upgrade';
import {
  HEADER_ACCEPTED_PROTOCOL_VERSIONS,
  HEADER_PROTOCOL_VERSION,
  HEADER_STREAM_TYPE,
  REMOTECOMMAND_SPDY_PROTOCOLS,
  StreamType,
  headerList,
  negotiate,
  spdyProtocolVersion,
} from './protocols';
import { runRemoteCommand, type RemoteCommand } from './remotecommand';
import type { SessionContext } from './session';
import { SpdyConnection, type SpdyStream } from './spdy/connection';
import { RstStatus } from './spdy/frames';
import { headerValue } from './spdy/headers';
import { encodeStatusV1, encodeStatusV4 } from './status';

export function isSpdyUpgrade(req: IncomingMessage): boolean {
  const connection = (req.headers.connection ?? '').toLowerCase();
  const upgrade = (req.headers.upgrade ?? '').toLowerCase();
  return connection.includes('upgrade') && upgrade.includes('spdy/3.1');
}

/**
 * Completes the SPDY upgrade handshake for `supported` protocols. Returns the
 * negotiated protocol ('' when the client offered none) and the connection, or
 * undefined after answering the client with the error.
 */
export function acceptSpdyUpgrade(
  req: IncomingMessage,
  socket: Duplex,
  head: Buffer,
  supported: readonly string[],
): { protocol: string; conn: SpdyConnection } | undefined {
  if (!isSpdyUpgrade(req)) {
    writeUpgradeError(socket, 400, 'unable to upgrade: missing upgrade headers in request');
    return undefined;
  }
  const offered = headerList(req.headers[HEADER_PROTOCOL_VERSION]);
  let protocol = '';
  if (offered.length > 0) {
    protocol = negotiate(offered, supported) ?? '';
    if (!protocol) {
      writeUpgradeError(
        socket,
        403,
        `unable to upgrade: unable to negotiate protocol: client supports [${offered.join(' ')}], server accepts [${supported.join(' ')}]`,
        { [HEADER_ACCEPTED_PROTOCOL_VERSIONS]: [...supported] },
      );
      return undefined;
    }
  }
  writeSwitchingProtocols(socket, {
    Connection: 'Upgrade',
    Upgrade: 'SPDY/3.1',
    ...(protocol ? { 'X-Stream-Protocol-Version': protocol } : {}),
  });
  if (head.length > 0) socket.unshift(head);
  return { protocol, conn: new SpdyConnection(socket, { server: true }) };
}

export function serveRemoteCommandSpdy(cmd: RemoteCommand, req: IncomingMessage, socket: Duplex, head: Buffer, ctx: SessionContext): void {
  const accepted = acceptSpdyUpgrade(req, socket, head, REMOTECOMMAND_SPDY_PROTOCOLS);
  if (!accepted) return;
  const { conn, protocol } = accepted;
  const version = spdyProtocolVersion(protocol);
  const log = ctx.log.child({ transport: 'spdy', protocol: protocol || 'none' });
  const { request } = cmd;

  const expected = new Set<string>([StreamType.Error]);
  if (request.stdin) expected.add(StreamType.Stdin);
  if (request.stdout) expected.add(StreamType.Stdout);
  if (request.stderr) expected.add(StreamType.Stderr);
  if (request.tty && version >= 3) expected.add(StreamType.Resize);

  const streams = new Map<string, SpdyStream>();
  const abort = new AbortController();
  const untrack = ctx.track(() => conn.destroy());
  let started = false;

  const timer = setTimeout(() => {
    log.warn({ received: [...streams.keys()], expected: [...expected] }, 'timed out waiting for the client to create streams');
    conn.destroy();
  }, ctx.streamCreationTimeoutMs);

  conn.on('close', () => {
    clearTimeout(timer);
    abort.abort();
    untrack();
  });
  conn.on('goaway', () => abort.abort());
  conn.on('stream', (stream) => {
    const type = headerValue(stream.headers, HEADER_STREAM_TYPE);
    if (started || !expected.has(type) || streams.has(type)) {
      log.debug({ stream_type: type, stream_id: stream.id }, 'refusing unexpected stream');
      stream.reset(RstStatus.RefusedStream);
      return;
    }
    stream.reply();
    streams.set(type, stream);
    if (streams.size < expected.size) return;
    started = true;
    clearTimeout(timer);
    const errorStream = streams.get(StreamType.Error)!;
    const stdin = streams.get(StreamType.Stdin);
    // The v1 protocol closes the server's half of stdin right away.
    if (stdin && version === 1) stdin.end();
    void runRemoteCommand(
      cmd,
      ctx.backend,
      {
        stdin,
        stdout: streams.get(StreamType.Stdout),
        stderr: streams.get(StreamType.Stderr),
        resize: streams.get(StreamType.Resize),
        signal: abort.signal,
        writeStatus: async (status) => {
          const body = version >= 4 ? encodeStatusV4(status) : encodeStatusV1(status);
          errorStream.end(body);
          await finished(errorStream, { readable: false });
        },
        finish: () => conn.close(),
      },
      log,
    ).then((status) => log.info({ status: status.status, reason: status.reason }, `${cmd.kind} session ended`));
  });
}
