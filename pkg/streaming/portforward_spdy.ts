// port-forward over SPDY (directly, or tunnelled in a WebSocket): for every
// forwarded connection the client opens an error stream and a data stream that
// share `port` and `requestID` headers; each complete pair becomes one TCP
// connection inside the pod, piped both ways with half-close.
import type { Duplex } from 'node:stream';
import type { PortForwardRequest } from '../../api/runtime/v1/api';
import type { Logger } from '../log/logger';
import { HEADER_PORT, HEADER_REQUEST_ID, HEADER_STREAM_TYPE, StreamType } from './protocols';
import { messageOf, type SessionContext } from './session';
import type { SpdyConnection, SpdyStream } from './spdy/connection';
import { RstStatus } from './spdy/frames';
import { headerValue } from './spdy/headers';

interface Pair {
  requestId: string;
  port: number;
  data?: SpdyStream;
  error?: SpdyStream;
  timer: NodeJS.Timeout;
}

export function parsePort(value: string): number | undefined {
  if (!/^\d{1,5}$/.test(value)) return undefined;
  const port = Number(value);
  return port >= 1 && port <= 65535 ? port : undefined;
}

export function forwardError(podSandboxId: string, port: number, err: unknown): string {
  return `error forwarding port ${port} to pod ${podSandboxId}, uid : ${messageOf(err)}`;
}

export function runPortForwardSpdy(request: PortForwardRequest, conn: SpdyConnection, ctx: SessionContext, log: Logger): void {
  const pairs = new Map<string, Pair>();
  const abort = new AbortController();
  const untrack = ctx.track(() => conn.destroy());

  conn.on('close', () => {
    abort.abort();
    for (const p of pairs.values()) clearTimeout(p.timer);
    pairs.clear();
    untrack();
    log.info('port-forward session ended');
  });
  // A client that says GOAWAY is done with every forwarded connection.
  conn.on('goaway', () => conn.close());

  conn.on('stream', (stream) => {
    const port = parsePort(headerValue(stream.headers, HEADER_PORT));
    const type = headerValue(stream.headers, HEADER_STREAM_TYPE);
    if (port === undefined || (type !== StreamType.Data && type !== StreamType.Error)) {
      log.debug({ stream_id: stream.id, port: headerValue(stream.headers, HEADER_PORT), stream_type: type }, 'refusing invalid port-forward stream');
      stream.reset(RstStatus.RefusedStream);
      return;
    }
    stream.reply();
    // Clients too old to send requestID number an error stream n and its data stream n+2.
    const requestId = headerValue(stream.headers, HEADER_REQUEST_ID) || String(type === StreamType.Error ? stream.id : stream.id - 2);
    let pair = pairs.get(requestId);
    if (!pair) {
      const p: Pair = {
        requestId,
        port,
        timer: setTimeout(() => {
          pairs.delete(requestId);
          p.error?.end(`(request=${requestId}) timed out waiting for streams`);
          p.data?.reset();
        }, ctx.streamCreationTimeoutMs),
      };
      pair = p;
      pairs.set(requestId, pair);
    }
    const slot = type === StreamType.Data ? 'data' : 'error';
    if (pair[slot]) {
      pair.error?.write(`error processing stream for request ${requestId}: ${slot} stream already assigned`);
      stream.reset(RstStatus.ProtocolError);
      return;
    }
    pair[slot] = stream;
    if (!pair.data || !pair.error) return;
    clearTimeout(pair.timer);
    pairs.delete(requestId);
    void forward(request.podSandboxId, pair.port, pair.data, pair.error, ctx, abort.signal, log.child({ request_id: requestId, port: pair.port }));
  });
}

async function forward(podSandboxId: string, port: number, data: SpdyStream, error: SpdyStream, ctx: SessionContext, signal: AbortSignal, log: Logger): Promise<void> {
  data.on('error', (err) => log.debug({ err }, 'data stream error'));
  error.on('error', (err) => log.debug({ err }, 'error stream error'));
  let target: Duplex;
  try {
    target = await ctx.backend.portForward(podSandboxId, port, signal);
  } catch (err) {
    log.warn({ err }, 'port-forward connection failed');
    error.end(forwardError(podSandboxId, port, err));
    data.end();
    return;
  }
  if (signal.aborted || data.destroyed) {
    target.destroy();
    return;
  }
  await pipeBothWays(data, target, log);
  error.end();
}

/**
 * Copies client→pod and pod→client until the pod side closes; the client's
 * end of data half-closes the pod connection, and a client reset (or the
 * connection going away) destroys it.
 */
export function pipeBothWays(client: Duplex, target: Duplex, log: Logger): Promise<void> {
  return new Promise((resolve) => {
    target.on('error', (err) => log.debug({ err }, 'pod connection error'));
    client.pipe(target);
    target.pipe(client);
    const onClientClose = (): void => {
      if (!client.readableEnded) target.destroy();
    };
    client.once('close', onClientClose);
    target.once('close', () => {
      client.off('close', onClientClose);
      if (!client.writableEnded && !client.destroyed) client.end();
      resolve();
    });
  });
}
