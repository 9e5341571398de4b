// port-forward over WebSocket channels: for the i-th port, channel 2i carries
// data both ways and channel 2i+1 errors; the server first sends each port
// (uint16, little-endian) on both of its channels. One connection per port.
import type { WebSocket } from 'ws';
import type { PortForwardRequest } from '../../api/runtime/v1/api';
import type { Logger } from '../log/logger';
import { forwardError } from './portforward_spdy';
import type { WebSocketChannelProtocol } from './protocols';
import type { SessionContext } from './session';
import { ChannelConnection } from './wschannels';

export function servePortForwardWs(
  request: PortForwardRequest,
  ports: number[],
  ws: WebSocket,
  protocolName: string,
  protocol: WebSocketChannelProtocol,
  ctx: SessionContext,
): void {
  const log = ctx.log.child({ transport: 'websocket', protocol: protocolName || 'none' });
  const cc = new ChannelConnection(ws, {
    protocol,
    channels: ports.flatMap(() => [
      { read: true, write: true },
      { read: false, write: true },
    ]),
  });
  const untrack = ctx.track(() => ws.terminate());
  cc.signal.addEventListener('abort', untrack, { once: true });

  const sessions = ports.map(async (port, i) => {
    const prefix = Buffer.alloc(2);
    prefix.writeUInt16LE(port);
    void cc.send(2 * i, prefix);
    void cc.send(2 * i + 1, prefix);
    await forwardChannel(request.podSandboxId, port, cc, i, ctx, log.child({ port }));
  });
  void Promise.all(sessions).then(() => {
    cc.close();
    log.info('port-forward session ended');
  });
}

async function forwardChannel(podSandboxId: string, port: number, cc: ChannelConnection, i: number, ctx: SessionContext, log: Logger): Promise<void> {
  const data = cc.reader(2 * i);
  const out = cc.writer(2 * i);
  out.on('error', (err) => log.debug({ err }, 'data channel error'));
  let target;
  try {
    target = await ctx.backend.portForward(podSandboxId, port, cc.signal);
  } catch (err) {
    log.warn({ err }, 'port-forward connection failed');
    await cc.send(2 * i + 1, Buffer.from(forwardError(podSandboxId, port, err)));
    return;
  }
  if (cc.signal.aborted) {
    target.destroy();
    return;
  }
  target.on('error', (err) => log.debug({ err }, 'pod connection error'));
  cc.signal.addEventListener('abort', () => target.destroy(), { once: true });
  await new Promise<void>((resolve) => {
    data.pipe(target);
    target.pipe(out);
    target.once('close', () => resolve());
  });
}
