// The two CRI servers the shim benchmark compares, in a process of their own
// (as krilld is kubelet's): Krill's CriServer (its own listener, every
// connection through the :authority shim) and a grpc-js server bound as Krill
// bound it before (bindAsync on unix://), with the same handlers and limits.
//
// Usage: node dist/bench/lib/shim_server.js DIR
// Prints one JSON line {"shim": path, "bind": path} once both listen; exits
// when its stdin closes.
import * as grpc from '@grpc/grpc-js';
import { join } from 'node:path';
import { ImageServiceService, RuntimeServiceService, type Container } from '../../api/runtime/v1/api';
import { silentLogger } from '../../pkg/log/logger';
import { buildService, type RuntimeServiceHandlers } from '../../pkg/server/rpc';
import { CriServer, MAX_MESSAGE_BYTES } from '../../pkg/server/server';
import { kubeletContainer } from './kubelet_container';

/** ListContainers answers with this many containers when the filter's label selector names it. */
export const SIZE_LABEL = 'bench.krill.dev/containers';
const MOST = 5000;

function handlers(): RuntimeServiceHandlers {
  const containers: Container[] = Array.from({ length: MOST }, (_, i) => kubeletContainer(i));
  return {
    version: async () => ({ version: '0.1.0', runtimeName: 'krill', runtimeVersion: 'bench', runtimeApiVersion: 'v1' }),
    listContainers: async (req) => ({ containers: containers.slice(0, Number(req.filter?.labelSelector[SIZE_LABEL] ?? 0)) }),
  };
}

async function main(): Promise<void> {
  const dir = process.argv[2];
  if (!dir) throw new Error('usage: shim_server.js DIR');
  const log = silentLogger();
  const runtime = handlers();
  const shimSocket = join(dir, 'shim.sock');
  const bindSocket = join(dir, 'bind.sock');

  const shim = new CriServer({ log, runtimeService: runtime, imageService: {} });
  await shim.listen(shimSocket);

  const bind = new grpc.Server({ 'grpc.max_send_message_length': MAX_MESSAGE_BYTES, 'grpc.max_receive_message_length': MAX_MESSAGE_BYTES });
  bind.addService(RuntimeServiceService, buildService(RuntimeServiceService, runtime, { log }));
  bind.addService(ImageServiceService, buildService(ImageServiceService, {}, { log }));
  await new Promise<void>((resolve, reject) => bind.bindAsync(`unix://${bindSocket}`, grpc.ServerCredentials.createInsecure(), (err) => (err ? reject(err) : resolve())));

  process.stdout.write(`${JSON.stringify({ shim: shimSocket, bind: bindSocket })}\n`);
  process.stdin.resume();
  process.stdin.on('end', () => {
    bind.forceShutdown();
    void shim.shutdown(1000).then(() => process.exit(0));
  });
}

if (require.main === module) {
  main().catch((err: unknown) => {
    process.stderr.write(`shim_server: ${(err as Error).stack ?? err}\n`);
    process.exit(1);
  });
}
