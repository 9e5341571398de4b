// exec/attach over WebSocket channels (v5/v4/base64/legacy channel.k8s.io):
// channel 0 stdin, 1 stdout, 2 stderr, 3 error, 4 resize.
import type { WebSocket } from 'ws';
import { Channel, type WebSocketChannelProtocol } from './protocols';
import { runRemoteCommand, type RemoteCommand } from './remotecommand';
import type { SessionContext } from './session';
import { encodeStatusV1, encodeStatusV4 } from './status';
import { ChannelConnection } from './wschannels';

export function serveRemoteCommandWs(cmd: RemoteCommand, ws: WebSocket, protocolName: string, protocol: WebSocketChannelProtocol, ctx: SessionContext): void {
  const { request } = cmd;
  const log = ctx.log.child({ transport: 'websocket', protocol: protocolName || 'none' });
  const cc = new ChannelConnection(ws, {
    protocol,
    channels: [
      { read: request.stdin, write: false },
      { read: false, write: request.stdout },
      { read: false, write: request.stderr },
      { read: false, write: true },
      { read: true, write: false },
    ],
  });
  const untrack = ctx.track(() => ws.terminate());
  cc.signal.addEventListener('abort', untrack, { once: true });

  // An empty message on the lowest writable channel tells the client the session is up.
  const first = request.stdout ? Channel.Stdout : request.stderr ? Channel.Stderr : Channel.Error;
  void cc.send(first, Buffer.alloc(0));

  void runRemoteCommand(
    cmd,
    ctx.backend,
    {
      stdin: request.stdin ? cc.reader(Channel.Stdin) : undefined,
      stdout: request.stdout ? cc.writer(Channel.Stdout) : undefined,
      stderr: request.stderr ? cc.writer(Channel.Stderr) : undefined,
      resize: cc.reader(Channel.Resize),
      signal: cc.signal,
      writeStatus: async (status) => {
        const body = protocol.statusV4 ? encodeStatusV4(status) : encodeStatusV1(status);
        if (body) await cc.send(Channel.Error, body);
      },
      finish: () => cc.close(),
    },
    log,
  ).then((status) => log.info({ status: status.status, reason: status.reason }, `${cmd.kind} session ended`));
}
