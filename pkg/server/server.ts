// The gRPC server on the CRI unix socket.
import * as grpc from '@grpc/grpc-js';
import { unlink } from 'node:fs/promises';
import { AdminService } from '../../api/krill/admin/v1/admin';
import { ImageServiceService, RuntimeServiceService } from '../../api/runtime/v1/api';
import type { Logger } from '../log/logger';
import { KUBELET_MAX_MESSAGE } from '../runtime/exec_output';
import { CriListener } from './listener';
import { buildService, type AdminHandlers, type CallObserver, type ImageServiceHandlers, type RuntimeServiceHandlers } from './rpc';

/**
 * The largest message either way: kubelet's and crictl's own limit (16 MiB),
 * so nothing larger could reach them anyway. ListContainers of 2,500
 * kubelet-shaped containers is about 3 MiB (server.test.ts); ExecSync keeps
 * its output within this (pkg/runtime/exec_output.ts).
 */
export const MAX_MESSAGE_BYTES = KUBELET_MAX_MESSAGE;

export interface CriServerOptions {
  runtimeService: RuntimeServiceHandlers;
  imageService: ImageServiceHandlers;
  /** Krill's own krill.admin.v1.Admin, on the same socket (pkg/server/admin.ts); UNIMPLEMENTED without. */
  admin?: AdminHandlers;
  log: Logger;
  observe?: CallObserver;
}

export class CriServer {
  private readonly server: grpc.Server;
  private readonly injector: grpc.ConnectionInjector;
  private listener: CriListener | undefined;
  private socketPath: string | undefined;
  /** Aborted first thing at shutdown: endless server streams (GetContainerEvents) end. */
  private readonly closing = new AbortController();

  constructor(private readonly opts: CriServerOptions) {
    this.server = new grpc.Server({
      'grpc.max_send_message_length': MAX_MESSAGE_BYTES,
      'grpc.max_receive_message_length': MAX_MESSAGE_BYTES,
    });
    const common = { log: opts.log, observe: opts.observe, closing: this.closing.signal };
    this.server.addService(RuntimeServiceService, buildService(RuntimeServiceService, opts.runtimeService, common));
    this.server.addService(ImageServiceService, buildService(ImageServiceService, opts.imageService, common));
    this.server.addService(AdminService, buildService(AdminService, opts.admin ?? {}, common));
    this.injector = this.server.createConnectionInjector(grpc.ServerCredentials.createInsecure());
  }

  /** Binds the socket (mode 0660) and starts serving. */
  async listen(socketPath: string): Promise<void> {
    this.listener = await CriListener.open(socketPath, { log: this.opts.log, serve: (conn) => this.injector.injectConnection(conn) });
    this.socketPath = socketPath;
  }

  /**
   * Stops accepting calls and waits for those in flight; after `graceMs`
   * the remaining ones are cancelled. GetContainerEvents streams end first:
   * they never end on their own, and a client (kubelet's evented PLEG) that
   * keeps its stream open would otherwise hold the shutdown for the whole
   * grace period.
   */
  async shutdown(graceMs: number): Promise<void> {
    this.closing.abort();
    // Done when every client connection has closed. grpc-js's tryShutdown does
    // not wait for injected connections: Node's Http2Server.close() marks their
    // sessions closed (GOAWAY sent) and grpc-js counts a closed session as done.
    const drained = this.listener?.close() ?? Promise.resolve();
    const graceful = new Promise<void>((resolve) => this.server.tryShutdown(() => resolve()));
    let timer: NodeJS.Timeout | undefined;
    const expired = new Promise<'expired'>((resolve) => (timer = setTimeout(() => resolve('expired'), graceMs)));
    const outcome = await Promise.race([Promise.all([graceful, drained]), expired]);
    clearTimeout(timer);
    if (outcome === 'expired') {
      this.opts.log.warn({ grace_ms: graceMs }, 'in-flight calls did not finish in time; cancelling them');
      this.server.forceShutdown();
      this.listener?.destroyConnections();
      await drained;
    }
    if (this.socketPath) await unlink(this.socketPath).catch(() => undefined);
  }
}
