// Names of the streaming subprotocols and stream types Kubernetes clients speak.

/** remotecommand over SPDY, newest first (kubelet's order of preference). */
export const REMOTECOMMAND_SPDY_PROTOCOLS = ['v4.channel.k8s.io', 'v3.channel.k8s.io', 'v2.channel.k8s.io', 'channel.k8s.io'] as const;
export type RemoteCommandVersion = 1 | 2 | 3 | 4 | 5;

export function spdyProtocolVersion(protocol: string): RemoteCommandVersion {
  switch (protocol) {
    case 'v4.channel.k8s.io':
      return 4;
    case 'v3.channel.k8s.io':
      return 3;
    case 'v2.channel.k8s.io':
      return 2;
    default:
      return 1;
  }
}

export const PORTFORWARD_PROTOCOL = 'portforward.k8s.io';
/** SPDY carried in WebSocket binary messages (what client-go's tunneling dialer asks for). */
export const SPDY_TUNNEL_PREFIX = 'SPDY/3.1+';
export const PORTFORWARD_TUNNEL_PROTOCOL = `${SPDY_TUNNEL_PREFIX}${PORTFORWARD_PROTOCOL}`;

export interface WebSocketChannelProtocol {
  /** Channel bytes are ASCII digits and payloads base64 text. */
  base64: boolean;
  /** The v4+ error channel carries a JSON Status; earlier ones carry only failure text. */
  statusV4: boolean;
  /** v5: a message [255, channel] closes that channel (stdin half-close). */
  closeSignal: boolean;
}

/** remotecommand over WebSocket; '' is a client that named no subprotocol. */
export const REMOTECOMMAND_WS_PROTOCOLS: ReadonlyMap<string, WebSocketChannelProtocol> = new Map([
  ['v5.channel.k8s.io', { base64: false, statusV4: true, closeSignal: true }],
  ['v4.channel.k8s.io', { base64: false, statusV4: true, closeSignal: false }],
  ['v4.base64.channel.k8s.io', { base64: true, statusV4: true, closeSignal: false }],
  ['channel.k8s.io', { base64: false, statusV4: false, closeSignal: false }],
  ['base64.channel.k8s.io', { base64: true, statusV4: false, closeSignal: false }],
  ['', { base64: false, statusV4: false, closeSignal: false }],
]);

/** port-forward over WebSocket channels (one data/error channel pair per port). */
export const PORTFORWARD_WS_PROTOCOLS: ReadonlyMap<string, WebSocketChannelProtocol> = new Map([
  ['v4.channel.k8s.io', { base64: false, statusV4: true, closeSignal: false }],
  ['v4.base64.channel.k8s.io', { base64: true, statusV4: true, closeSignal: false }],
  ['', { base64: false, statusV4: false, closeSignal: false }],
]);

export const StreamType = {
  Error: 'error',
  Stdin: 'stdin',
  Stdout: 'stdout',
  Stderr: 'stderr',
  Resize: 'resize',
  Data: 'data',
} as const;

export const Channel = { Stdin: 0, Stdout: 1, Stderr: 2, Error: 3, Resize: 4 } as const;
export const CHANNEL_CLOSE_SIGNAL = 255;

export const HEADER_STREAM_TYPE = 'streamtype';
export const HEADER_PORT = 'port';
export const HEADER_REQUEST_ID = 'requestid';
export const HEADER_PROTOCOL_VERSION = 'x-stream-protocol-version';
export const HEADER_ACCEPTED_PROTOCOL_VERSIONS = 'x-accepted-stream-protocol-versions';

/** Values of a comma-separated, possibly repeated header, in order. */
export function headerList(values: string | string[] | undefined): string[] {
  if (values === undefined) return [];
  const all = Array.isArray(values) ? values : [values];
  return all.flatMap((v) => v.split(',')).map((v) => v.trim()).filter((v) => v.length > 0);
}

/** The first of the client's protocols (in its order) that the server supports. */
export function negotiate(client: string[], server: Iterable<string>): string | undefined {
  const supported = new Set(server);
  return client.find((p) => supported.has(p));
}
