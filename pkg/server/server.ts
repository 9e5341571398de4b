// The gRPC server on the CRI unix socket.
import * as grpc from '@grpc/grpc-js';
import { chmod, unlink } from 'node:fs/promises';
import { ImageServiceService, RuntimeServiceService } from '../../api/runtime/v1/api';
import type { Logger } from '../log/logger';
import { KUBELET_MAX_MESSAGE } from '../runtime/exec_output';
import { buildService, type CallObserver, type ImageHandlers, type RuntimeHandlers } from './rpc';
import { prepareSocket } from './socket';

/**
 * The largest message either way: kubelet's and crictl's own limit (16 MiB),
 * so nothing larger could reach them anyway. ListContainers of 2,500
 * kubelet-shaped containers is about 3 MiB (server.test.ts); ExecSync keeps
 * its output within this (pkg/runtime/exec_output.ts).
 */
export const MAX_MESSAGE_BYTES = KUBELET_MAX_MESSAGE;

export interface CriServerOptions {
  runtime: RuntimeHandlers;
  image: ImageHandlers;
  log: Logger;
  observe?: CallObserver;
}

export class CriServer {
  private readonly server: grpc.Server;
  private socketPath: string | undefined;

  constructor(private readonly opts: CriServerOptions) {
    this.server = new grpc.Server({
      'grpc.max_send_message_length': MAX_MESSAGE_BYTES,
      'grpc.max_receive_message_length': MAX_MESSAGE_BYTES,
    });
    const common = { log: opts.log, observe: opts.observe };
    this.server.addService(RuntimeServiceService, buildService(RuntimeServiceService, opts.runtime, common));
    this.server.addService(ImageServiceService, buildService(ImageServiceService, opts.image, common));
  }

  /** Binds the socket (mode 0660) and starts serving. */
  async listen(socketPath: string): Promise<void> {
    await prepareSocket(socketPath);
    await new Promise<number>((resolve, reject) =>
      this.server.bindAsync(`unix://${socketPath}`, grpc.ServerCredentials.createInsecure(), (err, port) =>
        err ? reject(err) : resolve(port),
      ),
    );
    this.socketPath = socketPath;
    await chmod(socketPath, 0o660);
  }

  /**
   * Stops accepting calls and waits for those in flight; after `graceMs`
   * the remaining ones are cancelled.
   */
  async shutdown(graceMs: number): Promise<void> {
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        this.opts.log.warn({ grace_ms: graceMs }, 'in-flight calls did not finish in time; cancelling them');
        this.server.forceShutdown();
        resolve();
      }, graceMs);
      this.server.tryShutdown(() => {
        clearTimeout(timer);
        resolve();
      });
    });
    if (this.socketPath) await unlink(this.socketPath).catch(() => undefined);
  }
}
