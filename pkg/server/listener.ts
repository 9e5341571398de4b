// The CRI unix socket's listener. Krill accepts the connections itself
// rather than through grpc-js's bindAsync so that each client's bytes pass
// through an AuthorityShim: Node's HTTP/2 refuses an :authority holding '/',
// which is what grpc-go before 1.57 sends when it is dialed with a bare socket
// path and a unix dialer of the caller's (kubelet up to 1.23, many agents).
// The shim rewrites just those values; grpc-js gets the connection through
// its connection injector.
import { chmod } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { AuthorityShim } from './h2/shim';
import type { Logger } from '../log/logger';
import { prepareSocket } from './socket';

export interface CriListenerOptions {
  log: Logger;
  /** Takes each accepted connection, already wrapped. */
  serve: (connection: Duplex) => void;
}

export class CriListener {
  private readonly connections = new Set<Socket>();
  private readonly closed: Promise<void>;

  private constructor(
    private readonly server: Server,
    private readonly opts: CriListenerOptions,
  ) {
    this.closed = new Promise((resolve) => server.once('close', () => resolve()));
    server.on('connection', (socket) => this.accept(socket));
    // Accept failures (EMFILE, ...) are reported here; the listener keeps going.
    server.on('error', (err) => opts.log.error({ err }, 'CRI socket: accepting a connection failed'));
  }

  /** Binds `socketPath` (stale socket replaced, refused while another daemon answers), mode 0660. */
  static async open(socketPath: string, opts: CriListenerOptions): Promise<CriListener> {
    await prepareSocket(socketPath);
    const server = createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(socketPath, () => {
        server.off('error', reject);
        resolve();
      });
    });
    const listener = new CriListener(server, opts);
    await chmod(socketPath, 0o660);
    return listener;
  }

  private accept(socket: Socket): void {
    this.connections.add(socket);
    const shim = new AuthorityShim(socket, {
      onMalformed: (err) => this.opts.log.warn({ reason: err.message }, 'CRI socket: closing a connection that broke HTTP/2'),
    });
    socket.once('close', () => {
      this.connections.delete(socket);
      if (shim.rewrites > 0) this.opts.log.debug({ rewrites: shim.rewrites }, "CRI socket: served a client whose :authority Node's HTTP/2 refuses");
    });
    this.opts.serve(shim);
  }

  /** Stops accepting; resolves once every connection has closed too. */
  close(): Promise<void> {
    this.server.close();
    return this.closed;
  }

  /** Closes every connection still open at once. */
  destroyConnections(): void {
    for (const socket of this.connections) socket.destroy();
  }
}
